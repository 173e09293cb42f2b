"""Disclosure to the procuracy and court: case grants to prosecutors, packages of evidence and their receipts."""
