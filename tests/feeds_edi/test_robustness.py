"""Arbitrary and mutated input: parsers raise ParseError or succeed, nothing else, no hang.

Bounded example counts keep the module to a few seconds; the deadline is a hang guard,
not a speed target.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billbridge.errors import ParseError
from connectors.feeds import edifact, lockbox, nacha, x12
from connectors.feeds.edifact.tokenizer import tokenize as edifact_tokenize
from connectors.feeds.x12.tokenizer import tokenize as x12_tokenize
from tests.feeds_edi.golden import FIXTURES

MODULES: dict[str, ModuleType] = {
    "x12": x12,
    "edifact": edifact,
    "nacha": nacha,
    "lockbox": lockbox,
}
SEEDS: dict[str, list[bytes]] = {
    fmt: [p.read_bytes() for p in sorted((FIXTURES / fmt).iterdir())] for fmt in MODULES
}
FUZZ = settings(
    max_examples=120,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: Bytes that matter to these formats: separators, record types, digits, line breaks.
SPECIAL = st.sampled_from(list(b"*~:>^\\'+?|\r\n 0123456789-.,ISAUNBTEGRM\xef\xbb\xbf\x00\xff"))


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["flip", "delete", "insert", "truncate", "duplicate"]))
        if op == "flip":
            data[pos] = draw(SPECIAL)
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 20))]
        elif op == "insert":
            data[pos:pos] = bytes(draw(st.lists(SPECIAL, min_size=1, max_size=10)))
        elif op == "truncate":
            del data[pos:]
        else:
            end = min(len(data), pos + draw(st.integers(1, 200)))
            data[pos:pos] = data[pos:end]
    return bytes(data)


def _only_parse_errors(module: ModuleType, data: bytes) -> None:
    failure: ParseError | None = None
    try:
        result = module.parse(data, file_name="fuzz.bin")
    except ParseError as exc:
        failure = exc
    if failure is not None:
        assert failure.file == "fuzz.bin"  # the error names the file
    else:
        assert result.file_name == "fuzz.bin"


@pytest.mark.parametrize("fmt", sorted(MODULES))
@FUZZ
@given(data=st.binary(max_size=3000))
def test_arbitrary_bytes(fmt: str, data: bytes) -> None:
    _only_parse_errors(MODULES[fmt], data)


@pytest.mark.parametrize("fmt", sorted(MODULES))
@FUZZ
@given(data=st.data())
def test_mutated_valid_files(fmt: str, data: st.DataObject) -> None:
    _only_parse_errors(MODULES[fmt], data.draw(mutated(SEEDS[fmt])))


@pytest.mark.parametrize(
    ("tokenize", "fmt"), [(x12_tokenize, "x12"), (edifact_tokenize, "edifact")]
)
@FUZZ
@given(data=st.data())
def test_tokenizers(tokenize: object, fmt: str, data: st.DataObject) -> None:
    blob = data.draw(st.one_of(st.binary(max_size=2000), mutated(SEEDS[fmt])))
    with contextlib.suppress(ParseError):
        tokenize(blob, file_name="t.bin")  # type: ignore[operator]


def test_seed_files_exist() -> None:
    assert all(SEEDS.values())
    assert all(isinstance(p, Path) for p in (FIXTURES,))


@pytest.mark.parametrize(
    ("module", "data"),
    [
        # str.isdigit() accepts superscripts that int() rejects
        (x12, (FIXTURES / "x12/820_basic.edi").read_bytes().replace(b"SE*19", "SE*1²".encode())),
        (
            x12,
            (FIXTURES / "x12/820_basic.edi").read_bytes().replace(b"20240201", b"2024020\xc2\xb2"),
        ),
        (
            edifact,
            (FIXTURES / "edifact/remadv_basic.edi")
            .read_bytes()
            .replace(b"MOA+12:980.00", b"MOA+12:980.00:USD"),
        ),
        (
            edifact,
            (FIXTURES / "edifact/remadv_basic.edi")
            .read_bytes()
            .replace(b"UNT+26", "UNT+2⁶".encode()),
        ),
        (
            nacha,
            (FIXTURES / "nacha/ctx_820.ach")
            .read_bytes()
            .replace(b"0000150000", "000015000²".encode("latin-1")),
        ),
        (
            x12,
            (FIXTURES / "x12/810_mixed_groups.edi")
            .read_bytes()
            .replace(b"TDS*68080", b"TDS*" + b"9" * 5000),
        ),
    ],
)
def test_regressions_found_by_reasoning_about_fuzzing(module: ModuleType, data: bytes) -> None:
    _only_parse_errors(module, data)
