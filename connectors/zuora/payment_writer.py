"""Writes cash-application payments to Zuora, one intent at a time.

Per intent: read its invoices (``GET /v1/invoices/{number}``), refuse the intent when one
is no longer open or would be over-applied (that record is rejected, the batch goes on),
then ``POST /v1/payments`` with the intent's ``Idempotency-Key``. Our external id is the
payment's ``referenceId``: a call that got no answer is settled by finding the payment by
it (ZOQL) before the same key is replayed, and so is any resend the runner asks about
(``find``).
"""

from __future__ import annotations

from typing import Any

import structlog
from pydantic import ValidationError

from billbridge.errors import BillbridgeError, RecordRejected, RetryableError
from canonical import FailureType, Payment, ResultStatus, WriteIntent, WriteResult
from connectors.zuora import payments
from connectors.zuora.client import ZuoraClient
from connectors.zuora.errors import IdempotencyKeyReused, OutcomeUnknown, ZuoraRejected

log = structlog.get_logger(__name__)


def _result(
    intent: WriteIntent,
    status: ResultStatus,
    *,
    target_id: str | None = None,
    code: str | None = None,
    message: str | None = None,
    failure: FailureType | None = None,
    retry_after: float | None = None,
) -> WriteResult:
    return WriteResult(
        idempotency_key=intent.idempotency_key,
        status=status,
        target_id=target_id,
        error_code=code,
        message=message,
        failure_type=failure,
        retry_after=retry_after,
    )


def _rejected(intent: WriteIntent, code: str, message: str) -> WriteResult:
    return _result(
        intent, ResultStatus.REJECTED, code=code, message=message, failure=FailureType.DATA
    )


class ZuoraPaymentWriter:
    def __init__(self, client: ZuoraClient) -> None:
        self.client = client

    def write(self, intent: WriteIntent) -> WriteResult:
        try:
            payment = Payment.model_validate(intent.payload)
        except ValidationError as exc:
            return _rejected(intent, "BB_INVALID_PAYLOAD", f"not a canonical payment: {exc}")
        netted = [a.invoice_number for a in payment.applications if a.amount.amount < 0]
        if netted:
            # Zuora applies a credit memo by a call of its own: with the payment that is two
            # writes that can half-succeed, so the whole payment goes to a person instead
            return _rejected(
                intent,
                "BB_CREDIT_MEMO_NETTED",
                f"the payment nets credit memo(s) {', '.join(netted)}: apply them in Zuora "
                "(credit memo > Apply to invoice), then rerun cash application",
            )
        try:
            invoices = self._invoices(payment)
            problem = payments.invoice_problem(payment, invoices)
            if problem is not None:
                # Applied already (an earlier attempt whose answer was lost)? Then the
                # invoice is closed by our own payment: that is success, not a rejection.
                number = self.find(intent)
                if number is not None:
                    return _result(intent, ResultStatus.ALREADY_APPLIED, target_id=number)
                return _rejected(intent, "BB_INVOICE_NOT_OPEN", problem)
            body = payments.payment_body(payment, invoices, reference_id=intent.external_id)
        except ValueError as exc:
            return _rejected(intent, "BB_INVALID_PAYLOAD", str(exc))
        except RecordRejected as exc:
            return _rejected(intent, exc.code or "BB_REJECTED", str(exc))
        except RetryableError as exc:
            return self._transient(intent, exc)
        return self._post(intent, body)

    def _invoices(self, payment: Payment) -> dict[str, payments.ZuoraInvoice]:
        found: dict[str, payments.ZuoraInvoice] = {}
        for app in payment.applications:
            if app.invoice_number in found:
                continue
            try:
                body = self.client.get(f"/v1/invoices/{app.invoice_number}")
            except ZuoraRejected as exc:
                if exc.not_found:
                    continue  # reported by invoice_problem, with the number
                raise
            found[app.invoice_number] = payments.ZuoraInvoice.from_api(body)
        return found

    def _post(self, intent: WriteIntent, body: dict[str, Any]) -> WriteResult:
        key = intent.idempotency_key
        try:
            try:
                resp = self.client.request("POST", "/v1/payments", json=body, idempotency_key=key)
            except OutcomeUnknown as unknown:
                # Until the lookup says otherwise the outcome stays unknown: a lookup that
                # fails, or a replay answered 429, settles nothing (retryable would resend
                # without reading).
                try:
                    number = self.find(intent)
                except BillbridgeError as lookup:
                    raise OutcomeUnknown(
                        f"{unknown}; the lookup failed too ({lookup.__class__.__name__})"
                    ) from None
                if number is not None:
                    log.warning("zuora.payment_timeout_applied", key=key[:12])
                    return _result(intent, ResultStatus.ALREADY_APPLIED, target_id=number)
                log.warning("zuora.payment_timeout_resend", key=key[:12])
                # Not there: replay the same key (Zuora keeps it 24 h; after that the
                # lookup above is what keeps the payment single).
                try:
                    resp = self.client.request(
                        "POST", "/v1/payments", json=body, idempotency_key=key
                    )
                except RetryableError:
                    raise unknown from None
        except OutcomeUnknown as exc:
            return _result(
                intent, ResultStatus.UNKNOWN, message=str(exc), failure=FailureType.TRANSIENT
            )
        except RetryableError as exc:
            return self._transient(intent, exc)
        except IdempotencyKeyReused as exc:
            return _result(
                intent,
                ResultStatus.REJECTED,
                code="BB_KEY_REUSED",
                message=str(exc),
                failure=exc.failure_type,
            )
        except RecordRejected as exc:
            return _rejected(intent, exc.code or "BB_REJECTED", str(exc))
        number = str(resp.get("number") or resp.get("id") or "")
        log.info("zuora.payment", number=number, invoices=len(body.get("invoices", [])))
        return _result(intent, ResultStatus.APPLIED, target_id=number or None)

    @staticmethod
    def _transient(intent: WriteIntent, exc: BillbridgeError) -> WriteResult:
        return _result(
            intent,
            ResultStatus.RETRYABLE,
            message=str(exc),
            failure=FailureType.TRANSIENT,
            retry_after=getattr(exc, "retry_after", None),
        )

    def find(self, intent: WriteIntent) -> str | None:
        """Payment number of our payment for ``intent`` (by reference id), if Zuora has it."""
        rows = list(self.client.zoql(payments.find_query(intent.external_id)))
        if not rows:
            return None
        return str(rows[0].get("PaymentNumber") or rows[0].get("Id"))
