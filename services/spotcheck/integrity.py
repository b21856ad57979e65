"""Integrity checks (issue 4, docs/architecture.md §4): what is stored is what the ledger recorded.

- ``integrity.objects`` (per rung): every object of the rung's ledger row exists with the
  recorded size and SHA-256, hashed from the stored bytes (``StoreHasher``: streamed, not
  the store's own checksum, so a bit flip behind the store's back is caught too); an object
  a store fault kept from being read whole fails as "could not read", never as a size or
  checksum mismatch (nothing is known about its bytes);
- ``integrity.playlist_uris`` (per rung): every URI of the rung's media playlist (EXT-X-MAP
  and segments) is stored and recorded in the ledger;
- ``integrity.multivariant_uris`` (game): every variant URI of ``master.m3u8`` is stored;
- ``integrity.anchor`` (game): ``master.v1.m3u8`` exists and its SHA-256 is the v1 playlist
  SHA-256 the ledger rows were encoded from (the rollback anchor is the v1, byte for byte).
  When they differ it says which side changed (``finding``): ``anchor_changed`` when the
  ledger's own copy of the v1 playlist (``v1_playlist``) still has the recorded hash, or
  (older ledgers, no copy) when the anchor no longer parses or no longer lists a stored v1
  segment; ``ledger_changed`` when the anchor is byte for byte the ledger's copy, or the
  rows record different hashes; ``undetermined`` otherwise, with the evidence looked at.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable

from services.abr.ledger import LedgerDocument, PackagedRendition
from services.errors import PlaylistError
from services.hls import MediaPlaylist, MultivariantPlaylist, parse_playlist, referenced_keys
from services.layout import MASTER_V1, SEGMENT_SUFFIX
from services.spotcheck.checks import Check, check
from services.spotcheck.hashing import StoreHasher


def _short(key: str, prefix: str) -> str:
    return key[len(prefix) :] if key.startswith(prefix) else key


async def check_objects(hasher: StoreHasher, row: PackagedRendition, prefix: str) -> Check:
    """``integrity.objects`` for one ledger row (``prefix``: ``games/{id}/``, trimmed from
    the keys in the reasons)."""
    digests = await asyncio.gather(*(hasher.digest(o.key) for o in row.objects))
    reasons: list[str] = []
    damaged: list[str] = []
    for recorded, stored in zip(row.objects, digests, strict=True):
        name = _short(recorded.key, prefix)
        if stored.missing or stored.size != recorded.size or stored.sha256 != recorded.sha256:
            if not stored.unreadable:
                damaged.append(name)
        if stored.missing:
            reasons.append(f"{name} is missing from the store")
        elif stored.unreadable:
            reasons.append(
                f"could not read {name}: {stored.unreadable}; its bytes were not checked, "
                "run the spot-check again"
            )
        elif stored.size != recorded.size:
            reasons.append(f"{name}: {stored.size} bytes stored, {recorded.size} recorded")
        elif stored.sha256 != recorded.sha256:
            reasons.append(
                f"{name}: checksum mismatch, SHA-256 {stored.sha256[:12]}… read, "
                f"{recorded.sha256[:12]}… recorded"
            )
    return check(
        "integrity.objects",
        reasons,
        subjects=damaged,
        finding="damaged" if damaged else "unreadable",
    )


def check_playlist_uris(
    playlist_key: str,
    playlist: MediaPlaylist,
    stored: Iterable[str],
    recorded: Iterable[str],
    prefix: str,
) -> Check:
    """``integrity.playlist_uris``: the media playlist's init section and segments are
    stored (``stored`` keys) and recorded in the ledger (``recorded`` keys)."""
    stored_set, recorded_set = set(stored), set(recorded)
    reasons: list[str] = []
    subjects: list[str] = []
    for key in referenced_keys(playlist_key, playlist):
        if key not in stored_set:
            reasons.append(f"{_short(key, prefix)} is referenced by the playlist but missing")
            subjects.append(_short(key, prefix))
        elif key not in recorded_set:
            reasons.append(f"{_short(key, prefix)} is referenced but not in the ledger")
            subjects.append(_short(key, prefix))
    return check("integrity.playlist_uris", reasons, subjects=subjects)


def check_multivariant_uris(
    master_key: str, master: MultivariantPlaylist, stored: Iterable[str], prefix: str
) -> Check:
    """``integrity.multivariant_uris``: every variant playlist of ``master.m3u8`` is stored."""
    stored_set = set(stored)
    reasons = [
        f"{_short(key, prefix)} is listed in master.m3u8 but missing"
        for key in referenced_keys(master_key, master)
        if key not in stored_set
    ]
    return check("integrity.multivariant_uris", reasons)


def check_anchor(
    anchor: bytes | None, ledger: LedgerDocument, stored: Iterable[str], prefix: str
) -> Check:
    """``integrity.anchor``: ``master.v1.m3u8`` (``anchor``, None when missing) equals the v1
    playlist of the ledger; on a mismatch, which side changed (module docstring), judged
    with the game's ``stored`` keys and its key ``prefix`` (``games/{id}/``)."""
    name = "integrity.anchor"
    subject = (MASTER_V1,)
    if anchor is None:
        return check(
            name,
            [f"{MASTER_V1} (the rollback anchor) is missing"],
            subjects=subject,
            finding="anchor_changed",
        )
    sha256 = hashlib.sha256(anchor).hexdigest()
    recorded = sorted({r.source_sha256 for r in ledger.renditions})
    copy = ledger.v1_playlist.encode("utf-8") if ledger.v1_playlist is not None else None
    copy_sha = hashlib.sha256(copy).hexdigest() if copy is not None else None
    if recorded == [sha256] and copy_sha in (None, sha256):
        return check(name, [])
    if len(recorded) > 1:
        return check(
            name,
            [
                f"the ledger changed: its rows record {len(recorded)} different v1 playlists "
                f"({', '.join(r[:12] + '…' for r in recorded)}); a backfill records one"
            ],
            subjects=("abr/renditions.json",),
            finding="ledger_changed",
        )
    if recorded == [sha256]:
        return check(
            name,
            [
                f"the ledger changed: its copy of the v1 playlist no longer has the SHA-256 "
                f"its rows record ({recorded[0][:12]}…), which {MASTER_V1} still has"
            ],
            subjects=("abr/renditions.json",),
            finding="ledger_changed",
        )
    stored_hash = f"SHA-256 {sha256[:12]}… stored, {recorded[0][:12]}… recorded"
    if copy_sha == recorded[0]:
        assert copy is not None
        return check(
            name,
            [
                f"{MASTER_V1} changed ({stored_hash}): the ledger's copy of the v1 playlist "
                f"still has the recorded hash; {_playlist_difference(anchor, copy)}"
            ],
            subjects=subject,
            finding="anchor_changed",
        )
    if copy_sha == sha256:
        return check(
            name,
            [
                f"the ledger's recorded hash changed, not {MASTER_V1} ({stored_hash}): the "
                "anchor is byte for byte the ledger's copy of the v1 playlist"
            ],
            subjects=("abr/renditions.json",),
            finding="ledger_changed",
        )
    if copy_sha is not None:
        return check(
            name,
            [
                f"{MASTER_V1} differs from the v1 playlist the ledger was encoded from "
                f"({stored_hash}), and the ledger's copy of it matches neither: both changed"
            ],
            subjects=(MASTER_V1, "abr/renditions.json"),
            finding="undetermined",
        )
    return _anchor_without_copy(anchor, stored_hash, stored, prefix)


