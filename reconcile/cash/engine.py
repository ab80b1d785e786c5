"""The cash-application cascade: references, customer, unique amount, bounded subset-sum.

Lines are processed in (date, line id) order whatever order they arrive in, so results do
not depend on input order; a run-wide :class:`Remaining` keeps the open amount of every
invoice so no combination of payments applies more than is open.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

import pyarrow as pa
import structlog

from reconcile.cash.allocate import Remaining
from reconcile.cash.customers import CustomerIndex, Identification
from reconcile.cash.ledger import Item, OpenItemIndex, open_items_table
from reconcile.cash.model import (
    CashException,
    CashLine,
    CashPolicy,
    Category,
    CustomerRef,
    LineResult,
    OpenItem,
    PartyRule,
    Proposal,
    Rule,
    Status,
)
from reconcile.cash.normalize import References, ref_key, reference_tokens, strong_key
from reconcile.cash.results import CashResult
from reconcile.cash.tiers import Decision, amount_decision, reference_decision

log = structlog.get_logger(__name__)

#: exceptions that only say nothing was found (a more specific one replaces them)
_NOTHING_FITS = frozenset({Category.UNAPPLIED, Category.UNIDENTIFIED_INVOICE})
#: party confidence of a customer picked among tied candidates by the amount alone
_TIED_CONFIDENCE = Decimal("0.6")
_PARTY_CONFIDENCE = {
    PartyRule.ACCOUNT: Decimal("1"),
    PartyRule.ALIAS: Decimal("0.98"),
    PartyRule.NAME: Decimal("0.97"),
}


class _Clock:
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self.timings: dict[str, float] = {}

    def add(self, tier: str, started: float) -> float:
        now = self._now()
        self.timings[tier] = self.timings.get(tier, 0.0) + (now - started)
        return now


def apply_cash(
    lines: Sequence[CashLine],
    open_items: pa.Table | Iterable[OpenItem],
    customers: Iterable[CustomerRef],
    *,
    policy: CashPolicy | None = None,
    rejected: Collection[str] = frozenset(),
    aliases: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> CashResult:
    """Propose applications of ``lines`` to ``open_items``.

    ``rejected`` holds proposal ids a person rejected before (``match_decisions``); such a
    proposal is never returned again. ``aliases`` maps payer names learned from earlier
    accepted matches to customer ids. ``open_items`` is an Arrow table in
    :data:`~reconcile.cash.ledger.OPEN_ITEM_SCHEMA` or an iterable of :class:`OpenItem`.
    """
    policy = policy or CashPolicy()
    timer = _Clock(clock)
    t = clock()
    ordered = _validated(lines)
    table = open_items if isinstance(open_items, pa.Table) else open_items_table(open_items)
    cindex = CustomerIndex(customers, policy, aliases)
    index = OpenItemIndex(table)  # holds a DuckDB cursor: closed in the finally below
    duplicates = index.duplicates
    t = timer.add("load", t)
    try:
        idents = [cindex.exact(ln.payer_account, ln.payer_name) for ln in ordered]
        t = timer.add("customer_exact", t)
        every_hit, refs = _reference_hits(ordered, index, policy)
        hits: dict[int, list[Item]] = {}
        foreign: dict[int, tuple[Item, ...]] = {}
        for i, any_ccy in every_hit.items():
            ccy = ordered[i].amount.currency
            hits[i] = [it for it in any_ccy if it.currency == ccy]
            foreign[i] = _foreign(ordered[i], any_ccy, refs[i])
        t = timer.add("reference_join", t)
        remaining = Remaining()
        results: dict[int, LineResult] = {}
        for i, line in enumerate(ordered):
            found = _reference_tier(
                line,
                hits=hits.get(i, []),
                refs=refs[i],
                ident=idents[i],
                remaining=remaining,
                policy=policy,
                rejected=rejected,
                foreign=foreign.get(i, ()),
            )
            if found is not None:
                results[i] = found
        t = timer.add("references", t)
        pending = [i for i in range(len(ordered)) if i not in results]
        counts = {"lines": len(ordered), "after_references": len(pending), "fuzzy_lines": 0}
        for i in pending:
            if idents[i].customer_id is None and not idents[i].ambiguous:
                counts["fuzzy_lines"] += 1
                idents[i] = cindex.fuzzy(ordered[i].payer_name)
        t = timer.add("customer_fuzzy", t)
        # the identified payers, and every candidate of a tie (``_settle_tie`` asks which
        # of them has an open amount that fits)
        wanted: set[str] = set()
        for i in pending:
            ident = idents[i]
            if ident.customer_id is not None:
                wanted.add(ident.customer_id)
            elif ident.ambiguous:
                wanted.update(ident.candidates)
        items = index.items_of(wanted)
        t = timer.add("amount_fetch", t)
        for i in pending:
            started = clock()
            res = _amount_tiers(
                ordered[i],
                ident=idents[i],
                items=items,
                remaining=remaining,
                policy=policy,
                rejected=rejected,
                foreign=foreign.get(i, ()),
            )
            if res.proposal is None and hits.get(i):
                # nothing better: weak references that did not fit become suggestions
                late = _reference_tier(
                    ordered[i],
                    hits=hits[i],
                    refs=refs[i],
                    ident=idents[i],
                    remaining=remaining,
                    policy=policy,
                    rejected=rejected,
                    foreign=foreign.get(i, ()),
                    fallback=True,
                )
                res = late if late is not None and late.proposal is not None else res
            tiered = res.proposal
            if res.proposal is None:
                res = _already_applied(res, hits.get(i, []), refs[i], remaining)
            else:
                res = _hold_unnamed(res, refs[i])
            res = _flag_foreign(res, foreign.get(i, ()))
            proposal, excs = _hold_returned(res.line, res.proposal, res.exceptions)
            demoted = proposal is None or proposal.status != Status.AUTO
            if tiered is not None and tiered.status == Status.AUTO and demoted:
                _demote(remaining, tiered)
            results[i] = replace(res, proposal=proposal, exceptions=excs)
            # a line the unique-amount tier did not settle went through subset-sum
            subset = res.customer_id is not None and (
                res.proposal is None or res.proposal.rule == Rule.SUBSET_SUM
            )
            counts["subset_sum_lines"] = counts.get("subset_sum_lines", 0) + subset
            timer.add("subset_sum" if subset else "unique_amount", started)
    finally:
        index.close()
    result = CashResult(
        tuple(results[i] for i in range(len(ordered))),
        policy.rule_version,
        timer.timings,
        counts,
        duplicates,
    )
    log.info("cash.applied", lines=len(ordered), rules=result.rule_counts())
    return result


def _validated(lines: Sequence[CashLine]) -> list[CashLine]:
    seen: set[str] = set()
    for line in lines:
        if line.line_id in seen:
            raise ValueError(f"bank line {line.line_id} appears twice")
        seen.add(line.line_id)
        if line.amount.amount <= 0:
            raise ValueError(f"bank line {line.line_id}: amount must be a positive receipt")
        line.amount.to_minor()  # raises on sub-minor digits
    return sorted(lines, key=lambda ln: (ln.date, ln.line_id))


@dataclass(frozen=True, slots=True)
class _LineRefs:
    """What a line's text and remittance documents say about invoice numbers."""

    text: References
    #: full keys of the remittance's document numbers (structured, so always trusted)
    documents: frozenset[str]
    #: (document as written, amount paid on it) from the remittance and the text
    amounts: tuple[tuple[str, Decimal], ...] = ()
    #: (document as written, discount the remittance says was taken on it)
    discounts: tuple[tuple[str, Decimal], ...] = ()

    def names(self, invoice_number: str) -> bool:
        """Whether the line names this invoice for sure (not only some of its digits):
        a remittance document, the full number of a lettered invoice, or an all-digit
        number written after an invoice label ("INV 1500"; a bare 1500 may be a check or
        PO number)."""
        key = strong_key(invoice_number)
        if key in self.documents:
            return True
        if any(ch.isalpha() for ch in invoice_number):
            return key in self.text.strong
        return ref_key(invoice_number) in self.text.labelled

    def stated(self, invoice_number: str) -> Decimal | None:
        """What the remittance says is paid on this invoice, if it says so once."""
        return _once(self.amounts, invoice_number)

    def discount(self, invoice_number: str) -> Decimal | None:
        """The discount the remittance says was taken on this invoice, if it says so once."""
        return _once(self.discounts, invoice_number)


