"""A Parquet code column pandas wrote as float64 (an integer column with a gap: 1200.0)
translates as the integer code it is, as the engine reads such a key: in the join, the
gap report, the merges and the root causes."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.uat.conftest import NOW
from uat.rootcause import Cause
from uat.runner import run_uat
from uat.spec import parse_spec

SPEC = """\
name: fl
translations:
  gl: {path: xlat.csv}
entities:
  - name: tb
    kind: gl_balance
    legacy:
      path: legacy.parquet
      columns: {account: Account, currency: Currency, balance: Balance}
    new: {path: new.csv}
    translate: {account: gl}
expectations:
  - {type: ties, entity: tb, field: balance, by: [account]}
"""


def test_whole_float_codes_translate_as_their_integer(tmp_path: Path) -> None:
    (tmp_path / "xlat.csv").write_text("old,new\n1200,120000\n4000,400000\n4001,400000\n")
    pq.write_table(
        pa.table(
            {
                "Account": pa.array([1200.0, 4000.0, 4001.0, 9999.0], pa.float64()),
                "Currency": ["EUR"] * 4,
                "Balance": pa.array([100.0, -60.0, -40.0, 5.0], pa.float64()),
            }
        ),
        tmp_path / "legacy.parquet",
    )
    (tmp_path / "new.csv").write_text(
        "account,currency,balance\n120000,EUR,100.00\n400000,EUR,-100.00\n9999,EUR,5.00\n"
    )
    run = run_uat(parse_spec(SPEC), tmp_path, now=NOW)
    (score,) = run.scores
    assert score.matched == 3
    # the code the table lacks is named as the engine reads it, not '9999.0'
    ((gap,),) = [score.gaps]
    assert (gap.table, gap.codes) == ("gl", {"9999": 1})
    ((merge,),) = [score.merges]
    assert merge.codes == {"400000": ("4000", "4001")}
    assert [i.causes for i in score.attributed] == []
    assert run.passed


def test_untranslated_and_merged_float_codes_are_named_as_their_integer(tmp_path: Path) -> None:
    (tmp_path / "xlat.csv").write_text("old,new\n1200,120000\n4000,400000\n4001,400000\n")
    pq.write_table(
        pa.table(
            {
                "Account": pa.array([1200.0, 1300.0, 4000.0, 4001.0], pa.float64()),
                "Currency": ["EUR"] * 4,
                "Balance": pa.array([100.0, 7.0, -60.0, -40.0], pa.float64()),
            }
        ),
        tmp_path / "legacy.parquet",
    )
    (tmp_path / "new.csv").write_text(
        "account,currency,balance\n120000,EUR,100.00\n400000,EUR,-90.00\n"
    )
    run = run_uat(parse_spec(SPEC), tmp_path, now=NOW)
    (score,) = run.scores
    assert score.matched == 1
    found = {i.key_text: i.causes for i in score.attributed}
    assert found["account=1300, currency=EUR"] == (Cause("untranslated_code", "account", "gl"),)
    assert found["account=400000, currency=EUR"][0] == Cause(
        "merged_by_translation", "account", "4000, 4001 -> 400000"
    )
