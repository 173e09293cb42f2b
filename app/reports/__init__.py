"""Auditor reports: the custody report of a case as JSON, CSV, PDF, or a self-verifying bundle."""