def _once(pairs: tuple[tuple[str, Decimal], ...], invoice_number: str) -> Decimal | None:
    lettered = any(ch.isalpha() for ch in invoice_number)
    key = strong_key(invoice_number) if lettered else ref_key(invoice_number)
    found = {
        amount
        for written, amount in pairs
        if (strong_key(written) if lettered else ref_key(written)) == key
    }
    return found.pop() if len(found) == 1 else None


def _reference_hits(
    lines: list[CashLine], index: OpenItemIndex, policy: CashPolicy
) -> tuple[dict[int, list[Item]], list[_LineRefs]]:
    idx: list[int] = []
    keys: list[str] = []
    ccys: list[str] = []
    refs: list[_LineRefs] = []
    for i, line in enumerate(lines):
        found = reference_tokens(line.text, min_digits=policy.min_ref_digits)
        digit = set(found.digits)
        for ref in line.doc_refs:
            if ref_key(ref):
                digit.add(ref_key(ref))
        documents = frozenset(strong_key(r) for r in (*line.doc_refs, *found.documents))
        refs.append(
            _LineRefs(found, documents, (*line.doc_amounts, *found.stated), line.doc_discounts)
        )
        for key in sorted(digit):
            idx.append(i)
            keys.append(key)
            ccys.append(line.amount.currency)
    hits = index.reference_hits(idx, keys, ccys)
    for i, line in enumerate(lines):
        refs[i] = _resolve_digit_documents(refs[i], line.doc_refs, hits.get(i, []))
    return hits, refs


