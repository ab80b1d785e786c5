"""CSV input and output of the ad-hoc cash-application command.

Every input problem raises one :class:`ParseError` naming the file, the line and the
column; nothing is applied from a file that fails. Header names are matched stripped and
case-folded (``Line_ID, Date`` is ``line_id,date``).
"""

from __future__ import annotations

import contextlib
import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from billbridge.errors import ParseError
from canonical import Money, minor_units, normalize_currency
from canonical.numbers import parse_amount_text
from reconcile.cash.ledger import OPEN_ITEM_SCHEMA
from reconcile.cash.model import CashLine, CustomerRef
from reconcile.cash.results import CashResult, unapplied_reason
from reconcile.engine.local_dates import Order, with_iso_dates
from reconcile.engine.sides import LINE, Side

BANK_COLUMNS = (
    "line_id",
    "date",
    "amount",
    "currency",
    "payer_name",
    "payer_account",
    "reference",
    "memo",
)
INVOICE_COLUMNS = (
    "invoice_number",
    "customer_id",
    "customer_name",
    "issue_date",
    "due_date",
    "open_amount",
    "currency",
)
CUSTOMER_COLUMNS = ("customer_id", "name", "bank_account")
APPLICATION_COLUMNS = (
    "line_id",
    "invoice_number",
    "applied_amount",
    "confidence",
    "rule",
    "status",
)
UNAPPLIED_COLUMNS = ("line_id", "amount", "currency", "reason", "remainder")
#: unapplied.csv reason of a bank line that is not a credit (debit, return, zero record).
NOT_A_RECEIPT = "NOT_A_RECEIPT"
#: What an amount may be written with; anything else (exponent, ``_``, NaN) is refused.
_AMOUNT_CHARS = re.compile(r"[0-9.,+\-()$€£¥\s]+")
_EXPONENT = re.compile(r"[\d.][eE][+-]?\d")
#: a statement amount marked credit or debit: "300.00CR", "1,250.00 DR"
_CR_DR = re.compile(r"(.*?\d)\s*(CR|DR)", re.IGNORECASE)
#: Minor units must fit the int64 of the open-item table (and Decimal's 28 digits).
_MAX_MINOR = 10**18
PROPOSAL_COLUMNS = (
    "proposal_id",
    "line_id",
    "customer_id",
    "status",
    "rule",
    "confidence",
    "invoices",
    "applied_amount",
    "currency",
)


class _Row:
    """One CSV row with field accessors that raise located errors. ``dates``: per date
    column, the file's local date texts as ISO dates (``_local_dates``)."""

    def __init__(
        self, path: Path, line: int, row: dict[str, str], dates: _LocalDates | None = None
    ) -> None:
        self.path, self.line, self.row = path, line, row
        self.dates = dates

    def error(self, column: str, problem: str) -> ParseError:
        return ParseError(f"column {column!r}: {problem}", file=str(self.path), line=self.line)

    def text(self, column: str, *, required: bool = True) -> str:
        value = (self.row.get(column) or "").strip()
        if required and not value:
            raise self.error(column, "is empty")
        return value

    def day(self, column: str, *, required: bool = True) -> date | None:
        value = self.text(column, required=required)
        if not value:
            return None
        with contextlib.suppress(ValueError):
            return date.fromisoformat(value)
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(value).date()  # with a time: the day as written
        local = self.dates.of(column) if self.dates is not None else {}
        if value in local:
            return date.fromisoformat(local[value])
        like = next(iter(local), None)
        also = f", or like the file's other dates: {like!r}" if like else ""
        raise self.error(column, f"{value!r} is not a date (YYYY-MM-DD{also})")

    def currency(self, column: str = "currency") -> str:
        value = self.text(column)
        try:
            return normalize_currency(value)
        except ValueError:
            raise self.error(column, f"{value!r} is not an ISO 4217 currency") from None

    def money(self, column: str, currency: str, *, bank: bool = False) -> Money:
        """``bank``: the account holder's view of a statement, where ``300.00 CR`` is money
        in and ``300.00 DR`` money out (as UK and Commonwealth bank exports write them)."""
        value = self.text(column)
        marked = _CR_DR.fullmatch(value) if bank else None
        if marked is not None:
            number = self.money_text(column, marked.group(1), currency)
            return Money(-number.amount, currency) if marked.group(2).upper() == "DR" else number
        return self.money_text(column, value, currency)

    def money_text(self, column: str, value: str, currency: str) -> Money:
        if _EXPONENT.search(value):
            raise self.error(column, f"{value!r} is in exponent notation; write plain digits")
        try:
            if not _AMOUNT_CHARS.fullmatch(value):
                raise ValueError(value)
            amount = Money(parse_amount_text(value), currency)
        except (ValueError, TypeError):
            raise self.error(column, f"{value!r} is not a decimal number") from None
        if abs(amount.amount.scaleb(amount.exponent)) >= _MAX_MINOR:
            raise self.error(column, f"{value} is too large for an amount")
        if not amount.is_whole_minor():
            raise self.error(column, f"{value} has more decimals than {currency} allows")
        return amount


