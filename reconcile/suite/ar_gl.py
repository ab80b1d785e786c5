"""AR sub-ledger vs GL control account: balances, roll-forward, and drill-down.

Balance level, per AR account + subsidiary + currency + period:
  opening + invoices − payments ± credit memos and write-offs = closing (roll-forward),
  the roll-forward closing vs the sub-ledger's open items at period end, and
  the sub-ledger closing vs the GL balance of the control account (0.00 tolerance plus a
  per-currency rounding allowance, 0.01 by default).
Transaction level: manual journal entries on the control account with no sub-ledger
document, sub-ledger documents never posted to the GL, documents posted in another period
(cut-off), and documents posted with a different amount.

Sign convention everywhere: the effect on the AR balance (debit positive), so invoices
and refunds (cash paid back to the customer, debiting AR) are positive and payments,
credit memos and write-offs negative.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from canonical import (
    CreditMemo,
    Invoice,
    InvoiceStatus,
    JournalLine,
    Money,
    Payment,
    PaymentStatus,
    Refund,
)
from reconcile.suite.aging import ArItem, is_closed_memo, items_from
from reconcile.suite.common import Finding, candidates, period_of, previous_period

RECON = "ar_subledger_gl"


class ActivityKind(StrEnum):
    INVOICE = "invoice"
    PAYMENT = "payment"
    CREDIT_MEMO = "credit_memo"
    WRITE_OFF = "write_off"
    #: cash paid back to the customer (a refunded credit memo or overpayment): raises AR
    REFUND = "refund"


@dataclass(frozen=True, slots=True)
class ArActivity:
    """One sub-ledger transaction and its signed effect on AR in its posting period."""

    document: str
    kind: ActivityKind
    period: str
    account: str
    amount: Money
    subsidiary: str | None = None
    customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class ArOpenItem:
    """The sub-ledger's open items at the end of ``period`` (the aging snapshot)."""

    document: str
    period: str
    account: str
    amount: Money
    subsidiary: str | None = None
    customer_id: str | None = None


Key = tuple[str, str, str]  # account, subsidiary ('' when none), currency


@dataclass(frozen=True)
class ArGlPolicy:
    control_accounts: frozenset[str]
    #: Rounding allowance per currency; ``default_rounding`` for the others.
    rounding: Mapping[str, Decimal] = field(default_factory=dict)
    default_rounding: Decimal = Decimal("0.01")

    def allowed(self, currency: str) -> Decimal:
        return self.rounding.get(currency, self.default_rounding)


@dataclass(frozen=True)
class RollForwardRow:
    account: str
    subsidiary: str
    currency: str
    period: str
    opening: Decimal
    invoices: Decimal
    payments: Decimal  # as a positive number
    credits: Decimal  # signed (negative)
    write_offs: Decimal  # signed (negative)
    subledger_closing: Decimal | None
    gl_closing: Decimal
    refunds: Decimal = Decimal(0)  # signed (positive: they raise AR)

    @property
    def closing(self) -> Decimal:
        return (
            self.opening
            + self.invoices
            - self.payments
            + self.credits
            + self.write_offs
            + self.refunds
        )


@dataclass(frozen=True)
class ArGlResult:
    rows: tuple[RollForwardRow, ...]
    findings: tuple[Finding, ...]

    def to_exception_candidates(self) -> list[dict[str, object]]:
        return candidates(self.findings)


def _key(account: str, subsidiary: str | None, currency: str) -> Key:
    return (account, subsidiary or "", currency)


def _keys(key: Key, period: str) -> dict[str, str]:
    return {"account": key[0], "subsidiary": key[1], "currency": key[2], "period": period}