def _anchor_without_copy(
    anchor: bytes, stored_hash: str, stored: Iterable[str], prefix: str
) -> Check:
    """A mismatch judged without the ledger's copy (a ledger older than issue 18): the
    anchor changed when it no longer parses or no longer lists every stored v1 segment."""
    name = "integrity.anchor"
    head = f"{MASTER_V1} differs from the v1 playlist the ledger was encoded from ({stored_hash})"
    try:
        parsed = parse_playlist(anchor, uri=prefix + MASTER_V1)
    except PlaylistError as exc:
        return check(
            name,
            [f"{head}: {MASTER_V1} changed, it is no longer a valid playlist ({exc})"],
            subjects=(MASTER_V1,),
            finding="anchor_changed",
        )
    if not isinstance(parsed, MediaPlaylist):
        return check(
            name,
            [f"{head}: {MASTER_V1} changed, it is no longer a v1 media playlist"],
            subjects=(MASTER_V1,),
            finding="anchor_changed",
        )
    listed = {_short(k, prefix) for k in referenced_keys(prefix + MASTER_V1, parsed)}
    stored_v1 = sorted(
        _short(k, prefix) for k in stored if k.startswith(prefix) and _is_v1_segment(k, prefix)
    )
    unlisted = [k for k in stored_v1 if k not in listed]
    if unlisted:
        return check(
            name,
            [
                f"{head}: {MASTER_V1} changed, it no longer lists "
                f"{_names(unlisted)}, stored beside it"
            ],
            subjects=(MASTER_V1,),
            finding="anchor_changed",
        )
    return check(
        name,
        [
            f"{head}; cannot tell which side changed: {MASTER_V1} parses and lists every "
            "stored v1 segment, and this ledger (written before issue 18) keeps no copy of "
            "the v1 playlist"
        ],
        subjects=(MASTER_V1, "abr/renditions.json"),
        finding="undetermined",
    )


def _is_v1_segment(key: str, prefix: str) -> bool:
    name = key[len(prefix) :]
    return "/" not in name and name.startswith("seg_") and name.endswith(SEGMENT_SUFFIX)


def _names(keys: list[str], shown: int = 3) -> str:
    more = len(keys) - shown
    return ", ".join(keys[:shown]) + (f" and {more} more" if more > 0 else "")


def _playlist_difference(anchor: bytes, copy: bytes) -> str:
    """What changed between the recorded v1 playlist ``copy`` and the stored ``anchor``:
    the segments one lists and the other not, else the first differing line."""
    try:
        now, then = parse_playlist(anchor), parse_playlist(copy)
    except PlaylistError as exc:
        return f"the stored one is no longer a valid playlist ({exc})"
    if isinstance(now, MediaPlaylist) and isinstance(then, MediaPlaylist):
        was = [s.uri for s in then.segments]
        is_ = {s.uri for s in now.segments}
        dropped = [u for u in was if u not in is_]
        added = sorted(is_ - set(was))
        parts = []
        if dropped:
            parts.append(f"it no longer lists {_names(dropped)}")
        if added:
            parts.append(f"it lists {_names(added)}, which the v1 playlist did not")
        if parts:
            return "; ".join(parts)
    old_lines, new_lines = copy.splitlines(), anchor.splitlines()
    for number, (a, b) in enumerate(zip(old_lines, new_lines, strict=False), start=1):
        if a != b:
            return f"line {number} differs ({b[:60]!r}, was {a[:60]!r})"
    return f"it has {len(new_lines)} lines, the v1 playlist {len(old_lines)}"
