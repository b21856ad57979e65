"""Spot-check jobs (issue 4, docs/architecture.md §4): integrity, fidelity, quality and structure of
a backfilled game, per rung, with a report kept with the job. No Qt.

Entry point: ``GameSpotcheck`` (a job operation). Modules: ``inspection`` (step 1: the
ledger, anchor and rung playlists as stored), ``integrity``, ``fidelity``,
``structure``, ``quality`` (the rules), ``metrics`` (the one-decode PSNR/SSIM/VMAF ffmpeg),
``hashing`` (streamed SHA-256), ``report`` (the JSON
schema and CSV), ``rules`` (tolerances), ``checks`` (the result model). Every ffmpeg and
ffprobe runs through ``services.media_tools`` (the probe of a rendition is
``services.media_tools.probe``). The ledger and the multivariant playlist are
``services.abr`` (shared with the backfill, never imported from it); keys are
``services.layout``.
"""

from services.spotcheck.checks import Check, GameReport, RungReport, Verdict
from services.spotcheck.game_spotcheck import GameSpotcheck
from services.spotcheck.report import read_report

__all__ = ["Check", "GameReport", "GameSpotcheck", "RungReport", "Verdict", "read_report"]
