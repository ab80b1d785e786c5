"""Importing feed files into the state store (SQLite and PostgreSQL via ``store``)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from billbridge.state import Store
from billbridge.state.schema import (
    ExceptionHistoryRow,
    ExceptionRow,
    FeedFileRow,
    FeedRecordRow,
    FeedStatementRow,
)
from connectors.feeds import feed_store
from connectors.feeds.importer import import_paths
from tests.feeds.conftest import FIXTURES

NOW = datetime(2024, 3, 5, 8, 0, tzinfo=UTC)


def mt940(number: int, opening: str, closing: str, day: int, *amounts: str) -> bytes:
    lines = [
        ":20:REF",
        ":25:NL91ABNA0417164300",
        f":28C:{number}/1",
        f":60F:C2403{day - 1:02d}EUR{opening}",
    ]
    for i, amount in enumerate(amounts):
        mark = "D" if amount.startswith("-") else "C"
        lines += [
            f":61:2403{day:02d}{mark}{amount.lstrip('-')}NTRFNONREF//B{number}-{i}",
            f":86:entry {i}",
        ]
    lines.append(f":62F:C2403{day:02d}EUR{closing}")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    """A drop folder of its own (the SQLite store lives in tmp_path itself)."""
    folder = tmp_path / "drop"
    folder.mkdir()
    return folder


def _count(store: Store, table: type) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def test_import_and_duplicate_skip(store: Store, drop: Path) -> None:
    path = drop / "day1.sta"
    path.write_bytes(mt940(1, "100,00", "150,00", 2, "50,00"))
    first = import_paths(store, [path], now=NOW)
    assert [o.status for o in first] == ["imported"]
    assert (first[0].statements, first[0].transactions) == (1, 1)
    again = import_paths(store, [drop], now=NOW)  # the drop folder holds the same file
    assert [o.status for o in again] == ["duplicate"]
    assert "already imported" in again[0].message
    assert _count(store, FeedFileRow) == 1
    assert _count(store, FeedRecordRow) == 1
    with store.session() as s:
        row = s.scalars(select(FeedStatementRow)).one()
        assert (row.opening, row.closing) == (Decimal("100.00"), Decimal("150.00"))


def test_failing_file_writes_nothing_and_others_continue(store: Store, drop: Path) -> None:
    (drop / "a_bad.bai2").write_bytes(
        (FIXTURES / "bai2/quirks.bai2").read_bytes().replace(b"49,+215000,13/", b"49,1,13/")
    )
    (drop / "b_good.sta").write_bytes(mt940(1, "100,00", "150,00", 2, "50,00"))
    outcomes = import_paths(store, [drop], now=NOW)
    assert [o.status for o in outcomes] == ["failed", "imported"]
    assert "control total" in outcomes[0].message
    assert _count(store, FeedFileRow) == 1
    assert _count(store, FeedStatementRow) == 1


def test_parse_error_at_the_file_trailer_rolls_back_streamed_statements(
    store: Store, drop: Path
) -> None:
    # BAI2 streams: all four statements are written before the 99 trailer is checked
    bad = (FIXTURES / "bai2/quirks.bai2").read_bytes().replace(b"99,2463262,", b"99,2463263,")
    (drop / "late_error.bai2").write_bytes(bad)
    outcome = import_paths(store, [drop], now=NOW)[0]
    assert outcome.status == "failed"
    assert "file control total 2463263" in outcome.message
    for table in (FeedFileRow, FeedStatementRow, FeedRecordRow):
        assert _count(store, table) == 0


def test_failure_while_storing_rolls_back_the_whole_file(
    store: Store, drop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = drop / "quirks.bai2"
    path.write_bytes((FIXTURES / "bai2/quirks.bai2").read_bytes())
    real = feed_store.check_predecessor
    calls = {"n": 0}

    def fail_on_third(*args: object, **kwargs: object) -> str | None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(feed_store, "check_predecessor", fail_on_third)
    with pytest.raises(RuntimeError, match="disk full"):
        import_paths(store, [path], now=NOW)
    assert calls["n"] == 3  # two statements were already written inside the transaction
    for table in (FeedFileRow, FeedStatementRow, FeedRecordRow):
        assert _count(store, table) == 0
    monkeypatch.setattr(feed_store, "check_predecessor", real)
    assert [o.status for o in import_paths(store, [path], now=NOW)] == ["imported"]
    assert _count(store, FeedStatementRow) == 4


def test_continuity_break_becomes_exception_row(store: Store, drop: Path) -> None:
    (drop / "d1.sta").write_bytes(mt940(1, "100,00", "150,00", 2, "50,00"))
    (drop / "d2.sta").write_bytes(mt940(2, "140,00", "130,00", 3, "-10,00"))
    (drop / "d3.sta").write_bytes(mt940(3, "130,00", "131,00", 4, "1,00"))
    outcomes = import_paths(store, sorted(drop.iterdir()), run_id="run-1", now=NOW)
    assert [o.status for o in outcomes] == ["imported"] * 3
    assert [len(o.exceptions) for o in outcomes] == [0, 1, 0]
    expected_id = hashlib.sha256(
        b"bank_statement_continuity|NL91ABNA0417164300|2/1|BALANCE_DISCONTINUITY"
    ).hexdigest()
    assert outcomes[1].exceptions == (expected_id,)
    with store.session() as s:
        row = s.get(ExceptionRow, expected_id)
        assert row is not None
        assert (row.recon, row.category, row.status) == (
            "bank_statement_continuity",
            "BALANCE_DISCONTINUITY",
            "OPEN",
        )
        assert row.amount == Decimal("-10.00")
        assert row.details["previous_closing"] == "150.00"
        history = s.scalars(select(ExceptionHistoryRow)).all()
        assert [(h.exception_id, h.event, h.run_id) for h in history] == [
            (expected_id, "opened", "run-1")
        ]


def test_final_statement_supersedes_intraday(store: Store, drop: Path) -> None:
    final = (FIXTURES / "bai2/quirks.bai2").read_bytes()
    interim = final.replace(b"240304,9999,EUR,2/", b"240304,9999,EUR,1/")
    (drop / "interim.bai2").write_bytes(interim)
    (drop / "final.bai2").write_bytes(final)
    first = import_paths(store, [drop / "interim.bai2"], now=NOW)
    assert first[0].superseded == ()
    second = import_paths(store, [drop / "final.bai2"], now=NOW)
    # the final DE statement replaces its interim copy; the intraday group of the new
    # file replaces the same intraday statements sent before (re-sent data)
    assert sorted(second[0].superseded) == [
        "BH-ACC:2024-03-05#intraday",
        "DE-ACC-1:2024-03-04#intraday",
        "JP-ACC:2024-03-05#intraday",
        "US-ACC:2024-03-05#intraday",
    ]
    with store.session() as s:
        keys = s.scalars(
            select(FeedStatementRow.statement_key).where(FeedStatementRow.account_id == "DE-ACC-1")
        ).all()
        assert keys == ["2024-03-04"]
        de_records = s.scalars(
            select(FeedRecordRow).where(FeedRecordRow.record_key.startswith("DE-ACC-1:"))
        ).all()
        assert len(de_records) == 6
        assert {r.file_sha256 for r in de_records} == {second[0].sha256}


def test_remittances_and_unreadable_paths(store: Store, drop: Path) -> None:
    path = drop / "camt.xml"
    path.write_bytes((FIXTURES / "camt/camt053_v02_quirks.xml").read_bytes())
    out = import_paths(store, [path, drop / "missing.xml"], now=NOW)
    assert [o.status for o in out] == ["imported", "failed"]
    with store.session() as s:
        kinds = s.scalars(select(FeedRecordRow.kind)).all()
    assert sorted(set(kinds)) == ["bank_transaction", "remittance"]
    assert kinds.count("remittance") == 2


def test_pages_of_one_camt_statement_are_kept_apart(store: Store, drop: Path) -> None:
    page1 = (
        (FIXTURES / "camt/camt054_v08_batch.xml")
        .read_bytes()
        .replace(b"<Id>NTF-1-1</Id>", b"<Id>NTF-1-1</Id><NtfctnPgntn><PgNb>1</PgNb></NtfctnPgntn>")
    )
    page2 = page1.replace(b"<PgNb>1</PgNb>", b"<PgNb>2</PgNb>").replace(b"BATCH-77", b"B-78")
    (drop / "p1.xml").write_bytes(page1)
    (drop / "p2.xml").write_bytes(page2)
    outcomes = import_paths(store, [drop], now=NOW)
    assert [(o.status, o.superseded) for o in outcomes] == [("imported", ())] * 2
    with store.session() as s:
        keys = sorted(s.scalars(select(FeedStatementRow.statement_key)).all())
    assert keys == ["NTF-1-1#p1", "NTF-1-1#p2"]


def test_overlapping_downloads_store_each_entry_once(store: Store, drop: Path) -> None:
    header = "Date,Description,Amount,Balance\n"
    rows = [
        "2024-03-01,Payment INV-1,100.00,100.00\n",
        "2024-03-02,Fee,-5.00,95.00\n",
        "2024-03-03,Payment INV-2,50.00,145.00\n",
    ]
    (drop / "a.csv").write_text(header + "".join(rows[:2]))
    (drop / "b.csv").write_text(header + "".join(rows[1:]))
    options = {"currency": "EUR", "account_id": "ACC-CSV"}
    outcomes = import_paths(store, [drop], options=options, now=NOW)
    assert [(o.status, o.duplicate_entries) for o in outcomes] == [
        ("imported", 0),
        ("imported", 1),
    ]
    with store.session() as s:
        records = s.scalars(select(FeedRecordRow)).all()
    assert sorted(r.record["remittance_text"] for r in records) == [
        "Fee",
        "Payment INV-1",
        "Payment INV-2",
    ]


def test_out_of_order_files_are_checked_and_gaps_resolve(store: Store, drop: Path) -> None:
    (drop / "d1.sta").write_bytes(mt940(1, "100,00", "150,00", 2, "50,00"))
    (drop / "d3.sta").write_bytes(mt940(3, "140,00", "141,00", 4, "1,00"))
    (drop / "d2.sta").write_bytes(mt940(2, "150,00", "140,00", 3, "-10,00"))
    first = import_paths(store, [drop / "d1.sta", drop / "d3.sta"], run_id="r1", now=NOW)
    gap_id = first[1].exceptions[0]  # day 3 opens at 140, day 1 closed at 150
    with store.session() as s:
        assert s.get(ExceptionRow, gap_id).status == "OPEN"  # type: ignore[union-attr]
    later = import_paths(store, [drop / "d2.sta"], run_id="r2", now=NOW)
    assert later[0].exceptions == ()  # day 2 fits both neighbours
    with store.session() as s:
        row = s.get(ExceptionRow, gap_id)
        assert row is not None
        assert (row.status, row.run_state) == ("RESOLVED", "RESOLVED_BY_DATA")
        events = s.scalars(
            select(ExceptionHistoryRow.event).where(ExceptionHistoryRow.exception_id == gap_id)
        ).all()
        assert events == ["opened", "resolved"]


def test_out_of_order_file_that_breaks_the_next_statement(store: Store, drop: Path) -> None:
    (drop / "d1.sta").write_bytes(mt940(1, "100,00", "150,00", 2, "50,00"))
    (drop / "d3.sta").write_bytes(mt940(3, "150,00", "151,00", 4, "1,00"))
    (drop / "d2.sta").write_bytes(mt940(2, "150,00", "140,00", 3, "-10,00"))
    import_paths(store, [drop / "d1.sta", drop / "d3.sta"], now=NOW)
    later = import_paths(store, [drop / "d2.sta"], now=NOW)
    # day 2 fits day 1 but day 3 (already stored) does not open at day 2's closing
    assert later[0].exceptions == (
        hashlib.sha256(
            b"bank_statement_continuity|NL91ABNA0417164300|3/1|BALANCE_DISCONTINUITY"
        ).hexdigest(),
    )


def test_zip_bundle_members_are_imported_one_by_one(store: Store, drop: Path) -> None:
    import zipfile

    bundle = drop / "bundle.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("stmt/a.xml", (FIXTURES / "camt/camt054_v08_batch.xml").read_bytes())
        archive.writestr("stmt/b.sta", mt940(1, "100,00", "150,00", 2, "50,00"))
        archive.writestr("stmt/.hidden", b"ignored")
    (drop / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    outcomes = import_paths(store, [drop], now=NOW)
    assert [(o.path.split("/drop/")[-1], o.status, o.format) for o in outcomes] == [
        ("broken.zip", "failed", None),
        ("bundle.zip!stmt/a.xml", "imported", "camt"),
        ("bundle.zip!stmt/b.sta", "imported", "mt940"),
    ]


def test_final_camt053_supersedes_camt052_report_of_the_same_day(store: Store, drop: Path) -> None:
    report = FIXTURES / "camt/camt052_v13_intraday.xml"
    final = (
        '<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">'
        "<BkToCstmrStmt><Stmt><Id>EOD-2024-03-01</Id>"
        "<FrToDt><FrDtTm>2024-03-01T00:00:00+01:00</FrDtTm><ToDtTm>2024-03-01T23:59:59+01:00"
        "</ToDtTm></FrToDt><Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        '<Ntry><Amt Ccy="EUR">25.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
        "<BookgDt><Dt>2024-03-01</Dt></BookgDt><AcctSvcrRef>EOD-1</AcctSvcrRef></Ntry>"
        "</Stmt></BkToCstmrStmt></Document>"
    )
    (drop / "eod.xml").write_text(final)
    first = import_paths(store, [report], now=NOW)
    second = import_paths(store, [drop / "eod.xml"], now=NOW)
    assert first[0].status == second[0].status == "imported"
    assert second[0].superseded == ("NL91ABNA0417164300:RPT-1-1#intraday",)
    with store.session() as s:
        keys = s.scalars(select(FeedStatementRow.statement_key)).all()
        pending = s.scalars(
            select(FeedRecordRow).where(FeedRecordRow.file_sha256 == first[0].sha256)
        )
        assert keys == ["EOD-2024-03-01"]
        assert pending.all() == []


def test_stored_entries_read_back_as_the_parsed_transactions(store: Store, drop: Path) -> None:
    from canonical import BankTransaction
    from connectors.feeds import bai2

    data = (FIXTURES / "bai2/quirks.bai2").read_bytes()
    (drop / "q.bai2").write_bytes(data)
    import_paths(store, [drop], now=NOW)
    parsed = {t.source_id: t for t in bai2.parse(data, file_name=str(drop / "q.bai2")).transactions}
    with store.session() as s:
        stored = s.scalars(select(FeedRecordRow).where(FeedRecordRow.kind == "bank_transaction"))
        back = {}
        for row in stored:
            record = dict(row.record)
            assert record["extra"].pop("feed_statement_key")
            tx = BankTransaction.model_validate(record)
            back[tx.source_id] = tx
    assert back == parsed


EDI = Path(__file__).parent.parent / "feeds_edi" / "fixtures" / "x12"


def _kinds(store: Store, kind: str) -> list[tuple[str, str]]:
    with store.session() as s:
        rows = s.scalars(select(FeedRecordRow).where(FeedRecordRow.kind == kind)).all()
        return sorted((r.record_key, r.file_sha256) for r in rows)


def test_resent_820_remittance_is_skipped_not_stored_twice(store: Store, drop: Path) -> None:
    first = (EDI / "820_basic.edi").read_bytes()
    # the same 820 re-sent with new interchange and group control numbers
    resent = first.replace(b"000000101", b"000000102").replace(b"*101*", b"*102*")
    other_sender = first.replace(b"ACMEPAYER      ", b"OTHERPAYER     ")
    for name, data in (("a.edi", first), ("b.edi", resent), ("c.edi", other_sender)):
        (drop / name).write_bytes(data)
    out = import_paths(store, [drop], now=NOW)
    assert [(o.status, o.remittances, o.duplicate_records) for o in out] == [
        ("imported", 1, {}),
        ("imported", 1, {"remittance": 1}),
        ("imported", 1, {}),  # a trace number is unique only per sender
    ]
    assert _kinds(store, "remittance") == [
        ("x12|ACMEPAYER|0011223344", out[0].sha256),
        ("x12|OTHERPAYER|0011223344", out[2].sha256),
    ]


def test_resent_acknowledgement_is_kept_once_a_changed_one_is_kept(
    store: Store, drop: Path
) -> None:
    acks = (EDI / "997_acks.edi").read_bytes()
    (drop / "a.edi").write_bytes(acks)
    (drop / "b.edi").write_bytes(acks.replace(b"000000301", b"000000302"))
    (drop / "c.edi").write_bytes(acks.replace(b"AK9*R*1*1*0", b"AK9*A*1*1*1"))
    out = import_paths(store, [drop], now=NOW)
    assert [o.duplicate_records for o in out] == [
        {},
        {"acknowledgement": 2},
        {"acknowledgement": 1},
    ]
    assert len(_kinds(store, "acknowledgement")) == 3  # the re-accepted group 1002 is new


def test_resent_camt_replaces_its_remittances_with_the_statement(store: Store, drop: Path) -> None:
    data = (FIXTURES / "camt/camt053_v02_quirks.xml").read_bytes()
    (drop / "a.xml").write_bytes(data)
    (drop / "b.xml").write_bytes(data + b"<!-- resent -->\n")
    out = import_paths(store, [drop], now=NOW)
    assert [o.status for o in out] == ["imported", "imported"]
    assert out[1].superseded
    stored = _kinds(store, "remittance")
    assert len(stored) == 2
    assert {sha for _, sha in stored} == {out[1].sha256}


def _camt_doc(message: str, body: str) -> str:
    root, container = {
        "052": ("BkToCstmrAcctRpt", "Rpt"),
        "053": ("BkToCstmrStmt", "Stmt"),
    }[message]
    return (
        f'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.{message}'
        f'.001.02"><{root}><GrpHdr><MsgId>M</MsgId><CreDtTm>2024-01-31T12:00:00</CreDtTm>'
        f"</GrpHdr><{container}>{body}</{container}></{root}></Document>"
    )


def _ntry(ref: str, status: str, day: str) -> str:
    return (
        f'<Ntry><Amt Ccy="EUR">10.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>{status}</Sts>'
        f"<BookgDt><Dt>{day}</Dt></BookgDt><AcctSvcrRef>{ref}</AcctSvcrRef></Ntry>"
    )


ACCT = "<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>"


def test_final_camt053_supersedes_a_052_report_without_period_or_balances(
    store: Store, drop: Path
) -> None:
    report = _camt_doc(
        "052",
        f"<Id>RPT-1</Id><CreDtTm>2024-01-31T12:00:00</CreDtTm>{ACCT}"
        + _ntry("AX-1", "PDNG", "2024-01-31")
        + _ntry("AX-2", "BOOK", "2024-01-31"),
    )
    final = _camt_doc(
        "053",
        f"<Id>STMT-0131</Id>{ACCT}"
        '<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">20.00</Amt>'
        "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-01-31</Dt></Dt></Bal>"
        + _ntry("AX-1", "BOOK", "2024-01-31")
        + _ntry("AX-2", "BOOK", "2024-01-31"),
    )
    (drop / "a.xml").write_text(report)
    (drop / "b.xml").write_text(final)
    out = import_paths(store, [drop], now=NOW)
    assert out[1].superseded == ("DE89370400440532013000:RPT-1#intraday",)
    assert out[1].duplicate_entries == 0
    with store.session() as s:
        assert s.scalars(select(FeedStatementRow.statement_key)).all() == ["STMT-0131"]
        records = s.scalars(select(FeedRecordRow)).all()
        assert (
            sorted((r.record["status"], r.file_sha256) for r in records)
            == [("booked", out[1].sha256)] * 2
        )


def test_booked_entry_replaces_a_pending_copy_not_superseded(store: Store, drop: Path) -> None:
    # the report's period (its entry dates, 30th) is outside the final's FrToDt (31st)
    report = _camt_doc("052", f"<Id>RPT-2</Id>{ACCT}" + _ntry("AX-9", "PDNG", "2024-01-30"))
    final = _camt_doc(
        "053",
        f"<Id>STMT-9</Id><FrToDt><FrDtTm>2024-01-31T00:00:00</FrDtTm>"
        f"<ToDtTm>2024-01-31T23:59:59</ToDtTm></FrToDt>{ACCT}"
        + _ntry("AX-9", "BOOK", "2024-01-31")
        + _ntry("AX-10", "BOOK", "2024-01-31"),
    )
    again = final.replace("STMT-9", "STMT-9b")
    for name, doc in (("a.xml", report), ("b.xml", final), ("c.xml", again)):
        (drop / name).write_text(doc)
    out = import_paths(store, [drop], now=NOW)
    assert [o.superseded for o in out] == [(), (), ()]
    assert [o.duplicate_entries for o in out] == [0, 0, 2]  # booked copies stay skipped
    with store.session() as s:
        rows = s.scalars(select(FeedRecordRow)).all()
        assert sorted((r.record["bank_reference"], r.record["status"]) for r in rows) == [
            ("AX-10", "booked"),
            ("AX-9", "booked"),
        ]
