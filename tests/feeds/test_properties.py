"""Property tests: parsers and detection raise only ParseError, on any input, promptly.

Arbitrary bytes and mutated copies of real fixtures (bytes flipped, inserted, deleted,
lines dropped or duplicated, truncation) must either parse or fail with our ParseError;
no library exception escapes, nothing hangs (each example has a wall-clock limit).
``FUZZ_EXAMPLES=600`` runs a longer campaign locally.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billbridge.errors import ParseError
from connectors.feeds import bai2, bank_csv, camt, mt940, ofx
from connectors.feeds.detect import detect, detect_format
from tests.feeds.conftest import FIXTURES

PARSERS: dict[str, Callable[..., Any]] = {
    "bai2": bai2.parse,
    "camt": camt.parse,
    "mt940": mt940.parse,
    "ofx": ofx.parse,
    "csv": bank_csv.parse,
}
SEEDS = {
    "bai2": FIXTURES / "bai2/quirks.bai2",
    "camt": FIXTURES / "camt/camt053_v02_quirks.xml",
    "mt940": FIXTURES / "mt940/mt940_quirks.sta",
    "ofx": FIXTURES / "ofx/ofx102_checking.ofx",
    "csv": FIXTURES / "csv/generic.csv",
}
LIMIT_SECONDS = 20  # generous: a hang never ends, a loaded machine is just slow
FAST = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)


class Hang(Exception):
    pass


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def on_alarm(_sig: int, _frame: Any) -> None:
        raise Hang(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _only_parse_error(fmt: str, data: bytes) -> None:
    with time_limit(LIMIT_SECONDS):
        error: ParseError | None = None
        try:
            PARSERS[fmt](data, file_name=f"fuzz.{fmt}")
        except ParseError as exc:
            error = exc
    if error is not None:
        assert error.file == f"fuzz.{fmt}"


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "lines"]))
        if op == "flip":
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 20))]
        elif op == "truncate":
            del data[pos:]
        else:
            lines = bytes(data).split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i]) if draw(st.booleans()) else lines.pop(i)
            data = bytearray(b"\n".join(lines))
    return bytes(data)


@pytest.mark.parametrize("fmt", sorted(PARSERS))
@FAST
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_parse_error(fmt: str, data: bytes) -> None:
    _only_parse_error(fmt, data)


@pytest.mark.parametrize("fmt", sorted(PARSERS))
@FAST
@given(data=st.data())
def test_mutated_fixtures_raise_only_parse_error(fmt: str, data: st.DataObject) -> None:
    payload = data.draw(mutated(SEEDS[fmt].read_bytes()))
    _only_parse_error(fmt, payload)


@FAST
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.sampled_from(sorted(SEEDS)).flatmap(lambda fmt: mutated(SEEDS[fmt].read_bytes())),
    )
)
def test_detect_never_raises_anything_but_parse_error(data: bytes) -> None:
    with time_limit(LIMIT_SECONDS):
        found = detect(data)
        try:
            assert detect_format(data, file_name="d") == found
        except ParseError:
            assert found in (None, "zip")
