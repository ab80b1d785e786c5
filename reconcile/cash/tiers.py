"""The decisions of each cascade tier for one payment line (pure, no I/O).

Tier 1 (references) and tiers 3-4 (unique amount, bounded subset-sum) each return a
:class:`Decision`: a proposal and/or exceptions, with the allocation the caller commits
to :class:`Remaining`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal

from canonical import minor_units
from reconcile.cash.allocate import Allocation, Remaining, fifo, full, money, with_deduction
from reconcile.cash.allocate import within_tolerance as _within
from reconcile.cash.ledger import Item
from reconcile.cash.model import (
    CashException,
    CashLine,
    CashPolicy,
    Category,
    Flags,
    Proposal,
    Rule,
    Status,
)
from reconcile.cash.subset import subset_sum


@dataclass(frozen=True)
class Decision:
    proposal: Proposal | None = None
    allocation: Allocation | None = None
    exceptions: tuple[CashException, ...] = field(default=())
    customer_id: str | None = None


def _conf(value: str) -> Decimal:
    return Decimal(value)


def _exception(
    line: CashLine, category: Category, minor: int, reason: str, **kw: object
) -> CashException:
    ccy = line.amount.currency
    return CashException(
        line.line_id,
        category,
        money(minor, ccy),
        reason,
        **kw,  # type: ignore[arg-type]
    )


def reference_decision(
    line: CashLine,
    payment: int,
    group: list[Item],
    remaining: Remaining,
    policy: CashPolicy,
    *,
    strong: bool,
    party_confirmed: bool,
    stated: list[Decimal | None] | None = None,
    discounts: list[Decimal | None] | None = None,
    payer: str | None = None,
    fallback: bool = False,
    credits: list[Item] | None = None,
) -> Decision | None:
    """Apply a payment to the invoices it references (one customer's group, oldest first).
    ``credits``: the same customer's credit memos (negative open amounts) the line names:
    when the invoices less the memos are exactly the payment, each invoice is paid in full
    and each memo consumed (``reference_credit``); else they play no part.

    Returns None when weak references (digits only, not written as an invoice number) do
    not fit the amount: such hits are as likely noise (a BAI type code, a check or PO
    number) as a reference, whoever pays. With ``fallback`` (no other tier found anything)
    they become suggestions instead. ``payer``: the customer the payer was identified as,
    when the invoices belong to another one: then nothing is automatic (a typo in an
    invoice number must not move cash between customers without a person's review).
    """
    ccy = line.amount.currency
    left = [remaining.of(it) for it in group]
    base = _conf("0.99") if strong else _conf("0.95")
    customer = group[0].customer_id
    flags_exact = Flags(True, party_confirmed, True)
    flags_off = Flags(True, party_confirmed, False)
    conflict = payer is not None and payer != customer
    if conflict:
        base *= _conf("0.5")

    def proposal(
        alloc: Allocation,
        status: Status,
        rule: Rule,
        conf: Decimal,
        flags: Flags,
        *,
        on_account: int = 0,
        deduction_reason: str | None = None,
    ) -> Proposal:
        return Proposal(
            line.line_id,
            customer,
            alloc.applications(ccy),
            status,
            rule,
            conf.quantize(Decimal("0.01")),
            flags,
            money(on_account, ccy) if on_account else None,
            deduction_reason,
        )

    decision = _netted(
        payment, group, left, credits or [], remaining, strong, base, proposal, flags_exact
    )
    if decision is None:
        decision = _as_remitted(
            line, payment, group, left, stated, policy, strong, base, proposal, flags_exact,
            discounts=discounts,
        )  # fmt: skip
    if decision is None:
        decision = _reference_fit(line, payment, group, left, policy, base, proposal, flags_exact)
    if decision is None:
        if not strong and not fallback:
            return None
        decision = _reference_misfit(
            line, payment, group, left, base, proposal, flags_off, weak=not strong
        )
    if not conflict or decision.proposal is None:
        return decision
    held = _exception(
        line,
        Category.AMBIGUOUS,
        payment,
        f"the payer is customer {payer}, the referenced invoices belong to {customer}",
        customer_id=customer,
        invoice_numbers=tuple(it.invoice_number for it in group),
        details={"payer_customer_id": str(payer)},
    )
    return Decision(
        replace(decision.proposal, status=Status.SUGGESTED),
        decision.allocation,
        (*decision.exceptions, held),
        decision.customer_id,
    )


def _netted(
    payment: int,
    group: list[Item],
    left: list[int],
    credits: list[Item],
    remaining: Remaining,
    strong: bool,
    base: Decimal,
    proposal: Callable[..., Proposal],
    flags: Flags,
) -> Decision | None:
    """The invoices in full less the named credit memos in full are exactly the payment:
    every invoice paid, every memo consumed (its negative open amount applied). None
    otherwise: a memo is never consumed in part or guessed at."""
    owed = [remaining.of(it) for it in credits]
    if not credits or any(o >= 0 for o in owed) or sum(left) + sum(owed) != payment:
        return None
    alloc = Allocation(
        (*full(group, left).parts, *((it, o, 0) for it, o in zip(credits, owed, strict=True)))
    )
    status = Status.AUTO if strong else Status.SUGGESTED
    return Decision(proposal(alloc, status, Rule.REFERENCE_CREDIT, base, flags), alloc)


def _as_remitted(
    line: CashLine,
    payment: int,
    group: list[Item],
    left: list[int],
    stated: list[Decimal | None] | None,
    policy: CashPolicy,
    strong: bool,
    base: Decimal,
    proposal: Callable[..., Proposal],
    flags: Flags,
    *,
    discounts: list[Decimal | None] | None = None,
) -> Decision | None:
    """Apply what the remittance says each invoice gets, when it says so for every one,
    the amounts add up to the payment and none exceeds what is open. A residual within
    tolerance is that invoice's deduction; a larger one stays open (``SHORT_PAY``). None
    otherwise (the payment is then judged as a whole).

    A residual the remittance itself states as the discount taken (``discounts``) is a
    discount, not a short pay: ``EARLY_PAYMENT_DISCOUNT`` when the invoice's terms allow
    exactly that on the payment date, else ``DISCOUNT_TAKEN``, deducted when earned or
    within tolerance. An unearned one beyond tolerance stays open, its ``SHORT_PAY``
    naming the discount (whether to allow it is a person's call)."""
    if not stated or any(v is None for v in stated) or len(stated) != len(group):
        return None
    ccy = line.amount.currency
    exp = minor_units(ccy)
    paid = [int(v.scaleb(exp)) for v in stated if v is not None]
    if any(p != v.scaleb(exp) for p, v in zip(paid, stated, strict=True) if v is not None):
        return None  # more digits than the currency has: not an amount we can apply
    if sum(paid) != payment or any(p <= 0 or p > amt for p, amt in zip(paid, left, strict=True)):
        return None
    if paid == left:
        return None  # paid in full: the plain reference rule says the same
    taken = [
        d.scaleb(exp) if d is not None else None
        for d in (discounts if discounts and len(discounts) == len(group) else [None] * len(group))
    ]
    parts: list[tuple[Item, int, int]] = []
    short: list[tuple[Item, int, str | None]] = []
    reasons: list[str] = []
    for item, p, amt, disc in zip(group, paid, left, taken, strict=True):
        residual = amt - p
        stated_discount = bool(residual) and disc == residual
        earned = stated_discount and item.discount_on(line.date, amt) == residual
        if residual and (earned or _within(residual, amt, exp, policy)):
            parts.append((item, p, residual))
            if earned:
                reasons.append("EARLY_PAYMENT_DISCOUNT")
            elif stated_discount:
                reasons.append("DISCOUNT_TAKEN")
            else:
                reasons.append(line.deduction_reason or "SHORT_PAY_TOLERANCE")
        else:
            parts.append((item, p, 0))
            if residual:
                short.append((item, residual, "DISCOUNT_TAKEN" if stated_discount else None))
    alloc = Allocation(tuple(parts))
    status = Status.AUTO if strong else Status.SUGGESTED
    # one reason per proposal: the invoices' own when they agree, else all of them
    reason = ", ".join(dict.fromkeys(reasons)) or None
    prop = proposal(
        alloc, status, Rule.REFERENCE_REMITTANCE, base * _conf("0.95"), flags,
        deduction_reason=reason,
    )  # fmt: skip
    excs = tuple(
        _exception(
            line,
            Category.SHORT_PAY,
            residual,
            (
                f"the remittance takes a discount of {money(residual, ccy).amount} {ccy}, "
                "beyond tolerance and not allowed by the invoice's terms on the payment "
                "date; it stays open on the invoice for review"
            )
            if cause
            else "the remittance pays less than is open; the residual stays open on the invoice",
            customer_id=item.customer_id,
            invoice_numbers=(item.invoice_number,),
            details={"cause": "discount_taken"} if cause else {},
        )
        for item, residual, cause in short
    )
    return Decision(prop, alloc, excs)


def _reference_fit(
    line: CashLine,
    payment: int,
    group: list[Item],
    left: list[int],
    policy: CashPolicy,
    base: Decimal,
    proposal: Callable[..., Proposal],
    flags_exact: Flags,
) -> Decision | None:
    """The references fit the payment: in full, less a discount, a unique subset, or short
    within tolerance. None when they do not."""
    exp = minor_units(line.amount.currency)
    total = sum(left)
    if payment == total:
        alloc = full(group, left)
        return Decision(proposal(alloc, Status.AUTO, Rule.REFERENCE, base, flags_exact), alloc)
    discounts = [it.discount_on(line.date, amt) for it, amt in zip(group, left, strict=True)]
    if any(discounts) and payment == total - sum(discounts):
        alloc = Allocation(
            tuple((it, amt - d, d) for it, amt, d in zip(group, left, discounts, strict=True))
        )
        prop = proposal(
            alloc,
            Status.AUTO,
            Rule.REFERENCE_DISCOUNT,
            base,
            flags_exact,
            deduction_reason="EARLY_PAYMENT_DISCOUNT",
        )
        return Decision(prop, alloc)
    if payment < total and 1 < len(group) <= policy.subset_max_items:
        sub = subset_sum(left, payment, max_states=policy.subset_max_states)
        if sub is not None and sub.unique:
            picked = [group[i] for i in sub.indices]
            alloc = full(picked, [left[i] for i in sub.indices])
            conf = base * _conf("0.95")
            return Decision(
                proposal(alloc, Status.AUTO, Rule.REFERENCE_SUBSET, conf, flags_exact), alloc
            )
    if payment < total and _within(total - payment, total, exp, policy):
        alloc = with_deduction(group, left, payment)
        conf = base * _conf("0.9")
        reason = line.deduction_reason or "SHORT_PAY_TOLERANCE"
        prop = proposal(
            alloc,
            Status.AUTO,
            Rule.REFERENCE_SHORT_TOLERANCE,
            conf,
            flags_exact,
            deduction_reason=reason,
        )
        return Decision(prop, alloc)
    return None


def _reference_misfit(
    line: CashLine,
    payment: int,
    group: list[Item],
    left: list[int],
    base: Decimal,
    proposal: Callable[..., Proposal],
    flags_off: Flags,
    *,
    weak: bool,
) -> Decision:
    """Short beyond tolerance (FIFO, the residual stays open) or over (the rest on account).
    Automatic only for references written as invoice numbers (a short pay only on one)."""
    total = sum(left)
    customer = group[0].customer_id
    numbers = tuple(it.invoice_number for it in group)
    if payment < total:
        alloc = fifo(group, left, payment)
        status = Status.AUTO if len(group) == 1 and not weak else Status.SUGGESTED
        exc = _exception(
            line,
            Category.SHORT_PAY,
            total - payment,
            "short pay beyond tolerance; the residual stays open on the invoice",
            customer_id=customer,
            invoice_numbers=numbers,
        )
        prop = proposal(alloc, status, Rule.REFERENCE_SHORT, base * _conf("0.7"), flags_off)
        return Decision(prop, alloc, (exc,))
    alloc = full(group, left)
    over = payment - total
    exc = _exception(
        line,
        Category.OVERPAY,
        over,
        "overpayment; the remainder is on account",
        customer_id=customer,
        invoice_numbers=numbers,
    )
    status = Status.SUGGESTED if weak else Status.AUTO
    prop = proposal(
        alloc, status, Rule.REFERENCE_OVER, base * _conf("0.9"), flags_off, on_account=over
    )
    return Decision(prop, alloc, (exc,))


def amount_decision(
    line: CashLine,
    payment: int,
    customer: str,
    items: list[Item],
    *,
    remaining: Remaining,
    policy: CashPolicy,
    party_confidence: Decimal,
) -> Decision:
    """Tier 3 (unique amount) then tier 4 (bounded subset-sum) within one customer."""
    ccy = line.amount.currency
    earliest = line.date - timedelta(days=policy.lookback_days)
    latest = line.date + timedelta(days=policy.lookahead_days)
    pool = [
        it
        for it in items
        if it.currency == ccy and remaining.of(it) > 0 and earliest <= it.issue_date <= latest
    ]
    # the same with invoices only held by suggestions: what "unique" must be judged on
    candidates = [
        it
        for it in items
        if it.currency == ccy and remaining.unheld(it) > 0 and earliest <= it.issue_date <= latest
    ]
    flags = Flags(False, True, True)
    exact = [it for it in pool if remaining.of(it) == payment]
    reason = None
    if not exact:  # the amount may be the invoice less its early-payment discount
        exact = [
            it
            for it in pool
            if (d := it.discount_on(line.date, remaining.of(it)))
            and remaining.of(it) - d == payment
        ]
        reason = "EARLY_PAYMENT_DISCOUNT" if exact else None
    rivals = [it for it in candidates if remaining.unheld(it) == payment]
    if len(exact) == 1 and (reason is not None or len(rivals) == 1):
        deducted = remaining.of(exact[0]) - payment
        alloc = Allocation(((exact[0], payment, deducted),))
        prop = Proposal(
            line.line_id,
            customer,
            alloc.applications(ccy),
            Status.AUTO,
            Rule.UNIQUE_AMOUNT,
            (_conf("0.9") * party_confidence).quantize(Decimal("0.01")),
            flags,
            deduction_reason=reason,
        )
        return Decision(prop, alloc, customer_id=customer)
    bounded = pool[: policy.subset_max_items]
    left = [remaining.of(it) for it in bounded]
    sub = subset_sum(left, payment, max_states=policy.subset_max_states)
    if sub is None:
        exc = _exception(
            line,
            Category.UNIDENTIFIED_INVOICE,
            payment,
            "customer identified but no open invoice or combination matches the amount",
            customer_id=customer,
        )
        return Decision(exceptions=(exc,), customer_id=customer)
    picked = [bounded[i] for i in sub.indices]
    alloc = full(picked, [left[i] for i in sub.indices])
    # unique among the oldest items proves nothing about the ones left out, and neither
    # does unique once a suggestion's invoices are set aside: checked over all of them
    unique = sub.unique and _unique_with(candidates, remaining, payment, policy)
    status = Status.AUTO if unique else Status.SUGGESTED
    conf = (_conf("0.8") if unique else _conf("0.5")) * party_confidence
    prop = Proposal(
        line.line_id,
        customer,
        alloc.applications(ccy),
        status,
        Rule.SUBSET_SUM,
        conf.quantize(Decimal("0.01")),
        flags,
    )
    excs: tuple[CashException, ...] = ()
    if not unique:
        reason = (
            "several invoice combinations match the amount; oldest suggested"
            if not sub.unique
            else f"a combination of the {len(bounded)} oldest open invoices matches the "
            f"amount; the customer has {len(pool)}, so it may not be the only one"
        )
        excs = (
            _exception(
                line,
                Category.AMBIGUOUS,
                payment,
                reason,
                customer_id=customer,
                invoice_numbers=tuple(it.invoice_number for it in picked),
            ),
        )
    return Decision(prop, alloc, excs, customer_id=customer)


def _unique_with(
    candidates: list[Item], remaining: Remaining, payment: int, policy: CashPolicy
) -> bool:
    """Whether the amount is reached one way only over every candidate invoice, those
    past the subset-sum bound and those only held by suggestions included. An invoice
    larger than the payment takes part in no combination, so only the others count; when
    they are more than half again the bound, uniqueness is not proven (a suggestion)."""
    usable = [a for it in candidates if 0 < (a := remaining.unheld(it)) <= payment]
    if len(usable) > policy.subset_max_items * 3 // 2:
        return False
    sub = subset_sum(usable, payment, max_states=policy.subset_max_states)
    return sub is None or sub.unique
