"""997/999 functional acknowledgements, and which of our sent groups they cover."""

from __future__ import annotations

from collections.abc import Iterable

from connectors.feeds.model import Acknowledgement
from connectors.feeds.x12.envelope import TransactionSet
from connectors.feeds.x12.values import is_digits

#: AK9/IK9 group statuses that mean the partner accepted the group.
_ACCEPTED = {"A", "E"}  # E: accepted, errors noted


def extract_ack(ts: TransactionSet) -> list[Acknowledgement]:
    acks: list[Acknowledgement] = []
    group: str | None = None
    functional_id: str | None = None
    statuses: dict[str, str] = {}
    errors: list[str] = []
    pending_set: str | None = None
    for seg in ts.body:
        tag = seg.tag
        if tag == "AK1":
            functional_id, group = seg.el(1) or None, seg.el(2)
            statuses, errors = {}, []
        elif tag == "AK2":
            pending_set = seg.el(2)
        elif tag in ("AK3", "IK3"):
            errors.append(
                f"set {pending_set}: segment {seg.el(1)} at position {seg.el(2)} error {seg.el(4)}"
            )
        elif tag in ("AK4", "IK4"):
            errors.append(f"set {pending_set}: element {seg.el(1)} error {seg.el(3)}")
        elif tag in ("AK5", "IK5") and pending_set is not None:
            statuses[pending_set] = seg.el(1)
            codes = [seg.el(i) for i in range(2, 7) if seg.el(i)]
            if codes:
                errors.append(f"set {pending_set}: {seg.el(1)} {' '.join(codes)}")
            pending_set = None
        elif tag == "AK9" and group is not None:
            codes = [seg.el(i) for i in range(5, 10) if seg.el(i)]
            if codes:
                errors.append(f"group {group}: {seg.el(1)} {' '.join(codes)}")
            acks.append(
                Acknowledgement(
                    group_control_number=group,
                    functional_id=functional_id,
                    accepted=seg.el(1) in _ACCEPTED,
                    transaction_statuses=dict(statuses),
                    errors=list(errors),
                )
            )
            group = None
    return acks


def _norm(control: str) -> str:
    text = control.strip()
    return str(int(text)) if is_digits(text) else text


def acknowledged_groups(
    sent: Iterable[str | int], acks: Iterable[Acknowledgement]
) -> dict[str, str]:
    """Each sent group control number -> "accepted", "rejected" or "pending".

    The latest acknowledgement for a group wins (a resend may be accepted after a reject).
    Control numbers compare without padding and leading zeros.
    """
    status: dict[str, str] = {}
    for ack in acks:
        status[_norm(ack.group_control_number)] = "accepted" if ack.accepted else "rejected"
    return {str(s): status.get(_norm(str(s)), "pending") for s in sent}
