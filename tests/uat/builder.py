"""Deterministic sample migration: a legacy data set and a "new" one with planted defects.

Legacy customers come as a semicolon, Windows-1252, decimal-comma export read through the
``exports/legacy_customers`` mapping spec; everything else as raw CSV with legacy column
names mapped in the spec. Defects planted in the new system (``DEFECTS`` lists the exact
root-cause groups each one must land in):

- dropped records: customer C0013, subscription SUB-009
- translation gaps: customer C0007 (customer table), item OLD-X (item table)
- rounding drift: AR item AR-0003 open amount +0.01, invoice INV-010 line 2 net +0.01,
  GL account 41000 +0.01
- wrong tax rate: INV-004 taxed at 16 % instead of 19 %
- shifted billing date: invoices INV-003 and INV-013 billed one day later
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

N_CUSTOMERS = 20
GAP_CUSTOMER = 7
DROPPED_CUSTOMER = 13
BLANK_TAX_CUSTOMER = 15
CENT = Decimal("0.01")


def old_customer(i: int) -> str:
    return f"C{i:04d}"


def new_customer(i: int) -> str:
    return f"N{1000 + i}"


def _write(
    path: Path, rows: list[dict[str, Any]], *, delimiter: str = ",", encoding: str = "utf-8"
) -> None:
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)


@dataclass
class Plan:
    """Switches for the defects (a rerun after fixes turns some off)."""

    drop_customer: bool = True
    drop_subscription: bool = True
    ar_drift: bool = True
    extra_rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _customers(folder: Path, plan: Plan) -> None:
    legacy, new = [], []
    for i in range(1, N_CUSTOMERS + 1):
        vat = "" if i == BLANK_TAX_CUSTOMER else f"DE{100000 + i}"
        limit = Decimal(1000 * i)
        legacy.append({
            "KUNDENNR": old_customer(i), "NAME1": f"Kunde {i}", "NAME2": "GmbH",
            "STATUS": "A", "WAEHRUNG": "EUR", "ZAHLUNGSBED": "NET30",
            "KREDITLIMIT": f"{limit:,.2f}".replace(",", "X").replace(".", ",").replace("X", "."),
            "USTIDNR": vat, "STRASSE": "Hauptstraße 1", "PLZ": "10115", "ORT": "Berlin",
            "LAND": "DE", "EMAIL": "", "TELEFON": "", "KONZERN": "", "GEAENDERT_AM": "2024-01-31",
        })  # fmt: skip
        if i == DROPPED_CUSTOMER and plan.drop_customer:
            continue
        new.append({
            "id": new_customer(i), "name": f"KUNDE {i} GMBH", "status": "active",
            "currency": "EUR", "vat": vat, "credit_limit": f"{limit:.2f}",
        })  # fmt: skip
    _write(folder / "legacy_customers.csv", legacy, delimiter=";", encoding="cp1252")
    _write(folder / "new_customers.csv", new)
    table = [
        {"old": old_customer(i), "new": new_customer(i)}
        for i in range(1, N_CUSTOMERS + 1)
        if i != GAP_CUSTOMER
    ]
    _write(folder / "xlat_customers.csv", table)


def _customer_of(n: int) -> int:
    return (n - 1) % N_CUSTOMERS + 1


def _ar(folder: Path, plan: Plan) -> None:
    legacy, new = [], []
    for n in range(1, 31):
        cust = _customer_of(n)
        amount = Decimal("12345.67") if n == 3 else Decimal(100 * n) + Decimal("0.50")
        amount = amount.quantize(CENT)
        open_amount = amount if n % 4 else (amount / 2).quantize(CENT)
        due = f"2024-03-{n:02d}" if n <= 28 else "2024-03-28"
        legacy.append({"BELEG": f"AR-{n:04d}", "KUNDE": old_customer(cust), "WAEHRUNG": "EUR",
                       "FAELLIG": due, "BETRAG": amount, "OFFEN": open_amount})  # fmt: skip
        drift = CENT if n == 3 and plan.ar_drift else Decimal(0)
        new.append({"document_number": f"AR-{n:04d}", "customer_id": new_customer(cust),
                    "currency": "EUR", "due_date": due, "amount": amount,
                    "open_amount": open_amount + drift})  # fmt: skip
    _write(folder / "legacy_ar.csv", legacy)
    _write(folder / "new_ar.csv", new)


def _subscriptions(folder: Path, plan: Plan) -> None:
    legacy, new = [], []
    items = {"OLD-A": "NEW-A", "OLD-B": "NEW-B", "OLD-C": "NEW-C"}
    for n in range(1, 16):
        cust = 1 + n  # never the gap customer (7) except n=6; keep it away:
        cust = cust if cust != GAP_CUSTOMER else 1
        item = "OLD-X" if n == 12 else list(items)[n % 3]
        row = {"ABO": f"SUB-{n:03d}", "ARTIKEL": item, "KUNDE": old_customer(cust),
               "STATUS": "active", "WAEHRUNG": "EUR", "MENGE": n, "PREIS": f"{9.99 * n:.2f}",
               "START": "2024-01-01"}  # fmt: skip
        legacy.append(row)
        if n == 9 and plan.drop_subscription:
            continue
        new_item = "NEW-X" if item == "OLD-X" else items[item]
        new.append({"subscription_id": row["ABO"], "item_code": new_item,
                    "customer_id": new_customer(cust), "status": "active",
                    "currency": "EUR", "quantity": n, "unit_price": row["PREIS"],
                    "start_date": "2024-01-01"})  # fmt: skip
    _write(folder / "legacy_subscriptions.csv", legacy)
    _write(folder / "new_subscriptions.csv", new)
    _write(folder / "xlat_items.csv", [{"old": k, "new": v} for k, v in items.items()])


def _invoices(folder: Path) -> None:
    legacy, new = [], []
    for n in range(1, 21):
        cust = _customer_of(n)
        for line in (1, 2):
            net = (Decimal(50 * n + 10 * line) + Decimal("0.40")).quantize(CENT)
            tax = (net * Decimal("0.19")).quantize(CENT)
            legacy.append({"RECHNUNG": f"INV-{n:03d}", "POS": line, "KUNDE": old_customer(cust),
                           "ARTIKEL": "OLD-A", "WAEHRUNG": "EUR", "DATUM": "2024-02-01",
                           "MENGE": line, "NETTO": net, "STEUER": tax})  # fmt: skip
            new_net = net + CENT if (n, line) == (10, 2) else net
            new_tax = (net * Decimal("0.16")).quantize(CENT) if n == 4 else tax
            day = "2024-02-02" if n in (3, 13) else "2024-02-01"
            new.append({"invoice_number": f"INV-{n:03d}", "line_number": line,
                        "customer_id": new_customer(cust), "item_code": "NEW-A",
                        "currency": "EUR", "billing_date": day, "quantity": line,
                        "net_amount": new_net, "tax_amount": new_tax})  # fmt: skip
    _write(folder / "legacy_invoice_lines.csv", legacy)
    _write(folder / "new_invoice_lines.csv", new)


def _gl(folder: Path) -> None:
    accounts = {"1000": "11000", "1200": "12000", "4000": "40000", "4010": "40000",
                "4020": "41000"}  # fmt: skip
    balances = {"1000": "5000.00", "1200": "7250.25", "4000": "-3000.00", "4010": "-1250.25",
                "4020": "-8000.00"}  # fmt: skip
    legacy = [{"KONTO": k, "WAEHRUNG": "EUR", "SALDO": v} for k, v in balances.items()]
    new = [
        {"account": "11000", "currency": "EUR", "balance": "5000.00"},
        {"account": "12000", "currency": "EUR", "balance": "7250.25"},
        {"account": "40000", "currency": "EUR", "balance": "-4250.25"},
        {"account": "41000", "currency": "EUR", "balance": "-7999.99"},
    ]
    _write(folder / "legacy_tb.csv", legacy)
    _write(folder / "new_tb.csv", new)
    _write(folder / "xlat_accounts.csv", [{"old": k, "new": v} for k, v in accounts.items()])


SPEC = """\
name: erp-cutover
description: Legacy ERP to new billing, cut-over rehearsal 2
translations:
  customer: {path: xlat_customers.csv}
  item: {path: xlat_items.csv}
  account: {path: xlat_accounts.csv}
