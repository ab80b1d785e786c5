"""Exception store on both backends: run-over-run states, lifecycle, suppressions, audit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from billbridge.state import Store
from billbridge.state.schema import AuditEventRow, ExceptionHistoryRow, ExceptionRow
from reconcile.engine import reconcile
from reconcile.exceptions import ExceptionStore, Reason, RunState, Status, WorkflowError
from tests.reconcile.helpers import invoices, row

T0 = datetime(2024, 3, 1, 6, 0, tzinfo=UTC)


def _run(xs: ExceptionStore, a: list, b: list, run_id: str, now: datetime):
    """A run as `reconcile run` records it: the engine's rows, not candidate objects."""
    result = reconcile(invoices(), a, b)
    return result, xs.record_run("invoices", run_id, result.rows, now)


def _ids(xs: ExceptionStore, now: datetime) -> dict[str, str]:
    return {v.key_text: v.id for v in xs.list("invoices", now=now)}


def test_run_over_run_states(store: Store) -> None:
    xs = ExceptionStore(store)
    base_a = [row("INV-1"), row("INV-2"), row("INV-3"), row("INV-4")]
    base_b = [row("INV-1", total="90.00"), row("INV-2", status="void"), row("INV-4")]
    _, d1 = _run(xs, base_a, base_b, "r1", T0)
    assert len(d1.new) == 3 and not (d1.still_open or d1.changed or d1.resolved_by_data)
    ids = _ids(xs, T0)

    # day 2: INV-1 gap moves (CHANGED), INV-2 unchanged (STILL_OPEN), INV-3 now synced
    b2 = [row("INV-1", total="95.00"), row("INV-2", status="void"), row("INV-3"), row("INV-4")]
    _, d2 = _run(xs, base_a, b2, "r2", T0 + timedelta(days=1))
    assert d2.changed == [ids["inv-1"]]
    assert d2.still_open == [ids["inv-2"]]
    assert d2.resolved_by_data == [ids["inv-3"]]
    assert not d2.new and not d2.reopened
    v2 = xs.get(ids["inv-2"], now=T0 + timedelta(days=1))
    assert v2 is not None and v2.times_seen == 2 and v2.age_days == 1 and v2.first_seen == T0
    v3 = xs.get(ids["inv-3"])
    assert v3 is not None and v3.status == Status.RESOLVED and v3.run_state == "RESOLVED_BY_DATA"

    # day 3: INV-3 disappears from ERP again -> REOPENED
    _, d3 = _run(
        xs,
        base_a,
        [row("INV-1", total="95.00"), row("INV-2", status="void"), row("INV-4")],
        "r3",
        T0 + timedelta(days=2),
    )
    assert d3.reopened == [ids["inv-3"]]
    v3 = xs.get(ids["inv-3"])
    assert v3 is not None and v3.status == Status.OPEN and v3.times_seen == 2
    events = [e.event for e in xs.history(ids["inv-3"])]
    assert events == ["NEW", "RESOLVED_BY_DATA", "REOPENED"]
    # severity escalates with age (Lerian: >= 1 day MEDIUM, >= 3 days HIGH)
    assert xs.get(ids["inv-2"], now=T0 + timedelta(days=3)).severity == "HIGH"
    assert xs.counts_by("category", now=T0 + timedelta(days=2)) == {
        ("AMOUNT_MISMATCH",): 1,
        ("STATUS_MISMATCH",): 1,
        ("MISSING_IN_B",): 1,
    }


