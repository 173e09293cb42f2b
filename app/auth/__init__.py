"""Identity and access: users, units, roles, tokens, owner links and the one permission module."""