rootcause:
  rate_changes: [{old: "0.19", new: "0.16"}]
entities:
  - name: customers
    kind: customer
    legacy: {path: legacy_customers.csv, mapping: exports/legacy_customers}
    new:
      path: new_customers.csv
      columns: {customer_id: id, tax_id: vat}
    translate: {customer_id: customer}
  - name: ar_items
    kind: ar_open
    legacy:
      path: legacy_ar.csv
      columns: {document_number: BELEG, customer_id: KUNDE, currency: WAEHRUNG,
                due_date: FAELLIG, amount: BETRAG, open_amount: OFFEN}
    new: {path: new_ar.csv}
    translate: {customer_id: customer}
  - name: subscriptions
    kind: subscription
    legacy:
      path: legacy_subscriptions.csv
      columns: {subscription_id: ABO, item_code: ARTIKEL, customer_id: KUNDE,
                currency: WAEHRUNG, quantity: MENGE, unit_price: PREIS, start_date: START,
                status: STATUS}
    new: {path: new_subscriptions.csv}
    translate: {customer_id: customer, item_code: item}
  - name: invoice_lines
    kind: invoice_line
    legacy:
      path: legacy_invoice_lines.csv
      columns: {invoice_number: RECHNUNG, line_number: POS, customer_id: KUNDE,
                item_code: ARTIKEL, currency: WAEHRUNG, billing_date: DATUM,
                quantity: MENGE, net_amount: NETTO, tax_amount: STEUER}
    new: {path: new_invoice_lines.csv}
    translate: {customer_id: customer, item_code: item}
  - name: trial_balance
    kind: gl_balance
    legacy:
      path: legacy_tb.csv
      columns: {account: KONTO, currency: WAEHRUNG, balance: SALDO}
    new: {path: new_tb.csv}
    translate: {account: account}
