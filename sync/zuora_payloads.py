"""Zuora Orders API bodies for one subscription's order action (pure functions).

An intent's payload follows the Zuora connector's contract (``connectors.zuora.orders``):
``{"accountNumber", "orderDate", "subscriptionNumber", "triggerDates", "body"}`` where
``body`` holds the action's own fields (``{"addProduct": {...}}``). The connector groups up
to 50 actions into one ``POST /v1/orders`` call. We choose the subscription number ourselves
(our external id, sent in ``createSubscription.subscriptionNumber``), so later actions and
read-before-retry can address it without a crosswalk. Amounts and quantities are decimal
strings, dates ISO ``YYYY-MM-DD``. A SKU becomes a product rate plan through the job's
catalog (defaults to the SKU itself).
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
    """The intent payload around one order action built by the functions below."""
    action = dict(action)
    action.pop("type")
    triggers = action.pop("triggerDates")
    custom = action.pop("customFields", None)
    charge_sku = action.pop("chargeSku", None)
    when = triggers[0]["triggerDate"] if triggers else None
    payload: dict[str, Any] = {
        "accountNumber": account,
        "subscriptionNumber": subscription,
        "triggerDates": triggers,
        "body": action,
    }
    if custom:
        payload["customFields"] = custom
    if charge_sku:
        payload["chargeSku"] = charge_sku
    if when:
        payload["orderDate"] = when
    return payload


class Catalog(dict[str, tuple[str, str | None]]):
    """SKU -> (productRatePlanId, productRatePlanChargeId or None)."""

    def ref(self, sku: str) -> tuple[str, str | None]:
        return self.get(sku, (sku, None))


_NO_CATALOG = Catalog()


def rate_plan(line: ContractLine, catalog: Catalog = _NO_CATALOG) -> dict[str, Any]:
    plan_id, charge_id = catalog.ref(line.sku)
    charge: dict[str, Any] = {
        "pricing": {
            "recurringPerUnit": {
                "listPrice": str(line.net_unit_price.amount),
                "quantity": str(line.quantity),
            }
        },
    }
    if charge_id:
        charge["productRatePlanChargeId"] = charge_id
    period = _PERIODS.get(line.billing_period)
    if period:
        charge["billing"] = {"billingPeriod": period}
    return {"productRatePlanId": plan_id, "uniqueToken": line.line_id, "chargeOverrides": [charge]}


def _term(contract: Contract) -> dict[str, Any]:
    if contract.term_months:
        return {
            "termType": "TERMED",
            "period": contract.term_months,
            "periodType": "Month",
            "startDate": contract.start_date.isoformat(),
        }
    return {"termType": "EVERGREEN", "startDate": contract.start_date.isoformat()}


def create_subscription(
    contract: Contract, subscription: str, catalog: Catalog = _NO_CATALOG
) -> dict[str, Any]:
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
            "subscribeToRatePlans": [rate_plan(ln, catalog) for ln in contract.lines],
        },
    }


def from_order_body(order: dict[str, Any], subscription: str) -> dict[str, Any]:
    """A CreateSubscription action out of a full ``POST /v1/orders`` body built by the
    outbound mapping spec (``canonical/contract_to_zuora_order``), with our number."""
    try:
        entry = order["subscriptions"][0]
        action = entry["orderActions"][0]
        create = dict(action["createSubscription"])
    except (KeyError, IndexError, TypeError):
        from billbridge.errors import RecordRejected

        raise RecordRejected(
            "the contract mapping spec did not produce subscriptions[0].orderActions[0]"
            ".createSubscription",
            code="BB_SPEC_SHAPE",
        ) from None
    create["subscriptionNumber"] = subscription
    out = {
        "type": "CreateSubscription",
        "triggerDates": action.get("triggerDates") or [],
        "createSubscription": create,
    }
    if entry.get("customFields"):
        out["customFields"] = entry["customFields"]
    return out


def add_product(
    line: ContractLine, when: date | None, catalog: Catalog = _NO_CATALOG
) -> dict[str, Any]:
    return {
        "type": "AddProduct",
        "triggerDates": trigger_dates(when),
        "addProduct": rate_plan(line, catalog),
    }


def update_product(
    line: ContractLine, when: date | None, catalog: Catalog = _NO_CATALOG
) -> dict[str, Any]:
    return {
        "chargeSku": line.sku,  # not sent: how the charge number is found (sync.charges)
        "type": "UpdateProduct",
        "triggerDates": trigger_dates(when),
        "updateProduct": {
            "ratePlanId": catalog.ref(line.sku)[0],
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


def remove_product(
    line: ContractLine, when: date | None, catalog: Catalog = _NO_CATALOG
) -> dict[str, Any]:
    return {
        "type": "RemoveProduct",
        "triggerDates": trigger_dates(when),
        "removeProduct": {"ratePlanId": catalog.ref(line.sku)[0], "uniqueToken": line.line_id},
    }


def terms(contract: Contract, when: date | None) -> dict[str, Any]:
    return {
        "type": "TermsAndConditions",
        "triggerDates": trigger_dates(when),
        "termsAndConditions": {"autoRenew": contract.auto_renew, "lastTerm": _term(contract)},
    }


def renewal_terms(contract: Contract, when: date | None) -> dict[str, Any]:
    """The renewal term set to the contract's new term length, sent before a
    RenewSubscription that renews into it (the current term is left as it is)."""
    return {
        "type": "TermsAndConditions",
        "triggerDates": trigger_dates(when),
        "termsAndConditions": {
            "autoRenew": contract.auto_renew,
            "renewalSetting": "RENEW_WITH_SPECIFIC_TERM",
            "renewalTerms": [{"period": contract.term_months, "periodType": "Month"}],
        },
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
