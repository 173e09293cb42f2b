"""Server-rendered pages for investigators, owners, auditors and admins (Jinja2 + htmx, Vietnamese first)."""
