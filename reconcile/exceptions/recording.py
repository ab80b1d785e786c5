"""Recording one run's exceptions in one transaction.

A ``Recording`` takes the engine's rows: never-seen ones are inserted as they are
(``fresh.FreshWriter``), the others are compared with what the store knows; ``finish``
classifies those, resolves what the run no longer found, and the caller commits.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy.orm import Session

from reconcile.definitions import SeverityRule
from reconcile.engine.rows import AMOUNT, CATEGORY, CURRENCY, FINGERPRINT, ID, KEYS, ExceptionRows
from reconcile.engine.rows import SEVERITY as SEV
from reconcile.engine.severity import severity
from reconcile.exceptions.fresh import FreshWriter
from reconcile.exceptions.model import RunDelta, Status, age_days
from reconcile.exceptions.runs import (
    Known,
    at_least,
    load_known,
    plan_run,
    resume_statuses,
    write_plan,
)
from reconcile.exceptions.suppress import Suppression

Row = tuple[Any, ...]
#: statuses a run does more than touch when it sees the exception again unchanged: a
#: resolved one reopens, a suppressed one whose suppression ended goes back to OPEN, a
#: won't-fix one keeps its severity (plan_run; frozen like its age)
_NOT_TOUCHED = frozenset((Status.RESOLVED.value, Status.SUPPRESSED.value, Status.WONT_FIX.value))


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
        *,
        floor: bool = False,
    ) -> None:
        self.recon, self.run_id, self.now = recon, run_id, now
        #: the rows' own severity is a floor (rows made from candidates: the level their
        #: calculator gave a finding without an amount), not one the rules replace
        self.floor = floor
        self.key_names = tuple(key_names)
        self.row_rules, self.rules = tuple(row_rules), tuple(rules)
        self._known: dict[str, Known] = {}
        self._sups: list[Suppression] = []
        self._resume: dict[str, str] = {}
        self._fresh: list[str] = []
        self._writer: FreshWriter | None = None
        self._others: list[Row] = []
        self._seen: set[str] = set()
        #: ids seen again unchanged, by (severity, None): their status stays as stored
        self._touches: dict[tuple[str | None, str | None], list[str]] = {}
        self._still: list[str] = []
        #: first seen -> (age in days, the level of every exception that age, if one)
        self._ages: dict[datetime, tuple[int, str | None]] = {}
        #: ages below the smallest positive age threshold leave the age-0 level unchanged
        self._age_floor = min(
            (r.min_age_days for r in self.rules if r.min_age_days and r.min_age_days > 0),
            default=sys.maxsize,
        )

    def begin(self, s: Session, suppressions: list[Suppression]) -> None:
        self._known = load_known(s, self.recon)
        self._sups = suppressions
        # one SELECT over the suppressed ones' events (none: nothing read)
        self._resume = resume_statuses(s, self.recon)

    def add(self, s: Session, chunk: Sequence[Row]) -> None:
        if not chunk:
            return
        if not self._known and not self._sups:
            # a recon's first run (or one whose exceptions all went): every row is new, once
            # each, unless an id repeats (then the general path below sorts it out)
            ids = [row[ID] for row in chunk]
            distinct = set(ids)
            if len(distinct) == len(ids) and self._seen.isdisjoint(distinct):
                self._seen |= distinct
                self._insert(s, chunk, ids)
                return
        fresh = []
        for row in chunk:
            eid = row[ID]
            if eid in self._seen:
                continue  # the same exception twice in one run is recorded once
            self._seen.add(eid)
            prev = self._known.get(eid)
            covered = bool(self._sups) and self._covered(row)
            if prev is None and not covered:
                fresh.append(row)
            elif prev is not None and not covered and self._unchanged(prev, row):
                self._touch(prev, row)
            else:
                self._others.append(row)
        if fresh:
            self._insert(s, fresh, [r[ID] for r in fresh])

    def _insert(self, s: Session, fresh: Sequence[Row], ids: list[str]) -> None:
        # in id order: the primary-key index then grows at its end instead of splitting
        # pages all over (ids are hashes); 8 % off recording 20k new exceptions
        fresh = sorted(fresh, key=itemgetter(ID))
        ids = [row[ID] for row in fresh]
        if self._writer is None:
            recompute = None if self.rules == self.row_rules else self._severity_at_zero
            self._writer = FreshWriter(
                s, self.recon, self.run_id, self.key_names, self.now, recompute
            )
        self._writer.add(fresh)
        self._fresh += ids

    def finish(self, s: Session) -> RunDelta:
        """Classify the exceptions seen before, resolve the ones not found, write it all."""
        if self._writer is not None:
            self._writer.close()
        others = ExceptionRows(self.recon, self.key_names, self._others, self.row_rules)
        plan = plan_run(
            self.recon, self.run_id, others.candidates(), self._known, self._sups, self.now,
            self.rules, also_seen=[*self._fresh, *self._still], resume=self._resume,
        )  # fmt: skip
        plan.delta.new[:0] = self._fresh
        plan.delta.still_open[:0] = self._still
        for group, ids in self._touches.items():
            plan.touches.setdefault(group, [])[:0] = ids
        write_plan(s, plan, self.run_id, self.now)
        return plan.delta

    @staticmethod
    def _unchanged(prev: Known, row: Row) -> bool:
        """Seen before with the same values, still open or in someone's hands: the run only
        touches it (plan_run's STILL_OPEN, decided here without building its object)."""
        return prev.fingerprint == row[FINGERPRINT] and prev.status not in _NOT_TOUCHED

    def _touch(self, prev: Known, row: Row) -> None:
        """Group an unchanged exception by its severity now (age counts); its status stays."""
        at = self._ages.get(prev.first_seen)
        if at is None:
            age = age_days(prev.first_seen, self.now)
            at = self._ages[prev.first_seen] = (age, self._level_at(age))
        age, level = at
        if level is None:
            if age < self._age_floor and self.rules == self.row_rules:
                level = row[SEV]  # no age threshold reached: the engine's age-0 level
            else:
                amount = None if row[AMOUNT] is None else Decimal(row[AMOUNT])
                level = severity(amount, age, self.rules, row[CURRENCY])
        if self.floor:
            level = at_least(level, row[SEV], self.rules)
        self._touches.setdefault((level, None), []).append(row[ID])  # status stays
        self._still.append(row[ID])

    def _level_at(self, age: int) -> str | None:
        """The level :func:`severity` gives every exception of this age whatever its
        amount, or None when the amount (or, with rules per currency, its currency) decides."""
        if any(rule.currency is not None for rule in self.rules):
            return None
        for rule in self.rules:
            if rule.min_amount is None and rule.min_age_days is None:
                return rule.level
            if rule.min_age_days is not None and age >= rule.min_age_days:
                return rule.level
            if rule.min_amount is not None:
                return None
        return self.rules[-1].level if self.rules else "LOW"

    def _severity_at_zero(self, amount: Decimal | None, given: str, currency: str | None) -> str:
        level = severity(amount, 0, self.rules, currency)
        return at_least(level, given, self.rules) if self.floor else level

    def _covered(self, row: Row) -> bool:
        amount = None if row[AMOUNT] is None else Decimal(row[AMOUNT])
        kt = "|".join(str(v) for v in row[KEYS:])
        return any(
            x.covers(recon=self.recon, exception_id=row[ID], category=row[CATEGORY],
                     key_text=kt, amount=amount, currency=row[CURRENCY])
            for x in self._sups
        )  # fmt: skip
