"""A demo cue service in its own process, as production's is on another machine: the GUI
lag test measures the console's process alone. ``python -m tests.cue_server_process DIR
TOKEN EXTRA`` prints ``{"url": …}`` on one line, then serves until stdin closes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from console.demo.cues import start_cue_service


def main(argv: list[str]) -> int:
    demo_dir, token, extra = Path(argv[0]), argv[1], int(argv[2])
    server = start_cue_service(demo_dir, token, extra_channels=extra)
    print(json.dumps({"url": server.url}), flush=True)
    sys.stdin.read()  # until the test closes the pipe
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
