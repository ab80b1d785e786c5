"""Pure pieces: error classification, scans and cursors, SuiteQL text, converters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billbridge.errors import FatalError, RecordRejected, RetryableError
from canonical import Contract, JournalLine, Money, Payment, Product
from connectors.base import Cursor
from connectors.netsuite import suiteql, to_canonical
from connectors.netsuite.errors import (
    OutcomeUnknown,
    UserErrorRetry,
    classify_codes,
    classify_fault,
    classify_rest,
)
from connectors.netsuite.reading import Scan, plan_scan
from connectors.netsuite.sources import SOURCES

CTX = to_canonical.Context(
    tz=ZoneInfo("America/Los_Angeles"), currencies={"2": "EUR"}, prefixes={"salesforce": "SF-"}
)


@pytest.mark.parametrize(
    ("codes", "status", "expected"),
    [
        (["CONCURRENCY_LIMIT_EXCEEDED"], 429, RetryableError),
        ([], 503, RetryableError),
        (["INVALID_CONTENT"], 400, RecordRejected),
        (["NONEXISTENT_FIELD"], 400, RecordRejected),
        (["INVALID_PARAMETER"], 400, RecordRejected),
        (["INVALID_KEY_OR_REF"], None, RecordRejected),
        (["RCRD_HAS_BEEN_CHANGED"], 400, OutcomeUnknown),
        (["USER_ERROR"], 400, UserErrorRetry),
        (["INSUFFICIENT_PERMISSION"], 403, FatalError),
        (["INVALID_LOGIN"], 401, FatalError),
    ],
)
def test_vendor_codes_are_classified(
    codes: list[str], status: int | None, expected: type[Exception]
) -> None:
    error = classify_codes(codes, "detail", status=status)
    assert type(error) is expected


def test_login_failure_under_load_is_retryable_not_fatal() -> None:
    assert isinstance(
        classify_codes(["INVALID_LOGIN"], "x", status=401, under_load=True), RetryableError
    )
    assert isinstance(classify_fault("Invalid login attempt.", under_load=True), RetryableError)
    assert isinstance(classify_fault("Invalid login attempt.", under_load=False), FatalError)
    assert isinstance(
        classify_fault("boom", detail_text="<exceededRequestLimitFault/>", under_load=False),
        RetryableError,
    )


def test_rest_error_message_names_code_and_path_and_keeps_retry_after() -> None:
    error = classify_rest(
        429,
        {"o:errorDetails": [{"detail": "blocked", "o:errorCode": "CONCURRENCY_LIMIT_EXCEEDED"}]},
        retry_after=7.0,
    )
    assert isinstance(error, RetryableError) and error.retry_after == 7.0
    rejected = classify_rest(
        400,
        {
            "o:errorDetails": [
                {"detail": "bad", "o:errorCode": "INVALID_CONTENT", "o:errorPath": "item.items[0]"}
            ]
        },
    )
    assert isinstance(rejected, RecordRejected) and rejected.code == "INVALID_CONTENT"
    assert "INVALID_CONTENT at item.items[0]: bad" in str(rejected)


def test_suiteql_literals_refuse_injection_and_render_account_time() -> None:
    assert suiteql.literal("SF-0001_a") == "'SF-0001_a'"
    with pytest.raises(ValueError, match="safe"):
        suiteql.literal("x' OR 1=1 --")
    moment = datetime(2024, 1, 15, 8, 30, tzinfo=UTC)
    assert suiteql.to_account_time(moment, ZoneInfo("America/Los_Angeles")) == (
        "2024-01-15 00:30:00"
    )
    assert (
        suiteql.from_account_time("2024-01-15 00:30:00", ZoneInfo("America/Los_Angeles")) == moment
    )


def test_query_text_for_transactions() -> None:
    q = suiteql.build_query(
        SOURCES["invoice"].query, modified_from="2024-05-01 09:50:00", after_id=42
    )
    assert q == (
        "SELECT t.id, t.tranid, t.externalid, TO_CHAR(t.lastmodifieddate, "
        "'YYYY-MM-DD HH24:MI:SS') AS lastmodified FROM transaction t WHERE "
        "t.type = 'CustInvc' AND t.lastmodifieddate >= TO_TIMESTAMP('2024-05-01 09:50:00', "
        "'YYYY-MM-DD HH24:MI:SS') AND t.id > 42 ORDER BY t.id"
    )


def _rows(ids_and_minutes: list[tuple[int, int]]) -> list[Any]:
    base = datetime(2024, 5, 1, 17, 0, tzinfo=UTC)
    return [
        (str(i), f"stamp-{i}-{m}", base + timedelta(minutes=m), lambda i=i: {"id": i})
        for i, m in ids_and_minutes
    ]


def test_scan_resume_then_finish_keeps_the_lower_bound_and_start() -> None:
    now = datetime(2024, 5, 2, tzinfo=UTC)
    start = plan_scan(None, overlap=timedelta(minutes=10), now=now)
    scan = Scan(start, _rows([(1, 1), (2, 5), (3, 2)]), "customer", timedelta(minutes=10), limit=2)
    assert [r.data["id"] for r in scan] == [1, 2]
    resume = scan.cursor()
    assert resume is not None and resume.last_id == "2" and resume.extra["mode"] == "resume"
    again = plan_scan(
        Cursor.from_json(resume.to_json()),
        overlap=timedelta(minutes=10),
        now=now + timedelta(hours=1),
    )
    assert again.after_id == 2 and again.started == now and again.lower is None
    tail = Scan(again, _rows([(3, 2)]), "customer", timedelta(minutes=10))
    assert [r.data["id"] for r in tail] == [3]
    final = tail.cursor()
    assert final is not None
    assert final.watermark == datetime(2024, 5, 1, 17, 5, tzinfo=UTC)  # max across both parts


def test_scan_watermark_is_capped_at_scan_start_and_duplicates_dropped() -> None:
    now = datetime(2024, 5, 1, 17, 3, tzinfo=UTC)
    start = plan_scan(None, overlap=timedelta(minutes=10), now=now)
    scan = Scan(start, _rows([(1, 1), (1, 1), (2, 9)]), "customer", timedelta(minutes=10))
    assert [r.data["id"] for r in scan] == [1, 2]
    cursor = scan.cursor()
    assert cursor is not None and cursor.watermark == now


def test_scan_cursor_is_refused_before_exhaustion() -> None:
    scan = Scan(
        plan_scan(None, overlap=timedelta(0), now=datetime.now(UTC)),
        _rows([(1, 1)]),
        "customer",
        timedelta(0),
    )
    with pytest.raises(RuntimeError):
        scan.cursor()


SALES_ORDER: dict[str, Any] = {
    "id": "501",
    "tranId": "SO-77",
    "tranDate": "2024-04-30",
    "startDate": "2024-05-01",
    "endDate": "2025-04-30",
    "entity": {"id": "107", "refName": "Acme"},
    "currency": {"id": "2", "refName": "Euro"},
    "externalId": "SF-006AAA",
    "lastModifiedDate": "2024-05-01T08:00:00Z",
    "item": {
        "items": [
            {
                "line": 1,
                "item": {"id": "55", "refName": "SKU-PLATFORM"},
                "quantity": Decimal("12"),
                "rate": Decimal("99.90"),
                "description": "Platform",
            }
        ]
    },
}


def test_sales_order_becomes_a_contract_with_the_configured_currency() -> None:
    [contract] = to_canonical.convert("contract", SALES_ORDER, CTX)
    assert isinstance(contract, Contract)
    assert contract.currency == "EUR"  # id 2 from settings.currencies; refName is a name
    assert contract.lines[0].net_unit_price == Money("99.90", "EUR")
    assert contract.lines[0].line_total == Money("1198.80", "EUR")
    assert contract.crosswalk == {"salesforce": "006AAA"}


def test_journal_entry_becomes_signed_lines() -> None:
    journal = {
        "id": "900",
        "tranId": "JE-1",
        "tranDate": "2024-05-31",
        "currency": {"id": "1", "refName": "USD"},
        "subsidiary": {"id": "1"},
        "lastModifiedDate": "2024-05-31T23:00:00Z",
        "line": {
            "items": [
                {
                    "line": 0,
                    "account": {"id": "1", "refName": "4000 Revenue"},
                    "credit": Decimal("100.00"),
                },
                {
                    "line": 1,
                    "account": {"id": "2", "refName": "1200 AR"},
                    "debit": Decimal("100.00"),
                    "entity": {"id": "107"},
                },
            ]
        },
    }
    lines = to_canonical.convert("journal_line", journal, CTX)
    assert [type(x) for x in lines] == [JournalLine, JournalLine]
    assert [x.amount.amount for x in lines if isinstance(x, JournalLine)] == [
        Decimal("-100.00"),
        Decimal("100.00"),
    ]
    assert {x.source_id for x in lines} == {"900:0", "900:1"}
    assert all(isinstance(x, JournalLine) and x.period == "2024-05" for x in lines)


def test_payment_applications_and_product_rows() -> None:
    pay = {
        "id": "700",
        "tranId": "PYMT-9",
        "tranDate": "2024-05-10",
        "customer": {"id": "107"},
        "currency": {"id": "1", "refName": "USD"},
        "payment": Decimal("150.00"),
        "lastModifiedDate": "2024-05-10T10:00:00Z",
        "apply": {
            "items": [
                {
                    "apply": True,
                    "doc": {"id": "8938", "refName": "Invoice #INV-1001"},
                    "refNum": "INV-1001",
                    "amount": Decimal("100.00"),
                    "applyDate": "2024-05-10",
                },
                {"apply": False, "refNum": "INV-1002", "amount": Decimal("0")},
            ]
        },
    }
    [payment] = to_canonical.convert("payment", pay, CTX)
    assert isinstance(payment, Payment)
    assert [a.invoice_number for a in payment.applications] == ["INV-1001"]
    assert payment.unapplied_amount == Money("50.00", "USD")
    [product] = to_canonical.convert(
        "product",
        {
            "id": "55",
            "itemid": "SKU-PLATFORM",
            "displayname": "Platform",
            "isinactive": "F",
            "lastmodified": "2024-05-01 10:00:00",
        },
        CTX,
    )
    assert isinstance(product, Product) and product.sku == "SKU-PLATFORM" and product.active


def test_unknown_currency_is_a_mapping_error_not_a_guess() -> None:
    bad = {**SALES_ORDER, "currency": {"id": "9", "refName": "Some Local Money"}}
    with pytest.raises(ValueError, match="currency"):
        to_canonical.convert("contract", bad, CTX)


class _MemorySuiteQL:
    """In-memory SuiteQL with NetSuite's paging rules and a silent row ceiling."""

    def __init__(self, ids: list[int], ceiling: int) -> None:
        self.ids = sorted(ids)
        self.ceiling = ceiling
        self.calls = 0

    def suiteql_page(self, query: str, *, limit: int, offset: int) -> dict[str, Any]:
        import re

        self.calls += 1
        assert offset % limit == 0, "offset must be a multiple of limit"
        assert offset < self.ceiling, "offset past the ceiling is refused"
        after = re.search(r"\.id > (\d+)", query)
        rows = [i for i in self.ids if after is None or i > int(after.group(1))]
        visible = rows[: self.ceiling]
        chunk = visible[offset : offset + limit]
        return {
            "items": [{"id": str(i)} for i in chunk],
            "count": len(chunk),
            "hasMore": offset + len(chunk) < len(visible),
            "totalResults": len(rows),
            "offset": offset,
        }


