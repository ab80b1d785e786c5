"""Streaming camt.052/053/054 reader (lxml iterparse, processed elements are cleared).

Yields each entry's transactions (and structured remittances) as soon as the ``Ntry``
closes, then the statement itself (balances, period, no transactions) when its
``Stmt``/``Rpt``/``Ntfctn`` closes. Memory stays bounded by one entry, not one file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import IO, Any

from lxml import etree

from billbridge.errors import ParseError
from canonical import (
    BankStatement,
    BankTransaction,
    Money,
    Provenance,
    Remittance,
    StatementBalance,
)
from canonical.currencies import UnknownCurrencyError, normalize_currency
from canonical.enums import EntryStatus
from connectors.feeds.camt.entries import StatementContext, date_from_text, map_entry
from connectors.feeds.camt.xmlutil import (
    Element,
    amount_of,
    date_or_datetime,
    find,
    findall,
    line_of,
    local,
    text,
)
from connectors.feeds.model import FeedWarning

MESSAGES = {
    "BkToCstmrAcctRpt": ("052", "Rpt"),
    "BkToCstmrStmt": ("053", "Stmt"),
    "BkToCstmrDbtCdtNtfctn": ("054", "Ntfctn"),
}
_NS = re.compile(r"camt\.(05[234])\.001\.(\d{2})")
BALANCE_KINDS = {
    "OPBD": "opening_booked",
    "PRCD": "previously_closed_booked",
    "CLBD": "closing_booked",
    "OPAV": "opening_available",
    "CLAV": "closing_available",
    "ITBD": "interim_booked",
    "ITAV": "interim_available",
    "FWAV": "forward_available",
    "XPCD": "expected",
}
Item = BankStatement | BankTransaction | Remittance


class CamtReader:
    def __init__(self, *, file_name: str, file_sha256: str | None = None) -> None:
        self.file = file_name
        self.sha = file_sha256
        self.warnings: list[FeedWarning] = []
        self.meta: dict[str, Any] = {}
        self.entries = 0
        self._message: str | None = None
        self._container: str | None = None
        self._ctx: StatementContext | None = None
        self._totals: dict[str, Decimal] = {}
        self._days: list[date] = []  # earliest and latest entry date of this statement

    def items(self, source: IO[bytes]) -> Iterator[Item]:
        # only the elements we act on produce events: far cheaper than every element
        watched = [f"{{*}}{n}" for n in (*MESSAGES, "Stmt", "Rpt", "Ntfctn", "Ntry", "GrpHdr")]
        events = etree.iterparse(
            source, events=("start", "end"), tag=watched, resolve_entities=False,
            no_network=True, remove_comments=True, remove_pis=True,
        )  # fmt: skip
        root: Element | None = None
        try:
            for event, el in events:
                if root is None:
                    root = el.getroottree().getroot()
                    self._start_document(root)
                name = local(el)
                if event == "start":
                    if name in MESSAGES:
                        self._message, self._container = MESSAGES[name]
                        self.meta["message"] = f"camt.{self._message}"
                    elif name == self._container:
                        self._ctx = None
                        self._totals, self._days = {}, []
                    continue
                parent = el.getparent()
                if name == "Ntry" and parent is not None and local(parent) == self._container:
                    yield from self._entry(el)
                elif name == self._container:
                    yield self._statement(el)
                    _drop(el)
                elif name == "GrpHdr":
                    self._group_header(el)
        except etree.XMLSyntaxError as exc:
            raise ParseError(
                f"XML is not well-formed: {exc.msg}",
                file=self.file,
                line=exc.lineno,
                expected="a well-formed camt XML document",
            ) from None
        if self._message is None:
            raise ParseError(
                "document holds no BkToCstmrStmt/AcctRpt/DbtCdtNtfctn",
                file=self.file,
                line=line_of(root),
                expected="a camt.052, camt.053 or camt.054 message",
            )
        if self.entries == 0:
            self.warnings.append(FeedWarning(code="no_entries", message="no entries in file"))

    def _start_document(self, root: Element) -> None:
        namespace = etree.QName(root).namespace or ""
        m = _NS.search(namespace)
        if m:
            self.meta["version"] = m.group(2)
            if not 2 <= int(m.group(2)) <= 13:
                self.warnings.append(
                    FeedWarning(code="camt_version", message=f"untested version {m.group(0)}")
                )
        self.meta["namespace"] = namespace

    def _group_header(self, el: Element) -> None:
        self.meta["message_id"] = text(el, "MsgId")
        created = text(el, "CreDtTm")
        if created:
            self.meta["created"] = created
        page = text(el, "MsgPgntn/PgNb")
        if page:
            self.meta["page"] = page
            self.meta["last_page"] = (text(el, "MsgPgntn/LastPgInd") or "").lower() == "true"

    def _context(self, stmt: Element) -> StatementContext:
        if self._ctx is not None:
            return self._ctx
        acct = find(stmt, "Acct")
        account_id = text(acct, "Id/IBAN", "Id/Othr/Id", "Id/PrxyId/Id")
        if not account_id:
            raise ParseError(
                "statement without an account id",
                file=self.file,
                line=line_of(stmt),
                expected="Acct/Id/IBAN or Acct/Id/Othr/Id",
            )
        ccy = text(acct, "Ccy")
        if ccy is None:
            first = find(stmt, "Bal/Amt")
            ccy = first.get("Ccy") if first is not None else None
        currency = None
        if ccy:
            try:
                currency = normalize_currency(ccy)
            except UnknownCurrencyError:
                self.warnings.append(
                    FeedWarning(
                        code="unknown_currency",
                        message=f"account currency {ccy!r} ignored",
                        line=line_of(acct),
                    )
                )
        self._ctx = StatementContext(
            file=self.file, sha=self.sha, message=self._message or "053",
            account_id=account_id, currency=currency, statement_id=text(stmt, "Id"),
            warnings=self.warnings,
        )  # fmt: skip
        return self._ctx

    def _entry(self, ntry: Element) -> Iterator[Item]:
        parent = ntry.getparent()
        ctx = self._context(parent if parent is not None else ntry)
        transactions, remittances = map_entry(ctx, ntry)
        self.entries += 1
        for tx in transactions:
            day = tx.booking_date or tx.value_date
            if day is not None:
                self._days = [min([day, *self._days]), max([day, *self._days])]
            if tx.status is EntryStatus.BOOKED:
                ccy = tx.amount.currency
                self._totals[ccy] = self._totals.get(ccy, Decimal(0)) + tx.amount.amount
        yield from transactions
        yield from remittances
        _drop(ntry)

    def _statement(self, stmt: Element) -> BankStatement:
        ctx = self._context(stmt)
        balances = [self._balance(ctx, bal) for bal in findall(stmt, "Bal")]
        period_start = date_from_text(text(stmt, "FrToDt/FrDtTm", "FrToDt/FrDt"))
        period_end = date_from_text(text(stmt, "FrToDt/ToDtTm", "FrToDt/ToDt"))
        dated = sorted(b.as_of for b in balances if b is not None and b.as_of is not None)
        if period_end is None and dated:  # no FrToDt: the balances say which days it covers
            period_start, period_end = period_start or dated[0], dated[-1]
        if period_end is None and ctx.message == "052":
            # an intraday report often has neither: its entries' days, else its creation
            # day, so the final statement of that day can supersede it (a 054 notification
            # is no final and keeps no period)
            created = date_from_text(text(stmt, "CreDtTm") or self.meta.get("created"))
            days = self._days or ([created] if created else [])
            if days:
                period_start, period_end = period_start or days[0], days[-1]
        extra: dict[str, Any] = {"message": f"camt.{ctx.message}"}
        page = text(stmt, "StmtPgntn/PgNb", "RptPgntn/PgNb", "NtfctnPgntn/PgNb")
        if page:
            extra["page"] = page
        statement = BankStatement(
            source_system="camt",
            source_id=f"{ctx.account_id}:{ctx.statement_id or ''}",
            account_id=ctx.account_id,
            currency=ctx.currency,
            statement_id=ctx.statement_id,
            sequence=text(stmt, "ElctrncSeqNb", "LglSeqNb"),
            period_start=period_start,
            period_end=period_end,
            balances=tuple(b for b in balances if b is not None),
            intraday=ctx.message == "052",
            provenance=Provenance(file=self.file, file_sha256=self.sha, line=line_of(stmt)),
            extra=extra,
        )
        self._continuity(statement, stmt)
        return statement

    def _balance(self, ctx: StatementContext, bal: Element) -> StatementBalance | None:
        code = text(bal, "Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry", "Tp/Cd") or "UNKNOWN"
        found = amount_of(find(bal, "Amt"), file=self.file, field=f"balance {code}")
        if found is None:
            return None
        amount, ccy = found
        try:
            currency = normalize_currency(ccy or ctx.currency or "")
        except UnknownCurrencyError:
            raise ParseError(
                f"balance {code}: currency {ccy!r}",
                file=self.file,
                line=line_of(bal),
                expected="an ISO 4217 currency code",
            ) from None
        value = Decimal(amount)
        # some banks omit the indicator on balances: read the amount as written then
        if text(bal, "CdtDbtInd") == "DBIT":
            value = -value
        as_of, _ = date_or_datetime(bal, "Dt", file=self.file, field="balance date")
        kind = BALANCE_KINDS.get(code.upper(), code.lower())
        return StatementBalance(kind=kind, amount=Money(value, currency), as_of=as_of)

    def _continuity(self, statement: BankStatement, stmt: Element) -> None:
        opening = statement.balance("opening_booked") or statement.balance(
            "previously_closed_booked"
        )
        closing = statement.balance("closing_booked")
        if opening is None or closing is None or opening.currency != closing.currency:
            return
        moved = self._totals.get(opening.currency, Decimal(0))
        if opening.amount + moved != closing.amount:
            self.warnings.append(
                FeedWarning(
                    code="balance_mismatch",
                    message=(
                        f"statement {statement.statement_id}: opening {opening.amount} + "
                        f"entries {moved} != closing {closing.amount}"
                    ),
                    line=line_of(stmt),
                )
            )


def _drop(el: Element) -> None:
    """Free a processed element and the already-processed siblings before it."""
    el.clear()
    parent = el.getparent()
    if parent is None:
        return
    prev = el.getprevious()
    while prev is not None and local(prev) == local(el):
        parent.remove(prev)
        prev = el.getprevious()
