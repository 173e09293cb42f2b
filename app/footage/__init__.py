"""Footage: originals (native recorder exports) and clips, their ingest, locking, clipping and downloads."""
