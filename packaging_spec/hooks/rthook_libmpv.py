"""PyInstaller runtime hook: make python-mpv load the libmpv shipped in the bundle.

python-mpv resolves the library with ``ctypes.util.find_library("mpv")`` (``mpv-2.dll`` etc.
on Windows), which only searches the host's linker paths. This hook answers that lookup
with the copy the spec placed next to the other bundled libraries (``sys._MEIPASS``), so the
bundle never depends on a host libmpv. Any other name is looked up as before.
"""

import ctypes.util
import glob
import os
import sys

_BUNDLE = getattr(sys, "_MEIPASS", None)
_PATTERNS = ("libmpv.so*", "libmpv*.dylib", "mpv-*.dll", "libmpv-*.dll")


def _bundled_mpv():
    if not _BUNDLE:
        return None
    for pattern in _PATTERNS:
        hits = sorted(glob.glob(os.path.join(_BUNDLE, pattern)))
        if hits:
            return hits[0]
    return None


_LIBMPV = _bundled_mpv()
if _LIBMPV is not None:
    _original_find_library = ctypes.util.find_library

    def _find_library(name):
        if name == "mpv" or name.startswith(("mpv-", "libmpv")):
            return _LIBMPV
        return _original_find_library(name)

    ctypes.util.find_library = _find_library
