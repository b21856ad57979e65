"""The demo channels' media: MPEG-TS segments packaged once with the pinned ffmpeg
(run by ``console.demo.seed.run_ffmpeg``, i.e. ``services.media_tools.runner.run_sync``).

Built under ``<data_dir>/demo/cue-media-v{MEDIA_VERSION}/`` (a temporary directory renamed
into place, so the cache only ever appears complete; ``manifest.json`` is written last)::

    content/{variant}/seg_00000.ts ...   # CONTENT_SECONDS of the Big Buck Bunny clip
    ad/{variant}/seg_00000.ts ...        # the generated ad creative (bars, "AD", a tone)
    manifest.json                        # segment counts, measured bandwidths, codecs

Every segment lasts exactly ``SEGMENT_SECONDS`` (a keyframe forced every 48 frames at
24 fps), so the live timeline is plain arithmetic. The ad creative is made from ffmpeg's
``smptehdbars`` and ``sine`` sources with "AD" drawn over them (no third-party media).
One ffmpeg process encodes both variants of each source (decode once, ``split``).
``$VIDEO_OPS_CUE_MEDIA_DIR`` puts the cache elsewhere (the test suite shares one build
between the many demo data dirs it creates).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from console.demo.cues.constants import (
    AD_SECONDS,
    CONTENT_SECONDS,
    CONTENT_START_S,
    FPS,
    MEDIA_VERSION,
    SEGMENT_SECONDS,
    VARIANTS,
    VariantSpec,
    log,
)
from console.demo.ffmpeg_args import QUIET, aac_args, hls_vod_args, x264_args
from console.demo.seed import (
    SeedError,
    clip_path,
    pinned_ffmpeg,
    pinned_ffmpeg_version,
    run_ffmpeg,
)
from console.demo.state import file_lock

MANIFEST = "manifest.json"
MEDIA_DIR_ENV = "VIDEO_OPS_CUE_MEDIA_DIR"
CODECS = "avc1.4d401f,mp4a.40.2"
"""H.264 Main level 3.1 + AAC-LC, the CODECS attribute of every variant (RFC 8216 §4.3.4.2)."""

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
    "/Library/Fonts/Arial Bold.ttf",
    "/System/Library/Fonts/Supplemental/Arial Bold.ttf",
    "C:/Windows/Fonts/arialbd.ttf",
)


@dataclass(frozen=True)
class ChannelMedia:
    """The packaged media: ``root`` directory, ``content_segments``/``ad_segments`` per
    variant, ``bandwidth`` peak and ``average_bandwidth`` in bits/s per variant name
    (measured from the segment sizes), ``resolution`` per variant name."""

    root: Path
    content_segments: int
    ad_segments: int
    bandwidth: dict[str, int]
    average_bandwidth: dict[str, int]
    resolution: dict[str, tuple[int, int]]

    def segment_path(self, source: str, variant: str, index: int) -> Path:
        """``{root}/{source}/{variant}/seg_{index:05d}.ts`` (``source``: content or ad)."""
        return self.root / source / variant / f"seg_{index:05d}.ts"


def media_dir(demo_dir: Path) -> Path:
    """``<demo_dir>/cue-media-v{MEDIA_VERSION}``, or under ``$VIDEO_OPS_CUE_MEDIA_DIR`` when
    set (not created)."""
    base = os.environ.get(MEDIA_DIR_ENV)
    return (Path(base) if base else demo_dir) / f"cue-media-v{MEDIA_VERSION}"


def _encoder_args(spec: VariantSpec, label: str, out: Path) -> list[str]:
    folder = out / label / spec.name
    return [
        *x264_args(spec.video_kbps, SEGMENT_SECONDS * FPS),
        *aac_args(spec.audio_kbps, sample_rate=48000),
        *hls_vod_args(
            SEGMENT_SECONDS, str(folder / "seg_%05d.ts"), str(folder / "index.m3u8"), fmp4=False
        ),
    ]


def _split_scale(source: str) -> str:
    """``[source]split=N[s0]…;[s0]scale=W:H[v0];…`` for every variant."""
    names = "".join(f"[s{i}]" for i in range(len(VARIANTS)))
    chains = [f"{source}split={len(VARIANTS)}{names}"]
    chains += [f"[s{i}]scale={v.width}:{v.height}[v{i}]" for i, v in enumerate(VARIANTS)]
    return ";".join(chains)


def content_command(exe: str, clip: Path, out: Path) -> list[str]:
    """ffmpeg argv packaging the content window of the demo clip for every variant."""
    argv = [
        exe,
        *QUIET,
        "-ss",
        f"{CONTENT_START_S:.3f}",
        "-t",
        str(CONTENT_SECONDS),
        "-i",
        str(clip),
        "-filter_complex",
        _split_scale(f"[0:v]fps={FPS},"),
    ]
    for index, spec in enumerate(VARIANTS):
        argv += ["-map", f"[v{index}]", "-map", "0:a:0", *_encoder_args(spec, "content", out)]
    return argv


def _font() -> str | None:
    return next((path for path in FONT_CANDIDATES if Path(path).is_file()), None)


def ad_command(exe: str, out: Path) -> list[str]:
    """ffmpeg argv generating the ad creative (SMPTE bars, "AD" banner, 880 Hz tone)."""
    top = max(v.width for v in VARIANTS), max(v.height for v in VARIANTS)
    draw = "drawbox=x=0:y=ih/3:w=iw:h=ih/3:color=black@0.7:t=fill"
    font = _font()
    if font is not None:
        draw += (
            f",drawtext=fontfile='{font}':text='AD':fontsize=h/4.5:fontcolor=white"
            ":x=(w-tw)/2:y=h/3+h/40"
            f",drawtext=fontfile='{font}':text='demo ad pod %{{eif\\:t+1\\:d}} / {AD_SECONDS}'"
            ":fontsize=h/18:fontcolor=white:x=(w-tw)/2:y=h*0.59"
        )
    return [
        exe,
        *QUIET,
        "-f",
        "lavfi",
        "-i",
        f"smptehdbars=size={top[0]}x{top[1]}:rate={FPS}:duration={AD_SECONDS}",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=880:sample_rate=48000:duration={AD_SECONDS}",
        "-filter_complex",
        _split_scale(f"[0:v]{draw},"),
        *[
            arg
            for index, spec in enumerate(VARIANTS)
            for arg in ("-map", f"[v{index}]", "-map", "1:a", *_encoder_args(spec, "ad", out))
        ],
    ]


def _segments(root: Path, source: str, variant: str) -> list[Path]:
    return sorted((root / source / variant).glob("seg_*.ts"))


def _measure(root: Path) -> dict:
    """Segment counts and per-variant peak/average bit rates (bits/s) from the files."""
    counts = {
        source: len(_segments(root, source, VARIANTS[0].name)) for source in ("content", "ad")
    }
    peak: dict[str, int] = {}
    average: dict[str, int] = {}
    for spec in VARIANTS:
        sizes = [
            path.stat().st_size
            for source in ("content", "ad")
            for path in _segments(root, source, spec.name)
        ]
        if len(_segments(root, "content", spec.name)) != counts["content"]:
            raise SeedError("the variants of the demo channel content differ in segments")
        peak[spec.name] = max(sizes) * 8 // SEGMENT_SECONDS
        average[spec.name] = sum(sizes) * 8 // (SEGMENT_SECONDS * len(sizes))
    return {"counts": counts, "bandwidth": peak, "average_bandwidth": average}


def _load(root: Path) -> ChannelMedia | None:
    try:
        doc = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        if doc.get("version") != MEDIA_VERSION:
            return None
        media = ChannelMedia(
            root=root,
            content_segments=int(doc["counts"]["content"]),
            ad_segments=int(doc["counts"]["ad"]),
            bandwidth={k: int(v) for k, v in doc["bandwidth"].items()},
            average_bandwidth={k: int(v) for k, v in doc["average_bandwidth"].items()},
            resolution={v.name: (v.width, v.height) for v in VARIANTS},
        )
        for spec in VARIANTS:
            for source, count in (("content", media.content_segments), ("ad", media.ad_segments)):
                if not media.segment_path(source, spec.name, count - 1).is_file():
                    return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if media.content_segments < 2 or media.ad_segments < 1:
        return None
    return media


def ensure_media(demo_dir: Path) -> ChannelMedia:
    """The packaged channel media, built first when missing (a few seconds on 2 cores).

    Concurrent builders are serialised by ``cue-media.lock`` next to the cache. Raises SeedError
    when the clip or ffmpeg is missing or an ffmpeg job fails.
    """
    root = media_dir(demo_dir)
    media = _load(root)
    if media is not None:
        return media
    root.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(root.parent / "cue-media.lock", timeout=None):
        media = _load(root)
        if media is not None:
            return media
        started = time.monotonic()
        exe = pinned_ffmpeg()
        tmp = root.parent / f".cue-media-v{MEDIA_VERSION}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            for source in ("content", "ad"):
                for spec in VARIANTS:
                    (tmp / source / spec.name).mkdir(parents=True, exist_ok=True)
            run_ffmpeg(content_command(exe, clip_path(), tmp), "the channel content")
            run_ffmpeg(ad_command(exe, tmp), "the ad creative")
            version = pinned_ffmpeg_version(exe)
            doc = {"version": MEDIA_VERSION, **_measure(tmp), "ffmpeg_version": version}
            (tmp / MANIFEST).write_text(json.dumps(doc, indent=2), encoding="utf-8")
            shutil.rmtree(root, ignore_errors=True)
            os.replace(tmp, root)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        log.info("cue service media packaged in %.1f s", time.monotonic() - started)
    media = _load(root)
    if media is None:
        raise SeedError(f"the cue service media in {root} are incomplete after packaging")
    return media
