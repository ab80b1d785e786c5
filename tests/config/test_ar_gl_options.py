"""``config validate`` checks an AR suite calculator's ``options`` and, for AR sub-ledger vs
GL, its sides: each problem named by file:line:column and config path."""

from __future__ import annotations

from pathlib import Path

from config import validate_config_file
from reconcile.suite.configured import ArGlOptions

HEAD = (
    "connections:\n  ns:\n    system: files\n    path: x.csv\n"
    "    spec: exports/legacy_customers\nreconciliations:\n"
)
SIDES = "{invoices: ns/invoice, gl: ns/journal_line}"


def problems(tmp_path: Path, entry: str) -> list[str]:
    path = tmp_path / "billbridge.yaml"
    path.write_text(HEAD + entry)
    config, found = validate_config_file(path)
    assert (config is None) == bool(found)
    return [str(p).removeprefix(f"{path}:") for p in found]


def argl(options: str, sides: str = SIDES) -> str:
    return f"  argl:\n    definition: ar_subledger_gl\n    sides: {sides}\n{options}"


def test_a_complete_entry_is_valid(tmp_path: Path) -> None:
    options = (
        "    options:\n      control_accounts: [1200, '1210']\n      ar_account: 1200\n"
        "      subsidiary: US01\n      months: 3\n      rounding: {JPY: 1, usd: '0.05'}\n"
    )
    assert problems(tmp_path, argl(options)) == []


def test_control_accounts_are_required(tmp_path: Path) -> None:
    assert problems(tmp_path, argl("")) == [
        "7:3: reconciliations.argl.options.control_accounts: required field is missing"
    ]
    assert problems(tmp_path, argl("    options: {months: 2}\n")) == [
        "10:5: reconciliations.argl.options.control_accounts: required field is missing"
    ]


def test_an_unknown_option_is_named_with_a_suggestion(tmp_path: Path) -> None:
    options = "    options:\n      control_accounts: [1200]\n      month: 3\n"
    assert problems(tmp_path, argl(options)) == [
        "12:7: reconciliations.argl.options.month: unknown key 'month' (did you mean 'months'?)"
    ]


def test_the_ar_account_must_be_a_control_account(tmp_path: Path) -> None:
    several = "    options: {control_accounts: [1200, 1210]}\n"
    assert problems(tmp_path, argl(several)) == [
        "10:5: reconciliations.argl.options.ar_account: name the control account the "
        "sub-ledger posts to (one of 1200, 1210)"
    ]
    other = "    options: {control_accounts: [1200], ar_account: 1300}\n"
    (msg,) = problems(tmp_path, argl(other))
    assert msg.startswith("10:53: reconciliations.argl.options.ar_account: '1300' is not one")


def test_rounding_allowances_are_non_negative_per_iso_currency(tmp_path: Path) -> None:
    options = "    options:\n      control_accounts: [1200]\n      rounding: {USD: -1, XYZ: 1}\n"
    found = problems(tmp_path, argl(options))
    assert len(found) == 2
    assert found[0].startswith("12:23: reconciliations.argl.options.rounding.USD: ")
    assert "greater than or equal to 0" in found[0]
    assert "reconciliations.argl.options.rounding.XYZ: " in found[1]
    assert "unknown ISO 4217 currency code 'XYZ'" in found[1]


def test_wrong_sides_are_found_by_validate(tmp_path: Path) -> None:
    options = "    options: {control_accounts: [1200]}\n"
    missing = problems(tmp_path, argl(options, "{invoices: ns/invoice, ledger: ns/journal_line}"))
    allowed = (
        "ar_subledger_gl takes invoices, gl, payments (optional), credit_memos (optional), "
        "refunds (optional)"
    )
    assert missing == [
        f"9:5: reconciliations.argl.sides: needs gl; {allowed}",
        f"9:35: reconciliations.argl.sides.ledger: unknown side 'ledger'; {allowed}",
    ]
    typo = problems(tmp_path, argl(options, SIDES[:-1] + ", payment: ns/payment}"))
    assert typo == [
        f"9:56: reconciliations.argl.sides.payment: unknown side 'payment'; {allowed} "
        "(did you mean 'payments'?)"
    ]
    wrong = problems(tmp_path, argl(options, "{invoices: ns/invoice, gl: ns/invoice}"))
    assert wrong == [
        "9:35: reconciliations.argl.sides.gl: 'ns/invoice' reads 'invoice' records; "
        "ar_subledger_gl needs journal_line"
    ]


def test_options_where_none_are_taken(tmp_path: Path) -> None:
    aging = "  aging:\n    definition: ar_aging\n    sides: {invoices: ns/invoice}\n"
    assert problems(tmp_path, aging + "    options: {as_of: today}\n") == [
        "10:5: reconciliations.aging.options: ar_aging takes no options"
    ]
    builtin = "  crm:\n    definition: crm_vs_billing\n    sides: {a: ns/contract, b: ns/x}\n"
    (msg,) = problems(tmp_path, builtin + "    options: {x: 1}\n")
    assert msg.startswith("10:5: reconciliations.crm.options: options are for the AR suite's")
    assert msg.endswith("crm_vs_billing takes none")


def test_unquoted_account_numbers_are_text_and_one_account_needs_no_list() -> None:
    options = ArGlOptions.model_validate({"control_accounts": 1200, "subsidiary": 7})
    assert options.control_accounts == ["1200"]
    assert (options.ar_account, options.subsidiary) == ("1200", "7")
    policy = options.policy()
    assert policy.control_accounts == frozenset({"1200"})
    assert str(policy.allowed("USD")) == "0.01"