def _resolve_digit_documents(
    refs: _LineRefs, doc_refs: tuple[str, ...], hits: list[Item]
) -> _LineRefs:
    """A remittance document written as digits only (``3001``: payers often drop the
    prefix) names the one invoice whose number has those digits (``INV-3001``), when
    exactly one does. It is a structured document number, not free text, so it is as sure
    as the full number; two invoices with those digits and it names neither."""
    resolved: dict[str, str] = {}
    for doc in doc_refs:
        if any(ch.isalpha() for ch in doc) or not ref_key(doc):
            continue
        numbers = {it.invoice_number for it in hits if ref_key(it.invoice_number) == ref_key(doc)}
        if len(numbers) == 1:
            resolved[doc] = numbers.pop()
    if not resolved:
        return refs
    return replace(
        refs,
        documents=refs.documents | {strong_key(n) for n in resolved.values()},
        amounts=tuple((resolved.get(doc, doc), amount) for doc, amount in refs.amounts),
        discounts=tuple((resolved.get(doc, doc), amount) for doc, amount in refs.discounts),
    )


def _reference_tier(
    line: CashLine,
    *,
    hits: list[Item],
    refs: _LineRefs,
    ident: Identification,
    remaining: Remaining,
    policy: CashPolicy,
    rejected: Collection[str],
    foreign: tuple[Item, ...] = (),
    fallback: bool = False,
) -> LineResult | None:
    """Tier 1. None sends the line on to the customer and amount tiers."""
    live = [
        it
        for it in hits
        if remaining.of(it) > 0
        and (
            len(ref_key(it.invoice_number)) >= policy.min_ref_digits
            or refs.names(it.invoice_number)
        )
    ]
    strong_hits = [it for it in live if refs.names(it.invoice_number)]
    # credit memos the line names for sure: netted against the same customer's invoices
    credits = [it for it in hits if remaining.of(it) < 0 and refs.names(it.invoice_number)]
    # digit-only hits count next to full-number hits only for the same customer
    strong_customers = {it.customer_id for it in strong_hits}
    use = [it for it in live if it.customer_id in strong_customers] if strong_hits else live
    if not use:
        return None
    groups: dict[str, list[Item]] = {}
    for it in sorted(use, key=lambda it: it.age_key):
        groups.setdefault(it.customer_id, []).append(it)
    payment = line.amount.to_minor()
    if ident.customer_id in groups:
        candidates = [ident.customer_id]
    elif ident.customer_id is not None and not strong_hits:
        return None  # weak digits pointing at someone else's invoice: likely noise
    else:
        candidates = sorted(groups)
    decisions: list[tuple[str, Decision]] = []
    for cust in candidates:
        confirmed = cust == ident.customer_id
        dec = reference_decision(
            line,
            payment,
            groups[cust],
            remaining,
            policy,
            stated=[refs.stated(it.invoice_number) for it in groups[cust]],
            discounts=[refs.discount(it.invoice_number) for it in groups[cust]],
            strong=any(it.customer_id == cust for it in strong_hits),
            party_confirmed=confirmed,
            payer=ident.customer_id,
            fallback=fallback,
            credits=sorted(
                (it for it in credits if it.customer_id == cust), key=lambda it: it.age_key
            ),
        )
        if dec is not None:
            decisions.append((cust, dec))
    if len(decisions) > 1:
        fitting = [d for d in decisions if d[1].proposal and d[1].proposal.flags.amount_match]
        decisions = fitting if len(fitting) == 1 else decisions
    if not decisions:
        return None
    if len(decisions) > 1:
        numbers = tuple(it.invoice_number for it in use)
        exc = CashException(
            line.line_id,
            Category.AMBIGUOUS,
            line.amount,
            "referenced invoices belong to several customers",
            invoice_numbers=numbers,
        )
        return LineResult(line, None, None, None, (exc,))
    cust, dec = decisions[0]
    if dec.proposal is None or dec.allocation is None:
        return None
    if dec.proposal.proposal_id in rejected:
        return None  # the amount tiers may still find something else
    proposal, excs = _cap_foreign(line, dec.proposal, dec.exceptions, foreign)
    proposal, excs = _hold_returned(line, proposal, excs)
    hold = proposal is None or proposal.status != Status.AUTO
    for item, applied, deducted in dec.allocation.parts:
        remaining.consume(item, applied + deducted, hold=hold)
    rule = ident.rule if ident.customer_id == cust else PartyRule.REFERENCE
    return LineResult(line, cust, rule, proposal, excs)


