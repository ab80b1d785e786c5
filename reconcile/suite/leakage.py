"""Revenue leakage and billing hygiene: duplicate invoices, contracted charges not billed,
invoices without a contract, customer master drift between systems, invalid tax ids.

Duplicates are flagged, never removed ("flag first, investigate, then remove").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from canonical import ChargeType, Contract, ContractStatus, Customer, Invoice, Subscription
from canonical.enums import InvoiceStatus
from reconcile.suite.common import Finding, candidates, period_of

RECON = "revenue_leakage"


@dataclass(frozen=True)
class LeakagePolicy:
    #: Fuzzy duplicates: amounts within this fraction of the larger one...
    duplicate_amount_pct: Decimal = Decimal("0.005")
    #: ...and issue dates at most this many days apart.
    duplicate_window_days: int = 5


def _number_key(number: str) -> str:
    return "".join(ch for ch in number.upper() if ch.isalnum())


def billed(invoices: Iterable[Invoice]) -> list[Invoice]:
    """Invoices that bill: a void (cancelled) one bills nothing, so it is neither evidence
    that a period was billed nor one half of a duplicate (cancel and reissue)."""
    return [inv for inv in invoices if inv.status != InvoiceStatus.VOID]


def _inv_keys(inv: Invoice) -> dict[str, str]:
    return {"system": inv.source_system, "invoice_number": inv.number}


def duplicate_invoices(
    invoices: Iterable[Invoice], policy: LeakagePolicy | None = None
) -> list[Finding]:
    """Exact (customer + number) and fuzzy (customer + amount + date + PO/period) duplicates.

    Pairs are only formed within one system: a Zuora invoice and its NetSuite copy are the
    same invoice, while the same Zuora invoice twice in NetSuite is a duplicate.
    """
    policy = policy or LeakagePolicy()
    by_customer: dict[tuple[str, str, str], list[Invoice]] = defaultdict(list)
    for inv in billed(invoices):
        by_customer[(inv.source_system, inv.customer_id, inv.currency)].append(inv)
    out: list[Finding] = []
    for (_system, customer, ccy), group in sorted(by_customer.items()):
        group.sort(key=lambda i: (i.issue_date, i.source_system, i.number))
        exact: set[tuple[int, int]] = set()
        by_number: dict[str, list[int]] = defaultdict(list)
        for idx, inv in enumerate(group):
            by_number[_number_key(inv.number)].append(idx)
        for idxs in by_number.values():
            for a_pos, a in enumerate(idxs):
                for b in idxs[a_pos + 1 :]:
                    exact.add((a, b))
                    out.append(_dup(group[a], group[b], "exact", customer, ccy))
        for a in range(len(group)):
            for b in range(a + 1, len(group)):
                days = (group[b].issue_date - group[a].issue_date).days
                if days > policy.duplicate_window_days:
                    break  # sorted by date: nothing further can be in the window
                if (a, b) not in exact and _fuzzy_dup(group[a], group[b], policy):
                    out.append(_dup(group[a], group[b], "fuzzy", customer, ccy))
    return out


def _fuzzy_dup(a: Invoice, b: Invoice, policy: LeakagePolicy) -> bool:
    x, y = a.total.amount, b.total.amount
    if abs(x - y) > policy.duplicate_amount_pct * max(abs(x), abs(y)):
        return False
    if a.po_number and b.po_number:
        return a.po_number.strip().upper() == b.po_number.strip().upper()
    return _service_periods(a) == _service_periods(b) and bool(_service_periods(a))


def _service_periods(inv: Invoice) -> frozenset[tuple[str, str]]:
    """The (first, last) service months of the invoice's lines: two invoices for the same
    period cover the same months, not merely start in the same one."""
    return frozenset(
        (period_of(ln.service_start), period_of(ln.service_end or ln.service_start))
        for ln in inv.lines
        if ln.service_start
    )


def _dup(a: Invoice, b: Invoice, how: str, customer: str, ccy: str) -> Finding:
    first, second = sorted((a, b), key=lambda i: (i.source_system, i.number, i.source_id))
    return Finding(
        RECON,
        "DUPLICATE",
        {
            "invoice_a": f"{first.source_system}:{first.number}",
            "invoice_b": f"{second.source_system}:{second.number}",
        },
        second.total.amount,
        ccy,
        {
            "match": how,
            "customer_id": customer,
            "dates": [a.issue_date.isoformat(), b.issue_date.isoformat()],
        },
    )


def _add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months, the day clamped to the month's end
    (a line billed from Jan 31 falls due Feb 29, then Mar 31)."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    month += 1
    last = (date(year + month // 12, month % 12 + 1, 1) - date.resolution).day
    return date(year, month, min(day.day, last))


def _billing_periods(start: date, end: date, months: int, as_of: date) -> list[tuple[date, date]]:
    """The billing periods of a charge billed every ``months`` months from ``start``: each
    runs from ``start`` + k x ``months`` to the day before the next one (anniversary billing
    on the 15th runs the 15th to the 14th), for the periods starting by ``end`` and
    ``as_of``."""
    out: list[tuple[date, date]] = []
    k = 0
    while True:
        first = _add_months(start, k * months)
        if first > end or first > as_of:
            return out
        k += 1
        out.append((first, _add_months(start, k * months) - date.resolution))


def _bills(covered: tuple[date, date | None], first: date, last: date) -> bool:
    """Whether an invoice line covering ``covered`` bills the period ``first``..``last``:
    a service period bills the periods whose first day it covers (an annual up-front
    invoice bills every month it serves, an invoice for Jan 15..Feb 14 bills only the
    period starting Jan 15, not the one starting Feb 15); a single day (a service start
    without an end, or the issue date) bills the period it falls in."""
    start, end = covered
    if end is None:
        return first <= start <= last
    return start <= first <= end


def expected_charges_not_billed(
    contracts: Iterable[Contract], invoices: Iterable[Invoice], as_of: date
) -> list[Finding]:
    """Recurring contract lines with no invoice line in a billing period up to ``as_of``.

    A contract line's billing periods follow its own schedule: start + k x its billing
    period's months (anniversary billing on the 15th included), each keyed by the month it
    starts in. An invoice line for the contract line bills a period when its service period
    covers the period's first day (an annual or up-front invoice covers every period it
    serves), or, without a service end, when its service start (else the invoice's issue
    date) falls in the period. A void invoice bills nothing, and neither does a draft (the
    customer has not been billed until it is posted): a period only a draft covers is still
    reported, with the draft's number, so AR can post it.
    """
    # contract line -> (covered start, covered end or None for a single day, draft number)
    covers: dict[str, list[tuple[tuple[date, date | None], str | None]]] = defaultdict(list)
    for inv in billed(invoices):
        for ln in inv.lines:
            if not ln.contract_line_id:
                continue
            start = ln.service_start or inv.issue_date
            end = ln.service_end if ln.service_end and ln.service_end >= start else None
            draft = inv.number if inv.status == InvoiceStatus.DRAFT else None
            covers[ln.contract_line_id].append(((start, end), draft))
    out: list[Finding] = []
    for contract in contracts:
        # a cancelled contract still owes the periods before its cancellation date (without
        # one, nothing can be said about it); a draft owes nothing yet
        if contract.status == ContractStatus.DRAFT or (
            contract.status == ContractStatus.CANCELLED and contract.cancellation_date is None
        ):
            continue
        for line in contract.lines:
            months = line.billing_period.months
            if line.charge_type != ChargeType.RECURRING or months is None:
                continue
            start = line.start_date or contract.start_date
            end = line.end_date or contract.end_date or as_of
            if contract.cancellation_date is not None:
                end = min(end, contract.cancellation_date)
            for first, last in _billing_periods(start, end, months, as_of):
                hits = [d for c, d in covers[line.line_id] if _bills(c, first, last)]
                if None in hits:
                    continue
                drafts = [d for d in hits if d is not None]
                details: dict[str, str] = {
                    "contract": contract.source_id,
                    "customer_id": contract.customer_id,
                    "sku": line.sku,
                }
                if drafts:
                    details["draft_invoice"] = drafts[0]
                out.append(
                    Finding(
                        RECON,
                        "EXPECTED_CHARGE_NOT_BILLED",
                        {"contract_line": line.line_id, "period": period_of(first)},
                        line.line_total.amount,
                        contract.currency,
                        details,
                    )
                )
    return out


def invoices_without_contract(
    invoices: Iterable[Invoice], contracts: Iterable[Contract]
) -> list[Finding]:
    """Invoices none of whose lines points at a known contract line."""
    known = {line.line_id for c in contracts for line in c.lines}
    return [
        Finding(
            RECON,
            "INVOICE_WITHOUT_CONTRACT",
            _inv_keys(inv),
            inv.total.amount,
            inv.currency,
            {"customer_id": inv.customer_id},
        )
        for inv in billed(invoices)
        if not any(ln.contract_line_id in known for ln in inv.lines)
    ]


#: USPS street-suffix and unit abbreviations (Publication 28): either spelling is the same
#: address, so both sides compare by the abbreviation
_STREET_WORDS = {
    "STREET": "ST", "AVENUE": "AVE", "AV": "AVE", "ROAD": "RD", "BOULEVARD": "BLVD",
    "DRIVE": "DR", "LANE": "LN", "COURT": "CT", "PLACE": "PL", "PARKWAY": "PKWY",
    "HIGHWAY": "HWY", "CIRCLE": "CIR", "SQUARE": "SQ", "TERRACE": "TER", "SUITE": "STE",
    "FLOOR": "FL", "APARTMENT": "APT", "BUILDING": "BLDG", "ROOM": "RM", "DEPARTMENT": "DEPT",
    "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W", "NORTHEAST": "NE",
    "NORTHWEST": "NW", "SOUTHEAST": "SE", "SOUTHWEST": "SW",
}  # fmt: skip


def _words(text: str | None) -> list[str]:
    """Upper-case words without punctuation: periods and apostrophes dropped ("St." is
    "ST"), other marks (commas, hyphens, slashes, line breaks) separate words."""
    kept = "".join(
        ch if ch.isalnum() else "" if ch in ".'’" else " " for ch in (text or "").upper()
    )
    return kept.split()


def _bill_to(c: Customer) -> tuple[str, ...]:
    """The bill-to address as compared across systems: the street lines joined (a CRM keeps
    the street in one multi-line field, Salesforce's spec maps it to line1, while billing
    splits it into address1 and address2), street words abbreviated the USPS way, and
    punctuation, case and spacing ignored. A different number, street or zip still differs."""
    addr = c.bill_to.address if c.bill_to else None
    if addr is None:
        return ()
    street = [_STREET_WORDS.get(w, w) for w in _words(f"{addr.line1 or ''} {addr.line2 or ''}")]
    rest = (addr.city, addr.region, addr.postal_code, addr.country)
    return (" ".join(street), *(" ".join(_words(p)) for p in rest))


def _terms(c: Customer) -> str | None:
    # 'Net 30', 'NET30' and 'Net-30' are the same terms
    return "".join(_words(c.payment_terms)) or None


def _tax_scheme(scheme: str) -> str:
    """One name per tax-id type across systems: every VAT spelling ('vat' the shipped CRM
    and billing specs write, 'eu_vat' the canonical one) is VAT, the value's country prefix
    telling the countries apart; the EIN spellings are 'us_ein'."""
    kind = " ".join(scheme.strip().lower().split())
    if kind in _EU_VAT or kind in _VAT:
        return "vat"
    if kind in _US_EIN:
        return "us_ein"
    return kind


def _tax_ids(c: Customer) -> frozenset[tuple[str, str]]:
    return frozenset((_tax_scheme(t.scheme), _number_key(t.value)) for t in c.tax_ids)


_DRIFT_FIELDS = {
    "bill_to": _bill_to,
    "currency": lambda c: c.currency,
    "payment_terms": _terms,
    "tax_id": _tax_ids,
}


def customer_drift(a_side: Iterable[Customer], b_side: Iterable[Customer]) -> list[Finding]:
    """Field differences between the same customer in two systems.

    Joined by crosswalk in either direction (A knows B's id, or B knows A's).
    """
    b_list = list(b_side)
    b_by_id = {(c.source_system, c.source_id): c for c in b_list}
    b_by_ref = {(s, x): c for c in b_list for s, x in c.crosswalk.items()}
    out: list[Finding] = []
    for a in sorted(a_side, key=lambda c: c.source_id):
        b = next(
            (b_by_id[(s, x)] for s, x in sorted(a.crosswalk.items()) if (s, x) in b_by_id),
            b_by_ref.get((a.source_system, a.source_id)),
        )
        if b is None:
            continue
        for name, get in _DRIFT_FIELDS.items():
            va, vb = get(a), get(b)
            if va != vb:
                out.append(
                    Finding(
                        RECON,
                        "CUSTOMER_MASTER_DRIFT",
                        {
                            "customer_a": f"{a.source_system}:{a.source_id}",
                            "customer_b": f"{b.source_system}:{b.source_id}",
                            "field": name,
                        },
                        Decimal(0),
                        a.currency or b.currency or "XXX",
                        {"value_a": repr(va), "value_b": repr(vb)},
                        severity="low",
                    )
                )
    return out


#: how the shipped mapping specs and canonical records spell a tax-id type
_EU_VAT = frozenset({"eu_vat", "euvat", "eu vat"})
#: a type that is VAT in general: EU VAT when the value carries an EU country prefix
_VAT = frozenset({"vat", "vat_id", "vatid", "vat_number", "vat number", "ust_idnr", "ustidnr"})
_US_EIN = frozenset({"us_ein", "ein", "usein", "us ein"})


def _validator(scheme: str, value: str) -> object | None:
    """The python-stdnum module that checks ``value`` of ``scheme``, or None (not checked):
    ``eu_vat`` and ``us_ein`` and their spellings; plain ``vat`` (what the shipped
    Salesforce, Zuora and legacy customer specs write) is EU VAT when the value starts with
    an EU country prefix (DE..., EL... for Greece, XI... for Northern Ireland)."""
    from stdnum.eu import vat
    from stdnum.us import ein

    kind = " ".join(scheme.strip().lower().split())
    if kind in _EU_VAT:
        return vat
    if kind in _US_EIN:
        return ein
    prefix = "".join(ch for ch in value if ch.isalnum())[:2].lower()
    if kind in _VAT and (prefix in vat.MEMBER_STATES or prefix == "el"):
        return vat
    return None


def invalid_tax_ids(customers: Iterable[Customer]) -> list[Finding]:
    """Tax ids that fail their scheme's check digits/format (python-stdnum)."""
    out: list[Finding] = []
    for c in customers:
        for tax in c.tax_ids:
            module = _validator(tax.scheme, tax.value)
            if module is None or module.is_valid(tax.value):  # type: ignore[attr-defined]
                continue
            out.append(
                Finding(
                    RECON,
                    "INVALID_TAX_ID",
                    {"customer": f"{c.source_system}:{c.source_id}", "scheme": tax.scheme},
                    Decimal(0),
                    c.currency or "XXX",
                    {"value": tax.value},
                    severity="medium",
                )
            )
    return out