def test_lifecycle_actions_write_audit_events(store: Store) -> None:
    xs = ExceptionStore(store)
    _run(xs, [row("INV-1"), row("INV-2")], [], "r1", T0)
    ids = _ids(xs, T0)
    xs.acknowledge(ids["inv-1"], actor="ana", now=T0, note="looking")
    xs.assign([ids["inv-1"], ids["inv-2"]], "bob", actor="ana", now=T0)
    xs.transition(ids["inv-1"], Status.IN_REVIEW, actor="bob", now=T0)
    xs.transition(ids["inv-1"], Status.ESCALATED, actor="bob", now=T0, note="needs controller")
    with pytest.raises(WorkflowError, match="reason"):
        xs.resolve(ids["inv-1"], "NOT_A_CODE", actor="bob", now=T0)
    done = xs.resolve(ids["inv-1"], Reason.JOURNAL_ENTRY_POSTED, actor="bob", now=T0, note="JE 42")
    assert done[0].status == Status.RESOLVED and done[0].owner == "bob"
    with pytest.raises(WorkflowError, match="cannot go from RESOLVED to IN_REVIEW"):
        xs.transition(ids["inv-1"], Status.IN_REVIEW, actor="bob", now=T0)
    with pytest.raises(WorkflowError, match="no exception"):
        xs.acknowledge("f" * 64, actor="ana", now=T0)

    with store.session() as s:
        audit = list(s.scalars(select(AuditEventRow).order_by(AuditEventRow.id)))
        stored = list(
            s.scalars(
                select(ExceptionHistoryRow.event)
                .where(ExceptionHistoryRow.exception_id == ids["inv-1"])
                .order_by(ExceptionHistoryRow.id)
            )
        )
    hist = xs.history(ids["inv-1"])
    actions = [(a.actor, a.action, a.subject_id[:8]) for a in audit]
    assert actions == [
        ("ana", "exception.acknowledged", ids["inv-1"][:8]),
        ("ana", "exception.assigned", ids["inv-1"][:8]),
        ("ana", "exception.assigned", ids["inv-2"][:8]),
        ("bob", "exception.in_review", ids["inv-1"][:8]),
        ("bob", "exception.escalated", ids["inv-1"][:8]),
        ("bob", "exception.resolved", ids["inv-1"][:8]),
    ]
    assert audit[-1].note == "JE 42" and audit[-1].details["reason"] == "JOURNAL_ENTRY_POSTED"
    assert [h.event for h in hist] == [
        "NEW",
        "ACKNOWLEDGED",
        "ASSIGNED",
        "IN_REVIEW",
        "ESCALATED",
        "RESOLVED",
    ]
    assert hist[1].note == "looking" and hist[1].actor == "ana"
    # the NEW event is the row's own (first_seen, first_run_id), not a stored history row
    assert (hist[0].run_id, hist[0].at, hist[0].actor) == ("r1", T0, "system")
    assert stored == [h.event for h in hist[1:]]


def test_manually_resolved_exception_reopens_when_seen_again(store: Store) -> None:
    xs = ExceptionStore(store)
    _run(xs, [row("INV-1")], [], "r1", T0)
    eid = _ids(xs, T0)["inv-1"]
    xs.resolve(eid, "fixed_in_source", actor="ana", now=T0)
    _, delta = _run(xs, [row("INV-1")], [], "r2", T0 + timedelta(days=1))
    assert delta.reopened == [eid]
    assert xs.get(eid).status == Status.OPEN


def test_suppression_with_expiry(store: Store) -> None:
    xs = ExceptionStore(store)
    a = [row("INV-1", total="5.00"), row("INV-2", total="50000.00"), row("INV-3")]
    _run(xs, a, [], "r1", T0)
    ids = _ids(xs, T0)
    sup = xs.suppress(
        reason="in transit",
        owner="ana",
        expires_at=T0 + timedelta(days=2),
        actor="ana",
        now=T0,
        recon="invoices",
        pattern={"category": "MISSING_IN_B", "max_amount": "100"},
    )
    statuses = {k: xs.get(i).status for k, i in ids.items()}
    assert statuses == {
        "inv-1": Status.SUPPRESSED,
        "inv-2": Status.OPEN,
        "inv-3": Status.SUPPRESSED,
    }
    # still counted in reports
    assert sum(xs.counts_by("category", now=T0).values()) == 3
    assert [s.id for s in xs.suppressions(active_at=T0)] == [sup.id]

    _, d2 = _run(xs, a, [], "r2", T0 + timedelta(days=1))
    assert sorted(d2.suppressed) == sorted([ids["inv-1"], ids["inv-3"]])
    assert xs.get(ids["inv-1"]).status == Status.SUPPRESSED

    # after expiry the suppression stops applying
    _, d3 = _run(xs, a, [], "r3", T0 + timedelta(days=3))
    assert d3.suppressed == []
    assert xs.get(ids["inv-1"]).status == Status.OPEN
    assert xs.suppressions(active_at=T0 + timedelta(days=3)) == []
    with store.session() as s:
        audit = list(s.scalars(select(AuditEventRow)))
    assert [(a.action, a.actor, a.details["applied"]) for a in audit] == [
        ("exception.suppress", "ana", 2)
    ]


def test_single_id_suppression_and_validation(store: Store) -> None:
    xs = ExceptionStore(store)
    _run(xs, [row("INV-1"), row("INV-2")], [], "r1", T0)
    ids = _ids(xs, T0)
    with pytest.raises(WorkflowError):
        xs.suppress(
            reason="x",
            owner="o",
            expires_at=T0 - timedelta(days=1),
            actor="a",
            now=T0,
            exception_id=ids["inv-1"],
        )
    with pytest.raises(WorkflowError):
        xs.suppress(reason="x", owner="o", expires_at=T0 + timedelta(days=1), actor="a", now=T0)
    xs.suppress(
        reason="known",
        owner="o",
        expires_at=T0 + timedelta(days=1),
        actor="a",
        now=T0,
        exception_id=ids["inv-1"],
    )
    assert xs.get(ids["inv-1"]).status == Status.SUPPRESSED
    assert xs.get(ids["inv-2"]).status == Status.OPEN
    assert xs.expire_suppressions(T0 + timedelta(days=2)) == [ids["inv-1"]]
    assert xs.get(ids["inv-1"]).status == Status.OPEN


