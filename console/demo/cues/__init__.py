"""The demo SSAI cue service (docs/contracts.md §1.2): live channels over real HTTP on loopback.

Hosted by the demo stack next to S3 (``create_service()``, published as ``ssai_url`` with the
demo token as ``ssai_token``); tests start their own with ``start_cue_service()``.

**Channels** ``demo/sports1`` and ``demo/sports2`` are sliding-window live HLS: a
multivariant ``GET /{org}/{channel}/master.m3u8`` and four variants ``v_400k.m3u8`` …
``v_3000k.m3u8`` whose media sequence follows the wall clock (2 s MPEG-TS segments, a window
of 6) over a loop of the demo clip; segments are served from ``/media/…``.
``POST /admin/channels {"count": N}`` adds ``demo/extra01``… (load tests).

**Cues** ``POST /cue`` with ``Authorization: Bearer <token>`` and an optional
``Idempotency-Key``: ``{"channel": "demo/sports1" | "sports1", "duration": s}`` starts a
break at the next segment boundary (201), ``{"channel": …, "type": "stop"}`` ends it at the
next boundary (200). The answer is the ad break state (``channelId, eventId, source,
startTime, duration, endTime, decision {podId, items}, createdAt`` plus ``breakEndTime``,
``state``, ``stoppedAt``). Errors are ``{"error": …}`` and change nothing: 400 malformed JSON
or no channel, 401 no/invalid token, 404 unknown channel, 409 a break already active (or
none to stop), 422 a duration not in (0, 600] or an unknown type, or a reused key with
another body. A key seen before replays its first answer (``Idempotent-Replayed: true``).
While a break runs, every variant carries the DATERANGE/CUE-OUT/CUE-IN tags described in
``playlists``; a break's state is forgotten ``duration + 60 s`` after its start.

**Faults** (tests, demos): ``POST /admin/faults`` ``{"deplete_after_break": true}`` makes the
channels stop publishing segments right after a break ends; ``{"fail_cues": N,
"fail_status": 503}`` answers the next N cues with a 5xx; ``freeze``, ``skew``,
``slow_manifest_ms`` and ``broken_join`` plant the live-stream faults of ``faults``.

Modules: ``constants``, ``media`` (ffmpeg packaging, cached), ``timeline`` (slots and
breaks), ``playlists`` (the text), ``desk`` (state and requests), ``routes`` (Flask),
``faults`` (live-stream faults), ``server`` (``CueServer``, ``start_cue_service``, the
demo stack's service).
"""

from console.demo.cues.constants import CHANNELS, DEMO_TOKEN, SEGMENT_SECONDS, VARIANTS
from console.demo.cues.server import CueServer, CueService, create_service, start_cue_service

__all__ = [
    "CHANNELS",
    "DEMO_TOKEN",
    "SEGMENT_SECONDS",
    "VARIANTS",
    "CueServer",
    "CueService",
    "create_service",
    "start_cue_service",
]
