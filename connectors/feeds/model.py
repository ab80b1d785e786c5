"""What a feed parser returns, and the contract every parser module follows.

Each parser module in ``connectors.feeds`` exposes::

    FORMAT: str                                  # "bai2", "camt", "x12", ...
    def sniff(head: bytes) -> bool               # content-based detection on the first KBs
    def parse(data: bytes, *, file_name: str, **options) -> FeedResult

and raises only :class:`billbridge.errors.ParseError` on bad input.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from canonical import BankStatement, BankTransaction, Invoice, Remittance


class FeedWarning(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str  # e.g. control_total_mismatch, balance_discontinuity, remittance_not_tied
    message: str
    line: int | None = None
    segment: int | None = None


class Acknowledgement(BaseModel):
    """A 997/999 functional acknowledgement of a group we sent."""

    model_config = ConfigDict(frozen=True)

    group_control_number: str
    functional_id: str | None = None
    accepted: bool
    transaction_statuses: dict[str, str] = Field(default_factory=dict)
    errors: list[str] = Field(default_factory=list)


class FeedResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    format: str
    file_name: str
    file_sha256: str
    encoding: str = "utf-8"
    statements: list[BankStatement] = Field(default_factory=list)
    remittances: list[Remittance] = Field(default_factory=list)
    invoices: list[Invoice] = Field(default_factory=list)
    acknowledgements: list[Acknowledgement] = Field(default_factory=list)
    warnings: list[FeedWarning] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict)

    @property
    def transactions(self) -> list[BankTransaction]:
        return [tx for st in self.statements for tx in st.transactions]
