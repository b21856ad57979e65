"""The demo switch that plants one real-world mistake of each kind on chosen games, so an
audit can be shown catching them (issue 15). Default off: no file, no mistake.

The switch is ``<data_dir>/demo/viewer_mistakes.json`` (``main.py demo mistakes …``),
re-read by the viewer service when it changes::

    {"cookie_path": ["game-a"],               # the gate cookie scoped to /games/, not /games/{id}/
     "unprotected_rung": {"game-b": "360p"},  # the gate forgets to protect abr/{rung}/
     "foreign_clip": ["game-c"],              # clips name one segment of another game
     "dropped_rung": {"game-d": "720p"}}      # the master served without that (v1-size) rung

Each breaks exactly one success criterion of docs/contracts.md §1.5: the cookie and the
unprotected rung break "403 with no media", the foreign clip "a clip references only stored
segments", the dropped rung "every backfilled game plays ABR". Nothing in the bucket is
written: the gate and the clip API apply them to what they answer.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MISTAKES_FILE = "viewer_mistakes.json"
KINDS = ("cookie_path", "unprotected_rung", "foreign_clip", "dropped_rung")
"""The mistake kinds, as keys of the switch file."""


class MistakeSpecError(ValueError):
    """A switch file or command that does not name mistakes the way the docstring says."""


@dataclass(frozen=True)
class Mistakes:
    """The planted mistakes: game ids with a wrong cookie path or a foreign clip segment;
    ``{game id: rung}`` for the unprotected rung prefix and the dropped master rung."""

    cookie_path: frozenset[str] = frozenset()
    unprotected_rung: dict[str, str] = field(default_factory=dict)
    foreign_clip: frozenset[str] = frozenset()
    dropped_rung: dict[str, str] = field(default_factory=dict)

    @property
    def any(self) -> bool:
        """True when at least one mistake is planted."""
        return bool(self.cookie_path or self.unprotected_rung or self.foreign_clip) or bool(
            self.dropped_rung
        )

    def as_json(self) -> dict[str, Any]:
        """The switch file's document."""
        return {
            "cookie_path": sorted(self.cookie_path),
            "unprotected_rung": dict(sorted(self.unprotected_rung.items())),
            "foreign_clip": sorted(self.foreign_clip),
            "dropped_rung": dict(sorted(self.dropped_rung.items())),
        }

    @classmethod
    def from_json(cls, doc: object) -> Mistakes:
        """Parse the switch document. Raises ``MistakeSpecError``."""
        if not isinstance(doc, dict) or set(doc) - set(KINDS):
            raise MistakeSpecError(f"expected an object with keys among {', '.join(KINDS)}")

        def ids(name: str) -> frozenset[str]:
            value = doc.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise MistakeSpecError(f"{name}: expected a list of game ids")
            return frozenset(value)

        def rungs(name: str) -> dict[str, str]:
            value = doc.get(name, {})
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()
            ):
                raise MistakeSpecError(f"{name}: expected {{game id: rung}}")
            return dict(value)

        return cls(
            ids("cookie_path"),
            rungs("unprotected_rung"),
            ids("foreign_clip"),
            rungs("dropped_rung"),
        )

    def planted(self, kind: str, game_id: str, rung: str = "") -> Mistakes:
        """A copy with one more mistake (``rung`` for the two rung kinds). Raises
        ``MistakeSpecError`` for an unknown kind or a missing rung."""
        if kind not in KINDS:
            raise MistakeSpecError(f"unknown mistake {kind!r}; one of {', '.join(KINDS)}")
        doc = self.as_json()
        if kind in ("unprotected_rung", "dropped_rung"):
            if not rung:
                raise MistakeSpecError(f"{kind} needs a rung (e.g. 360p)")
            doc[kind][game_id] = rung
        else:
            doc[kind] = sorted({*doc[kind], game_id})
        return Mistakes.from_json(doc)


def mistakes_path(demo_dir: Path) -> Path:
    """``<demo dir>/viewer_mistakes.json``."""
    return demo_dir / MISTAKES_FILE


def save_mistakes(demo_dir: Path, mistakes: Mistakes) -> Path:
    """Write the switch file (atomically); an empty set removes it. Returns its path."""
    path = mistakes_path(demo_dir)
    if not mistakes.any:
        path.unlink(missing_ok=True)
        return path
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(mistakes.as_json(), indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_mistakes(demo_dir: Path) -> Mistakes:
    """The planted mistakes (none when there is no switch file). Raises
    ``MistakeSpecError`` for an unreadable file."""
    path = mistakes_path(demo_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Mistakes()
    try:
        return Mistakes.from_json(json.loads(text))
    except ValueError as exc:
        raise MistakeSpecError(f"{path}: {exc}") from None


class MistakeSwitch:
    """What the viewer service consults per request: a fixed set (tests) or the switch file
    of ``demo_dir``, re-read when its modification time changes (thread-safe)."""

    def __init__(self, demo_dir: Path | None = None, fixed: Mistakes | None = None) -> None:
        self._dir = demo_dir
        self._fixed = fixed
        self._lock = threading.Lock()
        self._stamp: float | None = None
        self._current = fixed or Mistakes()

    def set(self, mistakes: Mistakes) -> None:
        """Replace the planted set (a fixed switch; tests)."""
        with self._lock:
            self._fixed = mistakes
            self._current = mistakes

    def current(self) -> Mistakes:
        """The mistakes in force now; an unreadable switch file counts as none."""
        if self._fixed is not None or self._dir is None:
            return self._current
        path = mistakes_path(self._dir)
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            stamp = None
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    self._current = load_mistakes(self._dir)
                except MistakeSpecError:
                    self._current = Mistakes()
            return self._current
