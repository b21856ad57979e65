"""The rules that turn libmpv's log lines and end-file reasons into operator sentences
(``player.mpv_messages``), one test per rule, with log lines as libmpv 0.35 writes them."""

from __future__ import annotations

import logging

import pytest

from player.mpv_messages import (
    MpvMessages,
    log_level,
    quoted_title,
    redact,
    refused_load,
    short_url,
)

GATEWAY = "http://127.0.0.1:41234/s/SESSIONTOKEN/games/nfl-kc-buf"


def _messages(*lines: tuple[str, str, str], title: str | None = "Game") -> MpvMessages:
    messages = MpvMessages()
    for level, prefix, text in lines:
        assert messages.note(level, prefix, text, title) is None
    return messages


# --------------------------------------------------------------------------- URLs, titles


def test_short_url_keeps_the_last_three_components_and_drops_the_token() -> None:
    assert short_url(f"{GATEWAY}/abr/720p/init.mp4") == ".../abr/720p/init.mp4"
    assert short_url("http://127.0.0.1:9/x/master.m3u8") == "/x/master.m3u8"
    assert short_url("edl://!mp4_dash,init=%21%http://h/i.mp4;%5%http://h/a") == "EDL timeline"


def test_redact_replaces_every_url_in_a_line() -> None:
    text = redact(f"Failed to open {GATEWAY}/abr/720p/init.mp4.")
    assert text == "Failed to open .../abr/720p/init.mp4"
    assert "SESSIONTOKEN" not in text
    assert redact("no url here") == "no url here"


def test_titles_and_refused_loads() -> None:
    assert quoted_title("Game 404") == "“Game 404”"
    assert quoted_title("") == quoted_title(None) == "the video"
    assert refused_load("Game", "invalid parameter") == (
        "Could not open “Game”: mpv refused it (invalid parameter)."
    )


def test_log_levels_map_to_logging_levels() -> None:
    assert log_level("fatal") == logging.CRITICAL
    assert log_level("error") == logging.ERROR
    assert log_level("warn") == logging.WARNING
    assert log_level("info") == logging.INFO
    assert log_level("v") == log_level("debug") == logging.DEBUG


def test_every_line_reaches_the_log_redacted(caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="player.mpv")
    _messages(("error", "stream", f"Failed to open {GATEWAY}/abr/720p/init.mp4.  "))
    (record,) = [r for r in caplog.records if r.name == "player.mpv"]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "[stream] Failed to open .../abr/720p/init.mp4"


# --------------------------------------------------------------------------- load failures


def test_an_init_segment_that_cannot_be_fetched_names_its_http_status() -> None:
    messages = _messages(
        ("warn", "ffmpeg", "http: HTTP error 404 File not found"),
        ("error", "stream", f"Failed to open {GATEWAY}/abr/720p/init.mp4."),
        ("error", "demux", "Could not read init fragment."),
        ("fatal", "cplayer", "No video or audio streams selected."),
    )
    assert messages.load_failure("loading failed", "Game 404") == (
        "Could not open “Game 404”: its init segment could not be fetched "
        "(.../abr/720p/init.mp4: HTTP 404 File not found)."
    )


def test_a_refused_connection_is_named() -> None:
    messages = _messages(
        ("error", "ffmpeg", "tcp: Connection to tcp://127.0.0.1:9 failed: Connection refused"),
        ("error", "stream", "Failed to open http://127.0.0.1:9/x/master.m3u8."),
    )
    assert messages.load_failure("loading failed", "Nowhere") == (
        "Could not open “Nowhere”: it could not be fetched (/x/master.m3u8: connection refused)."
    )


