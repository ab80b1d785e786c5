"""The state store: run log, cursors, leases, outbox, exceptions, audit, feed imports."""

from billbridge.state.db import DEFAULT_URL, Store, make_engine, migrate

__all__ = ["DEFAULT_URL", "Store", "make_engine", "migrate"]
