"""Operator sentences from libmpv's log lines and end-file reasons (no Qt, no mpv import).

libmpv explains a failure in its log (``HTTP error 404 Not Found``, ``Failed to open
<url>.``, ``Connection to tcp://... failed: Connection refused``, ``Failed to open segment
3 of playlist 0``), and a failed load ends with an ``end-file`` event whose ``file_error``
is a terse reason (``"loading failed"``, ``"unrecognized file format"``). The rules here
turn both into one sentence the operator can act on, naming the video by its title and the
object by the last components of its URL: gateway session tokens never reach a message or
the log (:func:`redact`).

:class:`MpvMessages` keeps the last log lines of the file being played (the evidence the
rules read) and remembers which playback problems were already reported, so a segment that
mpv keeps retrying is reported once. :class:`player.controller.Player` feeds it on the GUI
thread and emits the sentences as its ``error`` signal.
"""

from __future__ import annotations

import collections
import logging
import re
from urllib.parse import urlsplit

__all__ = [
    "FAILURE_GRACE_MS",
    "MpvMessages",
    "log_level",
    "quoted_title",
    "redact",
    "refused_load",
    "short_url",
]

#: Milliseconds to wait for the log lines explaining a load failure: libmpv delivers its
#: queued events before its queued log messages, so they follow the ``end-file`` event.
FAILURE_GRACE_MS = 150

mpv_log = logging.getLogger("player.mpv")

_LOG_LEVELS = {
    "fatal": logging.CRITICAL,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "info": logging.INFO,
}
_URL_RE = re.compile(r"\b(?:https?|edl)://\S+")
_HTTP_ERROR_RE = re.compile(r"HTTP error (\d{3})\s*(.*)")
_FAILED_OPEN_RE = re.compile(r"Failed to open (\S+?)\.?$")
_TCP_ERROR_RE = re.compile(r"Connection to \S+ failed:\s*(.*)")
_HLS_SEGMENT_RE = re.compile(r"Failed to open segment (\d+)")


def log_level(level: str) -> int:
    """The ``logging`` level for an mpv log level name (``"warn"`` -> ``WARNING``; an
    unknown name -> ``DEBUG``)."""
    return _LOG_LEVELS.get(level, logging.DEBUG)


def short_url(url: str) -> str:
    """``url`` reduced to its last three path components (``".../720p/seg_00005.m4s"``),
    so the gateway's session token in the path stays out; ``edl://`` URLs (a whole
    timeline of segment URLs) become ``"EDL timeline"``."""
    if url.startswith("edl://"):
        return "EDL timeline"
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    tail = "/".join(segments[-3:])
    return f".../{tail}" if len(segments) > 3 else f"/{tail}"


def redact(text: str) -> str:
    """``text`` with every http(s)/edl URL replaced by its :func:`short_url`."""
    return _URL_RE.sub(lambda m: short_url(m.group(0).rstrip(".,)")), text)


def quoted_title(title: str | None) -> str:
    """How a sentence names the video: ``“Game 404”``, or ``the video`` without a title."""
    return f"“{title}”" if title else "the video"


def refused_load(title: str | None, message: str) -> str:
    """The sentence for a ``loadfile`` command mpv refused (``message``: mpv's error)."""
    return f"Could not open {quoted_title(title)}: mpv refused it ({message})."


class MpvMessages:
    """The recent log lines of one file and the rules that turn them into sentences.

    Call :meth:`clear` when a new file starts, :meth:`note` for every log line (in the
    order mpv sent them), :meth:`load_failure` when the file ended with ``reason=error``.
    Nothing here raises for unexpected text: an unknown failure still gets a sentence.
    """

    def __init__(self, max_lines: int = 60) -> None:
        """Keep the last ``max_lines`` log lines as evidence."""
        self._lines: collections.deque[tuple[str, str, str]] = collections.deque(maxlen=max_lines)
        self._reported: set[str] = set()

    def clear(self) -> None:
        """Forget the lines and the reported problems (a new file is being loaded)."""
        self._lines.clear()
        self._reported.clear()

    def note(self, level: str, prefix: str, text: str, title: str | None) -> str | None:
        """Record one log line (``level``, module ``prefix``, ``text``) of the video
        ``title`` and forward it, redacted, to the ``player.mpv`` logger. Returns a
        sentence when the line reports a playback problem not reported before (a segment
        that cannot be fetched: mpv keeps retrying it, and stalls), else ``None``."""
        text = text.rstrip()
        mpv_log.log(log_level(level), "[%s] %s", prefix, redact(text))
        self._lines.append((level, prefix, text))
        if prefix == "timeline" and "failed to load segment" in text:
            url = self.last_failed_url()
            return self._once(
                f"segment:{url}",
                f"A segment of {quoted_title(title)} could not be loaded"
                f"{self._url_and_detail(url)}; playback may stall.",
            )
        if (m := _HLS_SEGMENT_RE.search(text)) is not None:
            return self._once(
                f"hls-segment:{m.group(1)}",
                f"Segment {m.group(1)} of {quoted_title(title)} could not be loaded"
                f"{self._url_and_detail(self.last_failed_url())}; playback skips it.",
            )
        return None

    def load_failure(self, file_error: str, title: str | None) -> str:
        """The sentence for a load that ended with ``reason=error``; ``file_error`` is
        the end-file event's reason text (may be empty). The log lines say more than it:
        an object that could not be fetched (with the HTTP status or network error), an
        unknown format, an invalid EDL segment list, no playable stream."""
        name = quoted_title(title)
        texts = [text for _level, _prefix, text in self._lines]
        url = self.last_failed_url()
        if url is not None:
            what = "its init segment" if any("init fragment" in t for t in texts) else "it"
            return f"Could not open {name}: {what} could not be fetched{self._url_and_detail(url)}."
        if file_error == "unrecognized file format" or any(
            "Failed to recognize file format" in t for t in texts
        ):
            return f"Could not open {name}: not a playable video (unknown format)."
        if any("EDL" in t for t in texts):
            return f"Could not open {name}: the segment list is invalid."
        if file_error == "no audio or video data played":
            return f"Could not play {name}: it has no playable audio or video."
        return f"Could not open {name}: {file_error or 'unknown error'}."

    def last_failed_url(self) -> str | None:
        """The URL of the last ``Failed to open <url>`` line, if any."""
        for _level, _prefix, text in reversed(self._lines):
            if m := _FAILED_OPEN_RE.search(text):
                return m.group(1)
        return None

    def network_detail(self) -> str | None:
        """The latest network reason: ``"HTTP 404 Not Found"``, a connection error in
        lower case (``"connection refused"``), ``"timed out"``; ``None`` when no line
        gives one."""
        for _level, _prefix, text in reversed(self._lines):
            if m := _HTTP_ERROR_RE.search(text):
                phrase = m.group(2).strip()
                return f"HTTP {m.group(1)}" + (f" {phrase}" if phrase else "")
            if m := _TCP_ERROR_RE.search(text):
                return m.group(1).strip().rstrip(".").lower() or "connection failed"
            if "timed out" in text.lower() or "timeout" in text.lower():
                return "timed out"
        return None

    def _once(self, key: str, message: str) -> str | None:
        if key in self._reported:
            return None
        self._reported.add(key)
        return message

    def _url_and_detail(self, url: str | None) -> str:
        """``" (.../a/b/c: HTTP 404)"``, ``" (.../a/b/c)"``, ``" (timed out)"`` or ``""``."""
        detail = self.network_detail()
        if url:
            return f" ({short_url(url)}: {detail})" if detail else f" ({short_url(url)})"
        return f" ({detail})" if detail else ""
