"""State of the Zuora fake: accounts, catalog, versioned subscriptions and Orders.

Every order that touches a subscription writes a new version with a new ``id``; the
``subscriptionNumber`` and charge numbers stay stable. Orders are atomic: they are applied
to a copy of the state and committed only when every action succeeded.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any


class OrderError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, 28))


class OrderBook:
    def __init__(self, stamp: Callable[[], str]) -> None:
        self.stamp = stamp
        self.accounts: dict[str, dict[str, Any]] = {}
        self.catalog: dict[str, dict[str, Any]] = {}
        #: subscriptionNumber -> versions, oldest first
        self.subscriptions: dict[str, list[dict[str, Any]]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self._seq = {"A": 0, "A-S": 0, "O-": 0, "C-": 0}

    def _next(self, prefix: str, width: int = 8) -> str:
        self._seq[prefix] += 1
        return f"{prefix}{self._seq[prefix]:0{width}d}"

    # -- accounts -----------------------------------------------------------------------

    def add_account(self, number: str, name: str, currency: str, **fields: Any) -> dict[str, Any]:
        account = {
            "basicInfo": {
                "id": uuid.uuid4().hex,
                "accountNumber": number,
                "name": name,
                "status": "Active",
                "crmId": fields.pop("crmId", None),
                **{k: v for k, v in fields.items() if k.endswith("__c")},
            },
            "billingAndPayment": {"currency": currency, "paymentTerm": "Net 30", "billCycleDay": 1},
            "billToContact": {
                "firstName": "Ada",
                "lastName": "Lovelace",
                "workEmail": "ap@example.com",
            },
            "metrics": {"balance": Decimal(0)},
            "_updated": self.stamp(),
        }
        self.accounts[number] = account
        return account

    def account(self, key: str) -> dict[str, Any] | None:
        found = self.accounts.get(key) or next(
            (a for a in self.accounts.values() if a["basicInfo"]["id"] == key), None
        )
        return {k: v for k, v in found.items() if not k.startswith("_")} if found else None

    def create_account(self, body: dict[str, Any]) -> dict[str, Any]:
        for field in ("name", "currency"):
            if not body.get(field):
                raise OrderError(50000022, f"{field} is required")
        number = body.get("accountNumber") or self._next("A")
        if number in self.accounts:
            raise OrderError(50000020, f"account number {number} already exists")
        extra = {k: v for k, v in body.items() if k.endswith("__c")}
        account = self.add_account(
            number, body["name"], body["currency"], crmId=body.get("crmId"), **extra
        )
        return {"accountId": account["basicInfo"]["id"], "accountNumber": number}

    def update_account(self, key: str, body: dict[str, Any]) -> None:
        account = self.accounts.get(key)
        if account is None:
            raise OrderError(50000040, "Cannot find entity by key")
        for field, value in body.items():
            if field in {"name", "crmId"} or field.endswith("__c"):
                account["basicInfo"][field] = value
        account["_updated"] = self.stamp()

    # -- orders -------------------------------------------------------------------------

    def create_order(self, body: dict[str, Any]) -> dict[str, Any]:
        account_number = body.get("existingAccountNumber")
        if account_number not in self.accounts:
            raise OrderError(50000040, f"Cannot find entity by key: {account_number}")
        staged = copy.deepcopy(self.subscriptions)
        seq = dict(self._seq)
        touched: list[str] = []
        try:
            for entry in body.get("subscriptions") or []:
                touched.append(self._apply(staged, account_number, entry, body["orderDate"]))
        except OrderError:
            self._seq = seq
            raise
        self.subscriptions = staged
        number = self._next("O-")
        self.orders[number] = {
            "orderNumber": number,
            "orderDate": body["orderDate"],
            "existingAccountNumber": account_number,
            "status": "Completed",
            "subscriptions": [
                {**entry, "subscriptionNumber": sub}
                for entry, sub in zip(body.get("subscriptions") or [], touched, strict=True)
            ],
        }
        return {
            "orderNumber": number,
            "accountNumber": account_number,
            "status": "Completed",
            "subscriptionNumbers": touched,
            "subscriptions": [
                {"subscriptionNumber": n, "status": staged[n][-1]["status"]} for n in touched
            ],
        }

    def _apply(
        self, staged: dict[str, list[dict[str, Any]]], account: str, entry: dict[str, Any], day: str
    ) -> str:
        number = entry.get("subscriptionNumber")
        actions = entry.get("orderActions") or []
        if number is None:
            if not actions or actions[0].get("type") != "CreateSubscription":
                raise OrderError(53100020, "subscriptionNumber is required")
            number = actions[0].get("createSubscription", {}).get(
                "subscriptionNumber"
            ) or self._next("A-S")
            if number in staged:
                raise OrderError(53100020, f"subscription {number} already exists")
            current = self._new_subscription(number, account, day)
        elif number not in staged:
            raise OrderError(50000040, f"Cannot find entity by key: {number}")
        else:
            current = copy.deepcopy(staged[number][-1])
            current["isLatestVersion"] = True
            staged[number][-1]["isLatestVersion"] = False
            current["version"] += 1
        current["id"] = uuid.uuid4().hex
        current["updatedDate"] = self.stamp()
        current.update(entry.get("customFields") or {})
        for action in actions:
            self._action(current, action, day)
        staged.setdefault(number, []).append(current)
        return str(number)

    def _new_subscription(self, number: str, account: str, day: str) -> dict[str, Any]:
        return {
            "subscriptionNumber": number,
            "accountNumber": account,
            "accountId": self.accounts[account]["basicInfo"]["id"],
            "version": 1,
            "isLatestVersion": True,
            "status": "Active",
            "termType": "TERMED",
            "termStartDate": day,
            "termEndDate": day,
            "currentTerm": 12,
            "currentTermPeriodType": "Month",
            "autoRenew": False,
            "currency": self.accounts[account]["billingAndPayment"]["currency"],
            "ratePlans": [],
        }

    def _action(self, sub: dict[str, Any], action: dict[str, Any], day: str) -> None:
        kind = action.get("type")
        if kind == "CreateSubscription":
            spec = action.get("createSubscription") or {}
            terms = spec.get("terms") or {}
            term = (terms.get("initialTerm") or {}).get("period", 12)
            sub.update(currentTerm=term, autoRenew=bool(terms.get("autoRenew")))
            renewal = (terms.get("renewalTerms") or [{}])[0].get("period")
            sub["renewalTerm"] = int(renewal) if renewal else term
            sub["termEndDate"] = _add_months(date.fromisoformat(day), int(term)).isoformat()
            for plan in spec.get("subscribeToRatePlans") or []:
                sub["ratePlans"].append(self._plan(plan, sub["currency"], day, sub["termEndDate"]))
        elif kind == "AddProduct":
            sub["ratePlans"].append(
                self._plan(action.get("addProduct") or {}, sub["currency"], day, sub["termEndDate"])
            )
        elif kind == "UpdateProduct":
            spec = action.get("updateProduct") or {}
            plan = self._find_plan(sub, spec.get("ratePlanId"))
            for update in spec.get("chargeUpdates") or []:
                charge = next(
                    (
                        c
                        for c in plan["ratePlanCharges"]
                        if c["number"] == update.get("chargeNumber")
                    ),
                    None,
                )
                if charge is None:
                    raise OrderError(53200020, f"unknown chargeNumber {update.get('chargeNumber')}")
                charge.update(_pricing(update))
            plan["lastChangeType"] = "Update"
        elif kind == "RemoveProduct":
            plan = self._find_plan(sub, (action.get("removeProduct") or {}).get("ratePlanId"))
            plan["lastChangeType"] = "Remove"
            for charge in plan["ratePlanCharges"]:
                charge["effectiveEndDate"] = day
        elif kind == "RenewSubscription":
            # the new term has the renewal term's length
            term = int(sub.get("renewalTerm") or sub["currentTerm"])
            sub["termStartDate"] = sub["termEndDate"]
            sub["currentTerm"] = term
            sub["termEndDate"] = _add_months(
                date.fromisoformat(sub["termEndDate"]), term
            ).isoformat()
        elif kind == "TermsAndConditions":
            spec = action.get("termsAndConditions") or {}
            if "autoRenew" in spec:
                sub["autoRenew"] = bool(spec["autoRenew"])
            renewal = (spec.get("renewalTerms") or [{}])[0].get("period")
            if renewal:
                sub["renewalTerm"] = int(renewal)
            last = spec.get("lastTerm") or {}
            if last.get("period"):
                start = last.get("startDate") or sub["termStartDate"]
                sub["termStartDate"] = start
                sub["currentTerm"] = int(last["period"])
                sub["termEndDate"] = _add_months(
                    date.fromisoformat(start), int(last["period"])
                ).isoformat()
        elif kind == "CancelSubscription":
            sub["status"] = "Cancelled"
            sub["cancelledDate"] = (action.get("cancelSubscription") or {}).get(
                "cancellationEffectiveDate", day
            )
        elif kind not in {"Suspend", "Resume", "OwnerTransfer", "ChangePlan"}:
            raise OrderError(53100320, f"'type' value should be a known order action, got {kind!r}")

    def _plan(self, spec: dict[str, Any], currency: str, day: str, end: str) -> dict[str, Any]:
        product = self.catalog.get(spec.get("productRatePlanId", ""))
        if product is None:
            raise OrderError(
                53200020, f"Invalid productRatePlanId {spec.get('productRatePlanId')!r}"
            )
        overrides = {o.get("productRatePlanChargeId"): o for o in spec.get("chargeOverrides") or []}
        charges = []
        for base in product["charges"]:
            charge = {
                "id": uuid.uuid4().hex,
                "number": self._next("C-"),
                "productRatePlanChargeId": base["productRatePlanChargeId"],
                "name": base.get("name", "Charge"),
                "type": base.get("type", "Recurring"),
                "model": base.get("model", "PerUnit"),
                "billingPeriod": base.get("billingPeriod", "Month"),
                "price": Decimal(str(base["price"])),
                "quantity": Decimal(str(base.get("quantity", 1))),
                "currency": currency,
                "effectiveStartDate": day,
                "effectiveEndDate": end,
            }
            charge.update(_pricing(overrides.get(base["productRatePlanChargeId"], {})))
            charges.append(charge)
        return {
            "id": uuid.uuid4().hex,
            "productRatePlanId": spec["productRatePlanId"],
            "productSku": product["productSku"],
            "lastChangeType": "Add",
            "ratePlanCharges": charges,
        }

    @staticmethod
    def _find_plan(sub: dict[str, Any], plan_id: str | None) -> dict[str, Any]:
        for plan in sub["ratePlans"]:
            if plan_id in {plan["id"], plan["productRatePlanId"]}:
                return plan
        raise OrderError(53200020, f"unknown ratePlanId {plan_id!r}")

    # -- ZOQL rows ---------------------------------------------------------------------

    def zoql_rows(self, obj: str, fake: Any) -> list[dict[str, Any]]:
        def iso(stamp: str) -> str:
            local = datetime.fromisoformat(stamp).replace(tzinfo=fake.zone)
            return local.isoformat(timespec="milliseconds")

        if obj == "Account":
            return [
                {
                    "Id": a["basicInfo"]["id"],
                    "AccountNumber": n,
                    "Name": a["basicInfo"]["name"],
                    "UpdatedDate": iso(a["_updated"]),
                    **{k: v for k, v in a["basicInfo"].items() if k.endswith("__c")},
                }
                for n, a in self.accounts.items()
            ]
        if obj == "Subscription":
            return [
                {
                    "Id": v["id"],
                    "Name": n,
                    "Version": v["version"],
                    "Status": v["status"],
                    "UpdatedDate": iso(v["updatedDate"]),
                    **{k: x for k, x in v.items() if k.endswith("__c")},
                }
                for n, versions in self.subscriptions.items()
                for v in versions
            ]
        if obj == "Invoice":
            return [
                {"Id": i["id"], "InvoiceNumber": n, "UpdatedDate": iso(i["updatedDate"])}
                for n, i in fake.invoices.items()
            ]
        if obj == "Payment":
            return [
                {
                    "Id": p["id"],
                    "PaymentNumber": n,
                    "AccountId": p["accountId"],
                    "ReferenceId": p.get("referenceId"),
                    "Status": p["status"],
                    "UpdatedDate": iso(p["updatedDate"]),
                }
                for n, p in fake.payments.items()
            ]
        return []


def _pricing(update: dict[str, Any]) -> dict[str, Any]:
    """listPrice/quantity from any ``pricing.<model>`` block of an override or update."""
    changes: dict[str, Any] = {}
    for block in (update.get("pricing") or {}).values():
        if "listPrice" in block:
            changes["price"] = Decimal(str(block["listPrice"]))
        if "quantity" in block:
            changes["quantity"] = Decimal(str(block["quantity"]))
    return changes
