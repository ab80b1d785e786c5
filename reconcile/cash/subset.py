"""Bounded subset-sum over a customer's oldest open items, in integer minor units.

Dynamic programming over reachable sums (never above the target), remembering for each
sum whether it is reachable in one way or in several, and the preferred way: the one that
uses the oldest items (compare the lowest item where two combinations differ). Bounded by
the number of items and by the number of reachable sums, so one payment costs at most a
few milliseconds.
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


def subset_sum(amounts: list[int], target: int, *, max_states: int) -> SubsetResult | None:
    """Combination of ``amounts`` summing exactly to ``target``, or None.

    None also when the search exceeds ``max_states`` reachable sums: giving up is better
    than an unbounded search (callers treat it as "no candidate").
    """
    if target <= 0 or any(a <= 0 for a in amounts):
        return None
    # sum -> (ways capped at 2, preferred bitmask)
    reach: dict[int, tuple[int, int]] = {0: (1, 0)}
    for i, amount in enumerate(amounts):
        bit = 1 << i
        updates: dict[int, tuple[int, int]] = {}
        for total, (ways, mask) in reach.items():
            new_total = total + amount
            if new_total > target:
                continue
            cand = (ways, mask | bit)
            prev = updates.get(new_total) or reach.get(new_total)
            if prev is None:
                updates[new_total] = cand
            else:
                updates[new_total] = (min(2, prev[0] + cand[0]), _prefer(prev[1], cand[1]))
        reach.update(updates)
        if len(reach) > max_states:
            return None
    found = reach.get(target)
    if found is None:
        return None
    ways, mask = found
    indices = tuple(i for i in range(len(amounts)) if mask >> i & 1)
    return SubsetResult(indices, ways == 1)
