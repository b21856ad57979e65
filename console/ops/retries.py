"""Retrying failed video assets, for the GUI (Failed assets tab) and the CLI
(``main.py assets retry``) alike.

The contract (docs/contracts.md §1.3): ``POST /api/video-assets/retry`` per asset with its own
``Idempotency-Key`` (``services.assets_batch.retry_many``); a 409 means the status
changed meanwhile: it is reported as ``conflict`` and never retried blindly (the caller
re-reads the asset and shows it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from services.assets import AssetsClient
from services.assets_batch import retry_many
from services.assets_model import RetryResult


@dataclass(frozen=True)
class RetryOutcome:
    """Every asset's result (in request order) and the counts of the summary line."""

    results: tuple[RetryResult, ...]

    @property
    def retried(self) -> tuple[RetryResult, ...]:
        """The assets the API accepted to retry."""
        return tuple(r for r in self.results if r.ok)

    @property
    def conflicts(self) -> tuple[RetryResult, ...]:
        """The assets whose status changed meanwhile (HTTP 409)."""
        return tuple(r for r in self.results if r.outcome == "conflict")

    @property
    def refused(self) -> int:
        """How many were neither retried nor in conflict (404, 403, 5xx, …)."""
        return len(self.results) - len(self.retried) - len(self.conflicts)

    def summary(self) -> str:
        """``"Retry: 3 retried, 1 changed meanwhile, 0 refused or failed"``."""
        return (
            f"Retry: {len(self.retried)} retried, {len(self.conflicts)} changed meanwhile, "
            f"{self.refused} refused or failed"
        )


def unique_post_ids(post_ids: Iterable[str]) -> list[str]:
    """``post_ids`` without repeats, in first-seen order (one request per asset)."""
    return list(dict.fromkeys(post_ids))


async def retry_assets(
    client: AssetsClient,
    post_ids: Iterable[str],
    on_result: Callable[[RetryResult], None] | None = None,
) -> RetryOutcome:
    """Retry each asset once (the client drops repeats), ``on_result`` called as each
    answer arrives. Never raises for one asset's refusal (it is in its result)."""
    results = await retry_many(client, post_ids, on_result=on_result)
    return RetryOutcome(tuple(results))
