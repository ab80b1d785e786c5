"""Customer identification: payer account, normalised-name hash, then BLOCKED fuzzy.

Fuzzy matching only ever scores the customers that share a cheap blocking key with the
payer name (see :func:`block_keys`); brute force against every customer is both slow
(547 s for 28k lines in the reference test) and less accurate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from reconcile.cash.model import CashPolicy, CustomerRef, PartyRule
from reconcile.cash.normalize import block_keys, name_keys, normalize_account, normalize_name

_SCORERS = {"token_sort_ratio": fuzz.token_sort_ratio, "token_set_ratio": fuzz.token_set_ratio}


@dataclass(frozen=True, slots=True)
class Identification:
    """Who paid. ``customer_id`` is None when unknown or ambiguous (see ``candidates``)."""

    customer_id: str | None
    rule: PartyRule | None
    score: float = 100.0
    #: Competing customers when the identification was rejected as ambiguous.
    candidates: tuple[str, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return self.customer_id is None and len(self.candidates) > 1


UNKNOWN = Identification(None, None, 0.0)


class CustomerIndex:
    """Exact and blocked-fuzzy lookups over the customer master."""

    def __init__(
        self,
        customers: Iterable[CustomerRef],
        policy: CashPolicy,
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self._policy = policy
        #: Learned payer name -> customer id (from accepted matches), by normalised name.
        self._aliases = {normalize_name(k): v for k, v in (aliases or {}).items()}
        self._scorer = _SCORERS[policy.fuzzy_scorer]
        self._by_account: dict[str, set[str]] = {}
        self._by_name: dict[str, set[str]] = {}
        self._blocks: dict[str, list[tuple[str, str]]] = {}
        self.names: dict[str, str] = {}
        # sorted so that identical input in any order builds identical blocks
        for cust in sorted(customers, key=lambda c: c.customer_id):
            self.names[cust.customer_id] = cust.name
            for account in cust.bank_accounts:
                key = normalize_account(account)
                if key:
                    self._by_account.setdefault(key, set()).add(cust.customer_id)
            for norm in name_keys(cust.name):
                if not norm:
                    continue
                self._by_name.setdefault(norm, set()).add(cust.customer_id)
                for block in block_keys(norm):
                    self._blocks.setdefault(block, []).append((cust.customer_id, norm))

    def __contains__(self, customer_id: object) -> bool:
        return customer_id in self.names

    def exact(self, payer_account: str | None, payer_name: str | None) -> Identification:
        """Account, alias, then normalised name. Several customers on one key is ambiguous."""
        key = normalize_account(payer_account)
        keys = [k for k in name_keys(payer_name) if k]
        named = set().union(*(self._by_name.get(k, set()) for k in keys))
        if key and key in self._by_account:
            found = self._by_account[key]
            if len(found) == 1:
                return Identification(next(iter(found)), PartyRule.ACCOUNT)
            # one account, several customers (a shared treasury account): the name decides
            if len(found & named) == 1:
                return Identification(next(iter(found & named)), PartyRule.ACCOUNT)
            return Identification(None, PartyRule.ACCOUNT, 0.0, tuple(sorted(found)))
        for norm in keys:
            if norm in self._aliases and self._aliases[norm] in self.names:
                return Identification(self._aliases[norm], PartyRule.ALIAS)
        if len(named) == 1:
            return Identification(next(iter(named)), PartyRule.NAME)
        if named:
            return Identification(None, PartyRule.NAME, 0.0, tuple(sorted(named)))
        return UNKNOWN

    def fuzzy(self, payer_name: str | None) -> Identification:
        """Best blocked fuzzy candidate above the cutoff; a tie with the runner-up fails."""
        scores: dict[str, float] = {}  # best score per customer over its names' keys
        for norm in name_keys(payer_name):
            if not norm:
                continue
            pool: dict[tuple[str, str], None] = {}
            for block in block_keys(norm):
                for entry in self._blocks.get(block, ()):
                    pool[entry] = None
            if not pool:
                continue
            entries = sorted(pool)
            for _, score, i in process.extract(
                norm,
                [name for _, name in entries],
                scorer=self._scorer,
                limit=None,
                score_cutoff=self._policy.fuzzy_cutoff,
            ):
                customer_id = entries[i][0]
                scores[customer_id] = max(scores.get(customer_id, 0.0), float(score))
        if not scores:
            return UNKNOWN
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        top_id, top_score = ranked[0]
        if len(ranked) > 1 and top_score - ranked[1][1] < self._policy.fuzzy_tie_margin:
            tied = tuple(sorted({top_id, ranked[1][0]}))
            return Identification(None, PartyRule.FUZZY, top_score, tied)
        return Identification(top_id, PartyRule.FUZZY, top_score)
