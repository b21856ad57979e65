"""Streamed SHA-256 of stored objects: the bytes flow from the store through the hash in
``CHUNK_BYTES`` pieces and are never written to disk nor held whole in memory.

boto3's ``get_object`` body is read with ``iter_chunks`` on worker threads (hashlib
releases the GIL while hashing, so several objects hash in parallel on several cores).

A store fault is never taken for a verdict on the bytes: botocore retries the request
(5xx, throttling, a reset or a stall before the body); a fault while the body streams (a
reset, a cut, a stall past the read timeout: not retried by botocore) gives a
``StoredDigest`` with ``unreadable`` set to why, and no digest, so the integrity check says
"could not read", never "checksum mismatch" (docs/platform.md "Store faults").
"""

from __future__ import annotations

import asyncio
import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from services.errors import AccessDenied, BadConfig, NotFound
from services.storage import Storage, translate_error

CHUNK_BYTES = 1 << 20
"""Bytes read from the response stream per hash update (1 MiB)."""


@dataclass(frozen=True)
class StoredDigest:
    """What the store returned for ``key``: ``size`` bytes and their ``sha256`` (hex);
    ``missing`` when the object does not exist (size 0, empty digest); ``unreadable`` the
    sentence saying why the object could not be read whole (a store or network fault; then
    ``size`` is what was read before it and ``sha256`` is empty)."""

    key: str
    size: int
    sha256: str
    missing: bool = False
    unreadable: str = ""


def sha256_of_stream(chunks: Any) -> tuple[int, str]:
    """``(bytes read, hex SHA-256)`` of an iterable of byte chunks."""
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def _stream_digest(client: Any, bucket: str, key: str) -> StoredDigest:
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
    except Exception as exc:  # every botocore failure becomes a typed service error
        error = translate_error(exc, key)
        if isinstance(error, NotFound):
            return StoredDigest(key, 0, "", missing=True)
        if isinstance(error, AccessDenied | BadConfig):
            raise error from exc  # the profile's problem, not this object's
        return StoredDigest(key, 0, "", unreadable=str(error))
    digest = hashlib.sha256()
    size = 0
    try:
        for chunk in body.iter_chunks(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    except Exception as exc:
        error = translate_error(exc, key)
        return StoredDigest(key, size, "", unreadable=f"{error} ({size} bytes read)")
    finally:
        body.close()
    return StoredDigest(key, size, digest.hexdigest())


class StoreHasher:
    """Hashes stored objects of ``storage``'s bucket, ``workers`` at a time (its own
    threads, so hashing never queues behind the storage facade's other calls)."""

    def __init__(self, storage: Storage, *, workers: int = 4) -> None:
        self.storage = storage
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sha256")
        self.bytes_hashed = 0

    async def digest(self, key: str) -> StoredDigest:
        """The streamed digest of ``key``: ``missing`` when absent, ``unreadable`` (why)
        when a store or network fault stopped the read after botocore's retries. Raises
        ``AccessDenied`` or ``BadConfig`` (the profile cannot read the bucket at all)."""
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(
            self._executor, _stream_digest, self.storage.client, self.storage.bucket, key
        )
        self.bytes_hashed += result.size
        return result

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