@given(
    ids=st.sets(st.integers(min_value=1, max_value=10_000), max_size=120),
    page_size=st.integers(min_value=1, max_value=12),
    ceiling_pages=st.integers(min_value=1, max_value=4),
    told_ceiling=st.booleans(),
)
@settings(max_examples=150, deadline=None)
def test_keyset_paging_reads_every_row_once_in_order(
    ids: set[int], page_size: int, ceiling_pages: int, told_ceiling: bool
) -> None:
    ceiling = page_size * ceiling_pages
    server = _MemorySuiteQL(list(ids), ceiling)
    # whether or not the client knows the ceiling, it must neither lose nor repeat rows
    rows = list(
        suiteql.iter_rows(
            server,
            SOURCES["customer"].query,
            page_size=page_size,
            ceiling=ceiling if told_ceiling else 100_000,
        )
    )
    assert [int(r["id"]) for r in rows] == sorted(ids)


def test_soap_fault_is_classified_by_the_platform_code_in_its_detail() -> None:
    from billbridge.errors import RecordRejected
    from connectors.netsuite.errors import SessionExpired, fault_detail

    def detail(kind: str, code: str) -> str:
        ns = 'xmlns:platformFaults="urn:faults_2023_2.platform.webservices.netsuite.com"'
        return (
            f"<detail><platformFaults:{kind} {ns}><platformFaults:code>{code}"
            f"</platformFaults:code><platformFaults:message>m</platformFaults:message>"
            f"</platformFaults:{kind}></detail>"
        )

    def kind_of(kind: str, code: str) -> type:
        error = classify_fault(
            "m",
            detail_text=detail(kind, code),
            code="soapenv:Server.userException",
            under_load=False,
        )
        return type(error)

    assert fault_detail(detail("invalidSessionFault", "SESSION_TIMED_OUT")) == (
        "invalidSessionFault",
        "SESSION_TIMED_OUT",
    )
    assert kind_of("invalidSessionFault", "SESSION_TIMED_OUT") is SessionExpired
    assert kind_of("invalidAccountFault", "ACCT_TEMP_UNAVAILABLE") is RetryableError
    assert kind_of("invalidCredentialsFault", "INVALID_LOGIN_CREDENTIALS") is FatalError
    assert kind_of("invalidAccountFault", "INVALID_ACCOUNT") is FatalError
    assert kind_of("insufficientPermissionFault", "INSUFFICIENT_PERMISSION") is FatalError
    assert kind_of("invalidCredentialsFault", "SOME_NEW_CODE") is FatalError
    assert kind_of("exceededRequestSizeFault", "INVALID_KEY_OR_REF") is RecordRejected
