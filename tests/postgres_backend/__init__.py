"""Postgres for the test suite: the production backend, with a flush that may empty the audit tables."""