@pytest.mark.parametrize("expire", ["run", "expire_suppressions"])
def test_exceptions_in_someones_hands_are_suppressed_and_return_when_it_ends(
    store: Store, expire: str
) -> None:
    """Was: suppress() parked only OPEN ones; an acknowledged, assigned, in review or
    escalated one stayed as it was while the command said "suppression 1 until ...". Now
    they are SUPPRESSED (owner kept, audited) and go back to their status when it ends."""
    xs = ExceptionStore(store)
    a = [row(f"INV-{i}") for i in range(1, 6)]
    _run(xs, a, [], "r1", T0)
    ids = _ids(xs, T0)
    xs.acknowledge(ids["inv-1"], actor="ar", now=T0)
    xs.assign(ids["inv-2"], "jo", actor="ar", now=T0)
    xs.transition(ids["inv-3"], Status.IN_REVIEW, actor="ar", now=T0)
    xs.transition(ids["inv-4"], Status.ESCALATED, actor="ar", now=T0)
    before = {k: xs.get(i).status for k, i in ids.items()}
    xs.suppress(reason="disputed", owner="ana", expires_at=T0 + timedelta(days=2), actor="ana",
                now=T0, recon="invoices", pattern={"category": "MISSING_IN_B"})  # fmt: skip
    assert {xs.get(i).status for i in ids.values()} == {Status.SUPPRESSED}
    assert xs.get(ids["inv-2"]).owner == "jo"
    events = [(e.event, (e.details or {}).get("from")) for e in xs.history(ids["inv-2"])]
    assert events[-1] == ("SUPPRESSED", "ASSIGNED")

    # a run while it holds keeps them parked
    _, d2 = _run(xs, a, [], "r2", T0 + timedelta(days=1))
    assert sorted(d2.suppressed) == sorted(ids.values())
    assert {xs.get(i).status for i in ids.values()} == {Status.SUPPRESSED}

    later = T0 + timedelta(days=3)
    if expire == "run":
        _run(xs, a, [], "r3", later)
    else:
        assert sorted(xs.expire_suppressions(later)) == sorted(ids.values())
    assert {k: xs.get(i).status for k, i in ids.items()} == before
    assert xs.get(ids["inv-2"]).owner == "jo"
    ended = xs.history(ids["inv-4"])[-1]
    assert (ended.event, ended.details) == ("SUPPRESSION_ENDED", {"to": "ESCALATED"})


def test_a_run_parks_an_acknowledged_exception_a_suppression_covers(store: Store) -> None:
    """The run's side (plan_run parked only OPEN ones): a suppression stored without being
    applied (as an older version left them) covers an acknowledged exception."""
    from billbridge.state.schema import SuppressionRow

    xs = ExceptionStore(store)
    a = [row("INV-1")]
    _run(xs, a, [], "r1", T0)
    eid = _ids(xs, T0)["inv-1"]
    xs.acknowledge(eid, actor="ar", now=T0)
    with store.session() as s:
        until = T0 + timedelta(days=2)
        s.add(SuppressionRow(recon="invoices", exception_id=eid, reason="x", owner="o",
                             expires_at=until, created_at=T0, created_by="a"))  # fmt: skip
    _, d2 = _run(xs, a, [], "r2", T0 + timedelta(days=1))
    assert d2.suppressed == [eid] and xs.get(eid).status == Status.SUPPRESSED
    _run(xs, a, [], "r3", T0 + timedelta(days=3))
    assert xs.get(eid).status == Status.ACKNOWLEDGED


def test_suppressing_a_closed_exception_is_refused(store: Store) -> None:
    xs = ExceptionStore(store)
    _run(xs, [row("INV-1")], [], "r1", T0)
    eid = _ids(xs, T0)["inv-1"]
    xs.transition(eid, Status.WONT_FIX, actor="ar", now=T0)
    with pytest.raises(WorkflowError, match=r"is WONT_FIX: only an active exception"):
        xs.suppress(reason="x", owner="o", expires_at=T0 + timedelta(days=1), actor="a",
                    now=T0, exception_id=eid)  # fmt: skip
    assert xs.suppressions() == []  # nothing half-applied


