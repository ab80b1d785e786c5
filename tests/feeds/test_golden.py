"""Golden files: each fixture's canonical JSON must match its reviewed golden exactly."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.feeds.registry import get_parser
from tests.feeds.conftest import FIXTURES, check_golden

CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("bai2/quirks.bai2", "bai2", {}),
    ("camt/camt053_v02_quirks.xml", "camt", {}),
    ("camt/camt054_v08_batch.xml", "camt", {}),
    ("camt/camt052_v13_intraday.xml", "camt", {}),
    ("mt940/mt940_quirks.sta", "mt940", {}),
    ("mt940/mt942_intraday.sta", "mt940", {}),
    ("ofx/ofx102_checking.ofx", "ofx", {}),
    ("ofx/ofx2_creditcard.ofx", "ofx", {}),
    ("ofx/ofx_no_header_no_sonrs.ofx", "ofx", {}),
    ("csv/de_semicolon.csv", "csv", {"profile": "example_de_semicolon"}),
    ("csv/us_debit_credit.csv", "csv", {"profile": "example_us_debit_credit"}),
    ("csv/cr_dr_flag.csv", "csv", {"profile": "example_cr_dr_flag"}),
    ("csv/generic.csv", "csv", {}),
    ("csv/payment_provider.csv", "csv", {"profile": "example_payment_provider"}),
]


@pytest.mark.parametrize(("name", "fmt", "options"), CASES, ids=[c[0] for c in CASES])
def test_golden(name: str, fmt: str, options: dict[str, Any]) -> None:
    data = (FIXTURES / name).read_bytes()
    result = get_parser(fmt).parse(data, file_name=name, **options)
    check_golden(result, FIXTURES / f"{name}.golden.json")


SHARED = [
    ("bai2/ministryofjustice_bai2__citi_example.bai2", "bai2"),
    ("bai2/moov-io_bai2__sample1.txt", "bai2"),
    ("camt/genkgo_camt__camt053.v2.minimal.xml", "camt"),
    ("camt/genkgo_camt__camt053.v8.xml", "camt"),
    ("camt/genkgo_camt__camt054.v8.xml", "camt"),
    ("mt940/wolph_mt940__jejik_ing.sta", "mt940"),
    ("mt940/wolph_mt940__mBank_mt940.sta", "mt940"),
    ("ofx/ofxparse__checking.ofx", "ofx"),
]


@pytest.mark.shared
@pytest.mark.parametrize(("name", "fmt"), SHARED, ids=[s[0] for s in SHARED])
def test_shared_samples_golden(shared_dir: Any, name: str, fmt: str) -> None:
    """The real public samples parse to reviewed output (skips without ../shared)."""
    data = (shared_dir / "samples" / name).read_bytes()
    result = get_parser(fmt).parse(data, file_name=name)
    golden = FIXTURES / "shared" / (name.replace("/", "__") + ".golden.json")
    golden.parent.mkdir(exist_ok=True)
    check_golden(result, golden)
