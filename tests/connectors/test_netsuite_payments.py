"""Cash-application payments into NetSuite: the ``customerPayment`` body and the
resolve/upsert calls against strict ``responses`` mocks (SuiteQL, record API)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from canonical import Money, Payment, PaymentApplication, ResultStatus, WriteIntent, WriteOp
from connectors.netsuite import connect
from connectors.netsuite.payment_payloads import (
    NetSuiteInvoice,
    customer_payment,
    invoice_problem,
    invoice_query,
    sql_text,
)
from tests.connectors.netsuite_fixtures.helpers import (
    BASE,
    SUITEQL,
    TOKEN_URL,
    NoSleep,
    _fresh_netsuite_state,  # noqa: F401 - autouse fixture
    m2m_settings,
    tba_settings,
    token_response,
)

PAYMENT = BASE + "record/v1/customerPayment/"


def payment(line: str = "B02", amount: str = "300.00", **apps: str) -> Payment:
    apps = apps or {"INV-1002": "250.00", "INV-1003": "40.00"}
    return Payment(
        source_system="bank",
        source_id=line,
        number=line,
        customer_id="C1",
        received_date=date(2024, 3, 15),
        currency="USD",
        amount=Money(amount, "USD"),
        applications=tuple(
            PaymentApplication(invoice_number=n, amount=Money(a, "USD")) for n, a in apps.items()
        ),
        extra={
            "memo": f"billbridge cash {line}: reference 0.99; deduction 10.00 USD on INV-1003",
            "target": {"deposit_account": "118"},
        },
    )


def intent(p: Payment) -> WriteIntent:
    return WriteIntent.build(
        target_system="netsuite",
        entity="payment",
        op=WriteOp.UPSERT,
        external_id=f"cash-{p.source_id}",
        payload=p.model_dump(mode="json"),
        source_system="bank",
        source_id=p.source_id,
        source_version="v1",
        mapping_version="cash-1",
    )


def row(tranid: str, remaining: str, *, internal: str, status: str = "A") -> dict[str, Any]:
    return {
        "links": [],
        "id": internal,
        "tranid": tranid,
        "entity": "77",
        "currencyid": "1",
        "currency": "USD",
        "status": status,
        "amountremaining": remaining,
    }


def invoices_found(rsps: responses.RequestsMock, numbers: list[str], rows: list[Any]) -> None:
    rsps.post(
        SUITEQL,
        json={"links": [], "count": len(rows), "hasMore": False, "items": rows, "offset": 0},
        match=[
            matchers.json_params_matcher({"q": invoice_query(numbers)}),
            matchers.header_matcher({"Prefer": "transient"}),
        ],
    )


# -- pure builder -------------------------------------------------------------------------
def test_customer_payment_body_applies_by_internal_id() -> None:
    invs = {
        "INV-1002": NetSuiteInvoice.from_row(row("INV-1002", "250.00", internal="501")),
        "INV-1003": NetSuiteInvoice.from_row(row("INV-1003", "50.00", internal="502")),
    }
    p = payment()
    assert invoice_problem(p, invs) is None
    assert customer_payment(p, invs, external_id="cash-B02") == {
        "externalId": "cash-B02",
        "customer": {"id": "77"},
        "tranDate": "2024-03-15",
        "payment": "300.00",
        "memo": "billbridge cash B02: reference 0.99; deduction 10.00 USD on INV-1003",
        "apply": {
            "items": [
                {"doc": {"id": "501"}, "apply": True, "amount": "250.00"},
                {"doc": {"id": "502"}, "apply": True, "amount": "40.00"},
            ]
        },
        "currency": {"id": "1"},
        "account": {"id": "118"},
    }


def test_invoice_query_quotes_numbers_and_problems_name_the_invoice() -> None:
    assert sql_text("O'Brien/7") == "'O''Brien/7'"
    with pytest.raises(ValueError, match="control characters"):
        sql_text("INV\n1")
    q = invoice_query(["INV-2", "INV-1", "INV-2"])
    assert q.endswith("WHERE t.type = 'CustInvc' AND t.tranid IN ('INV-1', 'INV-2')")
    p = payment("B01", "100.00", **{"INV-1": "100.00"})
    paid = {"INV-1": NetSuiteInvoice.from_row(row("INV-1", "0", internal="9", status="B"))}
    assert invoice_problem(p, paid) == "invoice INV-1 is not open (status B)"
    short = {"INV-1": NetSuiteInvoice.from_row(row("INV-1", "60.00", internal="9"))}
    assert "INV-1 has 60.00 USD remaining; the payment would apply 100.00" in str(
        invoice_problem(p, short)
    )
    assert invoice_problem(p, {}) == "invoice INV-1 does not exist in NetSuite"


# -- calls --------------------------------------------------------------------------------
def test_write_resolves_tranids_then_upserts_by_external_id() -> None:
    conn = connect(m2m_settings(), sleep=NoSleep())
    i = intent(payment())
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        invoices_found(
            rsps,
            ["INV-1002", "INV-1003"],
            [row("INV-1002", "250.00", internal="501"), row("INV-1003", "50.00", internal="502")],
        )
        put = rsps.put(
            PAYMENT + "eid:cash-B02",
            status=204,
            headers={"Location": PAYMENT + "9001"},
            match=[matchers.header_matcher({"X-NetSuite-PropertyNameValidation": "error"})],
        )
        [result] = conn.write([i])
        sent = json.loads(put.calls[0].request.body)
    assert result.status == ResultStatus.APPLIED and result.target_id == "9001"
    assert sent["customer"] == {"id": "77"} and sent["payment"] == "300.00"
    assert [it["doc"]["id"] for it in sent["apply"]["items"]] == ["501", "502"]


def test_a_closed_invoice_rejects_that_payment_and_the_batch_goes_on() -> None:
    conn = connect(m2m_settings(), sleep=NoSleep())
    closed = intent(payment("B01", "100.00", **{"INV-1001": "100.00"}))
    good = intent(payment("B06", "42.00", **{"INV-4001": "42.00"}))
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        invoices_found(rsps, ["INV-1001"], [row("INV-1001", "0", internal="11", status="B")])
        rsps.get(  # was it paid by our own payment earlier? no
            PAYMENT + "eid:cash-B01",
            status=404,
            json={"o:errorDetails": [{"detail": "nope", "o:errorCode": "NONEXISTENT_ID"}]},
        )
        invoices_found(rsps, ["INV-4001"], [row("INV-4001", "42.00", internal="41")])
        rsps.put(PAYMENT + "eid:cash-B06", status=204, headers={"Location": PAYMENT + "77"})
        results = conn.write([closed, good])
    assert [r.status for r in results] == [ResultStatus.REJECTED, ResultStatus.APPLIED]
    assert results[0].error_code == "BB_INVOICE_NOT_OPEN"
    assert "INV-1001 is not open" in (results[0].message or "")


def test_an_invoice_settled_by_our_own_payment_is_already_applied() -> None:
    conn = connect(m2m_settings(), sleep=NoSleep())
    i = intent(payment("B01", "100.00", **{"INV-1001": "100.00"}))
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        invoices_found(rsps, ["INV-1001"], [row("INV-1001", "0", internal="11", status="B")])
        rsps.get(
            PAYMENT + "eid:cash-B01",
            json={"id": "9001", "externalId": "cash-B01"},
            match=[matchers.query_param_matcher({"expandSubResources": "true"})],
        )
        [result] = conn.write([i])
    assert result.status == ResultStatus.ALREADY_APPLIED and result.target_id == "9001"


def test_netsuite_refusal_and_lost_answers_are_per_record() -> None:
    conn = connect(m2m_settings(), sleep=NoSleep())
    refused = intent(payment("B06", "42.00", **{"INV-4001": "42.00"}))
    lost = intent(payment("B07", "1099.00", **{"INV-5001": "999.00"}))
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        invoices_found(rsps, ["INV-4001"], [row("INV-4001", "42.00", internal="41")])
        rsps.put(
            PAYMENT + "eid:cash-B06",
            status=400,
            json={
                "o:errorDetails": [
                    {"detail": "Period closed.", "o:errorCode": "USER_ERROR", "o:errorPath": "x"}
                ]
            },
        )
        invoices_found(rsps, ["INV-5001"], [row("INV-5001", "999.00", internal="51")])
        rsps.put(PAYMENT + "eid:cash-B07", body=requests.ReadTimeout())
        results = conn.write([refused, lost])
    assert [r.status for r in results] == [ResultStatus.REJECTED, ResultStatus.UNKNOWN]
    assert results[0].error_code == "USER_ERROR"


def test_payments_need_the_rest_transport() -> None:
    from connectors.netsuite.writing import SoapWriter

    writer = SoapWriter(tba_settings(transport="soap"), soap=None, source_of=lambda e: None)  # type: ignore[arg-type]
    [result] = writer.write([intent(payment())])
    assert result.status == ResultStatus.REJECTED and result.error_code == "UNSUPPORTED_OPERATION"


def test_amounts_read_from_suiteql_stay_exact() -> None:
    inv = NetSuiteInvoice.from_row(row("INV-1", "0.10", internal="1"))
    assert inv.remaining == Decimal("0.10")