@pytest.mark.parametrize("path", ["rows", "candidates"])
def test_a_wont_fix_exception_keeps_its_severity_as_runs_see_it_again(
    store: Store, path: str
) -> None:
    """Was: a closed WONT_FIX exception escalated on every run (LOW to CRITICAL by age)
    while its age stood still. Its severity now freezes too, seen unchanged or changed."""
    xs = ExceptionStore(store)

    def run(a: list, run_id: str, now: datetime) -> None:
        result = reconcile(invoices(), a, [])
        if path == "rows":
            xs.record_run("invoices", run_id, result.rows, now)
        else:
            xs._record_candidates("invoices", run_id, result.exceptions, now, None)

    a = [row("INV-1", total="5.00"), row("INV-2", total="5.00")]
    run(a, "r0", T0)
    ids = _ids(xs, T0)
    level = xs.get(ids["inv-1"], now=T0).severity
    xs.transition(ids["inv-1"], Status.WONT_FIX, actor="ar", now=T0)
    for day in range(1, 12):
        # day 5: its amount moves (CHANGED), a rewrite rather than a touch
        total = "7.00" if day >= 5 else "5.00"
        run([row("INV-1", total=total), a[1]], f"r{day}", T0 + timedelta(days=day))
    last = T0 + timedelta(days=11)
    closed, still = xs.get(ids["inv-1"], now=last), xs.get(ids["inv-2"], now=last)
    assert closed.status == Status.WONT_FIX and closed.severity == level
    assert closed.times_seen == 12 and closed.amount == Decimal("7.00")
    assert closed.age_days == 0 and closed.resolved_at is not None  # its age froze at close
    assert still.severity != level  # the open one did escalate with age
    with store.session() as s:  # as stored, not only as shown
        stored = s.get(ExceptionRow, ids["inv-1"])
        assert stored is not None and stored.severity == level


def test_views_and_queries(store: Store) -> None:
    xs = ExceptionStore(store)
    _run(
        xs, [row("INV-1", total="200000.00"), row("INV-2")], [row("INV-2", total="99.00")], "r1", T0
    )
    views = xs.list("invoices", states=[RunState.NEW], now=T0)
    by_key = {v.key_text: v for v in views}
    big = by_key["inv-1"]
    assert big.category == "MISSING_IN_B" and big.severity == "CRITICAL"
    assert str(big.amount) == "200000.00" and big.currency == "USD"
    gap = by_key["inv-2"]
    assert gap.details["delta"] == {"total": "1"} and gap.details["a"]["total"] == "100"
    assert gap.severity == "LOW" and gap.run_state == "NEW" and gap.status == "OPEN"
    assert [v.key_text for v in xs.oldest_open(1, now=T0)] == [views[0].key_text]
    aging = xs.aging(now=T0 + timedelta(days=4))
    assert aging["3-7"]["count"] == 2 and aging["0-2"]["count"] == 0
    assert str(aging["3-7"]["amounts"]["USD"]) == "200001.00"
    assert xs.get(gap.id[:10]).id == gap.id


def test_bulk_runs_cross_batch_boundaries(store: Store) -> None:
    xs = ExceptionStore(store)
    a = [row(f"INV-{i:05d}") for i in range(2000)]
    _, d1 = _run(xs, a, [], "r1", T0)
    assert len(d1.new) == 2000
    _, d2 = _run(xs, a[:1500], [], "r2", T0 + timedelta(days=1))
    assert (len(d2.still_open), len(d2.resolved_by_data)) == (1500, 500)
    counts = xs.counts_by("run_state", statuses=None, now=T0 + timedelta(days=1))
    assert counts == {("STILL_OPEN",): 1500, ("RESOLVED_BY_DATA",): 500}
    views = xs.list("invoices", states=["STILL_OPEN"], now=T0 + timedelta(days=1), limit=3)
    assert [v.times_seen for v in views] == [2, 2, 2]


def test_kpis(store: Store) -> None:
    xs = ExceptionStore(store)
    _run(xs, [row("INV-1"), row("INV-2"), row("INV-3")], [], "r1", T0)
    ids = _ids(xs, T0)
    xs.resolve(ids["inv-1"], "WRITE_OFF", actor="ana", now=T0 + timedelta(days=2))
    _run(xs, [row("INV-1"), row("INV-2")], [], "r2", T0 + timedelta(days=4))  # INV-3 fixed
    kpis = xs.kpis(recon="invoices", now=T0 + timedelta(days=4))
    assert kpis["open"] == 2 and kpis["resolved"] == 1  # INV-1 reopened by the data
    assert kpis["by_status"] == {"OPEN": 2, "RESOLVED": 1}
    assert kpis["mean_days_to_resolve"] == 4.0


def test_engine_details_are_stored_as_json_objects_on_both_backends(store: Store) -> None:
    """The engine hands details over as JSON text; the store writes that text once, as a JSON
    object (not a JSON string holding it), and reads it back as the same dict."""
    xs = ExceptionStore(store)
    result, _ = _run(xs, [row("INV-1", total="90.00")], [row("INV-1")], "r1", T0)
    (cand,) = result.exceptions
    (view,) = xs.list("invoices", now=T0)
    assert view.details == cand.details
    assert view.details["delta"] == {"total": "-10"} and view.details["a"]["total"] == "90"
    mark = "?" if store.engine.dialect.name == "sqlite" else "%s"
    with store.session() as s:
        raw = (
            s.connection()
            .exec_driver_sql(
                f"SELECT details FROM exceptions WHERE exception_id = {mark}", (view.id,)
            )
            .scalar_one()
        )
    stored = raw if isinstance(raw, dict) else json.loads(raw)  # PostgreSQL decodes JSON
    assert stored == cand.details


