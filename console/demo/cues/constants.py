"""Constants of the demo cue service: token, channels, variants, timing, limits, the logger."""

import logging
from dataclasses import dataclass

log = logging.getLogger("console.demo.cues")

DEMO_TOKEN = "demo-cue-token"
"""The demo cue service's bearer token. Not a secret: the demo runs on loopback only and
publishes it in ``stack.json`` (``ssai_token``) so the console can cue without setup."""

ORG = "demo"
CHANNELS = ("demo/sports1", "demo/sports2")
"""Channel ids, ``org/channel``: ``GET /{org}/{channel}/master.m3u8`` serves each one."""

CHANNEL_TITLES = {"demo/sports1": "Sports 1 (demo)", "demo/sports2": "Sports 2 (demo)"}

SEGMENT_SECONDS = 2
"""Duration of every content and ad segment (s): the variants' EXT-X-TARGETDURATION."""

WINDOW_SEGMENTS = 6
"""Segments in each live media playlist (the sliding window, 12 s)."""

MIN_DURATION_S = 0.0
MAX_DURATION_S = 600.0
"""A cue's ``duration`` must be > 0 and ≤ 600 seconds (else 422)."""

EXPIRY_GRACE_S = 60.0
"""A break's state is kept ``duration + 60 s`` after its start, then forgotten."""

IDEMPOTENCY_TTL_S = 600.0
"""How long an ``Idempotency-Key`` replays its first answer (s)."""

DATERANGE_CLASS = "com.griddy.ssai.ad-break"
"""CLASS of the ad breaks' EXT-X-DATERANGE tags (RFC 8216 §4.3.2.7: reverse-DNS)."""

MEDIA_VERSION = 2
"""Bump when the packaged demo media change: the cache ``cue-media-v{N}`` is then rebuilt."""


@dataclass(frozen=True)
class VariantSpec:
    """One rung of the demo channels: ``name`` (``v_800k`` → ``v_800k.m3u8``), encoder
    ``video_kbps``/``audio_kbps``, ``width``×``height`` in pixels."""

    name: str
    video_kbps: int
    audio_kbps: int
    width: int
    height: int


VARIANTS = (
    VariantSpec("v_400k", 340, 48, 426, 240),
    VariantSpec("v_800k", 700, 64, 640, 360),
    VariantSpec("v_1600k", 1400, 96, 960, 540),
    VariantSpec("v_3000k", 2700, 128, 1280, 720),
)
"""The demo channels' ladder (four rungs, as a sports channel's low end to 720p)."""
NOMINAL_BPS = {v.name: int(v.name.removeprefix("v_").removesuffix("k")) * 1000 for v in VARIANTS}
"""What the variants' nominal names mean in bits/s (the ad decision's ``variants`` keys)."""
FPS = 24
CONTENT_START_S = 8.0
CONTENT_SECONDS = 24
"""The channels loop this window of the demo clip (s): 12 content segments."""

AD_SECONDS = 6
"""The generated ad creative lasts 6 s (3 segments); a longer break repeats it."""
