"""A payment that nets a credit memo (paid 800 for a 1,000 invoice and a 200 credit memo)
is one NetSuite ``customerPayment``: the invoice in ``apply``, the credit memo in ``credit``.
Credit memos are resolved by their own query, since NetSuite numbers each type apart."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import responses
from responses import matchers

from billbridge.testing.fake_netsuite import FakeNetSuite
from canonical import Money, Payment, PaymentApplication, ResultStatus, WriteIntent, WriteOp
from connectors.netsuite import connect
from connectors.netsuite.payment_payloads import (
    CREDIT_MEMO,
    NetSuiteInvoice,
    customer_payment,
    invoice_problem,
    invoice_query,
)
from tests.connectors.netsuite_fixtures.helpers import (
    BASE,
    SUITEQL,
    TOKEN_URL,
    NoSleep,
    _fresh_netsuite_state,  # noqa: F401 - autouse fixture
    m2m_settings,
    token_response,
)


def netted(line: str = "B09", paid: str = "800.00", **apps: str) -> Payment:
    apps = apps or {"1001": "1000.00", "CM-7": "-200.00"}
    return Payment(
        source_system="bank",
        source_id=line,
        number=line,
        customer_id="C1",
        received_date=date(2024, 3, 15),
        currency="USD",
        amount=Money(paid, "USD"),
        applications=tuple(
            PaymentApplication(invoice_number=n, amount=Money(a, "USD")) for n, a in apps.items()
        ),
        extra={"memo": f"billbridge cash {line}: reference_credit 0.99"},
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


def row(tranid: str, remaining: str, internal: str, status: str = "A") -> dict[str, Any]:
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


def test_the_body_applies_the_invoice_and_uses_the_credit_memo() -> None:
    invoices = {"1001": NetSuiteInvoice.from_row(row("1001", "1000.00", "501"))}
    # the transaction table keeps a credit memo's amounts negative: its credit left is 200
    credits = {"CM-7": NetSuiteInvoice.from_row(row("CM-7", "-200.00", "601"), CREDIT_MEMO)}
    p = netted()
    assert invoice_problem(p, invoices, credits) is None
    body = customer_payment(p, invoices, external_id="cash-B09", credits=credits)
    assert body["payment"] == "800.00"
    assert body["apply"] == {"items": [{"doc": {"id": "501"}, "apply": True, "amount": "1000.00"}]}
    assert body["credit"] == {"items": [{"doc": {"id": "601"}, "apply": True, "amount": "200.00"}]}


def test_problems_name_the_credit_memo() -> None:
    invoices = {"1001": NetSuiteInvoice.from_row(row("1001", "1000.00", "501"))}
    used = {"CM-7": NetSuiteInvoice.from_row(row("CM-7", "0", "601", "B"), CREDIT_MEMO)}
    small = {"CM-7": NetSuiteInvoice.from_row(row("CM-7", "-150.00", "601"), CREDIT_MEMO)}
    p = netted()
    assert invoice_problem(p, invoices, {}) == "credit memo CM-7 does not exist in NetSuite"
    assert invoice_problem(p, invoices, used) == "credit memo CM-7 is not open (status B)"
    assert invoice_problem(p, invoices, small) == (
        "credit memo CM-7 has 150.00 USD remaining; the payment would apply 200.00"
    )
    enough = {"CM-7": NetSuiteInvoice.from_row(row("CM-7", "-200.00", "601"), CREDIT_MEMO)}
    only_credit = netted("B10", "0.01", **{"CM-7": "-200.00"})
    assert "nets credit memos but pays no invoice" in str(invoice_problem(only_credit, {}, enough))


def test_write_resolves_invoices_and_credit_memos_by_their_own_queries() -> None:
    conn = connect(m2m_settings(), sleep=NoSleep())
    page = {"links": [], "hasMore": False, "offset": 0}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        rsps.post(
            SUITEQL,
            json={**page, "count": 1, "items": [row("1001", "1000.00", "501")]},
            match=[matchers.json_params_matcher({"q": invoice_query(["1001"])})],
        )
        rsps.post(
            SUITEQL,
            json={**page, "count": 1, "items": [row("CM-7", "-200.00", "601")]},
            match=[matchers.json_params_matcher({"q": invoice_query(["CM-7"], CREDIT_MEMO)})],
        )
        put = rsps.put(
            BASE + "record/v1/customerPayment/eid:cash-B09",
            status=204,
            headers={"Location": BASE + "record/v1/customerPayment/9009"},
        )
        [result] = conn.write([intent(netted())])
        sent = json.loads(put.calls[0].request.body)
    assert result.status == ResultStatus.APPLIED
    assert sent["credit"]["items"] == [{"doc": {"id": "601"}, "apply": True, "amount": "200.00"}]
    assert invoice_query(["CM-7"], CREDIT_MEMO).endswith(
        "WHERE t.type = 'CustCred' AND t.tranid IN ('CM-7')"
    )


def test_against_the_fake_the_invoice_and_credit_settle_once_even_when_numbers_collide() -> None:
    fake = FakeNetSuite(require_auth=False).start()
    common = {"entity": {"id": "77"}, "currency": {"id": "1", "refName": "USD"}}
    open_ = {"status": {"id": "A", "refName": "Open"}}
    try:
        invoice = fake.add(
            "invoice", {**common, **open_, "tranId": "1001", "amountRemaining": Decimal("1000.00")}
        )
        # NetSuite numbers credit memos apart from invoices: this one is "1001" too
        memo = fake.add(
            "creditMemo",
            {**common, **open_, "tranId": "1001", "amountRemaining": Decimal("200.00")},
        )
        conn = connect(fake.settings(read_timeout_s=0.5), sleep=lambda s: 0)
        p = netted(**{"1001": "1000.00"}).model_copy(
            update={
                "applications": (
                    PaymentApplication(invoice_number="1001", amount=Money("1000.00", "USD")),
                    PaymentApplication(invoice_number="1001", amount=Money("-200.00", "USD")),
                )
            }
        )
        first = conn.write([intent(p)])
        again = conn.write([intent(p)])  # a resend after a lost answer: the same upsert
    finally:
        fake.stop()
    assert [r.status for r in first] == [ResultStatus.APPLIED]
    assert [r.status for r in again] == [ResultStatus.ALREADY_APPLIED]
    records = fake.state.records
    assert records["invoice"][invoice]["amountRemaining"] == Decimal("0")
    assert records["creditMemo"][memo]["amountRemaining"] == Decimal("0")
    assert records["creditMemo"][memo]["status"]["refName"] == "Fully Applied"
    assert len(records["customerPayment"]) == 1
