"""The demo bucket's on-disk snapshot, ``<data_dir>/demo/bucket/``, so the demo stack
keeps what the operator changed (a backfill, a deleted object) across restarts.

**Format**: ``objects/<sha256[:2]>/<sha256>`` hold the bodies (content-addressed, so
unchanged objects are never copied twice), ``index.json`` maps
``key -> {sha256, size, content_type, etag, metadata}`` (with the ``seed_version`` it was
made from) and is replaced atomically after the bodies it names are on disk; unreferenced
bodies are then deleted. A snapshot of another seed version, or with a body missing, is
ignored (the server restores the seed instead).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.demo import seed as seedmod
from console.demo import state
from services.clock import utc_stamp

log = logging.getLogger("console.demo.server")

SNAPSHOT_INDEX_VERSION = 1


@dataclass
class ObjectEntry:
    """What the server knows of one stored object: ``etag`` as S3 returns it (quoted hex),
    ``sha256`` hex of the body, ``size`` in bytes, MIME type, user metadata, and ``source``,
    a local file holding the body (seed file or snapshot body) when known."""

    etag: str
    sha256: str
    size: int
    content_type: str
    metadata: dict[str, str] = field(default_factory=dict)
    source: Path | None = None

    def to_index(self) -> dict[str, Any]:
        """The row stored in the snapshot's ``index.json``."""
        return {
            "sha256": self.sha256,
            "size": self.size,
            "content_type": self.content_type,
            "etag": self.etag,
            "metadata": self.metadata,
        }


class BucketSnapshot:
    """The on-disk snapshot of the bucket under ``root`` (``<data_dir>/demo/bucket``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects_dir = root / "objects"
        self.index_path = root / "index.json"

    def body_path(self, sha256: str) -> Path:
        """Where the body with this SHA-256 (hex) is stored."""
        return self.objects_dir / sha256[:2] / sha256

    def has_body(self, sha256: str, size: int) -> bool:
        """Whether the body is stored with the expected size in bytes."""
        try:
            return self.body_path(sha256).stat().st_size == size
        except OSError:
            return False

    def load(self) -> dict[str, ObjectEntry] | None:
        """The stored objects by key, or None when there is no complete snapshot (no index,
        an unreadable index, another seed version, or a body missing)."""
        doc = state.read_json(self.index_path)
        if doc is None:
            return None
        if doc.get("seed_version") != seedmod.SEED_VERSION:
            log.warning(
                "snapshot made from seed v%s, this is seed v%s: ignoring it",
                doc.get("seed_version"),
                seedmod.SEED_VERSION,
            )
            return None
        entries: dict[str, ObjectEntry] = {}
        try:
            for key, row in doc["objects"].items():
                entry = ObjectEntry(
                    etag=str(row.get("etag", "")),
                    sha256=row["sha256"],
                    size=int(row["size"]),
                    content_type=row.get("content_type") or seedmod.content_type_for(key),
                    metadata=dict(row.get("metadata") or {}),
                )
                if not self.has_body(entry.sha256, entry.size):
                    log.warning("snapshot body of %s is missing: ignoring the snapshot", key)
                    return None
                entry.source = self.body_path(entry.sha256)
                entries[key] = entry
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("snapshot index unreadable (%s): ignoring it", exc)
            return None
        return entries

    def store_file(self, sha256: str, src: Path) -> Path:
        """Store the body found in ``src`` (hard link when possible, else a copy)."""
        dest = self.body_path(sha256)
        if dest.exists():
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
        return dest

    def store_stream(self, chunks: Iterable[bytes]) -> tuple[str, int, Path]:
        """Store a body given as chunks; returns (sha256 hex, size in bytes, path)."""
        self.objects_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.objects_dir / f".incoming-{os.getpid()}-{threading.get_ident()}"
        digest = hashlib.sha256()
        size = 0
        with tmp.open("wb") as fh:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        sha = digest.hexdigest()
        dest = self.body_path(sha)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, dest)
        return sha, size, dest

    def write_index(self, entries: dict[str, ObjectEntry]) -> None:
        """Atomically replace ``index.json`` with ``entries``, then delete unreferenced bodies."""
        self.root.mkdir(parents=True, exist_ok=True)
        doc = {
            "version": SNAPSHOT_INDEX_VERSION,
            "seed_version": seedmod.SEED_VERSION,
            "bucket": state.BUCKET,
            "saved_at": utc_stamp(),
            "objects": {key: entries[key].to_index() for key in sorted(entries)},
        }
        state.write_json_atomic(self.index_path, doc)
        keep = {e.sha256 for e in entries.values()}
        for body in self.objects_dir.glob("*/*"):
            if body.name not in keep:
                with contextlib.suppress(OSError):
                    body.unlink()
