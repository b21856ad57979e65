"""Step 1 of a spot-check [inspect] (docs/contracts.md §1.1 and §4): what the store says of a
backfilled game before anything is measured. Reads only; at most one GET per playlist, the
ledger, the anchor and each rung's init segment, plus one LIST for a ``source_prefix``.

Game-level findings (check names of ``services.spotcheck.report``):

- ``integrity.ledger``: ``master.m3u8`` is a multivariant playlist and the packaging
  ledger ``abr/renditions.json`` is stored, readable (``services.abr.ledger``) and records
  at least one rung; when not, the spot-check stops there with that one failed check;
- ``integrity.anchor``, ``integrity.multivariant_uris`` (``services.spotcheck.integrity``);
- ``structure.multivariant``: the multivariant playlist lists exactly the ledger's rungs
  (each row's ``playlist`` is the key a variant URI resolves to, RFC 8216 §4.1).

Per rung (one ``RungState`` per ledger row): whether an object it records is missing, its
media playlist parsed (RFC 8216 §4.3.3), its variant, its init segment's bytes. The game's
source is found by the layout's source rule (``services.layout.find_source``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from services.abr.ledger import LedgerDocument, LedgerError, PackagedRendition
from services.abr.multivariant import variants_by_playlist
from services.errors import PlaylistError
from services.hls import MediaPlaylist, MultivariantPlaylist, Variant, parse_playlist, resolve_key
from services.layout import GameKeys, find_source
from services.media_tools.probe import RenditionProbe
from services.spotcheck import integrity
from services.spotcheck.checks import Check, FrameSeries, check
from services.spotcheck.metrics import RungFrameMetrics
from services.spotcheck.signalling import ColourTags
from services.spotcheck.stream_logs import MotionSeries, PacketLog
from services.storage import Storage


@dataclass
class RungState:
    """What the spot-check learns of one ledger row, step by step: step 1 fills ``row`` to
    ``missing``; step 2 the probe, the colour tags, the metrics ``values`` and their
    ``series`` on the reference frames, the ``motion`` and IDR/audio ``packets`` logs of the
    metrics run (or a ``*_problem`` sentence); ``checks`` collects the rung's checks."""

    row: PackagedRendition
    playlist: MediaPlaylist | None = None
    playlist_problem: str = ""
    variant: Variant | None = None
    init: bytes | None = None
    missing: bool = False
    probe: RenditionProbe | None = None
    probe_problem: str = ""
    values: RungFrameMetrics | None = None
    series: FrameSeries | None = None
    metrics_problem: str = ""
    colour: ColourTags | None = None
    colour_problem: str = ""
    motion: MotionSeries | None = None
    previous_psnr: tuple[float, ...] | None = None
    packets: PacketLog | None = None
    logs_problem: str = ""
    checks: list[Check] = field(default_factory=list)


@dataclass(frozen=True)
class Inspection:
    """Step 1's result. ``ledger`` None means there is nothing to spot-check and
    ``problem`` says why (the ``integrity.ledger`` reason); otherwise ``checks`` are the
    game-level checks so far, ``rungs`` one state per ledger row, ``anchor`` the bytes of
    ``master.v1.m3u8`` (None when missing) and ``source_key`` the game's source, if any."""

    ledger: LedgerDocument | None
    problem: str = ""
    checks: tuple[Check, ...] = ()
    rungs: tuple[RungState, ...] = ()
    anchor: bytes | None = None
    source_key: str | None = None


async def read_ledger(
    storage: Storage, keys: GameKeys, master: bytes, listing: dict[str, int]
) -> tuple[LedgerDocument | None, str]:
    """``(ledger, "")`` when the game is backfilled with a readable ledger recording a rung,
    else ``(None, why)``. ``master``: the bytes of ``master.m3u8``; ``listing``: the game's
    keys with their sizes. Storage errors propagate."""
    try:
        parsed = parse_playlist(master, uri=keys.master)
    except PlaylistError as exc:
        return None, f"master.m3u8 is not a valid playlist: {exc}"
    if not isinstance(parsed, MultivariantPlaylist):
        return None, (
            "master.m3u8 is a v1 media playlist: the game is not backfilled, "
            "there is no ladder to spot-check"
        )
    if keys.ledger not in listing:
        return None, "the packaging ledger abr/renditions.json is missing"
    try:
        ledger = LedgerDocument.from_bytes((await storage.get(keys.ledger)).data, keys.ledger)
    except LedgerError as exc:
        return None, str(exc)
    if not ledger.renditions:
        return None, "the ledger records no rung"
    return ledger, ""


def match_variants(keys: GameKeys, master: MultivariantPlaylist, rungs: list[RungState]) -> Check:
    """``structure.multivariant``: the master lists exactly the ledger's rungs; sets each
    rung's ``variant``."""
    by_key = variants_by_playlist(keys.master, master)
    reasons = []
    for rung in rungs:
        rung.variant = by_key.pop(rung.row.playlist, None)
        if rung.variant is None:
            reasons.append(f"rung {rung.row.rung} is in the ledger but not in master.m3u8")
    reasons += [f"master.m3u8 lists {key}, which the ledger does not record" for key in by_key]
    return check("structure.multivariant", reasons)


async def read_rung_playlists(
    storage: Storage, rungs: list[RungState], listing: dict[str, int]
) -> None:
    """Fill each rung's ``missing``, ``playlist`` (or ``playlist_problem``) and ``init``."""

    async def read(rung: RungState) -> None:
        row = rung.row
        rung.missing = any(o.key not in listing for o in row.objects)
        if row.playlist not in listing:
            rung.playlist_problem = f"{row.rung}/index.m3u8 is missing"
            return
        try:
            parsed = parse_playlist((await storage.get(row.playlist)).data, uri=row.playlist)
        except PlaylistError as exc:
            rung.playlist_problem = str(exc)
            return
        if not isinstance(parsed, MediaPlaylist):
            rung.playlist_problem = f"{row.playlist} is not a media playlist"
            return
        rung.playlist = parsed
        init_key = resolve_key(row.playlist, parsed.init_uri) if parsed.init_uri else None
        if init_key and init_key in listing:
            rung.init = (await storage.get(init_key)).data

    await asyncio.gather(*(read(r) for r in rungs))


async def inspect_game(
    storage: Storage,
    keys: GameKeys,
    master: bytes,
    listing: dict[str, int],
    *,
    source_prefix: str = "",
) -> Inspection:
    """Step 1 (module docstring) for the game ``keys``: ``master`` is the bytes of its
    ``master.m3u8``, ``listing`` its keys with their sizes in bytes. Findings about the game
    are checks; storage errors (``AccessDenied``, ``Unreachable``) propagate."""
    ledger, problem = await read_ledger(storage, keys, master, listing)
    if ledger is None:
        return Inspection(None, problem)
    anchor = (await storage.get(keys.anchor)).data if keys.anchor in listing else None
    multivariant = parse_playlist(master, uri=keys.master)
    assert isinstance(multivariant, MultivariantPlaylist)  # read_ledger checked it
    rungs = [RungState(row) for row in ledger.renditions]
    checks = [
        check("integrity.ledger", []),
        integrity.check_anchor(anchor, ledger, listing, keys.prefix),
        integrity.check_multivariant_uris(keys.master, multivariant, listing, keys.prefix),
        match_variants(keys, multivariant, rungs),
    ]
    await read_rung_playlists(storage, rungs, listing)
    source_key = await find_source(storage, keys, listing, source_prefix)
    return Inspection(ledger, "", tuple(checks), tuple(rungs), anchor, source_key)
