"""Errors the command line reports as one clear line."""


class DealDeskError(Exception):
    """An expected failure with a message meant for the person running the command."""


class ConfigurationError(DealDeskError):
    """Bad settings: engine, catalog, schema, home, or a business configuration file."""


class MigrationError(DealDeskError):
    """A DDL file cannot be applied, or an applied file was changed."""


class NoLakehouseError(DealDeskError):
    """A command that only reads was pointed at a place that holds no lakehouse."""


class PathError(DealDeskError):
    """A path given on the command line is not what the option needs (a file for a folder, ...)."""


class QueryError(DealDeskError):
    """A statement given to ``dealdesk sql`` is refused, or the engine could not run it."""


class DemoError(DealDeskError):
    """The demo refuses a folder it did not create."""


class RecoveryError(DealDeskError):
    """A backup or restore is refused: an unknown table, version, timestamp or backup, or an audit table."""
