"""``quality.av_drift``: the A/V offset at the rung's end as well as at its start, against
the reference's (issue 17). An offset that grows over a game is as bad as one that is there
from the first frame, and the start offset alone (``quality.av_offset``) cannot see it.

Offsets are audio minus video, seconds: at the start, first audio PTS - first video PTS; at
the end, (last audio PTS + its duration) - (last video PTS + its duration). Audio packets
come from the metrics run's ``framecrc`` logs (``services.spotcheck.stream_logs``), video
from the probes. The rung's drift is its change of offset from start to end minus the
reference's. A rung's audio is a fresh AAC encode of the audio it was made from, which
lengthens it by the encoder's priming (the ladder's ``[audio] priming_samples``): that
much drift is the encoder's own. The last frame's padding does not count: the fMP4 sample
table records that frame's true duration (measured: the drift is the priming, +21.3 ms at
48 kHz, to 0.1 ms on the 14 s test game, and 8.2 ms more over the whole 55 s demo clip).
The drift passes within ``max_av_drift_ms`` (per rung, ladder file) of the priming, and the
end offset, like the start one, within the ladder's ``max_av_offset_error_ms`` of what a
clean encode measures (the start shift ``av_offset_shift_ms`` plus the priming).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.ladder import Ladder, Rung
from services.media_tools.probe import RenditionProbe
from services.spotcheck.checks import Check, check
from services.spotcheck.stream_logs import PacketLog


@dataclass(frozen=True)
class AvOffsets:
    """A rendition's A/V offsets in seconds (audio minus video) at its ``start`` and
    ``end``."""

    start: float
    end: float

    @property
    def drift(self) -> float:
        """Change of the offset from start to end, seconds."""
        return self.end - self.start


def av_offsets(probe: RenditionProbe, packets: PacketLog) -> AvOffsets | None:
    """The offsets of a rendition (None without audio packets or video frames)."""
    if packets.audio_start is None or packets.audio_end is None or not probe.packets:
        return None
    video_end = probe.video_start + probe.duration
    return AvOffsets(packets.audio_start - probe.video_start, packets.audio_end - video_end)


def _ms(seconds: float) -> str:
    return f"{1000 * seconds:+.1f} ms"


def check_av_drift(
    rung: AvOffsets, reference: AvOffsets, ladder: Ladder, ladder_rung: Rung
) -> tuple[Check, dict[str, float]]:
    """``quality.av_drift`` (module docstring); also the figures for the report (seconds)."""
    drift = rung.drift - reference.drift
    priming = ladder.audio_priming_samples / ladder.audio_sample_rate
    slack = ladder_rung.max_av_drift_ms / 1000
    end_delta = rung.end - reference.end
    end_expected = ladder.av_offset_shift_ms / 1000 + priming
    end_limit = ladder.max_av_offset_error_ms / 1000
    measured = [
        f"A/V offset at the start {_ms(rung.start)}, at the end {_ms(rung.end)}; the "
        f"reference {_ms(reference.start)} and {_ms(reference.end)}",
        f"drift against the reference {_ms(drift)}, of which the AAC re-encode's priming "
        f"{_ms(priming)}: {_ms(drift - priming)} beyond it "
        f"(limit ±{ladder_rung.max_av_drift_ms:.0f} ms)",
    ]
    reasons: list[str] = []
    if abs(drift - priming) > slack:
        reasons.append(
            f"the A/V offset drifts {_ms(drift)} from start to end against the reference: "
            f"{_ms(drift - priming)} beyond the AAC re-encode's priming {_ms(priming)} "
            f"(limit ±{ladder_rung.max_av_drift_ms:.0f} ms)"
        )
    if abs(end_delta - end_expected) > end_limit:
        reasons.append(
            f"A/V offset at the end {_ms(rung.end)}, the reference {_ms(reference.end)} "
            f"({_ms(end_delta)} where a clean encode measures {_ms(end_expected)}, "
            f"limit ±{1000 * end_limit:.0f} ms)"
        )
    figures = {
        "av_offset_end_s": round(rung.end, 4),
        "reference_av_offset_end_s": round(reference.end, 4),
        "av_drift_s": round(drift, 4),
    }
    return check("quality.av_drift", reasons, measured), figures
