"""Cash application: match bank receipts and remittances to open invoices.

Entry points: :func:`apply_cash` (the cascade), :func:`applications_to_intents` (approved
applications as Payment write intents), and the inputs/outputs in :mod:`.model`.
"""

from __future__ import annotations

from reconcile.cash.engine import apply_cash
from reconcile.cash.intents import applications_to_intents, approved
from reconcile.cash.model import (
    Application,
    CashException,
    CashLine,
    CashPolicy,
    Category,
    CustomerRef,
    Flags,
    LineResult,
    OpenItem,
    PartyRule,
    Proposal,
    Rule,
    Status,
)
from reconcile.cash.results import CashResult, MatchKpis, RateSplit

__all__ = [
    "Application",
    "CashException",
    "CashLine",
    "CashPolicy",
    "CashResult",
    "Category",
    "CustomerRef",
    "Flags",
    "LineResult",
    "MatchKpis",
    "OpenItem",
    "PartyRule",
    "Proposal",
    "RateSplit",
    "Rule",
    "Status",
    "applications_to_intents",
    "apply_cash",
    "approved",
]