def reconcile_ar_gl(
    activity: Iterable[ArActivity],
    open_items: Iterable[ArOpenItem],
    gl: Iterable[JournalLine],
    periods: list[str],
    policy: ArGlPolicy,
) -> ArGlResult:
    """Roll-forward and tie-out for ``periods`` (YYYY-MM), plus transaction drill-down."""
    acts = list(activity)
    control = [ln for ln in gl if ln.account in policy.control_accounts]
    moves: dict[tuple[Key, str, ActivityKind], Decimal] = defaultdict(Decimal)
    for a in acts:
        moves[(_key(a.account, a.subsidiary, a.amount.currency), a.period, a.kind)] += (
            a.amount.amount
        )
    snapshot: dict[tuple[Key, str], Decimal] = defaultdict(Decimal)
    for item in open_items:
        snapshot[(_key(item.account, item.subsidiary, item.amount.currency), item.period)] += (
            item.amount.amount
        )
    gl_moves: dict[tuple[Key, str], Decimal] = defaultdict(Decimal)
    for ln in control:
        gl_moves[(_key(ln.account, ln.subsidiary, ln.currency), ln.period)] += ln.amount.amount
    keys = sorted({k for k, _, _ in moves} | {k for k, _ in snapshot} | {k for k, _ in gl_moves})
    ordered = sorted(periods)
    rows: list[RollForwardRow] = []
    findings: list[Finding] = []
    for key in keys:
        gl_balance = sum(
            (v for (k, p), v in gl_moves.items() if k == key and p < ordered[0]), Decimal(0)
        )
        opening = snapshot.get((key, _previous(ordered[0], snapshot, key)), Decimal(0))
        for period in ordered:
            gl_balance += gl_moves.get((key, period), Decimal(0))
            row = RollForwardRow(
                *key,
                period,
                opening,
                moves.get((key, period, ActivityKind.INVOICE), Decimal(0)),
                -moves.get((key, period, ActivityKind.PAYMENT), Decimal(0)),
                moves.get((key, period, ActivityKind.CREDIT_MEMO), Decimal(0)),
                moves.get((key, period, ActivityKind.WRITE_OFF), Decimal(0)),
                snapshot.get((key, period)) if (key, period) in snapshot else None,
                gl_balance,
                moves.get((key, period, ActivityKind.REFUND), Decimal(0)),
            )
            rows.append(row)
            findings.extend(_balance_findings(key, row, policy))
            opening = row.subledger_closing if row.subledger_closing is not None else row.closing
    findings.extend(_drill_down(acts, control, set(ordered)))
    return ArGlResult(tuple(rows), tuple(findings))


def _previous(first: str, snapshot: Mapping[tuple[Key, str], Decimal], key: Key) -> str:
    earlier = [p for (k, p) in snapshot if k == key and p < first]
    return max(earlier) if earlier else ""


def _balance_findings(key: Key, row: RollForwardRow, policy: ArGlPolicy) -> list[Finding]:
    allowed = policy.allowed(key[2])
    out: list[Finding] = []
    sub = row.subledger_closing if row.subledger_closing is not None else row.closing
    if row.subledger_closing is not None and abs(row.closing - sub) > allowed:
        out.append(
            Finding(
                RECON,
                "ROLLFORWARD_BREAK",
                _keys(key, row.period),
                sub - row.closing,
                key[2],
                {"rollforward_closing": str(row.closing), "subledger_closing": str(sub)},
            )
        )
    if abs(sub - row.gl_closing) > allowed:
        out.append(
            Finding(
                RECON,
                "AMOUNT_MISMATCH",
                _keys(key, row.period),
                row.gl_closing - sub,
                key[2],
                {"subledger": str(sub), "gl": str(row.gl_closing)},
            )
        )
    return out


def _sign(amount: Decimal) -> int:
    return (amount > 0) - (amount < 0)


DocKey = tuple[ActivityKind, str]  # kind, document number


def _doc_keys(doc: DocKey) -> dict[str, str]:
    return {"document": doc[1], "kind": doc[0].value}


