"""Lockbox: profile-driven fixed width, overflow invoices, totals, custom bank profiles."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billbridge.errors import ConfigError, ParseError
from canonical import Money
from connectors.feeds import lockbox
from tests.feeds_edi.golden import FIXTURES
from tests.feeds_edi.lockbox_builder import CheckSpec
from tests.feeds_edi.lockbox_builder import build_file as build_lb

MULTI = (FIXTURES / "lockbox/multi_invoice.bai").read_bytes()


def test_checks_become_remittances_and_transactions() -> None:
    result = lockbox.parse(MULTI, file_name="m.bai")
    (statement,) = result.statements
    assert statement.account_id == "0004711"
    assert str(statement.period_start) == "2024-03-18"  # deposit date
    first = result.remittances[0]
    assert first.trace_number == "10442"  # check number
    assert first.payer_account == "011000015/123456789"  # MICR routing/account
    assert first.total == Money("1500.00", "USD")
    assert [(ln.document_number, ln.paid.amount) for ln in first.lines] == [
        ("INV-1001", Money("1000.00", "USD").amount),
        ("INV-1002", Money("400.00", "USD").amount),
        ("INV-1003", Money("100.00", "USD").amount),
    ]
    tx = statement.transactions[0]
    assert tx.amount == first.total
    assert tx.customer_reference == "10442"
    assert "INV-1003" in tx.references
    assert str(first.extra["check_date"]) == "2024-03-15"


def test_overflow_without_amounts_for_several_invoices_warns() -> None:
    result = lockbox.parse(MULTI, file_name="m.bai")
    assert [w.code for w in result.warnings] == ["invoice_amount_missing"]
    initech = result.remittances[2]
    assert initech.lines[1].paid.is_zero()


def test_totals_mismatch_warns_or_fails_by_strictness() -> None:
    data = (FIXTURES / "lockbox/bad_totals.bai").read_bytes()
    codes = [w.code for w in lockbox.parse(data, file_name="b.bai").warnings]
    assert codes.count("control_total_mismatch") == 3
    with pytest.raises(ParseError) as err:
        lockbox.parse(data, file_name="b.bai", strict=True)
    assert err.value.line == 9


def test_valid_file_totals_tie_in_strict_mode() -> None:
    result = lockbox.parse(MULTI, file_name="m.bai", strict=True)
    assert len(result.transactions) == 4


def test_a_bank_profile_with_other_offsets(tmp_path: Path) -> None:
    profile = tmp_path / "bank.yaml"
    profile.write_text(
        "name: tiny_bank\ncurrency: JPY\nrecords:\n"
        "  'H': {kind: lockbox_header, fields: {lockbox_number: {pos: 2-5},"
        " deposit_date: {pos: 6-13, type: date, format: '%Y%m%d'}}}\n"
        "  'C': {kind: check, fields: {amount: {pos: 2-9, type: amount},"
        " check_number: {pos: 10-15}, remitter_name: {pos: 16-40}}}\n"
        "  'T': {kind: lockbox_total, fields: {item_count: {pos: 2-4, type: int},"
        " amount: {pos: 5-14, type: amount}}}\n",
        encoding="utf-8",
    )
    data = b"H009920240401\nC00012345000777YAMADA KK\nT0010000012345\n"
    result = lockbox.parse(data, file_name="jp.txt", profile=str(profile), strict=True)
    (rem,) = result.remittances
    assert rem.total == Money("12345", "JPY")  # JPY has no minor units
    assert rem.trace_number == "777"
    assert rem.payer_name == "YAMADA KK"


@pytest.mark.parametrize(
    "text",
    [
        "name: x\nrecords: {'6': {kind: nonsense}}\n",
        "name: x\nrecords: {'6': {kind: check, fields: {amount: {pos: '9-2'}}}}\n",
        "records: [\n",
    ],
)
def test_broken_profiles_are_config_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError):
        lockbox.load_profile(str(path))


def test_unknown_profile_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        lockbox.load_profile("no_such_bank")


def test_non_numeric_amount_names_line_and_field() -> None:
    data = MULTI.replace(b"6001001000015", b"60010010000X5", 1)
    with pytest.raises(ParseError) as err:
        lockbox.parse(data, file_name="x.bai")
    assert err.value.line == 4
    assert "amount" in str(err.value)


def test_unknown_record_type_is_a_warning() -> None:
    data = MULTI.replace(b"\r\n7001", b"\r\nZ junk\r\n7001", 1)
    codes = [w.code for w in lockbox.parse(data, file_name="u.bai").warnings]
    assert "unknown_record_type" in codes


@pytest.mark.shared
def test_fundersclub_sample(shared_dir: Path) -> None:
    data = (shared_dir / "samples/lockbox/FundersClub__test_lockbox.bai").read_bytes()
    result = lockbox.parse(data, file_name="fc.bai", strict=True)
    (rem,) = result.remittances
    # positions 8-17 hold 0000700000: 700000 cents; batch (7) and lockbox (8) totals agree
    assert rem.total == Money("7000.00", "USD")
    assert rem.trace_number == "180"
    assert rem.payer_account == "055002707/0012345555"
    assert rem.payer_name == "BOB E SMITH"
    assert rem.lines[0].document_number == "CE554"  # overflow record 4
    assert str(rem.extra["check_date"]) == "2016-05-16"


def test_sniff_rejects_csv_and_nacha() -> None:
    assert lockbox.sniff(MULTI)
    assert not lockbox.sniff(b"1,2024-01-01,100.00\n5,x\n6,y\n")
    assert not lockbox.sniff((FIXTURES / "nacha/ctx_820.ach").read_bytes())


def test_profile_validation_names_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("name: x\nrecords: {'6': {kind: check, fields: {}}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="amount"):
        lockbox.load_profile(str(path))
    path.write_text("name: x\ncurrency: XXQ\nrecords: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="XXQ"):
        lockbox.load_profile(str(path))


def test_edited_profile_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("name: first\nrecords: {}\n", encoding="utf-8")
    assert lockbox.load_profile(str(path)).name == "first"
    import os

    path.write_text("name: second\nrecords: {}\n", encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert lockbox.load_profile(str(path)).name == "second"


def test_account_numbers_stay_out_of_error_messages(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "name: x\nrecords:\n  '6': {kind: check, fields: {amount: {pos: 2-5, type: amount},"
        " account_number: {pos: 6-15, type: int}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ParseError) as err:
        lockbox.parse(b"60100ACCT-99887\n", file_name="a.bai", profile=str(path))
    assert "99887" not in str(err.value)
    assert "account_number" in str(err.value)


INVOICE_NO = st.from_regex(r"INV-[0-9]{1,8}", fullmatch=True)


@st.composite
def checks(draw: st.DrawFn) -> CheckSpec:
    invoices = draw(st.lists(st.tuples(INVOICE_NO, st.integers(0, 10**8)), max_size=5))
    cents = sum(c for _, c in invoices) if invoices else draw(st.integers(1, 10**9))
    return CheckSpec(
        cents=cents, check_number=draw(st.integers(1, 10**9)),
        remitter=draw(st.from_regex(r"[A-Z][A-Z ]{0,28}[A-Z]", fullmatch=True)),
        invoices=invoices,
    )  # fmt: skip


@settings(max_examples=50, deadline=None)
@given(batches=st.lists(st.lists(checks(), min_size=1, max_size=4), min_size=1, max_size=3))
def test_generated_lockbox_files_tie_out_and_keep_every_invoice(
    batches: list[list[CheckSpec]],
) -> None:
    result = lockbox.parse(build_lb(batches), file_name="gen.bai", strict=True)
    flat = [c for batch in batches for c in batch]
    assert [r.total.to_minor() for r in result.remittances] == [c.cents for c in flat]
    assert [r.trace_number for r in result.remittances] == [str(c.check_number) for c in flat]
    assert [[(ln.document_number, ln.paid.to_minor()) for ln in r.lines]
            for r in result.remittances] == [c.invoices for c in flat]  # fmt: skip
    assert result.warnings == []
