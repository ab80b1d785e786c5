"""X12 tokenizer quirks, envelope checks, 820 cash-application math, 997 acknowledgements."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billbridge.errors import ParseError
from canonical import Money, RemittanceLine
from connectors.feeds import x12
from connectors.feeds.model import Acknowledgement
from connectors.feeds.x12.tokenizer import tokenize
from tests.feeds_edi.golden import FIXTURES

ISA = (
    "ISA*00*          *00*          *ZZ*ACMEPAYER      *ZZ*BILLBRIDGE     *240315*1200*U*"
    "00401*000000101*0*P*>~"
)


def _820(body: str, *, bpr_total: str = "100.00") -> bytes:
    segs = [f"BPR*C*{bpr_total}*C*ACH*CCD************20240315", "TRN*1*T-1", *body.split("|")]
    count = len(segs) + 2
    text = (
        "~".join(
            [
                ISA[:-1],
                "GS*RA*A*B*20240315*1200*1*X*004010",
                "ST*820*0001",
                *segs,
                f"SE*{count}*0001",
                "GE*1*1",
                "IEA*1*000000101",
            ]
        )
        + "~"
    )
    return text.encode()


def test_separators_come_from_the_isa_not_from_defaults() -> None:
    isa = ISA.replace("*", "|").replace(">~", "}\x85")
    data = (
        isa + "GS|RA|A|B|20240315|1200|1|X|004010\x85ST|820|1\x85"
        "BPR|C|5|C|CHK\x85RMR|IV|X-1||5\x85SE|4|1\x85GE|1|1\x85IEA|1|000000101"
    ).encode()
    tokens = tokenize(data, file_name="odd.edi")
    assert tokens.separators.element == "|"
    assert tokens.separators.component == "}"
    assert tokens.separators.segment == "\x85"
    rem = x12.parse(data, file_name="odd.edi").remittances[0]
    assert rem.lines[0].document_number == "X-1"
    assert rem.total == Money("5", "USD")


def test_repetition_separator_only_when_isa11_is_not_a_standard_id() -> None:
    assert tokenize(ISA.encode(), file_name="a").separators.repetition is None
    caret = ISA.replace("*U*", "*^*")
    assert tokenize(caret.encode(), file_name="a").separators.repetition == "^"


def test_segment_positions_count_lines_bytes_and_bom() -> None:
    data = b"\xef\xbb\xbf" + _820("RMR*IV*A*PI*100.00").replace(b"~", b"~\r\n  ")
    tokens = tokenize(data, file_name="p.edi")
    rmr = next(s for s in tokens.segments if s.tag == "RMR")
    assert data[rmr.offset : rmr.offset + 3] == b"RMR"
    assert rmr.line == 6
    assert rmr.raw == "RMR*IV*A*PI*100.00"


def test_missing_se_is_an_error_naming_the_segment() -> None:
    data = (ISA + "GS*RA*A*B*20240315*1200*1*X*004010~ST*820*0001~BPR*C*1*C*CHK~").encode()
    with pytest.raises(ParseError) as err:
        x12.parse(data, file_name="cut.edi")
    assert err.value.file == "cut.edi"
    assert err.value.segment == 4
    assert "SE" in (err.value.expected or "")


def test_st_inside_a_set_is_an_error() -> None:
    data = (ISA + "GS*RA*A*B*1*1*1*X*1~ST*820*1~ST*820*2~SE*2*2~GE*1*1~IEA*1*1~").encode()
    with pytest.raises(ParseError, match="ST inside transaction set"):
        x12.parse(data, file_name="nested.edi")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "ISA or ST"),
        (b"   \r\n ", "ISA or ST"),
        (b"ISA*00*", "16 ISA elements"),
        (b"ISA000000", "ISA position 4"),
        (b"hello world", "ISA"),
    ],
)
def test_not_x12_is_a_parse_error(data: bytes, expected: str) -> None:
    with pytest.raises(ParseError) as err:
        x12.parse(data, file_name="bad.edi")
    assert expected in (err.value.expected or "")


def test_padded_control_numbers_and_missing_final_terminator_are_tolerated() -> None:
    result = x12.parse((FIXTURES / "x12/820_quirks.edi").read_bytes(), file_name="q.edi")
    assert result.warnings == []
    assert [r.trace_number for r in result.remittances] == ["ACH-0001-A", "FALLBACK-TRACE-2"]


def test_control_count_and_number_mismatches_are_warnings() -> None:
    result = x12.parse((FIXTURES / "x12/820_bad_counts.edi").read_bytes(), file_name="c.edi")
    codes = sorted(w.code for w in result.warnings)
    assert codes == ["control_count_mismatch"] * 3 + ["control_number_mismatch"] * 3
    assert len(result.remittances) == 1


def test_short_pay_is_gross_minus_discount_minus_paid() -> None:
    result = x12.parse((FIXTURES / "x12/820_basic.edi").read_bytes(), file_name="b.edi")
    lines = {ln.document_number: ln for ln in result.remittances[0].lines}
    assert x12.short_pay(lines["INV-1002"]) == Money("35.00", "USD")  # 520 - 10 - 475
    assert lines["INV-1002"].adjustments[0].amount == Money("-35.00", "USD")
    assert x12.short_pay(lines["INV-1001"]).is_zero()
    no_gross = RemittanceLine(paid=Money("5", "USD"))
    assert x12.short_pay(no_gross).is_zero()


def test_tie_out_counts_entity_level_adx_but_not_item_level() -> None:
    # BPR 1500 = RMR04 (1000 + 475 - 100 + 150) + ENT-level ADX (-25); item ADX -35 ignored
    result = x12.parse((FIXTURES / "x12/820_basic.edi").read_bytes(), file_name="b.edi")
    rem = result.remittances[0]
    assert result.warnings == []
    assert [a.amount.amount for a in rem.adjustments] == [Decimal("-25.00")]
    assert rem.lines[2].paid == Money("-100.00", "USD")  # RMR04 may be negative


def test_remittance_that_does_not_tie_out_is_a_warning_not_a_failure() -> None:
    data = _820("RMR*IV*A*PI*60.00|RMR*IV*B*PI*30.00", bpr_total="100.00")
    result = x12.parse(data, file_name="t.edi")
    assert [w.code for w in result.warnings] == ["remittance_not_tied"]
    assert "90.00" in result.warnings[0].message
    assert result.remittances[0].total == Money("100.00", "USD")
    tied = x12.parse(_820("RMR*IV*A*PI*60.00|RMR*IV*B*PI*40.00"), file_name="t.edi")
    assert tied.warnings == []


def test_header_level_adx_counts_towards_tie_out() -> None:
    data = _820("ADX*-10.00*CS|RMR*IV*A*PI*110.00")
    result = x12.parse(data, file_name="t.edi")
    assert result.warnings == []
    assert result.remittances[0].adjustments[0].reason_code == "CS"


def test_invalid_amount_names_segment_and_element() -> None:
    with pytest.raises(ParseError) as err:
        x12.parse(_820("RMR*IV*A*PI*12,50"), file_name="amt.edi")
    assert "RMR04" in str(err.value)
    assert err.value.segment == 6


def test_ctx_fragment_without_isa_uses_backslash_terminators() -> None:
    text = "ST*820*0001\\BPR*C*10.00*C*ACH*CTX\\RMR*IV*Z-1**10.00\\SE*4*0001\\"
    rems, warnings = x12.parse_fragment(text, file_name="f", file_sha256="0")
    assert warnings == []
    assert rems[0].lines[0].document_number == "Z-1"
    assert rems[0].total == Money("10.00", "USD")


def test_bare_rmr_fragment_uses_the_default_total_and_trace() -> None:
    rems, _ = x12.parse_fragment(
        "RMR*IV*Q-9**7.50\\",
        file_name="f",
        file_sha256="0",
        default_total=Money("7.50", "USD"),
        default_trace="011000010000001",
    )
    assert rems[0].trace_number == "011000010000001"
    assert rems[0].lines[0].paid == Money("7.50", "USD")


def test_currency_from_cur_segment() -> None:
    data = _820("CUR*PR*JPY|RMR*IV*A*PI*100")
    rem = x12.parse(data, file_name="j.edi").remittances[0]
    assert rem.total.currency == "JPY"


def test_997_acknowledgements() -> None:
    result = x12.parse((FIXTURES / "x12/997_acks.edi").read_bytes(), file_name="a.edi")
    acks = {a.group_control_number: a for a in result.acknowledgements}
    assert acks["1001"].accepted
    assert acks["1001"].transaction_statuses == {"0001": "A", "0002": "A"}
    rejected = acks["000001002"]
    assert not rejected.accepted
    assert rejected.transaction_statuses == {"0001": "R"}
    assert any("IT1" in e for e in rejected.errors)


def test_999_accepted_with_errors_counts_as_accepted() -> None:
    result = x12.parse((FIXTURES / "x12/999_ack.edi").read_bytes(), file_name="a.edi")
    (ack,) = result.acknowledgements
    assert ack.accepted
    assert ack.transaction_statuses == {"0001": "E"}


def test_acknowledged_groups_marks_sent_groups() -> None:
    acks = [
        Acknowledgement(group_control_number="000001001", accepted=True),
        Acknowledgement(group_control_number="1002", accepted=False),
        Acknowledgement(group_control_number="1002", accepted=True),  # resend accepted
        Acknowledgement(group_control_number="1005", accepted=False),
    ]
    status = x12.acknowledged_groups([1001, "1002", "1003", "1005"], acks)
    assert status == {"1001": "accepted", "1002": "accepted", "1003": "pending", "1005": "rejected"}


def test_mixed_groups_keep_invoices_and_skip_other_sets_with_a_warning() -> None:
    result = x12.parse((FIXTURES / "x12/810_mixed_groups.edi").read_bytes(), file_name="m")
    assert [i.number for i in result.invoices] == ["INV-2001", "CR-3001"]
    assert [w.code for w in result.warnings] == ["unsupported_transaction_set"]
    inv, credit = result.invoices
    assert inv.total == Money("680.80", "USD")  # TDS*68080, N2
    assert inv.lines[1].amount == Money("360.75", "USD")  # 3 x 120.25, R price
    assert inv.lines[2].description == "Freight"  # SAC charge
    assert inv.tax_lines[0].rate == Decimal("6.25")
    assert inv.payment_terms == "2% 10 NET 30"
    assert str(inv.due_date) == "2024-03-31"
    assert credit.lines[0].unit_price == Money("-45.00", "USD")
    assert credit.extra["transaction_type"] == "CR"


def test_no_supported_sets_is_a_warning() -> None:
    data = (ISA + "GS*PO*A*B*1*1*1*X*1~ST*850*1~BEG*00~SE*3*1~GE*1*1~IEA*1*000000101~").encode()
    result = x12.parse(data, file_name="po.edi")
    assert {w.code for w in result.warnings} == {"unsupported_transaction_set", "no_entries"}


@pytest.mark.shared
def test_staedi_sample_has_two_810s(shared_dir: object) -> None:
    from pathlib import Path

    path = Path(str(shared_dir)) / "samples/x12/staedi__simple810.edi"
    result = x12.parse(path.read_bytes(), file_name=path.name)
    first, second = result.invoices
    assert first.total == Money("2554.38", "USD")  # TDS*255438, two implied decimals
    assert first.subtotal == first.total  # 207 cases x 12.34
    assert len(first.lines) == 7
    assert second.lines_subtotal() == Money("1851.00", "USD")
    # the sample's second TDS repeats the first invoice's total: flagged, not hidden
    assert [w.code for w in result.warnings] == ["invoice_total_mismatch"]


def test_strict_makes_envelope_mismatches_errors_but_not_tie_outs() -> None:
    data = (FIXTURES / "x12/820_bad_counts.edi").read_bytes()
    with pytest.raises(ParseError) as err:
        x12.parse(data, file_name="c.edi", strict=True)
    assert err.value.segment == 7  # the SE with the wrong count
    untied = _820("RMR*IV*A*PI*1.00")
    result = x12.parse(untied, file_name="t.edi", strict=True)
    assert [w.code for w in result.warnings] == ["remittance_not_tied"]


def test_bad_default_currency_is_configuration() -> None:
    from billbridge.errors import ConfigError

    with pytest.raises(ConfigError):
        x12.parse(_820("RMR*IV*A*PI*100.00"), file_name="t.edi", currency="XXQ")


def test_a_bare_st_file_parses_without_an_envelope() -> None:
    text = "ST*820*0001~BPR*C*5.00*C*CHK~TRN*1*CHK-1~RMR*IV*B-1*PI*5.00~SE*5*0001~"
    result = x12.parse(text.encode(), file_name="bare.edi")
    assert result.warnings == []
    assert result.remittances[0].trace_number == "CHK-1"


@pytest.mark.parametrize("terminator", ["~", "~\n", "~\r\n", "\r", "\n", "\r\n", "\\", "'"])
def test_any_terminator_declared_after_isa16(terminator: str) -> None:
    segs = [
        ISA[:-1],
        "GS*RA*A*B*20240315*1200*1*X*004010",
        "ST*820*0001",
        "BPR*C*12.00*C*CHK",
        "TRN*1*T-9",
        "RMR*IV*A-1*PI*12.00",
        "SE*5*0001",
        "GE*1*1",
        "IEA*1*000000101",
    ]
    data = terminator.join(segs).encode()  # and no final terminator
    result = x12.parse(data, file_name="t.edi")
    assert result.warnings == []
    assert result.remittances[0].lines[0].document_number == "A-1"


def test_isa_with_unpadded_fields_is_read_by_counting_separators() -> None:
    isa = "ISA*00**00**ZZ*SHORT*ZZ*ALSO*240315*1200*U*00401*5*0*P*>~"
    data = isa + "GS*RA*A*B*1*1*5*X*004010~ST*820*1~BPR*C*1*C*CHK~SE*3*1~GE*1*5~IEA*1*5~"
    result = x12.parse(data.encode(), file_name="short.edi")
    assert result.warnings == []
    assert result.remittances[0].total == Money("1", "USD")


def test_sniff() -> None:
    assert x12.sniff(b"\xef\xbb\xbf  ISA*03*x")
    assert x12.sniff(b"ST*820*0001\\BPR*C")
    assert not x12.sniff(b"UNB+UNOC:3")
    assert not x12.sniff(b"01,BANK,CUST,240101/")


def test_interchange_wrapped_at_80_columns() -> None:
    flat = (FIXTURES / "x12/820_basic.edi").read_bytes().replace(b"\n", b"")
    wrapped = b"\r\n".join(flat[i : i + 80] for i in range(0, len(flat), 80))
    a = x12.parse(flat, file_name="flat.edi").remittances
    b = x12.parse(wrapped, file_name="wrapped.edi").remittances
    drop = {"provenance": True, "lines": {"__all__": {"provenance"}}}
    assert [r.model_dump(exclude=drop) for r in a] == [r.model_dump(exclude=drop) for r in b]
    assert b[0].lines[1].provenance is not None
    assert b[0].lines[1].provenance.line > 1


def test_short_pay_without_adx_reason_is_flagged() -> None:
    data = _820("RMR*IV*A*PI*90.00*100.00|RMR*IV*B*PI*10.00*12.00*2.00")
    result = x12.parse(data, file_name="d.edi")
    (warning,) = result.warnings
    assert warning.code == "deduction_without_reason"
    assert "10.00" in warning.message
    assert warning.segment == 6
    explained = _820("RMR*IV*A*PI*90.00*100.00|ADX*-10.00*01|RMR*IV*B*PI*10.00")
    assert x12.parse(explained, file_name="d.edi").warnings == []


def test_ta1_interchange_acknowledgement_is_reported() -> None:
    data = (ISA + "TA1*000000042*240316*0900*R*022~IEA*0*000000101~").encode()
    result = x12.parse(data, file_name="ta1.edi")
    assert result.meta["interchange_acknowledgements"] == [
        {"interchange_control": "000000042", "status": "R", "note_code": "022"}
    ]
    assert result.warnings == []


AMOUNT = st.integers(-(10**9), 10**9).map(lambda n: Decimal(n).scaleb(-2))


@settings(max_examples=60, deadline=None)
@given(
    paid=st.lists(AMOUNT, min_size=1, max_size=8),
    deductions=st.lists(AMOUNT, max_size=3),
    off_by=st.integers(-(10**6), 10**6).filter(bool).map(lambda n: Decimal(n).scaleb(-2)),
)
def test_820_tie_out_property(
    paid: list[Decimal], deductions: list[Decimal], off_by: Decimal
) -> None:
    body = "|".join(
        ["ENT*1", *(f"ADX*{d}*CS" for d in deductions)]
        + [f"RMR*IV*I-{i}*PI*{p}" for i, p in enumerate(paid)]
    )
    total = sum(paid, Decimal(0)) + sum(deductions, Decimal(0))
    tied = x12.parse(_820(body, bpr_total=str(total)), file_name="p.edi")
    assert tied.warnings == []
    rem = tied.remittances[0]
    assert [ln.paid.amount for ln in rem.lines] == paid
    assert [a.amount.amount for a in rem.adjustments] == deductions
    untied = x12.parse(_820(body, bpr_total=str(total + off_by)), file_name="p.edi")
    assert [w.code for w in untied.warnings] == ["remittance_not_tied"]
