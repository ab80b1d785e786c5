"""Generated 810s read back into the same invoices; what an 810 cannot carry is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billbridge.errors import RecordRejected
from canonical import Invoice, InvoiceLine, Money, TaxLine, minor_units, sum_money
from connectors.feeds import x12
from connectors.feeds.x12.tokenizer import Separators, tokenize

WHEN = datetime(2024, 3, 1, 10, 30, tzinfo=UTC)
TEXT = (
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -./#", min_size=1, max_size=20)
    .map(str.strip)
    .filter(bool)
)
CURRENCIES = st.sampled_from(["USD", "EUR", "JPY", "BHD"])


def _decimal(places: int, lo: int, hi: int) -> st.SearchStrategy[Decimal]:
    return st.integers(lo, hi).map(lambda n: Decimal(n).scaleb(-places))


@st.composite
def invoices(draw: st.DrawFn) -> Invoice:
    ccy = draw(CURRENCIES)
    exp = minor_units(ccy)
    items = []
    for n in range(1, draw(st.integers(1, 5)) + 1):
        qty = draw(_decimal(draw(st.integers(0, 3)), 1, 100_000))
        price = Money(draw(_decimal(draw(st.integers(0, 4)), -(10**7), 10**7)), ccy)
        items.append(
            InvoiceLine(
                line_number=n,
                quantity=qty,
                unit_price=price,
                amount=price * qty,
                description=draw(st.none() | TEXT),
                sku=draw(st.none() | TEXT),
            )
        )
    charges = [
        InvoiceLine(
            line_number=len(items) + k,
            amount=Money.from_minor(draw(st.integers(-(10**8), 10**8)), ccy),
            description=draw(st.none() | TEXT),
        )
        for k in range(1, draw(st.integers(0, 2)) + 1)
    ]
    lines = tuple(items + charges)
    taxes = tuple(
        TaxLine(
            tax_code=draw(st.sampled_from(["ST", "VA", "GS"])),
            tax_amount=Money(draw(_decimal(exp, 0, 10**8)), ccy),
            rate=draw(st.none() | _decimal(2, 0, 3000)),
            jurisdiction=draw(st.none() | st.sampled_from(["WA", "CA", "NY"])),
        )
        for _ in range(draw(st.integers(0, 2)))
    )
    subtotal = sum_money([ln.amount for ln in lines], ccy)
    tax_total = sum_money([t.tax_amount for t in taxes], ccy)
    # TDS is N2: a total with sub-minor digits cannot be sent, so generate whole amounts
    total = Money.from_minor(draw(st.integers(-(10**10), 10**10)), ccy)
    issue = draw(st.dates(date(2000, 1, 1), date(2099, 12, 31)))
    return Invoice(
        source_system="billing",
        source_id="x",
        number=draw(TEXT),
        customer_id=draw(TEXT),
        issue_date=issue,
        due_date=draw(st.none() | st.dates(issue, date(2099, 12, 31))),
        currency=ccy,
        lines=lines,
        tax_lines=taxes,
        subtotal=subtotal,
        tax_total=tax_total,
        total=total,
        po_number=draw(st.none() | TEXT),
        payment_terms=draw(st.none() | TEXT),
    )


def _business(inv: Invoice) -> dict[str, Any]:
    return inv.model_dump(exclude={"source_system", "source_id", "provenance", "extra"})


def _render(invs: list[Invoice], **kw: Any) -> bytes:
    args: dict[str, Any] = {
        "sender_id": "BILLBRIDGE",
        "receiver_id": "PARTNER",
        "interchange_control_number": 42,
        "group_control_number": 7,
        "created_at": WHEN,
    }
    return x12.render_810(invs, **(args | kw))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(invoices(), min_size=1, max_size=3))
def test_reading_back_a_rendered_810_gives_the_same_invoices(invs: list[Invoice]) -> None:
    data = _render(invs)
    result = x12.parse(data, file_name="out.edi")
    assert [_business(i) for i in result.invoices] == [_business(i) for i in invs]
    assert [w for w in result.warnings if w.code != "invoice_total_mismatch"] == []


def _simple(number: str = "INV-1", total: str = "25.00") -> Invoice:
    line = InvoiceLine(
        line_number=1,
        quantity=Decimal(2),
        unit_price=Money("12.50", "USD"),
        amount=Money("25.00", "USD"),
    )
    return Invoice(
        source_system="b",
        source_id=number,
        number=number,
        customer_id="C-1",
        issue_date=date(2024, 3, 1),
        currency="USD",
        lines=(line,),
        subtotal=Money("25.00", "USD"),
        tax_total=Money("0", "USD"),
        total=Money(total, "USD"),
    )


def test_envelope_control_numbers_and_counts() -> None:
    data = _render(
        [_simple("A"), _simple("B")], version="005010", separators=Separators("*", ":", "^", "~")
    )
    tokens = tokenize(data, file_name="o")
    segs = {s.tag: s for s in tokens.segments}
    isa = segs["ISA"]
    assert len(isa.raw) + 1 == 106  # fixed-width ISA including the terminator
    assert isa.el(11) == "^"
    assert isa.el(12) == "00501"
    assert isa.el(13) == "000000042"
    assert segs["GS"].el(6) == "7"
    assert segs["GS"].el(8) == "005010"
    assert segs["GE"].el(1) == "2"
    assert segs["IEA"].el(2) == "000000042"
    assert x12.parse(data, file_name="o").warnings == []  # SE/GE/IEA counts all agree


def test_tds_uses_implied_decimals_of_the_currency() -> None:
    inv = _simple(total="25.00")
    assert b"TDS*2500~" in _render([inv])
    jpy_line = InvoiceLine(
        line_number=1,
        quantity=Decimal(3),
        unit_price=Money("100", "JPY"),
        amount=Money("300", "JPY"),
    )
    jpy = inv.model_copy(
        update={
            "currency": "JPY",
            "lines": (jpy_line,),
            "subtotal": Money("300", "JPY"),
            "tax_total": Money("0", "JPY"),
            "total": Money("300", "JPY"),
        }
    )
    assert b"TDS*300~" in _render([jpy])


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"total": Money("25.001", "USD")}, "amount_not_representable"),
        ({"number": "INV*1"}, "separator_in_data"),
        ({"customer_id": "C~1"}, "separator_in_data"),
        ({"subtotal": Money("99.00", "USD")}, "totals_inconsistent"),
    ],
)
def test_writer_refuses_what_an_810_cannot_carry(change: dict[str, Any], code: str) -> None:
    inv = _simple().model_copy(update=change)
    with pytest.raises(RecordRejected) as err:
        _render([inv])
    assert err.value.code == code


def test_writer_refuses_line_amount_that_is_not_quantity_times_price() -> None:
    inv = _simple()
    bad = inv.lines[0].model_copy(update={"amount": Money("24.99", "USD")})
    inv = inv.model_copy(update={"lines": (bad,), "subtotal": Money("24.99", "USD")})
    with pytest.raises(RecordRejected) as err:
        _render([inv])
    assert err.value.code == "line_amount_inconsistent"


def test_writer_needs_invoices_and_valid_control_numbers() -> None:
    with pytest.raises(RecordRejected):
        _render([])
    with pytest.raises(RecordRejected):
        _render([_simple()], interchange_control_number=0)


@pytest.mark.parametrize(
    "override",
    [{"sender_id": "X" * 16}, {"receiver_id": ""}, {"sender_qualifier": "ZZZ"}],
)
def test_envelope_ids_that_do_not_fit_the_isa_are_refused(override: dict[str, Any]) -> None:
    with pytest.raises(RecordRejected) as err:
        _render([_simple()], **override)
    assert err.value.code == "envelope_id"


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"separators": Separators("*", "*", None, "~")}, "separators"),
        ({"separators": Separators("A", ">", None, "~")}, "separators"),
        ({"separators": Separators("*", ">", None, "\n")}, "separators"),
        ({"version": "4010"}, "version"),
    ],
)
def test_unusable_envelope_settings_are_refused(override: dict[str, Any], code: str) -> None:
    with pytest.raises(RecordRejected) as err:
        _render([_simple()], **override)
    assert err.value.code == code
