"""Bounded subset-sum over a customer's oldest open items, in integer minor units.

Meet in the middle: the reachable sums (never above the target) of the older and of the
newer half of the items are built separately, at most 2^(n/2) each, then joined on
``target - sum``. For each sum we keep whether it is reachable in one way or several, and
the preferred way: the one using the oldest items (compare the lowest item where two
combinations differ). With at most 20 items a payment costs well under a millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SubsetResult:
    #: Indices into the amounts (oldest first), of the preferred combination.
    indices: tuple[int, ...]
    #: True when no other combination of the items reaches the target.
    unique: bool


def _prefer(a: int, b: int) -> int:
    """Of two bitmasks (bit i = item i, 0 oldest), the one holding the oldest differing item."""
    diff = a ^ b
    low = diff & -diff
    return a if a & low else b


def _reachable(
    amounts: list[int], offset: int, target: int, max_states: int
) -> dict[int, tuple[int, int]] | None:
    """sum -> (ways capped at 2, preferred bitmask) over all subsets of ``amounts``."""
    reach: dict[int, tuple[int, int]] = {0: (1, 0)}
    for i, amount in enumerate(amounts):
        bit = 1 << (offset + i)
        for total, (ways, mask) in list(reach.items()):
            new_total = total + amount
            if new_total > target:
                continue
            cand = (ways, mask | bit)
            prev = reach.get(new_total)
            if prev is None:
                reach[new_total] = cand
            else:
                reach[new_total] = (min(2, prev[0] + cand[0]), _prefer(prev[1], cand[1]))
        if len(reach) > max_states:
            return None
    return reach


def subset_sum(amounts: list[int], target: int, *, max_states: int) -> SubsetResult | None:
    """Combination of ``amounts`` summing exactly to ``target``, or None.

    None also when either half has more than ``max_states`` reachable sums: giving up is
    better than an unbounded search (callers treat it as "no candidate").
    """
    if target <= 0 or any(a <= 0 for a in amounts):
        return None
    mid = len(amounts) // 2
    older = _reachable(amounts[:mid], 0, target, max_states)
    newer = _reachable(amounts[mid:], mid, target, max_states)
    if older is None or newer is None:
        return None
    ways = 0
    best: int | None = None
    for total, (w_old, m_old) in older.items():
        match = newer.get(target - total)
        if match is None:
            continue
        ways += w_old * match[0]
        mask = m_old | match[1]
        best = mask if best is None else _prefer(best, mask)
    if best is None:
        return None
    indices = tuple(i for i in range(len(amounts)) if best >> i & 1)
    return SubsetResult(indices, ways == 1)
