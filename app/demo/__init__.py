"""`footage demo`: a lived-in province to learn the service on (units, people, cameras, a case in every state)."""
