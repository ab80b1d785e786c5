"""A vendor's rejection reason is stored (outbox events, the exception row) and reported (HTML,
XLSX, CSV, e-mail). Some gateways echo the request's Authorization header in it: the live
bearer token must not reach the store or the AR report."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from billbridge import logs
from billbridge.cli.main import app
from billbridge.state import Store
from billbridge.state.schema import ExceptionRow, OutboxEventRow
from billbridge.testing import Reply, Request, fake_zuora
from billbridge.testing.fake_salesforce import FakeSalesforce
from billbridge.testing.fake_zuora import FakeZuora
from connectors.salesforce import SalesforceConnector, SalesforceSettings
from connectors.zuora import ZuoraConnector, ZuoraSettings
from sync.runner import run_job
from sync.settings import SyncJobSettings


class EchoingZuora(FakeZuora):
    """Zuora behind a gateway that rejects every write, quoting the request's headers."""

    def __init__(self) -> None:
        super().__init__()
        self.echoed: list[str] = []

    def _route(self, request: Request) -> Reply:
        if request.method in ("POST", "PUT") and request.path.startswith("/v1/accounts"):
            header = request.headers.get("Authorization", "")
            self.echoed.append(header.removeprefix("Bearer "))
            return fake_zuora._fail(53100320, f"invalid request, headers: Authorization={header}")
        return super()._route(request)


JOB = SyncJobSettings(
    name="sf_to_zuora",
    source="sf",
    target="zuora",
    target_kind="zuora",
    catalog={"SKU-SEAT": ("PRP-SEAT", "PRPC-SEAT")},
    max_attempts=1,
)


@pytest.fixture
def rejected_run(tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    """A sync run whose account write Zuora rejected with the echoed bearer token."""
    logs.clear_secrets()
    state = tmp_path / "state.db"
    store = Store(f"sqlite:///{state}")
    with FakeSalesforce(multi_currency=True) as sf, EchoingZuora() as zu:
        zu.add_product(
            "PRP-SEAT",
            "SKU-SEAT",
            [{"productRatePlanChargeId": "PRPC-SEAT", "name": "Seat", "price": "10"}],
        )
        acc = sf.add("Account", Name="Acme", BillingCity="Berlin", CurrencyIsoCode="USD")
        opp = sf.add(
            "Opportunity",
            Name="Acme 2025",
            AccountId=acc,
            IsWon=True,
            IsClosed=True,
            StageName="Closed Won",
            CloseDate="2025-01-01",
            CurrencyIsoCode="USD",
        )
        seat = sf.add(
            "Product2", Name="Seat", ProductCode="SKU-SEAT", Family="Subscription", IsActive=True
        )
        sf.add(
            "OpportunityLineItem",
            OpportunityId=opp,
            Product2Id=seat,
            ProductCode="SKU-SEAT",
            Quantity=Decimal(3),
            UnitPrice=Decimal("12.50"),
            ServiceDate="2025-01-01",
        )
        source = SalesforceConnector(
            SalesforceSettings(
                instance_url=sf.url,
                auth_mode="client_credentials",
                consumer_key="fake-key",
                consumer_secret="fake-secret",
                ca_bundle=sf.ca_file,
                bulk_threshold=None,
                request_timeout=5.0,
            ),
            sleep=lambda _s: None,
        )
        target = ZuoraConnector(
            ZuoraSettings(
                tenant="us_api_sandbox",
                base_url=zu.url,
                client_id="fake-client",
                client_secret="fake-secret",
                read_timeout=5.0,
            ),
            sleep=lambda _s: None,
        )
        report = run_job(JOB, source=source, target=target, store=store, mode="apply")
        echoed = list(zu.echoed)
    store.close()
    assert report.counts["rejected"] == 1 and echoed
    yield state, echoed
    logs.clear_secrets()


def test_rejection_text_is_scrubbed_in_the_store(rejected_run: tuple[Path, list[str]]) -> None:
    state, tokens = rejected_run
    store = Store(f"sqlite:///{state}")
    try:
        with store.session() as s:
            events = [e.message or "" for e in s.scalars(select(OutboxEventRow))]
            details = [json.dumps(r.details) for r in s.scalars(select(ExceptionRow))]
    finally:
        store.close()
    assert any("53100320" in m for m in events)
    assert any("53100320" in d for d in details)
    for text in events + details:
        assert not any(token in text for token in tokens), text


def test_report_scrubs_outside_text_whatever_the_store_holds(
    rejected_run: tuple[Path, list[str]], tmp_path: Path
) -> None:
    """A row an older version stored unscrubbed, read by another process (the token was
    never registered there): the report's HTML, XLSX, CSV and e-mail still carry no token."""
    state, tokens = rejected_run
    raw = f"Zuora refused POST /v1/accounts: 53100320: Authorization=Bearer {tokens[0]}"
    store = Store(f"sqlite:///{state}")
    try:
        with store.session() as s:
            for row in s.scalars(select(ExceptionRow)):
                s.execute(
                    update(ExceptionRow)
                    .where(ExceptionRow.exception_id == row.exception_id)
                    .values(details={**row.details, "message": raw})
                )
    finally:
        store.close()
    logs.clear_secrets()
    out = tmp_path / "out"
    config = tmp_path / "cfg.yaml"
    config.write_text(
        f"state:\n  url: sqlite:///{state}\n"
        f"reports:\n  recipients: [ar@example.com]\n  out_dir: {out}\n  attach_csv: true\n"
    )
    runner = CliRunner()
    rendered = runner.invoke(
        app, ["report", "render", "--out", str(out), "--csv", "-c", str(config)]
    )
    assert rendered.exit_code == 0, rendered.output
    sent = runner.invoke(app, ["report", "send", "-c", str(config)])
    assert sent.exit_code == 0, sent.output
    blobs: list[bytes] = []
    for path in out.iterdir():
        data = path.read_bytes()
        if path.suffix == ".xlsx":
            book = zipfile.ZipFile(io.BytesIO(data))
            data = b"".join(book.read(n) for n in book.namelist())
        blobs.append(data)
    html = (out / "report.html").read_text()
    assert "53100320" in html and "Bearer ***" in html
    assert len(blobs) >= 4  # html, xlsx, csv, eml
    for blob in blobs:
        assert tokens[0].encode() not in blob
