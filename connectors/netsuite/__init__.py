"""NetSuite connector: REST record API + SuiteQL (primary), SOAP via netsuitesdk (second).

Public API::

    from connectors.netsuite import NetSuiteSettings, M2MAuth, TBAAuth, connect
    conn = connect(settings)                    # no network until first use
    stream = conn.read("invoice", since)        # canonical records; stream.cursor after
    scan = conn.read_raw("salesOrder", since)   # vendor dicts; scan.cursor() after
    conn.lookup("customer", ["SF-001..."])      # by our external id
    conn.write(intents)                         # one WriteResult per intent, in order
    conn.check(); conn.describe("customer")

Entities: customer, product (item), invoice, credit_memo (creditMemo), payment
(customerPayment), contract (salesOrder), journal_line (journalEntry lines); subsidiary is
raw only. NetSuite record names are accepted as aliases.
"""

from __future__ import annotations

from typing import Any

from connectors.netsuite.connector import NetSuiteConnector
from connectors.netsuite.settings import M2MAuth, NetSuiteSettings, TBAAuth


def connect(settings: NetSuiteSettings, **kwargs: Any) -> NetSuiteConnector:
    """Build the connector; ``kwargs`` (session, sleep, now, soap) are for tests."""
    return NetSuiteConnector(settings, **kwargs)


__all__ = ["M2MAuth", "NetSuiteConnector", "NetSuiteSettings", "TBAAuth", "connect"]
