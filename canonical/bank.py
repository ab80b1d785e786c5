"""Bank statements, their transactions, and remittance advice."""

from __future__ import annotations

from datetime import date, datetime

from canonical.base import CurrencyCode, Frozen, Provenance, Record
from canonical.enums import Direction, EntryStatus
from canonical.money import Money


class BankTransaction(Record):
    """One statement entry. ``amount`` is signed: positive credits, negative debits."""

    account_id: str
    booking_date: date | None = None
    value_date: date | None = None
    booked_at: datetime | None = None
    amount: Money
    status: EntryStatus = EntryStatus.BOOKED
    reversal: bool = False
    #: Bank transaction code as sent (BAI2 type code, camt domain/family, MT940 ``NTRF``...).
    type_code: str | None = None
    bank_reference: str | None = None
    customer_reference: str | None = None
    end_to_end_id: str | None = None
    counterparty_name: str | None = None
    counterparty_account: str | None = None
    counterparty_bic: str | None = None
    #: Free remittance text (BAI2 text + 88s, camt Ustrd joined, MT940 :86:).
    remittance_text: str | None = None
    #: Structured references found: creditor references, invoice numbers, trace numbers.
    references: tuple[str, ...] = ()
    statement_id: str | None = None

    @property
    def direction(self) -> Direction:
        return Direction.CREDIT if self.amount.amount >= 0 else Direction.DEBIT


class StatementBalance(Frozen):
    kind: str  # opening_booked, closing_booked, opening_available, closing_available, ...
    amount: Money
    as_of: date | None = None


class BankStatement(Record):
    account_id: str
    currency: CurrencyCode | None = None
    statement_id: str | None = None
    sequence: str | None = None
    period_start: date | None = None
    period_end: date | None = None
    balances: tuple[StatementBalance, ...] = ()
    transactions: tuple[BankTransaction, ...] = ()
    intraday: bool = False

    def balance(self, kind: str) -> Money | None:
        for bal in self.balances:
            if bal.kind == kind:
                return bal.amount
        return None


class RemittanceAdjustment(Frozen):
    reason_code: str | None = None
    amount: Money
    description: str | None = None


class RemittanceLine(Frozen):
    document_type: str | None = None  # IV invoice, CM credit memo, ...
    document_number: str | None = None
    paid: Money
    gross: Money | None = None
    discount: Money | None = None
    adjustments: tuple[RemittanceAdjustment, ...] = ()
    document_date: date | None = None
    references: tuple[str, ...] = ()
    provenance: Provenance | None = None


class Remittance(Record):
    """Remittance advice (820, REMADV, lockbox check, camt structured remittance)."""

    #: Reassociation trace linking remittance to the bank credit (TRN02, check number...).
    trace_number: str | None = None
    payer_name: str | None = None
    payer_id: str | None = None
    payer_account: str | None = None
    payee_name: str | None = None
    payment_date: date | None = None
    total: Money
    method: str | None = None
    lines: tuple[RemittanceLine, ...] = ()
    #: Deductions not tied to an item (820 ADX directly under ENT).
    adjustments: tuple[RemittanceAdjustment, ...] = ()
