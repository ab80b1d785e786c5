"""Hypothesis state machine: crash plus resume equals no crash; applying twice equals once.

Two systems are driven in lockstep from one CRM: ``clean`` applies every change once;
``rough`` crashes at an arbitrary step and resumes, applies twice, or applies a saved plan
twice. After every sync both targets must be equal, with one create per record.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import select

from billbridge.state import Store
from billbridge.state.schema import CursorRow, OutboxIntentRow
from canonical import ContractStatus
from connectors.base import Cursor
from sync.runner import run_job
from tests.sync.fakes import T0, FakeSource, FakeTarget, contract, customer, line
from tests.sync.scenario import JOB, run

_TEMPLATE: dict[str, Path] = {}
#: the rough system commits and sends its plans one account at a time (crashes land
#: between parts too); the clean one in one part
ROUGH = JOB.model_copy(update={"batch_size": 1, "concurrency": 1})


class Crash(BaseException):
    pass


def _store(folder: Path, name: str) -> Store:
    if "db" not in _TEMPLATE:
        tmpl = Path(tempfile.mkdtemp()) / "template.db"
        Store(f"sqlite:///{tmpl}").close()
        _TEMPLATE["db"] = tmpl
    shutil.copy(_TEMPLATE["db"], folder / f"{name}.db")
    return Store(f"sqlite:///{folder / f'{name}.db'}")


class SyncMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self) -> None:
        self.folder = Path(tempfile.mkdtemp())
        self.src = FakeSource()
        self.clean, self.rough = FakeTarget(), FakeTarget()
        self.clean_store = _store(self.folder, "clean")
        self.rough_store = _store(self.folder, "rough")
        self.n = 0
        self.marks: dict[str, datetime] = {}
        self.src.put("customer", customer("001A"))
        self.src.put("contract", contract("800A", "001A", [line("L1")]))

    def teardown(self) -> None:
        self.clean_store.close()
        self.rough_store.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- CRM changes ------------------------------------------------------------------
    @rule(
        qty=st.integers(1, 9), price=st.sampled_from(["10.00", "12.50", "99"]), extra=st.booleans()
    )
    def change_contract(self, qty: int, price: str, extra: bool) -> None:
        cid = sorted(self.src.records["contract"])[self.n % len(self.src.records["contract"])]
        old = self.src.records["contract"][cid]
        if old.status != ContractStatus.ACTIVATED:
            return
        lines = [line("L1", str(qty), price)] + ([line("L2", "1", "5", "SKU-B")] if extra else [])
        self.src.put("contract", contract(cid, old.customer_id, lines))

    @rule()
    def new_contract(self) -> None:
        self.n += 1
        cust = f"00{self.n}N"
        self.src.put("customer", customer(cust, name=f"N{self.n}"))
        self.src.put("contract", contract(f"9{self.n:03d}", cust, [line("L1", str(self.n))]))

    @rule(terms=st.sampled_from(["Net 30", "Net 45", "Net 60"]))
    def change_customer(self, terms: str) -> None:
        self.src.put("customer", customer("001A", payment_terms=terms))

    @rule()
    def cancel_one(self) -> None:
        cid = sorted(self.src.records["contract"])[-1]
        old = self.src.records["contract"][cid]
        self.src.put("contract", old.model_copy(update={"status": ContractStatus.CANCELLED}))

    # -- syncs ---------------------------------------------------------------------------
    @rule(crash_at=st.integers(0, 40), twice=st.booleans())
    def sync(self, crash_at: int, twice: bool) -> None:
        run(self.src, self.clean, self.clean_store)
        seen: list[str] = []

        def hook(step: str) -> None:
            seen.append(step)
            if len(seen) == crash_at:
                raise Crash(step)

        with contextlib.suppress(Crash):
            run(self.src, self.rough, self.rough_store, job=ROUGH, hook=hook if crash_at else None)
        self.check_cursors()  # also right after a crash
        run(self.src, self.rough, self.rough_store, job=ROUGH)  # resume (or a plain second apply)
        self.check_cursors()
        if twice:
            calls = self.rough.write_calls
            run(self.src, self.rough, self.rough_store, job=ROUGH)
            assert self.rough.write_calls == calls, "a second apply wrote again"

    @rule()
    def apply_saved_plan_twice(self) -> None:
        run(self.src, self.clean, self.clean_store)
        plan = run_job(
            JOB, source=self.src, target=self.rough, store=self.rough_store, mode="plan"
        ).plan
        kw: dict[str, Any] = {"plan": plan}
        run(self.src, self.rough, self.rough_store, **kw)
        calls = self.rough.write_calls
        again = run(self.src, self.rough, self.rough_store, **kw)
        assert self.rough.write_calls == calls and again.api_calls == 0

    def check_cursors(self) -> None:
        """Cursors only move forward and never past a window with an unfinished intent."""
        with self.rough_store.session() as s:
            marks = {r.stream: Cursor.from_json(r.cursor) for r in s.scalars(select(CursorRow))}
            open_rows = list(
                s.scalars(
                    select(OutboxIntentRow).where(OutboxIntentRow.status.in_(("pending", "sent")))
                )
            )
        for stream, cursor in marks.items():
            mark = cursor.watermark if cursor else None
            previous = self.marks.get(stream)
            assert mark is not None and (previous is None or mark >= previous), "cursor went back"
            self.marks[stream] = mark
        for row in open_rows:
            stream = "customer" if row.entity == "customer" else "contract"
            cursor = marks.get(stream)
            changed_at = T0 + timedelta(minutes=int(row.source_version))
            assert cursor is None or cursor.watermark is None or cursor.watermark < changed_at, (
                f"cursor {stream} passed open intent {row.idempotency_key[:8]}"
            )

    @invariant()
    def same_target_and_one_create_each(self) -> None:
        if not hasattr(self, "rough"):
            return
        assert self.rough.state() == self.clean.state()
        assert not self.rough.duplicate_creates
        assert all(n == 1 for n in self.rough.creates.values())


SyncMachine.TestCase.settings = settings(
    max_examples=12,
    stateful_step_count=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestSync = SyncMachine.TestCase
