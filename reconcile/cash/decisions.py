"""Accepted and rejected suggestions, remembered in the ``match_decisions`` table.

A rejected proposal id is passed to :func:`reconcile.cash.engine.apply_cash` as
``rejected`` so the same suggestion never comes back; accepted ids let
:func:`reconcile.cash.intents.applications_to_intents` write suggested applications (and a
rejected automatic proposal is held back from writing). ``match_decisions`` keeps the
latest decision per proposal; every decision is also an append-only ``audit_events`` row
(actor, note, what was applied where), so a changed mind stays visible.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from billbridge.errors import ConfigError
from billbridge.state import Store
from billbridge.state.schema import AuditEventRow, MatchDecisionRow
from reconcile.cash.model import Proposal

RECON = "cash_application"


class Decision(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Decided:
    decision: Decision
    actor: str
    at: datetime


def _details(proposal: Proposal) -> dict[str, Any]:
    return {
        "line_id": proposal.line_id,
        "customer_id": proposal.customer_id,
        "rule": proposal.rule.value,
        "status": proposal.status.value,
        "confidence": str(proposal.confidence),
        "applications": [
            {"invoice_number": a.invoice_number, "amount": str(a.amount.amount)}
            for a in proposal.applications
        ],
    }


def record_decision(
    store: Store,
    proposal: Proposal,
    decision: Decision,
    actor: str,
    *,
    note: str | None = None,
    run_id: str | None = None,
    now: datetime | None = None,
) -> None:
    """Remember a person's decision on a proposal (the latest decision wins) and audit it."""
    if not actor.strip():
        raise ConfigError("a decision needs the actor who makes it")
    at = now or datetime.now(UTC)
    details = _details(proposal)
    with store.session() as s:
        row = s.get(MatchDecisionRow, proposal.proposal_id)
        if row is None:
            s.add(
                MatchDecisionRow(
                    proposal_id=proposal.proposal_id,
                    recon=RECON,
                    decision=decision.value,
                    details=details,
                    actor=actor,
                    at=at,
                )
            )
        else:
            row.decision = decision.value
            row.actor = actor
            row.details = details
            row.at = at
        s.add(
            AuditEventRow(
                at=at,
                actor=actor,
                action=f"cash.{decision.value}",
                subject_type="cash_proposal",
                subject_id=proposal.proposal_id,
                note=note or None,
                details=details | ({"run_id": run_id} if run_id else {}),
            )
        )


def decided(store: Store, decision: Decision) -> set[str]:
    """Proposal ids with the given decision for cash application."""
    with store.session() as s:
        rows = s.scalars(
            select(MatchDecisionRow.proposal_id).where(
                MatchDecisionRow.recon == RECON, MatchDecisionRow.decision == decision.value
            )
        )
        return set(rows)


def decisions_for(store: Store, proposal_ids: Iterable[str]) -> dict[str, Decided]:
    """The current decision on each of these proposals that has one."""
    ids = list(proposal_ids)
    out: dict[str, Decided] = {}
    t = MatchDecisionRow
    with store.session() as s:
        for start in range(0, len(ids), 500):
            stmt = select(t.proposal_id, t.decision, t.actor, t.at).where(
                t.recon == RECON, t.proposal_id.in_(ids[start : start + 500])
            )
            for pid, dec, actor, at in s.execute(stmt):
                out[str(pid)] = Decided(Decision(dec), str(actor), at)
    return out