def _tables(store: Store) -> tuple[list[tuple], list[tuple]]:
    """Both exception tables' rows, comparable across stores (no surrogate ids)."""
    with store.session() as s:
        conn = s.connection()
        exc = conn.exec_driver_sql("SELECT * FROM exceptions ORDER BY exception_id").all()
        hist = conn.exec_driver_sql(
            "SELECT exception_id, run_id, at, event, fingerprint, details, actor, note "
            "FROM exception_history ORDER BY exception_id, id"
        ).all()
    return [tuple(r) for r in exc], [tuple(r) for r in hist]


def _second_store(store: Store, tmp_path) -> Store:
    if store.engine.dialect.name == "sqlite":
        return Store(f"sqlite:///{tmp_path / 'other.db'}")
    import uuid

    return Store(str(store.url), schema=f"t_{uuid.uuid4().hex[:12]}")


def test_engine_rows_and_candidates_are_stored_alike(store: Store, tmp_path) -> None:
    """New exceptions written straight from the engine's rows end up exactly as the same
    exceptions recorded as candidate objects: every column, every history row, over runs
    that add, keep, change, resolve and reopen exceptions."""
    other = _second_store(store, tmp_path)
    try:
        by_rows, by_objects = ExceptionStore(store), ExceptionStore(other)
        days = [
            ([row("INV-1", total="90.00"), row("INV-2"), row("INV-3", currency="JPY")],
             [row("INV-1"), row("INV-4", total="1000.5", currency="BHD")]),
            ([row("INV-1", total="80.00"), row("INV-2"), row("INV-5", currency="xyz")],
             [row("INV-1"), row("INV-4", total="1000.5", currency="BHD")]),
            ([row("INV-1", total="80.00"), row("INV-3", currency="JPY")], [row("INV-1")]),
        ]  # fmt: skip
        for i, (a, b) in enumerate(days):
            result = reconcile(invoices(), a, b)
            now = T0 + timedelta(days=i)
            d_rows = by_rows.record_run("invoices", f"r{i}", result.rows, now)
            # the object path, kept for candidates whose keys the row form cannot hold
            d_objs = by_objects._record_candidates(
                "invoices", f"r{i}", result.exceptions, now, None
            )
            assert d_rows.counts == d_objs.counts
            assert sorted(d_rows.new) == sorted(d_objs.new)
        stored_rows, stored_objs = _tables(store), _tables(other)
        assert stored_rows == stored_objs
        amounts = {r[4]: r[8] for r in stored_rows[0]}  # key_text -> amount text
        # exact amounts with at least the currency's minor-unit digits
        assert amounts["inv-3"] == "100" and amounts["inv-4"] == "1000.500"
        assert amounts["inv-5"] == "100"  # an unknown currency adds no digits
    finally:
        other.close()


def test_rows_take_the_store_rules_when_given_other_rules(store: Store) -> None:
    """Severity of a new exception follows the rules record_run is given, even when the
    engine computed its rows' severity under the definition's rules."""
    from reconcile.definitions import SeverityRule

    xs = ExceptionStore(store)
    result = reconcile(invoices(), [row("INV-1", total="20.00")], [])
    rules = (SeverityRule(level="CRITICAL", min_amount=Decimal("10")), SeverityRule(level="LOW"))
    xs.record_run("invoices", "r1", result.rows, T0, rules=rules)
    with store.session() as s:
        stored = s.connection().exec_driver_sql("SELECT severity FROM exceptions").scalar_one()
    assert stored == "CRITICAL"
    assert result.exceptions[0].severity == "LOW"  # the engine's own, under default rules


def _lines():
    """A recon of invoice lines: two keys, one compared quantity."""
    from reconcile.definitions import parse_definitions

    (d,) = parse_definitions(
        """
name: lines
a: {label: billing}
b: {label: erp}
keys: [{name: invoice}, {name: line}]
compare: [{name: qty, kind: number}]
"""
    )
    return d


