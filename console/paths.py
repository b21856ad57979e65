"""Where the console keeps its files (platformdirs), overridable for tests and CI.

``VIDEO_OPS_DATA_DIR`` and ``VIDEO_OPS_CONFIG_DIR`` replace the per-user directories, so a
test run never touches the operator's real profiles, demo stack or job history.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "video-ops-console"


def data_dir() -> Path:
    """The user data dir (demo seed cache and bucket snapshot, job history); created if absent."""
    path = Path(os.environ.get("VIDEO_OPS_DATA_DIR") or platformdirs.user_data_dir(APP_NAME))
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    """The user config dir (``profiles.toml``); created if absent."""
    path = Path(os.environ.get("VIDEO_OPS_CONFIG_DIR") or platformdirs.user_config_dir(APP_NAME))
    path.mkdir(parents=True, exist_ok=True)
    return path


def resources_dir() -> Path:
    """The shipped ``resources/`` folder (ladders, styles, the demo clip and its attribution)."""
    return Path(__file__).resolve().parent.parent / "resources"


def jobs_db_path() -> Path:
    """The job history shared by the GUI and the CLI: ``<data dir>/jobs.sqlite3``."""
    return data_dir() / "jobs.sqlite3"
