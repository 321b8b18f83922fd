"""Intake: land JSON Lines documents, validate them, MERGE the good ones, reject the bad with reasons."""

from dealdesk.intake.job import ingest_landing, process_lines, replay

__all__ = ["ingest_landing", "process_lines", "replay"]