def test_rows_with_two_keys_are_stored_like_candidates(store: Store, tmp_path) -> None:
    """Several keys: SQLite builds the keys object and the key text from the row's key
    columns exactly as the object path writes them (quotes and '|' in values included)."""
    d = _lines()
    a = [
        {"invoice": 'INV "1"', "line": "1", "qty": "2"},
        {"invoice": "INV|2", "line": "2", "qty": "1"},
    ]
    b = [{"invoice": 'INV "1"', "line": "1", "qty": "3"}]
    other = _second_store(store, tmp_path)
    try:
        result = reconcile(d, a, b)
        ExceptionStore(store).record_run("lines", "r1", result.rows, T0)
        ExceptionStore(other)._record_candidates("lines", "r1", result.exceptions, T0, None)
        (stored, hist), expected = _tables(store), _tables(other)
        assert (stored, hist) == expected
        assert sorted(r[4] for r in stored) == ['INV "1"|1', "INV|2|2"]
        keys = [r[3] if isinstance(r[3], dict) else json.loads(r[3]) for r in stored]
        assert {"invoice": "INV|2", "line": "2"} in keys
    finally:
        other.close()


def test_new_exceptions_across_multi_row_inserts_are_stored_like_candidates(
    store: Store, tmp_path
) -> None:
    """SQLite writes new exceptions by multi-row INSERTs: two full statements and a shorter
    one for the rest must store every row, with its own values and its NEW event (the row's
    first run; no history row), as the object path does."""
    from reconcile.exceptions.fresh import rows_per_insert

    d = _lines()
    n = 2 * rows_per_insert(["invoice", "line"]) + 7
    a = [{"invoice": f"INV-{i}", "line": str(i % 3), "qty": str(i)} for i in range(n)]
    b = [{"invoice": f"INV-{i}", "line": str(i % 3), "qty": str(i + i % 2)} for i in range(n)]
    other = _second_store(store, tmp_path)
    try:
        result = reconcile(d, a, b)
        assert len(result.rows) == n // 2  # the odd ones differ
        delta = ExceptionStore(store).record_run("lines", "r1", result.rows, T0)
        ExceptionStore(other)._record_candidates("lines", "r1", result.exceptions, T0, None)
        assert len(delta.new) == n // 2
        (stored, hist), expected = _tables(store), _tables(other)
        assert (stored, hist) == expected
        assert len(stored) == n // 2 and hist == []
        xs = ExceptionStore(store)
        assert all(
            [(e.event, e.run_id, e.at) for e in xs.history(r[0])] == [("NEW", "r1", T0)]
            for r in stored
        )
        assert {r[4] for r in stored} == {f"INV-{i}|{i % 3}" for i in range(1, n, 2)}
    finally:
        other.close()


@pytest.mark.parametrize(
    "rules",
    [
        None,  # the definition's (Lerian defaults: amount or age 1, 3, 5 days)
        # other rules than the engine's; the amount still decides after the age thresholds
        (
            ("CRITICAL", "500", None),
            ("HIGH", None, 2),
            ("MEDIUM", "150", None),
            ("LOW", None, None),
        ),
    ],
)
def test_exceptions_seen_again_are_recorded_like_candidates(store: Store, tmp_path, rules) -> None:
    """Exceptions a run sees again unchanged are touched straight from the engine's rows;
    over days that cross every age threshold, with acknowledged, suppressed and resolved
    ones among them, the store ends up as when every exception goes through plan_run."""
    from reconcile.definitions import SeverityRule

    severity = (
        None
        if rules is None
        else tuple(
            SeverityRule(level=lvl, min_amount=None if amt is None else Decimal(amt),
                         min_age_days=age)
            for lvl, amt, age in rules
        )
    )  # fmt: skip
    a = [row(f"INV-{i}", total=str(100 + 97 * i)) for i in range(12)]
    b = [row(f"INV-{i}") for i in range(12)] + [row("INV-X")]
    other = _second_store(store, tmp_path)
    try:
        by_rows, by_objects = ExceptionStore(store), ExceptionStore(other)
        for day in range(7):
            now = T0 + timedelta(days=day)
            a_day = a[:-1] if day == 3 else a  # INV-11 resolves by data on day 3, then reopens
            result = reconcile(invoices(), a_day, b)
            d_rows = by_rows.record_run("invoices", f"r{day}", result.rows, now, rules=severity)
            d_objs = by_objects._record_candidates(
                "invoices", f"r{day}", result.exceptions, now, severity
            )
            assert d_rows.counts == d_objs.counts
            assert sorted(d_rows.still_open) == sorted(d_objs.still_open)
            assert _tables(store) == _tables(other)  # severities of the day included
            if day == 1:  # people act on some of them, alike in both stores
                for xs in (by_rows, by_objects):
                    ids = _ids(xs, now)
                    xs.acknowledge(ids["inv-1"], actor="ar", now=now)
                    xs.assign(ids["inv-2"], "jo", actor="ar", now=now)
                    xs.resolve(ids["inv-3"], Reason.TIMING, actor="ar", now=now)
                    xs.suppress(reason="known", owner="ar", expires_at=now + timedelta(days=3),
                                actor="ar", now=now, exception_id=ids["inv-4"])  # fmt: skip
        assert d_rows.still_open  # the last day did touch exceptions
        stored_rows = _tables(store)
        levels = {r[4]: r[7] for r in stored_rows[0]}  # key_text -> severity
        if rules is None:  # six days old: CRITICAL whatever the amount
            assert set(levels.values()) == {"CRITICAL"}
        else:  # past the age threshold, a large amount still outranks it
            assert levels["inv-11"] == "CRITICAL" and levels["inv-1"] == "HIGH"
    finally:
        other.close()


