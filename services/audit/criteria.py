"""Criteria 1, 2 and 4 of docs/contracts.md §1.5 for one game, through the real gate.

1. ``abr_same_url`` — the URL the playback API returns equals the pre-migration one (the
   audit's baseline, ``services.audit.baseline``); through the gate the multivariant
   master lists every ledger rung, one of them at v1's resolution; every variant's first
   segments decode with the declared resolution and the expected frame count; a player
   can switch between rungs at a segment boundary. A game whose master is still a media
   playlist is "not migrated" (skip).
2. ``v1_url_plays`` — the old URL and, once migrated, ``master.v1.m3u8`` play through the
   gate (a v1 game has no anchor yet: only its URL is played).
4. ``clips_stored`` — clips of a few seeded random [start, end] per rendition from the
   clip API reference only stored segments of that game and rendition, with their EXTINF
   (``services.clips.check_clip``) summing to the stored segments covering the interval,
   every URI answers through the gate, and no object was created meanwhile.
"""

from __future__ import annotations

import asyncio
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.abr.ledger import LedgerDocument
from services.audit.baseline import BaselineEntry
from services.audit.gate_client import GateClient, redact
from services.audit.model import CriterionResult, SubCheck, judged, skip, sub
from services.audit.playback import Played, play_media, switch
from services.clips import build_clip, check_clip
from services.errors import ServiceError
from services.hls import MediaPlaylist, MultivariantPlaylist, parse_playlist, resolve_key
from services.layout import GameKeys
from services.storage import Storage

CLIPS_PER_RENDITION = 3


@dataclass
class GameView:
    """What the audit knows of one game before the criteria run: keys, the stored master
    (parsed), the ledger, the listing (key → (size, ETag)), the v1 playlist key, the
    playback API's answer and the baseline entry; ``folder`` for decoded copies."""

    keys: GameKeys
    master: MediaPlaylist | MultivariantPlaylist | None
    ledger: LedgerDocument | None
    listing: dict[str, tuple[int, str]]
    v1_key: str | None
    manifest_url: str
    token: str = field(repr=False)
    baseline: BaselineEntry | None
    folder: Path
    v1_played: Played | None = None

    @property
    def migrated(self) -> bool:
        return isinstance(self.master, MultivariantPlaylist)


async def v1_url_plays(client: GateClient, game: GameView) -> CriterionResult:
    """Criterion 2 (module docstring); keeps what v1 decoded to in ``game.v1_played``.
    Raises ``Unreachable`` when the gate cannot be reached."""
    checks: list[SubCheck] = []
    evidence: dict[str, Any] = {}
    old_url = game.baseline.url if game.baseline else game.manifest_url
    evidence["old_url"] = redact(old_url)
    answer = await client.get(old_url, token=game.token)
    evidence["old_url_status"] = answer.status
    checks.append(
        sub("old_url.status", answer.status == 200, f"{answer.url} answered {answer.status}")
    )
    cookie = answer.cookie
    if answer.status == 200:
        first = _first_media_key(game.keys.master, answer.body)
        if first is None:
            checks.append(sub("old_url.playlist", False, "the old URL serves no playable playlist"))
        else:
            more, seen, played = await play_media(
                client, first, game.folder, name="old_url", cookie=cookie or None
            )
            checks += more
            evidence["old_url_plays"] = seen
            if first == game.v1_key:  # not migrated: the old URL is the v1 playlist
                game.v1_played = played
                checks.append(skip("anchor", "not migrated: no master.v1.m3u8 expected yet"))
                return judged("v1_url_plays", checks, evidence)
    if game.v1_key is None:
        checks.append(sub("v1.playlist", False, "the game has no v1 media playlist"))
        return judged("v1_url_plays", checks, evidence)
    more, seen, played = await play_media(
        client, game.v1_key, game.folder, name="v1", token=game.token
    )
    checks += more
    evidence["v1"] = seen
    game.v1_played = played
    if game.ledger is not None and game.v1_key == game.keys.anchor and game.ledger.renditions:
        import hashlib

        answer = await client.get("/" + game.keys.anchor, token=game.token)
        digest = hashlib.sha256(answer.body).hexdigest()
        want = game.ledger.renditions[0].source_sha256
        checks.append(
            sub(
                "anchor.bytes",
                digest == want,
                f"master.v1.m3u8 SHA-256 {digest[:12]}… "
                f"{'=' if digest == want else '≠'} the ledger's source {want[:12]}…",
            )
        )
    return judged("v1_url_plays", checks, evidence)


