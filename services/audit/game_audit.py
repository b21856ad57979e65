"""The migration audit as a job operation (issue 15): may these games' v1 manifests be
retired? Each game is judged on the five success criteria of docs/contracts.md §1.5
through the real viewer side (playback API, gate, clip API), then the storage cost is
summed per league and for the listed catalog. Nothing is written to the store.

Per game (progress stage ``audit``): one LIST of ``games/{id}/``, the stored master and
ledger; the playback API's URL and token (a game not migrated yet gets its URL recorded in
the baseline); criterion 2 (``v1_url_plays``), 1 (``abr_same_url``), 3
(``denied_no_media``), 4 (``clips_stored``) and 5 (``cost``). Then [report]
``report_root/{job_id}/audit.json`` + ``audit.csv`` (``services.audit.report``).

No token or cookie value reaches the job's log, its result or the report: URLs are
``redact``-ed and credentials only live in the gate client's requests.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from services.abr.ledger import LedgerDocument, LedgerError
from services.audit import criteria
from services.audit.auth_matrix import auth_matrix
from services.audit.baseline import Baseline
from services.audit.cost import GameBytes, game_bytes, game_cost, summarize
from services.audit.gate_client import GateClient, ViewerConfig
from services.audit.model import CriterionResult, GameAudit, Verdict, judged, skip, sub
from services.audit.report import report_document, retire_v1, write_report
from services.catalog import GameSummary
from services.clock import utc_stamp
from services.errors import NotFound, PlaylistError, ServiceError
from services.hls import MediaPlaylist, MultivariantPlaylist, parse_playlist
from services.job_reporting import JobOutcome, JobReporter
from services.ladder import Ladder
from services.layout import GameKeys
from services.storage import Storage


class MigrationAudit:
    """The audit of ``games`` (catalog rows with league and title) as one job.

    ``viewer`` says where the playback API and gate are; ``baseline`` the recorded
    pre-migration URLs; ``catalog`` every listed game (another game for the auth matrix,
    the counts the cost is extrapolated to); ``seed`` draws the clip intervals;
    ``selection`` is recorded in the report as it is. Raises ``ServiceError`` only when
    the store or the viewer side cannot be reached at all; every finding about a game is
    a failed check in the report.
    """

    def __init__(
        self,
        storage: Storage,
        viewer: ViewerConfig,
        ladder: Ladder,
        baseline: Baseline,
        report_root: Path,
        games: list[GameSummary],
        *,
        catalog: list[GameSummary],
        seed: int,
        selection: dict[str, Any],
    ) -> None:
        self.storage = storage
        self.viewer = viewer
        self.ladder = ladder
        self.baseline = baseline
        self.report_root = report_root
        self.games = list(games)
        self.catalog = list(catalog) or list(games)
        self.seed = seed
        self.selection = dict(selection)
        self.usage: list[GameBytes] = []

    async def __call__(self, reporter: JobReporter) -> JobOutcome:
        started = time.monotonic()
        client = GateClient(self.viewer)
        audits: list[GameAudit] = []
        try:
            for index, game in enumerate(self.games):
                reporter.progress(index / max(len(self.games), 1), "audit", f"{game.id}")
                audit = await self.audit_game(client, game)
                audits.append(audit)
                reporter.log(
                    f"{audit.verdict.value.upper()} {game.id} ({audit.wall_seconds:.1f} s)"
                )
                for line in audit.failures()[:20]:
                    reporter.log(f"  FAIL {line}")
        finally:
            await client.aclose()
        reporter.progress(0.98, "report", "writing the report")
        leagues = Counter(g.league for g in self.catalog)
        cost = summarize(self.usage, dict(leagues), len(self.catalog))
        document = report_document(reporter.job_id, utc_stamp(), audits, self.selection, cost)
        folder = self.report_root / reporter.job_id
        path = await asyncio.to_thread(write_report, folder, document)
        reporter.log(f"cost: {cost['summary']}")
        reporter.log(f"report: {path}")
        failures = [f"{a.game_id}: {line}" for a in audits for line in a.failures()]
        passed = sum(a.verdict is Verdict.PASS for a in audits)
        retire = retire_v1(audits)
        summary = (
            f"{passed} of {len(audits)} games pass; retire v1: "
            f"{'yes' if retire['ready'] else 'no'}; {cost['summary']}"
        )
        reporter.progress(1.0, "done", summary)
        return JobOutcome(
            summary,
            {
                "report": str(path),
                "verdict": document["verdict"],
                "games": {a.game_id: a.verdict.value for a in audits},
                "failures": failures[:50],
                "retire_v1": retire,
                "cost": cost["summary"],
                "wall_seconds": round(time.monotonic() - started, 2),
            },
        )

    def _other(self, game_id: str) -> str:
        ids = sorted(g.id for g in self.catalog if g.id != game_id)
        return next((i for i in ids if i > game_id), ids[0] if ids else f"{game_id}-other")

    async def audit_game(self, client: GateClient, game: GameSummary) -> GameAudit:
        """The five criteria of one game (module docstring)."""
        started = time.monotonic()
        keys = GameKeys(game.id)
        state = game.state.value if game.state else ""
        folder = Path(tempfile.mkdtemp(prefix="audit-"))
        try:
            view = await self._view(client, keys, folder)
        except ServiceError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            why = f"cannot be audited: {exc}"
            results = tuple(judged(c, [skip("game", why)], {}) for c in _ORDER)
            return GameAudit(game.id, game.league, game.title, state, results, {}, 0.0, why)
        matrix: dict[str, Any] = {}
        try:
            c2 = await _guarded("v1_url_plays", criteria.v1_url_plays(client, view))
            c1 = await _guarded("abr_same_url", criteria.abr_same_url(client, view))
            other = self._other(game.id)
            try:
                _, other_token = await client.playback(other)
            except ServiceError:
                other_token = None
            try:
                c3, matrix = await auth_matrix(
                    client, keys, list(view.listing), view.token, game.league, other, other_token
                )
            except ServiceError as exc:
                c3 = judged("denied_no_media", [sub("matrix", False, str(exc))], {})
            c4 = await _guarded(
                "clips_stored", criteria.clips_stored(client, self.storage, view, self.seed)
            )
            c5 = await _guarded("cost", self._cost(view, game, c2))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        results = (c1, c2, c3, c4, c5)
        wall = time.monotonic() - started
        return GameAudit(game.id, game.league, game.title, state, results, matrix, wall)

    async def _view(self, client: GateClient, keys: GameKeys, folder: Path) -> criteria.GameView:
        listing = {
            o.key: (o.size, o.etag) for o in (await self.storage.list_all(keys.prefix)).objects
        }
        if keys.master not in listing:
            raise NotFound(f"no {keys.master} in the store", keys.master)
        master: MediaPlaylist | MultivariantPlaylist | None
        try:
            master = parse_playlist((await self.storage.get(keys.master)).data, keys.master)
        except PlaylistError:
            master = None
        ledger = None
        if keys.ledger in listing:
            try:
                ledger = LedgerDocument.from_bytes(
                    (await self.storage.get(keys.ledger)).data, keys.ledger
                )
            except LedgerError:
                ledger = None
        v1_key = None
        if keys.anchor in listing:
            v1_key = keys.anchor
        elif isinstance(master, MediaPlaylist):
            v1_key = keys.master
        url, token = await client.playback(keys.game_id)
        entry = self.baseline.get(keys.game_id)
        if entry is None and not isinstance(master, MultivariantPlaylist):
            entry = await asyncio.to_thread(self.baseline.record, keys.game_id, url, "audit")
        return criteria.GameView(keys, master, ledger, listing, v1_key, url, token, entry, folder)

    async def _cost(
        self, view: criteria.GameView, game: GameSummary, played: CriterionResult
    ) -> CriterionResult:
        duration = 0.0
        if view.v1_key is not None:
            try:
                v1 = parse_playlist((await self.storage.get(view.v1_key)).data, view.v1_key)
                duration = v1.duration if isinstance(v1, MediaPlaylist) else 0.0
            except ServiceError:
                duration = 0.0
        size = None
        if view.v1_played is not None and view.v1_played.frames and view.v1_played.frames.sizes:
            size = view.v1_played.frames.sizes[0]
        usage = game_bytes(
            view.keys,
            {k: s for k, (s, _) in view.listing.items()},
            game.league,
            view.ledger,
            self.ladder,
            duration,
            size,
            view.migrated,
        )
        self.usage.append(usage)
        return game_cost(usage)


async def _guarded(criterion: str, work: Awaitable[CriterionResult]) -> CriterionResult:
    """``work``'s result, or a failed criterion saying what could not be reached."""
    try:
        return await work
    except ServiceError as exc:
        return judged(criterion, [sub("reachable", False, str(exc))], {})


_ORDER = ("abr_same_url", "v1_url_plays", "denied_no_media", "clips_stored", "cost")
