"""OAuth access tokens fetched at run time are scrubbed like configured secrets: a vendor
(or a gateway in front of it) that echoes the Authorization header in an error body must
not put the live bearer token into a log line or an error message."""

from __future__ import annotations

import io

import pytest
import responses
import structlog
from responses import matchers

from billbridge import logs
from billbridge.errors import FatalError
from connectors.common.tokens import TokenCache
from connectors.zuora import ZuoraConnector, ZuoraSettings
from tests.secret_leaks_helpers import ZUORA, zuora_token

TOKEN = "6c1b5f0e2a7d4c3b9e8f01a2b3c4d5e6"


def test_zuora_bearer_token_echoed_in_a_403_is_scrubbed(rsps: responses.RequestsMock) -> None:
    logs.clear_secrets()
    zuora_token(
        rsps, TOKEN, scope="entity.1 platform.write service.usage.update tenant.1", jti="9ba7c7f4"
    )
    rsps.get(
        f"{ZUORA}/v1/accounts/A00000001",
        status=403,
        json={
            "message": f"Authorization: Bearer {TOKEN} has no permission for this resource",
        },
        match=[matchers.header_matcher({"Authorization": f"Bearer {TOKEN}"})],
    )
    zuora = ZuoraConnector(
        ZuoraSettings(
            tenant="us_api_sandbox", client_id="cid-1", client_secret="zuora-secret-1234"
        ),
        sleep=lambda _s: None,
    )
    buf = io.StringIO()
    logs.configure(fmt="json", level="DEBUG", stream=buf)
    with pytest.raises(FatalError) as caught:
        zuora.lookup("customer", ["A00000001"])
    assert TOKEN in str(caught.value)  # the vendor's text, as the exception carries it
    structlog.get_logger("test").error("zuora.failed", error=str(caught.value))
    assert TOKEN not in logs.scrub_text(str(caught.value))
    assert TOKEN not in buf.getvalue()


def test_only_the_most_recent_runtime_tokens_are_kept() -> None:
    """A long-running ``serve`` renews tokens for months: the redaction set stays bounded,
    the current token is always in it, and configured secrets are never evicted."""
    logs.clear_secrets()
    logs.register_secret("configured-secret-value")
    issued = iter(f"tok-{n:06d}-abcdef" for n in range(logs.RUNTIME_KEPT + 50))
    cache = TokenCache(lambda: (next(issued), 0.0), margin=0.0)
    for _ in range(logs.RUNTIME_KEPT + 50):
        current = cache.get().get_secret_value()
    assert logs.scrub_text(f"Bearer {current}") == "Bearer ***"
    assert logs.scrub_text("x tok-000000-abcdef") == "x tok-000000-abcdef"
    assert logs.scrub_text("configured-secret-value") == "***"
    logs.clear_secrets()