def _first_media_key(master_key: str, body: bytes) -> str | None:
    """The media playlist a player starts on: ``master_key`` itself, or its first variant."""
    try:
        playlist = parse_playlist(body, master_key)
    except ServiceError:
        return None
    if isinstance(playlist, MediaPlaylist):
        return master_key
    return resolve_key(master_key, playlist.variants[0].uri) if playlist.variants else None


async def abr_same_url(client: GateClient, game: GameView) -> CriterionResult:
    """Criterion 1 (module docstring). Run after ``v1_url_plays`` (v1's resolution).
    Raises ``Unreachable`` when the gate cannot be reached."""
    evidence: dict[str, Any] = {
        "playback_url": redact(game.manifest_url),
        "baseline_url": redact(game.baseline.url) if game.baseline else None,
        "baseline_recorded_at": game.baseline.recorded_at if game.baseline else None,
        "baseline_source": game.baseline.source if game.baseline else None,
    }
    if not game.migrated:
        check = skip("migrated", "not migrated: master.m3u8 is still a media playlist")
        return judged("abr_same_url", [check], evidence, "not migrated")
    checks: list[SubCheck] = []
    if game.baseline is None:
        checks.append(sub("url.unchanged", False, "no pre-migration URL was recorded"))
    else:
        same = game.manifest_url == game.baseline.url
        checks.append(
            sub(
                "url.unchanged",
                same,
                f"playback URL {'=' if same else '≠'} the one recorded "
                f"{game.baseline.recorded_at} ({game.baseline.source})",
            )
        )
    answer = await client.get(game.manifest_url, token=game.token)
    try:
        master = parse_playlist(answer.body, game.keys.master) if answer.status == 200 else None
    except ServiceError:
        master = None
    if not isinstance(master, MultivariantPlaylist):
        checks.append(
            sub("master", False, f"{answer.url} answered {answer.status}, not multivariant")
        )
        return judged("abr_same_url", checks, evidence)
    cookie = answer.cookie
    variants = {resolve_key(game.keys.master, v.uri) or v.uri: v for v in master.variants}
    evidence["variants"] = {
        k: f"{v.resolution[0]}x{v.resolution[1]}" if v.resolution else "?"
        for k, v in variants.items()
    }
    wanted = [row.playlist for row in game.ledger.renditions] if game.ledger else []
    lost = [k for k in wanted if k not in variants]
    checks.append(
        sub(
            "master.rungs",
            not lost,
            f"lists {len(variants)} variants, every ledger rung"
            if not lost
            else "the ledger's "
            + ", ".join(GameKeys.relative(game.keys, k) for k in lost)
            + " missing from the master served",
        )
    )
    v1_size = _v1_size(game.v1_played)
    if v1_size is not None:
        sizes = {v.resolution for v in master.variants}
        checks.append(
            sub(
                "master.v1_rung",
                v1_size in sizes,
                f"a variant at v1's {v1_size[0]}x{v1_size[1]}"
                if v1_size in sizes
                else f"no variant at v1's {v1_size[0]}x{v1_size[1]}",
            )
        )

    async def play(key: str, variant) -> tuple[list[SubCheck], dict[str, Any], Played]:
        row = game.ledger.row(key.split("/")[-2]) if game.ledger else None
        fps = (row.frame_rate if row else 0.0) or (variant.frame_rate or 0.0)
        return await play_media(
            client,
            key,
            game.folder,
            name=GameKeys.relative(game.keys, key).rsplit("/", 1)[0],
            cookie=cookie,
            fps=fps,
            resolution=variant.resolution,
        )

    ordered = sorted(variants.items(), key=lambda kv: -kv[1].bandwidth)
    runs = await asyncio.gather(*(play(key, variant) for key, variant in ordered))
    played: list[Played] = []
    for (key, _), (more, seen, result) in zip(ordered, runs, strict=True):
        checks += more
        evidence.setdefault("renditions", {})[key] = seen
        played.append(result)
    pairs = list(zip(played, played[1:], strict=False))
    if len(played) > 2:
        pairs.append((played[-1], played[0]))
    for a, b in pairs:
        checks.append(await switch(a, b, game.folder))
    return judged("abr_same_url", checks, evidence)


def _v1_size(played: Played | None) -> tuple[int, int] | None:
    if played is None or played.frames is None or not played.frames.sizes:
        return None
    return played.frames.sizes[0]


