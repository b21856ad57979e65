"""The packaging ledger, ``games/{id}/abr/renditions.json`` (docs/contracts.md §1.1).

Document shape (``schema_version`` 1)::

    {"schema_version": 1, "game_id": str, "job_id": str, "created_at": ISO-8601 UTC,
     "ladder": {"name": str, "version": int},
     "renditions": [PackagedRendition row, ...],      # one per produced rung, tallest first
     "skipped": [{"rung": str, "reason": str}, ...],  # rungs not produced (no upscaling)
     "v1_playlist": str}                              # optional: the v1 playlist's text

``v1_playlist`` (added in issue 18; older ledgers lack it) is the text of the v1 media
playlist the rungs were encoded from, whose SHA-256 every row records as ``source.sha256``:
the copy of the rollback anchor ``master.v1.m3u8`` that lets a spot-check tell which side
changed when the two disagree, and lets an operator restore the anchor byte for byte.

A PackagedRendition row carries ``game_id, rung, ladder {name, version}, encoder_settings,
ffmpeg_version, source {key, sha256}, created_at, job_id, objects [{key, size, sha256}]``
(docs/contracts.md §1.1) plus what the multivariant playlist needs so a resumed job can publish
without the local files: ``playlist`` (the rung's media playlist key), ``width``,
``height`` (pixels), ``frame_rate`` (frames/s), ``codecs`` (RFC 6381), ``bandwidth`` and
``average_bandwidth`` (bits/s, measured from the segments, RFC 8216 §4.3.4.2).

The backfill writes it (``LedgerDocument.to_bytes``); the backfill (resume), the
spot-check, the catalog's detail and the compare view read it (``LedgerDocument.from_bytes``).
A stored ledger that is not this shape raises ``LedgerError`` naming the key and the field
(``renditions[1].objects[0].size: expected an integer``), never a ``KeyError``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.errors import MediaError

SCHEMA_VERSION = 1
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class LedgerError(MediaError):
    """A stored ledger is not a schema-1 packaging ledger (unreadable JSON, a missing or
    mistyped field, a duplicate rung). ``key`` is its bucket key, ``reason`` what is wrong
    (with the JSON path of the field)."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key} is not a readable packaging ledger ({reason}).")
        self.key = key
        self.reason = reason


class _Malformed(Exception):
    """Internal: a field of the document is wrong; ``LedgerError`` adds the key."""


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), f"a {type(value).__name__}")


def _mapping(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _Malformed(f"{path}: expected an object, got {_kind(value)}")
    return value


def _field(obj: Mapping[str, Any], name: str, path: str) -> Any:
    if name not in obj:
        raise _Malformed(f"{path}{name}: missing")
    return obj[name]


def _str(obj: Mapping[str, Any], name: str, path: str) -> str:
    value = _field(obj, name, path)
    if not isinstance(value, str):
        raise _Malformed(f"{path}{name}: expected a string, got {_kind(value)}")
    return value


def _int(obj: Mapping[str, Any], name: str, path: str) -> int:
    value = _field(obj, name, path)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Malformed(f"{path}{name}: expected a non-negative integer, got {value!r}")
    return value


def _float(obj: Mapping[str, Any], name: str, path: str) -> float:
    value = _field(obj, name, path)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Malformed(f"{path}{name}: expected a number, got {value!r}")
    return float(value)


def _sha256(obj: Mapping[str, Any], name: str, path: str) -> str:
    value = _str(obj, name, path)
    if not _SHA256.match(value):
        raise _Malformed(f"{path}{name}: expected a SHA-256 hex digest, got {value[:80]!r}")
    return value


def _list(obj: Mapping[str, Any], name: str, path: str) -> list[Any]:
    value = _field(obj, name, path)
    if not isinstance(value, list):
        raise _Malformed(f"{path}{name}: expected a list, got {_kind(value)}")
    return value


@dataclass(frozen=True)
class LedgerObject:
    """One stored object of a rung as recorded: ``key`` (bucket key), ``size`` in bytes,
    ``sha256`` (hex digest of its bytes)."""

    key: str
    size: int
    sha256: str

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class PackagedRendition:
    """One produced rung, as recorded in the ledger (see the module docstring for the
    fields and their units)."""

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
    objects: tuple[LedgerObject, ...]

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
            "objects": [o.as_json() for o in self.objects],
        }

    @classmethod
    def from_json(
        cls, row: object, *, key: str = "renditions.json", path: str = "row"
    ) -> PackagedRendition:
        """Parse one ledger row. Raises ``LedgerError`` (naming ``key`` and the field under
        ``path``) when a field is missing or of the wrong type."""
        try:
            return cls._parse(row, path)
        except _Malformed as exc:
            raise LedgerError(key, str(exc)) from None

    @classmethod
    def _parse(cls, value: object, path: str) -> PackagedRendition:
        row = _mapping(value, path)
        at = f"{path}."
        ladder = _mapping(_field(row, "ladder", at), f"{at}ladder")
        source = _mapping(_field(row, "source", at), f"{at}source")
        settings = _mapping(_field(row, "encoder_settings", at), f"{at}encoder_settings")
        objects = []
        for index, item in enumerate(_list(row, "objects", at)):
            where = f"{at}objects[{index}]"
            obj = _mapping(item, where)
            objects.append(
                LedgerObject(
                    _str(obj, "key", f"{where}."),
                    _int(obj, "size", f"{where}."),
                    _sha256(obj, "sha256", f"{where}."),
                )
            )
        return cls(
            game_id=_str(row, "game_id", at),
            rung=_str(row, "rung", at),
            ladder_name=_str(ladder, "name", f"{at}ladder."),
            ladder_version=_int(ladder, "version", f"{at}ladder."),
            encoder_settings=dict(settings),
            ffmpeg_version=_str(row, "ffmpeg_version", at),
            source_key=_str(source, "key", f"{at}source."),
            source_sha256=_sha256(source, "sha256", f"{at}source."),
            created_at=_str(row, "created_at", at),
            job_id=_str(row, "job_id", at),
            playlist=_str(row, "playlist", at),
            width=_int(row, "width", at),
            height=_int(row, "height", at),
            frame_rate=_float(row, "frame_rate", at),
            codecs=_str(row, "codecs", at),
            bandwidth=_int(row, "bandwidth", at),
            average_bandwidth=_int(row, "average_bandwidth", at),
            objects=tuple(objects),
        )


