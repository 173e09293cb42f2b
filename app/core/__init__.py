"""Shared plumbing: settings, database, errors, storage, media, clock. Imports no domain."""
