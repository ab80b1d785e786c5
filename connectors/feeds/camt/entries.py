"""One camt ``Ntry`` -> canonical transactions (one per TxDtls with an amount, else one).

Paths are explicit and relative per level (entry vs. transaction details): a descendant
search such as ``.//Amt`` would mix the batch amount with a detail's amount.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree

from billbridge.errors import ParseError
from canonical import BankTransaction, Money, Provenance, Remittance, RemittanceLine
from canonical.currencies import UnknownCurrencyError, normalize_currency
from canonical.enums import EntryStatus
from connectors.feeds.camt.xmlutil import (
    Element,
    amount_of,
    date_or_datetime,
    find,
    findall,
    line_of,
    text,
)
from connectors.feeds.common import KeyCounter, entry_key
from connectors.feeds.model import FeedWarning

STATUS = {
    "BOOK": EntryStatus.BOOKED,
    "PDNG": EntryStatus.PENDING,
    "FUTR": EntryStatus.PENDING,
    "INFO": EntryStatus.INFO,
}
DOC_TYPES = {"CINV": "IV", "CREN": "CM", "DEBN": "DM", "CMCN": "CM", "SOAC": "SOA"}
NOT_PROVIDED = "NOTPROVIDED"
FX_AMOUNTS = {
    "instructed_amount": "AmtDtls/InstdAmt/Amt",
    "counter_value_amount": "AmtDtls/CntrValAmt/Amt",
}


@dataclass
class StatementContext:
    file: str
    sha: str | None
    message: str  # "052", "053", "054"
    account_id: str
    currency: str | None
    statement_id: str | None
    keys: KeyCounter = field(default_factory=KeyCounter)
    warnings: list[FeedWarning] = field(default_factory=list)


def _ref(value: str | None) -> str | None:
    if value is None or value.upper() == NOT_PROVIDED:
        return None
    return value


def _money(ctx: StatementContext, el: Element | None, what: str) -> Money | None:
    found = amount_of(el, file=ctx.file, field=what)
    if found is None:
        return None
    amount, ccy = found
    try:
        return Money(Decimal(amount), normalize_currency(ccy or ctx.currency or ""))
    except UnknownCurrencyError:
        if ctx.currency is None:
            raise ParseError(
                f"{what}: unknown currency {ccy!r} and no account currency to fall back to",
                file=ctx.file,
                line=line_of(el),
                expected="an ISO 4217 currency code",
            ) from None
        ctx.warnings.append(
            FeedWarning(
                code="unknown_currency",
                message=f"{what}: currency {ccy!r} read as the account currency {ctx.currency}",
                line=line_of(el),
            )
        )
        return Money(Decimal(amount), ctx.currency)


def _sign(ctx: StatementContext, indicator: str | None, el: Element) -> int:
    if indicator == "DBIT":
        return -1
    if indicator == "CRDT":
        return 1
    raise ParseError(
        f"credit/debit indicator {indicator!r}",
        file=ctx.file,
        line=line_of(el),
        expected="CdtDbtInd CRDT or DBIT",
    )


def _tx_amount(ctx: StatementContext, tx: Element) -> Money | None:
    # v04+ puts Amt directly on TxDtls; v02/v03 only have AmtDtls/TxAmt/Amt.
    el = find(tx, "Amt")
    if el is None:
        el = find(tx, "AmtDtls/TxAmt/Amt")
    return _money(ctx, el, "TxDtls amount")


def _party(tx: Element | None, role: str) -> tuple[str | None, str | None, str | None]:
    parties = find(tx, "RltdPties")
    name = text(parties, f"{role}/Nm", f"{role}/Pty/Nm")
    account = text(parties, f"{role}Acct/Id/IBAN", f"{role}Acct/Id/Othr/Id")
    bic = text(
        find(tx, "RltdAgts"),
        f"{role}Agt/FinInstnId/BICFI",
        f"{role}Agt/FinInstnId/BIC",
    )
    return name, account, bic


def _bank_code(el: Element | None) -> tuple[str | None, str | None]:
    code = find(el, "BkTxCd")
    if code is None:
        return None, None
    parts = [text(code, "Domn/Cd"), text(code, "Domn/Fmly/Cd"), text(code, "Domn/Fmly/SubFmlyCd")]
    domain = "/".join(p for p in parts if p) or None
    return domain, text(code, "Prtry/Cd")


@dataclass
class _Details:
    end_to_end: str | None = None
    instr_id: str | None = None
    bank_ref: str | None = None
    references: list[str] = field(default_factory=list)
    ustrd: list[str] = field(default_factory=list)
    docs: list[Element] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def _details(tx: Element | None) -> _Details:
    d = _Details()
    if tx is None:
        return d
    refs = find(tx, "Refs")
    d.end_to_end = _ref(text(refs, "EndToEndId"))
    d.instr_id = _ref(text(refs, "InstrId"))
    d.bank_ref = text(refs, "AcctSvcrRef")
    rmt = find(tx, "RmtInf")
    cdtr_refs = [e.text.strip() for e in findall(rmt, "Strd/CdtrRefInf/Ref") if e.text]
    doc_nbs = [e.text.strip() for e in findall(rmt, "Strd/RfrdDocInf/Nb") if e.text]
    others = [_ref(text(refs, k)) for k in ("TxId", "MndtId", "UETR", "PmtInfId")]
    ordered = [*cdtr_refs, *doc_nbs, d.end_to_end, d.instr_id, *others, d.bank_ref]
    d.references = list(dict.fromkeys(r for r in ordered if r))
    d.ustrd = [e.text.strip() for e in findall(rmt, "Ustrd") if e.text and e.text.strip()]
    d.docs = findall(rmt, "Strd")
    reason = text(tx, "RtrInf/Rsn/Cd")
    if reason:
        d.extra["return_reason"] = reason
    info = text(tx, "AddtlTxInf")
    if info:
        d.extra["additional_info"] = info
    for key, path in FX_AMOUNTS.items():  # FX: what was instructed / the counter-value
        found = find(tx, path)
        if found is not None and found.text:
            d.extra[key] = f"{found.text.strip()} {found.get('Ccy', '')}".strip()
    rate = text(tx, "AmtDtls/InstdAmt/CcyXchg/XchgRate", "AmtDtls/TxAmt/CcyXchg/XchgRate")
    if rate:
        d.extra["exchange_rate"] = rate
    return d


def map_entry(
    ctx: StatementContext, ntry: Element
) -> tuple[list[BankTransaction], list[Remittance]]:
    line = line_of(ntry)
    amount = _money(ctx, find(ntry, "Amt"), "entry amount")
    if amount is None:
        raise ParseError("entry without an amount", file=ctx.file, line=line, expected="Ntry/Amt")
    sign = _sign(ctx, text(ntry, "CdtDbtInd"), ntry)
    status_code = (text(ntry, "Sts/Cd", "Sts/Prtry", "Sts") or "BOOK").upper()
    status = STATUS.get(status_code)
    if status is None:
        raise ParseError(
            f"entry status {status_code!r}", file=ctx.file, line=line, expected="BOOK/PDNG/INFO"
        )
    booking, booked_at = date_or_datetime(ntry, "BookgDt", file=ctx.file, field="BookgDt")
    value_date, _ = date_or_datetime(ntry, "ValDt", file=ctx.file, field="ValDt")
    reversal = (text(ntry, "RvslInd") or "").lower() in ("true", "1")
    domain, prtry = _bank_code(ntry)
    entry_ref = text(ntry, "AcctSvcrRef")
    ntry_ref = text(ntry, "NtryRef")
    entry_info = text(ntry, "AddtlNtryInf")
    batch_count = text(ntry, "NtryDtls/Btch/NbOfTxs")
    raw = etree.tostring(ntry, encoding="unicode", with_tail=False)
    details = findall(ntry, "NtryDtls/TxDtls")

    split: list[tuple[Element | None, Money]] = []
    tx_amounts = [(tx, _tx_amount(ctx, tx)) for tx in details]
    # one TxDtls is the entry itself: the entry amount is authoritative
    if len(details) > 1 and all(m is not None for _, m in tx_amounts):
        for tx, m in tx_amounts:
            indicator = text(tx, "CdtDbtInd") or text(ntry, "CdtDbtInd")
            if m is not None:
                split.append((tx, m * _sign(ctx, indicator, tx)))
        same_ccy = [m for _, m in split if m.currency == amount.currency]
        if len(same_ccy) == len(split) and sum(same_ccy, Money.zero(amount.currency)) != (
            amount * sign
        ):
            ctx.warnings.append(
                FeedWarning(
                    code="batch_detail_partial",
                    message="TxDtls amounts do not add up to the entry amount; kept per entry",
                    line=line,
                )
            )
            split = []
    if not split:
        split = [(details[0] if len(details) == 1 else None, amount * sign)]
    merged = _merge(details) if len(details) > 1 and split[0][0] is None else None

    transactions: list[BankTransaction] = []
    remittances: list[Remittance] = []
    for index, (detail, signed) in enumerate(split):
        d = merged or _details(detail)
        direction_role = "Dbtr" if signed.amount >= 0 else "Cdtr"
        name, account, bic = _party(detail, direction_role)
        tx_domain, tx_prtry = _bank_code(detail)
        bank_ref = d.bank_ref or entry_ref or ntry_ref
        text_parts = [*d.ustrd, *([entry_info] if entry_info and not d.ustrd else [])]
        key = bank_ref if bank_ref and len(split) == 1 else None
        key = key or entry_key(booking, signed, entry_ref, ntry_ref, d.end_to_end, index)
        extra: dict[str, Any] = dict(d.extra)
        if batch_count:
            extra["batch_count"] = int(batch_count) if batch_count.isdigit() else batch_count
        if prtry or tx_prtry:
            extra["bank_tx_code_prtry"] = tx_prtry or prtry
        if ntry_ref:
            extra["entry_ref"] = ntry_ref
        if len(split) > 1 and (entry_ref or ntry_ref):
            # the id the whole entry has where it comes unsplit (a camt.053 batch entry
            # whose camt.054 gives these TxDtls): reconcile cash reads the split instead
            extra["split_of"] = f"{ctx.account_id}:{entry_ref or ntry_ref}"
        line_no = line_of(detail) if detail is not None else line
        # a batch split per TxDtls keeps that TxDtls as its raw text, else the whole entry
        own = (
            etree.tostring(detail, encoding="unicode", with_tail=False)
            if (detail is not None and len(split) > 1)
            else raw
        )
        prov = Provenance(file=ctx.file, file_sha256=ctx.sha, line=line_no, raw=own)
        txn = BankTransaction(
            source_system="camt",
            source_id=ctx.keys.unique(f"{ctx.account_id}:{key}"),
            account_id=ctx.account_id,
            booking_date=booking,
            value_date=value_date,
            booked_at=booked_at,
            amount=signed,
            status=status,
            reversal=reversal,
            type_code=tx_domain or domain or tx_prtry or prtry,
            bank_reference=bank_ref,
            customer_reference=d.instr_id,
            end_to_end_id=d.end_to_end,
            counterparty_name=name,
            counterparty_account=account,
            counterparty_bic=bic,
            remittance_text=" ".join(text_parts) or None,
            references=tuple(d.references),
            statement_id=ctx.statement_id,
            provenance=prov,
            extra=extra,
        )
        transactions.append(txn)
        remittance = _remittance(ctx, txn, d, name, account)
        if remittance is not None:
            remittances.append(remittance)
    return transactions, remittances


def _merge(details: list[Element]) -> _Details:
    """References of every TxDtls of a batch kept as one entry."""
    merged = _Details()
    for tx in details:
        d = _details(tx)
        merged.references.extend(r for r in d.references if r not in merged.references)
        merged.ustrd.extend(d.ustrd)
    return merged


def _remittance(
    ctx: StatementContext, txn: BankTransaction, d: _Details, payer: str | None, acct: str | None
) -> Remittance | None:
    """Structured remittance (RfrdDocInf / CdtrRefInf) as a canonical Remittance.

    A line needs a paid amount: RfrdDocAmt/RmtdAmt, or the transaction amount when the
    transaction carries exactly one structured block. Otherwise only references remain.
    """
    if not d.docs:
        return None
    lines: list[RemittanceLine] = []
    for strd in d.docs:
        number = text(strd, "RfrdDocInf/Nb")
        cdtr_ref = text(strd, "CdtrRefInf/Ref")
        if not number and not cdtr_ref:
            continue
        paid = _money(ctx, find(strd, "RfrdDocAmt/RmtdAmt"), "RmtdAmt")
        if paid is None and len(d.docs) == 1:
            paid = abs(txn.amount)
        if paid is None:
            return None
        doc_type = text(strd, "RfrdDocInf/Tp/CdOrPrtry/Cd", "RfrdDocInf/Tp/CdOrPrtry/Prtry")
        doc_date = text(strd, "RfrdDocInf/RltdDt")
        lines.append(
            RemittanceLine(
                document_type=DOC_TYPES.get(doc_type or "", doc_type) if number else "CREDITOR_REF",
                document_number=number or cdtr_ref,
                paid=paid,
                gross=_money(ctx, find(strd, "RfrdDocAmt/DuePyblAmt"), "DuePyblAmt"),
                discount=_money(ctx, find(strd, "RfrdDocAmt/DscntApldAmt"), "DscntApldAmt"),
                document_date=date_from_text(doc_date),
                references=(cdtr_ref,) if cdtr_ref and number else (),
                provenance=Provenance(file=ctx.file, file_sha256=ctx.sha, line=line_of(strd)),
            )
        )
    if not lines:
        return None
    return Remittance(
        source_system="camt",
        source_id=txn.source_id,
        trace_number=txn.end_to_end_id or txn.bank_reference,
        payer_name=payer,
        payer_account=acct,
        payment_date=txn.booking_date or txn.value_date,
        total=abs(txn.amount),
        method="camt",
        lines=tuple(lines),
        provenance=txn.provenance,
    )


def date_from_text(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None