def _drill_down(
    acts: list[ArActivity], control: list[JournalLine], periods: set[str]
) -> list[Finding]:
    """Each sub-ledger document against the control-account lines naming it.

    Documents are keyed by kind and number: an ERP may number each type apart (NetSuite
    invoice 1001 and payment 1001). A GL line names only the number, so when several kinds
    share it the line goes to the one whose sub-ledger effect has the line's sign (an
    invoice debits AR, a payment credits it); a line that still fits more than one, or
    none, is ``AMBIGUOUS_DOCUMENT`` and no document sharing that number is checked
    further, rather than merging different documents into one.
    """
    docs: dict[DocKey, list[ArActivity]] = defaultdict(list)
    kinds: dict[str, set[ActivityKind]] = defaultdict(set)
    for a in acts:
        docs[(a.kind, a.document)].append(a)
        kinds[a.document].add(a.kind)
    posted: dict[DocKey, list[JournalLine]] = defaultdict(list)
    ambiguous: set[str] = set()
    out: list[Finding] = []
    for ln in control:
        number = ln.source_document
        if not number or number not in kinds:
            if ln.period in periods:
                out.append(
                    Finding(
                        RECON,
                        "MANUAL_JE",
                        {"journal_id": ln.journal_id, "line": str(ln.line_number)},
                        ln.amount.amount,
                        ln.currency,
                        {"account": ln.account, "period": ln.period, "memo": ln.memo},
                    )
                )
            continue
        fits = sorted(kinds[number])
        if len(fits) > 1:
            fits = [
                k
                for k in fits
                if _sign(sum((a.amount.amount for a in docs[(k, number)]), Decimal(0)))
                == _sign(ln.amount.amount)
            ]
        if len(fits) == 1:
            posted[(fits[0], number)].append(ln)
            continue
        ambiguous.add(number)
        if ln.period in periods:
            out.append(
                Finding(
                    RECON,
                    "AMBIGUOUS_DOCUMENT",
                    {"journal_id": ln.journal_id, "line": str(ln.line_number)},
                    ln.amount.amount,
                    ln.currency,
                    {
                        "document": number,
                        "kinds": [k.value for k in sorted(kinds[number])],
                        "account": ln.account,
                        "period": ln.period,
                    },
                )
            )
    for key, entries in sorted(docs.items()):
        if key[1] in ambiguous or not any(e.period in periods for e in entries):
            continue
        ccy = entries[0].amount.currency
        sub_amount = sum((e.amount.amount for e in entries), Decimal(0))
        lines = posted.get(key, [])
        keys = _doc_keys(key)
        if not lines:
            out.append(
                Finding(RECON, "UNPOSTED", keys, sub_amount, ccy, {"period": entries[0].period})
            )
            continue
        sub_periods = sorted({e.period for e in entries})
        gl_periods = sorted({ln.period for ln in lines})
        if sub_periods != gl_periods:
            out.append(
                Finding(
                    RECON,
                    "PERIOD_CUTOFF",
                    keys,
                    sub_amount,
                    ccy,
                    {"subledger_periods": sub_periods, "gl_periods": gl_periods},
                )
            )
        other = sorted({ln.amount.currency for ln in lines} - {ccy})
        if other:
            # posted in another currency (the subsidiary's base currency): amounts in two
            # currencies are never subtracted, so say so instead of an amount difference
            gl_by_ccy: dict[str, Decimal] = defaultdict(Decimal)
            for ln in lines:
                gl_by_ccy[ln.amount.currency] += ln.amount.amount
            out.append(
                Finding(
                    RECON,
                    "CURRENCY_MISMATCH",
                    keys,
                    sub_amount,
                    ccy,
                    {
                        "subledger": f"{sub_amount} {ccy}",
                        "gl": [f"{v} {c}" for c, v in sorted(gl_by_ccy.items())],
                    },
                )
            )
            continue
        gl_amount = sum((ln.amount.amount for ln in lines), Decimal(0))
        if gl_amount != sub_amount:
            out.append(
                Finding(
                    RECON,
                    "AMOUNT_MISMATCH",
                    keys,
                    gl_amount - sub_amount,
                    ccy,
                    {"subledger": str(sub_amount), "gl": str(gl_amount)},
                )
            )
    return out


def activity_from(
    *,
    account: str,
    invoices: Iterable[Invoice] = (),
    payments: Iterable[Payment] = (),
    credit_memos: Iterable[CreditMemo] = (),
    subsidiary: str | None = None,
    refunds: Iterable[Refund] = (),
) -> list[ArActivity]:
    """Sub-ledger activity from canonical records, each in the period of its own date.

    Invoices raise AR by their total, and so do refunds (the cash paid back debits AR,
    clearing the credit memo or overpayment it refunds); payments (applied or on account)
    and credit memos lower it. Void and draft invoices and draft, voided or cancelled
    credit memos never reached the ledger (or were reversed in it) and are skipped, as the
    aging skips them.
    """
    out = [
        ArActivity(
            i.number,
            ActivityKind.INVOICE,
            period_of(i.issue_date),
            account,
            i.total,
            subsidiary,
            i.customer_id,
        )
        for i in invoices
        if i.status not in {InvoiceStatus.DRAFT, InvoiceStatus.VOID}
    ]
    out += [
        ArActivity(
            p.number,
            ActivityKind.PAYMENT,
            period_of(p.received_date),
            account,
            -p.amount,
            subsidiary,
            p.customer_id,
        )
        for p in payments
        if p.status != PaymentStatus.VOID
    ]
    out += [
        ArActivity(
            c.number,
            ActivityKind.CREDIT_MEMO,
            period_of(c.issue_date),
            account,
            -abs(c.total),
            subsidiary,
            c.customer_id,
        )
        for c in credit_memos
        if not is_closed_memo(c)
    ]
    out += [
        ArActivity(
            r.number,
            ActivityKind.REFUND,
            period_of(r.refund_date),
            account,
            abs(r.amount),
            subsidiary,
            r.customer_id,
        )
        for r in refunds
    ]
    return out


