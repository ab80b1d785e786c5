"""One NetSuite account id, two spellings: the host form and the realm form.

``1234567_SB1`` is the account as configured. Hosts need lower case with ``-``
(``1234567-sb1.suitetalk.api.netsuite.com``; an underscore gives an unresolvable host) and
the realm / SOAP ``account`` needs upper case with ``_`` (lower-case ``_sb1`` fails with
"Invalid login attempt").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ACCOUNT = re.compile(r"^(?P<num>[0-9A-Za-z]+)(?:[_-](?P<kind>SB|RP|TD)(?P<n>\d+))?$", re.I)


@dataclass(frozen=True)
class AccountId:
    realm: str  # 1234567_SB1
    host_prefix: str  # 1234567-sb1
    sandbox: bool

    @property
    def rest_host(self) -> str:
        return f"{self.host_prefix}.suitetalk.api.netsuite.com"

    @property
    def rest_base_url(self) -> str:
        return f"https://{self.rest_host}/services/rest/"

    @property
    def token_url(self) -> str:
        return f"https://{self.rest_host}/services/rest/auth/oauth2/v1/token"


def parse_account(value: str) -> AccountId:
    """Validate an account id in either spelling and derive both forms."""
    text = value.strip()
    match = _ACCOUNT.match(text)
    if not match:
        raise ValueError(
            f"NetSuite account {value!r} is not an account id such as 1234567 or 1234567_SB1"
        )
    num = match["num"].upper()
    if match["kind"]:
        suffix = f"{match['kind'].upper()}{match['n']}"
        return AccountId(
            f"{num}_{suffix}", f"{num}-{suffix}".lower(), match["kind"].upper() == "SB"
        )
    return AccountId(num, num.lower(), False)
