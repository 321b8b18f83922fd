"""Errors the command line reports as one clear line."""


class DealDeskError(Exception):
    """An expected failure with a message meant for the person running the command."""


class ConfigurationError(DealDeskError):
    """Bad settings: engine, catalog, schema, home, or a business configuration file."""


class MigrationError(DealDeskError):
    """A DDL file cannot be applied, or an applied file was changed."""
