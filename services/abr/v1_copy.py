"""The ledger's copy of a game's v1 playlist (issue 18): the bytes to restore a changed
rollback anchor ``master.v1.m3u8`` from. Reads only; the console never writes the anchor.
"""

from __future__ import annotations

import hashlib

from services.abr.ledger import LedgerDocument
from services.errors import MediaError, NotFound
from services.layout import MASTER_V1, GameKeys
from services.storage import Storage


async def recorded_v1_playlist(storage: Storage, game_id: str) -> tuple[bytes, str]:
    """``(bytes, sha256)`` of the v1 playlist the ledger of ``game_id`` keeps, checked
    against the SHA-256 its rows record (``source.sha256``). Raises ``NotFound`` (no
    ledger), ``LedgerError`` (unreadable ledger), ``MediaError`` (the ledger predates the
    copy, or the copy does not have the recorded hash: it cannot be trusted), and the
    store's ``AccessDenied``/``Unreachable``."""
    keys = GameKeys(game_id)
    try:
        body = await storage.get(keys.ledger)
    except NotFound:
        raise NotFound(
            f"{game_id} has no ledger ({keys.ledger}): it was never backfilled.", keys.ledger
        ) from None
    ledger = LedgerDocument.from_bytes(body.data, keys.ledger)
    if ledger.v1_playlist is None:
        raise MediaError(
            f"The ledger of {game_id} keeps no copy of the v1 playlist (written before "
            f"copies were kept): restore {MASTER_V1} from the platform's backup."
        )
    data = ledger.v1_playlist.encode("utf-8")
    sha256 = hashlib.sha256(data).hexdigest()
    recorded = {r.source_sha256 for r in ledger.renditions}
    if recorded != {sha256}:
        raise MediaError(
            f"The ledger's copy of the v1 playlist of {game_id} does not have the SHA-256 "
            f"its rows record ({sha256[:12]}… kept, "
            f"{', '.join(r[:12] + '…' for r in sorted(recorded))} recorded): the ledger was "
            "edited, escalate to the platform team."
        )
    return data, sha256
