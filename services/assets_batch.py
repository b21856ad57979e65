"""Many requests to the video-assets API (docs/contracts.md §1.3) at once; no Qt.

Built on the one-request methods of ``services.assets.AssetsClient``:

- ``iter_pages`` walks the ops listing (``GET /api/video-assets``) page by page, following
  ``next_cursor`` until the last page, and stops a server that hands back a cursor twice;
- ``retry_many`` retries several assets (``POST /api/video-assets/retry``, one
  ``Idempotency-Key`` each), a bounded number at a time, reporting each outcome as it comes.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from services.assets import LIST_PATH, AssetsClient
from services.assets_model import AssetPage, RetryResult
from services.errors import BadResponse

__all__ = ["ResultCallback", "iter_pages", "retry_many"]

log = logging.getLogger(__name__)

#: ``on_result`` callback of ``retry_many``: a plain function or a coroutine function
ResultCallback = Callable[[RetryResult], Any]


async def iter_pages(client: AssetsClient, **filters: Any) -> AsyncIterator[AssetPage]:
    """Every page of the listing for ``filters`` (the keyword arguments of
    ``AssetsClient.list_assets``; ``limit`` is the page size, ``cursor`` where to start),
    following ``next_cursor`` until the last page.

    Raises what ``list_assets`` raises, and ``BadResponse`` when the server hands back a
    cursor it already gave (it would page forever).
    """
    cursor = filters.pop("cursor", None)
    seen: set[str] = {cursor} if cursor else set()
    while True:
        page = await client.list_assets(**filters, cursor=cursor)
        yield page
        if page.next_cursor is None:
            return
        if page.next_cursor in seen:
            raise BadResponse(
                f"The assets API repeated a page cursor on GET {LIST_PATH}: "
                "stopped paging to avoid a loop."
            )
        seen.add(page.next_cursor)
        cursor = page.next_cursor


async def retry_many(
    client: AssetsClient,
    post_ids: Iterable[str],
    *,
    concurrency: int = 4,
    on_result: ResultCallback | None = None,
) -> list[RetryResult]:
    """Retry several assets with ``client.retry``, each with its own idempotency key, at
    most ``concurrency`` requests at a time.

    A post id given more than once is retried once: the list holds one result per distinct
    post id, in the order of their first appearance. ``on_result(result)`` (a function or a
    coroutine function) is called as each request finishes; an exception in it is logged
    and does not stop the batch. Cancelling the call cancels the requests still running.

    Never raises for per-asset outcomes (see ``AssetsClient.retry``); raises
    ``ServiceError`` if the client is closed, ``ValueError`` for ``concurrency`` < 1 or an
    empty post id.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    unique = list(dict.fromkeys(post_ids))
    for post_id in unique:
        if not isinstance(post_id, str) or not post_id:
            raise ValueError("post ids must be non-empty strings")
    gate = asyncio.Semaphore(concurrency)

    async def one(post_id: str) -> RetryResult:
        async with gate:
            outcome = await client.retry(post_id)
        if on_result is not None:
            try:
                called = on_result(outcome)
                if inspect.isawaitable(called):
                    await called
            except Exception:
                log.exception("on_result failed for %s", post_id)
        return outcome

    tasks = [asyncio.ensure_future(one(post_id)) for post_id in unique]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        raise