def _amount_tiers(
    line: CashLine,
    *,
    ident: Identification,
    items: dict[str, list[Item]],
    remaining: Remaining,
    policy: CashPolicy,
    rejected: Collection[str],
    foreign: tuple[Item, ...] = (),
) -> LineResult:
    """Tiers 2-4 for a line the references did not settle."""
    if ident.customer_id is None:
        if ident.ambiguous:
            settled = _settle_tie(line, ident, items, remaining, policy, rejected)
            if settled is not None:
                return settled
            exc = CashException(
                line.line_id,
                Category.AMBIGUOUS,
                line.amount,
                f"payer matches several customers ({ident.rule})",
                details={"candidates": ",".join(ident.candidates)},
            )
        else:
            exc = CashException(
                line.line_id, Category.UNAPPLIED, line.amount, "customer not identified"
            )
        return LineResult(line, None, None, None, (exc,))
    party_conf = _PARTY_CONFIDENCE.get(
        ident.rule or PartyRule.FUZZY, Decimal(str(round(ident.score / 100, 2)))
    )
    dec = amount_decision(
        line,
        line.amount.to_minor(),
        ident.customer_id,
        items.get(ident.customer_id, []),
        remaining=remaining,
        policy=policy,
        party_confidence=party_conf,
    )
    if dec.proposal is not None and dec.proposal.proposal_id in rejected:
        exc = CashException(
            line.line_id,
            Category.UNIDENTIFIED_INVOICE,
            line.amount,
            "the only candidate was rejected before",
            customer_id=ident.customer_id,
            details={"cause": "previously_rejected"},
        )
        return LineResult(line, ident.customer_id, ident.rule, None, (exc,))
    proposal, excs = _cap_foreign(line, dec.proposal, dec.exceptions, foreign)
    proposal, excs = _hold_returned(line, proposal, excs)
    if dec.allocation is not None:
        hold = proposal is None or proposal.status != Status.AUTO
        for item, applied, deducted in dec.allocation.parts:
            remaining.consume(item, applied + deducted, hold=hold)
    return LineResult(line, ident.customer_id, ident.rule, proposal, excs)


