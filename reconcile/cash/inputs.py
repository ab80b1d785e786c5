"""From canonical records to cash-application inputs.

Bank credits become :class:`CashLine`; a separately delivered remittance (EDI 820, REMADV,
camt structured remittance) is linked to its credit by trace number, else by amount,
payer and a date window, and contributes its document numbers as strong references.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from canonical import BankTransaction, Customer, Invoice, InvoiceStatus, Money, Remittance
from reconcile.cash.model import CashLine, CustomerRef, OpenItem
from reconcile.cash.normalize import normalize_account, normalize_name

_CLOSED = {InvoiceStatus.DRAFT, InvoiceStatus.PAID, InvoiceStatus.VOID}


def customers_from(customers: Iterable[Customer]) -> list[CustomerRef]:
    return [CustomerRef(c.source_id, c.name, tuple(c.bank_accounts)) for c in customers]


_DISCOUNT_TERMS = re.compile(r"(\d+(?:\.\d+)?)\s*%?\s*/\s*(\d+)")


def discount_terms(terms: str | None) -> tuple[Decimal, int] | None:
    """(percent, days) from terms such as ``2/10 NET 30`` or ``1.5%/15 N45``; else None."""
    found = _DISCOUNT_TERMS.search(terms or "")
    if not found:
        return None
    return Decimal(found.group(1)), int(found.group(2))


def open_items_from(invoices: Iterable[Invoice]) -> list[OpenItem]:
    """Posted invoices with a positive open amount, with any early-payment discount."""
    items: list[OpenItem] = []
    for inv in invoices:
        if inv.status in _CLOSED or inv.open_amount.amount <= 0:
            continue
        discount, until = None, None
        terms = discount_terms(inv.payment_terms)
        if terms is not None:
            discount = (inv.total * (terms[0] / 100)).quantize()
            until = inv.issue_date + timedelta(days=terms[1])
        items.append(
            OpenItem(
                inv.number,
                inv.customer_id,
                inv.open_amount,
                inv.issue_date,
                inv.due_date,
                discount,
                until,
            )
        )
    return items


def _txn_date(txn: BankTransaction) -> date:
    found = txn.value_date or txn.booking_date or (txn.booked_at.date() if txn.booked_at else None)
    if found is None:
        raise ValueError(f"bank transaction {txn.source_id} has no date")
    return found


def _trace_keys(txn: BankTransaction) -> set[str]:
    refs = [txn.bank_reference, txn.customer_reference, txn.end_to_end_id, *txn.references]
    return {normalize_account(r) for r in refs if r}


def link_remittances(
    txns: list[BankTransaction], remittances: Iterable[Remittance], *, window_days: int = 3
) -> dict[str, Remittance]:
    """Bank transaction source id -> its remittance; only unambiguous links are made."""
    by_trace: dict[str, list[BankTransaction]] = {}
    for txn in txns:
        for key in _trace_keys(txn):
            by_trace.setdefault(key, []).append(txn)
    linked: dict[str, Remittance] = {}
    for rem in sorted(remittances, key=lambda r: r.source_id):
        key = normalize_account(rem.trace_number)
        candidates = by_trace.get(key, []) if key else []
        if len(candidates) != 1:
            candidates = [t for t in txns if _same_payment(t, rem, window_days)]
        if len(candidates) == 1 and candidates[0].source_id not in linked:
            linked[candidates[0].source_id] = rem
    return linked


#: set on a remittance that details one part of a split bank entry (a camt.054 TxDtls of a
#: batch booking): the whole entry's source id and its bank reference (AcctSvcrRef)
SPLIT_OF = "split_of"
SPLIT_BANK_REFERENCE = "split_bank_reference"


def link_remittance_groups(
    txns: list[BankTransaction], remittances: Iterable[Remittance], *, window_days: int = 3
) -> dict[str, tuple[Remittance, ...]]:
    """Bank transaction source id -> its remittances. The remittances of the parts of one
    split entry (same ``split_of``) go together to the credit they split: the one whose
    source id is their ``split_of``, else the only credit with their bank reference, when
    their totals add up to its amount. Every other remittance is linked one to one by
    :func:`link_remittances`."""
    rems = list(remittances)
    groups: dict[str, list[Remittance]] = {}
    for rem in rems:
        whole = rem.extra.get(SPLIT_OF)
        if isinstance(whole, str) and whole:
            groups.setdefault(whole, []).append(rem)
    linked: dict[str, tuple[Remittance, ...]] = {}
    for whole, parts in sorted(groups.items()):
        credit = _split_credit(txns, whole, parts)
        if credit is None or credit.source_id in linked:
            continue
        linked[credit.source_id] = tuple(sorted(parts, key=lambda r: r.source_id))
    used = {id(r) for group in linked.values() for r in group}
    rest = [t for t in txns if t.source_id not in linked]
    for sid, rem in link_remittances(
        rest, [r for r in rems if id(r) not in used], window_days=window_days
    ).items():
        linked[sid] = (rem,)
    return linked


def _split_credit(
    txns: list[BankTransaction], whole: str, parts: list[Remittance]
) -> BankTransaction | None:
    """The credit the parts of one split detail, if their totals add up to it."""
    found = [t for t in txns if t.source_id == whole]
    if not found:
        refs = {normalize_account(str(r.extra.get(SPLIT_BANK_REFERENCE) or "")) for r in parts}
        ref = refs.pop() if len(refs) == 1 else ""
        found = [t for t in txns if ref and normalize_account(t.bank_reference or "") == ref]
    if len(found) != 1:
        return None
    credit = found[0]
    currency = credit.amount.currency
    if any(r.total.currency != currency for r in parts):
        return None
    if sum((r.total for r in parts), Money.zero(currency)) != credit.amount:
        return None
    return credit


def _same_payment(txn: BankTransaction, rem: Remittance, window_days: int) -> bool:
    if txn.amount != rem.total:
        return False
    if rem.payment_date and abs(_txn_date(txn) - rem.payment_date) > timedelta(window_days):
        return False
    if rem.payer_name and txn.counterparty_name:
        return normalize_name(rem.payer_name) == normalize_name(txn.counterparty_name)
    return True


@dataclass(frozen=True)
class BankLines:
    #: Booked credits: what is matched.
    receipts: list[CashLine]
    #: Everything else in the bank files (debits, returns, zero and not-booked entries),
    #: as the CSV command reports them: not matched, listed as NOT_A_RECEIPT.
    not_receipts: list[CashLine]


def lines_from(
    txns: Iterable[BankTransaction], remittances: Iterable[Remittance] = ()
) -> list[CashLine]:
    """Cash lines for the booked credits (debits and reversals are not receipts); a credit
    that a return in ``txns`` takes back carries ``returned_by``."""
    return bank_lines(txns, remittances).receipts


def bank_lines(
    txns: Iterable[BankTransaction],
    remittances: Iterable[Remittance] = (),
    *,
    return_window_days: int = 5,
) -> BankLines:
    """The receipts and the other entries of bank files; see :func:`returned_credits`."""
    every = list(txns)
    credits = [t for t in every if _is_receipt(t)]
    returned = returned_credits(credits, [t for t in every if not _is_receipt(t)],
                                window_days=return_window_days)  # fmt: skip
    lines = _receipt_lines(credits, remittances, returned)
    others = [
        CashLine(
            line_id=t.source_id,
            date=_txn_date(t),
            amount=Money(t.amount.amount, t.amount.currency),
            payer_name=t.counterparty_name,
            payer_account=t.counterparty_account,
            text=_text(t),
        )
        for t in every
        if not _is_receipt(t)
    ]
    return BankLines(lines, others)


def _is_receipt(t: BankTransaction) -> bool:
    return t.amount.amount > 0 and not t.reversal and t.status == "booked"


#: what banks write when there is no reference (MT940 NONREF, SEPA NOTPROVIDED)
_NO_REFERENCE = frozenset({"NONREF", "NOTPROVIDED", "NOREF", "NONE"})
_TOKENS = re.compile(r"[\s/;,+]+")


def _payment_keys(t: BankTransaction) -> set[str]:
    """How a return may quote a credit: its end-to-end id, bank or customer reference
    (not its invoice numbers: another payment may name the same invoice)."""
    keys = (normalize_account(r) for r in (t.end_to_end_id, t.bank_reference, t.customer_reference))
    return {k for k in keys if len(k) >= 3 and k not in _NO_REFERENCE}


def _quoted(t: BankTransaction) -> set[str]:
    """What a return quotes: its own end-to-end id (a SEPA return keeps the original's),
    customer reference, structured references and the words of its text."""
    words = _TOKENS.split(t.remittance_text or "")
    parts = (t.end_to_end_id, t.customer_reference, *t.references, *words)
    return {normalize_account(p) for p in parts if p}


def _same_party(a: BankTransaction, b: BankTransaction) -> bool:
    if a.counterparty_account and b.counterparty_account:
        return normalize_account(a.counterparty_account) == normalize_account(
            b.counterparty_account
        )
    if a.counterparty_name and b.counterparty_name:
        return normalize_name(a.counterparty_name) == normalize_name(b.counterparty_name)
    return False


def returned_credits(
    credits: list[BankTransaction], others: Iterable[BankTransaction], *, window_days: int = 5
) -> dict[str, BankTransaction]:
    """Credit source id -> the booked debit that takes it back: one of the same amount and
    currency, on or after the credit, that quotes its end-to-end id or bank/customer
    reference; or, for a debit the bank marks as a return (``reversal``), from the same
    counterparty within ``window_days``. Only a return that points at exactly one credit
    holds it (a run cannot tell which of two it reverses, so it holds neither)."""
    found: dict[str, BankTransaction] = {}
    # credits by (currency, amount), each with its date once: a debit looks at its own
    # group only (a scan of every credit per debit is quadratic on a 100k-line day)
    by_amount: dict[tuple[str, Decimal], list[tuple[BankTransaction, date]]] = {}
    for c in credits:
        by_amount.setdefault((c.amount.currency, c.amount.amount), []).append((c, _txn_date(c)))
    for ret in sorted(others, key=lambda t: t.source_id):
        if ret.amount.amount >= 0 or ret.status != "booked":
            continue
        day = _txn_date(ret)
        same = [
            c
            for c, on in by_amount.get((ret.amount.currency, -ret.amount.amount), ())
            if on <= day and c.source_id not in found
        ]
        quoted = _quoted(ret)
        hits = [c for c in same if _payment_keys(c) & quoted]
        if not hits and ret.reversal:
            latest = _txn_date(ret) - timedelta(days=window_days)
            hits = [c for c in same if _txn_date(c) >= latest and _same_party(c, ret)]
        if len(hits) == 1:
            found[hits[0].source_id] = ret
    return found


def _text(txn: BankTransaction) -> str:
    return " ".join(
        p
        for p in (txn.customer_reference, txn.end_to_end_id, txn.remittance_text, *txn.references)
        if p
    )


def _receipt_lines(
    credits: list[BankTransaction],
    remittances: Iterable[Remittance],
    returned: dict[str, BankTransaction],
) -> list[CashLine]:
    linked = link_remittance_groups(credits, remittances)
    lines: list[CashLine] = []
    for txn in credits:
        rems = linked.get(txn.source_id, ())
        text = _text(txn)
        currency = txn.amount.currency
        items = [ln for rem in rems for ln in rem.lines]
        docs = tuple(ln.document_number for ln in items if ln.document_number)
        paid = tuple(
            (ln.document_number, ln.paid.amount)
            for ln in items
            if ln.document_number and ln.paid.currency == currency
        )
        discounts = tuple(
            (ln.document_number, ln.discount.amount)
            for ln in items
            if ln.document_number
            and ln.discount is not None
            and ln.discount.amount > 0
            and ln.discount.currency == currency
        )
        adjustments = [
            *(a for rem in rems for a in rem.adjustments),
            *(a for ln in items for a in ln.adjustments),
        ]
        reason = next((a.reason_code for a in adjustments if a.reason_code), None)
        # a split's parts name one payer each: the credit has one payer only if they agree
        payers = {normalize_name(r.payer_name) for r in rems if r.payer_name}
        accounts = {normalize_account(r.payer_account) for r in rems if r.payer_account}
        payer_name = next((r.payer_name for r in rems if r.payer_name), None)
        payer_account = next((r.payer_account for r in rems if r.payer_account), None)
        if len(rems) > 1 and (len(payers) > 1 or len(accounts) > 1):
            payer_name = payer_account = None
        lines.append(
            CashLine(
                line_id=txn.source_id,
                date=_txn_date(txn),
                amount=Money(txn.amount.amount, txn.amount.currency),
                payer_name=txn.counterparty_name or payer_name,
                payer_account=txn.counterparty_account or payer_account,
                text=text,
                doc_refs=docs,
                deduction_reason=reason,
                doc_amounts=paid,
                doc_discounts=discounts,
                returned_by=ret.source_id if (ret := returned.get(txn.source_id)) else None,
            )
        )
    return lines
