"""The spot-check's fixed rules and tolerances, with where each comes from.

Per-rung quality thresholds (pooled mean PSNR, SSIM, VMAF) are not here: they are data in
the ladder file (``min_psnr_db``, ``min_ssim``, ``min_vmaf``, ``resources/ladders/abr.toml``).
"""

from __future__ import annotations

BANDWIDTH_TOLERANCE = 0.10
"""Declared ``BANDWIDTH`` / ``AVERAGE-BANDWIDTH`` may differ from the measured figure by
this fraction of the measured one (Apple HLS authoring spec: the measured peak bit rate
within 10 % of ``BANDWIDTH``; RFC 8216 §4.3.4.2 defines both attributes). Measured as the
backfill measures them (``services.abr.multivariant.measure_bandwidth``): segment bits
over EXTINF seconds, peak and whole-rendition average, init section not counted."""

FRAME_COUNT_TOLERANCE = 0
"""A rung must carry exactly the reference's frames (the ladder encodes with
``-fps_mode passthrough``: no frame dropped or duplicated)."""

DURATION_TOLERANCE_FRAMES = 1.0
"""Video duration (last PTS + its duration - first PTS) may differ from the reference's by
at most this many frame durations."""

FRAME_ALIGNMENT_TOLERANCE = 0.5
"""A keyframe is "at" a segment boundary, and two rungs' boundaries are "aligned", when
they are within this many frame durations of each other (PTS are exact multiples of the
frame duration, EXTINF is written with 6 decimals)."""

PSNR_CAP_DB = 60.0
"""PSNR of identical frames is infinite; per-frame PSNR is capped here for pooling and JSON
(libvmaf's 8-bit convention, 6 x bit depth + 12 dB)."""

LOW_PERCENTILE = 5.0
"""The pooled low percentile reported with mean and min (per-frame values, nearest rank)."""

SEGMENT_PERCENTILE = 1.0
"""Each segment's low frame value is its 1st percentile (nearest rank) of per-frame PSNR and
VMAF; for a 4 s segment of 96 frames that is its worst frame. Floors per rung are data in
the ladder file (``min_segment_*``, ``min_frame_*``)."""

FREEZE_MOTION_FLOOR = 0.5
"""A rung frame can only be called frozen where the reference moves: the reference's mean
absolute difference to its previous frame (ffmpeg ``scdet``'s ``lavfi.scd.mafd``, 8-bit
levels averaged over the planes) is at least this. Below it the reference is nearly still
(the demo clip's quietest shots measure 0.13-0.5) and a still rung frame proves nothing.
The ratio that makes a frame frozen is per rung in the ladder (``freeze_motion_ratio``)."""

LISTED_FINDINGS = 5
"""A failed check names at most this many segments or runs, worst first, then counts the
rest (a 3 h game has 2,700 segments per rung)."""

FREEZE_PSNR_GAIN_DB = 3.0
"""A rung frame that repeats its predecessor is nearer the reference's previous frame than
its own: it is frozen only when its PSNR against the reference's previous frame beats its
PSNR against its own by at least this (dB). Measured on the demo clip: a repeated frame
re-coded as an IDR +16.0 dB (480p) and +27.9 dB (720p); clean rungs of the whole clip never
above -0.4 dB (360p); a 2 s heavy blur (whose motion also drops under the ratio) +0.1 dB;
a segment starved to a tenth of its bitrate +1.4 dB. Where the reference itself repeats a
frame both PSNRs are equal: it never counts."""
