"""Expectations pass or fail with their evidence; sources from Parquet, XLSX and hooks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from canonical import Money
from canonical.ledger import JournalLine
from tests.uat.builder import SPEC, build
from tests.uat.conftest import NOW
from uat.runner import UatRun, run_uat
from uat.spec import load_spec, parse_spec


def _results(run: UatRun) -> dict[str, tuple[bool, str, int, list[str]]]:
    return {x.name: (x.passed, x.evidence, x.failing, x.examples) for x in run.expectations}


def test_sample_expectations_with_evidence(sample_run: UatRun) -> None:
    assert _results(sample_run) == {
        "customers: match rate ≥ 80%": (True, "match rate 85.71% (18 of 21 keys)", 0, []),
        "customers: no record without tax_id (new system)": (
            False, "1 record(s) with a blank tax_id", 1, ["customer_id=N1015"]),
        "every open item over 10000 matches to the cent": (
            False, "1 record(s) over 10000 differ by more than 0", 1,
            ["document_number=AR-0003"]),
        "trial_balance: balance ties per key": (
            False, "1 group(s) do not tie", 1, ["account=41000, currency=EUR (delta 0.01)"]),
        "subscriptions: record counts equal": (
            False, "legacy 15 key(s), new 14", 3,
            ["subscription_id=SUB-009, item_code=NEW-A",
             "subscription_id=SUB-012, item_code=NEW-X",
             "subscription_id=SUB-012, item_code=OLD-X"]),
        "invoice_lines: no exceptions of DUPLICATE": (True, "0 matching exception(s)", 0, []),
    }  # fmt: skip


EXTRA = """\
  - {type: amounts_match, entity: ar_items, field: open_amount, over: 10000, where: {currency: GBP}}
  - {type: amounts_match, entity: ar_items, field: open_amount, where: {customer_id: N1003}}
  - {type: amounts_match, entity: ar_items, field: open_amount, over: 10000, max_delta: "0.01"}
  - {type: no_exceptions, entity: invoice_lines, root_cause: tax_rate_change, examples: 1}
  - {type: no_exceptions, entity: invoice_lines, root_cause: scaled_by_factor}
  - {type: match_rate, entity: invoice_lines, min_pct: "77.6"}
  - {type: ties, entity: trial_balance, field: balance, by: [currency]}
  - {type: not_blank, entity: customers, field: name, side: legacy}
"""


def test_declared_thresholds_decide_pass_or_fail(tmp_path: Path) -> None:
    spec, base = load_spec(build(tmp_path, spec=SPEC + EXTRA))
    results = _results(run_uat(spec, base, now=NOW))
    assert results["ar_items: every open_amount over 10000 matches within 0.01"][0] is True
    assert results["invoice_lines: no exceptions of tax_rate_change"] == (
        False, "2 matching exception(s)", 2, ["invoice_number=INV-004, line_number=1"]
    )  # fmt: skip
    assert results["invoice_lines: no exceptions of scaled_by_factor"][0] is True
    # no GBP item on either side: a filter that checks nothing fails instead of passing
    gbp = results["ar_items: every open_amount over 10000 with currency=GBP matches within 0"]
    assert gbp[:2] == (
        False,
        "the filter currency=GBP selects no record on either side: nothing was checked",
    )
    # AR-0003 belongs to customer N1003 (C0003 translated): selected, so it fails
    assert results["ar_items: every open_amount over 0 with customer_id=N1003 matches within 0"][
        2:
    ] == (1, ["document_number=AR-0003"])
    assert results["invoice_lines: match rate ≥ 77.6%"][:2] == (
        False, "match rate 77.50% (31 of 40 keys)"
    )  # fmt: skip
    assert results["trial_balance: balance ties per currency"][1:] == (
        "1 group(s) do not tie", 1, ["currency=EUR (delta 0.01)"]
    )  # fmt: skip
    assert results["customers: no record without name (legacy system)"][0] is True


def test_parquet_and_xlsx_sides_and_a_live_hook(tmp_path: Path) -> None:
    import xlsxwriter

    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM (VALUES ('4000', 'EUR', CAST(-100.00 AS DECIMAL(18,2))), "
        f"('1000', 'EUR', CAST(100.00 AS DECIMAL(18,2)))) t(KONTO, WAEHRUNG, SALDO)) "
        f"TO '{tmp_path / 'tb.parquet'}' (FORMAT parquet)"
    )
    con.close()
    book = xlsxwriter.Workbook(str(tmp_path / "tb.xlsx"))
    sheet = book.add_worksheet("TB")
    sheet.write_row(0, 0, ["account", "currency", "balance"])
    sheet.write_row(1, 0, ["4000", "EUR", -100.0])
    sheet.write_row(2, 0, ["1000", "EUR", 99.5])
    book.close()

    def journal(name: str, kind: str) -> list[JournalLine]:
        assert (name, kind) == ("gl", "gl_balance")
        return [
            JournalLine(source_system="gl", source_id=f"J{i}", updated_at=NOW, journal_id="J",
                        line_number=i, posting_date=date(2024, 1, 31), period="2024-01",
                        account=acct, currency="EUR", amount=Money(Decimal(v), "EUR"))
            for i, (acct, v) in enumerate([("4000", "-60"), ("4000", "-40"), ("1000", "100")])
        ]  # fmt: skip

    text = """\
name: tb
entities:
  - name: legacy_vs_xlsx
    kind: gl_balance
    legacy: {path: tb.parquet, columns: {account: KONTO, currency: WAEHRUNG, balance: SALDO}}
    new: {path: tb.xlsx, sheet: TB}
  - name: legacy_vs_ledger
    kind: gl_balance
    legacy: {path: tb.parquet, columns: {account: KONTO, currency: WAEHRUNG, balance: SALDO}}
    new: {connector: gl}
