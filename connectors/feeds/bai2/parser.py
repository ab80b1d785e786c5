"""BAI2 logical records -> canonical bank statements (one per 03 ... 49 account block).

Amounts are integers in the currency's minor units (03 -> 02 -> default currency); the
sign of a detail comes from its type code. Control totals of 49/98/99 are verified: in
strict mode a mismatch is a ParseError (quarantine the file), in lenient mode a warning.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from billbridge.errors import ConfigError, ParseError
from canonical import BankStatement, BankTransaction, Money, Provenance, StatementBalance
from connectors.feeds.bai2 import references, type_codes
from connectors.feeds.bai2.model import (
    AMOUNT,
    BALANCE_KINDS,
    GROUP_STATUS,
    INTRADAY_MODIFIERS,
    Account,
    Group,
    as_of_time,
    has_keys,
    minor_money,
)
from connectors.feeds.bai2.tokenizer import LogicalRecord, Tokenizer
from connectors.feeds.common import currency_or_error, entry_key
from connectors.feeds.model import FeedWarning
from connectors.feeds.normalize import Line


class Bai2Parser:
    """Streams statements; ``warnings`` and ``meta`` fill up as it goes."""

    def __init__(
        self,
        *,
        file_name: str,
        file_sha256: str | None = None,
        strict: bool = True,
        control_totals: str = "all",
        default_currency: str = "USD",
        type_code_overrides: dict[str, str] | None = None,
        **_other_options: Any,  # options meant for other formats (e.g. a CSV profile)
    ) -> None:
        if control_totals not in ("all", "details", "off"):
            raise ConfigError("control_totals must be 'all', 'details' or 'off'")
        self.file = file_name
        self.sha = file_sha256
        self.strict = strict
        self.control_totals = control_totals
        self.default_currency = default_currency
        # per-bank meaning of custom or BTRS-only codes: {"950": "debit", "905": "status"}
        self.overrides = type_codes.overrides(type_code_overrides or {})
        self.warnings: list[FeedWarning] = []
        self.meta: dict[str, Any] = {}
        self.transaction_count = 0
        self._tok = Tokenizer(file_name)
        self._header: LogicalRecord | None = None
        self._group: Group | None = None
        self._account: Account | None = None
        self._file_records = 0
        self._groups = 0
        self._file_total = 0
        self._done = False

    # -- helpers ---------------------------------------------------------------
    def _error(self, rec: LogicalRecord, message: str, expected: str | None = None) -> ParseError:
        return ParseError(
            f"record {rec.code}: {message}",
            file=self.file,
            line=rec.line,
            offset=rec.offset,
            expected=expected,
        )

    def _problem(self, rec: LogicalRecord, code: str, message: str) -> None:
        """A control problem: fatal in strict mode, a warning otherwise."""
        if self.strict:
            raise self._error(rec, message)
        self.warnings.append(FeedWarning(code=code, message=message, line=rec.line))

    def _warn(self, rec: LogicalRecord, code: str, message: str) -> None:
        self.warnings.append(FeedWarning(code=code, message=message, line=rec.line))

    def _field(self, rec: LogicalRecord, index: int) -> str:
        return rec.fields[index].strip() if index < len(rec.fields) else ""

    def _int(self, rec: LogicalRecord, text: str, what: str) -> int | None:
        text = text.strip()
        if not text:
            return None
        if not AMOUNT.fullmatch(text):
            raise self._error(rec, f"{what} {text[:20]!r} is not a whole number", "digits")
        return int(text)

    def _date(self, rec: LogicalRecord, text: str, what: str) -> date:
        text = text.strip()
        try:
            if len(text) != 6 or not text.isdigit():
                raise ValueError(text)
            yy, mm, dd = int(text[:2]), int(text[2:4]), int(text[4:])
            return date(2000 + yy if yy < 80 else 1900 + yy, mm, dd)
        except ValueError:
            raise self._error(rec, f"{what} {text[:10]!r} is not a date", "YYMMDD") from None

    def _prov(self, rec: LogicalRecord) -> Provenance:
        return Provenance(
            file=self.file, file_sha256=self.sha, line=rec.line, offset=rec.offset,
            raw=rec.raw_text,
        )  # fmt: skip

    # -- driving ---------------------------------------------------------------
    def statements(self, lines: Iterable[Line]) -> Iterator[BankStatement]:
        seen_any = False
        for rec in self._tok.records(lines):
            seen_any = True
            if self._done:
                raise self._error(rec, "data after the 99 file trailer", "end of file")
            self._file_records += rec.record_count
            if self._group is not None:
                self._group.records += rec.record_count
            if self._account is not None:
                self._account.records += rec.record_count
            handler = getattr(self, f"_on_{rec.code}")
            result = handler(rec)
            if result is not None:
                yield result
        if not seen_any:
            raise ParseError("no BAI2 records found", file=self.file, expected="01 header")
        if not self._done:
            last = self._account.rec if self._account else None
            message = "file ends without a 99 trailer (truncated?)"
            if self.strict or last is not None:
                raise ParseError(message, file=self.file, expected="49, 98 and 99 trailers")
            self.warnings.append(FeedWarning(code="truncated", message=message))
        if self.transaction_count == 0:
            self.warnings.append(
                FeedWarning(code="no_entries", message="file holds balances but no entries")
            )

    # -- record handlers -------------------------------------------------------
    def _on_01(self, rec: LogicalRecord) -> None:
        if self._header is not None:
            raise self._error(rec, "second file header", "one 01 per file")
        self._header = rec
        length = self._field(rec, 5)
        self._tok.physical_length = int(length) if length.isdigit() and int(length) else None
        self.meta.update(
            sender=self._field(rec, 0),
            receiver=self._field(rec, 1),
            created=self._date(rec, self._field(rec, 2), "creation date").isoformat(),
            file_id=self._field(rec, 4),
            version=self._field(rec, 7),
        )
        if self._field(rec, 7) not in ("2", ""):
            self._warn(rec, "bai_version", f"version {self._field(rec, 7)!r}, parsed as BAI2")

    def _on_02(self, rec: LogicalRecord) -> None:
        if self._header is None:
            raise self._error(rec, "group header before the file header", "01 first")
        if self._group is not None:
            raise self._error(rec, "group header inside an open group", "98 trailer first")
        status = self._field(rec, 2)
        if status == "4":
            raise self._error(rec, "group status 4 (test only): a test file must not be posted")
        if status and status not in GROUP_STATUS:
            raise self._error(rec, f"unknown group status {status!r}", "1, 2, 3 or 4")
        if status == "2":
            self._warn(rec, "group_deletion", "group status 2 (deletion of earlier data)")
        ccy = self._field(rec, 5)
        currency = (
            currency_or_error(ccy, file=self.file, line=rec.line, field="02 currency")
            if ccy
            else None
        )
        self._group = Group(
            rec=rec,
            currency=currency,
            as_of=self._date(rec, self._field(rec, 3), "as-of date"),
            as_of_time=as_of_time(self._field(rec, 4)),
            modifier=self._field(rec, 6),
            status=GROUP_STATUS.get(status, "update"),
            records=rec.record_count,
        )
        self._groups += 1

    def _on_03(self, rec: LogicalRecord) -> None:
        group = self._require_group(rec)
        if self._account is not None:
            raise self._error(rec, "account record inside an open account", "49 trailer first")
        ccy = self._field(rec, 1)
        currency = (
            currency_or_error(ccy, file=self.file, line=rec.line, field="03 currency")
            if ccy
            else group.currency or self.default_currency
        )
        acct = Account(
            rec=rec, account_id=self._field(rec, 0), currency=currency, records=rec.record_count
        )
        if not acct.account_id:
            raise self._error(rec, "empty account number", "customer account number")
        self._account = acct
        self._summaries(rec, acct, group)

    def _summaries(self, rec: LogicalRecord, acct: Account, group: Group) -> None:
        fields = [f.strip() for f in rec.fields[2:]]
        i = 0
        while i < len(fields):
            code = fields[i]
            if not code:
                if any(fields[i:]):
                    raise self._error(rec, "summary without a type code", "type code")
                break
            info = self.overrides.get(code) or type_codes.lookup(code)
            if info is None:
                raise self._error(rec, f"unknown type code {code!r} in summary", "BAI2 code")
            amount = self._int(rec, fields[i + 1] if i + 1 < len(fields) else "", "amount")
            count = fields[i + 2] if i + 2 < len(fields) else ""
            funds = (fields[i + 3] if i + 3 < len(fields) else "").upper()
            i += 4 + self._funds_extra(rec, funds, fields, i + 4)
            if amount is None:
                continue
            acct.total_all += amount
            if info.level == "status":
                kind = BALANCE_KINDS.get(code, f"status_{code}")
                value = Money.from_minor(amount, acct.currency)
                acct.balances.append(StatementBalance(kind=kind, amount=value, as_of=group.as_of))
            else:
                signed = amount if info.direction == "credit" else -amount
                acct.summaries[code] = {
                    "amount": str(Money.from_minor(signed, acct.currency).amount),
                    "count": int(count) if count.isdigit() else None,
                    "description": info.description,
                }

    def _funds_extra(self, rec: LogicalRecord, funds: str, fields: list[str], at: int) -> int:
        if funds in ("", "0", "1", "2", "Z"):
            return 0
        if funds == "V":
            return 2
        if funds == "S":
            return 3
        if funds == "D":
            n = fields[at] if at < len(fields) else ""
            if not n.isdigit():
                raise self._error(rec, f"distribution count {n!r}", "number of (days, amount)")
            return 1 + 2 * int(n)
        self._problem(rec, "unknown_funds_type", f"unknown funds type {funds!r}")
        return 0

    def _on_16(self, rec: LogicalRecord) -> None:
        acct = self._require_account(rec)
        group = self._require_group(rec)
        code = self._field(rec, 0)
        info = self.overrides.get(code) or type_codes.lookup(code)
        if info is None:
            raise self._error(rec, f"unknown type code {code!r}", "a BAI2/BTRS type code")
        if info.level == "status":
            raise self._error(rec, f"status type code {code} in a detail", "an activity code")
        if not info.known and not type_codes.is_custom(code):
            self._warn(rec, "unknown_type_code", f"type code {code} not in the BAI2 table")
        amount = self._int(rec, self._field(rec, 1), "amount")
        if amount is None:
            raise self._error(rec, "detail without an amount", "amount in minor units")
        amount = abs(amount)
        acct.total_all += amount
        acct.total_details += amount
        funds = self._field(rec, 2).upper()
        extra_n = self._funds_extra(rec, funds, [f.strip() for f in rec.fields], 3)
        extras = [f.strip() for f in rec.fields[3 : 3 + extra_n]]
        bank_ref = self._field(rec, 3 + extra_n) or None
        cust_ref = self._field(rec, 4 + extra_n) or None
        segments = [t for t in (s.strip() for s in rec.text) if t]
        text = " ".join(segments) or None
        if info.direction == "none":
            acct.non_monetary.append(text or "")
            return
        value_date = None
        if funds == "V" and extras and extras[0]:
            value_date = self._date(rec, extras[0], "value date")
        refs = references.extract(segments) if has_keys(segments) else references.NONE
        signed = amount if info.direction == "credit" else -amount
        key = bank_ref or entry_key(group.as_of, code, signed, cust_ref, text)
        extra: dict[str, Any] = {"funds_type": funds or None, "type_description": info.description}
        if funds in ("S", "D"):
            extra["availability"] = extras
        if refs.keys:
            extra["text_keys"] = refs.keys
        if group.modifier in INTRADAY_MODIFIERS:
            extra["intraday"] = True
        tx = BankTransaction(
            source_system="bai2",
            source_id=acct.keys.unique(f"{acct.account_id}:{key}"),
            account_id=acct.account_id,
            booking_date=group.as_of,
            value_date=value_date,
            amount=minor_money(signed, acct.currency),
            type_code=code,
            bank_reference=bank_ref,
            customer_reference=cust_ref,
            end_to_end_id=refs.end_to_end_id,
            counterparty_name=refs.counterparty_name,
            counterparty_account=refs.counterparty_account,
            remittance_text=text,
            references=refs.references,
            statement_id=group.as_of.isoformat(),
            provenance=self._prov(rec),
            extra=extra,
        )
        acct.transactions.append(tx)
        self.transaction_count += 1

    def _on_49(self, rec: LogicalRecord) -> BankStatement:
        acct = self._require_account(rec)
        group = self._require_group(rec)
        written = self._int(rec, self._field(rec, 0), "account control total")
        computed = acct.total_details if self.control_totals == "details" else acct.total_all
        self._check(
            rec, "account", written, computed, count_text=self._field(rec, 1), count=acct.records
        )
        group.total += written if written is not None else acct.total_all
        group.accounts += 1
        self._account = None
        extra: dict[str, Any] = {"group_status": group.status}
        if acct.summaries:
            extra["summaries"] = acct.summaries
        if acct.non_monetary:
            extra["non_monetary"] = acct.non_monetary
        if group.as_of_time:
            extra["as_of_time"] = group.as_of_time
        if group.modifier:
            extra["as_of_modifier"] = group.modifier
        return BankStatement(
            source_system="bai2",
            source_id=f"{acct.account_id}:{group.as_of.isoformat()}:{group.modifier or '-'}",
            account_id=acct.account_id,
            currency=acct.currency,
            statement_id=group.as_of.isoformat(),
            sequence=self.meta.get("file_id") or None,
            period_start=group.as_of,
            period_end=group.as_of,
            balances=tuple(acct.balances),
            transactions=tuple(acct.transactions),
            intraday=group.modifier in INTRADAY_MODIFIERS,
            provenance=self._prov(acct.rec),
            extra=extra,
        )

    def _on_98(self, rec: LogicalRecord) -> None:
        group = self._require_group(rec)
        if self._account is not None:
            raise self._error(rec, "group trailer inside an open account", "49 trailer first")
        written = self._int(rec, self._field(rec, 0), "group control total")
        self._check(
            rec, "group", written, group.total, count_text=self._field(rec, 2), count=group.records
        )
        accounts = self._field(rec, 1)
        if accounts.isdigit() and int(accounts) != group.accounts:
            self._problem(
                rec, "control_count_mismatch",
                f"group trailer says {int(accounts)} accounts, found {group.accounts}",
            )  # fmt: skip
        self._file_total += written if written is not None else group.total
        self._group = None

    def _on_99(self, rec: LogicalRecord) -> None:
        if self._header is None:
            raise self._error(rec, "file trailer without a file header", "01 first")
        if self._group is not None or self._account is not None:
            raise self._error(rec, "file trailer inside an open group", "49 and 98 first")
        written = self._int(rec, self._field(rec, 0), "file control total")
        self._check(
            rec, "file", written, self._file_total,
            count_text=self._field(rec, 2), count=self._file_records,
        )  # fmt: skip
        groups = self._field(rec, 1)
        if groups.isdigit() and int(groups) != self._groups:
            self._problem(
                rec, "control_count_mismatch",
                f"file trailer says {int(groups)} groups, found {self._groups}",
            )  # fmt: skip
        self._done = True

    def _on_88(self, rec: LogicalRecord) -> None:  # merged by the tokenizer; unreachable
        raise self._error(rec, "continuation without a record", "a record before 88")

    def _check(
        self, rec: LogicalRecord, level: str, written: int | None, computed: int,
        *, count_text: str, count: int,
    ) -> None:  # fmt: skip
        if self.control_totals == "off":
            return
        if written is None:
            self._warn(rec, "control_total_missing", f"{level} control total is blank")
        elif written != computed:
            self._problem(
                rec, "control_total_mismatch",
                f"{level} control total {written} differs from the computed {computed}",
            )  # fmt: skip
        if count_text.isdigit() and int(count_text) != count:
            self._problem(
                rec, "control_count_mismatch",
                f"{level} record count {int(count_text)} differs from the {count} found",
            )  # fmt: skip

    def _require_group(self, rec: LogicalRecord) -> Group:
        if self._group is None:
            raise self._error(rec, "record outside a group", "02 group header first")
        return self._group

    def _require_account(self, rec: LogicalRecord) -> Account:
        if self._account is None:
            raise self._error(rec, "record outside an account", "03 account record first")
        return self._account