class _LocalDates:
    """A file's date columns written the local way (``31.01.2024``, ``1/31/2024``): each
    local text as its ISO date, the order decided over the whole file as ``reconcile
    files`` decides it (``reconcile.engine.local_dates``). Read the first time a value is
    no ISO date, so a file of ISO dates is read once."""

    def __init__(
        self, path: Path, columns: tuple[str, ...], header: tuple[str, ...], order: Order | None
    ) -> None:
        self.path, self.columns, self.header, self.order = path, columns, header, order
        self._iso: dict[str, dict[str, str]] | None = None

    def of(self, column: str) -> dict[str, str]:
        if self._iso is None:
            self._iso = self._read()
        return self._iso.get(column, {})

    def _read(self) -> dict[str, dict[str, str]]:
        values: dict[str, list[str | None]] = {c: [] for c in self.columns}
        lines: list[int] = []
        for r in _rows(self.path, self.header, ()):
            lines.append(r.line)
            for c in self.columns:
                values[c].append(r.text(c, required=False) or None)
        table = pa.table({**values, LINE: pa.array(lines, pa.int64())})
        read = with_iso_dates(Side(table, str(self.path)), order=self.order)
        if read.ambiguous:
            column = read.ambiguous[0]
            line, value = self._first_ambiguous(table, column)
            raise ParseError(
                f"column {column!r}: dates that read differently day first and month first "
                f"({value!r}); declare the order with --dates day-first or --dates "
                "month-first",
                file=str(self.path),
                line=line,
            )
        assert read.side.table is not None
        out = {}
        for c in read.read:
            iso = read.side.table.column(c).to_pylist()
            out[c] = {t: i for t, i in zip(values[c], iso, strict=True) if t and t != i}
        return out

    def _first_ambiguous(self, table: pa.Table, column: str) -> tuple[int | None, str]:
        """(line, text) of the first value of ``column`` that reads as two different
        dates: the column read day first and month first (only on this error path)."""
        side = Side(table.select([column, LINE]), str(self.path))
        day_t, month_t = (with_iso_dates(side, order=o).side.table for o in ("day", "month"))
        if day_t is not None and month_t is not None:
            day, month = day_t.column(column).to_pylist(), month_t.column(column).to_pylist()
            written = table.column(column).to_pylist()
            lines = table.column(LINE).to_pylist()
            for line, text, d, m in zip(lines, written, day, month, strict=True):
                if text not in (d, m) and d != m:  # read both ways, as two dates
                    return line, text
        return None, "01/02/2024"  # not reached: the column was found ambiguous


