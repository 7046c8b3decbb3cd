"""Durable storage of a task list: files, locking, the journal store."""
