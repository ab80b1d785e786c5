"""camt, MT940, OFX and bank-CSV behaviour beyond the goldens: negative cases and quirks."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from billbridge.errors import ConfigError, ParseError
from connectors.feeds import bank_csv, camt, lockbox, mt940, ofx
from connectors.feeds.bank_csv import parse_amount
from connectors.feeds.bank_csv_profile import load_profile
from connectors.feeds.mt940_details import parse_details
from tests.feeds.conftest import FIXTURES

CAMT = """<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{v}"><BkToCstmrStmt><Stmt>
<Id>S1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">10.00</Amt>
<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-03-01</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{closing}</Amt>
<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-03-01</Dt></Dt></Bal>
{entries}</Stmt></BkToCstmrStmt></Document>"""
ENTRY = """<Ntry><Amt Ccy="EUR">{amt}</Amt><CdtDbtInd>{ind}</CdtDbtInd><Sts>BOOK</Sts>
<BookgDt><Dt>2024-03-01</Dt></BookgDt><AcctSvcrRef>{ref}</AcctSvcrRef></Ntry>"""


def _camt(closing: str, *entries: tuple[str, str, str], v: str = "04") -> bytes:
    body = "".join(ENTRY.format(amt=a, ind=i, ref=r) for a, i, r in entries)
    return CAMT.format(v=v, closing=closing, entries=body).encode()


def test_camt_balance_mismatch_is_a_warning() -> None:
    ok = camt.parse(_camt("15.00", ("5.00", "CRDT", "R1")), file_name="ok.xml")
    assert ok.warnings == []
    bad = camt.parse(_camt("16.00", ("5.00", "CRDT", "R1")), file_name="bad.xml")
    assert [w.code for w in bad.warnings] == ["balance_mismatch"]


def test_camt_zero_entries_and_version_warning() -> None:
    result = camt.parse(_camt("10.00", v="14"), file_name="z.xml")
    assert {w.code for w in result.warnings} == {"no_entries", "camt_version"}
    assert result.statements[0].transactions == ()


def test_camt_bad_indicator_and_malformed_xml_raise() -> None:
    with pytest.raises(ParseError, match="CdtDbtInd"):
        camt.parse(_camt("15.00", ("5.00", "XXXX", "R1")), file_name="b.xml")
    with pytest.raises(ParseError) as err:
        camt.parse(b"<?xml version='1.0'?>\n<Document><BkToCstmrStmt>", file_name="t.xml")
    assert err.value.line is not None
    with pytest.raises(ParseError, match="BkToCstmr"):
        camt.parse(b"<Document><Other/></Document>", file_name="o.xml")


def test_camt_streaming_clears_processed_entries() -> None:
    entries = [(f"{i}.00", "CRDT", f"R{i}") for i in range(1, 200)]
    total = sum(Decimal(i) for i in range(1, 200)) + 10
    items = camt.iter_items(io.BytesIO(_camt(f"{total}.00", *entries)), file_name="s.xml")
    first = next(items)
    assert first.source_id.endswith(":R1")  # a transaction arrives before the statement
    rest = list(items)
    assert rest[-1].__class__.__name__ == "BankStatement"
    assert len(rest) == 199


def test_mt940_reversal_and_year_rollover() -> None:
    result = mt940.parse((FIXTURES / "mt940/mt940_quirks.sta").read_bytes(), file_name="q")
    first, _, reversal = result.statements[0].transactions
    assert (first.value_date.isoformat(), first.booking_date.isoformat()) == (
        "2023-12-31",
        "2024-01-02",
    )
    assert reversal.reversal and reversal.amount.amount == Decimal(-100)
    assert [w.code for w in result.warnings] == ["balance_discontinuity"]


def test_mt940_balance_mismatch_within_statement() -> None:
    data = (
        b":20:X\n:25:ACC\n:28C:1/1\n:60F:C240101EUR10,00\n"
        b":61:240101C5,00NTRFNONREF\n:62F:C240101EUR16,00\n"
    )
    result = mt940.parse(data, file_name="m")
    assert [w.code for w in result.warnings] == ["balance_mismatch"]


MT940_PAGES = (
    b":20:STMT240318\n:25:DE02100100100006820101\n:28C:00042/001\n:60F:C240317EUR100000,00\n"
    b":61:2403180318C1500,00NTRFNONREF\n:86:166?00SEPA GUTSCHRIFT?20SVWZ+INV-7001\n"
    b":62M:C240318EUR101500,00\n-\n"
    b":20:STMT240318\n:25:DE02100100100006820101\n:28C:00042/002\n:60M:C240318EUR101500,00\n"
    b":61:2403180318C1500,00NTRFNONREF\n:86:166?00SEPA GUTSCHRIFT?20SVWZ+INV-7001\n"
    b":62F:C240318EUR103000,00\n-\n"
)


def test_mt940_identical_entries_on_two_pages_of_a_statement_keep_two_ids() -> None:
    first, second = mt940.parse(MT940_PAGES, file_name="p").transactions
    assert second.source_id == first.source_id + "#2"
    # the same pages in another file (an overlapping download) give the same ids
    again = mt940.parse(MT940_PAGES, file_name="other").transactions
    assert [t.source_id for t in again] == [first.source_id, second.source_id]


@pytest.mark.parametrize(
    "data",
    [b"", b"hello world", b":20:X\n:25:ACC\n:61:240101C5,00NTRFNONREF\n", b":25:ACC\n:20:X\n"],
)
def test_mt940_bad_input_raises_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        mt940.parse(data, file_name="m")


def test_mt940_details_variants() -> None:
    d = parse_details("166?00GUTSCHRIFT?20EREF+E1?21SVWZ+Text?32Name GmbH")
    assert (d.style, d.end_to_end_id, d.purpose, d.counterparty_name) == (
        "german",
        "E1",
        "Text",
        "Name GmbH",
    )
    assert parse_details("/EREF/NOTPROVIDED/REMI/USTD//X/").end_to_end_id is None
    tilde = parse_details("020~00PRZELEW~20FV 2024/1~32JAN")
    assert (tilde.purpose, tilde.counterparty_name) == ("FV 2024/1", "JAN")
    assert parse_details("just text").style == "text"


def test_ofx_error_response_and_garbage() -> None:
    err = (
        b"OFXHEADER:100\n\n<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>15500<SEVERITY>ERROR"
        b"</STATUS></SONRS></SIGNONMSGSRSV1></OFX>"
    )
    with pytest.raises(ParseError, match="15500"):
        ofx.parse(err, file_name="e.ofx")
    with pytest.raises(ParseError):
        ofx.parse(b"not ofx at all", file_name="x.ofx")
    empty_tags = (FIXTURES / "ofx/ofx102_checking.ofx").read_bytes()
    assert b"<MEMO>\r\n" in empty_tags  # the 1.0.2 empty tag that trips ofxparse
    assert len(ofx.parse(empty_tags, file_name="c.ofx").transactions) == 3


def test_ofx_dates_with_offset_keep_the_local_day() -> None:
    data = (
        b"OFXHEADER:100\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>USD<BANKACCTFROM>"
        b"<BANKID>1<ACCTID>42<ACCTTYPE>CHECKING</BANKACCTFROM><BANKTRANLIST>"
        b"<DTSTART>20240101000000[+1:CET]<DTEND>20240131235959.000[-8:PST]"
        b"<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20240131230000.000[-8:PST]<TRNAMT>1.00<FITID>A"
        b"</STMTTRN><STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20240201000000[+1:CET]<TRNAMT>2.00"
        b"<FITID>B</STMTTRN></BANKTRANLIST><LEDGERBAL><BALAMT>3.00"
        b"<DTASOF>20240131230000[-8:PST]</LEDGERBAL></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>"
    )
    result = ofx.parse(data, file_name="tz.ofx")
    stmt = result.statements[0]
    assert [tx.booking_date.isoformat() for tx in stmt.transactions if tx.booking_date] == [
        "2024-01-31",
        "2024-02-01",
    ]
    assert (str(stmt.period_start), str(stmt.period_end)) == ("2024-01-01", "2024-01-31")
    assert str(stmt.balances[0].as_of) == "2024-01-31"


@pytest.mark.parametrize(
    ("text", "decimal", "thousands", "expected"),
    [
        ("1.234,56", ",", ".", "1234.56"),
        ("(12.00)", ".", ",", "-12.00"),
        ("12,00-", ",", ".", "-12.00"),
        ("$1,234.00", ".", ",", "1234.00"),
        ("EUR -5", ".", None, "-5"),
        ("", ".", None, None),
    ],
)
def test_csv_amount_forms(text: str, decimal: str, thousands: str | None, expected: str) -> None:
    value = parse_amount(text, decimal, thousands)
    assert (None if value is None else str(value)) == expected


def test_csv_without_profile_or_header_asks_for_profile() -> None:
    with pytest.raises(ParseError, match="profile"):
        bank_csv.parse(b"a,b,c\n1,2,3\n", file_name="x.csv")
    with pytest.raises(ParseError, match="ambiguous"):
        bank_csv.parse(b"Date,Description,Amount\n03/04/2024,x,1\n", file_name="x.csv")


def test_csv_bad_cells_name_line_and_field() -> None:
    data = b"Date,Description,Amount\n2024-03-01,ok,1.00\n2024-03-02,bad,abc\n"
    with pytest.raises(ParseError) as err:
        bank_csv.parse(data, file_name="x.csv", currency="EUR")
    assert err.value.line == 3
    assert "amount" in str(err.value)


def test_csv_running_balance_break_warns() -> None:
    data = b"Date,Description,Amount,Balance\n2024-03-01,a,10.00,10.00\n2024-03-02,b,5.00,99.00\n"
    result = bank_csv.parse(data, file_name="x.csv", currency="EUR")
    assert [w.code for w in result.warnings] == ["running_balance_break"]


def test_csv_profile_validation(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns: {date: D, amount: A}\nsign: debit_credit\n")
    with pytest.raises(ConfigError, match="debit and credit"):
        load_profile(bad)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("columns: {date: D, amont: A}\n")
    with pytest.raises(ConfigError, match="amont"):
        load_profile(unknown)


def test_csv_library_errors_become_parse_errors() -> None:
    # the csv module's limit is process-wide and other readers raise it: set it here
    previous = csv.field_size_limit(131_072)
    try:
        huge = b'Date,Description,Amount\n2024-01-01,"' + b"x" * 200_000 + b'",1\n'
        with pytest.raises(ParseError, match="field larger than field limit"):
            bank_csv.parse(huge, file_name="big.csv")
    finally:
        csv.field_size_limit(previous)


def test_camt052_without_period_or_balances_takes_entry_dates_or_creation_day() -> None:
    def report(entries: str) -> bytes:
        return (
            '<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.02">'
            "<BkToCstmrAcctRpt><GrpHdr><MsgId>M</MsgId><CreDtTm>2024-02-01T00:30:00+01:00"
            "</CreDtTm></GrpHdr><Rpt><Id>R</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN>"
            f"</Id><Ccy>EUR</Ccy></Acct>{entries}</Rpt></BkToCstmrAcctRpt></Document>"
        ).encode()

    def entry(day: str) -> str:
        return (
            '<Ntry><Amt Ccy="EUR">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>PDNG</Sts>'
            f"<ValDt><Dt>{day}</Dt></ValDt></Ntry>"
        )

    dated = camt.parse(report(entry("2024-01-31") + entry("2024-01-30")), file_name="r.xml")
    stmt = dated.statements[0]
    assert (str(stmt.period_start), str(stmt.period_end)) == ("2024-01-30", "2024-01-31")
    empty = camt.parse(report(""), file_name="e.xml").statements[0]
    assert (str(empty.period_start), str(empty.period_end)) == ("2024-02-01", "2024-02-01")


def test_csv_ids_do_not_depend_on_the_file_name() -> None:
    day1 = (
        b"Posting Date,Description,Amount,Balance\n"
        b"03/18/2024,ACH CREDIT INITECH LLC INV-5001,250.00,10250.00\n"
        b"03/18/2024,ACH DEBIT PAYROLL,-1000.00,9250.00\n"
    )
    day2 = day1 + b"03/19/2024,ACH CREDIT INITECH LLC INV-5002,310.25,9560.25\n"
    first = [t.source_id for t in bank_csv.parse(day1, file_name="export_0318.csv").transactions]
    second = [t.source_id for t in bank_csv.parse(day2, file_name="dl/0319.csv").transactions]
    assert second[:2] == first  # the overlapping rows of two downloads share their ids
    twice = b"Date,Description,Amount\n2024-03-18,FEE,-1.00\n2024-03-18,FEE,-1.00\n"
    ids = [t.source_id for t in bank_csv.parse(twice, file_name="a.csv").transactions]
    assert ids[1] == ids[0] + "#2"
    renamed = [t.source_id for t in bank_csv.parse(twice, file_name="b.csv").transactions]
    assert renamed == ids


def test_mt940_cut_off_before_its_closing_balance_stops_or_warns_when_lenient() -> None:
    data = MT940_PAGES.split(b":62M:")[0]  # the file ends after the first page's entry
    with pytest.raises(ParseError, match=r"line 1: statement 00042/001 ends without a closing"):
        mt940.parse(data, file_name="cut.sta")
    result = mt940.parse(data, file_name="cut.sta", strict=False)
    assert [w.code for w in result.warnings] == ["truncated"]
    assert len(result.transactions) == 1


# one box (lockbox 1234567) in two batches of 2 and 3 checks; the 8 record totals the box
LOCKBOX_TWO_BATCHES = (
    "100ABCDEFGHIJ00999999912403220600\n"
    "2ABCDEFGHIJ0099999991000000000040008000801\n"
    "50010001234567240322\n"
    "6001001000009000002100002100000555010000001001032024ACME INC"
    "                      BILLBRIDGE INC\n"
    "400100140103001           0000100000CM-3002        0000000000\n"
    "6001002000007500002600959300000777020000001001032024GLOBEX C"
    "ORP                   BILLBRIDGE INC\n"
    "400100240102003           0000075000\n"
    "700100012345672403220020000165000\n"
    "50020001234567240322\n"
    "6002001000000999901100001500000123450000005501032124UMBRELLA"
    " CORP                 BILLBRIDGE INC\n"
    "6002002000004000001100001500000123450000005502032124UMBRELLA"
    " CORP                 BILLBRIDGE INC\n"
    "400200240106002           0000040000\n"
    "6002003000012000002600959300000777020000001002032124GLOBEX C"
    "ORP                   BILLBRIDGE INC\n"
    "40020034010INV-2004       0000120000\n"
    "700200012345672403220030000169999\n"
    "8000000123456724032200050000334999\n"
    "9000017\n"
)


def test_lockbox_total_sums_every_batch_of_the_box() -> None:
    result = lockbox.parse(LOCKBOX_TWO_BATCHES.encode(), file_name="lb.txt")
    assert "control_total_mismatch" not in [w.code for w in result.warnings]
    (statement,) = result.statements
    assert len(statement.transactions) == 5
