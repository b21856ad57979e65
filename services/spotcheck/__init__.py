"""Spot-check jobs (issue 4, docs/architecture.md §4): integrity, fidelity, quality and structure of
a backfilled game, per rung, with a report kept with the job. No Qt.

Entry point: ``GameSpotcheck`` (a job operation). Modules: ``inspection`` (step 1: the
ledger, anchor and rung playlists as stored), ``measurement`` (step 2: hashes, probes,
fidelity, the metrics run), ``rung_checks`` (step 3: every rule of one rung), the rules
``integrity``, ``fidelity``, ``structure``, ``alignment`` (the ladder's segment grid),
``signalling`` (colour tags, IDR segment starts), ``quality``, ``segments`` (per-segment
floors), ``freezes``, ``av_sync`` (A/V drift); ``metrics`` (the one-decode
PSNR/SSIM/VMAF ffmpeg and what it logs beside), ``stream_logs`` (those logs read back),
``hashing`` (streamed SHA-256), ``report`` (the JSON schema and CSV), ``rules``
(tolerances), ``checks`` (the result model). Every ffmpeg and
ffprobe runs through ``services.media_tools`` (the probe of a rendition is
``services.media_tools.probe``). The ledger and the multivariant playlist are
``services.abr`` (shared with the backfill, never imported from it); keys are
``services.layout``.
"""

from services.spotcheck.checks import Check, GameReport, RungReport, Verdict
from services.spotcheck.game_spotcheck import GameSpotcheck
from services.spotcheck.report import read_report

__all__ = ["Check", "GameReport", "GameSpotcheck", "RungReport", "Verdict", "read_report"]
