"""The set-based attribution against a plan: a data set planting every root-cause pattern,
with what each record must be attributed to and put at risk worked out from the plan in
Python Decimal (the arithmetic the patterns are defined by), not from the attribution."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from reconcile.engine import reconcile
from uat.entities import definition_for
from uat.kinds import KINDS
from uat.rootcause import Attribution, attribute
from uat.spec import EntitySpec, RootCauseSpec
from uat.translate import Gap

CENT = Decimal("0.01")
RATIO = Decimal("0.000001")
#: 19 % -> 16 % and back up, both declared
CFG = RootCauseSpec.model_validate(
    {"rate_changes": [{"old": "0.19", "new": "0.16"}, {"old": "0.16", "new": "0.19"}],
     "min_group": 3}
)  # fmt: skip
GAPS = (
    Gap("customer_id", "customer", 2, 1, {"C-OLD": 2}, frozenset({"C-OLD"})),
    Gap("invoice_number", "invoices", 1, 1, {"OLD-9": 1}, frozenset({"OLD-9"})),
)
Cause = tuple[str, str, str]


def engine_value(text: str | None) -> Decimal:
    """A number as the engine hands it over: exact, without padding zeros."""
    return Decimal(format(Decimal(text or 0).normalize(), "f"))


def gap(old: str, new: str) -> Decimal:
    return abs(engine_value(new) - engine_value(old))


@dataclass
class Plan:
    legacy: list[dict[str, Any]] = field(default_factory=list)
    new: list[dict[str, Any]] = field(default_factory=list)
    #: record key text -> (causes, amount at risk, currency)
    expected: dict[str, tuple[set[Cause], Decimal, str]] = field(default_factory=dict)
    n: int = 0

    def row(self, ccy: str, net: str = "100.00", tax: str = "19.00", **over: Any) -> dict[str, Any]:
        self.n += 1
        row = {"invoice_number": f"INV-{self.n:03d}", "line_number": "1", "customer_id": "N1",
               "item_code": "A", "currency": ccy, "billing_date": "2024-02-10", "quantity": "2",
               "net_amount": net, "tax_amount": tax}  # fmt: skip
        return {**row, **over}

    def pair(self, legacy: dict[str, Any], new: dict[str, Any], causes: set[Cause],
             risk: Decimal) -> None:  # fmt: skip
        self.legacy.append(legacy)
        self.new.append(new)
        self.expected[self.key(legacy)] = (causes, risk, legacy["currency"])

    @staticmethod
    def key(row: dict[str, Any]) -> str:
        return f"invoice_number={row['invoice_number']}, line_number={row['line_number']}"


def ratio(old: str, new: str) -> Decimal:
    """new / old as the "scaled by" pattern defines it: 6 places, half-even."""
    return (engine_value(new) / engine_value(old)).quantize(RATIO)


def factor(old: str, new: str) -> Cause:
    return ("scaled_by_factor", "net_amount", f"×{ratio(old, new).normalize():f}")


def plan() -> Plan:
    p = Plan()
    for i, ccy in enumerate(("EUR", "GBP") * 2):
        p.legacy.append(a := p.row(ccy, net=f"{100 + i}.50"))
        p.new.append(dict(a))  # matched: no exception
    # a legacy customer code missing from its table (no money moves)
    for ccy in ("EUR", "GBP"):
        a = p.row(ccy, customer_id=" C-OLD ")
        p.pair(a, {**a, "customer_id": "N9"}, {("untranslated_code", "customer_id", "customer")},
               Decimal(0))  # fmt: skip
    # tax at the new rate: by ratio (old tax not 19 % of its net) and by base × rate delta
    a = p.row("EUR", net="50.00", tax="19.00")
    p.pair(a, {**a, "tax_amount": "16.00"}, {("tax_rate_change", "tax_amount", "0.19 -> 0.16")},
           gap("19.00", "16.00"))  # fmt: skip
    a = p.row("EUR", net="105.00", tax="30.00")  # new = old + 105 × (0.16 − 0.19)
    p.pair(a, {**a, "tax_amount": "26.85"}, {("tax_rate_change", "tax_amount", "0.19 -> 0.16")},
           gap("30.00", "26.85"))  # fmt: skip
    a = p.row("GBP", net="200.00", tax="32.00")  # the other way: 16 % -> 19 %
    p.pair(a, {**a, "tax_amount": "38.00"}, {("tax_rate_change", "tax_amount", "0.16 -> 0.19")},
           gap("32.00", "38.00"))  # fmt: skip
    a = p.row("GBP", net="200.00", tax="32.00")  # no declared change explains this one
    p.pair(a, {**a, "tax_amount": "35.00"}, {("value_differs", "tax_amount", "")},
           gap("32.00", "35.00"))  # fmt: skip
    # rounding drift, alone and with a plain difference in the same record
    a = p.row("EUR", net="120.40")
    p.pair(a, {**a, "net_amount": "120.41"}, {("rounding_drift", "net_amount", "0.01")},
           gap("120.40", "120.41"))  # fmt: skip
    a = p.row("GBP", net="99.99")
    p.pair(a, {**a, "net_amount": "99.98", "item_code": "B"},
           {("rounding_drift", "net_amount", "0.01"), ("value_differs", "item_code", "")},
           gap("99.99", "99.98"))  # fmt: skip
    # a constant factor shared by three records; the same factor once is a plain difference
    for net, ccy in (("10.25", "EUR"), ("7.00", "GBP"), ("3.10", "EUR")):
        new = str(Decimal(net) * 100)
        p.pair(a := p.row(ccy, net=net), {**a, "net_amount": new}, {factor(net, new)},
               gap(net, new))  # fmt: skip
    a = p.row("EUR", net="4.00")
    p.pair(a, {**a, "net_amount": "28.00"}, {("value_differs", "net_amount", "")},
           gap("4.00", "28.00"))  # fmt: skip
    # ratios exactly half-way at the 6th place round to even: 0.0000005 -> 0, 0.0000045 -> 4e-6
    # (values finer than the cent fit no rounded factor; 0.0000025 would be ÷400000 exactly)
    for new in ("0.000001", "0.000001", "0.000001", "0.000009", "0.000009", "0.000009"):
        p.pair(a := p.row("EUR", net="2.00"), {**a, "net_amount": new}, {factor("2.00", new)},
               gap("2.00", new))  # fmt: skip
    # billing dates: a shift shared by three records, and one odd date
    for day in ("2024-02-13",) * 3:
        p.pair(a := p.row("GBP"), {**a, "billing_date": day},
               {("date_shift", "billing_date", "+3")}, Decimal(0))  # fmt: skip
    p.pair(a := p.row("GBP"), {**a, "billing_date": "2024-02-05"},
           {("date_differs", "billing_date", "")}, Decimal(0))  # fmt: skip
    # a record only in one system puts its whole amounts at risk
    a = p.row("EUR", net="300.10", tax="57.02")
    p.legacy.append(a)
    p.expected[p.key(a)] = ({("missing_in_new", "", "")}, Decimal("357.12"), "EUR")
    b = p.row("GBP", net="80.00", tax="15.20")
    p.new.append(b)
    p.expected[p.key(b)] = ({("extra_in_new", "", "")}, Decimal("95.20"), "GBP")
    # the legacy key itself untranslated: missing under its old number, extra under the new
    a = p.row("EUR", invoice_number="OLD-9", net="10.00", tax="1.90")
    p.legacy.append(a)
    p.expected[p.key(a)] = ({("untranslated_code", "invoice_number", "invoices")},
                            Decimal("11.90"), "EUR")  # fmt: skip
    b = {**a, "invoice_number": "NEW-9"}
    p.new.append(b)
    p.expected[p.key(b)] = ({("extra_in_new", "", "")}, Decimal("11.90"), "EUR")
    # a key twice in the legacy system
    a = p.row("GBP")
    p.legacy += [a, dict(a)]
    p.new.append(dict(a))
    p.expected[p.key(a)] = ({("duplicate", "", "legacy")}, Decimal(0), "GBP")
    return p


@pytest.fixture(scope="module")
def planned() -> tuple[Plan, Attribution]:
    p = plan()
    entity = EntitySpec.model_validate(
        {"name": "lines", "kind": "invoice_line", "legacy": {"path": "a"}, "new": {"path": "b"}}
    )
    d = definition_for("t", entity)
    result = reconcile(d, p.legacy, p.new)
    kinds = {c.name: c.kind for c in d.compare}
    return p, attribute(result.rows, KINDS["invoice_line"], kinds, GAPS, CFG)


def test_every_record_gets_its_planned_causes_and_amount_at_risk(
    planned: tuple[Plan, Attribution],
) -> None:
    p, attribution = planned
    found = {
        i.key_text: ({(c.pattern, c.field, c.param) for c in i.causes}, i.at_risk)
        for i in attribution.items
    }
    assert found == {k: (causes, risk) for k, (causes, risk, _) in p.expected.items()}
    patterns = {c[0] for causes, _, _ in p.expected.values() for c in causes}
    assert len(patterns) == 10  # every pattern is planted


def test_groups_and_totals_follow_the_plan(planned: tuple[Plan, Attribution]) -> None:
    p, attribution = planned
    counts: Counter[Cause] = Counter()
    risks: dict[Cause, dict[str, Decimal]] = defaultdict(dict)
    keys: dict[Cause, set[str]] = defaultdict(set)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    # a cause of a field that is no at-risk amount (item_code differs) carries no amount of
    # its own; the planned records have at most one amount cause, which carries the risk
    no_amount = {"customer_id", "item_code", "currency", "billing_date", "quantity"}
    for key, (causes, risk, ccy) in p.expected.items():
        for c in causes:
            counts[c] += 1
            mine = Decimal(0) if c[1] in no_amount else risk
            risks[c][ccy] = risks[c].get(ccy, Decimal(0)) + mine
            keys[c].add(key)
        if risk:
            totals[ccy] += risk
    groups = {(g.cause.pattern, g.cause.field, g.cause.param): g for g in attribution.groups}
    assert {c: g.count for c, g in groups.items()} == counts
    assert {c: g.at_risk for c, g in groups.items()} == risks
    for c, g in groups.items():  # the first records of the group, as many as there are
        assert set(g.examples) <= keys[c] and len(g.examples) == min(5, counts[c])
    assert [g.count for g in attribution.groups] == sorted(counts.values(), reverse=True)
    assert attribution.at_risk == totals
    # amounts keep the digits their terms have, as Decimal sums do ("0.01", not "0.0100…")
    drift = groups[("rounding_drift", "net_amount", "0.01")].at_risk
    assert {ccy: str(v) for ccy, v in drift.items()} == {"EUR": "0.01", "GBP": "0.01"}
    assert {ccy: str(v) for ccy, v in attribution.at_risk.items()} == {
        ccy: str(sum(
            (risk for _, risk, c in p.expected.values() if c == ccy and risk), Decimal(0)
        ))
        for ccy in ("EUR", "GBP")
    }  # fmt: skip
