"""``console.ops.cues.resolve_channel``: a channel is one known ``org/channel`` before any
request leaves the console (a break sent under a short name airs but is verified on the
wrong playlist)."""

from __future__ import annotations

import pytest

from console.ops.cues import resolve_channel
from services.errors import Rejected

KNOWN = ("demo/sports1", "demo/sports2", "live/sports2")


def test_a_full_id_or_a_unique_bare_name_resolves():
    assert resolve_channel("demo/sports1", KNOWN) == "demo/sports1"
    assert resolve_channel("  sports1 ", KNOWN) == "demo/sports1"
    assert resolve_channel("live/sports2", KNOWN) == "live/sports2"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("sports2", "ambiguous: demo/sports2, live/sports2"),
        ("sports9", "Unknown channel 'sports9'"),
        ("demo/sports9", "Unknown channel 'demo/sports9'"),
        ("", "No channel given"),
        ("Sports1", "Unknown channel 'Sports1'"),
    ],
)
def test_unknown_ambiguous_or_empty_is_refused_with_the_list(text, words):
    with pytest.raises(Rejected) as caught:
        resolve_channel(text, KNOWN)
    assert words in str(caught.value)
    if "ambiguous" not in words:
        assert "demo/sports1, demo/sports2, live/sports2" in str(caught.value)


def test_no_known_channel_refuses_everything():
    with pytest.raises(Rejected, match="Channels of this profile: none"):
        resolve_channel("demo/sports1", ())