expectations:
  - {type: ties, entity: legacy_vs_xlsx, field: balance}
  - {type: ties, entity: legacy_vs_ledger, field: balance}
"""
    run = run_uat(parse_spec(text, "tb.yaml"), tmp_path, now=NOW, hooks={"gl": journal})
    results = _results(run)
    assert results["legacy_vs_xlsx: balance ties per key"][3] == [
        "account=1000, currency=EUR (delta -0.50)"  # EUR keeps its cents
    ]
    assert results["legacy_vs_ledger: balance ties per key"] == (
        True, "0 group(s) do not tie", 0, []
    )  # fmt: skip


def test_an_unregistered_live_source_is_a_config_error(tmp_path: Path) -> None:
    text = """\
name: t
entities:
  - {name: tb, kind: gl_balance, legacy: {connector: old}, new: {connector: new}}
"""
    from billbridge.errors import ConfigError

    with pytest.raises(ConfigError, match="no live source registered as 'old'"):
        run_uat(parse_spec(text), tmp_path, now=NOW)


def test_a_windows_1252_semicolon_csv_is_read_raw(tmp_path: Path) -> None:
    (tmp_path / "old.csv").write_bytes(
        "KONTO;WÄHRUNG;SALDO\n4000;EUR;-100.00\n1000;EUR;100.00\n".encode("cp1252")
    )
    (tmp_path / "new.csv").write_text(
        "account,currency,balance\n4000,EUR,-100.00\n1000,EUR,100.01\n", encoding="utf-8"
    )
    text = """\
name: tb
entities:
  - name: tb
    kind: gl_balance
    legacy: {path: old.csv, columns: {account: KONTO, currency: WÄHRUNG, balance: SALDO}}
    new: {path: new.csv}
"""
    run = run_uat(parse_spec(text), tmp_path, now=NOW)
    (score,) = run.scores
    assert (score.rows_legacy, score.matched) == (2, 1)
    assert [(g.cause.pattern, g.count) for g in score.root_causes] == [("rounding_drift", 1)]


def test_translated_parquet_side_is_read_in_place_with_its_codes_translated(
    tmp_path: Path,
) -> None:
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT * FROM (VALUES ('AR-1', 'C1', 'EUR', '2024-03-01', 10.00, 10.00, 'x'), "
        "('AR-2', 'C2', 'EUR', '2024-03-01', 20.00, 20.00, 'y'), "
        "('AR-3', 'C3', 'EUR', '2024-03-01', 30.00, 30.00, 'z')) "
        "t(document_number, customer_id, currency, due_date, amount, open_amount, memo)) "
        f"TO '{tmp_path / 'old.parquet'}' (FORMAT parquet)"
    )
    con.close()
    (tmp_path / "new.csv").write_text(
        "document_number,customer_id,currency,due_date,amount,open_amount\n"
        "AR-1,N1,EUR,2024-03-01,10.00,10.00\nAR-3,N3,EUR,2024-03-01,30.00,30.00\n",
        encoding="utf-8",
    )
    (tmp_path / "x.csv").write_text("old,new\nC1,N1\nC2,N2\nC3,N3\n", encoding="utf-8")
    text = """\
name: ar
translations: {customer: {path: x.csv}}
entities:
  - {name: ar, kind: ar_open, legacy: {path: old.parquet}, new: {path: new.csv},
     translate: {customer_id: customer}}
"""
    from uat.entities import prepare_entity
    from uat.translate import load_translation

    spec = parse_spec(text)
    xlat = {"customer": load_translation("customer", spec.translations["customer"], tmp_path)}
    prepared = prepare_entity(spec, spec.entities[0], tmp_path, xlat)
    # no translated copy: the engine scans the file and joins the code table in
    assert prepared.legacy.table is None and prepared.legacy.parquet is not None
    assert [c for c, _ in prepared.legacy.translations] == ["customer_id"]
    assert prepared.legacy.column("customer_id").column(0).to_pylist() == ["N1", "N2", "N3"]
    (score,) = run_uat(spec, tmp_path, now=NOW).scores
    (missing,) = score.attributed
    assert missing.candidate.keys == {"document_number": "AR-2"}
    assert missing.candidate.details["lines"]["a"] == 2  # second row of the Parquet file


def test_per_key_totals_of_unique_keys_are_the_same_without_grouping(tmp_path: Path) -> None:
    """The runner skips grouping per key when the engine found no repeated key; the totals
    must be the very ones grouping gives."""
    from uat.entities import prepare_entity
    from uat.runner import _translations
    from uat.totals import key_totals

    spec, base = load_spec(build(tmp_path))
    xlat = _translations(spec, base)
    entity = prepare_entity(
        spec, next(e for e in spec.entities if e.name == "ar_items"), base, xlat
    )
    grouped = key_totals(entity, ["open_amount"], ["customer_id"])
    single = key_totals(entity, ["open_amount"], ["customer_id"], unique=True)
    keys = [k for k in grouped.table.column_names if k.startswith("k")]
    once = "coalesce(na, 1) = 1 AND coalesce(nb, 1) = 1"  # keys on one row a side
    a = grouped.query(f"SELECT * FROM t WHERE {once} ORDER BY {', '.join(keys)}")
    b = single.query(f"SELECT * FROM t WHERE {once} ORDER BY {', '.join(keys)}")
    assert len(a) > 10 and a == b
