"""Cash-application payments into Zuora: the payload builder and the write/lookup calls,
against strict ``responses`` mocks of the v1 shapes (``GET /v1/invoices/{number}``,
``POST /v1/payments``, ZOQL on ``Payment``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from canonical import Money, Payment, PaymentApplication, ResultStatus, WriteIntent, WriteOp
from connectors.common import wire
from connectors.zuora import ZuoraConnector, ZuoraSettings
from connectors.zuora.payments import ZuoraInvoice, comment, invoice_problem, payment_body

BASE = "https://rest.apisandbox.zuora.com"
ACCOUNT_ID = "8ad0a1b2c3d4e5f60001"


def payment(line: str = "B02", amount: str = "300.00", **apps: str) -> Payment:
    apps = apps or {"INV-1002": "250.00", "INV-1003": "40.00"}
    return Payment(
        source_system="bank",
        source_id=line,
        number=line,
        customer_id="A-C1",
        received_date=date(2024, 3, 15),
        currency="USD",
        amount=Money(amount, "USD"),
        method="WireTransfer",
        reference="Invoices 1002 and 1003",
        applications=tuple(
            PaymentApplication(invoice_number=n, amount=Money(a, "USD")) for n, a in apps.items()
        ),
        extra={"memo": f"billbridge cash {line}: reference 0.99; 10.00 USD unapplied"},
    )


def intent(p: Payment) -> WriteIntent:
    return WriteIntent.build(
        target_system="zuora",
        entity="payment",
        op=WriteOp.UPSERT,
        external_id=f"cash-{p.source_id}",
        payload=p.model_dump(mode="json"),
        source_system="bank",
        source_id=p.source_id,
        source_version="v1",
        mapping_version="cash-1",
    )


def invoice(number: str, balance: str, status: str = "Posted", ccy: str = "USD") -> dict[str, Any]:
    return {
        "success": True,
        "id": f"id-{number}",
        "invoiceNumber": number,
        "accountId": ACCOUNT_ID,
        "accountNumber": "A-C1",
        "amount": Decimal("500.00"),
        "balance": Decimal(balance),
        "currency": ccy,
        "status": status,
    }


# -- pure builder -------------------------------------------------------------------------
def test_payment_body_references_invoices_by_id_with_exact_amounts() -> None:
    p = payment()
    invoices = {
        n: ZuoraInvoice.from_api(invoice(n, "250.00" if n == "INV-1002" else "40.00"))
        for n in ("INV-1002", "INV-1003")
    }
    assert invoice_problem(p, invoices) is None
    body = payment_body(p, invoices, reference_id="cash-B02")
    assert body == {
        "accountId": ACCOUNT_ID,
        "amount": Decimal("300.00"),
        "currency": "USD",
        "effectiveDate": "2024-03-15",
        "type": "External",
        "paymentMethodType": "WireTransfer",
        "referenceId": "cash-B02",
        "comment": "billbridge cash B02: reference 0.99; 10.00 USD unapplied",
        "invoices": [
            {"invoiceId": "id-INV-1002", "amount": Decimal("250.00")},
            {"invoiceId": "id-INV-1003", "amount": Decimal("40.00")},
        ],
    }


def test_invoice_problems_name_the_invoice() -> None:
    p = payment()

    def check(**inv: dict[str, Any]) -> str | None:
        return invoice_problem(p, {n: ZuoraInvoice.from_api(b) for n, b in inv.items()})

    ok = invoice("INV-1003", "40.00")
    assert check(**{"INV-1003": ok}) == "invoice INV-1002 does not exist in Zuora"
    paid = invoice("INV-1002", "0")
    assert "INV-1002 is paid (balance 0)" in str(check(**{"INV-1002": paid, "INV-1003": ok}))
    short = invoice("INV-1002", "200.00")
    assert "INV-1002 has 200.00 USD open; the payment would apply 250.00" in str(
        check(**{"INV-1002": short, "INV-1003": ok})
    )
    cancelled = invoice("INV-1002", "250.00", status="Canceled")
    assert "Canceled, no longer open" in str(check(**{"INV-1002": cancelled, "INV-1003": ok}))
    eur = invoice("INV-1002", "250.00", ccy="EUR")
    assert "in EUR, the payment in USD" in str(check(**{"INV-1002": eur, "INV-1003": ok}))
    other = invoice("INV-1003", "40.00") | {"accountId": "someone-else"}
    both = {"INV-1002": invoice("INV-1002", "250.00"), "INV-1003": other}
    assert "several Zuora accounts" in str(check(**both))


def test_comment_is_cut_to_zuoras_limit() -> None:
    long = payment().model_copy(update={"extra": {"memo": "x" * 300}})
    assert len(comment(long)) == 255 and comment(long).endswith("…")


# -- calls --------------------------------------------------------------------------------
@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(
            f"{BASE}/oauth/token",
            json={"access_token": "tok-1", "token_type": "bearer", "expires_in": 3600},
        )
        yield mock


@pytest.fixture
def zuora() -> ZuoraConnector:
    settings = ZuoraSettings(
        tenant="us_api_sandbox", client_id="cid-1", client_secret="s3cr3t-value", max_attempts=1
    )
    return ZuoraConnector(
        settings, sleep=lambda s: None, now=lambda: datetime(2024, 3, 16, tzinfo=UTC)
    )


def get_invoice(rsps: responses.RequestsMock, number: str, balance: str, **kw: Any) -> None:
    body = wire.dumps(invoice(number, balance, **kw))  # amounts as exact JSON numbers
    rsps.get(f"{BASE}/v1/invoices/{number}", body=body, content_type="application/json")


def zoql(rsps: responses.RequestsMock, ref: str, rows: list[dict[str, Any]]) -> None:
    query = f"select Id, PaymentNumber, Status from Payment where ReferenceId = '{ref}'"
    rsps.post(
        f"{BASE}/v1/action/query",
        json={"records": rows, "size": len(rows), "done": True},
        match=[matchers.json_params_matcher({"queryString": query})],
    )


def test_write_posts_one_external_payment_with_the_intent_key(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    i = intent(payment())
    get_invoice(rsps, "INV-1002", "250.00")
    get_invoice(rsps, "INV-1003", "60.00")
    post = rsps.post(
        f"{BASE}/v1/payments",
        json={"success": True, "id": "pay-1", "number": "P-00000001", "status": "Processed"},
        match=[matchers.header_matcher({"Idempotency-Key": i.idempotency_key})],
    )
    [result] = zuora.write([i])
    assert result.status == ResultStatus.APPLIED and result.target_id == "P-00000001"
    raw = post.calls[0].request.body
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    assert '"amount": 300.00' in text and '"amount": 250.00' in text  # exact, never floats
    sent = json.loads(text, parse_float=Decimal)
    assert sent["invoices"] == [
        {"invoiceId": "id-INV-1002", "amount": Decimal("250.00")},
        {"invoiceId": "id-INV-1003", "amount": Decimal("40.00")},
    ]
    assert sent["accountId"] == ACCOUNT_ID and sent["referenceId"] == "cash-B02"


def test_an_invoice_no_longer_open_rejects_that_payment_only(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    closed = intent(payment("B01", "100.00", **{"INV-1001": "100.00"}))
    good = intent(payment("B06", "42.00", **{"INV-4001": "42.00"}))
    get_invoice(rsps, "INV-1001", "0")
    zoql(rsps, "cash-B01", [])  # not paid by us earlier: a real rejection
    get_invoice(rsps, "INV-4001", "42.00")
    rsps.post(f"{BASE}/v1/payments", json={"success": True, "id": "p2", "number": "P-2"})
    results = zuora.write([closed, good])
    assert [r.status for r in results] == [ResultStatus.REJECTED, ResultStatus.APPLIED]
    assert results[0].error_code == "BB_INVOICE_NOT_OPEN"
    assert "invoice INV-1001 is paid (balance 0)" in (results[0].message or "")


def test_an_invoice_closed_by_our_own_earlier_payment_is_already_applied(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    i = intent(payment("B01", "100.00", **{"INV-1001": "100.00"}))
    get_invoice(rsps, "INV-1001", "0")
    zoql(rsps, "cash-B01", [{"Id": "p1", "PaymentNumber": "P-1", "Status": "Processed"}])
    [result] = zuora.write([i])
    assert result.status == ResultStatus.ALREADY_APPLIED and result.target_id == "P-1"


def test_unknown_invoice_and_vendor_refusal_are_per_record(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    missing = intent(payment("B09", "7.00", **{"INV-9": "7.00"}))
    refused = intent(payment("B06", "42.00", **{"INV-4001": "42.00"}))
    rsps.get(
        f"{BASE}/v1/invoices/INV-9",
        json={"success": False, "reasons": [{"code": 50000040, "message": "not found"}]},
    )
    zoql(rsps, "cash-B09", [])
    get_invoice(rsps, "INV-4001", "42.00")
    rsps.post(
        f"{BASE}/v1/payments",
        json={"success": False, "reasons": [{"code": 53100020, "message": "closed period"}]},
    )
    results = zuora.write([missing, refused])
    assert [r.status for r in results] == [ResultStatus.REJECTED, ResultStatus.REJECTED]
    assert "INV-9 does not exist in Zuora" in (results[0].message or "")
    assert results[1].error_code == "53100020" and "closed period" in (results[1].message or "")


def test_a_timed_out_post_is_looked_up_before_the_key_is_replayed(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    i = intent(payment("B06", "42.00", **{"INV-4001": "42.00"}))
    get_invoice(rsps, "INV-4001", "42.00")
    key = matchers.header_matcher({"Idempotency-Key": i.idempotency_key})
    rsps.post(f"{BASE}/v1/payments", body=requests.ReadTimeout(), match=[key])
    zoql(rsps, "cash-B06", [])  # not there: the same key goes again
    rsps.post(f"{BASE}/v1/payments", json={"success": True, "number": "P-7"}, match=[key])
    [result] = zuora.write([i])
    assert result.status == ResultStatus.APPLIED and result.target_id == "P-7"


def test_a_timed_out_post_found_by_reference_is_not_resent(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    i = intent(payment("B06", "42.00", **{"INV-4001": "42.00"}))
    get_invoice(rsps, "INV-4001", "42.00")
    rsps.post(f"{BASE}/v1/payments", body=requests.ReadTimeout())
    zoql(rsps, "cash-B06", [{"Id": "p9", "PaymentNumber": "P-9", "Status": "Processed"}])
    [result] = zuora.write([i])
    assert result.status == ResultStatus.ALREADY_APPLIED and result.target_id == "P-9"
    assert len([c for c in rsps.calls if c.request.url.endswith("/v1/payments")]) == 1


def test_find_applied_answers_read_before_retry_by_reference(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    there, gone = intent(payment("B01")), intent(payment("B02"))
    zoql(rsps, "cash-B01", [{"Id": "p1", "PaymentNumber": "P-1", "Status": "Processed"}])
    zoql(rsps, "cash-B02", [])
    assert zuora.find_applied([there, gone]) == {there.idempotency_key: "P-1"}


def test_a_payment_netting_a_credit_memo_is_rejected_whole_before_any_call(
    zuora: ZuoraConnector,
) -> None:
    netted = intent(payment("B09", "800.00", **{"INV-1001": "1000.00", "CM-7": "-200.00"}))
    with responses.RequestsMock(assert_all_requests_are_fired=True):  # no call may be made
        [result] = zuora.write([netted])
    assert result.status == ResultStatus.REJECTED
    assert result.error_code == "BB_CREDIT_MEMO_NETTED"
    assert "credit memo(s) CM-7" in (result.message or "")


def test_a_post_answered_503_whose_lookup_fails_stays_unknown(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    """A 5xx after the request left: the payment may exist. A failing lookup settles
    nothing, so the intent stays unknown (read again before any resend), never retryable."""
    i = intent(payment("B06", "42.00", **{"INV-4001": "42.00"}))
    get_invoice(rsps, "INV-4001", "42.00")
    post = rsps.post(f"{BASE}/v1/payments", status=503, json={"message": "Service Unavailable"})
    rsps.post(f"{BASE}/v1/action/query", status=503, json={"message": "Service Unavailable"})
    [result] = zuora.write([i])
    assert result.status == ResultStatus.UNKNOWN
    assert len(post.calls) == 1
