"""``uat compare``: exit codes, sign-off workbook and HTML, rerun progress."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

import uat.cli
from tests.uat.builder import SPEC, Plan, build
from tests.uat.conftest import NOW

runner = CliRunner()

PASSING = SPEC.split("expectations:")[0] + (
    "expectations:\n"
    "  - {type: match_rate, entity: customers, min_pct: 80}\n"
    "  - {type: no_exceptions, entity: invoice_lines, category: DUPLICATE}\n"
)


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uat.cli, "now", lambda: NOW)


def _compare(*args: str) -> tuple[int, str]:
    result = runner.invoke(uat.cli.app, ["compare", *args])
    return result.exit_code, result.output


def test_exit_1_when_an_expectation_fails(tmp_path: Path) -> None:
    code, out = _compare(str(build(tmp_path)))
    assert code == 1
    assert "FAIL every open item over 10000 matches to the cent" in out
    assert "PASS customers: match rate ≥ 80%" in out


def test_exit_0_when_every_expectation_passes(tmp_path: Path) -> None:
    code, out = _compare(str(build(tmp_path, spec=PASSING)))
    assert code == 0, out
    assert "FAIL" not in out


def test_exit_2_with_one_line_naming_file_line_and_field(tmp_path: Path) -> None:
    text = SPEC.replace("min_pct: 80", "min_pct: eighty")
    line = 1 + text.splitlines().index("  - {type: match_rate, entity: customers, min_pct: eighty}")
    spec = build(tmp_path, spec=text)
    code, out = _compare(str(spec))
    assert code == 2
    assert out.strip() == (
        f"error: {spec}:{line}: expectations.0.min_pct: Input should be a valid decimal"
    )


def test_exit_2_on_a_bad_input_file(tmp_path: Path) -> None:
    spec = build(tmp_path)
    (tmp_path / "new_ar.csv").write_text(
        "document_number,customer_id,currency,due_date,amount,open_amount\n"
        "AR-0001,N1001,EUR,2024-03-01,abc,1\n",
        encoding="utf-8",
    )
    code, out = _compare(str(spec))
    assert code == 2
    assert "new_ar.csv, line 2: field 'amount'" in out


def test_signoff_workbook_and_html(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    code, _ = _compare(str(build(tmp_path / "data")), "--out", str(out_dir))
    assert code == 1
    book = openpyxl.load_workbook(out_dir / "uat-erp-cutover.xlsx")
    assert book.sheetnames[:4] == ["Summary", "Root causes", "Expectations", "Translation gaps"]
    assert {"customers", "ar_items", "invoice_lines", "trial_balance"} <= set(book.sheetnames)
    summary = book["Summary"]
    assert summary.freeze_panes == "A2"
    assert summary.auto_filter.ref is not None
    header = [c.value for c in summary[1]]
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in summary.iter_rows(2, values_only=True)}
    assert rows["customers"]["match rate %"] == pytest.approx(85.71)
    assert rows["customers"]["exceptions"] == 3
    assert (rows["customers"]["MISSING_IN_A"], rows["customers"]["MISSING_IN_B"]) == (1, 2)
    assert rows["customers"]["AMOUNT_MISMATCH"] == 0
    assert rows["invoice_lines"]["DATE_MISMATCH"] == 4
    assert rows["invoice_lines"]["top root cause"] == "billing_date shifted by +1 day"
    lines = book["invoice_lines"]
    header = [c.value for c in lines[1]]
    items = [dict(zip(header, r, strict=True)) for r in lines.iter_rows(2, values_only=True)]
    tax = next(i for i in items if i["record"] == "invoice_number=INV-004, line_number=1")
    assert tax["root cause"] == "tax_amount differs by exactly the rate change 0.19 -> 0.16"
    assert tax["amount at risk"] == pytest.approx(6.32)  # typed number, not text
    assert "tax_amount=39.98" in tax["legacy values"] and "tax_amount=33.66" in tax["new values"]
    expect = book["Expectations"]
    results = {r[0]: (r[2], r[5]) for r in expect.iter_rows(2, values_only=True)}
    assert results["every open item over 10000 matches to the cent"] == (
        "FAIL",
        "document_number=AR-0003",
    )
    assert results["customers: no record without tax_id (new system)"] == (
        "FAIL",
        "customer_id=N1015",
    )
    gaps = {(r[1], r[3]) for r in book["Translation gaps"].iter_rows(2, values_only=True)}
    assert gaps == {("customer", "C0007"), ("item", "OLD-X")}
    html = (out_dir / "uat-erp-cutover.html").read_text(encoding="utf-8")
    assert "UAT sign-off: erp-cutover" in html
    assert "tax_amount differs by exactly the rate change 0.19 -&gt; 0.16" in html
    assert "FAILED" in html and "first run" in html


def test_rerun_shows_progress_since_the_last_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    data = tmp_path / "data"
    spec = build(data)
    code, _ = _compare(str(spec), "--state-url", url)
    assert code == 1
    build(data, Plan(drop_customer=False, ar_drift=False))  # two defects fixed
    out_dir = tmp_path / "out"
    code, out = _compare(str(spec), "--state-url", url, "--out", str(out_dir))
    assert code == 1
    assert "customers: 85.71% → 90.48% (1 fixed, 0 new)" in out  # N1013 arrived: 19 of 21
    assert "ar_items: 90.00% → 93.33% (1 fixed, 0 new)" in out  # AR-0003 drift fixed
    assert "subscriptions: 81.25% → 81.25% (0 fixed, 0 new)" in out
    book = openpyxl.load_workbook(out_dir / "uat-erp-cutover.xlsx")
    sheet = book["Summary"]
    header = [c.value for c in sheet[1]]
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(2, values_only=True)}
    assert rows["ar_items"]["previous match rate %"] == pytest.approx(90.0)
    assert rows["ar_items"]["fixed since last run"] == 1
    assert rows["subscriptions"]["fixed since last run"] == 0
    assert "85.71% → 90.48%, 1 fixed, 0 new" in (out_dir / "uat-erp-cutover.html").read_text()


def test_entity_sheets_are_capped_with_a_note(sample_run: object) -> None:
    import io

    from uat.runner import UatRun
    from uat.signoff import render_xlsx

    assert isinstance(sample_run, UatRun)
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(sample_run, max_rows=2)))
    rows = list(book["invoice_lines"].iter_rows(2, values_only=True))
    assert len(rows) == 3
    assert rows[2][0] == "... 7 more exception(s) not listed"
    summary = {r[0]: r[5] for r in book["Summary"].iter_rows(2, values_only=True)}
    assert summary["invoice_lines"] == 9  # the scorecard still counts every exception


def test_exit_3_on_an_internal_error_never_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1 means "an expectation failed": a crash must not read as a verdict in a CI gate."""

    def crash(*args: object, **kwargs: object) -> None:
        raise TypeError("unsupported operand")

    monkeypatch.setattr("uat.runner.run_uat", crash)
    code, out = _compare(str(build(tmp_path)))
    assert code == 3
    assert out.strip() == "error: unexpected TypeError: unsupported operand"


