"""The code a cluster job runs: the console's own ``services`` package and ladder files,
zipped as a Ray ``working_dir`` package, and the fingerprint that names that version.

The package holds ``services/**/*.py`` and ``resources/ladders/*.toml`` only (about 1 MB
zipped; no tests, no demo media, no secrets). ``fingerprint()`` is the SHA-256 of those
files' relative paths and bytes; the driver recomputes it from what it imported and
refuses to run when the two differ (a stale package or an installed copy shadowing it).
Ray names an uploaded package ``gcs://_ray_pkg_<hash>.zip`` (``ray._private.runtime_env.
packaging``); the hash here is the fingerprint's first 32 hex digits, so the same version is
uploaded once per cluster.
"""

from __future__ import annotations

import functools
import hashlib
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

from services.errors import BadConfig

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LADDERS = Path("resources") / "ladders"


def _members(root: Path) -> Iterator[tuple[str, Path]]:
    for pattern, base in (("**/*.py", Path("services")), ("*.toml", LADDERS)):
        for path in sorted((root / base).glob(pattern)):
            if "__pycache__" not in path.parts and path.is_file():
                yield path.relative_to(root).as_posix(), path


def fingerprint_of(root: Path) -> str:
    """The SHA-256 (hex) of the package members under ``root`` (a project checkout or an
    unpacked package)."""
    return _digest([(name, path.read_bytes()) for name, path in _members(root)])


def _digest(members: list[tuple[str, bytes]]) -> str:
    digest = hashlib.sha256()
    for name, data in members:
        digest.update(name.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()


@functools.cache
def fingerprint() -> str:
    """The running console's fingerprint (``fingerprint_of`` the project root)."""
    return fingerprint_of(PROJECT_ROOT)


def package_uri(print_: str | None = None) -> str:
    """The Ray package URI of this version: ``gcs://_ray_pkg_<32 hex>.zip``."""
    return f"gcs://_ray_pkg_{(print_ or fingerprint())[:32]}.zip"


def package_bytes() -> bytes:
    """The zip of the package members (deterministic: fixed timestamps, sorted names).
    Raises ``BadConfig`` when this console has no source files to ship (the desktop
    bundle keeps its code compiled in its archive), or when they are no longer the ones it
    started with (the package would not be the fingerprint the driver checks)."""
    members = [(name, path.read_bytes()) for name, path in _members(PROJECT_ROOT)]
    if not members:
        raise BadConfig(
            "This console has no source files to send to a cluster (a desktop bundle): run "
            "--on-cluster jobs from a checkout of the project, or run them locally."
        )
    now = _digest(members)
    if now != fingerprint():
        raise BadConfig(
            f"The console's code changed on disk since it started (version {fingerprint()[:12]}"
            f" then, {now[:12]} now): restart the console before sending jobs "
            "to a cluster, so that the cluster runs the code this console runs."
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()
