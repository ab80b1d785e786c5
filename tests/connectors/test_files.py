"""File connector behaviour: sniffing, typed XLSX, provenance, errors, cursors, metadata."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from canonical import Money, ResultStatus, WriteIntent, WriteOp
from connectors.files import FileConnector, read_table
from mappings import MappingError, default_spec

EXPORTS = Path(__file__).resolve().parents[1] / "mappings" / "fixtures" / "exports"
BANK_HEADER = (
    "Account Number,Booking Date,Value Date,Amount,Currency,Description,Counterparty Name,"
    "Counterparty Account,Reference,Bank Reference,Transaction Type\n"
)


def bank_row(ref: str, amount: str = "10.00") -> str:
    return f"ACC1,2024-05-20,2024-05-20,{amount},USD,text,,,,{ref},CREDIT\n"


def bank(tmp_path: Path, *rows: str, name: str = "bank.csv") -> FileConnector:
    path = tmp_path / name
    path.write_text(BANK_HEADER + "".join(rows))
    return FileConnector(path, default_spec("exports/bank_statement"))


def test_legacy_semicolon_cp1252_file_is_sniffed() -> None:
    table = read_table(EXPORTS / "legacy_customers.csv")
    assert (table.encoding, table.delimiter) == ("cp1252", ";")
    assert table.rows[0]["ORT"] == "München"
    records = list(
        FileConnector(
            EXPORTS / "legacy_customers.csv", default_spec("exports/legacy_customers")
        ).read("customer")
    )
    assert records[0].name == "Müller Maschinenbau GmbH"
    assert records[0].source_system == "legacy_erp"


def test_explicit_encoding_and_delimiter_override_sniffing(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes("a|b\r\n\xe9|2\r\n".encode("latin-1"))
    table = read_table(path, encoding="latin-1", delimiter="|")
    assert table.rows == [{"a": "é", "b": "2"}]


def test_utf8_bom_is_detected_and_stripped(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeff".encode() + BANK_HEADER.encode() + bank_row("R1").encode())
    table = read_table(path)
    assert table.encoding == "utf-8-sig"
    assert table.columns[0] == "Account Number"


def test_records_carry_provenance_file_line_and_hash(tmp_path: Path) -> None:
    connector = FileConnector(
        EXPORTS / "netsuite_invoices.csv", default_spec("exports/netsuite_invoices")
    )
    first, second = list(connector.read("invoice"))
    assert first.provenance.file.endswith("netsuite_invoices.csv")
    assert (first.provenance.line, second.provenance.line) == (2, 4)
    assert len(first.provenance.file_sha256) == 64


def test_bad_rows_are_reported_not_dropped(tmp_path: Path) -> None:
    connector = bank(
        tmp_path, bank_row("R1"), bank_row("R2", amount="12.3x"), "only,three,fields\n"
    )
    stream = connector.read("bank_transaction")
    records = list(stream)
    assert [r.source_id for r in records] == ["ACC1-R1"]
    mapping_errors = [e for e in stream.errors if isinstance(e, MappingError)]
    assert len(mapping_errors) == 1
    assert "bank.csv: line 3" in str(mapping_errors[0])
    assert "amount" in str(mapping_errors[0])
    assert "exports/bank_statement.yaml:" in str(mapping_errors[0])
    parse_errors = [e for e in stream.errors if not isinstance(e, MappingError)]
    assert "line 4" in str(parse_errors[0])
    assert "3 fields, header has 11" in str(parse_errors[0])


def test_xlsx_values_are_typed_and_dates_are_dates(tmp_path: Path) -> None:
    from datetime import datetime

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Account Number", "Booking Date", "Amount", "Currency", "Bank Reference"])
    sheet.append(["ACC1", datetime(2024, 5, 20), 1234.1, "EUR", 1001])
    path = tmp_path / "s.xlsx"
    workbook.save(path)
    table = read_table(path)
    assert table.rows[0]["Booking Date"] == date(2024, 5, 20)
    assert table.rows[0]["Amount"] == Decimal("1234.1")
    (record,) = FileConnector(path, default_spec("exports/bank_statement")).read("bank_transaction")
    assert record.amount == Money("1234.1", "EUR")
    assert record.booking_date == date(2024, 5, 20)
    assert record.source_id == "ACC1-1001"


def test_unchanged_file_yields_nothing_when_cursor_matches(tmp_path: Path) -> None:
    connector = bank(tmp_path, bank_row("R1"), bank_row("R2"))
    first = connector.read("bank_transaction")
    assert len(list(first)) == 2
    again = connector.read("bank_transaction", first.cursor)
    assert list(again) == []
    assert again.cursor == first.cursor


def test_appended_rows_only_yield_the_new_ones(tmp_path: Path) -> None:
    connector = bank(tmp_path, bank_row("R1"))
    first = connector.read("bank_transaction")
    list(first)
    with (tmp_path / "bank.csv").open("a") as fh:
        fh.write(bank_row("R2"))
    second = connector.read("bank_transaction", first.cursor)
    assert [r.source_id for r in second] == ["ACC1-R2"]
    assert second.cursor.extra["files"]["bank.csv"]["rows"] == 2


def test_rewritten_file_is_read_again_in_full(tmp_path: Path) -> None:
    connector = bank(tmp_path, bank_row("R1"), bank_row("R2"))
    first = connector.read("bank_transaction")
    list(first)
    (tmp_path / "bank.csv").write_text(BANK_HEADER + bank_row("R1", "11.00") + bank_row("R2"))
    assert len(list(connector.read("bank_transaction", first.cursor))) == 2


def test_a_read_cut_by_limit_does_not_advance_the_cursor(tmp_path: Path) -> None:
    connector = bank(tmp_path, bank_row("R1"), bank_row("R2"))
    stream = connector.read("bank_transaction", limit=1)
    assert len(list(stream)) == 1
    assert stream.cursor is None


def test_folder_reads_every_export_file(tmp_path: Path) -> None:
    bank(tmp_path, bank_row("R1"), name="a.csv")
    connector = bank(tmp_path, bank_row("R2"), name="b.csv")
    folder = FileConnector(tmp_path, connector.spec)
    stream = folder.read("bank_transaction")
    assert [r.source_id for r in stream] == ["ACC1-R1", "ACC1-R2"]
    assert set(stream.cursor.extra["files"]) == {"a.csv", "b.csv"}


def test_wrong_entity_is_a_config_error(tmp_path: Path) -> None:
    from billbridge.errors import ConfigError

    with pytest.raises(ConfigError, match="maps to 'bank_transaction', not 'invoice'"):
        bank(tmp_path, bank_row("R1")).read("invoice")


def test_write_is_rejected_read_only(tmp_path: Path) -> None:
    intent = WriteIntent.build(
        target_system="bank",
        entity="bank_transaction",
        op=WriteOp.CREATE,
        external_id="x",
        payload={},
        source_system="s",
        source_id="1",
        source_version="1",
        mapping_version="m",
    )
    (result,) = bank(tmp_path, bank_row("R1")).write([intent])
    assert result.status == ResultStatus.REJECTED
    assert result.error_code == "read_only"
    assert "read-only" in result.message


def test_check_reports_header_mismatch_with_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_text(BANK_HEADER.replace("Bank Reference", "Bank Referenz") + bank_row("R1"))
    report = FileConnector(path, default_spec("exports/bank_statement")).check()
    assert report.ok is False
    assert any(
        "unknown source field 'Bank Reference' (did you mean 'Bank Referenz'?)" in m
        for m in report.messages
    )


def test_check_missing_file(tmp_path: Path) -> None:
    report = FileConnector(tmp_path / "nope.csv", default_spec("exports/bank_statement")).check()
    assert report.ok is False
    assert "no such file" in report.messages[0]


def test_describe_infers_column_types(tmp_path: Path) -> None:
    shutil.copy(EXPORTS / "netsuite_invoices.csv", tmp_path / "inv.csv")
    fields = FileConnector(
        tmp_path / "inv.csv", default_spec("exports/netsuite_invoices")
    ).describe("invoice")
    types = {f.name: f.type for f in fields}
    assert types["Date"] == "date"
    assert types["Amount"] == "number"
    assert types["Quantity"] == "integer"
    assert types["Status"] == "string"


def test_a_workbook_is_read_from_the_sheet_it_opens_on(tmp_path: Path) -> None:
    """A hidden lookup sheet or a cover sheet first in the book is not the data: without a
    sheet named, the sheet the workbook opens on is read (its first visible one otherwise)."""
    import openpyxl

    from connectors.files.reader import read_xlsx

    book = openpyxl.Workbook()
    lookup = book.active
    lookup.title = "Lookup"
    lookup.append(["code", "name"])
    lookup.sheet_state = "hidden"
    data = book.create_sheet("Data")
    data.append(["invoice", "amount"])
    data.append(["INV-1", 10])
    book.active = 1
    book.save(tmp_path / "book.xlsx")
    table = read_xlsx(tmp_path / "book.xlsx")
    assert table.columns == ["invoice", "amount"] and table.lines == [2]
    book.active = 0  # saved opening on the hidden sheet: the first visible one is read
    book.save(tmp_path / "hidden_active.xlsx")
    assert read_xlsx(tmp_path / "hidden_active.xlsx").columns == ["invoice", "amount"]
    assert read_xlsx(tmp_path / "book.xlsx", sheet="Lookup").columns == ["code", "name"]
