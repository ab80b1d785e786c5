"""NACHA: tolerant records, direction, controls, returns/NOC, CTX remittances, no PII in logs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from billbridge.errors import ParseError
from canonical import EntryStatus, Money
from connectors.feeds import nacha
from tests.feeds_edi.golden import FIXTURES
from tests.feeds_edi.nacha_builder import EntrySpec, build_file

CTX = (FIXTURES / "nacha/ctx_820.ach").read_bytes()


def test_ctx_addenda_become_remittance_lines() -> None:
    result = nacha.parse(CTX, file_name="ctx.ach")
    assert result.warnings == []
    full, bare = result.remittances
    assert full.trace_number == "TRACE-77"  # TRN02 of the embedded 820
    assert full.extra["ach_trace"] == "011000010000001"
    assert [(ln.document_number, ln.paid) for ln in full.lines] == [
        ("INV-1001", Money("1000.00", "USD")),
        ("INV-1002", Money("500.00", "USD")),
    ]
    assert full.lines[1].discount == Money("10.00", "USD")
    assert bare.lines[0].document_number == "INV-1102"  # CCD+-style bare RMR
    assert bare.total == Money("25.00", "USD")


def test_entry_amounts_direction_and_trace() -> None:
    tx = nacha.parse(CTX, file_name="ctx.ach").transactions
    assert [t.amount for t in tx] == [Money("1500.00", "USD"), Money("25.00", "USD")]
    assert tx[0].bank_reference == "011000010000001"
    assert tx[0].counterparty_name == "ACME CORPORATION"  # received: the batch company paid
    assert str(tx[0].value_date) == "2024-03-15"  # Julian 075 of 2024


def test_originator_view_flips_sign_and_counterparty() -> None:
    tx = nacha.parse(CTX, file_name="ctx.ach", originator=True).transactions[0]
    assert tx.amount == Money("-1500.00", "USD")
    assert tx.counterparty_account == "021000021/987654321"


def test_returns_nocs_and_prenotes() -> None:
    data = (FIXTURES / "nacha/returns_noc_prenote.ach").read_bytes()
    ret, noc, pre, debit = nacha.parse(data, file_name="r.ach").transactions
    assert ret.reversal
    assert ret.extra["return_code"] == "R01"
    assert ret.extra["original_trace"] == "011000010000123"
    assert noc.status == EntryStatus.INFO
    assert (noc.extra["noc_code"], noc.extra["corrected_data"]) == ("C01", "99988877")
    assert pre.extra["prenote"] is True
    assert pre.status == EntryStatus.INFO
    assert debit.amount == Money("-99.99", "USD")  # 27: debit
    assert debit.extra["receiver_name"] == "JOSÉ MÜLLER"  # latin-1


def test_control_mismatches_warn_or_fail_by_strictness() -> None:
    data = (FIXTURES / "nacha/bad_controls.ach").read_bytes()
    result = nacha.parse(data, file_name="bad.ach")
    messages = [w.message for w in result.warnings if w.code == "control_total_mismatch"]
    assert len(messages) == 2
    assert "total credits" in messages[0]
    assert "entry hash" in messages[1]
    with pytest.raises(ParseError) as err:
        nacha.parse(data, file_name="bad.ach", strict=True)
    assert err.value.line == 9


def test_controls_recomputed_from_entries_match_on_valid_files() -> None:
    for name in ("ctx_820.ach", "returns_noc_prenote.ach"):
        data = (FIXTURES / "nacha" / name).read_bytes()
        nacha.parse(data, file_name=name, strict=True)  # raises on any mismatch


def test_zero_entry_file_with_short_records_warns() -> None:
    data = (FIXTURES / "nacha/zero_entry_short.ach").read_bytes()
    result = nacha.parse(data, file_name="z.ach")
    assert [w.code for w in result.warnings] == ["no_entries"]
    assert result.statements[0].transactions == ()


def test_unbroken_stream_of_94_character_records() -> None:
    lines = CTX.decode().split("\n")
    result = nacha.parse("".join(lines).encode(), file_name="stream.ach")
    assert len(result.transactions) == 2
    assert result.warnings == []


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.replace(b"\n6", b"\nX", 1), "record type"),
        (lambda d: d.replace(b"0000150000", b"00001500x0", 1), "cents"),
        (lambda d: d.split(b"\n", 1)[1], "file header"),
        (lambda d: d.replace(b"\n5", b"\n5" + b"0" * 100, 1), "94-character"),
    ],
)
def test_malformed_records_are_parse_errors(mutate: object, expected: str) -> None:
    with pytest.raises(ParseError) as err:
        nacha.parse(mutate(CTX), file_name="m.ach")  # type: ignore[operator]
    assert expected in (err.value.expected or "")
    assert err.value.file == "m.ach"


def test_broken_ctx_addenda_warn_or_fail_by_strictness() -> None:
    data = CTX.replace(b"ST*820*0001\\BPR*C*1500.00", b"ST*820*0001\\BPR*C*15x0.00")
    result = nacha.parse(data, file_name="x.ach")
    assert [w.code for w in result.warnings] == ["embedded_820_unparsed"]
    assert len(result.remittances) == 1
    with pytest.raises(ParseError):
        nacha.parse(data, file_name="x.ach", strict=True)


def test_account_numbers_never_reach_the_logs() -> None:
    with capture_logs() as logs:
        nacha.parse(CTX, file_name="ctx.ach")
    text = repr(logs)
    assert logs
    for secret in ("987654321", "55500011", "123456789"):
        assert secret not in text


@pytest.mark.shared
def test_moov_ppd_debit_sample(shared_dir: object) -> None:
    from pathlib import Path

    data = (Path(str(shared_dir)) / "samples/nacha/moov-ach__ppd-debit.ach").read_bytes()
    result = nacha.parse(data, file_name="ppd.ach", strict=True)
    (tx,) = result.transactions
    assert tx.amount == Money("-2000000.00", "USD")  # code 27, 0200000000 cents
    assert tx.bank_reference == "121042880000001"


def test_iat_names_come_from_the_mandatory_addenda() -> None:
    data = (FIXTURES / "nacha/iat_credit.ach").read_bytes()
    result = nacha.parse(data, file_name="iat.ach", strict=True)
    (tx,) = result.transactions
    assert tx.counterparty_name == "MUSTERMANN GMBH"  # addenda 11, originator
    assert tx.extra["receiver_name"] == "BILLBRIDGE DEMO INC"  # addenda 10
    assert tx.account_id == "021000021/987654321"  # foreign receiver account, positions 40-74
    (rem,) = result.remittances  # addenda 17 carries the remittance
    assert rem.lines[0].document_number == "INV-9001"


def test_line_numbers_with_cr_only_breaks_and_blank_lines() -> None:
    data = CTX.replace(b"\n", b"\r").replace(b"\r5", b"\r\r5", 1)
    result = nacha.parse(data, file_name="cr.ach")
    first = result.transactions[0]
    assert first.provenance is not None
    assert first.provenance.line == 4  # header, blank line, batch header, entry
    assert data[first.provenance.offset : first.provenance.offset + 3] == b"622"


CODES = st.sampled_from(["22", "27", "32", "37", "23", "28", "24", "29"])
NAMES = (
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ ÉÜ-", min_size=1, max_size=22)
    .map(str.strip)
    .filter(bool)
)


@st.composite
def entry_lists(draw: st.DrawFn) -> list[EntrySpec]:
    out = []
    for seq in range(1, draw(st.integers(1, 12)) + 1):
        routing = draw(st.integers(10_000_000, 99_999_999))
        out.append(EntrySpec(
            code=draw(CODES), rdfi=f"{routing}{draw(st.integers(0, 9))}",
            account=str(draw(st.integers(1, 10**12))), cents=draw(st.integers(0, 10**9)),
            name=draw(NAMES), trace_seq=seq,
        ))  # fmt: skip
    return out


@settings(max_examples=60, deadline=None)
@given(entries=entry_lists(), eol=st.sampled_from(["\n", "\r\n"]), pad=st.booleans())
def test_controls_recomputed_from_generated_files_match(
    entries: list[EntrySpec], eol: str, pad: bool
) -> None:
    data = build_file(entries, eol=eol, pad=pad)
    result = nacha.parse(data, file_name="gen.ach", strict=True)
    got = result.transactions
    assert [t.bank_reference for t in got] == [f"01100001{e.trace_seq:07d}" for e in entries]
    signed = [e.cents if e.code[-1] in "1234" else -e.cents for e in entries]
    assert [t.amount.to_minor() for t in got] == signed
    assert [t.extra.get("prenote", False) for t in got] == [e.code[-1] in "38" for e in entries]
    assert [t.extra["receiver_name"] for t in got] == [e.name for e in entries]


@settings(max_examples=30, deadline=None)
@given(entries=entry_lists(), data=st.data())
def test_a_changed_amount_breaks_the_controls(
    entries: list[EntrySpec], data: st.DataObject
) -> None:
    i = data.draw(st.integers(0, len(entries) - 1))
    changed = list(entries)
    changed[i] = EntrySpec(**{**entries[i].__dict__, "cents": entries[i].cents + 1})
    # the header and controls of the original file, one entry line from the changed one
    good = build_file(entries).split(b"\n")
    bad = build_file(changed).split(b"\n")
    good[2 + i] = bad[2 + i]
    with pytest.raises(ParseError, match="total"):
        nacha.parse(b"\n".join(good), file_name="tampered.ach", strict=True)
