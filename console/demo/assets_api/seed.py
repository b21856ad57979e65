"""The deterministic demo data (``random.Random(SEED_RANDOM)``): ``SEED_ASSETS`` assets with
their event histories over the last ``SEED_DAYS`` days."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from console.demo.assets_api.constants import PROVIDER, SEED_DAYS, SEED_RANDOM
from console.demo.assets_api.schema import ASSET_FIELDS
from console.demo.assets_api.times import iso_utc

_STATUS_COUNTS = (
    ("completed", 222),
    ("failed", 100),
    ("processing", 34),
    ("queued", 30),
    ("retrying", 14),
)
_FAILURE_WEIGHTS = (
    ("provider_timeout", 30),
    ("unsupported_codec", 18),
    ("non_video_input", 14),
    ("webhook_signature_invalid", 10),
    ("source_unreachable", 16),
    ("duration_too_long", 12),
)
_SIZES = ((1920, 1080, 4), (1280, 720, 3), (1080, 1920, 3), (720, 1280, 1), (3840, 2160, 1))
_STEMS = ("clip", "IMG_{n4}", "GX01{n4}", "highlight_final", "game_day", "warmup", "VID_{n8}")
_VIDEO_EXTS = (("mp4", 6), ("mov", 3), ("mkv", 1), ("webm", 1))
_NON_VIDEO = (
    ("image/png", "png"),
    ("image/jpeg", "jpg"),
    ("image/heic", "heic"),
    ("application/pdf", "pdf"),
    ("audio/mpeg", "mp3"),
)
_CODECS = ("prores", "dnxhd", "cinepak", "vp6f", "wmv3", "mjpeg")


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, ...]]) -> Any:
    """The first element of one row of ``weighted`` (its last element is the weight)."""
    return rng.choices(weighted, weights=[row[-1] for row in weighted])[0][0]


def renditions(height: int, width: int) -> list[str]:
    short = min(height, width)
    return [f"{h}p" for h in (2160, 1080, 720, 480, 360) if h <= short]


def _failure(
    rng: random.Random, code: str, source_url: str
) -> tuple[str, dict[str, Any], float, dict[str, Any]]:
    """A failure of kind ``code``: (message, extra event payload, seconds from the start of
    processing to the failure, asset fields it reveals)."""
    if code == "provider_timeout":
        return (
            "Transcoding provider did not answer within 900 s",
            {"http_status": 504, "timeout_s": 900},
            900.0,
            {},
        )
    if code == "unsupported_codec":
        codec = rng.choice(_CODECS)
        width, height = rng.choice(((1920, 1080), (1280, 720), (3840, 2160)))
        return (
            f"Source video codec '{codec}' is not supported",
            {"http_status": 422, "codec": codec},
            rng.uniform(8, 40),
            {"width": width, "height": height},
        )
    if code == "non_video_input":
        mime = next(m for m, ext in _NON_VIDEO if source_url.endswith("." + ext))
        return (
            f"Uploaded file is {mime}, not a video",
            {"http_status": 415, "detected_mime": mime},
            rng.uniform(1, 5),
            {},
        )
    if code == "webhook_signature_invalid":
        return (
            "Provider webhook signature did not verify",
            {"http_status": 401, "webhook": "video.asset.ready", "header": "mux-signature"},
            rng.uniform(60, 400),
            {},
        )
    if code == "source_unreachable":
        status = rng.choice((404, 404, 404, 403, 410))
        return (
            f"Source URL returned HTTP {status}",
            {"http_status": status, "source_url": source_url},
            rng.uniform(2, 30),
            {},
        )
    if code == "duration_too_long":
        seconds = round(rng.uniform(3.1 * 3600, 6 * 3600), 3)
        hours, rest = divmod(int(seconds), 3600)
        return (
            f"Video is {hours} h {rest // 60:02d} min long; the limit is 3 h",
            {"duration_sec": seconds, "limit_sec": 10800},
            rng.uniform(5, 20),
            {"duration_sec": seconds, "width": 1920, "height": 1080},
        )
    raise ValueError(f"unknown failure code {code!r}")


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


@dataclass
class _Timeline:
    """One seeded asset's history while it is generated: times are seconds after its
    creation; ``attempts`` counts processing attempts (a retry request starts the next)."""

    rng: random.Random
    source_url: str
    t: float = 0.0
    attempts: int = 0
    status: str | None = None  # before the "created" event
    job_id: str | None = None
    events: list[tuple[float, str, str | None, str | None, dict[str, Any]]] = field(
        default_factory=list
    )

    def add(self, dt: float, kind: str, to_status: str | None, payload: dict[str, Any]) -> None:
        """Append an event ``dt`` seconds after the previous one (a note if no
        ``to_status``)."""
        self.t += dt
        from_status = self.status if to_status is not None else None
        self.events.append((self.t, kind, from_status, to_status, payload))
        if to_status is not None:
            self.status = to_status

    def start_processing(self) -> None:
        if self.status == "queued":
            self.attempts += 1
        self.job_id = f"job_{self.rng.getrandbits(40):010x}"
        payload = {"provider": PROVIDER, "job_id": self.job_id, "attempt": self.attempts}
        self.add(self.rng.uniform(1, 90), "processing_started", "processing", payload)

    def fail(self, code: str) -> tuple[str, dict[str, Any]]:
        """Fail the running attempt with ``code``; returns (message, asset fields)."""
        message, extra, delay, fields = _failure(self.rng, code, self.source_url)
        payload = {"provider": PROVIDER, "job_id": self.job_id, "attempt": self.attempts}
        payload.update(error_code=code, error_message=message, **extra)
        self.add(delay, "failed", "failed", payload)
        return message, fields

    def request_retry(self, delay: float) -> None:
        self.attempts += 1
        payload = {
            "idempotency_key": _uuid(self.rng),
            "requested_by": self.rng.choice(("ops-console", "ops-console", "auto-retry")),
            "attempt": self.attempts,
        }
        self.add(delay, "retry_requested", "retrying", payload)

    def complete(self, asset_id: str, manifest: str) -> dict[str, Any]:
        """Complete the running attempt; returns the asset's output fields."""
        rng = self.rng
        width, height = _pick(rng, [(s[:2], s[2]) for s in _SIZES])
        r = rng.random()
        if r < 0.6:
            duration = rng.uniform(5, 60)
        elif r < 0.95:
            duration = rng.uniform(60, 600)
        else:
            duration = rng.uniform(600, 2700)
        duration = round(duration, 3)
        hook = {"provider": PROVIDER, "event": "video.asset.ready", "job_id": self.job_id}
        self.add(rng.uniform(20, 240) + duration / 4, "webhook_received", None, hook)
        payload = {
            "provider": PROVIDER,
            "job_id": self.job_id,
            "attempt": self.attempts,
            "duration_sec": duration,
            "width": width,
            "height": height,
            "renditions": renditions(height, width),
            "manifest_url": manifest,
        }
        self.add(rng.uniform(0.05, 0.8), "completed", "completed", payload)
        return {
            "manifest_url": manifest,
            "fallback_url": f"https://cdn.example.com/v/{asset_id}/fallback.mp4",
            "poster_url": f"https://cdn.example.com/v/{asset_id}/poster.jpg",
            "duration_sec": duration,
            "width": width,
            "height": height,
        }


