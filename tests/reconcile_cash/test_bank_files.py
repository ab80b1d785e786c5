"""`billbridge reconcile cash` on real bank and remittance files (BAI2, MT940, X12 820)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from billbridge.cli.main import app

BAI2 = """01,021000021,BILLBRIDGE,240321,0600,1,,,2/
02,BILLBRIDGE,021000021,1,240320,2400,USD,2/
03,000111222333,USD/
16,165,000000000071250,0,ACH00030,TRC999,ACH CREDIT GLOBEX CORP/
49,000000000071250,3/
98,000000000071250,1,5/
99,000000000071250,1,7/
"""
ISA = "ISA*00*          *00*          *ZZ*PAYER          *ZZ*BILLBRIDGE     *"
REMIT_820 = f"""{ISA}240320*1200*U*00401*000000201*0*P*>~
GS*RA*PAYER*BILLBRIDGE*20240320*1200*201*X*004010~
ST*820*0001~
BPR*C*712.50*C*ACH*CTX*01*021000021*DA*987654321*1234567890**01*021000021*DA*000111222333*20240312~
TRN*1*TRC999~
CUR*PR*USD~
N1*PR*GLOBEX CORP~
N1*PE*BILLBRIDGE INC~
ENT*1~
RMR*IV*INV-2003**712.50*750*37.50~
SE*9*0001~
GE*1*201~
IEA*1*000000201~
"""
MT940 = """:20:STMT240318
:25:DE02100100100006820101
:28C:00042/001
:60F:C240317EUR100000,00
:61:2403180318C800,00NTRFNONREF//ASR-2
:86:166?00SEPA GUTSCHRIFT?20SVWZ+INV-4001?32HOOLI AG
:61:2403190319RC800,00NRTINONREF//BR-0004
:86:159?00RUECKUEBERWEISUNG?20SVWZ+RUECKGABE ASR-2 AC04?32HOOLI AG
:62F:C240319EUR100000,00
-
"""
INVOICES = """invoice_number,customer_id,customer_name,issue_date,due_date,open_amount,currency
INV-2003,C200,Globex Corp,2024-03-05,2024-04-04,750.00,USD
INV-4001,C400,Hooli AG,2024-02-15,2024-03-16,800.00,EUR
"""


def _run(tmp: Path, *args: str) -> tuple[int, str, Path]:
    (tmp / "invoices.csv").write_text(INVOICES, encoding="utf-8")
    out = tmp / "out"
    res = CliRunner().invoke(
        app,
        ["reconcile", "cash", *args, "--invoices", str(tmp / "invoices.csv"), "--out", str(out)],
    )
    return res.exit_code, res.output + (res.stderr if res.exit_code else ""), out


def _file(tmp: Path, name: str, text: str) -> str:
    (tmp / name).write_text(text, encoding="utf-8")
    return str(tmp / name)


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as fh:
        return list(csv.reader(fh))


def test_bai2_with_a_separate_820_is_applied_with_stable_line_ids(tmp_path: Path) -> None:
    bank, remit = _file(tmp_path, "lockbox.bai2", BAI2), _file(tmp_path, "r.edi", REMIT_820)
    code, output, out = _run(tmp_path, "--bank", bank, "--remittance", remit)
    assert code == 0, output
    assert _rows(out / "applications.csv")[1:] == [
        ["000111222333:ACH00030", "INV-2003", "712.50", "0.94", "reference_remittance", "auto"]
    ]
    saved = json.loads((out / "cash_run.json").read_text())
    (line,) = saved["lines"]
    assert line["line"]["doc_discounts"] == [["INV-2003", "37.50"]]
    assert [e["category"] for e in line["exceptions"]] == ["SHORT_PAY"]
    first = _rows(out / "proposals.csv")
    code, output, out = _run(tmp_path, "--bank", bank, "--remittance", remit)
    assert code == 0 and _rows(out / "proposals.csv") == first  # same ids, same proposal


def test_an_mt940_return_is_reported_and_holds_the_credit(tmp_path: Path) -> None:
    code, output, out = _run(tmp_path, "--bank", _file(tmp_path, "stmt.sta", MT940))
    assert code == 0, output
    assert "1 not receipts (NOT_A_RECEIPT), 1 returned in the same files" in output
    unapplied = _rows(out / "unapplied.csv")
    assert [r[2:4] for r in unapplied[1:]] == [["EUR", "NOT_A_RECEIPT"]]
    assert unapplied[1][1] == "-800.00"
    (line,) = json.loads((out / "cash_run.json").read_text())["lines"]
    assert line["proposal"]["status"] == "suggested"
    assert [e["category"] for e in line["exceptions"]] == ["RETURNED"]
    assert line["line"]["returned_by"] == unapplied[1][0]


def test_a_file_that_is_no_bank_file_names_it_and_the_formats(tmp_path: Path) -> None:
    code, output, _ = _run(tmp_path, "--bank", _file(tmp_path, "notes.txt", "hello\nworld\n"))
    assert code == 2
    assert "notes.txt: not a bank file billbridge reads" in output
    assert "BAI2, camt.053/054, MT940" in output
    code, output, _ = _run(tmp_path, "--bank", _file(tmp_path, "r.edi", REMIT_820))
    assert code == 2 and "pass it with --remittance" in output
    bank = _file(tmp_path, "lockbox.bai2", BAI2)
    code, output, _ = _run(tmp_path, "--bank", bank, "--remittance", bank)
    assert code == 2 and "lockbox.bai2: no remittance in this bai2 file" in output


def test_a_csv_of_something_else_is_not_told_to_use_an_option_this_command_lacks(
    tmp_path: Path,
) -> None:
    # an invoices export passed as the bank file by mistake
    code, output, _ = _run(tmp_path, "--bank", _file(tmp_path, "inv.csv", INVOICES))
    assert code == 2
    assert "inv.csv" in output and "neither the documented bank form" in output
    assert "--profile" not in output


MT942_INTRADAY = (
    "{1:F01COBADEFFAXXX0000000000}{2:O9421200240318COBADEFFAXXX00000000002403181200N}{4:\n"
    """:20:INTRA240318
