"""Generate X12 810 invoices from canonical Invoices (what partners' AP systems ingest).

The output reads back through :func:`connectors.feeds.x12.parse` into the same invoices:
IT1 lines for items with quantity and unit price, SAC for other lines, TXI per tax line,
TDS with implied decimals. What an 810 cannot carry faithfully is refused, not altered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from billbridge.errors import RecordRejected
from canonical import Invoice, InvoiceLine, Money
from connectors.feeds.x12.tokenizer import Separators

DEFAULT_SEPARATORS = Separators(element="*", component=">", repetition=None, segment="~")
Emit = Callable[..., None]


def _num(value: Decimal) -> str:
    """R-type text: plain notation, no exponent, sign only when negative."""
    text = format(value, "f")
    return "0" if text in ("-0", "0") else text


def _n2(money: Money, what: str, invoice: Invoice) -> str:
    if not money.is_whole_minor():
        raise RecordRejected(
            f"invoice {invoice.number}: {what} {money} has more decimals than "
            f"{money.currency} allows; an 810 N2 field cannot carry it",
            code="amount_not_representable",
        )
    return str(money.to_minor())


class _Writer:
    def __init__(self, seps: Separators, newline: bool) -> None:
        self.seps = seps
        self.newline = newline
        self.out: list[str] = []
        self._forbidden = seps.all() | {"\r", "\n"}

    def seg(self, *elements: str, invoice: Invoice | None = None, isa: bool = False) -> None:
        # ISA11/ISA16 *are* separators; no other value may contain one
        checked = [v for i, v in enumerate(elements) if not (isa and i in (11, 16))]
        for value in checked:
            if any(ch in value for ch in self._forbidden):
                where = f"invoice {invoice.number}: " if invoice else ""
                raise RecordRejected(
                    f"{where}value {value[:30]!r} contains an X12 separator",
                    code="separator_in_data",
                )
        parts = list(elements)
        while len(parts) > 1 and parts[-1] == "":
            parts.pop()
        self.out.append(
            self.seps.element.join(parts) + self.seps.segment + ("\n" if self.newline else "")
        )


def _invoice_segments(w: _Writer, inv: Invoice) -> None:
    it1_lines = [ln for ln in inv.lines if ln.quantity is not None and ln.unit_price is not None]
    other = [ln for ln in inv.lines if ln not in it1_lines]
    if list(inv.lines) != it1_lines + other:
        raise RecordRejected(
            f"invoice {inv.number}: item lines must precede charge lines", code="line_order"
        )
    if inv.subtotal != inv.lines_subtotal() or inv.tax_total != inv.tax_lines_total():
        raise RecordRejected(
            f"invoice {inv.number}: subtotal/tax total differ from its lines",
            code="totals_inconsistent",
        )

    def s(*elements: str) -> None:
        w.seg(*elements, invoice=inv)

    s("BIG", inv.issue_date.strftime("%Y%m%d"), inv.number, "", inv.po_number or "")
    s("CUR", "SE", inv.currency)
    s("N1", "BT", inv.customer_id, "92", inv.customer_id)
    if inv.due_date or inv.payment_terms:
        due = inv.due_date.strftime("%Y%m%d") if inv.due_date else ""
        s("ITD", "01", "3", "", "", "", due, "", "", "", "", "", inv.payment_terms or "")
    for pos, ln in enumerate(it1_lines, start=1):
        _item(s, inv, ln, pos)
    s("TDS", _n2(inv.total, "total", inv))
    for tax in inv.tax_lines:
        s(
            "TXI",
            tax.tax_code,
            _num(tax.tax_amount.amount),
            _num(tax.rate) if tax.rate is not None else "",
            "CD" if tax.jurisdiction else "",
            tax.jurisdiction or "",
        )
    for ln in other:
        flag = "A" if ln.amount.amount < 0 else "C"
        s(
            "SAC",
            flag,
            "ZZZZ",
            "",
            "",
            _n2(abs(ln.amount), "charge", inv),
            *([""] * 9),
            ln.description or "",
        )
    s("CTT", str(len(it1_lines)))


def _item(emit: Emit, inv: Invoice, ln: InvoiceLine, pos: int) -> None:
    assert ln.quantity is not None
    assert ln.unit_price is not None
    if ln.line_number != pos:
        raise RecordRejected(
            f"invoice {inv.number}: line {ln.line_number} is item {pos}", code="line_numbering"
        )
    if ln.unit_price * ln.quantity != ln.amount:
        raise RecordRejected(
            f"invoice {inv.number} line {ln.line_number}: amount {ln.amount} is not "
            "quantity x unit price",
            code="line_amount_inconsistent",
        )
    product = ["VP", ln.sku] if ln.sku else []
    emit(
        "IT1",
        str(ln.line_number),
        _num(ln.quantity),
        "EA",
        _num(ln.unit_price.amount),
        "",
        *product,
    )
    if ln.description:
        emit("PID", "F", "", "", "", ln.description)


def render_810(
    invoices: Sequence[Invoice] | Iterable[Invoice],
    *,
    sender_id: str,
    receiver_id: str,
    sender_qualifier: str = "ZZ",
    receiver_qualifier: str = "ZZ",
    interchange_control_number: int,
    group_control_number: int,
    version: str = "004010",
    separators: Separators = DEFAULT_SEPARATORS,
    created_at: datetime | None = None,
    test: bool = False,
    newline: bool = True,
) -> bytes:
    """One interchange, one IN group, one 810 per invoice."""
    invs = list(invoices)
    if not invs:
        raise RecordRejected("no invoices to render", code="empty")
    if not 0 < interchange_control_number < 10**9 or not 0 < group_control_number < 10**9:
        raise RecordRejected("control numbers must be 1..999999999", code="control_number")
    seps = separators.all()
    if len(seps) != (4 if separators.repetition else 3) or any(
        len(c) != 1 or c.isalnum() or c.isspace() for c in seps
    ):
        raise RecordRejected("separators must be distinct punctuation", code="separators")
    if not (len(version) >= 6 and version[:6].isascii() and version[:6].isdigit()):
        raise RecordRejected(f"version {version!r} is not like 004010", code="version")
    for label, value, width in (
        ("sender_id", sender_id, 15),
        ("receiver_id", receiver_id, 15),
        ("sender_qualifier", sender_qualifier, 2),
        ("receiver_qualifier", receiver_qualifier, 2),
    ):
        if not value.strip() or len(value) > width:
            raise RecordRejected(
                f"{label} {value!r} must be 1-{width} characters", code="envelope_id"
            )
    when = created_at or datetime.now(UTC)
    w = _Writer(separators, newline)
    isa12 = version[:5]
    isa11 = separators.repetition if separators.repetition and isa12 >= "00402" else "U"
    w.seg(
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        sender_qualifier,
        f"{sender_id:<15}"[:15],
        receiver_qualifier,
        f"{receiver_id:<15}"[:15],
        when.strftime("%y%m%d"),
        when.strftime("%H%M"),
        isa11,
        isa12,
        f"{interchange_control_number:09d}",
        "0",
        "T" if test else "P",
        separators.component,
        isa=True,
    )
    w.seg(
        "GS",
        "IN",
        sender_id,
        receiver_id,
        when.strftime("%Y%m%d"),
        when.strftime("%H%M"),
        str(group_control_number),
        "X",
        version,
    )
    for n, inv in enumerate(invs, start=1):
        start = len(w.out)
        control = f"{n:04d}"
        w.seg("ST", "810", control)
        _invoice_segments(w, inv)
        w.seg("SE", str(len(w.out) - start + 1), control)
    w.seg("GE", str(len(invs)), str(group_control_number))
    w.seg("IEA", "1", f"{interchange_control_number:09d}")
    return "".join(w.out).encode("utf-8")
