"""``python -m dealdesk.cli``: the command line."""

from dealdesk.cli.main import main

raise SystemExit(main())