:25:DE02100100100006820101
:28C:00042/001
:34F:EUR0,00
:13D:2403181200+0100
:61:2403180318C800,00NTRFNONREF//ASR-2
:86:166?00SEPA GUTSCHRIFT?20SVWZ+INV-4001?32HOOLI AG
:90C:1EUR800,00
-}
"""
)
MT940_FINAL = """:20:STMT240318
:25:DE02100100100006820101
:28C:00042/001
:60F:C240317EUR100000,00
:61:2403180318C800,00NTRFNONREF//ASR-2
:86:166?00SEPA GUTSCHRIFT?20SVWZ+INV-4001?32HOOLI AG
:62F:C240318EUR100800,00
-
"""


@pytest.mark.parametrize("intraday_first", [True, False])
def test_the_booked_copy_of_an_entry_wins_over_the_intraday_pending_one(
    tmp_path: Path, intraday_first: bool
) -> None:
    intraday = _file(tmp_path, "intraday.sta", MT942_INTRADAY)
    final = _file(tmp_path, "final.sta", MT940_FINAL)
    files = [intraday, final] if intraday_first else [final, intraday]
    code, output, out = _run(tmp_path, "--bank", files[0], "--bank", files[1])
    assert code == 0, output
    assert "1 repeated across --bank files read once" in output
    assert [r[1:3] for r in _rows(out / "applications.csv")[1:]] == [["INV-4001", "800.00"]]
    assert _rows(out / "unapplied.csv")[1:] == []


MT940_PAGES = """:20:STMT240318
:25:DE02100100100006820101
:28C:00042/001
:60F:C240317EUR100000,00
:61:2403180318C1500,00NTRFNONREF
:86:166?00SEPA GUTSCHRIFT?20SVWZ+INV-7001?32NORDBANK KUNDE GMBH
:62M:C240318EUR101500,00
-
:20:STMT240318
:25:DE02100100100006820101
:28C:00042/002
:60M:C240318EUR101500,00
:61:2403180318C1500,00NTRFNONREF
:86:166?00SEPA GUTSCHRIFT?20SVWZ+INV-7001?32NORDBANK KUNDE GMBH
:62F:C240318EUR103000,00
-
"""


def test_identical_entries_in_one_file_are_two_and_a_second_download_adds_none(
    tmp_path: Path,
) -> None:
    pages = _file(tmp_path, "pages.sta", MT940_PAGES)
    code, output, _ = _run(tmp_path, "--bank", pages)
    assert code == 0, output
    assert output.startswith("2 lines:") and "repeated" not in output
    copy = _file(tmp_path, "copy.sta", MT940_PAGES)
    code, output, _ = _run(tmp_path, "--bank", pages, "--bank", copy)
    assert code == 0 and output.startswith("2 lines:")
    assert "2 repeated across --bank files read once" in output


def test_one_id_twice_in_one_file_is_two_lines() -> None:
    from canonical import BankTransaction, Money
    from reconcile.cash.bank_files import _unique_in_file

    txn = BankTransaction(
        source_system="x", source_id="A:k", account_id="A", amount=Money("5.00", "EUR")
    )
    ids = [t.source_id for t in _unique_in_file([txn, txn, txn])]
    assert ids == ["A:k", "A:k#2", "A:k#3"]


CAMT_JPY = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>STMT-20240320</MsgId><CreDtTm>2024-03-20T12:00:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>STMT-20240320</Id>
   <CreDtTm>2024-03-20T12:00:00</CreDtTm>
   <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
   <Ntry>
    <Amt Ccy="JPY">2500.50</Amt>
    <CdtDbtInd>CRDT</CdtDbtInd>
    <Sts>BOOK</Sts>
    <BookgDt><Dt>2024-03-20</Dt></BookgDt>
    <AcctSvcrRef>ACSR-2</AcctSvcrRef>
   </Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>
"""


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "three.sta",
            MT940_FINAL.replace("C800,00NTRF", "C800,005NTRF"),
            "three.sta, line 5: entry ASR-2: amount 800.005 has more decimals than EUR allows",
        ),
        (
            "jpy.xml",
            CAMT_JPY,
            "jpy.xml, line 9: entry ACSR-2: amount 2500.50 has more decimals than JPY allows",
        ),
    ],
)
def test_an_amount_finer_than_its_currency_stops_the_run_naming_file_line_and_amount(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    code, output, _ = _run(tmp_path, "--bank", _file(tmp_path, name, text))
    assert code == 2
    assert expected in output
    assert "unexpected" not in output


CAMT_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.{v}.001.02">
 <{root}><GrpHdr><MsgId>M</MsgId><CreDtTm>2024-03-20T18:00:00</CreDtTm></GrpHdr>
  <{stmt}><Id>S-{v}</Id><CreDtTm>2024-03-20T18:00:00</CreDtTm>
   <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
   <Ntry><NtryRef>BATCH-1</NtryRef><Amt Ccy="EUR">2300.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
    <Sts>BOOK</Sts><BookgDt><Dt>2024-03-20</Dt></BookgDt><AcctSvcrRef>ACSR-1</AcctSvcrRef>
    <NtryDtls><Btch><NbOfTxs>2</NbOfTxs></Btch>{details}</NtryDtls>
   </Ntry>
  </{stmt}>
 </{root}>
</Document>
"""
SPLIT = """<TxDtls><Refs><EndToEndId>E2E-{n}</EndToEndId></Refs>
     <AmtDtls><TxAmt><Amt Ccy="EUR">{amount}</Amt></TxAmt></AmtDtls>
     <RltdPties><Dbtr><Nm>{payer}</Nm></Dbtr></RltdPties>
     <RmtInf><Strd><RfrdDocInf><Tp><CdOrPrtry><Cd>CINV</Cd></CdOrPrtry></Tp><Nb>{inv}</Nb>
     </RfrdDocInf></Strd></RmtInf></TxDtls>"""
CAMT053_BATCH = CAMT_HEAD.format(v="053", root="BkToCstmrStmt", stmt="Stmt", details="")
CAMT054_SPLIT = CAMT_HEAD.format(
    v="054",
    root="BkToCstmrDbtCdtNtfctn",
    stmt="Ntfctn",
    details=SPLIT.format(n=1, amount="1500.00", payer="Nordbank", inv="INV-7001")
    + SPLIT.format(n=2, amount="800.00", payer="Hooli AG", inv="INV-4001"),
)


@pytest.mark.parametrize("statement_first", [True, False])
def test_a_camt054_split_replaces_the_camt053_batch_entry_it_details(
    tmp_path: Path, statement_first: bool
) -> None:
    stmt = _file(tmp_path, "stmt.xml", CAMT053_BATCH)
    split = _file(tmp_path, "split.xml", CAMT054_SPLIT)
    files = [stmt, split] if statement_first else [split, stmt]
    code, output, out = _run(tmp_path, "--bank", files[0], "--bank", files[1])
    assert code == 0, output
    assert output.startswith("2 lines:") and "1 repeated across --bank files" in output
    # one line per payer (INV-7001 is not among the test's invoices): not 2300 twice
    assert [r[1:3] for r in _rows(out / "applications.csv")[1:]] == [["INV-4001", "800.00"]]
    assert [r[1] for r in _rows(out / "unapplied.csv")[1:]] == ["1500.00"]


def test_a_camt054_remittance_splitting_a_camt053_batch_entry_applies_each_part(
    tmp_path: Path,
) -> None:
    stmt = _file(tmp_path, "stmt.xml", CAMT053_BATCH)
    split = _file(tmp_path, "split.xml", CAMT054_SPLIT)
    invoices = _file(
        tmp_path,
        "inv.csv",
        INVOICES.replace("INV-4001,C400", "INV-4001,C700")
        + "INV-7001,C700,Nordbank,2024-03-01,2024-03-31,1500.00,EUR\n",
    )
    out = tmp_path / "out"
    args = ["reconcile", "cash", "--bank", stmt, "--remittance", split, "--invoices", invoices]
    res = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("1 lines:")
    # the one 2300 credit, with the documents and amounts of both parts: not unapplied
    assert [r[:3] for r in _rows(out / "applications.csv")[1:]] == [
        ["DE89370400440532013000:ACSR-1", "INV-4001", "800.00"],
        ["DE89370400440532013000:ACSR-1", "INV-7001", "1500.00"],
    ]
    assert _rows(out / "unapplied.csv")[1:] == []
