"""Chain of custody: the append-only, Merkle-committed log of every touch of evidence."""