def snapshot_from(
    items: Iterable[ArItem], *, period: str, account: str, subsidiary: str | None = None
) -> list[ArOpenItem]:
    """An aging snapshot (see :mod:`reconcile.suite.aging`) as the sub-ledger closing."""
    return [
        ArOpenItem(i.document, period, account, i.open_amount, subsidiary, i.customer_id)
        for i in items
    ]


def reconcile_ar_gl_records(
    *,
    invoices: Iterable[Invoice],
    gl: Iterable[JournalLine],
    as_of: date,
    policy: ArGlPolicy,
    account: str,
    payments: Iterable[Payment] = (),
    credit_memos: Iterable[CreditMemo] = (),
    subsidiary: str | None = None,
    months: int | None = None,
    refunds: Iterable[Refund] = (),
) -> ArGlResult:
    """Sub-ledger vs GL from canonical exports, as of ``as_of`` (what a configured run does).

    The sub-ledger posts every document to ``account``. The only open-item snapshot the
    exports give is today's: the invoices' and credit memos' open amounts and the payments'
    unapplied cash (the GL credits AR with the whole payment) less what was refunded from it
    (a refund naming the payment), closing the period of ``as_of``. A refunded credit
    memo's balance already shows the refund. Earlier periods roll forward from the activity
    before them, so both sides are balances over the same history. Periods: the ``months``
    ending with the ``as_of`` month, else every month up to it with activity on either side
    (plus the ``as_of`` month).

    ``subsidiary``: only the control-account lines of that subsidiary, and the sub-ledger
    labelled with it; without it the lines of all subsidiaries are one balance, since
    billing exports do not name the subsidiary.
    """
    current = period_of(as_of)
    invoices, payments, credit_memos = list(invoices), list(payments), list(credit_memos)
    refunds = list(refunds)
    acts = activity_from(
        account=account,
        invoices=invoices,
        payments=payments,
        credit_memos=credit_memos,
        subsidiary=subsidiary,
        refunds=refunds,
    )
    lines = [
        ln if subsidiary is not None else ln.model_copy(update={"subsidiary": None})
        for ln in gl
        if ln.account in policy.control_accounts
        and (subsidiary is None or ln.subsidiary == subsidiary)
    ]
    if months is not None:
        periods = [current]
        while len(periods) < months:
            periods.append(previous_period(periods[-1]))
    else:
        seen = {a.period for a in acts} | {ln.period for ln in lines} | {current}
        periods = [p for p in seen if p <= current]
    periods.sort()
    # a document dated after the as-of month is not yet in its balance, on either side
    items = items_from(
        [i for i in invoices if period_of(i.issue_date) <= current],
        [c for c in credit_memos if period_of(c.issue_date) <= current],
    )
    # a payment's applications name invoices only: cash refunded from it is no longer
    # unapplied (its refund debited AR back)
    refunded: dict[str, Decimal] = defaultdict(Decimal)
    for r in refunds:
        if r.source_payment and period_of(r.refund_date) <= current:
            refunded[r.source_payment] += abs(r.amount.amount)
    for p in payments:
        open_cash = p.unapplied_amount.amount - refunded.get(p.number, Decimal(0))
        if p.status != PaymentStatus.VOID and period_of(p.received_date) <= current and open_cash:
            cash = Money(-open_cash, p.currency)
            items.append(ArItem(p.number, p.customer_id or "", cash, p.received_date))
    snapshot = snapshot_from(items, period=current, account=account, subsidiary=subsidiary)
    return reconcile_ar_gl(acts, [*_opening(acts, periods[0]), *snapshot], lines, periods, policy)


def _opening(acts: Iterable[ArActivity], first: str) -> list[ArOpenItem]:
    """The sub-ledger balance before ``first``: all earlier activity, as a snapshot of the
    period before it (the calculator opens from the latest snapshot before its periods)."""
    before: dict[Key, Decimal] = defaultdict(Decimal)
    for a in acts:
        if a.period < first:
            before[_key(a.account, a.subsidiary, a.amount.currency)] += a.amount.amount
    return [
        ArOpenItem(
            "(opening balance)", previous_period(first), acct, Money(amount, ccy), sub or None
        )
        for (acct, sub, ccy), amount in sorted(before.items())
    ]
