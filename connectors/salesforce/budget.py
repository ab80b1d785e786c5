"""Self-throttling on the daily API allotment reported in ``Sforce-Limit-Info``.

A run may spend ``max_daily_api_share`` of the allotment and never push overall use past
``stop_at_overall_share``; past either line the run stops cleanly (``BudgetExhausted``)
and resumes later instead of sleeping for hours.
"""

from __future__ import annotations

from decimal import Decimal

from simple_salesforce import Salesforce

from billbridge.errors import BudgetExhausted


class ApiBudget:
    def __init__(self, max_run_share: Decimal, stop_overall_share: Decimal) -> None:
        self.max_run_share = max_run_share
        self.stop_overall_share = stop_overall_share
        self.used: int | None = None
        self.total: int | None = None
        self.baseline: int | None = None

    def observe(self, header: str | None) -> None:
        if not header:
            return
        usage = Salesforce.parse_api_usage(header).get("api-usage")
        if usage is None:
            return
        self.used, self.total = usage.used, usage.total
        if self.baseline is None:
            self.baseline = usage.used

    def start_run(self) -> None:
        """The next observation becomes this run's baseline."""
        self.baseline = self.used

    @property
    def run_used(self) -> int:
        if self.used is None or self.baseline is None:
            return 0
        return self.used - self.baseline

    def check(self) -> None:
        if self.used is None or not self.total:
            return
        if self.used >= self.stop_overall_share * self.total:
            raise BudgetExhausted(
                f"Salesforce API use at {self.used}/{self.total} reached the "
                f"{self.stop_overall_share:.0%} ceiling; resume later"
            )
        if self.run_used >= self.max_run_share * self.total:
            raise BudgetExhausted(
                f"this run used {self.run_used} of {self.total} daily Salesforce API calls "
                f"(its {self.max_run_share:.0%} share); resume later"
            )
