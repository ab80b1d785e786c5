"""A run's exceptions as the store writes them: plain tuples, one per exception.

The engine fetches its exception rows from DuckDB straight into this shape, and the exception
store inserts new ones from it as they are, so a 20k-exception run builds no Python object
per exception on its way to the state store. ``candidates()`` gives the object view
(``ExceptionCandidate``) to whoever reads the exceptions one by one (reports, the CLI, UAT).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import Any

from reconcile.definitions import DEFAULT_SEVERITY, SeverityRule
from reconcile.engine.result import ExceptionCandidate

#: tuple positions; the key values (text, definition order) follow from KEYS on
ID, CATEGORY, FINGERPRINT, DETAILS, SEVERITY, AMOUNT, CURRENCY, KEYS = range(8)
#: columns the engine's exception query returns, in tuple order (keys k0.. follow)
COLUMNS = ("_id", "_name", "_fp", "_details", "_sev", "_amt", "_ccy")


class ExceptionRows:
    """Exceptions of one recon: ``(id, category, fingerprint, details JSON, severity,
    amount text or None, currency or None, *key texts)``, ids unique.

    ``severity`` is the age-0 severity under ``rules`` (the definition's); the amount text is
    exact, without padding zeros but with at least the currency's minor-unit digits.

    ``rows`` lists them in (category, id) order. Rows given unordered (``ordered=False``) are
    sorted the first time ``rows`` is read: the exception store takes them as they are
    (``unordered``), so a run that is only recorded never sorts them.
    """

    __slots__ = ("_ordered", "_rows", "key_names", "recon", "rules")

    def __init__(
        self,
        recon: str,
        key_names: Sequence[str],
        rows: list[tuple[Any, ...]],
        rules: Sequence[SeverityRule] = DEFAULT_SEVERITY,
        *,
        ordered: bool = True,
    ) -> None:
        self.recon = recon
        self.key_names = tuple(key_names)
        self._rows = rows
        self._ordered = ordered
        self.rules = tuple(rules)

    @property
    def rows(self) -> list[tuple[Any, ...]]:
        if not self._ordered:
            self.sort()
        return self._rows

    def unordered(self) -> list[tuple[Any, ...]]:
        """The rows in whatever order they are kept (what recording them needs)."""
        return self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.rows)

    def categories(self) -> Counter[str]:
        return Counter(row[CATEGORY] for row in self._rows)

    def add_candidates(self, candidates: Sequence[ExceptionCandidate]) -> list[tuple[Any, ...]]:
        """Append candidates (whose keys are this recon's key names) as rows; return them."""
        added = []
        for c in candidates:
            amount = None if c.amount is None else format(c.amount, "f")
            keys = tuple(str(c.keys[name]) for name in self.key_names)
            added.append(
                (c.exception_id, c.category, c.fingerprint, c.details_json, c.severity,
                 amount, c.currency, *keys)
            )  # fmt: skip
        self._rows += added
        self._ordered = self._ordered and not added
        return added

    def sort(self) -> None:
        """(category, id) order: how results list their exceptions."""
        self._rows.sort(key=itemgetter(CATEGORY, ID))
        self._ordered = True

    def candidates(self) -> list[ExceptionCandidate]:
        """The object view of every row (built on demand: most runs are only stored)."""
        make, recon, names = ExceptionCandidate.from_engine, self.recon, self.key_names
        out = []
        for row in self.rows:
            text = row[AMOUNT]
            keys = dict(zip(names, row[KEYS:], strict=True))
            out.append(make(row[ID], recon, row[CATEGORY], keys, row[FINGERPRINT], row[SEVERITY],
                            None if text is None else Decimal(text), row[CURRENCY],
                            row[DETAILS]))  # fmt: skip
        return out
