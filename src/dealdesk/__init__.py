"""Deal Desk lakehouse: Delta tables and jobs for the commercial deal-approval desk."""

__version__ = "0.1.0"
