"""Writes cash-application payments to NetSuite (REST): resolve, check, upsert.

One SuiteQL query resolves the payment's invoice numbers to internal ids (with customer,
currency, status and amount remaining); an invoice that is gone, closed or would be
over-applied rejects that record only. The ``customerPayment`` is then upserted by our
external id, which is naturally idempotent: a resend after a lost answer updates the same
payment with the same lines. When the checks fail because our own payment already closed
the invoice (an earlier attempt whose answer was lost), the payment is found by external
id and reported ``already_applied``.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import structlog
from pydantic import ValidationError

from billbridge.errors import BillbridgeError, FatalError, RecordRejected, RetryableError
from canonical import FailureType, Payment, ResultStatus, WriteIntent, WriteResult
from connectors.netsuite import payment_payloads as pp
from connectors.netsuite.errors import OutcomeUnknown
from connectors.netsuite.rest import RestTransport

log = structlog.get_logger(__name__)
RECORD_TYPE = "customerPayment"


def _rejected(intent: WriteIntent, code: str, message: str) -> WriteResult:
    return WriteResult(
        idempotency_key=intent.idempotency_key,
        status=ResultStatus.REJECTED,
        error_code=code,
        message=message,
        failure_type=FailureType.DATA,
    )


def _failed(intent: WriteIntent, exc: BillbridgeError) -> WriteResult:
    if isinstance(exc, OutcomeUnknown):
        status = ResultStatus.UNKNOWN
    elif isinstance(exc, RetryableError):
        status = ResultStatus.RETRYABLE
    else:
        status = ResultStatus.REJECTED
    return WriteResult(
        idempotency_key=intent.idempotency_key,
        status=status,
        error_code=getattr(exc, "code", None),
        message=str(exc),
        failure_type=exc.failure_type,
        retry_after=getattr(exc, "retry_after", None),
    )


class NetSuitePaymentWriter:
    def __init__(self, rest: RestTransport, *, page_size: int = 1000) -> None:
        self.rest = rest
        self.page_size = page_size

    def write(self, intent: WriteIntent) -> WriteResult:
        try:
            payment = Payment.model_validate(intent.payload)
        except ValidationError as exc:
            return _rejected(intent, "INVALID_PAYLOAD", f"not a canonical payment: {exc}")
        try:
            paid, netted = pp.split(payment)
            invoices = self.invoices(paid)
            credits = self.invoices(netted, pp.CREDIT_MEMO) if netted else {}
            problem = pp.invoice_problem(payment, invoices, credits)
            if problem is not None:
                existing = self.rest.find_by_external_id(RECORD_TYPE, intent.external_id)
                if existing is not None:
                    return WriteResult(
                        idempotency_key=intent.idempotency_key,
                        status=ResultStatus.ALREADY_APPLIED,
                        target_id=str(existing.get("id")),
                        message="found by external id; its invoices are already settled",
                    )
                return _rejected(intent, "BB_INVOICE_NOT_OPEN", problem)
            body = pp.customer_payment(
                payment, invoices, external_id=intent.external_id, credits=credits
            )
            target_id = self.rest.upsert(RECORD_TYPE, intent.external_id, body)
        except ValueError as exc:
            return _rejected(intent, "INVALID_PAYLOAD", str(exc))
        except FatalError:
            raise
        except (RecordRejected, RetryableError, OutcomeUnknown) as exc:
            return _failed(intent, exc)
        log.info(
            "netsuite.payment", external_id=intent.external_id, applied=len(body["apply"]["items"])
        )
        return WriteResult(
            idempotency_key=intent.idempotency_key,
            status=ResultStatus.APPLIED,
            target_id=target_id,
        )

    def invoices(
        self, numbers: Iterable[str], type_code: str = pp.INVOICE
    ) -> dict[str, pp.NetSuiteInvoice]:
        """Open-item facts of the invoices (or credit memos) with these tranIds (absent when
        unknown)."""
        wanted = sorted(set(numbers))
        found: dict[str, pp.NetSuiteInvoice] = {}
        if not wanted:
            return found
        query = pp.invoice_query(wanted, type_code)
        offset = 0
        while True:
            resp = self.rest.request(
                "POST",
                "query/v1/suiteql",
                params={"limit": self.page_size, "offset": offset},
                json={"q": query},
                headers={"Prefer": "transient"},
            )
            page = resp.json(parse_float=Decimal)
            for row in page.get("items") or []:
                inv = pp.NetSuiteInvoice.from_row(row, type_code)
                if inv.tran_id in found:
                    # two documents share a number: applying to either would be a guess
                    raise RecordRejected(
                        f"number {inv.tran_id} is on several NetSuite {inv.label.split()[0]}s"
                        if type_code == pp.INVOICE
                        else f"number {inv.tran_id} is on several NetSuite credit memos",
                        code="BB_AMBIGUOUS_INVOICE",
                    )
                found[inv.tran_id] = inv
            if not page.get("hasMore"):
                return found
            offset += self.page_size
