"""Bank CSV exports read through a declarative :class:`CsvProfile`.

With ``profile=None`` the header must name date, amount (or debit and credit) and
description columns; the date format and decimal mark are then decided once per file
(never per row) and an ambiguous file is refused with a ParseError asking for a profile.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from billbridge.errors import ParseError
from canonical import BankStatement, BankTransaction, Money, Provenance, StatementBalance
from connectors.feeds.bank_csv_profile import CsvProfile, generic_columns, load_profile
from connectors.feeds.common import KeyCounter, currency_or_error, entry_key, parse_guard
from connectors.feeds.model import FeedResult, FeedWarning
from connectors.feeds.normalize import detect_encoding, sha256_hex, strip_bom, unify_newlines

FORMAT = "csv"
DELIMITERS = (",", ";", "\t", "|")
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y", "%d/%m/%Y", "%Y%m%d", "%d-%m-%Y", "%Y/%m/%d")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_NOT_NUMBER = re.compile(r"[^\d,.\-+' ]")
MAX_HEADER_SEARCH = 20


def sniff(head: bytes) -> bool:
    """Weak signal, tried last: text lines that split into several columns."""
    body, _ = strip_bom(head)
    text = body.decode(detect_encoding(body), errors="replace")
    lines = [ln for ln in unify_newlines(text).split("\n") if ln.strip()][:10]
    if len(lines) < 2 or lines[0].lstrip().startswith(("<", "{", ":")):
        return False
    # preamble lines ("Kontoauszug") may lack the delimiter: most lines must have it
    return any(sum(d in ln for ln in lines) * 5 >= len(lines) * 3 for d in DELIMITERS)


def parse_amount(text: str, decimal: str, thousands: str | None) -> Decimal | None:
    """``1.234,56``, ``(12.00)``, ``12.00-``, ``$1,234.00``, ``EUR 5`` -> Decimal; blank None."""
    s = text.strip().replace("\u00a0", " ")
    if not s:
        return None
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    s = _NOT_NUMBER.sub("", s).strip()
    if s.endswith("-"):
        negative, s = not negative, s[:-1].strip()
    elif s.endswith("+"):
        s = s[:-1].strip()
    if s.startswith("-"):
        negative, s = not negative, s[1:].strip()
    elif s.startswith("+"):
        s = s[1:].strip()
    for sep in {thousands or "", " ", "'"} - {""}:
        s = s.replace(sep, "")
    if decimal == ",":
        s = s.replace(",", ".")
    if not _NUMBER.fullmatch(s):
        raise ValueError(text)
    value = Decimal(s)
    return -value if negative else value


def _decode(data: bytes, profile: CsvProfile | None, file: str) -> tuple[str, str]:
    body, _ = strip_bom(data)
    encoding = (profile.encoding if profile else None) or detect_encoding(body)
    try:
        return unify_newlines(body.decode(encoding)), encoding
    except (UnicodeDecodeError, LookupError):
        raise ParseError(
            f"file is not {encoding}", file=file, expected="the profile's encoding"
        ) from None


def _rows(text: str, delimiter: str, quotechar: str, skip: int) -> list[tuple[int, list[str]]]:
    """(first physical line, cells) per CSV record; quoted multi-line cells stay whole."""
    lines = text.split("\n")
    reader = csv.reader(
        io.StringIO("\n".join(lines[skip:])), delimiter=delimiter, quotechar=quotechar
    )
    out: list[tuple[int, list[str]]] = []
    prev = 0
    for cells in reader:
        out.append((skip + prev + 1, cells))
        prev = reader.line_num
    return out


def _generic(text: str, file: str) -> CsvProfile:
    lines = text.split("\n")
    for index, line in enumerate(lines[:MAX_HEADER_SEARCH]):
        for delim in DELIMITERS:
            cells = next(csv.reader([line], delimiter=delim), [])
            columns = generic_columns(cells) if len(cells) > 1 else None
            if columns:
                return CsvProfile(
                    name="generic", delimiter=delim, skip_lines=index, columns=columns, generic=True
                )
    raise ParseError(
        "CSV without a recognisable header: supply a bank profile (--profile FILE)",
        file=file,
        line=1,
        expected="a header naming date, amount (or debit/credit) and description columns",
    )


def _settle_generic(
    profile: CsvProfile, rows: list[list[str]], idx: dict[str, int], file: str
) -> CsvProfile:
    """Decide the date format and decimal mark once for the whole file."""
    data_rows = [r for r in rows if not _is_footer(profile, r)]
    col = idx["date"]
    dates = [r[col].strip() for r in data_rows if len(r) > col and r[col].strip()]
    fits = [f for f in DATE_FORMATS if dates and all(_try_date(d, f) for d in dates)]
    parsed = {tuple(_try_date(d, f) for d in dates) for f in fits}
    if not fits or len(parsed) > 1:
        seen = ", ".join(fits) if fits else (dates[0] if dates else "no dates")
        problem = "ambiguous" if fits else "not recognised"
        raise ParseError(
            f"date format is {problem} ({seen[:40]}): supply a profile",
            file=file,
            expected="a CSV profile with date_format",
        )
    cells = [
        r[i]
        for k in ("amount", "debit", "credit", "balance")
        if (i := idx.get(k)) is not None
        for r in data_rows
        if len(r) > i and r[i].strip()
    ]
    decimal, thousands = ".", ","
    last_marks = {m[-1] for c in cells if (m := re.findall(r"[.,]", c))}
    if last_marks == {","} or (profile.delimiter == ";" and last_marks <= {","}):
        decimal, thousands = ",", "."
    return profile.model_copy(
        update={"date_format": fits[0], "decimal": decimal, "thousands": thousands}
    )


def _is_footer(profile: CsvProfile, cells: list[str]) -> bool:
    first = next((c.strip().lower() for c in cells if c.strip()), "")
    return first.startswith(profile.footer_markers)


def _try_date(text: str, fmt: str) -> date | None:
    try:
        return datetime.strptime(text.strip(), fmt).date()  # noqa: DTZ007 - business date
    except ValueError:
        return None


def _index(profile: CsvProfile, header: list[str] | None, file: str, line: int) -> dict[str, int]:
    idx: dict[str, int] = {}
    names = [h.strip().lower() for h in header] if header is not None else []
    for canon, col in profile.columns.items():
        if header is None:
            if not col.isdigit():
                raise ParseError(f"column {col!r} needs a header row", file=file, line=line)
            idx[canon] = int(col)
        elif col.strip().lower() in names:
            idx[canon] = names.index(col.strip().lower())
        else:
            raise ParseError(
                f"header has no column {col!r} for {canon}",
                file=file,
                line=line,
                expected=f"columns {list(profile.columns.values())}",
            )
    return idx


def parse(
    data: bytes,
    *,
    file_name: str,
    profile: CsvProfile | str | Path | None = None,
    account_id: str | None = None,
    currency: str | None = None,
    **_options: Any,
) -> FeedResult:
    prof = load_profile(profile) if isinstance(profile, (str, Path)) else profile
    with parse_guard(file_name, "CSV"):  # csv.Error (e.g. field size limit) included
        return _parse(data, file_name, prof, account_id, currency)


def _parse(
    data: bytes,
    file_name: str,
    profile: CsvProfile | None,
    account_id: str | None,
    currency: str | None,
) -> FeedResult:
    text, encoding = _decode(data, profile, file_name)
    prof = profile or _generic(text, file_name)
    rows = _rows(text, prof.delimiter, prof.quotechar, prof.skip_lines)
    rows = [(n, r) for n, r in rows if any(c.strip() for c in r)]
    if not rows:
        raise ParseError("empty CSV", file=file_name, expected="a header and data rows")
    header = rows[0][1] if prof.has_header else None
    body = rows[1:] if prof.has_header else rows
    idx = _index(prof, header, file_name, rows[0][0])
    if prof.generic:
        prof = _settle_generic(prof, [r for _, r in body], idx, file_name)
    reader = _RowReader(prof, idx, file_name, sha256_hex(data), account_id, currency)
    for line, cells in body:
        reader.row(line, cells)
    return reader.result(encoding)


class _RowReader:
    def __init__(
        self,
        profile: CsvProfile,
        idx: dict[str, int],
        file: str,
        sha: str,
        account_id: str | None,
        currency: str | None,
    ) -> None:
        self.p, self.idx, self.file, self.sha = profile, idx, file, sha
        # not the file name: the same row in two overlapping downloads (or a renamed file)
        # must keep one id; the profile name is stable
        self.account = account_id or profile.account_id or profile.name
        ccy = currency or profile.currency
        self.currency = (
            currency_or_error(ccy, file=file, line=None, field="currency") if ccy else None
        )
        self.warnings: list[FeedWarning] = []
        self.txs: dict[str, list[tuple[BankTransaction, Decimal | None]]] = {}
        self.keys = KeyCounter()

    def cell(self, cells: list[str], name: str) -> str:
        i = self.idx.get(name)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    def _error(self, line: int, message: str, expected: str | None = None) -> ParseError:
        return ParseError(message, file=self.file, line=line, expected=expected)

    def amount(self, line: int, cells: list[str], name: str) -> Decimal | None:
        try:
            return parse_amount(self.cell(cells, name), self.p.decimal, self.p.thousands)
        except (ValueError, InvalidOperation):
            raise self._error(
                line,
                f"{name} {self.cell(cells, name)[:30]!r} is not an amount",
                f"decimal mark {self.p.decimal!r}",
            ) from None

    def row(self, line: int, cells: list[str]) -> None:
        raw_date = self.cell(cells, "date")
        booked = _try_date(raw_date, self.p.date_format)
        if booked is None:
            if _is_footer(self.p, cells) or not raw_date:
                return  # total / balance lines around the data
            raise self._error(line, f"date {raw_date[:20]!r}", self.p.date_format)
        amount = self._signed(line, cells)
        ccy_text = self.cell(cells, "currency") or self.currency
        if ccy_text is None:
            ccy_text = "USD"
            if not any(w.code == "currency_assumed" for w in self.warnings):
                self.warnings.append(
                    FeedWarning(
                        code="currency_assumed",
                        line=line,
                        message="no currency column or option: USD",
                    )
                )
        ccy = currency_or_error(ccy_text, file=self.file, line=line, field="currency")
        text = self.cell(cells, "description") or None
        ref = self.cell(cells, "reference") or None
        balance = self.amount(line, cells, "balance") if "balance" in self.idx else None
        vd_text = self.cell(cells, "value_date")
        value_date = _try_date(vd_text, self.p.value_date_format or self.p.date_format)
        account = self.cell(cells, "account") or self.account
        key = ref or entry_key(booked, amount, text, balance)
        tx = BankTransaction(
            source_system="csv",
            source_id=self.keys.unique(f"{account}:{key}"),
            account_id=account,
            booking_date=booked,
            value_date=value_date,
            amount=Money(amount, ccy),
            type_code=self.cell(cells, "type") or None,
            bank_reference=ref,
            counterparty_name=self.cell(cells, "counterparty") or None,
            counterparty_account=self.cell(cells, "counterparty_account") or None,
            remittance_text=text,
            references=(ref,) if ref else (),
            provenance=Provenance(
                file=self.file, file_sha256=self.sha, line=line, raw=self.p.delimiter.join(cells)
            ),
            extra={"profile": self.p.name},
        )
        self.txs.setdefault(account, []).append((tx, balance))

    def _signed(self, line: int, cells: list[str]) -> Decimal:
        if self.p.sign == "debit_credit":
            debit = self.amount(line, cells, "debit") or Decimal(0)
            credit = self.amount(line, cells, "credit") or Decimal(0)
            value = abs(credit) - abs(debit)
        else:
            amount = self.amount(line, cells, "amount")
            if amount is None:
                raise self._error(line, "row without an amount", "an amount")
            value = amount
            if self.p.sign == "flag":
                flag = self.cell(cells, "flag").upper()
                if flag in self.p.credit_flags:
                    value = abs(amount)
                elif flag in self.p.debit_flags:
                    value = -abs(amount)
                else:
                    raise self._error(
                        line,
                        f"credit/debit flag {flag!r}",
                        f"one of {self.p.credit_flags + self.p.debit_flags}",
                    )
        return -value if self.p.invert else value

    def result(self, encoding: str) -> FeedResult:
        statements = [self._statement(acct, rows) for acct, rows in self.txs.items()]
        if not statements:
            self.warnings.append(FeedWarning(code="no_entries", message="no data rows"))
        return FeedResult(
            format=FORMAT,
            file_name=self.file,
            file_sha256=self.sha,
            encoding=encoding,
            statements=statements,
            warnings=self.warnings,
            meta={"profile": self.p.name, "rows": sum(map(len, self.txs.values()))},
        )

    def _statement(
        self, account: str, rows: list[tuple[BankTransaction, Decimal | None]]
    ) -> BankStatement:
        txs = [t for t, _ in rows]
        dates = [t.booking_date for t in txs if t.booking_date]
        ccy = txs[0].amount.currency
        balances = self._running_balance(rows, ccy)
        start, end = min(dates), max(dates)
        return BankStatement(
            source_system="csv",
            source_id=f"{account}:{start}:{end}",
            account_id=account,
            currency=ccy,
            statement_id=f"{start.isoformat()}..{end.isoformat()}",
            period_start=start,
            period_end=end,
            balances=balances,
            transactions=tuple(txs),
            provenance=Provenance(file=self.file, file_sha256=self.sha),
        )

    def _running_balance(
        self, rows: list[tuple[BankTransaction, Decimal | None]], ccy: str
    ) -> tuple[StatementBalance, ...]:
        """Opening/closing from the running balance, which also proves order and completeness."""
        pairs = [(t.amount.amount, b, t) for t, b in rows if b is not None]
        if len(pairs) != len(rows) or not pairs:
            return ()
        asc = all(pairs[i][1] == pairs[i - 1][1] + pairs[i][0] for i in range(1, len(pairs)))
        desc = all(pairs[i - 1][1] == pairs[i][1] + pairs[i - 1][0] for i in range(1, len(pairs)))
        if not (asc or desc):
            self.warnings.append(
                FeedWarning(
                    code="running_balance_break",
                    message=(
                        "running balance does not follow the amounts: rows missing or out of order"
                    ),
                )
            )
            return ()
        first, last = (pairs[0], pairs[-1]) if asc else (pairs[-1], pairs[0])
        return (
            StatementBalance(
                kind="opening_booked",
                amount=Money(first[1] - first[0], ccy),
                as_of=first[2].booking_date,
            ),
            StatementBalance(
                kind="closing_booked", amount=Money(last[1], ccy), as_of=last[2].booking_date
            ),
        )