def _settle_tie(
    line: CashLine,
    ident: Identification,
    items: dict[str, list[Item]],
    remaining: Remaining,
    policy: CashPolicy,
    rejected: Collection[str],
) -> LineResult | None:
    """A payer that matches several customers equally well, of whom exactly one has an
    open invoice (or combination) for the amount: that one as a suggestion, never
    automatic (the name did not decide; standard prices make equal amounts common), with
    the AMBIGUOUS exception naming the candidates. None when it does not settle."""
    found = []
    for customer in ident.candidates:
        dec = amount_decision(
            line,
            line.amount.to_minor(),
            customer,
            items.get(customer, []),
            remaining=remaining,
            policy=policy,
            party_confidence=_TIED_CONFIDENCE,
        )
        prop, alloc = dec.proposal, dec.allocation
        if prop is not None and alloc is not None and prop.proposal_id not in rejected:
            found.append((prop, alloc, dec.exceptions))
    if len(found) != 1:
        return None
    ((proposal, allocation, excs),) = found
    proposal = replace(proposal, status=Status.SUGGESTED)
    for item, applied, deducted in allocation.parts:
        remaining.consume(item, applied + deducted, hold=True)
    exc = CashException(
        line.line_id,
        Category.AMBIGUOUS,
        line.amount,
        f"payer matches several customers ({ident.rule}); only {proposal.customer_id} has "
        "an open amount that fits",
        customer_id=proposal.customer_id,
        details={"candidates": ",".join(ident.candidates)},
    )
    return LineResult(line, proposal.customer_id, ident.rule, proposal, (*excs, exc))


def _already_applied(
    result: LineResult, hits: list[Item], refs: _LineRefs, remaining: Remaining
) -> LineResult:
    """A line nothing was proposed for that names, for sure, invoices with nothing left
    open because an earlier line of the run is applied or suggested to them: that, not
    "no invoice fits", is why its cash stays unapplied."""
    gone = [
        it
        for it in hits
        if it.open_minor > 0 and remaining.of(it) <= 0 and refs.names(it.invoice_number)
    ]
    if not gone:
        return result
    numbers = tuple(it.invoice_number for it in gone)
    customers = {it.customer_id for it in gone}
    exc = CashException(
        result.line.line_id,
        Category.ALREADY_APPLIED,
        result.line.amount,
        f"the invoices it names ({', '.join(numbers)}) have nothing left open: an earlier "
        "line of this run is applied or suggested to them (a duplicate payment?)",
        customer_id=next(iter(customers)) if len(customers) == 1 else None,
        invoice_numbers=numbers,
    )
    kept = tuple(e for e in result.exceptions if e.category not in _NOTHING_FITS)
    return replace(result, exceptions=(*kept, exc))


def _foreign(line: CashLine, hits: list[Item], refs: _LineRefs) -> tuple[Item, ...]:
    """Invoices the line names for sure in another currency than its own, when it names
    none in its own (an FX-converted payment of a foreign-currency invoice, or a slip)."""
    ccy = line.amount.currency
    named = [it for it in hits if refs.names(it.invoice_number)]
    if any(it.currency == ccy for it in named):
        return ()
    return tuple(it for it in named if it.currency != ccy)


def _demote(remaining: Remaining, proposal: Proposal) -> None:
    """An automatic proposal held for a person after its tier consumed what it applies:
    the invoices' money becomes held, as a suggestion's is, not spent."""
    for a in proposal.applications:
        deducted = a.deduction.to_minor() if a.deduction is not None else 0
        remaining.demote(a.invoice_number, a.amount.to_minor() + deducted)


