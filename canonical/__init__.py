"""The canonical billing data model: one shape for every system's records.

Connectors read vendor records, mappings turn them into these models, and sync planning
and reconciliation work only on these. Every model is an immutable pydantic v2 model;
money is :class:`Money` (exact Decimal with an ISO 4217 currency).
"""

from __future__ import annotations

from canonical.bank import (
    BankStatement,
    BankTransaction,
    Remittance,
    RemittanceAdjustment,
    RemittanceLine,
    StatementBalance,
)
from canonical.base import CurrencyCode, Frozen, Provenance, Record
from canonical.contract import Contract, ContractLine, Subscription, SubscriptionCharge
from canonical.currencies import UnknownCurrencyError, minor_units, normalize_currency
from canonical.customer import Address, Contact, Customer, TaxId
from canonical.enums import (
    BillingPeriod,
    ChargeType,
    ContractStatus,
    CustomerStatus,
    Direction,
    EntryStatus,
    InvoiceStatus,
    PaymentStatus,
    SubscriptionStatus,
)
from canonical.intents import (
    FailureType,
    ResultStatus,
    WriteIntent,
    WriteOp,
    WriteResult,
    idempotency_key,
)
from canonical.invoice import CreditMemo, Invoice, InvoiceLine, TaxLine
from canonical.ledger import JournalLine, RevenueScheduleLine
from canonical.money import CurrencyMismatchError, Money, sum_money, to_decimal
from canonical.payment import Payment, PaymentApplication, Refund
from canonical.product import Price, Product

#: Canonical entity name -> model, the vocabulary mapping specs and connectors use.
ENTITIES: dict[str, type[Record]] = {
    "customer": Customer,
    "product": Product,
    "price": Price,
    "contract": Contract,
    "subscription": Subscription,
    "invoice": Invoice,
    "credit_memo": CreditMemo,
    "payment": Payment,
    "refund": Refund,
    "bank_transaction": BankTransaction,
    "bank_statement": BankStatement,
    "remittance": Remittance,
    "journal_line": JournalLine,
    "revenue_schedule_line": RevenueScheduleLine,
}

__all__ = [
    "ENTITIES",
    "Address",
    "BankStatement",
    "BankTransaction",
    "BillingPeriod",
    "ChargeType",
    "Contact",
    "Contract",
    "ContractLine",
    "ContractStatus",
    "CreditMemo",
    "CurrencyCode",
    "CurrencyMismatchError",
    "Customer",
    "CustomerStatus",
    "Direction",
    "EntryStatus",
    "FailureType",
    "Frozen",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "JournalLine",
    "Money",
    "Payment",
    "PaymentApplication",
    "PaymentStatus",
    "Price",
    "Product",
    "Provenance",
    "Record",
    "Refund",
    "Remittance",
    "RemittanceAdjustment",
    "RemittanceLine",
    "ResultStatus",
    "RevenueScheduleLine",
    "StatementBalance",
    "Subscription",
    "SubscriptionCharge",
    "SubscriptionStatus",
    "TaxId",
    "TaxLine",
    "UnknownCurrencyError",
    "WriteIntent",
    "WriteOp",
    "WriteResult",
    "idempotency_key",
    "minor_units",
    "normalize_currency",
    "sum_money",
    "to_decimal",
]
