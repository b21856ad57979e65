"""The backfill's last two writes, and the check of an already published game (docs/contracts.md
§1.1 and §4, steps 4 and 5 of ``services.backfill.game_backfill``).

- ``write_anchor``: the rollback anchor ``games/{id}/master.v1.m3u8`` = the v1 media
  playlist's bytes, written only if absent (``If-None-Match: *``); an existing anchor must
  equal them, else the game is broken;
- ``publish_master``: the multivariant ``games/{id}/master.m3u8`` (RFC 8216 §4.3.4.2),
  written over the v1 ETag read at the start of the job (``If-Match``), so a concurrent
  change to the game (412) publishes nothing;
- ``verify_published``: a v1.5 game (multivariant master) is verified, never re-encoded:
  anchor, ledger objects (HEAD: size + stored SHA-256) and the master the ledger describes.
"""

from __future__ import annotations

import hashlib

from services.abr.ledger import LedgerDocument
from services.abr.multivariant import multivariant_text
from services.backfill.source import SourceRendition
from services.backfill.upload import verify_stored
from services.errors import MediaError, NotVerified, PreconditionFailed
from services.job_reporting import JobOutcome, JobReporter
from services.layout import MASTER, MASTER_V1, GameKeys
from services.storage import ObjectBody, Storage

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
"""Content-Type of the playlists the backfill writes (RFC 8216 §4)."""


def sha256_hex(data: bytes) -> str:
    """The SHA-256 hex digest sent with every write (``ChecksumAlgorithm="SHA256"``)."""
    return hashlib.sha256(data).hexdigest()


async def write_anchor(storage: Storage, keys: GameKeys, source: SourceRendition) -> None:
    """Write ``master.v1.m3u8`` = ``source.data``, only if absent; nothing to do when the
    source already is the anchor (a forced re-run of a v1.5 game). Raises ``MediaError``
    when a stored anchor differs from the v1 bytes; storage errors propagate."""
    if source.key == keys.anchor:
        return
    try:
        await storage.put(
            keys.anchor,
            source.data,
            sha256=source.sha256,
            content_type=PLAYLIST_TYPE,
            if_none_match=True,
        )
    except PreconditionFailed:
        existing = await storage.get(keys.anchor)
        if existing.data != source.data:
            raise MediaError(
                f"{keys.anchor} already exists and differs from the v1 playlist: the game "
                "is broken. Nothing was published."
            ) from None


async def publish_master(
    storage: Storage, keys: GameKeys, master: ObjectBody, text: bytes, reporter: JobReporter
) -> bool:
    """Write the multivariant ``text`` over ``master`` (the body read at the start, whose
    ETag conditions the write); False when the stored master already has these bytes.
    Raises ``PreconditionFailed`` with what to do when the master changed meanwhile.

    A 412 on a write that botocore retried (an earlier attempt landed but its answer was
    lost to a reset or a timeout) is no change by someone else: when the stored master is
    ``text``, it was published by this job."""
    if master.data == text:
        return False
    try:
        await storage.put(
            keys.master,
            text,
            sha256=sha256_hex(text),
            content_type=PLAYLIST_TYPE,
            if_match=master.etag,
        )
    except PreconditionFailed:
        if (await storage.get(keys.master)).data == text:
            reporter.log(f"published {keys.master} (an earlier attempt of the write landed)")
            return True
        raise PreconditionFailed(
            f"{keys.master} changed while the job ran (its ETag is no longer "
            f"{master.etag}): someone else modified the game, so the multivariant "
            "playlist was NOT published. The rung objects and the ledger are stored; "
            "check the game, then run the backfill again."
        ) from None
    reporter.log(f"published {keys.master} (replacing ETag {master.etag})")
    return True


def _force_advice(keys: GameKeys, recorded: int, damaged: int, anchor_differs: bool) -> str:
    """The next step for a v1.5 game that does not verify: what ``--force`` redoes, or why
    it must wait (it encodes from ``master.v1.m3u8``, so a changed anchor comes first)."""
    if anchor_differs:
        return (
            f"Do not use --force yet: it would re-encode from the changed {MASTER_V1}. "
            f"Run a spot-check of {keys.game_id} to see which side changed, and restore "
            f"{MASTER_V1} from the ledger's v1 playlist (`main.py ledger v1-playlist "
            f"--game {keys.game_id}`) before backfilling again."
        )
    if damaged:
        return (
            f"`main.py backfill --game {keys.game_id} --force` re-encodes the ladder from "
            f"{MASTER_V1} and re-uploads only the objects whose bytes differ ({damaged} of "
            f"{recorded}), then rewrites the ledger and publishes {MASTER} again."
        )
    return (
        f"The {recorded} rung objects verify: `main.py backfill --game {keys.game_id} "
        f"--force` re-encodes to check them, uploads nothing that matches, and publishes "
        f"{MASTER} from the ledger again."
    )


async def verify_published(
    storage: Storage, keys: GameKeys, master: ObjectBody, stored: dict, reporter: JobReporter
) -> JobOutcome:
    """An already-v1.5 game: check anchor, ledger objects and master; never re-encode.
    ``stored``: the game's listing by key. Raises ``MediaError`` (``LedgerError`` for an
    unreadable ledger) naming the first problem when the game does not verify."""
    reporter.progress(0.2, "verify", "already v1.5: verifying instead of re-encoding")
    for key in (keys.anchor, keys.ledger):
        if key not in stored:
            raise MediaError(f"{keys.game_id} has a multivariant master but no {key}: broken.")
    ledger = LedgerDocument.from_bytes((await storage.get(keys.ledger)).data, keys.ledger)
    anchor = await storage.get(keys.anchor)
    objects = await verify_stored(storage, ledger.objects)
    anchor_differs = any(r.source_sha256 != sha256_hex(anchor.data) for r in ledger.renditions)
    master_differs = multivariant_text(ledger.renditions, keys.prefix).encode() != master.data
    problems = list(objects)
    if anchor_differs:
        problems.append(f"{MASTER_V1} is not the v1 playlist the ledger was encoded from")
    if master_differs:
        problems.append(f"{MASTER} differs from the one the ledger describes")
    if problems:
        raise NotVerified(
            f"{keys.game_id} is v1.5 but does not verify: {problems[0]}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
            + ".",
            _force_advice(keys, len(ledger.objects), len(objects), anchor_differs),
        )
    summary = f"already v1.5: {len(ledger.objects)} objects verified, nothing re-encoded"
    reporter.progress(1.0, "done", summary)
    return JobOutcome(
        summary,
        {
            "game_id": keys.game_id,
            "state": "v1.5",
            "verified_only": True,
            "objects": len(ledger.objects),
            "bytes_uploaded": 0,
            "bytes_reused": 0,
            "rungs": ledger.rungs,
        },
    )
