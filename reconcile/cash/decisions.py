"""Accepted and rejected suggestions, remembered in the ``match_decisions`` table.

A rejected proposal id is passed to :func:`reconcile.cash.engine.apply_cash` as
``rejected`` so the same suggestion never comes back; accepted ids let
:func:`reconcile.cash.intents.applications_to_intents` write suggested applications.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import select

from billbridge.state import Store
from billbridge.state.schema import MatchDecisionRow
from reconcile.cash.model import Proposal

RECON = "cash_application"


class Decision(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


def record_decision(store: Store, proposal: Proposal, decision: Decision, actor: str) -> None:
    """Remember a person's decision on a proposal (the latest decision wins)."""
    details = {
        "line_id": proposal.line_id,
        "customer_id": proposal.customer_id,
        "rule": proposal.rule.value,
        "applications": [
            {"invoice_number": a.invoice_number, "amount": str(a.amount.amount)}
            for a in proposal.applications
        ],
    }
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
                )
            )
        else:
            row.decision = decision.value
            row.actor = actor
            row.details = details


def decided(store: Store, decision: Decision) -> set[str]:
    """Proposal ids with the given decision for cash application."""
    with store.session() as s:
        rows = s.scalars(
            select(MatchDecisionRow.proposal_id).where(
                MatchDecisionRow.recon == RECON, MatchDecisionRow.decision == decision.value
            )
        )
        return set(rows)