@dataclass(frozen=True)
class LedgerDocument:
    """The whole ``renditions.json``: rows (one per produced rung) plus the skipped rungs
    as ``(rung, reason)`` and, when recorded, ``v1_playlist``: the v1 playlist's text
    (module docstring)."""

    game_id: str
    job_id: str
    created_at: str
    ladder_name: str
    ladder_version: int
    renditions: tuple[PackagedRendition, ...]
    skipped: tuple[tuple[str, str], ...]
    v1_playlist: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The document as JSON values (see the module docstring)."""
        document: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "game_id": self.game_id,
            "job_id": self.job_id,
            "created_at": self.created_at,
            "ladder": {"name": self.ladder_name, "version": self.ladder_version},
            "renditions": [r.as_json() for r in self.renditions],
            "skipped": [{"rung": rung, "reason": reason} for rung, reason in self.skipped],
        }
        if self.v1_playlist is not None:
            document["v1_playlist"] = self.v1_playlist
        return document

    def to_text(self) -> str:
        """Canonical JSON text (sorted keys, 2-space indent, trailing newline): what the
        backfill stores, and what the detail panel shows."""
        return json.dumps(self.as_json(), indent=2, sort_keys=True) + "\n"

    def to_bytes(self) -> bytes:
        """``to_text`` as UTF-8: the bytes the backfill PUTs."""
        return self.to_text().encode("utf-8")

    @property
    def objects(self) -> list[LedgerObject]:
        """Every recorded object of every rung, row by row."""
        return [o for r in self.renditions for o in r.objects]

    @property
    def rungs(self) -> list[str]:
        """The produced rungs' names, in ledger order (tallest first)."""
        return [r.rung for r in self.renditions]

    def row(self, rung: str) -> PackagedRendition | None:
        """The row of ``rung``, None when it was not produced."""
        return next((r for r in self.renditions if r.rung == rung), None)

    @property
    def frame_rate(self) -> float | None:
        """Frames/s of the ladder (every rung keeps the source's rate): the first row's
        positive rate, None when no row records one."""
        return next((r.frame_rate for r in self.renditions if r.frame_rate > 0), None)

    @classmethod
    def from_bytes(cls, data: bytes, key: str) -> LedgerDocument:
        """Parse a stored ledger (``key`` names it in errors). Raises ``LedgerError`` (a
        ``MediaError``) when it is not a schema-1 ledger: unreadable JSON or UTF-8, another
        ``schema_version``, a missing or mistyped field, the same rung twice."""
        try:
            document = json.loads(data)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise LedgerError(key, f"not JSON: {exc}") from None
        try:
            return cls._parse(document)
        except _Malformed as exc:
            raise LedgerError(key, str(exc)) from None

    @classmethod
    def _parse(cls, value: object) -> LedgerDocument:
        document = _mapping(value, "the document")
        version = document.get("schema_version")
        if version != SCHEMA_VERSION:
            raise _Malformed(f"schema_version {version!r}, expected {SCHEMA_VERSION}")
        ladder = _mapping(_field(document, "ladder", ""), "ladder")
        rows = tuple(
            PackagedRendition._parse(row, f"renditions[{index}]")
            for index, row in enumerate(_list(document, "renditions", ""))
        )
        seen: set[str] = set()
        for row in rows:
            if row.rung in seen:
                raise _Malformed(f"renditions: rung {row.rung!r} is recorded twice")
            seen.add(row.rung)
        skipped = []
        for index, item in enumerate(_list(document, "skipped", "")):
            entry = _mapping(item, f"skipped[{index}]")
            where = f"skipped[{index}]."
            skipped.append((_str(entry, "rung", where), _str(entry, "reason", where)))
        v1_playlist = document.get("v1_playlist")
        if v1_playlist is not None and not isinstance(v1_playlist, str):
            raise _Malformed(f"v1_playlist: expected a string, got {_kind(v1_playlist)}")
        return cls(
            game_id=_str(document, "game_id", ""),
            job_id=_str(document, "job_id", ""),
            created_at=_str(document, "created_at", ""),
            ladder_name=_str(ladder, "name", "ladder."),
            ladder_version=_int(ladder, "version", "ladder."),
            renditions=rows,
            skipped=tuple(skipped),
            v1_playlist=v1_playlist,
        )
