"""Saved cash runs (cash_run.json), decisions with their audit, and the intents they allow."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from billbridge.errors import ConfigError, ParseError
from billbridge.state import Store
from billbridge.state.schema import AuditEventRow, MatchDecisionRow
from reconcile.cash import Status, applications_to_intents
from reconcile.cash.decisions import Decision, decided, decisions_for, record_decision
from reconcile.cash.intents import approved, payment_external_id
from reconcile.cash.runs import find_proposal, latest_lines, load_run, load_runs, save_run

from .test_batch import run


def test_a_saved_run_reads_back_exactly(tmp_path: Path) -> None:
    result = run()
    saved = save_run(result, tmp_path / "r1", created_at=datetime(2024, 3, 15, tzinfo=UTC))
    back = load_run(tmp_path / "r1")
    assert back.run_id == saved.run_id and back.rule_version == result.rule_version
    assert back.lines == result.lines  # every field, proposal ids included
    b03 = next(r for r in back.lines if r.line.line_id == "B03")
    assert b03.proposal is not None and b03.proposal.applications[0].deduction is not None


def test_an_edited_application_cannot_keep_its_proposal_id(tmp_path: Path) -> None:
    save_run(run(), tmp_path)
    path = tmp_path / "cash_run.json"
    doc = json.loads(path.read_text())
    doc["lines"][0]["proposal"]["applications"][0]["amount"]["amount"] = "1.00"
    path.write_text(json.dumps(doc))
    with pytest.raises(ParseError, match=r"lines\[0\]\.proposal\.proposal_id: does not match"):
        load_run(tmp_path)


def test_a_broken_file_names_the_field(tmp_path: Path) -> None:
    save_run(run(), tmp_path)
    path = tmp_path / "cash_run.json"
    doc = json.loads(path.read_text())
    del doc["lines"][2]["line"]["date"]
    path.write_text(json.dumps(doc))
    with pytest.raises(ParseError, match=r"cash_run.json.*\$\.lines\[2\]\.line\.date: is missing"):
        load_run(tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_runs(tmp_path / "nope")


def test_the_newest_run_wins_per_bank_line(tmp_path: Path) -> None:
    result = run()
    old = save_run(result, tmp_path / "a", created_at=datetime(2024, 3, 15, tzinfo=UTC))
    new = save_run(result, tmp_path / "b", created_at=datetime(2024, 3, 16, tzinfo=UTC))
    runs = load_runs(tmp_path)
    assert [r.run_id for r in runs] == [old.run_id, new.run_id]
    lines = latest_lines(runs)
    assert [r.line.line_id for _, r in lines] == [f"B0{i}" for i in range(1, 10)]
    assert {run.run_id for run, _ in lines} == {new.run_id}


def test_find_proposal_by_prefix(tmp_path: Path) -> None:
    save_run(run(), tmp_path)
    runs = load_runs(tmp_path)
    prop = runs[0].proposals()[0]
    assert find_proposal(runs, prop.proposal_id[:10])[1] == prop
    with pytest.raises(ConfigError, match="too short"):
        find_proposal(runs, "abc")
    with pytest.raises(ConfigError, match="no proposal"):
        find_proposal(runs, "f" * 64)


def test_decisions_are_audited_and_a_rejected_auto_proposal_is_held_back(store: Store) -> None:
    result = run()
    auto = next(p for p in result.proposals(Status.AUTO) if p.line_id == "B01")
    suggestion = next(p for p in result.proposals(Status.SUGGESTED))
    record_decision(store, suggestion, Decision.ACCEPTED, "ar.clerk", note="checked remittance")
    record_decision(store, auto, Decision.REJECTED, "ar.lead", note="customer disputes")
    with pytest.raises(ConfigError, match="actor"):
        record_decision(store, auto, Decision.ACCEPTED, " ")
    accepted, rejected = decided(store, Decision.ACCEPTED), decided(store, Decision.REJECTED)
    lines = approved(result.lines, accepted, rejected)
    ids = [r.line.line_id for r in lines]
    assert "B05" in ids and "B01" not in ids
    intents = applications_to_intents(
        result.lines, target_system="zuora", accepted=accepted, rejected=rejected
    )
    assert [i.source_id for i in intents] == ["B02", "B03", "B04", "B05", "B06", "B07"]
    with store.session() as s:
        audit = list(s.scalars(select(AuditEventRow).order_by(AuditEventRow.id)))
        rows = {r.proposal_id: r.decision for r in s.scalars(select(MatchDecisionRow))}
    assert [(a.action, a.actor, a.subject_id, a.note) for a in audit] == [
        ("cash.accepted", "ar.clerk", suggestion.proposal_id, "checked remittance"),
        ("cash.rejected", "ar.lead", auto.proposal_id, "customer disputes"),
    ]
    assert audit[0].details is not None and audit[0].details["line_id"] == "B05"
    assert rows == {suggestion.proposal_id: "accepted", auto.proposal_id: "rejected"}
    got = decisions_for(store, [suggestion.proposal_id, "x" * 64])
    assert list(got) == [suggestion.proposal_id] and got[suggestion.proposal_id].actor == "ar.clerk"


def test_payment_memo_shows_deductions_and_remainder() -> None:
    intents = {i.source_id: i for i in applications_to_intents(run().lines, target_system="x")}
    b03 = intents["B03"].payload["extra"]["memo"]
    assert "deduction 10.00 USD on INV-2001 (SHORT_PAY_TOLERANCE)" in b03
    b07 = intents["B07"].payload["extra"]
    assert b07["unapplied"] == "100.00" and "100.00 USD unapplied (on account)" in b07["memo"]
    assert intents["B01"].payload["extra"]["unapplied"] == "0.00"


def test_external_ids_are_safe_for_both_targets() -> None:
    assert payment_external_id("B01") == "cash-B01"
    odd = payment_external_id("2024/03/15 #7")
    assert odd.startswith("cash-h") and len(odd) <= 60 and odd.replace("-", "").isalnum()
    assert payment_external_id("2024/03/15 #8") != odd
