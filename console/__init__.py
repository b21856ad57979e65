"""Video Ops Console: the app shell (composition root, qasync loop, profiles, demo stack)."""

from importlib.metadata import PackageNotFoundError, version

APP_TITLE = "Video Ops Console"

try:
    __version__ = version("video-ops-console")
except PackageNotFoundError:  # running from a checkout that is not installed
    __version__ = "0.0.0+local"