def test_amounts_keep_the_currency_minor_units_in_evidence_and_signoff(tmp_path: Path) -> None:
    """250.00 EUR is shown as 250.00, never 250 (the engine's texts drop trailing zeros)."""
    import io

    from uat.runner import run_uat
    from uat.signoff import render_xlsx
    from uat.spec import parse_spec

    head = "document_number,customer_id,currency,due_date,amount,open_amount\n"
    (tmp_path / "old.csv").write_text(
        head + "AR-1,C1,EUR,2024-03-01,250.00,250.00\nAR-2,C1,EUR,2024-03-01,1250.40,1250.40\n",
        encoding="utf-8",
    )
    (tmp_path / "new.csv").write_text(
        head + "AR-2,C1,EUR,2024-03-01,1250.40,1250.41\n", encoding="utf-8"
    )
    text = (
        "name: t\nentities:\n"
        "  - {name: ar, kind: ar_open, legacy: {path: old.csv}, new: {path: new.csv}}\n"
    )
    run = run_uat(parse_spec(text), tmp_path, now=NOW)
    (score,) = run.scores
    assert {k: str(v) for k, v in score.at_risk.items()} == {"EUR": "250.01"}
    risk = {g.cause.pattern: {k: str(v) for k, v in g.at_risk.items()} for g in score.root_causes}
    assert risk == {"missing_in_new": {"EUR": "250.00"}, "rounding_drift": {"EUR": "0.01"}}
    assert sorted(str(i.at_risk) for i in score.attributed) == ["0.01", "250.00"]
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(run)))
    header = [c.value for c in book["ar"][1]]
    items = {
        r[0]: dict(zip(header, r, strict=True)) for r in book["ar"].iter_rows(2, values_only=True)
    }
    assert "open_amount=250.00" in items["document_number=AR-1"]["legacy values"]
    # compared casefolded, a currency code still reads as ISO writes it
    assert "currency=EUR;" in items["document_number=AR-1"]["legacy values"]
    assert items["document_number=AR-2"]["legacy values"] == "open_amount=1250.40"
    assert items["document_number=AR-2"]["new values"] == "open_amount=1250.41"
    causes = {r[2]: r[5] for r in book["Root causes"].iter_rows(2, values_only=True)}
    assert causes == {"missing_in_new": "250.00 EUR", "rounding_drift": "0.01 EUR"}


