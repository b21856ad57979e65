"""The packaging ledger, ``games/{id}/abr/renditions.json`` (DESIGN.md §1.1).

Document shape (``schema_version`` 1)::

    {"schema_version": 1, "game_id": str, "job_id": str, "created_at": ISO-8601 UTC,
     "ladder": {"name": str, "version": int},
     "renditions": [PackagedRendition row, ...],      # one per produced rung, tallest first
     "skipped": [{"rung": str, "reason": str}, ...]}  # rungs not produced (no upscaling)

A PackagedRendition row carries ``game_id, rung, ladder {name, version}, encoder_settings,
ffmpeg_version, source {key, sha256}, created_at, job_id, objects [{key, size, sha256}]``
(DESIGN.md) plus what the multivariant playlist needs so a resumed job can publish without
the local files: ``playlist`` (the rung's media playlist key), ``width``, ``height``,
``frame_rate`` (frames/s), ``codecs`` (RFC 6381), ``bandwidth`` and ``average_bandwidth``
(bits/s, measured from the segments).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from services.backfill.upload import RungObject
from services.errors import MediaError

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class PackagedRendition:
    """One produced rung, as recorded in the ledger (see the module docstring)."""

    game_id: str
    rung: str
    ladder_name: str
    ladder_version: int
    encoder_settings: dict[str, Any]
    ffmpeg_version: str
    source_key: str
    source_sha256: str
    created_at: str
    job_id: str
    playlist: str
    width: int
    height: int
    frame_rate: float
    codecs: str
    bandwidth: int
    average_bandwidth: int
    objects: tuple[RungObject, ...]

    def as_json(self) -> dict[str, Any]:
        """The ledger row (``objects`` as ``[{key, size, sha256}]``)."""
        return {
            "game_id": self.game_id,
            "rung": self.rung,
            "ladder": {"name": self.ladder_name, "version": self.ladder_version},
            "encoder_settings": self.encoder_settings,
            "ffmpeg_version": self.ffmpeg_version,
            "source": {"key": self.source_key, "sha256": self.source_sha256},
            "created_at": self.created_at,
            "job_id": self.job_id,
            "playlist": self.playlist,
            "width": self.width,
            "height": self.height,
            "frame_rate": self.frame_rate,
            "codecs": self.codecs,
            "bandwidth": self.bandwidth,
            "average_bandwidth": self.average_bandwidth,
            "objects": [{"key": o.key, "size": o.size, "sha256": o.sha256} for o in self.objects],
        }

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> PackagedRendition:
        """Parse one ledger row; raises ``KeyError``/``TypeError``/``ValueError`` if malformed."""
        return cls(
            game_id=str(row["game_id"]),
            rung=str(row["rung"]),
            ladder_name=str(row["ladder"]["name"]),
            ladder_version=int(row["ladder"]["version"]),
            encoder_settings=dict(row["encoder_settings"]),
            ffmpeg_version=str(row["ffmpeg_version"]),
            source_key=str(row["source"]["key"]),
            source_sha256=str(row["source"]["sha256"]),
            created_at=str(row["created_at"]),
            job_id=str(row["job_id"]),
            playlist=str(row["playlist"]),
            width=int(row["width"]),
            height=int(row["height"]),
            frame_rate=float(row["frame_rate"]),
            codecs=str(row["codecs"]),
            bandwidth=int(row["bandwidth"]),
            average_bandwidth=int(row["average_bandwidth"]),
            objects=tuple(
                RungObject(str(o["key"]), int(o["size"]), str(o["sha256"]), reused=True)
                for o in row["objects"]
            ),
        )


@dataclass(frozen=True)
class LedgerDocument:
    """The whole ``renditions.json``: rows plus the skipped rungs ``(rung, reason)``."""

    game_id: str
    job_id: str
    created_at: str
    ladder_name: str
    ladder_version: int
    renditions: tuple[PackagedRendition, ...]
    skipped: tuple[tuple[str, str], ...]

    def to_bytes(self) -> bytes:
        """Canonical JSON bytes (sorted keys, 2-space indent, trailing newline)."""
        document = {
            "schema_version": SCHEMA_VERSION,
            "game_id": self.game_id,
            "job_id": self.job_id,
            "created_at": self.created_at,
            "ladder": {"name": self.ladder_name, "version": self.ladder_version},
            "renditions": [r.as_json() for r in self.renditions],
            "skipped": [{"rung": rung, "reason": reason} for rung, reason in self.skipped],
        }
        return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")

    @property
    def objects(self) -> list[RungObject]:
        """Every recorded object of every rung."""
        return [o for r in self.renditions for o in r.objects]

    @classmethod
    def from_bytes(cls, data: bytes, key: str) -> LedgerDocument:
        """Parse a stored ledger. Raises ``MediaError`` naming ``key`` when it is not a
        schema-1 ledger (unreadable JSON, missing fields)."""
        try:
            document = json.loads(data)
            if document.get("schema_version") != SCHEMA_VERSION:
                raise ValueError(f"schema_version {document.get('schema_version')!r}")
            return cls(
                game_id=str(document["game_id"]),
                job_id=str(document["job_id"]),
                created_at=str(document["created_at"]),
                ladder_name=str(document["ladder"]["name"]),
                ladder_version=int(document["ladder"]["version"]),
                renditions=tuple(PackagedRendition.from_json(r) for r in document["renditions"]),
                skipped=tuple((str(s["rung"]), str(s["reason"])) for s in document["skipped"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise MediaError(f"{key} is not a readable packaging ledger ({exc}).") from exc