def clip_intervals(
    seed: int, game_id: str, rendition: str, total_s: float
) -> list[tuple[float, float]]:
    """``CLIPS_PER_RENDITION`` seeded random [start, end] (seconds) inside [0, total_s)."""
    rng = random.Random(f"{seed}:{game_id}:{rendition}")
    out = []
    for _ in range(CLIPS_PER_RENDITION):
        start = rng.uniform(0.0, max(total_s - 1.0, 0.0))
        end = min(total_s, start + rng.uniform(1.0, 30.0))
        out.append((round(start, 3), round(end, 3)))
    return out


async def clips_stored(
    client: GateClient, storage: Storage, game: GameView, seed: int
) -> CriterionResult:
    """Criterion 4 (module docstring); ``seed`` draws the intervals. Raises what the store
    raises (``NotFound``, ``AccessDenied``, ``Unreachable``) and ``Unreachable`` for the
    gate; a clip the API answers wrongly is a failed check."""
    checks: list[SubCheck] = []
    evidence: dict[str, Any] = {"clips": []}
    renditions = ["v1"] + ([r.rung for r in game.ledger.renditions] if game.ledger else [])
    for rendition in renditions:
        key = game.v1_key if rendition == "v1" else game.keys.rung_playlist(rendition)
        if key is None or key not in game.listing:
            checks.append(sub(f"clip.{rendition}", False, f"no stored playlist for {rendition}"))
            continue
        stored = parse_playlist((await storage.get(key)).data, key)
        assert isinstance(stored, MediaPlaylist)
        for start, end in clip_intervals(seed, game.keys.game_id, rendition, stored.duration):
            checks.append(
                await _one_clip(client, storage, game, rendition, key, stored, start, end, evidence)
            )
    after = {o.key: (o.size, o.etag) for o in (await storage.list_all(game.keys.prefix)).objects}
    created = sorted(set(after) - set(game.listing))
    changed = sorted(k for k in game.listing if k in after and after[k] != game.listing[k])
    evidence["objects_before"], evidence["objects_after"] = len(game.listing), len(after)
    checks.append(
        sub(
            "no_new_objects",
            not created and not changed,
            f"{len(after)} objects before and after"
            if not created and not changed
            else f"created {created[:3]}, changed {changed[:3]}",
        )
    )
    return judged("clips_stored", checks, evidence)


async def _one_clip(
    client: GateClient,
    storage: Storage,
    game: GameView,
    rendition: str,
    key: str,
    stored: MediaPlaylist,
    start: float,
    end: float,
    evidence: dict[str, Any],
) -> SubCheck:
    name = f"clip.{rendition}[{start:.1f}-{end:.1f}]"
    path = f"/api/games/{game.keys.game_id}/clip.m3u8"
    params = {"start": f"{start}", "end": f"{end}", "rung": rendition}
    answer = await client.get(path, token=game.token, params=params)
    row: dict[str, Any] = {
        "rendition": rendition,
        "start": start,
        "end": end,
        "url": answer.url,
        "status": answer.status,
    }
    evidence["clips"].append(row)
    if answer.status != 200:
        return sub(name, False, f"{answer.url} answered {answer.status}")
    try:
        verdict = await check_clip(storage, answer.body, game.keys.game_id, rendition)
        clip = parse_playlist(answer.body, "clip")
    except ServiceError as exc:
        return sub(name, False, str(exc))
    assert isinstance(clip, MediaPlaylist)
    expected = build_clip(key, stored, start, end).duration_s
    total = sum(s.duration for s in clip.segments)
    bad = [
        f"{i.status} {i.key or i.uri}" + (f" ({i.note})" if i.note else "")
        for i in verdict.items
        if i.status != "ok" or i.note
    ]
    keys = [i.key for i in verdict.items if i.key]
    unserved = []
    for k in keys:
        got = await client.get("/" + k, cookie=answer.cookie or None, byte_range=(0, 0))
        if got.status not in (200, 206):
            unserved.append(f"{k} {got.status}")
    row.update(
        segments=len(clip.segments),
        extinf_sum=round(total, 3),
        expected_sum=round(expected, 3),
        problems=bad[:5],
        unserved=unserved[:5],
    )
    if bad:
        return sub(name, False, "; ".join(bad[:3]))
    if not math.isclose(total, expected, abs_tol=1e-3):
        return sub(name, False, f"EXTINF sum {total:.3f} s, stored segments {expected:.3f} s")
    if unserved:
        return sub(name, False, "not served through the gate: " + ", ".join(unserved[:3]))
    return sub(name, True, f"{len(clip.segments)} stored segments, {total:.3f} s, all served")
