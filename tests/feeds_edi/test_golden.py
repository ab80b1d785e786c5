"""Every fixture (one per format and quirk) against its expected canonical JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connectors.feeds import edifact, lockbox, nacha, x12
from tests.feeds_edi.golden import FIXTURES, check_golden

PARSERS: dict[str, Any] = {"x12": x12, "edifact": edifact, "nacha": nacha, "lockbox": lockbox}
CASES = sorted(p.relative_to(FIXTURES) for p in FIXTURES.glob("*/*") if p.is_file())
SHARED = {
    "lockbox/FundersClub__test_lockbox.bai": lockbox,
    "x12/staedi__simple810.edi": x12,
    "nacha/moov-ach__ppd-debit.ach": nacha,
}


def test_every_format_has_fixtures() -> None:
    assert {case.parts[0] for case in CASES} == set(PARSERS)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_golden(case: Path) -> None:
    module = PARSERS[case.parts[0]]
    data = (FIXTURES / case).read_bytes()
    assert module.sniff(data), f"{module.FORMAT} does not recognise its own fixture {case}"
    result = module.parse(data, file_name=case.name)
    assert result.format == module.FORMAT
    check_golden(result, f"{case.parts[0]}__{case.stem}")


@pytest.mark.shared
@pytest.mark.parametrize("rel", sorted(SHARED), ids=str)
def test_golden_shared_samples(shared_dir: Path, rel: str) -> None:
    module = SHARED[rel]
    data = (shared_dir / "samples" / rel).read_bytes()
    assert module.sniff(data)
    result = module.parse(data, file_name=Path(rel).name)
    check_golden(result, f"shared__{Path(rel).stem}")


@pytest.mark.parametrize("case", CASES, ids=str)
def test_sniffers_do_not_claim_other_formats(case: Path) -> None:
    data = (FIXTURES / case).read_bytes()
    owner = PARSERS[case.parts[0]]
    claimed = [m.FORMAT for m in PARSERS.values() if m is not owner and m.sniff(data)]
    assert claimed == []
