"""Side rows for the built-in definitions, built from canonical records.

Each builder returns plain rows (text, dates, Decimals) whose columns are the fields the
definition's YAML compares. ``_line`` carries the record's provenance line when it has one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Any

from canonical import Contract, Invoice, Payment, Subscription
from canonical.enums import BillingPeriod, ChargeType
from canonical.money import sum_money

Row = dict[str, Any]

#: One lifecycle vocabulary for CRM contracts and billing subscriptions.
STATUS_MAP = {
    "activated": "active",
    "active": "active",
    "draft": "draft",
    "pending": "draft",
    "suspended": "suspended",
    "cancelled": "cancelled",
    "expired": "expired",
}
#: Invoice document state: a paid invoice is still the posted document billing sent.
INVOICE_STATE = {
    "draft": "draft",
    "posted": "posted",
    "partially_paid": "posted",
    "paid": "posted",
    "void": "void",
}
_MRR_PLACES = Decimal("0.0001")


def mrr(quantity: Decimal, unit_price: Decimal, period: BillingPeriod, kind: ChargeType) -> Decimal:
    """Monthly recurring revenue of one line: quantity × price / months per period."""
    months = period.months
    if kind != ChargeType.RECURRING or not months:
        return Decimal(0)
    return (quantity * unit_price / months).quantize(_MRR_PLACES, ROUND_HALF_UP)


def acv(quantity: Decimal, unit_price: Decimal, period: BillingPeriod, kind: ChargeType) -> Decimal:
    """Annual contract value: twelve months of recurring revenue."""
    months = period.months
    if kind != ChargeType.RECURRING or not months:
        return Decimal(0)
    return (quantity * unit_price * 12 / months).quantize(_MRR_PLACES, ROUND_HALF_UP)


def _line(record: Any) -> dict[str, int]:
    prov = getattr(record, "provenance", None)
    return {"_line": prov.line} if prov is not None and prov.line is not None else {}


def _period(period: BillingPeriod, charge_type: ChargeType) -> str:
    """A charge's billing period as compared: a one-time or usage charge has none of its
    own (a CRM export fills the opportunity's "Monthly" into a services line too)."""
    if charge_type == ChargeType.ONE_TIME:
        return BillingPeriod.ONE_TIME.value
    if charge_type == ChargeType.USAGE:
        return BillingPeriod.USAGE.value
    return period.value


def crm_rows(contracts: Sequence[Contract]) -> list[Row]:
    """One row per contract line, keyed by the CRM contract id and SKU."""
    rows = []
    for c in contracts:
        for line in c.lines:
            price = line.net_unit_price.amount
            rows.append(
                {
                    "booking_ref": c.source_id,
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "net_unit_price": price,
                    "term_start": line.start_date or c.start_date,
                    "term_end": line.end_date or c.end_date,
                    "billing_period": _period(line.billing_period, line.charge_type),
                    "mrr": mrr(line.quantity, price, line.billing_period, line.charge_type),
                    "acv": acv(line.quantity, price, line.billing_period, line.charge_type),
                    "status": STATUS_MAP[c.status.value],
                    "currency": c.currency,
                    "customer_id": c.customer_id,
                    "document": c.number or c.source_id,
                    "ramp": None,
                    **_line(c),
                }
            )
    return _collapse_ramps(_stack_amendments(rows))


def billing_rows(
    subscriptions: Sequence[Subscription], ref_aliases: Mapping[str, str] | None = None
) -> list[Row]:
    """One row per subscription charge, keyed by the booking it provisions and SKU.

    ``ref_aliases`` maps an opportunity id (what some integrations store in the
    subscription's custom field) to the contract id the CRM side is keyed by.
    """
    aliases = ref_aliases or {}
    rows = []
    for s in subscriptions:
        ref = s.contract_ref or ""
        for ch in s.charges:
            price = ch.unit_price.amount
            rows.append(
                {
                    # no booking reference: the subscription stands for itself, so each
                    # unbooked subscription is its own exception, not one shared empty key
                    "booking_ref": aliases.get(ref, ref) or s.subscription_number,
                    "sku": ch.sku,
                    "quantity": ch.quantity,
                    "net_unit_price": price,
                    "term_start": ch.start_date or s.term_start,
                    "term_end": ch.end_date or s.term_end,
                    "billing_period": _period(ch.billing_period, ch.charge_type),
                    "mrr": mrr(ch.quantity, price, ch.billing_period, ch.charge_type),
                    "acv": acv(ch.quantity, price, ch.billing_period, ch.charge_type),
                    "status": STATUS_MAP[s.status.value],
                    "currency": s.currency,
                    "customer_id": s.customer_id,
                    "document": s.subscription_number,
                    "ramp": None,
                    **_line(s),
                }
            )
    return _collapse_ramps(_join_segments(rows))


#: what must be equal for back-to-back charge segments to be one charge
_SAME_CHARGE = ("quantity", "net_unit_price", "billing_period", "mrr", "acv", "status",
                "currency", "document")  # fmt: skip


def _by_booking_line(rows: list[Row]) -> dict[tuple[Any, Any], list[Row]]:
    """Rows grouped by what the definition keys on: booking and SKU."""
    groups: dict[tuple[Any, Any], list[Row]] = {}
    for row in rows:
        groups.setdefault((row["booking_ref"], row["sku"]), []).append(row)
    return groups


def _join_segments(rows: list[Row]) -> list[Row]:
    """A charge split at an amendment into back-to-back date segments with the same
    quantity and price is one charge over the whole span: summed as a split charge, its
    10 + 10 seats read as 20 (a false MANY_TO_ONE). Segments that overlap in time, or
    differ, stay separate and are summed."""
    groups = _by_booking_line(rows)
    out: list[Row] = []
    for group in groups.values():
        if len(group) == 1:
            out += group
            continue
        ordered = sorted(group, key=lambda r: (r["term_start"] is None, r["term_start"]))
        merged = [ordered[0]]
        for row in ordered[1:]:
            prev = merged[-1]
            end, start = prev["term_end"], row["term_start"]
            # Zuora's segment end is the next one's start (exclusive); others end the day before
            back_to_back = end is not None and start is not None and 0 <= (start - end).days <= 1
            if back_to_back and all(prev[f] == row[f] for f in _SAME_CHARGE):
                merged[-1] = {**prev, "term_end": row["term_end"]}
            else:
                merged.append(row)
        out += merged
    return out


#: what the segments of a ramp share (quantity and price are what ramps)
_SAME_RAMP = ("billing_period", "status", "currency", "document")
_PRICE_PLACES = Decimal("0.01")


def _stack_amendments(rows: list[Row]) -> list[Row]:
    """CRM lines of one SKU in one contract where a line starts inside another's term (a
    CPQ amendment books the upsell as an extra line for the added seats, +5 from July)
    are the seats in force over time: cut at every line's start and end, each segment
    holds the lines in force then, quantities, MRR and ACV added (10 Jan-Jun, 15 Jul-Dec).
    The segments then read as a ramp, like billing's amended charge. Only lines of one
    price (and one period, status, currency, document) are stacked; lines starting the
    same day (a line booked twice) are left as they are, a DUPLICATE."""
    out: list[Row] = []
    for group in _by_booking_line(rows).values():
        dated = all(r["term_start"] is not None and r["term_end"] is not None for r in group)
        if len(group) == 1 or not dated:
            out += group
            continue
        ordered = sorted(group, key=lambda r: (r["term_start"], r["term_end"]))
        # CRM ends are the last day: a line starting the day after another ends is a ramp
        overlaps = any(later["term_start"] < earlier["term_end"]
                       for earlier, later in pairwise(ordered))  # fmt: skip
        same = ("net_unit_price", *_SAME_RAMP)
        if (
            not overlaps
            or len({r["term_start"] for r in group}) < len(group)
            or any(r[f] != ordered[0][f] for r in ordered[1:] for f in same)
        ):
            out += group
            continue
        day = timedelta(days=1)
        cuts = sorted({r["term_start"] for r in group} | {r["term_end"] + day for r in group})
        for start, stop in pairwise(cuts):
            active = [r for r in ordered if r["term_start"] <= start <= r["term_end"]]
            if not active:
                continue  # a gap between lines: nothing booked then
            segment = {**active[0], "term_start": start, "term_end": stop - day}
            for field in ("quantity", "mrr", "acv"):
                segment[field] = sum((r[field] for r in active), Decimal(0))
            out.append(segment)
    return out


def _ramp_text(segments: Sequence[Row]) -> str:
    """A ramp's shape as compared: each segment's quantity × price, in date order. Dates
    stay out (each system writes segment edges a day apart or not); prices are rounded to
    the cent (one system keeps 33.3333, another 33.33)."""
    parts = []
    for r in segments:
        qty = r["quantity"].normalize()
        price = r["net_unit_price"].quantize(_PRICE_PLACES, ROUND_HALF_UP)
        parts.append(f"{qty:f} × {price:f}")
    return " → ".join(parts)


def _collapse_ramps(rows: list[Row]) -> list[Row]:
    """A ramp (one booking line sold or billed as consecutive date segments with different
    quantities or prices: 10 seats in year 1, 20 in year 2) is one row over the whole term:
    its latest segment's quantity, price, MRR and ACV (the run rate it ramps to), and its
    shape in ``ramp`` ("10 × 50.00 → 20 × 50.00"), which the other system must match.
    Read as separate rows, a CRM ramp was a DUPLICATE key and a billed one a sum of seats
    no segment ever had. Rows that overlap in time (a split charge) are left as they are."""
    groups = _by_booking_line(rows)
    out: list[Row] = []
    for group in groups.values():
        if len(group) == 1 or any(r["term_start"] is None or r["term_end"] is None for r in group):
            out += group
            continue
        ordered = sorted(group, key=lambda r: (r["term_start"], r["term_end"]))
        # consecutive: each segment starts on or after the day the previous one ends
        # (Zuora's end is the next start; others end the day before)
        sequential = all(
            later["term_start"] >= earlier["term_end"] for earlier, later in pairwise(ordered)
        )
        if not sequential or any(r[f] != ordered[0][f] for r in ordered[1:] for f in _SAME_RAMP):
            out += group
            continue
        ramp = {**ordered[-1], "term_start": ordered[0]["term_start"], "ramp": _ramp_text(ordered)}
        if "_line" in ordered[0]:  # the first segment's line: where the reader finds the ramp
            ramp["_line"] = ordered[0]["_line"]
        out.append(ramp)
    return out


def _billing_key(record: Invoice | Payment, billing_system: str) -> str:
    """The billing document number the ERP record carries as its external id.

    Looks at ``crosswalk[billing_system]``, then ``crosswalk["external_id"]`` (with an
    integration's ``ZUORA-`` style prefix removed), then falls back to the record's number.
    """
    if record.source_system == billing_system:
        return record.number
    if record.crosswalk.get(billing_system):
        return record.crosswalk[billing_system]
    external = record.crosswalk.get("external_id")
    if external:
        prefix = f"{billing_system}-"
        return external[len(prefix) :] if external.lower().startswith(prefix.lower()) else external
    return record.number


def invoice_rows(
    invoices: Sequence[Invoice],
    *,
    billing_system: str = "zuora",
    customer_map: Mapping[str, str] | None = None,
) -> list[Row]:
    """Invoice headers; ERP-side customer ids are translated by ``customer_map``."""
    cmap = customer_map or {}
    return [
        {
            "invoice_number": _billing_key(inv, billing_system),
            "customer": cmap.get(inv.customer_id, inv.customer_id),
            "issue_date": inv.issue_date,
            "currency": inv.currency,
            "subtotal": inv.subtotal.amount,
            "tax": inv.tax_total.amount,
            "total": inv.total.amount,
            "status": INVOICE_STATE[inv.status.value],
            "erp_number": inv.number if inv.source_system != billing_system else None,
            **_line(inv),
        }
        for inv in invoices
    ]


def payment_rows(
    payments: Sequence[Payment],
    *,
    billing_system: str = "zuora",
    customer_map: Mapping[str, str] | None = None,
) -> list[Row]:
    cmap = customer_map or {}
    return [
        {
            "payment_number": _billing_key(p, billing_system),
            "customer": cmap.get(p.customer_id or "", p.customer_id),
            "received_date": p.received_date,
            "currency": p.currency,
            "amount": p.amount.amount,
            "applied_amount": sum_money([a.amount for a in p.applications], p.currency).amount,
            "status": p.status.value,
            "erp_number": p.number if p.source_system != billing_system else None,
            **_line(p),
        }
        for p in payments
    ]


def opportunity_aliases(contracts: Sequence[Contract]) -> dict[str, str]:
    """Opportunity id -> contract id, so either can key a subscription."""
    return {c.opportunity_id: c.source_id for c in contracts if c.opportunity_id}


BUILDERS: dict[str, tuple[Callable[..., list[Row]], Callable[..., list[Row]]]] = {
    "crm_vs_billing": (crm_rows, billing_rows),
    "billing_vs_erp_invoices": (invoice_rows, invoice_rows),
    "billing_vs_erp_payments": (payment_rows, payment_rows),
}