def _rows(
    path: Path,
    columns: tuple[str, ...],
    required: tuple[str, ...],
    dates: _LocalDates | None = None,
) -> Iterator[_Row]:
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc.strerror}", file=str(path)) from None
    with handle:
        reader = csv.DictReader(handle)
        try:
            header = _header(path, reader.fieldnames, columns, required)
            reader.fieldnames = header
            for row in reader:
                if _blank(row):
                    continue  # ",,,,,,," as Excel writes under a sheet: no record
                if None in row:  # DictReader's restkey: fields beyond the header
                    raise _too_many_fields(path, reader.line_num, len(header), len(row[None]))
                yield _Row(path, reader.line_num, row, dates)
        except UnicodeDecodeError:
            line, byte = _first_undecodable(path)
            raise ParseError(
                f"not UTF-8 (byte 0x{byte:02x}); re-export as UTF-8", file=str(path), line=line
            ) from None
        except csv.Error as exc:
            raise ParseError(
                f"malformed CSV: {exc}", file=str(path), line=reader.line_num
            ) from None


def _blank(row: Mapping[str | None, Any]) -> bool:
    """Whether every field of a row (those beyond the header, under None, too) is blank."""
    values = [v for k, v in row.items() if k is not None] + list(row.get(None) or ())
    return all(not (v or "").strip() for v in values)


def _header(
    path: Path, found: Iterable[str] | None, columns: tuple[str, ...], required: tuple[str, ...]
) -> list[str]:
    """The header names stripped and case-folded, as exports vary in both."""
    if found is None:
        raise ParseError("file is empty", file=str(path), expected=",".join(columns))
    header = [name.strip().casefold() for name in found]
    twice = sorted({c for c in columns if header.count(c) > 1})
    if twice:
        raise ParseError(
            f"column(s) {', '.join(twice)} appear more than once", file=str(path), line=1
        )
    missing = [c for c in required if c not in header]
    if missing:
        raise ParseError(
            f"missing column(s) {', '.join(missing)}",
            file=str(path),
            line=1,
            expected=",".join(columns),
        )
    return header


def _too_many_fields(path: Path, line: int, width: int, extra: int) -> ParseError:
    # dropping the extra fields would lose data, or keep values shifted into wrong columns
    return ParseError(
        f"{width + extra} fields, header has {width} (unquoted comma?)", file=str(path), line=line
    )


