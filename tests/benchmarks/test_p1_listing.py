"""P1 (docs/architecture.md §5, Catalog): listing 10,000 games costs no more than the bare
pagination.

Catalog path: ``CatalogService.iter_game_pages`` (async, boto3 in the storage executor),
consumed by ``asyncio.run``. Baseline: a bare synchronous loop of
``list_objects_v2(Prefix="games/", Delimiter="/")`` pages on a boto3 client built by
``make_s3_client`` (same botocore settings as the app), on the same server and bucket.
Rounds alternate: one baseline round (``pedantic``'s untimed ``setup``) before each timed
catalog round, so both see the same server state and machine load; a warm-up round of
each is not counted.

Goals: median(catalog) / median(bare) <= 1.2; the first page is out (and could be painted)
in under 25% of the whole listing's time.
"""

from __future__ import annotations

import gc
import statistics
import time

import pytest

from services.catalog import CatalogService
from services.storage import Storage, make_s3_client
from tests.benchmarks.conftest import run_async

pytestmark = pytest.mark.timeout(600)

ROUNDS = 5
RATIO_GOAL = 1.2
FIRST_PAGE_GOAL = 0.25  # fraction of the full listing time


def bare_listing(client, bucket: str) -> list[str]:
    """The baseline: paginated ListObjectsV2 with a delimiter, nothing else."""
    ids: list[str] = []
    params = {"Bucket": bucket, "Prefix": "games/", "Delimiter": "/"}
    while True:
        answer = client.list_objects_v2(**params)
        ids.extend(p["Prefix"][len("games/") : -1] for p in answer.get("CommonPrefixes", ()))
        if not answer.get("IsTruncated"):
            return ids
        params["ContinuationToken"] = answer["NextContinuationToken"]


def test_p1_listing_10000_games(benchmark, catalog_bucket):
    config = catalog_bucket.config
    storage = Storage(config)
    catalog = CatalogService(storage)
    client = make_s3_client(config)
    bare_times: list[float] = []
    catalog_runs: list[dict] = []

    def baseline_round() -> None:
        """Runs untimed by pedantic before each timed catalog round; collects garbage
        first so that neither side pays for the other's allocations."""
        gc.collect()
        started = time.perf_counter()
        ids = bare_listing(client, config.bucket)
        bare_times.append(time.perf_counter() - started)
        assert len(ids) == catalog_bucket.game_count
        gc.collect()

    async def list_through_catalog() -> dict:
        started = time.perf_counter()
        first_page = None
        ids: list[str] = []
        pages = 0
        async for page in catalog.iter_game_pages():
            if first_page is None:
                first_page = time.perf_counter() - started
            ids.extend(page)
            pages += 1
        return {
            "seconds": time.perf_counter() - started,
            "first_page": first_page,
            "ids": ids,
            "pages": pages,
        }

    def catalog_round() -> int:
        run = run_async(list_through_catalog())
        catalog_runs.append(run)
        return len(run["ids"])

    try:
        baseline_round()  # warm-up: connections, moto's first big listing
        catalog_round()
        bare_times.clear()
        catalog_runs.clear()
        count = benchmark.pedantic(catalog_round, setup=baseline_round, rounds=ROUNDS, iterations=1)
    finally:
        storage.close()

    assert count == catalog_bucket.game_count
    assert all(len(r["ids"]) == catalog_bucket.game_count for r in catalog_runs)
    assert len(set(catalog_runs[-1]["ids"])) == catalog_bucket.game_count
    catalog_times = [r["seconds"] for r in catalog_runs]
    first_pages = [r["first_page"] for r in catalog_runs]
    catalog_median = statistics.median(catalog_times)
    bare_median = statistics.median(bare_times)
    first_median = statistics.median(first_pages)
    ratio = catalog_median / bare_median
    first_fraction = first_median / catalog_median
    figures = {
        "games": catalog_bucket.game_count,
        "pages": catalog_runs[-1]["pages"],
        "rounds": ROUNDS,
        "catalog_median_s": round(catalog_median, 4),
        "bare_median_s": round(bare_median, 4),
        "ratio": round(ratio, 3),
        "ratio_goal": RATIO_GOAL,
        "first_page_median_s": round(first_median, 4),
        "first_page_fraction": round(first_fraction, 3),
        "first_page_goal_fraction": FIRST_PAGE_GOAL,
        "catalog_times_s": [round(t, 4) for t in catalog_times],
        "bare_times_s": [round(t, 4) for t in bare_times],
        "first_page_times_s": [round(t, 4) for t in first_pages],
    }
    benchmark.extra_info.update(figures)
    print(
        f"\n[P1] listing {catalog_bucket.game_count} games in {figures['pages']} pages, "
        f"median of {ROUNDS} rounds each\n"
        f"[P1]   catalog (CatalogService.iter_game_pages): {catalog_median * 1000:.1f} ms "
        f"(rounds: {', '.join(f'{t * 1000:.0f}' for t in catalog_times)} ms)\n"
        f"[P1]   bare boto3 list_objects_v2 loop:          {bare_median * 1000:.1f} ms "
        f"(rounds: {', '.join(f'{t * 1000:.0f}' for t in bare_times)} ms)\n"
        f"[P1]   ratio catalog/bare = {ratio:.3f} (goal <= {RATIO_GOAL})\n"
        f"[P1]   first page after {first_median * 1000:.1f} ms = {first_fraction:.1%} of the "
        f"full listing (goal < {FIRST_PAGE_GOAL:.0%})"
    )
    assert ratio <= RATIO_GOAL, f"catalog listing is {ratio:.2f}x the bare pagination"
    assert first_fraction < FIRST_PAGE_GOAL, (
        f"first page took {first_fraction:.0%} of the listing time"
    )