@dataclass(frozen=True)
class LeakageReport:
    findings: tuple[Finding, ...]

    def to_exception_candidates(self) -> list[dict[str, object]]:
        return candidates(self.findings)


def link_to_contracts(
    invoices: Iterable[Invoice],
    subscriptions: Iterable[Subscription],
    contracts: Iterable[Contract] = (),
) -> list[Invoice]:
    """Invoices whose lines name the contract line they bill. A billing export names the
    charge it bills (Zuora ``ChargeNumber``), not the CRM line. The charge leads there: by
    the CRM line id it carries, else by its subscription's booking reference (contract or
    opportunity id) and its SKU, when the booking has exactly one line of that SKU. A line
    that names its contract line already keeps it."""
    lines_by_booking: dict[tuple[str, str], list[str]] = defaultdict(list)
    for c in contracts:
        for ref in {c.source_id, c.opportunity_id, c.number} - {None}:
            for line in c.lines:
                lines_by_booking[(str(ref), line.sku)].append(line.line_id)
    by_charge: dict[str, str] = {}
    for sub in subscriptions:
        for ch in sub.charges:
            found = lines_by_booking.get((sub.contract_ref or "", ch.sku), [])
            if ch.contract_line_id:
                by_charge[ch.charge_number] = ch.contract_line_id
            elif len(found) == 1:
                by_charge[ch.charge_number] = found[0]
    out = []
    for inv in invoices:
        lines = tuple(
            ln.model_copy(update={"contract_line_id": by_charge[ln.charge_number]})
            if not ln.contract_line_id and ln.charge_number in by_charge
            else ln
            for ln in inv.lines
        )
        out.append(inv if lines == inv.lines else inv.model_copy(update={"lines": lines}))
    return out


def leakage(
    *,
    invoices: list[Invoice],
    contracts: list[Contract],
    as_of: date,
    customers_a: list[Customer] | None = None,
    customers_b: list[Customer] | None = None,
    policy: LeakagePolicy | None = None,
    subscriptions: list[Subscription] | None = None,
) -> LeakageReport:
    """All leakage and hygiene checks in one report. ``subscriptions``: the billing
    system's, to link invoice lines to contract lines through the charges they bill (see
    :func:`link_to_contracts`); needed when the invoice export names no contract line."""
    if subscriptions is not None:
        invoices = link_to_contracts(invoices, subscriptions, contracts)
    findings = [
        *duplicate_invoices(invoices, policy),
        *expected_charges_not_billed(contracts, invoices, as_of),
        *invoices_without_contract(invoices, contracts),
    ]
    if customers_a is not None:
        findings += invalid_tax_ids(customers_a)
        if customers_b is not None:
            findings += invalid_tax_ids(customers_b)
            findings += customer_drift(customers_a, customers_b)
    return LeakageReport(tuple(findings))


__all__ = ["LeakagePolicy", "LeakageReport", "leakage"]