EventRow = tuple[str, str, str | None, str | None, str, str]


def seed_rows(
    now: float, manifest_urls: Sequence[str]
) -> tuple[list[dict[str, Any]], list[EventRow]]:
    """The deterministic seed (``random.Random(SEED_RANDOM)``) placed before ``now`` (Unix s):
    asset rows and event rows ``(asset_id, type, from, to, payload_json, created_at)``."""
    rng = random.Random(SEED_RANDOM)
    statuses = [status for status, count in _STATUS_COUNTS for _ in range(count)]
    rng.shuffle(statuses)
    owners = [f"usr_{n}" for n in rng.sample(range(1000, 99999), 48)]
    post_ids: set[str] = set()
    assets: list[dict[str, Any]] = []
    events: list[EventRow] = []
    for final in statuses:
        post_id = f"post_{rng.getrandbits(28):07x}"
        while post_id in post_ids:
            post_id = f"post_{rng.getrandbits(28):07x}"
        post_ids.add(post_id)
        asset_id = f"va_{rng.getrandbits(48):012x}"
        owner = rng.choice(owners)
        code = _pick(rng, _FAILURE_WEIGHTS) if final in ("failed", "retrying") else None
        stem = rng.choice(_STEMS).format(
            n4=rng.randrange(1000, 9999), n8=rng.randrange(10**7, 10**8)
        )
        ext = rng.choice(_NON_VIDEO)[1] if code == "non_video_input" else _pick(rng, _VIDEO_EXTS)
        source_url = f"https://uploads.example.com/u/{owner[4:]}/{stem}.{ext}"
        row: dict[str, Any] = dict.fromkeys(ASSET_FIELDS)
        row.update(id=asset_id, post_id=post_id, owner_id=owner, source_url=source_url)
        tl = _Timeline(rng, source_url)
        size = rng.randrange(200_000, 2_500_000_000)
        tl.add(0.0, "created", "queued", {"source_url": source_url, "size_bytes": size})
        if final != "queued":
            tl.start_processing()
        earlier = 0  # failed attempts before the last one, each followed by a retry
        if final == "failed" and rng.random() < 0.3:
            earlier = rng.choice((1, 1, 2))
        elif final == "completed" and rng.random() < 0.12:
            earlier = 1
        elif final == "retrying":
            earlier = rng.choice((0, 0, 1))
        for _ in range(earlier):
            tl.fail(rng.choice(("provider_timeout", "source_unreachable", "unsupported_codec")))
            tl.request_retry(rng.uniform(120, 6 * 3600))
            tl.start_processing()
        if final == "completed":
            manifest = (
                rng.choice(manifest_urls)
                if manifest_urls
                else f"https://cdn.example.com/v/{asset_id}/master.m3u8"
            )
            row.update(tl.complete(asset_id, manifest))
        elif code is not None:
            message, fields = tl.fail(code)
            row.update(fields)
            if final == "failed":
                row.update(error_code=code, error_message=message)
            else:
                tl.request_retry(rng.uniform(300, 3 * 86400))
        # Place the history: finished assets anywhere in the last SEED_DAYS days, the others
        # so that their last event is recent.
        if final in ("completed", "failed"):
            created = rng.uniform(now - SEED_DAYS * 86400, now - 60 - tl.t)
        elif final == "queued":
            created = now - rng.uniform(5, 900)
        else:
            created = now - tl.t - rng.uniform(20, 900 if final == "retrying" else 1800)
        row.update(
            status=tl.status,
            provider_job_id=tl.job_id,
            attempts=tl.attempts,
            created_at=iso_utc(created),
            updated_at=iso_utc(created + tl.t),
        )
        assets.append(row)
        for at, kind, from_status, to_status, payload in tl.events:
            events.append(
                (asset_id, kind, from_status, to_status, json.dumps(payload), iso_utc(created + at))
            )
    return assets, events
