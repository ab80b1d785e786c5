"""Real bank files (parsed by the feed parsers) through cash application."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from canonical import Money
from reconcile.cash import CashLine, CustomerRef, OpenItem, Rule, Status, apply_cash
from reconcile.cash.inputs import lines_from

pytestmark = pytest.mark.shared


def _lines(path: Path) -> list[CashLine]:
    from connectors.feeds.registry import parse_bytes

    result = parse_bytes(path.read_bytes(), file_name=path.name)
    return lines_from(result.transactions, result.remittances)


def test_lockbox_check_applies_to_the_remitted_invoice(shared_dir: Path) -> None:
    lines = _lines(shared_dir / "samples" / "lockbox" / "FundersClub__test_lockbox.bai")
    assert len(lines) == 1 and lines[0].doc_refs == ("CE554",)
    items = [
        OpenItem("CE554", "C-BOB", Money("7000.00", "USD"), date(2016, 5, 1)),
        OpenItem("CE555", "C-BOB", Money("7000.00", "USD"), date(2016, 5, 2)),
    ]
    r = apply_cash(lines, items, [CustomerRef("C-BOB", "Bob E. Smith")]).lines[0]
    assert r.proposal is not None and r.proposal.rule == Rule.REFERENCE
    assert [a.invoice_number for a in r.proposal.applications] == ["CE554"]
    assert r.proposal.status == Status.AUTO and r.proposal.flags.party_match


def test_camt053_structured_reference_applies(shared_dir: Path) -> None:
    lines = _lines(shared_dir / "samples" / "camt" / "genkgo_camt__camt053.v8.xml")
    items = [OpenItem("4654654654654654", "C-N", Money("8.85", "EUR"), date(2016, 1, 1))]
    r = apply_cash(lines, items, [CustomerRef("C-N", "Somebody Else BV")]).lines[0]
    assert r.proposal is not None
    assert [a.invoice_number for a in r.proposal.applications] == ["4654654654654654"]
    assert r.customer_id == "C-N" and r.exceptions == ()