def _hold_unnamed(result: LineResult, refs: _LineRefs) -> LineResult:
    """A line whose amount was applied by amount alone while it names other invoices of the
    same series for sure (``INV-1001`` when the amount fits ``INV-2002``; a remittance
    document; digits after an invoice label), none of them open (paid already, or not in
    the file): that the amount fits another invoice is a guess, held for a person, so a
    second payment of a paid invoice does not settle the next one."""
    prop = result.proposal
    if prop is None or prop.status != Status.AUTO:
        return result
    if any(refs.names(a.invoice_number) for a in prop.applications):
        return result
    series = {_series(strong_key(a.invoice_number)) for a in prop.applications}
    named = sorted(
        key
        for key in (*refs.documents, *refs.text.strong)
        # a lettered series only: an all-digit token may be a check or PO number
        if any(ch.isdigit() for ch in key) and _series(key) and _series(key) in series
    )
    if not named and not refs.documents and not refs.text.labelled:
        return result
    applied = ", ".join(a.invoice_number for a in prop.applications)
    exc = CashException(
        result.line.line_id,
        Category.AMBIGUOUS,
        result.line.amount,
        f"the payment names invoices that are not open ({', '.join(named) or 'by number'}); "
        f"its amount fits {applied}, which it does not name: held for review (a payment of "
        "an invoice already paid?)",
        customer_id=prop.customer_id,
        invoice_numbers=tuple(a.invoice_number for a in prop.applications),
        details={"cause": "named_invoice_not_open"},
    )
    held = replace(prop, status=Status.SUGGESTED)
    return replace(result, proposal=held, exceptions=(*result.exceptions, exc))


def _series(key: str) -> str:
    """The letters an invoice number's key starts with (``INV`` of ``INV2002``)."""
    return key[: len(key) - len(key.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))]


def _cap_foreign(
    line: CashLine,
    proposal: Proposal | None,
    excs: tuple[CashException, ...],
    foreign: tuple[Item, ...],
) -> tuple[Proposal | None, tuple[CashException, ...]]:
    """A line that names invoices in another currency is never applied elsewhere
    automatically: what it pays is a question for a person."""
    if not foreign or any(e.category == Category.CURRENCY_MISMATCH for e in excs):
        return proposal, excs
    numbers = tuple(it.invoice_number for it in foreign)
    currencies = ", ".join(sorted({it.currency for it in foreign}))
    customers = {it.customer_id for it in foreign}
    exc = CashException(
        line.line_id,
        Category.CURRENCY_MISMATCH,
        line.amount,
        f"the payment is in {line.amount.currency}; the invoices it names are in {currencies}",
        customer_id=next(iter(customers)) if len(customers) == 1 else None,
        invoice_numbers=numbers,
    )
    if proposal is not None and proposal.status == Status.AUTO:
        proposal = replace(proposal, status=Status.SUGGESTED)
    return proposal, (*excs, exc)


def _hold_returned(
    line: CashLine, proposal: Proposal | None, excs: tuple[CashException, ...]
) -> tuple[Proposal | None, tuple[CashException, ...]]:
    """A credit the same bank files return is never applied automatically: the money went
    back, so closing the invoice would be wrong; what it was for stays a suggestion."""
    if line.returned_by is None or any(e.category == Category.RETURNED for e in excs):
        return proposal, excs
    exc = CashException(
        line.line_id,
        Category.RETURNED,
        line.amount,
        f"bank line {line.returned_by} returns this credit: not applied; held for review",
        customer_id=proposal.customer_id if proposal is not None else None,
        invoice_numbers=tuple(a.invoice_number for a in proposal.applications) if proposal else (),
        details={"returned_by": line.returned_by},
    )
    if proposal is not None and proposal.status == Status.AUTO:
        proposal = replace(proposal, status=Status.SUGGESTED)
    return proposal, (*excs, exc)


def _flag_foreign(result: LineResult, foreign: tuple[Item, ...]) -> LineResult:
    """The currency exception also on a line no tier proposed anything for."""
    if result.proposal is not None or not foreign:
        return result
    _, excs = _cap_foreign(result.line, None, result.exceptions, foreign)
    return replace(result, exceptions=excs)


__all__ = ["apply_cash"]
