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
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable

from services.abr.ledger import LedgerDocument, PackagedRendition
from services.hls import MediaPlaylist, MultivariantPlaylist, referenced_keys
from services.spotcheck.checks import Check, check
from services.spotcheck.hashing import StoreHasher


def _short(key: str, prefix: str) -> str:
    return key[len(prefix) :] if key.startswith(prefix) else key


async def check_objects(hasher: StoreHasher, row: PackagedRendition, prefix: str) -> Check:
    """``integrity.objects`` for one ledger row (``prefix``: ``games/{id}/``, trimmed from
    the keys in the reasons)."""
    digests = await asyncio.gather(*(hasher.digest(o.key) for o in row.objects))
    reasons: list[str] = []
    for recorded, stored in zip(row.objects, digests, strict=True):
        name = _short(recorded.key, prefix)
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
    return check("integrity.objects", reasons)


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
    for key in referenced_keys(playlist_key, playlist):
        if key not in stored_set:
            reasons.append(f"{_short(key, prefix)} is referenced by the playlist but missing")
        elif key not in recorded_set:
            reasons.append(f"{_short(key, prefix)} is referenced but not in the ledger")
    return check("integrity.playlist_uris", reasons)


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


def check_anchor(anchor: bytes | None, ledger: LedgerDocument) -> Check:
    """``integrity.anchor``: ``master.v1.m3u8`` equals the v1 playlist of the ledger."""
    if anchor is None:
        return check("integrity.anchor", ["master.v1.m3u8 (the rollback anchor) is missing"])
    sha256 = hashlib.sha256(anchor).hexdigest()
    recorded = sorted({r.source_sha256 for r in ledger.renditions})
    reasons = [
        f"master.v1.m3u8 differs from the v1 playlist the ledger was encoded from "
        f"(SHA-256 {sha256[:12]}… stored, {source[:12]}… recorded)"
        for source in recorded
        if source != sha256
    ]
    return check("integrity.anchor", reasons)
