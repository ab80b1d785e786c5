"""A won't-fix exception the data still holds is closed: a run counts it apart (WONT_FIX),
not among its STILL_OPEN or CHANGED open items, nor as SUPPRESSED. Was: the CLI line and
the run log said STILL_OPEN 122 while the report and ``exceptions list`` said 121 open."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from billbridge.state import Store
from billbridge.state.schema import RunLogRow
from reconcile import cli as recon_cli
from reconcile import exceptions_cli
from reconcile.engine import reconcile
from reconcile.exceptions import ExceptionStore, RunDelta, Status
from reconcile.exceptions.model import ACTIVE
from reconcile.reports.build import report_from_store
from tests.reconcile.helpers import invoices, row

T0 = datetime(2024, 3, 1, 6, 0, tzinfo=UTC)
OPEN_STATES = ("NEW", "STILL_OPEN", "CHANGED", "REOPENED")


def _logged(store: Store, run_id: str) -> dict[str, int]:
    with store.session() as s:
        return dict(s.scalars(select(RunLogRow.counts).where(RunLogRow.run_id == run_id)).one())


@pytest.mark.parametrize("path", ["rows", "candidates"])
def test_a_wont_fix_exception_seen_again_is_not_counted_open(store: Store, path: str) -> None:
    xs = ExceptionStore(store)

    def run(a: list, run_id: str, at: datetime) -> RunDelta:
        result = reconcile(invoices(), a, [])
        if path == "rows":
            return xs.record_run("invoices", run_id, result.rows, at)
        return xs._record_candidates("invoices", run_id, result.exceptions, at, None)

    a = [row("INV-1"), row("INV-2"), row("INV-3")]
    run(a, "r1", T0)
    ids = {v.key_text: v.id for v in xs.list("invoices", now=T0)}
    xs.transition(ids["inv-1"], Status.WONT_FIX, actor="ar", now=T0)

    def check(delta: RunDelta, run_id: str, at: datetime, **want: int) -> None:
        counts = {str(k): v for k, v in delta.counts.items()}
        assert {k: counts[k] for k in want} == want
        assert delta.wont_fix == [ids["inv-1"]]
        assert _logged(store, run_id) == counts  # the run log says the same
        report = report_from_store(xs, [("invoices", "Invoices")], title="t", now=at)
        # the report's open items are the run's open ones
        assert len(report.sections[0].items) == sum(counts[s] for s in OPEN_STATES)
        assert len(xs.list("invoices", statuses=ACTIVE, now=at)) == len(report.sections[0].items)

    t1 = T0 + timedelta(days=1)
    check(run(a, "r2", t1), "r2", t1, STILL_OPEN=2, CHANGED=0, WONT_FIX=1, SUPPRESSED=0)
    # its amount moves: still closed, not a CHANGED open item
    a[0] = row("INV-1", total="7.00")
    t2 = T0 + timedelta(days=2)
    check(run(a, "r3", t2), "r3", t2, STILL_OPEN=2, CHANGED=0, WONT_FIX=1)
    # a suppression covering the whole recon parks the open ones only
    xs.suppress(reason="timing", owner="ar", expires_at=T0 + timedelta(days=30), actor="ar",
                now=t2, recon="invoices", pattern={"key_prefix": "inv-"})  # fmt: skip
    t3 = T0 + timedelta(days=3)
    check(run(a, "r4", t3), "r4", t3, STILL_OPEN=2, WONT_FIX=1, SUPPRESSED=2)
    view = xs.get(ids["inv-1"], now=t3)
    assert view is not None and view.status == Status.WONT_FIX


CONFIG = """
reconciliations:
  - name: inv
    a: {label: left, path: left.csv}
    b: {label: right, path: right.csv}
    keys: [{name: number}]
    compare: [{name: total, kind: amount, abs: 0.005}]
    amount_field: total
"""


def test_the_run_line_and_exceptions_list_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    header = "number,total,issued,status\n"
    (tmp_path / "left.csv").write_text(header + "A,10,2024-01-01,p\nB,20,2024-01-01,p\n")
    (tmp_path / "right.csv").write_text(header + "A,11,2024-01-01,p\nB,21,2024-01-01,p\n")
    (tmp_path / "recon.yaml").write_text(CONFIG)
    monkeypatch.setattr(recon_cli, "now", lambda: T0)
    monkeypatch.setattr(exceptions_cli, "now", lambda: T0)
    monkeypatch.setenv("BILLBRIDGE_STATE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    runner = CliRunner()
    args = ["run", "inv", "--definitions", str(tmp_path / "recon.yaml")]
    assert "NEW 2" in runner.invoke(recon_cli.app, args).output
    listed = json.loads(runner.invoke(exceptions_cli.app, ["list", "--json"]).output)
    first = next(r["id"] for r in listed if r["keys"]["number"] == "A")
    res = runner.invoke(exceptions_cli.app, ["wont-fix", first, "--actor", "ar"])
    assert res.exit_code == 0, res.output
    line = " ".join(runner.invoke(recon_cli.app, args).output.split())  # as one line
    assert "STILL_OPEN 1," in line and "WONT_FIX 1" in line, line
    listed = json.loads(runner.invoke(exceptions_cli.app, ["list", "--json"]).output)
    assert len(listed) == 1