def _first_undecodable(path: Path) -> tuple[int, int]:
    """(physical line, byte) of the first invalid UTF-8; a line break is never inside a
    multi-byte character, so each line decodes on its own."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return number, raw[exc.start]
    return 1, 0  # not reached: the text reader found one


@dataclass(frozen=True)
class BankFile:
    #: Credits: what is matched.
    receipts: list[CashLine]
    #: Debits, returns and zero records: real exports carry them; they are not matched
    #: (the engine takes receipts only) and go to unapplied.csv as NOT_A_RECEIPT.
    not_receipts: list[CashLine]


def read_bank(path: Path, order: Order | None = None) -> BankFile:
    """``order``: how to read dates that read both ways (01/02/2024), when declared."""
    receipts: list[CashLine] = []
    others: list[CashLine] = []
    seen: set[str] = set()
    dates = _LocalDates(path, ("date",), BANK_COLUMNS, order)
    for r in _rows(path, BANK_COLUMNS, ("line_id", "date", "amount", "currency"), dates):
        line_id = r.text("line_id")
        if line_id in seen:
            raise r.error("line_id", f"{line_id!r} appears more than once")
        seen.add(line_id)
        amount = r.money("amount", r.currency(), bank=True)
        text = " ".join(
            t for t in (r.text("reference", required=False), r.text("memo", required=False)) if t
        )
        day = r.day("date")
        assert day is not None
        line = CashLine(
            line_id,
            day,
            amount,
            r.text("payer_name", required=False) or None,
            r.text("payer_account", required=False) or None,
            text,
        )
        (receipts if amount.amount > 0 else others).append(line)
    return BankFile(receipts, others)


def read_invoices(path: Path, order: Order | None = None) -> tuple[pa.Table, dict[str, str]]:
    """Open items as an Arrow table, and customer id -> name as found on the invoices.
    ``order``: how to read dates that read both ways (01/02/2024), when declared."""
    cols: dict[str, list[object]] = {name: [] for name in OPEN_ITEM_SCHEMA.names}
    names: dict[str, str] = {}
    seen: set[str] = set()
    dates = _LocalDates(path, ("issue_date", "due_date"), INVOICE_COLUMNS, order)
    for r in _rows(
        path,
        INVOICE_COLUMNS,
        ("invoice_number", "customer_id", "issue_date", "open_amount", "currency"),
        dates,
    ):
        number = r.text("invoice_number")
        if number in seen:
            raise r.error("invoice_number", f"{number!r} appears more than once")
        seen.add(number)
        customer = r.text("customer_id")
        name = r.text("customer_name", required=False)
        if name:
            names.setdefault(customer, name)
        ccy = r.currency()
        cols["invoice_number"].append(number)
        cols["customer_id"].append(customer)
        cols["currency"].append(ccy)
        cols["open_minor"].append(r.money("open_amount", ccy).to_minor())
        cols["issue_date"].append(r.day("issue_date"))
        cols["due_date"].append(r.day("due_date", required=False))
    return pa.table(cols, schema=OPEN_ITEM_SCHEMA), names


def read_customers(path: Path) -> list[CustomerRef]:
    """Customers; several rows for one customer add bank accounts."""
    names: dict[str, str] = {}
    accounts: dict[str, list[str]] = {}
    for r in _rows(path, CUSTOMER_COLUMNS, ("customer_id", "name")):
        cid = r.text("customer_id")
        names.setdefault(cid, r.text("name"))
        account = r.text("bank_account", required=False)
        accounts.setdefault(cid, [])
        if account:
            accounts[cid].append(account)
    return [CustomerRef(c, names[c], tuple(accounts[c])) for c in sorted(names)]


def write_results(
    result: CashResult, out: Path, not_receipts: Iterable[CashLine] = ()
) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    apps_path, unapplied_path = out / "applications.csv", out / "unapplied.csv"
    with apps_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(APPLICATION_COLUMNS)
        for r in result.lines:
            if r.proposal is None:
                continue
            for app in r.proposal.applications:
                if app.amount.is_zero():
                    continue  # only a deduction: it stays in cash_run.json and proposals
                writer.writerow(
                    [
                        r.line.line_id,
                        app.invoice_number,
                        app.amount.amount,
                        r.proposal.confidence,
                        r.proposal.rule.value,
                        r.proposal.status.value,
                    ]
                )
    rows: list[tuple[date, str, list[object]]] = []
    for r in result.lines:
        reason = unapplied_reason(r)
        if reason is not None:
            rows.append((r.line.date, r.line.line_id, _unapplied_row(r.line, reason, r.remainder)))
    for line in not_receipts:
        rows.append((line.date, line.line_id, _unapplied_row(line, NOT_A_RECEIPT, line.amount)))
    with unapplied_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(UNAPPLIED_COLUMNS)
        writer.writerows(row for _, _, row in sorted(rows, key=lambda t: (t[0], t[1])))
    return apps_path, unapplied_path


def _unapplied_row(line: CashLine, reason: str, remainder: Money) -> list[object]:
    ccy = line.amount.currency
    quantum = Decimal(1).scaleb(-minor_units(ccy))
    return [
        line.line_id,
        line.amount.amount.quantize(quantum),
        ccy,
        reason,
        remainder.amount.quantize(quantum),
    ]


def write_proposals(result: CashResult, out: Path) -> Path:
    """``proposals.csv``: one row per proposal with the id a person accepts or rejects."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "proposals.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(PROPOSAL_COLUMNS)
        for r in result.lines:
            prop = r.proposal
            if prop is None:
                continue
            writer.writerow(
                [
                    prop.proposal_id,
                    r.line.line_id,
                    prop.customer_id,
                    prop.status.value,
                    prop.rule.value,
                    prop.confidence,
                    " ".join(a.invoice_number for a in prop.applications),
                    prop.applied,
                    r.line.amount.currency,
                ]
            )
    return path
