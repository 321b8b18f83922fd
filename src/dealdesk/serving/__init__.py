"""The serving database the app reads: read models copied to PostgreSQL, with row-level security."""
