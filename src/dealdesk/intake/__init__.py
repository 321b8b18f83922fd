"""Intake: land JSON Lines documents, validate them, apply the good ones, reject the bad with reasons."""

from typing import Any

__all__ = ["ingest_landing", "replay"]


def __getattr__(name: str) -> Any:
    # the entry points run the processing job, which imports this package's parsing modules
    if name in __all__:
        from dealdesk.intake import job

        return getattr(job, name)
    raise AttributeError(name)
