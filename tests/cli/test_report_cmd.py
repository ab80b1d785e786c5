from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from email import message_from_bytes
from pathlib import Path

from typer.testing import CliRunner

from billbridge.cli.report_cmd import app
from billbridge.state import Store
from reconcile.engine import ExceptionCandidate
from reconcile.exceptions import ExceptionStore, exception_id


def _seed(url: str) -> None:
    store = Store(url)
    keys = {"invoice_number": "INV-77"}
    cand = ExceptionCandidate(
        exception_id=exception_id("billing_vs_erp_invoices", keys, "NOT_SYNCED"),
        recon="billing_vs_erp_invoices",
        category="NOT_SYNCED",
        keys=keys,
        fingerprint="f1",
        details={"reason": "never reached the ERP"},
        severity="high",
        amount=Decimal("1250.00"),
        currency="USD",
    )
    ExceptionStore(store).record_run(
        "billing_vs_erp_invoices", "r1", [cand], datetime(2026, 11, 20, tzinfo=UTC)
    )
    store.close()


def test_send_without_smtp_writes_an_eml_with_the_open_exception(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    _seed(url)
    cfg = tmp_path / "billbridge.yaml"
    cfg.write_text(
        f"state:\n  url: {url}\nreports:\n  recipients: [ar@example.com]\n"
        f"  out_dir: {tmp_path / 'out'}\n"
    )
    result = CliRunner().invoke(app, ["send", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    (eml,) = (tmp_path / "out").glob("*.eml")
    msg = message_from_bytes(eml.read_bytes())
    html = next(p for p in msg.walk() if p.get_content_type() == "text/html")
    body = html.get_payload(decode=True).decode()
    assert "INV-77" in body and "never reached the ERP" in body


def test_render_writes_html_and_xlsx(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    _seed(url)
    cfg = tmp_path / "billbridge.yaml"
    cfg.write_text(f"state:\n  url: {url}\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["render", "--out", str(out), "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert "INV-77" in (out / "report.html").read_text()
    assert (out / "exceptions.xlsx").stat().st_size > 0
