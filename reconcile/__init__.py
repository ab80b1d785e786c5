"""Reconciliation: YAML definitions, a set-based DuckDB matching engine and an exception store.

Import from the submodules (``reconcile.engine``, ``reconcile.definitions``,
``reconcile.exceptions``); this package stays import-light so ``reconcile.cash`` and
``reconcile.suite`` do not pay for DuckDB at import time.
"""

from __future__ import annotations