def _record_in_chunks(xs: ExceptionStore, rows, run_id: str, now: datetime, size: int):
    """``record_run``'s transaction, the rows handed to the recording ``size`` at a time."""
    rec = xs._recording(rows.recon, run_id, now, rows, None)
    data = rows.unordered()
    with xs.store.session() as s:
        rec.begin(s, xs._active_suppressions(s, rows.recon, now))
        for i in range(0, len(data), size):
            rec.add(s, data[i : i + size])
        return rec.finish(s)


@pytest.mark.parametrize("size", [1, 7, 103])
def test_rows_recorded_in_chunks_are_stored_as_in_one(store: Store, tmp_path, size) -> None:
    """A recording takes its rows in chunks of any size (each chunk's INSERTs, one history
    copy at the end): a first run (every row new) and a second one (new, changed, still open
    and resolved rows) store what one ``record_run`` stores."""
    from reconcile.exceptions.fresh import rows_per_insert

    d = _lines()
    n = 2 * rows_per_insert(["invoice", "line"]) + 11
    a = [{"invoice": f"INV-{i}", "line": "1", "qty": str(i)} for i in range(n)]
    b1 = [{"invoice": f"INV-{i}", "line": "1", "qty": str(i + i % 2)} for i in range(n)]
    b2 = [{"invoice": f"INV-{i}", "line": "1", "qty": str(i + i % 3)} for i in range(n)]
    other = _second_store(store, tmp_path)
    try:
        chunked, whole = ExceptionStore(store), ExceptionStore(other)
        for day, b in enumerate((b1, b2)):
            now = T0 + timedelta(days=day)
            result = reconcile(d, a, b)
            got = _record_in_chunks(chunked, result.rows, f"r{day}", now, size)
            want = whole.record_run("lines", f"r{day}", result.rows, now)
            assert got.counts == want.counts
            assert _tables(store) == _tables(other)
        assert got.counts["NEW"] and got.counts["STILL_OPEN"] and got.counts["RESOLVED_BY_DATA"]
    finally:
        other.close()


def test_an_id_twice_in_a_first_run_is_recorded_once(store: Store) -> None:
    """A first run's rows go in without a lookup each, but only when their ids are distinct:
    a repeated one takes the general path and is recorded once, with one NEW event."""
    from reconcile.engine.rows import ExceptionRows

    result = reconcile(invoices(), [row("INV-1", total="90.00"), row("INV-2")], [row("INV-1")])
    rows = result.rows
    assert isinstance(rows, ExceptionRows) and len(rows) == 2
    doubled = ExceptionRows(rows.recon, rows.key_names, [*rows.rows, rows.rows[0]], rows.rules)
    delta = ExceptionStore(store).record_run("invoices", "r1", doubled, T0)
    assert sorted(delta.new) == sorted(r[0] for r in rows.rows)
    exc, hist = _tables(store)
    xs = ExceptionStore(store)
    assert len(exc) == 2 and hist == []
    assert [[e.event for e in xs.history(r[0])] for r in exc] == [["NEW"], ["NEW"]]


def test_recording_takes_the_rows_as_they_are(store: Store, monkeypatch) -> None:
    """The engine's rows come unordered and are sorted only for readers: recording them
    must not sort them (20k rows of a large run would pay a Python sort for nothing)."""
    from reconcile.engine.rows import ExceptionRows

    result = reconcile(invoices(), [row(f"INV-{i}", total="90.00") for i in range(9)], [])

    def refuse(self: ExceptionRows) -> None:
        raise AssertionError("recording sorted the rows")

    monkeypatch.setattr(ExceptionRows, "sort", refuse)
    delta = ExceptionStore(store).record_run("invoices", "r1", result.rows, T0)
    assert len(delta.new) == 9


def test_a_clean_first_run_records_into_an_empty_store(store: Store) -> None:
    """A run without exceptions into a store that has none yet (a migration's goal state):
    recorded as a run with nothing new, and the next clean run as well."""
    result = reconcile(invoices(), [row("INV-1")], [row("INV-1")])
    assert len(result.rows) == 0
    xs = ExceptionStore(store)
    first = xs.record_run("invoices", "r1", result.rows, T0)
    again = xs.record_run("invoices", "r2", result.rows, T0 + timedelta(days=1))
    assert first.counts == again.counts
    assert all(n == 0 for n in first.counts.values())
    assert _tables(store) == ([], [])


