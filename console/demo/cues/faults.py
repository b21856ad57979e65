"""The live-stream faults the demo cue service can plant, so every alarm of the live monitor
can be shown for real (tests and demos; all off by default).

- **freeze** a variant (``"org/channel/variant"``): its playlist stops changing (the text of
  the moment it froze is served), the other variants go on: a stale variant;
- **skew** a variant's media sequence by N segments (its EXT-X-MEDIA-SEQUENCE is written N
  higher for the same segments): drift between variants (RFC 8216 §6.2.2 wants the same
  numbering on every variant of a channel);
- **slow** a channel's manifest responses by N ms (``{"org/channel": N}``): manifest latency;
- **broken join**: during a break, a client that has never been served before (no
  ``viewer`` cookie) gets a playlist cut short after an EXTINF: a late joiner's broken
  playlist, as the old stack served one to 40 % of them;
- **depletion** after a break lives in ``timeline`` (the channel stops producing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

VIEWER_COOKIE = "viewer"
"""The cookie the service sets on every playlist answer; its absence marks a new client."""

_SEQUENCE = re.compile(r"^#EXT-X-MEDIA-SEQUENCE:(\d+)$", re.MULTILINE)


@dataclass
class LiveFaults:
    """The planted faults (see the module docstring). ``frozen`` maps a variant
    (``org/channel/variant``) to the text it froze with (None until first served)."""

    frozen: dict[str, str | None] = field(default_factory=dict)
    skew: dict[str, int] = field(default_factory=dict)
    slow_ms: dict[str, int] = field(default_factory=dict)
    broken_join: bool = False

    def update(self, body: dict[str, Any]) -> None:
        """Apply a ``POST /admin/faults`` body: each key present replaces that fault's state
        (``freeze``: list of variants; ``skew``: ``{variant: segments}``;
        ``slow_manifest_ms``: ``{channel: ms}``; ``broken_join``: bool). Raises ValueError."""
        if "freeze" in body:
            names = body["freeze"] or []
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise ValueError("freeze must be a list of org/channel/variant names")
            self.frozen = {name: self.frozen.get(name) for name in names}
        if "skew" in body:
            skew = body["skew"] or {}
            if not isinstance(skew, dict) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in skew.values()
            ):
                raise ValueError("skew must map org/channel/variant to a number of segments")
            self.skew = {str(k): int(v) for k, v in skew.items()}
        if "slow_manifest_ms" in body:
            slow = body["slow_manifest_ms"] or {}
            if not isinstance(slow, dict) or not all(
                isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 10_000
                for v in slow.values()
            ):
                raise ValueError("slow_manifest_ms must map org/channel to 0…10000 ms")
            self.slow_ms = {str(k): int(v) for k, v in slow.items()}
        if "broken_join" in body:
            self.broken_join = bool(body["broken_join"])

    def as_json(self) -> dict[str, Any]:
        """The faults as ``GET``/``POST /admin/faults`` report them."""
        return {
            "freeze": sorted(self.frozen),
            "skew": dict(self.skew),
            "slow_manifest_ms": dict(self.slow_ms),
            "broken_join": self.broken_join,
        }

    def apply(self, variant_id: str, text: str) -> str:
        """The playlist text of ``variant_id`` as the faults serve it (freeze, skew)."""
        if variant_id in self.frozen:
            frozen = self.frozen[variant_id]
            if frozen is None:
                self.frozen[variant_id] = frozen = text
            text = frozen
        offset = self.skew.get(variant_id)
        if offset:
            text = _SEQUENCE.sub(lambda m: f"#EXT-X-MEDIA-SEQUENCE:{int(m[1]) + offset}", text, 1)
        return text


def broken_for_new_client(text: str) -> str:
    """``text`` cut after its last EXTINF, before that segment's URI: a playlist a download
    cut short, which RFC 8216 §4.3.2.1 makes invalid (an EXTINF without its URI)."""
    cut = text.rfind("#EXTINF:")
    if cut < 0:
        return text
    end = text.find("\n", cut)
    return text[: end + 1] if end >= 0 else text
