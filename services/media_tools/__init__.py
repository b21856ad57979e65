"""The one way the product runs its media tools (ffmpeg, ffprobe).

- ``binaries``: where the tools are (the pinned ffmpeg, ffprobe on PATH) and the ffmpeg
  version line the ledgers record;
- ``runner``: ``run_tool`` (async) and ``run_sync`` (plain threads, the demo seed): niced,
  tied to the console's life, stopped TERM-then-KILL, secrets removed from what is kept;
- ``probe``: the one ffprobe wrapper (a rendition's streams, optionally its video packets).
"""
