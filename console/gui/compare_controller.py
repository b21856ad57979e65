"""The compare controller: resolves renditions to playback sources (through the catalog
service and the playback gateway), drives the synchronized pair, measures and exports the
frames on screen. The compare view only shows what this emits (views do no I/O).

Public entry point for other views (e.g. a spot-check report's per-frame plot)::

    compare.open_compare(game_id, rung, reference, frame)

opens the compare view (``show_requested``) with ``reference`` on side A (``"v1"``,
``"source"`` or another rung name) and ``rung`` on side B, positioned at ``frame``
(0-based index from the first frame of side A).

``"source"`` is the game's source object as the catalog found it by the layout's one source
rule (``GameDetail.source_key``, ``services.layout``): the same object the spot-check
measures against, so a report's "compare with the source" opens what it measured.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from console.gui.operation import Operations, failure_sentence
from player.mpv_core import PlayerNotAvailable
from player.sync_pair import SyncedPair
from services.catalog import CatalogService, GameDetail, Rendition
from services.errors import NotFound, ServiceError
from services.frame_metrics import FrameMetrics, measure_frame_pair
from services.hls import MediaPlaylist
from services.layout import GameKeys
from services.playback import PlaybackSource, source_for_playlist

__all__ = ["SOURCE", "CompareController", "SideChoice"]

log = logging.getLogger(__name__)

#: Name of the mezzanine source object as a comparable rendition (``GameDetail.source_key``).
SOURCE = "source"


@dataclass(frozen=True)
class SideChoice:
    """One side of a comparison: a rendition ``name`` (``"v1"``, a rung, ``"source"``) of
    game ``game_id``."""

    game_id: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.game_id} · {self.name}"


class CompareController(QObject):
    """Owns the :class:`SyncedPair` (created on first use: two libmpv cores).

    Args:
        catalog: reads game details (renditions, objects, ledger).
        url_for: maps a bucket key to a URL the players can fetch (the playback gateway).
        pair_options: keyword options for both ``Player`` cores (e.g. cache sizes).

    Signals (GUI thread):
        show_requested(): bring the compare view up (``open_compare`` was called).
        renditions_listed(str, list): a game id and the names of its comparable renditions.
        opened(str, str): labels of sides A and B being loaded.
        metrics_ready(object): a :class:`FrameMetrics` of the frames on screen (B vs A).
        exported(list): paths (str) of the two PNG files written.
        error(str): a readable sentence; status(str): progress for a status line.
    """

    show_requested = Signal()
    renditions_listed = Signal(str, list)
    opened = Signal(str, str)
    metrics_ready = Signal(object)
    exported = Signal(list)
    error = Signal(str)
    status = Signal(str)

    def __init__(
        self,
        catalog: CatalogService,
        url_for: Callable[[str], str],
        parent: QObject | None = None,
        **pair_options: Any,
    ) -> None:
        super().__init__(parent)
        self._catalog = catalog
        self._url_for = url_for
        self._pair_options = pair_options
        self._pair: SyncedPair | None = None
        self._details: dict[str, GameDetail] = {}
        self._ops = Operations(self.error.emit)
        self._sides: tuple[SideChoice, SideChoice] | None = None
        self._work_dir: tempfile.TemporaryDirectory | None = None

    # ------------------------------------------------------------------ state
    @property
    def pair(self) -> SyncedPair:
        """The synchronized pair (created on first access; raises ``PlayerNotAvailable``)."""
        if self._pair is None:
            self._pair = SyncedPair(self, **self._pair_options)
            self._pair.error.connect(self.error.emit)
        return self._pair

    @property
    def sides(self) -> tuple[SideChoice, SideChoice] | None:
        """What is being compared, ``(A, B)``, or ``None``."""
        return self._sides

    # ------------------------------------------------------------------ commands
    def open_compare(self, game_id: str, rung: str, reference: str, frame: int = 0) -> None:
        """Show the compare view with ``reference`` on side A and ``rung`` on side B of
        ``game_id``, at frame ``frame`` (0-based). Errors arrive as :attr:`error`."""
        self.show_requested.emit()
        self.compare(SideChoice(game_id, reference), SideChoice(game_id, rung), frame)

    def list_renditions(self, game_id: str) -> None:
        """Read ``game_id``'s details; emits :attr:`renditions_listed` or :attr:`error`."""
        self._ops.run(
            self._detail(game_id),
            success=lambda detail: self.renditions_listed.emit(game_id, comparable_names(detail)),
        )

    def compare(self, a: SideChoice, b: SideChoice, frame: int = 0) -> None:
        """Load ``a`` and ``b`` into the pair, positioned at ``frame``."""
        self._ops.run(self._compare(a, b, max(0, int(frame))), failure=self._compare_failed)

    def compare_names(
        self, game_a: str, name_a: str, game_b: str, name_b: str, frame: int = 0
    ) -> None:
        """:meth:`compare` by game ids and rendition names (for pickers)."""
        self.compare(SideChoice(game_a, name_a), SideChoice(game_b, name_b), frame)

    def measure_current(self) -> None:
        """PSNR/SSIM of the frame on screen on side B against side A (as compared: both at
        the render size). Emits :attr:`metrics_ready` or :attr:`error`."""
        self._ops.run(
            self._measure(),
            failure=lambda exc: self.error.emit(
                f"Could not measure the frames: {exc}"
                if isinstance(exc, OSError)
                else failure_sentence(exc)
            ),
        )

    def export_frames(self, directory: str | Path) -> list[str]:
        """Write the two frames on screen as PNG into ``directory``; returns the paths
        (also emitted as :attr:`exported`). Emits :attr:`error` and returns ``[]`` when
        there is nothing to export or a file cannot be written."""
        try:
            paths = self._write_frames(Path(directory))
        except (OSError, ValueError) as exc:
            self.error.emit(f"Could not export the frames: {exc}")
            return []
        self.exported.emit([str(p) for p in paths])
        self.status.emit(f"Frames exported to {Path(directory)}")
        return [str(p) for p in paths]

    def shutdown(self) -> None:
        """Cancel running work and terminate the pair's players."""
        self._ops.cancel_all()
        if self._pair is not None:
            self._pair.shutdown()
        if self._work_dir is not None:
            self._work_dir.cleanup()
            self._work_dir = None

    # ------------------------------------------------------------------ internals
    async def _detail(self, game_id: str, *, fresh: bool = False) -> GameDetail:
        """The game's detail; ``fresh`` re-reads it (a job may have changed the game)."""
        detail = None if fresh else self._details.get(game_id)
        if detail is None:
            detail = await self._catalog.detail(game_id)
            self._details[game_id] = detail
        return detail

    async def _compare(self, a: SideChoice, b: SideChoice, frame: int) -> None:
        self.status.emit(f"Opening {a.label} and {b.label}…")
        sources = []
        hints = []
        for choice in (a, b):
            fresh = choice is a or choice.game_id != a.game_id
            detail = await self._detail(choice.game_id, fresh=fresh)
            sources.append(self._source(detail, choice.name))
            hints.append(_frame_rate(detail))
        self._sides = (a, b)
        self.opened.emit(a.label, b.label)
        try:
            self.pair.load(sources[0], sources[1], frame=frame, fps_hints=(hints[0], hints[1]))
        except (ValueError, PlayerNotAvailable) as exc:  # a refused source, libmpv missing
            self.error.emit(str(exc))

    def _compare_failed(self, exc: BaseException) -> None:
        self.error.emit(failure_sentence(exc))

    def _source(self, detail: GameDetail, name: str) -> PlaybackSource:
        game_id = detail.summary.id
        title = f"{game_id} — {name}"
        if name == SOURCE:
            key = detail.source_key
            if key is None:
                places = GameKeys(game_id).source_places(self._catalog.source_prefix)
                raise NotFound(f"Game {game_id} has no source object ({places}).")
            return PlaybackSource(url=self._url_for(key), title=title, kind="media")
        rendition = next((r for r in detail.renditions if r.name == name), None)
        if rendition is None:
            names = ", ".join(comparable_names(detail)) or "none"
            raise NotFound(f"Game {game_id} has no rendition {name!r} (comparable: {names}).")
        if not isinstance(rendition.playlist, MediaPlaylist):
            raise ServiceError(
                f"{game_id} {name} cannot be compared: "
                f"{rendition.error or 'not a single rendition'}."
            )
        if rendition.missing:
            raise ServiceError(
                f"{game_id} {name} references {len(rendition.missing)} missing object(s), "
                f"first {rendition.missing[0]}."
            )
        return source_for_playlist(title, rendition.playlist_key, rendition.playlist, self._url_for)

    def _frame_names(self) -> tuple[str, str]:
        pair = self.pair
        a, b = self._sides or (SideChoice("a", "A"), SideChoice("b", "B"))
        frame = pair.state(0).frame
        stem = f"{a.game_id}_f{frame:06d}"
        return (f"{stem}_A_{_safe(a.name)}.png", f"{stem}_B_{_safe(b.game_id)}_{_safe(b.name)}.png")

    def _write_frames(self, directory: Path) -> list[Path]:
        if self._pair is None:
            raise ValueError("nothing is being compared")
        images = [source.image() for source in self._pair.sources]
        if any(image.isNull() for image in images):
            raise ValueError("no frame on screen yet")
        directory.mkdir(parents=True, exist_ok=True)
        paths = [directory / name for name in self._frame_names()]
        for image, path in zip(images, paths, strict=True):
            if not image.save(str(path), "PNG"):
                raise OSError(f"{path} could not be written")
        return paths

    async def _measure(self) -> None:
        if self._work_dir is None:
            self._work_dir = tempfile.TemporaryDirectory(prefix="voc-compare-")
        try:
            reference, distorted = self._write_frames(Path(self._work_dir.name))
        except ValueError as exc:  # nothing on screen yet
            self.error.emit(f"Could not measure the frames: {exc}")
            return
        metrics: FrameMetrics = await measure_frame_pair(reference, distorted)
        self.metrics_ready.emit(metrics)
        self.status.emit(metrics.label)


def comparable_names(detail: GameDetail) -> list[str]:
    """Names of ``detail``'s renditions that can be compared: single renditions (v1 and
    rungs) with every object present, then ``"source"`` when a source object exists."""
    names = [r.name for r in detail.renditions if _comparable(r)]
    if detail.source_key is not None:
        names.append(SOURCE)
    return names


def _comparable(rendition: Rendition) -> bool:
    return isinstance(rendition.playlist, MediaPlaylist) and not rendition.missing


def _frame_rate(detail: GameDetail) -> float | None:
    """Frames/s recorded in the ledger (every rung keeps the source's rate), else None."""
    return detail.ledger.frame_rate if detail.ledger is not None else None


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "x"
