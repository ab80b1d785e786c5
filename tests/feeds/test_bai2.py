"""BAI2: tokenizer quirks, control totals, negative cases, differential check vs ``bai2``."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from billbridge.errors import ParseError
from connectors.feeds import bai2
from connectors.feeds.bai2 import type_codes
from connectors.feeds.bai2.tokenizer import Tokenizer, split_16
from connectors.feeds.normalize import iter_lines


def _file(*records: str, account_total: int, records_in_account: int) -> bytes:
    """A minimal valid file around the given 16/88 records (totals filled in)."""
    body = [
        "01,SENDER,RECEIVER,240301,0800,F1,,,2/",
        "02,RECEIVER,BANK,1,240229,2400,USD,2/",
        "03,ACC-1,,015,0,,/",
        *records,
        f"49,{account_total},{records_in_account + 2}/",
        f"98,{account_total},1,{records_in_account + 4}/",
        f"99,{account_total},1,{records_in_account + 6}/",
    ]
    return ("\n".join(body) + "\n").encode()


def test_tokenizer_joins_88_and_splits_records_on_one_line() -> None:
    data = b"01,A,B,240301,0800,F,,,2/02,B,C,1,240229,,,2/\n03,X,USD,010,5,,/\n88,015,7,,/\n"
    recs = list(Tokenizer("t").records(iter_lines(data)))
    assert [r.code for r in recs] == ["01", "02", "03"]
    assert recs[2].fields == ["X", "USD", "010", "5", "", "", "015", "7", "", ""]
    assert recs[2].continuations == 1
    assert recs[1].raw_text == "02,B,C,1,240229,,,2/"


def test_split_16_keeps_slash_inside_reference_and_commas_in_text() -> None:
    fields, text, closed, rest = split_16("195,100,0,BANK/REF,CUST/1,TEXT, WITH, COMMAS")
    assert fields == ["195", "100", "0", "BANK/REF", "CUST/1"]
    assert text == "TEXT, WITH, COMMAS"
    assert rest is None
    assert not closed


def test_split_16_funds_type_d_and_next_record_on_line() -> None:
    fields, text, closed, rest = split_16("165,300,D,2,0,100,1,200,BR,CR,TXT/ 16,409,1,0,,,X/")
    assert fields[:4] == ["165", "300", "D", "2"]
    assert fields[8:] == ["BR", "CR"]
    assert text == "TXT"
    assert closed
    assert rest == "16,409,1,0,,,X/"


@pytest.mark.parametrize(
    ("record", "bank_ref", "customer_ref", "text"),
    [
        (
            "16,195,100,Z,BR1,CR1,INVOICES 12/01,12/02 PAID/",
            "BR1",
            "CR1",
            "INVOICES 12/01,12/02 PAID",
        ),
        (
            "16,195,100,Z,BR1,CR1,PAYMENT FOR INV 2024/16,2024/17/",
            "BR1",
            "CR1",
            "PAYMENT FOR INV 2024/16,2024/17",
        ),
        ("16,195,100,Z,BR1,PO 2024/03,WIRE/", "BR1", "PO 2024/03", "WIRE"),
        ("16,195,100,Z,BR/2024/01,PO 12-34,WIRE/", "BR/2024/01", "PO 12-34", "WIRE"),
        ("16,195,100,Z,FT24030/88,CR1,WIRE/", "FT24030/88", "CR1", "WIRE"),
        ("16,195,100,Z,BR1,CR1,SETTLED 2024/99,1,2/", "BR1", "CR1", "SETTLED 2024/99,1,2"),
    ],
)
def test_slash_and_digits_inside_references_and_text_do_not_end_the_record(
    record: str, bank_ref: str, customer_ref: str, text: str
) -> None:
    result = bai2.parse(_file(record, account_total=100, records_in_account=1), file_name="s.bai")
    [tx] = result.transactions
    assert (tx.bank_reference, tx.customer_reference, tx.remittance_text) == (
        bank_ref,
        customer_ref,
        text,
    )


def test_records_sharing_a_line_still_split_when_a_real_record_follows() -> None:
    line = "16,195,100,Z,BR1,CR1,INV 12/01/16,195,200,Z,BR2,CR2,NEXT/ 49,300,4/"
    data = _file(line, account_total=300, records_in_account=2).replace(b"\n49,300,4/", b"")
    result = bai2.parse(data, file_name="s.bai")
    assert [(t.bank_reference, t.remittance_text) for t in result.transactions] == [
        ("BR1", "INV 12/01"),
        ("BR2", "NEXT"),
    ]


def test_sign_from_type_code_not_from_text() -> None:
    data = _file(
        "16,495,1000,0,REF1,,ACH CREDIT PAYMENT/", account_total=1000, records_in_account=1
    )
    tx = bai2.parse(data, file_name="f").transactions[0]
    assert tx.amount.amount == Decimal("-10.00")  # 495 outgoing money transfer: a debit


def test_currency_minor_units_from_03_then_02_then_default() -> None:
    data = (
        b"01,S,R,240301,0800,F1,,,2/\n02,R,B,1,240229,,,2/\n"
        b"03,A1,KWD,015,1000,,/\n16,108,1234,0,,,X/\n49,2234,3/\n"
        b"03,A2,,015,1000,,/\n16,108,1234,0,,,X/\n49,2234,3/\n98,4468,2,8/\n99,4468,1,10/\n"
    )
    result = bai2.parse(data, file_name="f")
    assert [str(t.amount) for t in result.transactions] == ["1.234 KWD", "12.34 USD"]


def test_wrong_account_total_strict_raises_with_line() -> None:
    data = _file("16,108,1000,0,,,X/", account_total=999, records_in_account=1)
    with pytest.raises(ParseError) as err:
        bai2.parse(data, file_name="bad.bai2")
    assert err.value.line == 5
    assert "account control total 999" in str(err.value)


def test_wrong_totals_lenient_warns_instead() -> None:
    data = _file("16,108,1000,0,,,X/", account_total=999, records_in_account=1)
    result = bai2.parse(data, file_name="bad.bai2", strict=False)
    codes = [w.code for w in result.warnings]
    # the group and file trailers sum the 49 totals as written, so only the account fails
    assert codes == ["control_total_mismatch"]
    assert result.transactions[0].amount.amount == Decimal("10.00")


def test_wrong_record_count_is_detected() -> None:
    data = _file("16,108,1000,0,,,X/", account_total=1000, records_in_account=2)
    with pytest.raises(ParseError, match="record count"):
        bai2.parse(data, file_name="f")


def test_details_only_totals_setting() -> None:
    data = _file("16,108,1000,0,,,X/", account_total=1000, records_in_account=1).replace(
        b"03,ACC-1,,015,0,,/", b"03,ACC-1,,015,500,,/"
    )
    with pytest.raises(ParseError):
        bai2.parse(data, file_name="f")
    result = bai2.parse(data, file_name="f", control_totals="details")
    assert result.statements[0].balance("closing_booked") is not None


def test_test_only_group_is_refused() -> None:
    data = _file("16,108,1000,0,,,X/", account_total=1000, records_in_account=1).replace(
        b"02,RECEIVER,BANK,1,", b"02,RECEIVER,BANK,4,"
    )
    with pytest.raises(ParseError, match="test only"):
        bai2.parse(data, file_name="f")


def test_unknown_type_code_in_range_warns_and_keeps_range_sign() -> None:
    data = _file("16,398,1000,0,,,X/", account_total=1000, records_in_account=1)
    assert type_codes.lookup("398") is not None
    data = data.replace(b"16,398", b"16,298")
    assert not type_codes.lookup("298").known  # type: ignore[union-attr]
    result = bai2.parse(data, file_name="f")
    assert [w.code for w in result.warnings] == ["unknown_type_code"]
    assert result.transactions[0].amount.amount > 0


def test_type_code_outside_every_range_is_an_error() -> None:
    data = _file("16,850,1000,0,,,X/", account_total=1000, records_in_account=1)
    with pytest.raises(ParseError, match="unknown type code '850'"):
        bai2.parse(data, file_name="f")


def test_zero_entry_file_warns() -> None:
    data = _file(account_total=0, records_in_account=0)
    result = bai2.parse(data, file_name="f")
    assert result.transactions == []
    assert [w.code for w in result.warnings] == ["no_entries"]


@pytest.mark.parametrize("payload", [b"", b"   \n", b"01,S,R,240301,0800,F1,,,2/\n"])
def test_empty_or_truncated_file_is_an_error(payload: bytes) -> None:
    with pytest.raises(ParseError):
        bai2.parse(payload, file_name="f")


def test_status_code_in_detail_and_garbage_line_are_errors() -> None:
    with pytest.raises(ParseError, match="status type code"):
        bai2.parse(_file("16,015,1,0,,,X/", account_total=1, records_in_account=1), file_name="f")
    with pytest.raises(ParseError, match="unexpected text"):
        bai2.parse(
            _file("49,0,2/", "GARBAGE", account_total=0, records_in_account=0), file_name="f"
        )


def test_interim_modifier_marks_statement_intraday() -> None:
    data = _file("16,108,1000,0,,,X/", account_total=1000, records_in_account=1).replace(
        b"2400,USD,2/", b"2400,USD,3/"
    )
    stmt = bai2.parse(data, file_name="f").statements[0]
    assert stmt.intraday
    assert stmt.extra["as_of_time"] == "24:00"


def test_streaming_api_yields_statements_one_by_one() -> None:
    data = Path(__file__).with_name("fixtures").joinpath("bai2", "quirks.bai2").read_bytes()
    warnings: list = []
    stream = bai2.iter_statements(iter_lines(data), file_name="q", warnings=warnings)
    first = next(stream)
    assert first.account_id == "DE-ACC-1"
    assert [s.account_id for s in stream] == ["JP-ACC", "BH-ACC", "US-ACC"]
    assert [w.code for w in warnings] == ["control_total_missing"]


@pytest.mark.shared
def test_shared_samples_verify_totals_and_details(shared_dir: Path) -> None:
    citi = (shared_dir / "samples/bai2/ministryofjustice_bai2__citi_example.bai2").read_bytes()
    result = bai2.parse(citi, file_name="citi")
    tx = result.transactions[0]
    assert (str(tx.amount), tx.bank_reference, tx.customer_reference) == (
        "0.01 GBP",
        "1234567890",
        "RP12312312312312",
    )
    assert tx.extra["text_keys"]["TRID"] == "RP12312312312312"
    moov = (shared_dir / "samples/bai2/moov-io_bai2__sample1.txt").read_bytes()
    result = bai2.parse(moov, file_name="moov")
    assert len(result.transactions) == 17
    assert sum(t.amount.amount for t in result.transactions) == Decimal(0)
    assert result.statements[0].extra["summaries"]["100"]["count"] == 3


def test_differential_against_bai2_library() -> None:
    """On a spec-clean file our amounts, references and signs agree with ``bai2``."""
    lib = pytest.importorskip("bai2.bai2")
    data = _file(
        "16,108,1000,0,BR1,CR1,DEPOSIT/",
        "16,475,250,0,BR2,1001,CHECK/",
        account_total=1250,
        records_in_account=2,
    )
    theirs = lib.parse_from_string(data.decode())
    their_details = [d for g in theirs.children for a in g.children for d in a.children]
    ours = bai2.parse(data, file_name="f").transactions
    assert [(d.amount, d.bank_reference, d.customer_reference) for d in their_details] == [
        (abs(t.amount.to_minor()), t.bank_reference, t.customer_reference) for t in ours
    ]
    assert [d.type_code.transaction.value for d in their_details] == [
        "credit" if t.amount.amount > 0 else "debit" for t in ours
    ]


def test_fixed_length_wrap_joins_without_space_and_negative_totals() -> None:
    text = "INVOICE NUMBERS 1001 1002 1003 ARE PAID IN FULL WITH THANKS FROM ACME"
    first = f"16,108,1000,0,BR1,,{text}"
    line = first[:80]
    data = (
        "01,S,R,240301,0800,F1,80,1,2/\n02,R,B,1,240229,,USD,2/\n03,ACC-1,,015,-5000,,/\n"
        f"{line}\n{first[80:]}/\n49,-4000,3/\n98,-4000,1,5/\n99,-4000,1,7/\n"
    ).encode()
    result = bai2.parse(data, file_name="f")
    assert len(line) == 80
    assert result.transactions[0].remittance_text == text
    assert result.statements[0].balance("closing_booked") is not None
    assert str(result.statements[0].balance("closing_booked")) == "-50.00 USD"


@pytest.mark.parametrize(
    ("written", "expected"),
    [("2400", "24:00"), ("9999", "24:00"), ("0930", "09:30"), ("14:59:35", "14:59:35"), ("", None)],
)
def test_as_of_times(written: str, expected: str | None) -> None:
    data = _file(account_total=0, records_in_account=0).replace(b",2400,", f",{written},".encode())
    assert bai2.parse(data, file_name="f").statements[0].extra.get("as_of_time") == expected


def test_bank_specific_type_codes_override_the_table() -> None:
    data = _file("16,850,1000,0,,,BANK OWN CODE/", account_total=1000, records_in_account=1)
    with pytest.raises(ParseError):
        bai2.parse(data, file_name="f")
    result = bai2.parse(data, file_name="f", type_code_overrides={"850": "debit"})
    assert result.transactions[0].amount.amount == Decimal("-10.00")
    assert result.warnings == []
