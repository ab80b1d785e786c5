"""``rootcause.rounding`` is the drift tolerated, never negative; the rate-change rule has
its own tolerance (the rounding the tax computations leave), whatever the drift setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from billbridge.errors import ConfigError
from tests.uat.conftest import NOW
from uat.cli import app
from uat.rootcause import Cause
from uat.runner import run_uat
from uat.spec import parse_spec

HEAD = "invoice_number,line_number,customer_id,item_code,currency,billing_date,quantity,"
HEAD += "net_amount,tax_amount\n"
# 19 % tax recomputed at 16 % and rounded to the cent (and one yen invoice)
LEGACY = (
    "R1,1,C1,S1,EUR,2024-02-01,1,200.90,38.17\n"
    "R2,1,C1,S1,EUR,2024-02-02,1,300.85,57.16\n"
    "R3,1,C1,S1,EUR,2024-02-03,1,401.80,76.34\n"
    "R4,1,C1,S1,EUR,2024-02-04,1,10.03,1.91\n"
    "R5,1,C1,S1,JPY,2024-02-05,1,1003,191\n"
)
NEW = (
    "R1,1,C1,S1,EUR,2024-02-01,1,200.90,32.14\n"
    "R2,1,C1,S1,EUR,2024-02-02,1,300.85,48.14\n"
    "R3,1,C1,S1,EUR,2024-02-03,1,401.80,64.29\n"
    "R4,1,C1,S1,EUR,2024-02-04,1,10.03,1.60\n"
    "R5,1,C1,S1,JPY,2024-02-05,1,1003,160\n"
)


def _spec(rounding: str) -> str:
    return (
        "name: rnd\n"
        f'rootcause: {{rate_changes: [{{old: "0.19", new: "0.16"}}], rounding: "{rounding}"}}\n'
        "entities:\n"
        "  - {name: lines, kind: invoice_line, legacy: {path: leg.csv}, new: {path: new.csv}}\n"
        "expectations:\n"
        "  - {type: no_exceptions, entity: lines, root_cause: tax_rate_change}\n"
    )


@pytest.mark.parametrize("rounding", ["0", "0.01"])
def test_a_rate_change_is_found_whatever_drift_is_tolerated(tmp_path: Path, rounding: str) -> None:
    (tmp_path / "leg.csv").write_text(HEAD + LEGACY)
    (tmp_path / "new.csv").write_text(HEAD + NEW)
    run = run_uat(parse_spec(_spec(rounding)), tmp_path, now=NOW)
    (score,) = run.scores
    rate = Cause("tax_rate_change", "tax_amount", "0.19 -> 0.16")
    assert {i.key_text: i.causes for i in score.attributed} == {
        f"invoice_number=R{n}, line_number=1": (rate,) for n in range(1, 6)
    }
    (gate,) = run.expectations
    assert (gate.passed, gate.failing) == (False, 5)


def test_a_gap_beyond_the_tax_rounding_is_no_rate_change(tmp_path: Path) -> None:
    (tmp_path / "leg.csv").write_text(HEAD + LEGACY)
    # 0.02 off what 16 % gives: more than the rounding of the two computations
    (tmp_path / "new.csv").write_text(HEAD + NEW.replace(",32.14", ",32.16"))
    (score,) = run_uat(parse_spec(_spec("0")), tmp_path, now=NOW).scores
    causes = {i.key_text: i.causes for i in score.attributed}
    assert causes["invoice_number=R1, line_number=1"] == (Cause("value_differs", "tax_amount"),)


def test_a_negative_rounding_is_refused_naming_file_line_and_field() -> None:
    with pytest.raises(ConfigError) as err:
        parse_spec(_spec("-0.01"), "rnd.yaml")
    assert str(err.value).startswith("rnd.yaml:2: rootcause.rounding: ")
    assert "greater than or equal to 0" in str(err.value)


def test_the_cli_exits_2_on_a_negative_rounding(tmp_path: Path) -> None:
    (tmp_path / "leg.csv").write_text(HEAD + LEGACY)
    (tmp_path / "new.csv").write_text(HEAD + NEW)
    spec = tmp_path / "rnd.yaml"
    spec.write_text(_spec("-0.01"))
    result = CliRunner().invoke(app, ["compare", str(spec)])
    assert result.exit_code == 2
    assert f"{spec}:2: rootcause.rounding:" in result.output
