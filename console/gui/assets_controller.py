"""Qt-facing controller of the video-assets API: listing with filters and lazy paging, an
asset's event timeline, safe (bulk) retry, and following retried assets until they settle."""

from __future__ import annotations

import asyncio
import time

from PySide6.QtCore import QObject, Signal

from console.context import AppContext
from console.gui.operation import Operations
from console.ops.retries import retry_assets, unique_post_ids
from services.assets_model import Asset, AssetFilter, AssetStatus
from services.hls import parse_playlist
from services.playback import multivariant_source, source_for_playlist

PAGE_SIZE = 100
#: how often retried assets are re-read while they move through the lifecycle, seconds
FOLLOW_INTERVAL_S = 1.0
#: give up following a retried asset after this many seconds
FOLLOW_TIMEOUT_S = 120.0
SETTLED = frozenset({AssetStatus.COMPLETED, AssetStatus.FAILED})


class AssetsController(QObject):
    """Runs ``AssetsClient`` calls on the qasync loop and re-emits typed signals.

    Signals (GUI thread): ``listing_started()``; ``page_loaded(list[Asset], bool)`` a page
    and whether more pages exist; ``detail_loaded(Asset, tuple[ProcessingEvent])``;
    ``asset_updated(Asset)`` a newer version of a row; ``retry_started(int)`` how many;
    ``retry_result(RetryResult)`` one outcome; ``retry_finished(list[RetryResult])``;
    ``play_ready(PlaybackSource)``; ``error(str)``; ``status(str)``.
    """

    listing_started = Signal()
    page_loaded = Signal(list, bool)
    detail_loaded = Signal(object, tuple)
    asset_updated = Signal(object)
    retry_started = Signal(int)
    retry_result = Signal(object)
    retry_finished = Signal(list)
    play_ready = Signal(object)
    error = Signal(str)
    status = Signal(str)

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.filter = AssetFilter()
        self._cursor: str | None = None
        self._listing: asyncio.Task | None = None
        self._ops = Operations(self.error.emit)
        self._following: set[str] = set()
        self._selected: str | None = None

    @property
    def available(self) -> bool:
        return getattr(self.context, "assets", None) is not None

    @property
    def target_label(self) -> str:
        """Where the assets live, for confirmations: ``DEMO (embedded local stack)`` or the
        profile name."""
        return self.context.title

    @property
    def problem(self) -> str:
        """Why the assets API is not available (empty when it is)."""
        if self.available:
            return ""
        return getattr(self.context, "assets_problem", "") or (
            "This profile has no video-assets API URL."
        )

    def load(self, asset_filter: AssetFilter | None = None) -> None:
        """List from the first page with ``asset_filter`` (the current one when None)."""
        if not self.available:
            self.error.emit(self.problem)
            return
        if asset_filter is not None:
            self.filter = asset_filter
        if self._listing and not self._listing.done():
            self._listing.cancel()
        self._cursor = None
        self.listing_started.emit()
        self._listing = self._ops.run(self._page())

    def fetch_more(self) -> None:
        """Load the next page, if any and if none is loading (lazy paging)."""
        if self._cursor and (self._listing is None or self._listing.done()):
            self._listing = self._ops.run(self._page())

    async def _page(self) -> None:
        started = time.perf_counter()
        page = await self.context.assets.list_assets(
            **self.filter.query(), limit=PAGE_SIZE, cursor=self._cursor
        )
        self._cursor = page.next_cursor
        self.page_loaded.emit(list(page.items), page.next_cursor is not None)
        self.status.emit(
            f"{len(page.items)} assets loaded in {time.perf_counter() - started:.2f} s"
            + (" (scroll for more)" if page.next_cursor else "")
        )

    def select(self, post_id: str) -> None:
        """Load one asset and its event timeline; emits ``detail_loaded`` or ``error``."""
        self._selected = post_id
        self._ops.run(self._detail(post_id))

    async def _detail(self, post_id: str) -> None:
        asset, events = await asyncio.gather(
            self.context.assets.get_asset(post_id), self.context.assets.events(post_id)
        )
        if self._selected == post_id:
            self.detail_loaded.emit(asset, tuple(events))
        self.asset_updated.emit(asset)

    def retry(self, post_ids: list[str]) -> None:
        """Retry these assets (each request with its own idempotency key), report each
        outcome, then follow the retried ones until they complete or fail again."""
        if not self.available:
            self.error.emit(self.problem)
            return
        unique = unique_post_ids(post_ids)
        self.retry_started.emit(len(unique))
        self._ops.run(self._retry(unique))

    async def _retry(self, post_ids: list[str]) -> None:
        self.status.emit(f"Retrying {len(post_ids)} assets…")
        outcome = await retry_assets(self.context.assets, post_ids, self.retry_result.emit)
        self.retry_finished.emit(list(outcome.results))
        self.status.emit(outcome.summary())
        retried = outcome.retried
        for result in outcome.results:
            if result.asset is not None:
                self.asset_updated.emit(result.asset)
            elif result.outcome == "conflict":
                self._ops.run(
                    self.context.assets.get_asset(result.post_id), success=self.asset_updated.emit
                )
        for result in retried:
            if result.post_id not in self._following:
                self._following.add(result.post_id)
                self._ops.run(self._follow(result.post_id))

    async def _follow(self, post_id: str) -> None:
        deadline = time.monotonic() + FOLLOW_TIMEOUT_S
        try:
            while time.monotonic() < deadline:
                await asyncio.sleep(FOLLOW_INTERVAL_S)
                asset = await self.context.assets.get_asset(post_id)
                self.asset_updated.emit(asset)
                if self._selected == post_id:
                    await self._detail(post_id)
                if asset.status in SETTLED:
                    return
        finally:
            self._following.discard(post_id)

    @property
    def following(self) -> frozenset[str]:
        """Post ids of retried assets still being followed."""
        return frozenset(self._following)

    def play(self, asset: Asset) -> None:
        """Resolve the asset's manifest to something the player can load; emits
        ``play_ready(PlaybackSource)`` or ``error``."""
        if not asset.manifest_url:
            self.error.emit(f"Asset {asset.post_id} has no manifest yet ({asset.status}).")
            return
        self._ops.run(self._play(asset))

    async def _play(self, asset: Asset) -> None:
        title = f"Asset {asset.post_id}"
        key = self._bucket_key(asset.manifest_url or "")
        if key is None:
            self.play_ready.emit(multivariant_source(title, asset.manifest_url or ""))
            return
        body = await self.context.storage.get(key)
        playlist = parse_playlist(body.data, key)
        self.play_ready.emit(
            source_for_playlist(title, key, playlist, self.context.gateway.url_for)
        )

    def _bucket_key(self, url: str) -> str | None:
        """The key of a path-style URL of this profile's bucket (``{endpoint}/{bucket}/key``)
        so the player fetches it through the signing gateway; None for other URLs."""
        profile = self.context.profile
        prefix = f"{profile.endpoint_url.rstrip('/')}/{profile.bucket}/"
        return url[len(prefix) :] if url.startswith(prefix) else None

    def shutdown(self) -> None:
        self._ops.cancel_all()
