"""Invariants of the suite calculators (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from canonical import JournalLine, Money
from reconcile.suite.aging import ArItem, age
from reconcile.suite.ar_gl import ActivityKind, ArActivity, ArGlPolicy, reconcile_ar_gl

AS_OF = date(2024, 6, 30)

items_st = st.lists(
    st.builds(
        ArItem,
        document=st.text("ABC123", min_size=1, max_size=4),
        customer_id=st.sampled_from(["C1", "C2", "C3"]),
        open_amount=st.builds(
            Money.from_minor, st.integers(-(10**7), 10**7), st.sampled_from(["USD", "EUR", "JPY"])
        ),
        due_date=st.dates(date(2023, 1, 1), date(2024, 12, 31)),
    ),
    max_size=40,
)


@settings(max_examples=100, deadline=None)
@given(items_st)
def test_aging_buckets_partition_each_currency(items: list[ArItem]) -> None:
    report = age(items, AS_OF)
    for total in report.totals:
        expected = sum(
            (i.open_amount.amount for i in items if i.open_amount.currency == total.currency),
            Decimal(0),
        )
        assert total.total == expected
        per_customer = sum(
            (r.total for r in report.rows if r.currency == total.currency), Decimal(0)
        )
        assert per_customer == expected


activity_st = st.lists(
    st.tuples(
        st.sampled_from(list(ActivityKind)),
        st.sampled_from(["2024-01", "2024-02", "2024-03"]),
        st.integers(1, 10**6),
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(activity_st)
def test_gl_that_mirrors_the_subledger_has_no_findings(
    rows: list[tuple[ActivityKind, str, int]],
) -> None:
    sign = {ActivityKind.INVOICE: 1, ActivityKind.REFUND: 1}
    acts = [
        ArActivity(
            f"D{n}", kind, period, "1200", Money.from_minor(sign.get(kind, -1) * cents, "USD"), "S1"
        )
        for n, (kind, period, cents) in enumerate(rows)
    ]
    gl = [
        JournalLine(
            source_system="gl",
            source_id=a.document,
            journal_id=a.document,
            line_number=1,
            posting_date=date.fromisoformat(a.period + "-01") + timedelta(days=3),
            period=a.period,
            account="1200",
            currency="USD",
            amount=a.amount,
            subsidiary="S1",
            source_document=a.document,
        )
        for a in acts
    ]
    res = reconcile_ar_gl(
        acts,
        [],
        gl,
        ["2024-01", "2024-02", "2024-03"],
        ArGlPolicy(control_accounts=frozenset({"1200"}), default_rounding=Decimal(0)),
    )
    assert res.findings == ()
    if res.rows:
        last = res.rows[-1]
        assert last.closing == last.gl_closing == sum((a.amount.amount for a in acts), Decimal(0))
