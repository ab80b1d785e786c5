"""Recording one run's exceptions in one transaction.

A ``Recording`` takes the engine's rows: never-seen ones are inserted as they are
(``fresh.insert_fresh``), the others are compared with what the store knows; ``finish``
classifies those, resolves what the run no longer found, and the caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from reconcile.definitions import SeverityRule
from reconcile.engine.rows import AMOUNT, CATEGORY, CURRENCY, ID, KEYS, ExceptionRows
from reconcile.engine.severity import severity
from reconcile.exceptions.fresh import insert_fresh
from reconcile.exceptions.model import RunDelta
from reconcile.exceptions.runs import Known, load_known, plan_run, write_plan
from reconcile.exceptions.suppress import Suppression

Row = tuple[Any, ...]


class Recording:
    """One run's exceptions going into an open session (see the module docstring)."""

    def __init__(
        self,
        recon: str,
        run_id: str,
        now: datetime,
        key_names: Sequence[str],
        row_rules: Sequence[SeverityRule],
        rules: Sequence[SeverityRule],
    ) -> None:
        self.recon, self.run_id, self.now = recon, run_id, now
        self.key_names = tuple(key_names)
        self.row_rules, self.rules = tuple(row_rules), tuple(rules)
        self._known: dict[str, Known] = {}
        self._sups: list[Suppression] = []
        self._fresh: list[str] = []
        self._others: list[Row] = []
        self._seen: set[str] = set()

    def begin(self, s: Session, suppressions: list[Suppression]) -> None:
        self._known = load_known(s, self.recon)
        self._sups = suppressions

    def add(self, s: Session, chunk: Sequence[Row]) -> None:
        fresh = []
        for row in chunk:
            eid = row[ID]
            if eid in self._seen:
                continue  # the same exception twice in one run is recorded once
            self._seen.add(eid)
            if eid in self._known or (self._sups and self._covered(row)):
                self._others.append(row)
            else:
                fresh.append(row)
        if fresh:
            recompute = None if self.rules == self.row_rules else self._severity_at_zero
            insert_fresh(s, self.recon, self.run_id, fresh, self.key_names, self.now, recompute)
            self._fresh += [r[ID] for r in fresh]

    def finish(self, s: Session) -> RunDelta:
        """Classify the exceptions seen before, resolve the ones not found, write it all."""
        others = ExceptionRows(self.recon, self.key_names, self._others, self.row_rules)
        plan = plan_run(
            self.recon, self.run_id, others.candidates(), self._known, self._sups, self.now,
            self.rules, also_seen=self._fresh,
        )  # fmt: skip
        plan.delta.new[:0] = self._fresh
        write_plan(s, plan, self.run_id, self.now)
        return plan.delta

    def _severity_at_zero(self, amount: Decimal | None) -> str:
        return severity(amount, 0, self.rules)

    def _covered(self, row: Row) -> bool:
        amount = None if row[AMOUNT] is None else Decimal(row[AMOUNT])
        kt = "|".join(str(v) for v in row[KEYS:])
        return any(
            x.covers(recon=self.recon, exception_id=row[ID], category=row[CATEGORY],
                     key_text=kt, amount=amount, currency=row[CURRENCY])
            for x in self._sups
        )  # fmt: skip
