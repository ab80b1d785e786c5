"""A legacy ERP's export written the local way (`1.234,56`, `31.01.2024`, US `1/31/2024`)
compared with the new system's ISO export: numbers with a decimal comma where the source
declares them, local dates always (their order declared where no value decides)."""

from __future__ import annotations

from pathlib import Path

import pytest

from billbridge.errors import ConfigError
from tests.uat.conftest import NOW
from uat.runner import UatRun, run_uat
from uat.spec import parse_spec

NEW = (
    "document_number,customer_id,currency,due_date,amount,open_amount\n"
    "AR-1,C1,EUR,2024-01-31,1234.56,1234.56\n"
    "AR-2,C2,EUR,2024-02-01,99.90,50.00\n"
    "AR-3,C3,EUR,2024-12-05,1000.00,1000.00\n"
)
GERMAN = (
    "Beleg;Kunde;Waehrung;Faellig;Betrag;Offen\n"
    "AR-1;C1;EUR;31.01.2024;1.234,56;1.234,56\n"
    "AR-2;C2;EUR;01.02.2024;99,90;50,00\n"
    "AR-3;C3;EUR;05.12.2024;1.000,00;1.000,00\n"
)
SPEC = """\
name: t
entities:
  - name: ar
    kind: ar_open
    legacy:
      path: old.csv
      decimal_comma: true
      columns: {document_number: Beleg, customer_id: Kunde, currency: Waehrung,
                due_date: Faellig, amount: Betrag, open_amount: Offen}
    new: {path: new.csv}
"""


def _run(folder: Path, spec: str, old: str, new: str = NEW) -> UatRun:
    (folder / "old.csv").write_text(old, encoding="utf-8")
    (folder / "new.csv").write_text(new, encoding="utf-8")
    return run_uat(parse_spec(spec), folder, now=NOW)


def test_a_german_export_matches_its_iso_twin(tmp_path: Path) -> None:
    (score,) = _run(tmp_path, SPEC, GERMAN).scores
    assert (score.matched, score.exceptions) == (3, 0)


def test_a_difference_in_a_german_export_is_found_to_the_cent(tmp_path: Path) -> None:
    (score,) = _run(tmp_path, SPEC, GERMAN.replace("99,90;50,00", "99,90;50,01")).scores
    assert score.exceptions == 1
    assert {str(v) for v in score.at_risk.values()} == {"0.01"}


def test_without_the_declaration_a_decimal_comma_is_an_error_at_its_line(tmp_path: Path) -> None:
    with pytest.raises(Exception, match=r"old.csv, line 2: field 'Betrag': '1.234,56'"):
        _run(tmp_path, SPEC.replace("      decimal_comma: true\n", ""), GERMAN)


def test_us_dates_are_read_month_first_when_a_value_says_so(tmp_path: Path) -> None:
    old = NEW.replace("2024-01-31", "1/31/2024").replace("2024-02-01", "2/1/2024")
    (score,) = _run(tmp_path, _plain_spec(), old.replace("2024-12-05", "12/5/2024")).scores
    assert (score.matched, score.exceptions) == (3, 0)


def _plain_spec(dates: str = "") -> str:
    return (
        "name: t\nentities:\n  - name: ar\n    kind: ar_open\n"
        f"    legacy: {{path: old.csv{dates}}}\n    new: {{path: new.csv}}\n"
    )


def test_dates_that_read_both_ways_need_the_order_declared(tmp_path: Path) -> None:
    ambiguous = NEW.replace("2024-01-31", "01/02/2024").replace("2024-02-01", "03/04/2024")
    ambiguous = ambiguous.replace("2024-12-05", "05/06/2024")
    new = NEW.replace("2024-01-31", "2024-02-01").replace("2024-02-01,99", "2024-04-03,99")
    new = new.replace("2024-12-05", "2024-06-05")
    with pytest.raises(ConfigError) as caught:
        _run(tmp_path, _plain_spec(), ambiguous, new)
    message = str(caught.value)
    assert message.startswith("<spec>:5: entities.0.legacy.dates: ")
    assert "column 'due_date' holds dates that read differently day first and month" in message
    (score,) = _run(tmp_path, _plain_spec(", dates: day_first"), ambiguous, new).scores
    assert (score.matched, score.exceptions) == (3, 0)
    (score,) = _run(tmp_path, _plain_spec(", dates: month_first"), ambiguous, new).scores
    assert score.exceptions == 3


def test_a_text_field_that_looks_like_a_date_stays_as_written(tmp_path: Path) -> None:
    """Only the kind's date fields are read as dates: a customer code 01.02.2024 is a code."""
    old = NEW.replace("C1,", "01.02.2024,").replace("C2,", "03.04.2024,").replace("C3,", "x,")
    new = NEW.replace("C1,", "01.02.2024,").replace("C2,", "03.04.2024,").replace("C3,", "x,")
    run = _run(tmp_path, _plain_spec(), old, new)
    (score,) = run.scores
    assert (score.matched, score.exceptions) == (3, 0)


def test_decimal_comma_and_dates_are_refused_on_a_mapped_source() -> None:
    text = (
        "name: t\nentities:\n  - name: ar\n    kind: ar_open\n"
        "    legacy: {path: old.csv, mapping: exports/legacy_ar, dates: day_first}\n"
        "    new: {path: new.csv}\n"
    )
    with pytest.raises(ConfigError, match="decimal_comma and dates apply to raw files"):
        parse_spec(text)
