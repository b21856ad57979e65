"""The demo seed: the shipped Big Buck Bunny trailer packaged as v1 HLS games.

The seed is a directory tree that mirrors bucket keys, built once per ``SEED_VERSION`` and
cached under ``<data_dir>/demo/seed-v{SEED_VERSION}/``::

    seed-v1/
      manifest.json                      # written last: {seed_version, objects: [{key, size,
                                         #   sha256, content_type}], games, ffmpeg_version, ...}
      objects/games/{id}/master.m3u8     # v1 media playlist (VOD, fMP4, EXT-X-MAP)
      objects/games/{id}/init.mp4
      objects/games/{id}/seg_00000.m4s ...
      objects/games/{id}/meta.json       # {"title", "league", "date", "home", "away"}

Every game follows the R2 layout of docs/contracts.md section 1.1. Video is a ``-c copy`` remux of a
window of the clip (bit-exact packets), audio is re-encoded to AAC stereo because MP3 cannot
be carried in fMP4 HLS. Besides the v1 games there is one *partial* game (a real 640x360
rung under ``abr/360p/`` but no multivariant master, no ``master.v1.m3u8``, no ledger) and
one *broken* game (a segment its playlist references is missing).

The games themselves (windows of the clip, leagues, states) are ``console.demo.games``.
Only ``resources/`` is read; the pinned ffmpeg does all the work, run through
``services.media_tools.runner.run_sync`` (the seed builds in plain threads).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from console import paths
from console.demo.ffmpeg_args import QUIET, aac_args, hls_vod_args, x264_args
from console.demo.games import DEMO_GAMES, FPS, DemoGame
from console.demo.state import demo_dir, file_lock, write_json_atomic
from services.clock import utc_stamp
from services.errors import BadConfig
from services.media_tools import binaries
from services.media_tools.runner import ToolTimeout, run_sync

log = logging.getLogger(__name__)

SEED_VERSION = 1
"""Bump whenever the games, the clip or the packaging change: the cache is then rebuilt."""

MANIFEST_NAME = "manifest.json"
OBJECTS_DIR = "objects"
CLIP_NAME = "bbb_trailer.mp4"

SOURCE_DTS_DELAY_FRAMES = 2
"""The clip's first video DTS is 2 frames before its first PTS (B-frame reordering delay).
ffmpeg's input ``-t`` on a stream copy compares packet DTS, so a window of N frames needs
``-t`` between (N-3)/FPS and (N-2)/FPS; ``window_args`` takes the middle of that interval."""

SEGMENT_SECONDS = 4
RUNG_360P_GOP_FRAMES = SEGMENT_SECONDS * FPS

MAX_PARALLEL_JOBS = 2
"""ffmpeg processes run at once while seeding (the reference machine has 2 cores)."""

BROKEN_MISSING_SEGMENT = "seg_00002.m4s"

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".mp4": "video/mp4",
    ".m4s": "video/iso.segment",
    ".json": "application/json",
}


class SeedError(RuntimeError):
    """Building or loading the demo seed failed; ``str(err)`` says why (with ffmpeg's output)."""


@dataclass(frozen=True)
class SeedObject:
    """One object of the seed: bucket ``key``, ``size`` in bytes, hex ``sha256``, MIME type
    and the local ``path`` of its body."""

    key: str
    size: int
    sha256: str
    content_type: str
    path: Path


@dataclass(frozen=True)
class Seed:
    """A complete, validated seed cache.

    ``root`` is ``<data_dir>/demo/seed-v{version}``; ``objects`` are sorted by key;
    ``build_seconds`` is how long the build took (wall clock, seconds) when it was made.
    """

    version: int
    root: Path
    objects: tuple[SeedObject, ...]
    build_seconds: float
    ffmpeg_version: str


def content_type_for(key: str) -> str:
    """MIME type stored with ``key`` (by extension; ``application/octet-stream`` otherwise)."""
    return CONTENT_TYPES.get(Path(key).suffix.lower(), "application/octet-stream")


def clip_path() -> Path:
    """The shipped demo clip, ``resources/demo/bbb_trailer.mp4``.

    Raises SeedError if it is missing (a broken install).
    """
    path = paths.resources_dir() / "demo" / CLIP_NAME
    if not path.is_file():
        raise SeedError(f"The demo clip is missing: {path} (reinstall the console).")
    return path


def pinned_ffmpeg() -> str:
    """Path of the pinned ffmpeg (``services.media_tools.binaries``, never the system one).

    Raises SeedError if the ``imageio-ffmpeg`` wheel has no binary for this platform.
    """
    try:
        return binaries.ffmpeg_exe()
    except BadConfig as exc:
        raise SeedError(str(exc)) from exc


def pinned_ffmpeg_version(exe: str) -> str:
    """First line of ``ffmpeg -version`` of ``exe``. Raises SeedError when it cannot run."""
    try:
        return binaries.ffmpeg_version(exe).strip()
    except BadConfig as exc:
        raise SeedError(str(exc)) from exc


def seed_dir(data_dir: Path | None = None, version: int = SEED_VERSION) -> Path:
    """``<data_dir>/demo/seed-v{version}`` (not created)."""
    return demo_dir(data_dir) / f"seed-v{version}"


def window_args(game: DemoGame, *, for_encode: bool = False) -> list[str]:
    """Input-side ffmpeg options selecting the game's window of the clip.

    For a stream copy (``for_encode=False``) the duration accounts for the clip's DTS delay so
    the cut keeps exactly ``game.frames`` video packets; for an encode, input ``-t`` compares
    decoded timestamps, so it is exactly ``frames / FPS``. Returns ``[]`` for the whole clip.
    """
    args: list[str] = []
    if game.start_frame:
        args += ["-ss", f"{game.start_frame / FPS:.6f}"]
    if game.end_frame is not None:
        frames = game.frames if for_encode else game.frames - SOURCE_DTS_DELAY_FRAMES - 0.5
        args += ["-t", f"{frames / FPS:.6f}"]
    return args


def _hls_args(playlist: str) -> list[str]:
    return hls_vod_args(SEGMENT_SECONDS, "seg_%05d.m4s", playlist, fmp4=True)


def v1_command(exe: str, clip: Path, game: DemoGame) -> list[str]:
    """ffmpeg argv packaging the game's v1 rendition into the current directory:
    ``master.m3u8`` + ``init.mp4`` + ``seg_%05d.m4s`` (video copied, audio AAC stereo)."""
    return [
        *(exe, *QUIET, *window_args(game), "-i", str(clip), "-map", "0:v:0", "-map", "0:a:0"),
        *("-c:v", "copy", *aac_args(128), *_hls_args("master.m3u8")),
    ]


def rung_360p_command(exe: str, clip: Path, game: DemoGame) -> list[str]:
    """ffmpeg argv encoding the game's 640x360 rung into the current directory:
    ``index.m3u8`` + ``init.mp4`` + ``seg_%05d.m4s`` (H.264 Main, veryfast, a closed GOP every
    4 s forced by frame number, AAC stereo 96 kb/s)."""
    return [
        *(exe, *QUIET, *window_args(game, for_encode=True), "-i", str(clip)),
        *("-map", "0:v:0", "-map", "0:a:0", "-vf", "scale=640:360"),
        *x264_args(800, RUNG_360P_GOP_FRAMES),
        *aac_args(96),
        *_hls_args("index.m3u8"),
    ]


def run_ffmpeg(argv: list[str], label: str, *, cwd: Path | None = None) -> float:
    """Run one packaging ffmpeg (``services.media_tools.runner.run_sync``: niced, dying
    with its parent, at most 10 minutes), in ``cwd`` when given (created first). Returns
    its wall time in seconds; raises SeedError with ffmpeg's last 15 lines on failure."""
    if cwd is not None:
        cwd.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    try:
        result = run_sync(argv, cwd=cwd, keep_warnings=15, timeout_s=600)
    except (OSError, ToolTimeout) as exc:
        raise SeedError(f"ffmpeg failed while packaging {label}: {exc}") from exc
    elapsed = time.monotonic() - t0
    if result.code != 0:
        tail = "\n".join(result.warnings)
        raise SeedError(f"ffmpeg failed while packaging {label} (exit {result.code}):\n{tail}")
    log.info("%s packaged in %.2f s", label, elapsed)
    return elapsed


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def playlist_uris(text: str) -> list[str]:
    """URIs a media playlist references: its ``EXT-X-MAP`` URI, then its segment lines."""
    uris: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#EXT-X-MAP:"):
            for attr in line.split(":", 1)[1].split(","):
                name, _, value = attr.partition("=")
                if name.strip() == "URI":
                    uris.append(value.strip().strip('"'))
        elif line and not line.startswith("#"):
            uris.append(line)
    return uris


def load_seed(data_dir: Path | None = None, *, verify_hashes: bool = False) -> Seed | None:
    """The cached seed of ``SEED_VERSION`` if it is complete, else None.

    Complete means: ``manifest.json`` parses, names this version, and every object it lists
    exists with the listed size (and SHA-256 when ``verify_hashes``).
    """
    root = seed_dir(data_dir)
    try:
        doc = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
        if doc.get("seed_version") != SEED_VERSION:
            return None
        objects = []
        for row in doc["objects"]:
            path = root / OBJECTS_DIR / row["key"]
            if path.stat().st_size != row["size"]:
                return None
            if verify_hashes and _sha256_file(path) != row["sha256"]:
                return None
            objects.append(
                SeedObject(row["key"], row["size"], row["sha256"], row["content_type"], path)
            )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return Seed(
        version=SEED_VERSION,
        root=root,
        objects=tuple(sorted(objects, key=lambda o: o.key)),
        build_seconds=float(doc.get("build_seconds", 0.0)),
        ffmpeg_version=str(doc.get("ffmpeg_version", "")),
    )


def ensure_seed(
    data_dir: Path | None = None, *, progress: Callable[[str], None] | None = None
) -> Seed:
    """Return the cached seed, building it first when missing, incomplete or outdated.

    Concurrent callers (several processes) are serialised by ``<data_dir>/demo/seed.lock``;
    the second one finds the seed built. Raises SeedError when the clip or ffmpeg is missing
    or an ffmpeg job fails.
    """
    seed = load_seed(data_dir)
    if seed is not None:
        return seed
    with file_lock(demo_dir(data_dir) / "seed.lock", timeout=None):
        seed = load_seed(data_dir)
        if seed is not None:
            return seed
        return build_seed(data_dir, progress=progress)


def remove_seed_caches(data_dir: Path | None = None) -> None:
    """Delete every seed cache (all versions and leftovers of interrupted builds)."""
    base = demo_dir(data_dir)
    for child in base.iterdir():
        if child.name.startswith(("seed-v", ".seed-v")) and child.is_dir():
            shutil.rmtree(child, ignore_errors=True)


def build_seed(
    data_dir: Path | None = None, *, progress: Callable[[str], None] | None = None
) -> Seed:
    """Build the seed of ``SEED_VERSION`` from scratch and return it.

    Runs the ffmpeg jobs (one v1 remux per game, one 360p encode for the partial game) with
    at most ``MAX_PARALLEL_JOBS`` at once in a temporary directory, removes the broken game's
    segment, writes every ``meta.json``, then the manifest, then renames the directory into
    place (so a seed directory only ever appears complete). Older seed versions are removed.
    Callers that may run concurrently should use ``ensure_seed`` (it holds the seed lock).
    Raises SeedError on any failure (the temporary directory is removed).
    """
    t0 = time.monotonic()
    say = progress or (lambda msg: log.info("%s", msg))
    base = demo_dir(data_dir)
    clip = clip_path()
    exe = pinned_ffmpeg()
    remove_seed_caches(data_dir)
    tmp_root = base / f".seed-v{SEED_VERSION}.tmp-{os.getpid()}"
    objects_root = tmp_root / OBJECTS_DIR
    say(f"building demo seed v{SEED_VERSION} from {clip.name} ({len(DEMO_GAMES)} games)")
    try:
        jobs: list[tuple[list[str], Path, str]] = []
        for game in DEMO_GAMES:
            game_dir = objects_root / game.prefix
            if game.kind == "partial":  # the long encode first, the remuxes fill the other slot
                jobs.insert(
                    0,
                    (
                        rung_360p_command(exe, clip, game),
                        game_dir / "abr" / "360p",
                        f"{game.id} (360p rung)",
                    ),
                )
            jobs.append((v1_command(exe, clip, game), game_dir, f"{game.id} (v1)"))
        with ThreadPoolExecutor(MAX_PARALLEL_JOBS, thread_name_prefix="seed-ffmpeg") as pool:
            futures = [pool.submit(run_ffmpeg, argv, label, cwd=cwd) for argv, cwd, label in jobs]
            for fut in futures:
                fut.result()
        for game in DEMO_GAMES:
            game_dir = objects_root / game.prefix
            uris = playlist_uris((game_dir / "master.m3u8").read_text(encoding="utf-8"))
            if game.kind == "broken":
                if BROKEN_MISSING_SEGMENT not in uris:
                    raise SeedError(f"{game.id}: too few segments to break ({uris})")
                (game_dir / BROKEN_MISSING_SEGMENT).unlink()
            else:
                missing = [u for u in uris if not (game_dir / u).is_file()]
                if missing:
                    raise SeedError(f"{game.id}: ffmpeg did not write {missing}")
            (game_dir / "meta.json").write_text(
                json.dumps(game.meta(), indent=1) + "\n", encoding="utf-8"
            )
        rows = []
        for path in sorted(p for p in objects_root.rglob("*") if p.is_file()):
            key = path.relative_to(objects_root).as_posix()
            rows.append(
                {
                    "key": key,
                    "size": path.stat().st_size,
                    "sha256": _sha256_file(path),
                    "content_type": content_type_for(key),
                }
            )
        build_seconds = round(time.monotonic() - t0, 3)
        version_line = pinned_ffmpeg_version(exe)
        manifest = {
            "seed_version": SEED_VERSION,
            "created_at": utc_stamp(),
            "source": f"resources/demo/{CLIP_NAME}",
            "ffmpeg_version": version_line,
            "build_seconds": build_seconds,
            "games": [{"id": g.id, "kind": g.kind, **g.meta()} for g in DEMO_GAMES],
            "objects": rows,
        }
        write_json_atomic(tmp_root / MANIFEST_NAME, manifest)
        target = seed_dir(data_dir)
        if target.exists():
            shutil.rmtree(target)
        os.rename(tmp_root, target)
    except BaseException:
        shutil.rmtree(tmp_root, ignore_errors=True)
        raise
    seed = load_seed(data_dir)
    if seed is None:
        raise SeedError(f"The demo seed built in {target} does not validate.")
    total = sum(o.size for o in seed.objects)
    say(
        f"demo seed v{SEED_VERSION} built in {build_seconds:.1f} s: "
        f"{len(seed.objects)} objects, {total / 1e6:.1f} MB"
    )
    return seed


def main(argv: list[str] | None = None) -> int:
    """``python -m console.demo.seed [--data-dir D] [--rebuild]``: build the seed, print stats."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--rebuild", action="store_true", help="discard the cache first")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.rebuild:
        remove_seed_caches(args.data_dir)
    t0 = time.monotonic()
    seed = ensure_seed(args.data_dir)
    print(f"{seed.root}: {len(seed.objects)} objects in {time.monotonic() - t0:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