def test_exception_sheets_show_each_systems_own_text(tmp_path: Path) -> None:
    """Names are compared casefolded, but the sheets show them as each system writes them
    (QuickBooks "Acme GmbH", NetSuite "ACME GMBH"), read back from the source lines."""
    import io

    from uat.runner import run_uat
    from uat.signoff import render_xlsx
    from uat.spec import parse_spec

    head = "customer_id,name,status,currency,tax_id,credit_limit\n"
    (tmp_path / "qb.csv").write_text(
        head
        + "C-1,Acme GmbH,Active,EUR,DE111,5000.00\n"
        + "C-2,Müller Straße KG,Active,EUR,DE222,100.00\n"
        + "C-3,Beta AG,Active,EUR,DE333,100.00\n",
        encoding="utf-8",
    )
    (tmp_path / "ns.csv").write_text(
        head
        + "C-1,ACME GMBH,Active,EUR,DE111,7000.00\n"
        + "C-1,ACME GMBH,Active,EUR,DE111,7000.00\n"
        + "C-3,BETA AG Zürich,Active,EUR,DE333,100.00\n",
        encoding="utf-8",
    )
    text = (
        "name: t\nentities:\n"
        "  - {name: c, kind: customer, legacy: {path: qb.csv}, new: {path: ns.csv}}\n"
    )
    run = run_uat(parse_spec(text), tmp_path, now=NOW)
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(run)))
    header = [c.value for c in book["c"][1]]
    items = {
        r[0]: dict(zip(header, r, strict=True)) for r in book["c"].iter_rows(2, values_only=True)
    }
    dup = items["customer_id=C-1"]  # a duplicate shows every field of its first rows
    assert dup["legacy values"].startswith("name=Acme GmbH; status=Active; currency=EUR;")
    assert dup["new values"].startswith("name=ACME GMBH; status=Active; currency=EUR;")
    assert items["customer_id=C-2"]["legacy values"].startswith("name=Müller Straße KG;")
    differs = items["customer_id=C-3"]
    assert (differs["legacy values"], differs["new values"]) == (
        "name=Beta AG",
        "name=BETA AG Zürich",
    )


def test_the_printed_scorecard_has_categories_and_amount_at_risk(tmp_path: Path) -> None:
    """What the workbook's scorecard says per entity is on the screen too: the count per
    exception category and the amount at risk per currency."""
    from uat.runner import run_uat
    from uat.spec import load_spec

    path = build(tmp_path)
    code, out = _compare(str(path))
    assert code == 1  # the spec's planted defects fail a gate
    spec, base = load_spec(path)
    run = run_uat(spec, base, now=NOW)
    for sc in run.scores:
        if sc.categories:
            counts = ", ".join(f"{n} {c}" for c, n in sc.categories.items())
            assert f"{sc.entity}: {counts}" in out
        for ccy, amount in sc.at_risk.items():
            assert f"{amount:,f} {ccy}" in out
    assert any(sc.at_risk for sc in run.scores) and any(sc.categories for sc in run.scores)
