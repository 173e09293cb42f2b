"""Camera registry: owners, cameras, consent history, coverage search, bulk import and export."""