@pytest.mark.parametrize(
    ("line", "detail"),
    [
        (
            "tcp: Connection to tcp://10.0.0.1:80 failed: Connection timed out.",
            "connection timed out",
        ),
        ("tcp: Connection to tcp://10.0.0.1:80 failed: ", "connection failed"),
        ("http: Operation timed out", "timed out"),
        ("http: HTTP error 403 ", "HTTP 403"),
    ],
)
def test_network_details(line: str, detail: str) -> None:
    messages = _messages(("error", "ffmpeg", line))
    assert messages.network_detail() == detail


def test_an_object_that_cannot_be_fetched_without_a_reason() -> None:
    messages = _messages(("error", "stream", "Failed to open http://h/a/b/c/d.m3u8."))
    assert messages.last_failed_url() == "http://h/a/b/c/d.m3u8"
    assert messages.load_failure("", "Game") == (
        "Could not open “Game”: it could not be fetched (.../b/c/d.m3u8)."
    )


@pytest.mark.parametrize(
    ("lines", "file_error"),
    [
        ([], "unrecognized file format"),
        ([("error", "cplayer", "Failed to recognize file format.")], "loading failed"),
    ],
)
def test_an_unknown_format(lines, file_error: str) -> None:
    assert _messages(*lines).load_failure(file_error, "Game") == (
        "Could not open “Game”: not a playable video (unknown format)."
    )


def test_an_invalid_edl_segment_list() -> None:
    messages = _messages(("error", "edl", "EDL: invalid or missing length"))
    assert messages.load_failure("loading failed", "Game") == (
        "Could not open “Game”: the segment list is invalid."
    )


def test_no_playable_stream() -> None:
    assert _messages().load_failure("no audio or video data played", "Game") == (
        "Could not play “Game”: it has no playable audio or video."
    )


def test_any_other_failure_keeps_mpvs_reason() -> None:
    assert _messages().load_failure("loading failed", "Game") == (
        "Could not open “Game”: loading failed."
    )
    unknown = _messages(title=None).load_failure("", None)
    assert unknown == "Could not open the video: unknown error."


# --------------------------------------------------------------------------- while playing


def test_a_timeline_segment_that_cannot_be_loaded_is_reported_once_per_segment() -> None:
    messages = _messages(
        ("error", "stream", f"Failed to open {GATEWAY}/abr/720p/seg_00005.m4s."),
        ("warn", "ffmpeg", "http: HTTP error 503 Service Unavailable"),
    )
    first = messages.note("error", "timeline", "failed to load segment", "Game")
    assert first == (
        "A segment of “Game” could not be loaded "
        "(.../abr/720p/seg_00005.m4s: HTTP 503 Service Unavailable); playback may stall."
    )
    assert messages.note("error", "timeline", "failed to load segment", "Game") is None
    messages.note("error", "stream", f"Failed to open {GATEWAY}/abr/720p/seg_00006.m4s.", "Game")
    again = messages.note("error", "timeline", "failed to load segment", "Game")
    assert again is not None and "seg_00006.m4s" in again
    messages.clear()  # a new file: the same segment is reported again
    assert messages.note("error", "timeline", "failed to load segment", "Game") is not None


def test_an_hls_segment_that_cannot_be_opened_is_skipped_and_reported_once() -> None:
    messages = MpvMessages()
    line = "hls: Failed to open segment 3 of playlist 0"
    assert messages.note("warn", "ffmpeg", line, "ABR") == (
        "Segment 3 of “ABR” could not be loaded; playback skips it."
    )
    assert messages.note("warn", "ffmpeg", line, "ABR") is None
    assert messages.last_failed_url() is None  # "segment 3 of ..." is not a URL


def test_other_lines_are_evidence_only() -> None:
    messages = MpvMessages(max_lines=2)
    assert messages.note("warn", "timeline", "Too many packets in the demuxer queues:", "G") is None
    messages.note("error", "stream", "Failed to open http://h/a.", "G")
    messages.note("info", "cplayer", "one", "G")
    messages.note("info", "cplayer", "two", "G")  # the oldest line falls out
    assert messages.last_failed_url() is None
