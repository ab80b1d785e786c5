"""The file connector passes the shared connector contract, on CSV and on XLSX."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.files import FileConnector
from mappings import default_spec
from tests.connectors.contract import ConnectorContract, Harness

EXPORTS = Path(__file__).resolve().parents[1] / "mappings" / "fixtures" / "exports"


class TestFileConnectorCsv(ConnectorContract):
    @pytest.fixture
    def harness(self) -> Harness:
        spec = default_spec("exports/netsuite_invoices")
        return Harness(
            connector=FileConnector(EXPORTS / "netsuite_invoices.csv", spec),
            entity="invoice",
            expected_count=2,
            known_external_id="8938",
            lookup_entity="invoice",
        )


class TestFileConnectorXlsx(ConnectorContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> Harness:
        from openpyxl import Workbook

        workbook = Workbook()
        sheet = workbook.active
        sheet.append(
            [
                "Account Number",
                "Booking Date",
                "Value Date",
                "Amount",
                "Currency",
                "Description",
                "Counterparty Name",
                "Counterparty Account",
                "Reference",
                "Bank Reference",
                "Transaction Type",
            ]
        )
        sheet.append(
            [
                "DE89370400440532013000",
                "2024-05-20",
                "2024-05-20",
                7222.5,
                "USD",
                "INV10045",
                "Acme Corp",
                None,
                None,
                "BR1",
                "CREDIT",
            ]
        )
        sheet.append(
            [
                "DE89370400440532013000",
                "2024-05-21",
                "2024-05-21",
                -150,
                "USD",
                "fees",
                None,
                None,
                None,
                "BR2",
                "FEE",
            ]
        )
        path = tmp_path / "statement.xlsx"
        workbook.save(path)
        return Harness(
            connector=FileConnector(path, default_spec("exports/bank_statement"), system="bank"),
            entity="bank_transaction",
            expected_count=2,
            known_external_id="DE89370400440532013000-BR2",
            lookup_entity="bank_transaction",
        )
