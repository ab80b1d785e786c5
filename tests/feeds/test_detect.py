"""Format detection by content, and the registry's handling of missing modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from billbridge.errors import ParseError
from connectors.feeds import registry
from connectors.feeds.detect import detect, detect_format
from tests.feeds.conftest import FIXTURES

OWN = {
    "bai2/quirks.bai2": "bai2",
    "camt/camt053_v02_quirks.xml": "camt",
    "camt/camt054_v08_batch.xml": "camt",
    "camt/camt052_v13_intraday.xml": "camt",
    "mt940/mt940_quirks.sta": "mt940",
    "mt940/mt942_intraday.sta": "mt940",
    "ofx/ofx102_checking.ofx": "ofx",
    "ofx/ofx2_creditcard.ofx": "ofx",
    "ofx/ofx_no_header_no_sonrs.ofx": "ofx",
    "csv/generic.csv": "csv",
    "csv/de_semicolon.csv": "csv",
}


@pytest.mark.parametrize(("name", "fmt"), sorted(OWN.items()))
def test_own_fixtures_detected_by_content(name: str, fmt: str, tmp_path: Path) -> None:
    data = (FIXTURES / name).read_bytes()
    assert detect(data) == fmt
    assert detect(b"\xef\xbb\xbf" + data) == fmt  # a BOM does not change the answer


def test_edi_signatures_and_order() -> None:
    nacha_header = b"101 031300012 2313801041908161055A094101" + b"Federal Reserve Bank".ljust(23)
    nacha_header = nacha_header.ljust(94)
    assert detect(nacha_header + b"\n5225" + b" " * 90 + b"\n") == "nacha"
    lockbox = b"100ABCDEFGHIJ00999999911605231800\n2ABCDEF\n5000000\n6001001000070\n9000008\n"
    assert detect(lockbox) == "lockbox"
    assert detect(b"ISA*00*          *00*          *ZZ*A*ZZ*B*960807*1548*U*00401*1*0*T*>~GS") == (
        "x12"
    )
    assert detect(b"UNA:+.? 'UNB+UNOC:3+SENDER+RECEIVER+240301:1200+1'") == "edifact"
    assert detect(b"UNB+UNOA:2+S+R+240301:1200+1'") == "edifact"
    assert detect(b"PK\x03\x04rest") == "zip"


def test_extension_is_ignored_and_unknown_content_refused() -> None:
    bai = (FIXTURES / "bai2/quirks.bai2").read_bytes()
    assert detect_format(bai, file_name="statement.csv") == "bai2"
    with pytest.raises(ParseError, match="unrecognised feed format"):
        detect_format(b"\x00\x01\x02 binary junk", file_name="x.bai2")
    with pytest.raises(ParseError, match="ZIP"):
        detect_format(b"PK\x03\x04....", file_name="x.zip")


def test_bai2_without_file_header_is_detected_and_explained() -> None:
    headless = (
        b"02,COMPANYX,021000021,1,240130,,USD,2/\n03,000123456789,USD,010,500000,,/\n"
        b"16,195,150000,Z,BR1,CR1,WIRE/\n49,650000,3/\n98,650000,1,5/\n"
    )
    assert detect(headless) == "bai2"
    assert detect(headless[headless.index(b"03,") :]) == "bai2"
    with pytest.raises(ParseError, match="expected 01 first"):
        registry.parse_bytes(
            headless, file_name="cut.bai", fmt=detect_format(headless, file_name="cut.bai")
        )
    assert detect(b"02,3,4\n05,6,7\n") == "csv"  # digits in a CSV are not BAI2


def test_wrong_format_file_fails_in_the_forced_parser() -> None:
    ofx_bytes = (FIXTURES / "ofx/ofx102_checking.ofx").read_bytes()
    for fmt in ("bai2", "camt", "mt940"):
        with pytest.raises(ParseError):
            registry.parse_bytes(ofx_bytes, file_name="wrong", fmt=fmt)


def test_missing_parser_module_makes_format_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.MODULES, "x12", "connectors.feeds.not_written_yet")
    with pytest.raises(registry.FormatUnavailable, match="x12"):
        registry.get_parser("x12")
    status = registry.available()
    assert status["x12"] is False
    assert status["bai2"] is True


@pytest.mark.shared
def test_shared_samples_detected(shared_dir: Path) -> None:
    expected = {
        "bai2": "bai2",
        "camt": "camt",
        "mt940": "mt940",
        "ofx": "ofx",
        "lockbox": "lockbox",
        "nacha": "nacha",
        "x12": "x12",
    }
    for folder, fmt in expected.items():
        for path in (shared_dir / "samples" / folder).iterdir():
            assert detect(path.read_bytes()) == fmt, path.name


EDI_FIXTURES = Path(__file__).resolve().parents[1] / "feeds_edi" / "fixtures"


@pytest.mark.parametrize(
    "name",
    [
        "edifact/invoic_custom_una.edi",
        "edifact/remadv_basic.edi",
        "edifact/remadv_una_comma_ung.edi",
        "edifact/remadv_wrapped80.edi",
    ],
)
def test_edifact_detected_whatever_element_separator_una_declares(name: str) -> None:
    data = (EDI_FIXTURES / name).read_bytes()
    assert detect_format(data, file_name="upload.dat") == "edifact"


def test_una_declaring_plus_but_unb_using_another_separator_is_not_edifact() -> None:
    assert detect(b"UNA:+.? 'UNB*UNOC:3*X*Y*240301:1000*R'") != "edifact"
