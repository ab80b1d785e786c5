"""The plan of a cash-application job: approved applications of saved cash runs, as payment
write intents in a :class:`~sync.planner.Plan` (shown, saved and applied like any plan).

Approved means automatic and not rejected, or suggested and accepted by a person
(``match_decisions``). One bank line is one payment: when a line's payment is already in
the job's outbox under another proposal (it was re-matched differently after being
written or queued), the new proposal is not planned but listed in ``Plan.errors`` so AR
reverses the old payment first; a payment that failed for good (rejected, dead, skipped)
does not block a corrected proposal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from billbridge.state import Store
from billbridge.state.schema import OutboxIntentRow
from canonical import WriteIntent, WriteOp
from reconcile.cash.decisions import Decided, Decision, decisions_for
from reconcile.cash.intents import applications_to_intents
from reconcile.cash.model import LineResult, Status
from reconcile.cash.runs import latest_lines, load_runs
from sync import outbox
from sync.planner import Plan, PlannedChange
from sync.settings import SyncJobSettings

#: Version of the payment mapping (canonical Payment -> vendor body), stamped on intents.
CASH_MAPPING_VERSION = "cash-1"
_FINAL_FAILURES = (outbox.REJECTED, outbox.DEAD, outbox.SKIPPED)


def build_cash_plan(
    job: SyncJobSettings,
    store: Store,
    *,
    created_at: datetime,
    resumed: Sequence[WriteIntent] = (),
) -> Plan:
    """What the job would write now (intents already in the outbox are left out)."""
    assert job.cash is not None, "not a cash_application job"
    lines = [r for _run, r in latest_lines(load_runs(Path(job.cash.runs)))]
    ids = [r.proposal.proposal_id for r in lines if r.proposal is not None]
    decisions = decisions_for(store, ids)
    accepted = {p for p, d in decisions.items() if d.decision == Decision.ACCEPTED}
    rejected = {p for p, d in decisions.items() if d.decision == Decision.REJECTED}
    options = {"deposit_account": job.cash.deposit_account} if job.cash.deposit_account else {}
    intents = applications_to_intents(
        lines,
        target_system=job.target_kind,
        mapping_version=CASH_MAPPING_VERSION,
        accepted=accepted,
        rejected=rejected,
        op=WriteOp.UPSERT,
        payment_method=job.cash.payment_method_type if job.target_kind == "zuora" else None,
        target_options=options,
    )
    by_line = {r.line.line_id: r for r in lines}
    prior = _outbox_payments(store, job.name, [i.external_id for i in intents])
    changes: list[PlannedChange] = []
    errors: list[str] = []
    for intent in intents:
        earlier = prior.get(intent.external_id, [])
        if any(key == intent.idempotency_key for key, _ in earlier):
            continue  # planned before: in the outbox, finished or not
        live = [(k, st) for k, st in earlier if st not in _FINAL_FAILURES]
        if live:
            key, status = live[-1]
            errors.append(
                f"payment {intent.source_id}: the bank line's payment is already {status} "
                f"(intent {key[:12]}) with other applications; reverse it in "
                f"{job.target_kind} and skip that intent before the new proposal is written"
            )
            continue
        line = by_line[intent.source_id]
        changes.append(
            PlannedChange(
                entity="payment",
                source_system=intent.source_system,
                source_id=intent.source_id,
                source_version=intent.source_version,
                label=_label(line, decisions),
                events=(),
                intents=(intent,),
            )
        )
    return Plan(
        job=job.name,
        target_kind=job.target_kind,
        created_at=created_at,
        mapping_versions={"payment": CASH_MAPPING_VERSION},
        changes=tuple(changes),
        resumed=tuple(resumed),
        errors=tuple(errors),
    )


def _outbox_payments(
    store: Store, job: str, external_ids: Sequence[str]
) -> dict[str, list[tuple[str, str]]]:
    """external id -> [(key, status)] of this job's payment intents, oldest first."""
    out: dict[str, list[tuple[str, str]]] = {}
    t = OutboxIntentRow
    ids = sorted(set(external_ids))
    with store.session() as s:
        for start in range(0, len(ids), 500):
            stmt = (
                select(t.external_id, t.idempotency_key, t.status)
                .where(
                    t.job == job,
                    t.entity == "payment",
                    t.external_id.in_(ids[start : start + 500]),
                )
                .order_by(t.seq)
            )
            for ext, key, status in s.execute(stmt):
                out.setdefault(str(ext), []).append((str(key), str(status)))
    return out


def _label(r: LineResult, decisions: dict[str, Decided]) -> str:
    """What AR signs off: amount, payer, match rule and confidence, who approved it."""
    prop = r.proposal
    assert prop is not None
    amount = f"{r.line.amount.amount} {r.line.amount.currency}"
    payer = r.line.payer_name or prop.customer_id
    how = f"{prop.rule.value} {prop.confidence}"
    if prop.status == Status.AUTO:
        approval = "auto"
    else:
        d = decisions[prop.proposal_id]
        approval = f"suggested, accepted by {d.actor} {d.at:%Y-%m-%d}"
    return f"{amount} from {payer} (customer {prop.customer_id}; {how}; {approval})"
