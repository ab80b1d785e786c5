"""EDIFACT tokenizer (UNA, release character, wrapping) and REMADV/INVOIC mapping."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billbridge.errors import ParseError
from canonical import Money
from connectors.feeds import edifact
from connectors.feeds.edifact.tokenizer import tokenize
from tests.feeds_edi.golden import FIXTURES

UNB = "UNB+UNOC:3+S:ZZ+R:ZZ+240320:0815+IC1'"


def _remadv(*body: str, una: str = "") -> bytes:
    segs = ["UNH+1+REMADV:D:96A:UN:EAN003", "BGM+481+RA-9+9", *body]
    text = una + UNB + "'".join([*segs, f"UNT+{len(segs) + 1}+1", "UNZ+1+IC1"]) + "'"
    return text.encode()


def test_release_character_escapes_separators() -> None:
    tokens = tokenize(b"UNB+A?+B:C?:D+E??F?'G'", file_name="r")
    seg = tokens.segments[0]
    assert seg.elements == (("A+B", "C:D"), ("E?F'G",))


def test_una_declares_all_service_characters() -> None:
    tokens = tokenize(b"UNA|#,! \nUNB#X|Y#Z!#W\nUNH#1", file_name="u")
    assert tokens.chars.component == "|"
    assert tokens.chars.decimal == ","
    assert tokens.chars.release == "!"
    assert tokens.chars.segment == "\n"  # newline terminator: lines are segments
    assert tokens.segments[0].elements == (("X", "Y"), ("Z#W",))


def test_una_with_unusable_separators_is_an_error() -> None:
    with pytest.raises(ParseError, match="UNA"):
        tokenize(b"UNA+++? 'UNB'", file_name="u")


def test_wrapped_file_reads_like_the_unwrapped_one() -> None:
    plain = (FIXTURES / "edifact/remadv_basic.edi").read_bytes()
    wrapped = (FIXTURES / "edifact/remadv_wrapped80.edi").read_bytes()
    a = edifact.parse(plain, file_name="a").remittances
    b = edifact.parse(wrapped, file_name="b").remittances
    drop = {"provenance": True, "lines": {"__all__": {"provenance"}}}
    assert [r.model_dump(exclude=drop) for r in a] == [r.model_dump(exclude=drop) for r in b]


def test_remadv_amounts_discount_and_adjustment_reasons() -> None:
    result = edifact.parse((FIXTURES / "edifact/remadv_basic.edi").read_bytes(), file_name="r")
    (rem,) = result.remittances
    assert result.warnings == []
    assert rem.trace_number == "PAY-778812"
    assert rem.payer_id == "5412345000013"
    assert rem.payee_name == "BILLBRIDGE DEMO GMBH"
    assert str(rem.payment_date) == "2024-03-18"  # DTM 203 execution date
    first, second = rem.lines
    assert (first.paid, first.gross, first.discount) == (
        Money("980.00", "EUR"),
        Money("1000.00", "EUR"),
        Money("20.00", "EUR"),
    )
    assert first.references == ("PO-1",)
    assert second.adjustments[0].reason_code == "4"
    assert second.adjustments[0].amount == Money("-14.50", "EUR")


def test_decimal_comma_ung_groups_and_several_messages() -> None:
    data = (FIXTURES / "edifact/remadv_una_comma_ung.edi").read_bytes()
    result = edifact.parse(data, file_name="c")
    assert result.meta["service_chars"]["decimal"] == ","
    first, second = result.remittances
    assert first.total == Money("19.90", "EUR")
    assert first.payer_name == "M+S HANDEL'S GMBH"
    assert second.lines[0].paid.amount == Decimal("1000.5")  # as written, never rounded
    assert [w.code for w in result.warnings] == ["remittance_not_tied"]


def test_missing_remitted_amount_is_derived_with_a_warning() -> None:
    data = _remadv("MOA+12:90", "DOC+380+X-1", "MOA+9:100", "MOA+52:10")
    result = edifact.parse(data, file_name="d")
    assert result.remittances[0].lines[0].paid == Money("90", "EUR")
    assert [w.code for w in result.warnings] == ["derived_amount"]


def test_document_without_any_amount_is_an_error_with_segment() -> None:
    with pytest.raises(ParseError) as err:
        edifact.parse(_remadv("MOA+12:90", "DOC+380+X-1", "DTM+137:20240101:102"), file_name="e")
    assert err.value.segment == 5
    assert "MOA" in (err.value.expected or "")


def test_bad_number_and_date_name_the_segment() -> None:
    with pytest.raises(ParseError, match="MOA"):
        edifact.parse(_remadv("MOA+12:1.234,5"), file_name="n")
    with pytest.raises(ParseError, match="date"):
        edifact.parse(_remadv("DTM+137:20241399:102", "MOA+12:1"), file_name="n")


def test_unterminated_message_is_an_error() -> None:
    with pytest.raises(ParseError, match="UNT"):
        edifact.parse(f"{UNB}UNH+1+REMADV:D:96A:UN'BGM+481+X'".encode(), file_name="t")


def test_count_mismatches_are_warnings() -> None:
    data = _remadv("MOA+12:5", "DOC+380+A", "MOA+12:5").replace(b"UNT+6+1", b"UNT+9+2")
    codes = sorted(w.code for w in edifact.parse(data, file_name="w").warnings)
    assert codes == ["control_count_mismatch", "control_number_mismatch"]


def test_invoic_lines_taxes_and_totals() -> None:
    result = edifact.parse((FIXTURES / "edifact/invoic_custom_una.edi").read_bytes(), file_name="i")
    (inv,) = result.invoices
    assert result.warnings == []
    assert inv.number == "INV-4001"
    assert inv.customer_id == "5412345000099"  # invoicee before buyer
    assert inv.po_number == "PO-4711"
    assert str(inv.due_date) == "2024-03-31"
    assert inv.lines[0].description == "Widget deluxe~ with tilde*"  # released separators
    assert inv.lines[1].quantity == Decimal("1.5")
    assert inv.tax_lines[0].rate == Decimal("19")
    assert inv.tax_lines[0].taxable_amount == Money("200.00", "EUR")
    assert (inv.subtotal, inv.tax_total, inv.total) == (
        Money("200.00", "EUR"),
        Money("38.00", "EUR"),
        Money("238.00", "EUR"),
    )


def test_unsupported_message_is_a_warning() -> None:
    data = f"{UNB}UNH+1+ORDERS:D:96A:UN'BGM+220+PO'UNT+3+1'UNZ+1+IC1'".encode()
    result = edifact.parse(data, file_name="o")
    assert {w.code for w in result.warnings} == {"unsupported_message", "no_entries"}


def test_latin1_file_is_read_with_fallback_encoding() -> None:
    data = _remadv("NAD+PR+++MÜLLER AG", "MOA+12:1", "DOC+380+A", "MOA+12:1")
    result = edifact.parse(data.decode().encode("latin-1"), file_name="l")
    assert result.encoding == "latin-1"
    assert result.remittances[0].payer_name == "MÜLLER AG"


def test_strict_makes_count_mismatches_errors() -> None:
    data = _remadv("MOA+12:5", "DOC+380+A", "MOA+12:5").replace(b"UNT+6+1", b"UNT+9+1")
    with pytest.raises(ParseError, match="UNT"):
        edifact.parse(data, file_name="s", strict=True)
    tied_off = _remadv("MOA+12:5", "DOC+380+A", "MOA+12:4")
    assert edifact.parse(tied_off, file_name="s", strict=True).warnings[0].code == (
        "remittance_not_tied"
    )


def test_dli_line_adjustments_belong_to_their_document() -> None:
    data = _remadv(
        "MOA+12:95",
        "DOC+380+A-1",
        "MOA+9:100",
        "MOA+12:95",
        "DLI+1+10",
        "MOA+203:50",
        "AJT+3",
        "MOA+8:-5",
    )
    (rem,) = edifact.parse(data, file_name="dli").remittances
    (line,) = rem.lines
    assert line.paid == Money("95", "EUR")  # the DLI's MOA+203 does not replace MOA+12
    (adj,) = line.adjustments
    assert (adj.reason_code, adj.amount, adj.description) == ("3", Money("-5", "EUR"), "line 10")
