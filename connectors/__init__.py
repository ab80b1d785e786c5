"""Connectors: the only place billbridge talks to other systems (APIs and files)."""
