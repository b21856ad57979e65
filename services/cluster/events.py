"""The structured lines a cluster job prints and the console reads back from its logs.

Every line is ``VOC-EVENT {json}`` (Ray forwards a worker's prints into the driver's log
with a ``(task pid=…, ip=…)`` prefix, so a reader looks for the marker anywhere in a line).
Each event names its ``game`` (empty for the batch) and its ``event``:

- ``queued``: the driver submitted the game's task;
- ``progress``: ``fraction`` in [0, 1], ``stage``, ``detail``, ``node`` (the worker's host
  and Ray node id prefix), ``attempt`` (1 for the first run, more after a worker loss);
- ``log``: one ``line`` of the game's job log;
- ``finished``: ``state`` (``succeeded``, ``failed``, ``cancelled``), ``summary``,
  ``error``, ``result`` (the operation's JSON result);
- ``refused``: the batch did not start, ``reason`` says why (version mismatch).

The format is the console's own (schema 1); a line that does not parse is ignored, so a
truncated log costs at most one event.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

MARKER = "VOC-EVENT "
SCHEMA = 1


def event_line(event: str, game: str = "", **fields: Any) -> str:
    """The line to print for ``event`` of ``game`` (one line, JSON after the marker)."""
    doc = {"v": SCHEMA, "event": event, "game": game, **fields}
    return MARKER + json.dumps(doc, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class ClusterEvent:
    """One parsed event: ``event``, ``game`` and the rest of its fields in ``data``."""

    event: str
    game: str
    data: dict[str, Any] = field(default_factory=dict)


def parse_events(text: str) -> Iterator[ClusterEvent]:
    """The events in ``text`` (log lines), in order; other lines are skipped."""
    for line in text.splitlines():
        at = line.find(MARKER)
        if at < 0:
            continue
        try:
            doc = json.loads(line[at + len(MARKER) :])
        except ValueError:
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("event"), str):
            continue
        event, game = doc.pop("event"), str(doc.pop("game", "") or "")
        doc.pop("v", None)
        yield ClusterEvent(event, game, doc)


class LogCursor:
    """Reads the growing log of one job: ``feed(whole_log)`` returns the complete lines not
    seen before (Ray's logs endpoint returns the whole log each time)."""

    def __init__(self) -> None:
        self._offset = 0

    def feed(self, whole: str) -> str:
        if len(whole) < self._offset:
            self._offset = 0
        end = whole.rfind("\n", self._offset) + 1
        if end <= self._offset:
            return ""
        fresh, self._offset = whole[self._offset : end], end
        return fresh
