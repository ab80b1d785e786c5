"""Declarative bank-CSV profiles (there is no standard: each bank is described in YAML).

A profile fixes everything a parser must never guess per row: delimiter, encoding,
decimal and thousands separators, date format (day/month order!), sign rule, preamble
lines before the header and the column mapping. Without a profile, a CSV whose header
names its date, amount (or debit/credit) and description columns gets a generic profile.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from billbridge.errors import ConfigError

PROFILE_DIR = Path(__file__).with_name("csv_profiles")
FIELDS = (
    "date", "value_date", "amount", "debit", "credit", "flag", "description", "reference",
    "counterparty", "counterparty_account", "balance", "currency", "type", "account",
)  # fmt: skip

#: header synonyms the generic profile recognises (lower-case, compared stripped)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "date": ("date", "booking date", "posting date", "transaction date", "posted date",
             "buchungstag", "buchungsdatum", "datum", "fecha", "datum transakce"),
    "value_date": ("value date", "valuta", "valutadatum", "wertstellung"),
    "amount": ("amount", "transaction amount", "betrag", "umsatz", "importe", "montant"),
    "debit": ("debit", "debits", "debit amount", "withdrawal", "withdrawals", "paid out",
              "money out", "soll"),
    "credit": ("credit", "credits", "credit amount", "deposit", "deposits", "paid in",
               "money in", "haben"),
    "description": ("description", "details", "memo", "narrative", "text", "payee",
                    "verwendungszweck", "buchungstext", "concepto", "libellé", "libelle"),
    "reference": ("reference", "ref", "bank reference", "transaction id", "id", "fitid"),
    "balance": ("balance", "running balance", "saldo", "kontostand"),
    "currency": ("currency", "ccy", "währung", "waehrung"),
    "counterparty": ("counterparty", "beneficiary", "payer", "name", "auftraggeber",
                     "empfänger"),
}  # fmt: skip


class CsvProfile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    delimiter: str = ","
    quotechar: str = '"'
    encoding: str | None = None  # None: UTF-8, else cp1252/latin-1, recorded
    decimal: Literal[".", ","] = "."
    thousands: str | None = None
    date_format: str = "%Y-%m-%d"
    value_date_format: str | None = None
    skip_lines: int = 0  # preamble lines before the header row
    has_header: bool = True
    #: canonical field -> header text (or 0-based column index as a string without header)
    columns: dict[str, str]
    sign: Literal["signed", "debit_credit", "flag"] = "signed"
    credit_flags: tuple[str, ...] = ("CR", "C", "CREDIT", "H")
    debit_flags: tuple[str, ...] = ("DR", "D", "DEBIT", "S")
    invert: bool = False  # exports that show money out as positive
    currency: str | None = None  # when there is no currency column
    account_id: str | None = None  # when there is no account column
    footer_markers: tuple[str, ...] = (
        "total", "totals", "summe", "saldo", "kontostand", "opening balance", "closing balance",
        "end of",
    )  # fmt: skip
    generic: bool = Field(default=False, exclude=True)

    def column(self, name: str) -> str | None:
        return self.columns.get(name)


def load_profile(path: str | Path) -> CsvProfile:
    """A profile from YAML; a bare name loads a bundled profile from ``csv_profiles/``."""
    p = Path(path)
    if not p.exists() and not p.suffix:
        p = PROFILE_DIR / f"{p.name}.yaml"
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read CSV profile {p}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"CSV profile {p} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"CSV profile {p} must be a mapping")
    data.setdefault("name", p.stem)
    try:
        profile = CsvProfile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"CSV profile {p}: {exc.errors()[0]['msg']}") from None
    unknown = set(profile.columns) - set(FIELDS)
    if unknown:
        raise ConfigError(f"CSV profile {p}: unknown column fields {sorted(unknown)}")
    if profile.sign == "debit_credit" and not {"debit", "credit"} <= set(profile.columns):
        raise ConfigError(f"CSV profile {p}: sign debit_credit needs debit and credit columns")
    if profile.sign == "flag" and "flag" not in profile.columns:
        raise ConfigError(f"CSV profile {p}: sign flag needs a flag column")
    return profile


def generic_columns(header: list[str]) -> dict[str, str] | None:
    """Map a header row by synonyms; None unless date, amounts and description are named."""
    found: dict[str, str] = {}
    for cell in header:
        key = cell.strip().lower()
        for canon, names in SYNONYMS.items():
            if key in names and canon not in found:
                found[canon] = cell.strip()
                break
    has_amount = "amount" in found or {"debit", "credit"} <= set(found)
    if "date" in found and has_amount and "description" in found:
        return found
    return None
