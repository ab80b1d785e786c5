"""Zuora Orders API bodies for one subscription's order action (pure functions).

An intent's payload is ``{"existingAccountNumber", "subscriptionNumber", "orderAction"}``;
the Zuora connector groups up to 50 of them into one ``POST /v1/orders`` call, one
``subscriptions[]`` entry per subscription number. Amounts and quantities are decimal
strings, dates ISO ``YYYY-MM-DD``. Lines are addressed by ``uniqueToken`` = contract line id.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from canonical import BillingPeriod, Contract, ContractLine, Customer

_PERIODS = {
    BillingPeriod.MONTH: "Month",
    BillingPeriod.QUARTER: "Quarter",
    BillingPeriod.SEMI_ANNUAL: "Semi_Annual",
    BillingPeriod.ANNUAL: "Annual",
    BillingPeriod.TWO_YEARS: "Two_Years",
    BillingPeriod.THREE_YEARS: "Three_Years",
}
TRIGGERS = ("ContractEffective", "ServiceActivation", "CustomerAcceptance")


def trigger_dates(when: date | None) -> list[dict[str, str]]:
    if when is None:
        return []
    return [{"name": name, "triggerDate": when.isoformat()} for name in TRIGGERS]


def order(account: str, subscription: str, action: dict[str, Any]) -> dict[str, Any]:
    return {
        "existingAccountNumber": account,
        "subscriptionNumber": subscription,
        "orderAction": action,
    }


def rate_plan(line: ContractLine) -> dict[str, Any]:
    charge: dict[str, Any] = {
        "pricing": {
            "recurringPerUnit": {
                "listPrice": str(line.net_unit_price.amount),
                "quantity": str(line.quantity),
            }
        },
    }
    period = _PERIODS.get(line.billing_period)
    if period:
        charge["billing"] = {"billingPeriod": period}
    return {
        "productRatePlanNumber": line.sku,
        "uniqueToken": line.line_id,
        "currency": line.net_unit_price.currency,
        "chargeOverrides": [charge],
    }


def _term(contract: Contract) -> dict[str, Any]:
    if contract.term_months:
        return {
            "termType": "TERMED",
            "period": contract.term_months,
            "periodType": "Month",
            "startDate": contract.start_date.isoformat(),
        }
    return {"termType": "EVERGREEN", "startDate": contract.start_date.isoformat()}


def create_subscription(contract: Contract, subscription: str) -> dict[str, Any]:
    terms: dict[str, Any] = {"initialTerm": _term(contract), "autoRenew": contract.auto_renew}
    if contract.term_months:
        terms["renewalSetting"] = "RENEW_WITH_SPECIFIC_TERM"
        terms["renewalTerms"] = [{"period": contract.term_months, "periodType": "Month"}]
    return {
        "type": "CreateSubscription",
        "triggerDates": trigger_dates(contract.start_date),
        "createSubscription": {
            "subscriptionNumber": subscription,
            "terms": terms,
            "subscribeToRatePlans": [rate_plan(ln) for ln in contract.lines],
        },
    }


def add_product(line: ContractLine, when: date | None) -> dict[str, Any]:
    return {
        "type": "AddProduct",
        "triggerDates": trigger_dates(when),
        "addProduct": rate_plan(line),
    }


def update_product(line: ContractLine, when: date | None) -> dict[str, Any]:
    return {
        "type": "UpdateProduct",
        "triggerDates": trigger_dates(when),
        "updateProduct": {
            "uniqueToken": line.line_id,
            "chargeUpdates": [
                {
                    "pricing": {
                        "recurringPerUnit": {
                            "listPrice": str(line.net_unit_price.amount),
                            "quantity": str(line.quantity),
                        }
                    }
                }
            ],
        },
    }


def remove_product(line_id: str, when: date | None) -> dict[str, Any]:
    return {
        "type": "RemoveProduct",
        "triggerDates": trigger_dates(when),
        "removeProduct": {"uniqueToken": line_id},
    }


def terms(contract: Contract, when: date | None) -> dict[str, Any]:
    return {
        "type": "TermsAndConditions",
        "triggerDates": trigger_dates(when),
        "termsAndConditions": {"autoRenew": contract.auto_renew, "lastTerm": _term(contract)},
    }


def renew(when: date | None) -> dict[str, Any]:
    return {
        "type": "RenewSubscription",
        "triggerDates": trigger_dates(when),
        "renewSubscription": {},
    }


def cancel(when: date | None) -> dict[str, Any]:
    return {
        "type": "CancelSubscription",
        "triggerDates": trigger_dates(when),
        "cancelSubscription": {
            "cancellationPolicy": "SpecificDate",
            "cancellationEffectiveDate": when.isoformat() if when else None,
        },
    }


def account(customer: Customer, number: str) -> dict[str, Any]:
    body: dict[str, Any] = {"accountNumber": number, "name": customer.name}
    if customer.currency:
        body["currency"] = customer.currency
    if customer.payment_terms:
        body["paymentTerm"] = customer.payment_terms
    if customer.bill_to:
        contact = customer.bill_to
        addr = contact.address
        body["billToContact"] = {
            "firstName": (contact.name or customer.name).split(" ")[0],
            "lastName": (contact.name or customer.name).split(" ")[-1],
            "workEmail": contact.email,
            "address1": addr.line1 if addr else None,
            "city": addr.city if addr else None,
            "state": addr.region if addr else None,
            "postalCode": addr.postal_code if addr else None,
            "country": addr.country if addr else None,
        }
    if customer.tax_ids:
        body["taxInfo"] = {"VATId": customer.tax_ids[0].value}
    return body