def test_a_finding_without_an_amount_keeps_the_severity_its_calculator_gave(store: Store) -> None:
    """An invalid tax id has no amount: sized by amount alone it would be LOW. The level a
    calculator gives is a floor; the amount and age can still raise it."""
    from reconcile.engine import ExceptionCandidate
    from reconcile.exceptions import exception_id

    def cand(key: str, sev: str, amount: str | None) -> ExceptionCandidate:
        keys = {"customer": key}
        return ExceptionCandidate(
            exception_id=exception_id("hygiene", keys, "INVALID_TAX_ID"),
            recon="hygiene",
            category="INVALID_TAX_ID",
            keys=keys,
            fingerprint=key,
            details={},
            amount=None if amount is None else Decimal(amount),
            currency=None if amount is None else "EUR",
            severity=sev,
        )

    xs = ExceptionStore(store)
    found = [cand("C1", "medium", None), cand("C2", "low", "250000"), cand("C3", "LOW", None)]
    xs.record_run("hygiene", "r1", found, T0)
    levels = {v.key_text: v.severity for v in xs.list("hygiene", now=T0)}
    assert levels == {"C1": "MEDIUM", "C2": "CRITICAL", "C3": "LOW"}
    # seen again three days later the age raises both (HIGH from 3 days on)
    xs.record_run("hygiene", "r2", found, T0 + timedelta(days=3))
    levels = {v.key_text: v.severity for v in xs.list("hygiene", now=T0 + timedelta(days=3))}
    assert levels == {"C1": "HIGH", "C2": "CRITICAL", "C3": "HIGH"}
    # and half a day later the floor holds where the age alone would say LOW
    xs.record_run("hygiene", "r3", [cand("C4", "medium", None)], T0 + timedelta(days=3))
    xs.record_run("hygiene", "r4", [cand("C4", "medium", None)], T0 + timedelta(days=3, hours=12))
    levels = {v.key_text: v.severity for v in xs.list("hygiene", now=T0 + timedelta(days=3))}
    assert levels["C4"] == "MEDIUM"


def test_severity_rates_size_every_run_and_the_list_in_the_reporting_currency(
    store: Store,
) -> None:
    from reconcile.definitions import parse_definitions

    (d,) = parse_definitions("""
name: multi
a: {label: zuora}
b: {label: netsuite}
keys: [{name: number}]
compare: [{name: total, kind: amount}, {name: currency, kind: text}]
amount_field: total
currency_field: currency
severity:
  - {level: CRITICAL, min_amount: 100000, min_age_days: 5}
  - {level: HIGH, min_amount: 10000, min_age_days: 3}
  - {level: MEDIUM, min_amount: 1000, min_age_days: 1}
  - {level: LOW}
severity_rates: {JPY: "0.0067"}
""")
    a = [
        {"number": "J", "total": "150000", "currency": "JPY"},  # about 1,005 USD
        {"number": "U", "total": "90000.00", "currency": "USD"},
    ]
    xs = ExceptionStore(store)

    def levels(now: datetime) -> dict[str, str]:
        return {v.key_text: v.severity for v in xs.list("multi", now=now)}

    for day, changed in ((0, False), (1, False), (3, True)):
        result = reconcile(d, a, [])
        if changed:  # a changed amount goes through the slow path: sized the same way
            a[0] = {**a[0], "total": "160000"}
            result = reconcile(d, a, [])
        xs.record_run("multi", f"r{day}", result.rows, T0 + timedelta(days=day), rules=d.severity)
        with store.session() as s:
            stored = dict(
                s.connection().exec_driver_sql("SELECT key_text, severity FROM exceptions").all()
            )
        expected = {0: {"J": "MEDIUM", "U": "HIGH"}, 1: {"J": "MEDIUM", "U": "HIGH"}}
        assert stored == expected.get(day, {"J": "HIGH", "U": "HIGH"}), day
    assert levels(T0 + timedelta(days=5)) == {"J": "CRITICAL", "U": "CRITICAL"}  # by age


def test_a_run_parking_a_new_exception_names_the_suppression(store: Store) -> None:
    """An exception a pattern suppression covers at first sight is parked by the run; its
    SUPPRESSED event names the suppression and its reason, as a person's suppress does."""
    xs = ExceptionStore(store)
    sup = xs.suppress(reason="known timing gap", owner="ana", expires_at=T0 + timedelta(days=5),
                      actor="ana", now=T0, recon="invoices",
                      pattern={"category": "MISSING_IN_B"})  # fmt: skip
    _, delta = _run(xs, [row("INV-1")], [], "r1", T0)
    (eid,) = delta.new
    events = [(e.event, e.run_id, e.details) for e in xs.history(eid)]
    assert events == [
        ("NEW", "r1", None),
        ("SUPPRESSED", "r1", {"suppression_id": sup.id, "reason": "known timing gap",
                              "from": "OPEN"}),
    ]  # fmt: skip