expectations:
  - {type: match_rate, entity: customers, min_pct: 80}
  - {type: not_blank, entity: customers, field: tax_id}
  - type: amounts_match
    name: every open item over 10000 matches to the cent
    entity: ar_items
    field: open_amount
    over: 10000
  - {type: ties, entity: trial_balance, field: balance}
  - {type: count_equal, entity: subscriptions}
  - {type: no_exceptions, entity: invoice_lines, category: DUPLICATE}
"""


def build(folder: Path, plan: Plan | None = None, spec: str = SPEC) -> Path:
    plan = plan or Plan()
    folder.mkdir(parents=True, exist_ok=True)
    _customers(folder, plan)
    _ar(folder, plan)
    _subscriptions(folder, plan)
    _invoices(folder)
    _gl(folder)
    path = folder / "uat.yaml"
    path.write_text(spec, encoding="utf-8")
    return path


#: entity -> record key text -> the root-cause groups (pattern, field, param) it must land in
DEFECTS: dict[str, dict[str, set[tuple[str, str, str]]]] = {
    "customers": {
        "customer_id=N1013": {("missing_in_new", "", "")},
        "customer_id=C0007": {("untranslated_code", "customer_id", "customer")},
        "customer_id=N1007": {("extra_in_new", "", "")},
    },
    "ar_items": {
        "document_number=AR-0003": {("rounding_drift", "open_amount", "0.01")},
        **{
            f"document_number=AR-{n:04d}": {("untranslated_code", "customer_id", "customer")}
            for n in (7, 27)
        },
    },
    "subscriptions": {
        "subscription_id=SUB-009, item_code=NEW-A": {("missing_in_new", "", "")},
        "subscription_id=SUB-012, item_code=OLD-X": {("untranslated_code", "item_code", "item")},
        "subscription_id=SUB-012, item_code=NEW-X": {("extra_in_new", "", "")},
    },
    "invoice_lines": {
        **{
            f"invoice_number=INV-{n:03d}, line_number={line}": {
                ("date_shift", "billing_date", "+1")
            }
            for n in (3, 13)
            for line in (1, 2)
        },
        **{
            f"invoice_number=INV-004, line_number={line}": {
                ("tax_rate_change", "tax_amount", "0.19 -> 0.16")
            }
            for line in (1, 2)
        },
        "invoice_number=INV-010, line_number=2": {("rounding_drift", "net_amount", "0.01")},
        **{
            f"invoice_number=INV-{n:03d}, line_number={line}": {
                ("untranslated_code", "customer_id", "customer")
            }
            for n in (7,)
            for line in (1, 2)
        },
    },
    "trial_balance": {
        "account=41000, currency=EUR": {("rounding_drift", "balance", "0.01")},
    },
}
