"""The approval workflow: routing, decisions, the deal status machine and monitoring.

Pure rules and transformations live in ``state_machine``, ``routing``, ``decisions``
and ``monitoring``; ``jobs`` holds the thin job functions the command line calls.
"""
