"""The demo gate and playback/clip APIs over real HTTP (docs/contracts.md §1.5): the
credential matrix (token, cookie, session ``ent``; none, tampered, expired, another game's,
replayed, not entitled) on every kind of object, the cookie's attributes, Range, HEAD,
paths outside a game, the playback API's answer and the clip API's playlists, and what
each planted mistake changes. The audit's view of the same is tests/test_audit.py."""

from __future__ import annotations

import httpx
import pytest

from console.demo.viewer import DEMO_API_TOKEN, DEMO_SIGNING_KEY
from services.audit.gate_client import looks_like_media
from services.hls import MediaPlaylist, MultivariantPlaylist, parse_playlist
from services.viewer_tokens import (
    COOKIE_NAME,
    issue_cookie,
    issue_game_token,
    issue_session_token,
    tamper,
)
from tests.audit_support import (
    CLEAN,
    COOKIE,
    DROPPED,
    FOREIGN_CLIP,
    OPEN_RUNG,
    V1_ONLY,
    audit_stack_fixture,  # noqa: F401
)

pytestmark = pytest.mark.timeout(240)
OBJECTS = ("master.m3u8", "abr/720p/index.m3u8", "abr/360p/seg_00000.m4s", "seg_00000.m4s",
           "abr/renditions.json")  # fmt: skip


@pytest.fixture
def http():
    """A client that keeps no cookie: each request carries only what the test gives it."""
    from http.cookiejar import CookieJar, DefaultCookiePolicy

    jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    with httpx.Client(timeout=20, trust_env=False, cookies=jar) as client:
        yield client


def _playback(http, base: str, game_id: str) -> dict:
    answer = http.get(
        f"{base}/api/games/{game_id}/playback",
        headers={"Authorization": f"Bearer {DEMO_API_TOKEN}"},
    )
    assert answer.status_code == 200
    return answer.json()


def _refused(answer: httpx.Response, reason: str | None = None) -> None:
    assert answer.status_code == 403, answer.status_code
    assert answer.headers["content-type"] == "application/json"
    assert not looks_like_media(answer.content) and len(answer.content) < 200
    if reason is not None:
        assert answer.json() == {"error": "forbidden", "reason": reason}


def test_playback_api_returns_the_game_url_and_a_game_token(audit_stack, http):
    base = audit_stack.viewer.url
    doc = _playback(http, base, CLEAN)
    assert doc["manifest_url"] == f"{base}/games/{CLEAN}/master.m3u8"
    import jwt

    claims = jwt.decode(doc["token"], DEMO_SIGNING_KEY, algorithms=["HS256"])
    assert claims["game"] == CLEAN and claims["exp"] > claims["iat"]
    assert http.get(f"{base}/api/games/{CLEAN}/playback").status_code == 401
    no_game = http.get(
        f"{base}/api/games/nope/playback", headers={"Authorization": f"Bearer {DEMO_API_TOKEN}"}
    )
    assert no_game.status_code == 404


@pytest.mark.parametrize("name", OBJECTS)
def test_refused_credentials_get_403_and_no_media_on_every_object(audit_stack, http, name):
    base, url = audit_stack.viewer.url, f"{audit_stack.viewer.url}/games/{CLEAN}/{name}"
    token = _playback(http, base, CLEAN)["token"]
    other = _playback(http, base, V1_ONLY)["token"]
    _refused(http.get(url), "no credential")
    _refused(http.get(url, params={"token": tamper(token)}), "signature")
    _refused(http.get(url, params={"token": "not-a-jwt"}), "malformed")
    expired = issue_game_token(DEMO_SIGNING_KEY, CLEAN, ttl_s=-60)
    _refused(http.get(url, params={"token": expired}), "expired")
    _refused(http.get(url, params={"token": other}), "not entitled to this game")
    ent = issue_session_token(DEMO_SIGNING_KEY, [V1_ONLY, "NBA"])
    _refused(http.get(url, params={"token": ent}), "not entitled to this game")
    foreign = issue_cookie(DEMO_SIGNING_KEY, f"/games/{V1_ONLY}/")
    _refused(
        http.get(url, headers={"Cookie": f"{COOKIE_NAME}={foreign}"}),
        "cookie not valid for this path",
    )
    wrong_key = issue_game_token("another-key-of-at-least-32-bytes!!", CLEAN)
    _refused(http.get(url, params={"token": wrong_key}), "signature")
    # and the allowed shapes
    assert http.get(url, params={"token": token}).status_code == 200
    for entitled in ([CLEAN], ["NFL"]):
        session = issue_session_token(DEMO_SIGNING_KEY, entitled)
        assert http.get(url, params={"token": session}).status_code == 200


def test_authorized_request_sets_a_path_scoped_cookie_that_opens_only_this_game(audit_stack, http):
    base = audit_stack.viewer.url
    token = _playback(http, base, CLEAN)["token"]
    first = http.get(f"{base}/games/{CLEAN}/master.m3u8", params={"token": token})
    header = first.headers["set-cookie"]
    assert f"Path=/games/{CLEAN}/" in header and "HttpOnly" in header and "Max-Age=300" in header
    cookie = first.cookies[COOKIE_NAME]
    child = http.get(
        f"{base}/games/{CLEAN}/abr/360p/index.m3u8", headers={"Cookie": f"{COOKIE_NAME}={cookie}"}
    )
    assert child.status_code == 200 and isinstance(parse_playlist(child.content), MediaPlaylist)
    ranged = http.get(
        f"{base}/games/{CLEAN}/abr/360p/seg_00000.m4s",
        headers={"Cookie": f"{COOKIE_NAME}={cookie}", "Range": "bytes=0-99"},
    )
    assert ranged.status_code == 206 and len(ranged.content) == 100
    assert ranged.headers["content-range"].startswith("bytes 0-99/")
    head = http.head(f"{base}/games/{CLEAN}/seg_00000.m4s", params={"token": token})
    assert head.status_code == 200 and int(head.headers["content-length"]) > 0
    replay = http.get(
        f"{base}/games/{V1_ONLY}/seg_00000.m4s", headers={"Cookie": f"{COOKIE_NAME}={cookie}"}
    )
    _refused(replay, "cookie not valid for this path")
    missing = http.get(f"{base}/games/{CLEAN}/seg_99999.m4s", params={"token": token})
    assert missing.status_code == 404
    assert http.get(f"{base}/games/{CLEAN}/../{V1_ONLY}/master.m3u8").status_code in (403, 404)
    assert http.get(f"{base}/games/{CLEAN}/abr/..%2F..%2Fmeta.json").status_code in (403, 404)


def test_clip_api_serves_stored_segments_only_and_is_gated(audit_stack, http):
    base = audit_stack.viewer.url
    token = _playback(http, base, CLEAN)["token"]
    clip_url = f"{base}/api/games/{CLEAN}/clip.m3u8"
    _refused(http.get(clip_url, params={"start": 1, "end": 5, "rung": "360p"}), "no credential")
    answer = http.get(clip_url, params={"start": 1, "end": 5, "rung": "360p", "token": token})
    clip = parse_playlist(answer.content)
    assert isinstance(clip, MediaPlaylist) and clip.endlist
    assert [s.uri for s in clip.segments] == [
        f"/games/{CLEAN}/abr/360p/seg_00000.m4s",
        f"/games/{CLEAN}/abr/360p/seg_00001.m4s",
    ]
    assert clip.init_uri == f"/games/{CLEAN}/abr/360p/init.mp4"
    assert f"Path=/games/{CLEAN}/" in answer.headers["set-cookie"]
    whole = http.get(clip_url, params={"start": 1, "end": 5, "token": token})
    multivariant = parse_playlist(whole.content)
    assert isinstance(multivariant, MultivariantPlaylist) and len(multivariant.variants) == 2
    bad = http.get(clip_url, params={"start": 9, "end": 2, "rung": "360p", "token": token})
    assert bad.status_code == 400 and "after the out point" in bad.json()["error"]
    assert (
        http.get(clip_url, params={"start": 0, "end": 2, "rung": "9k", "token": token}).status_code
        == 404
    )


def test_each_planted_mistake_changes_exactly_what_it_says(audit_stack, http):
    base = audit_stack.viewer.url
    # a cookie scoped to /games/: it opens every game
    token = _playback(http, base, COOKIE)["token"]
    first = http.get(f"{base}/games/{COOKIE}/master.m3u8", params={"token": token})
    assert "Path=/games/;" in first.headers["set-cookie"]
    wide = first.cookies[COOKIE_NAME]
    assert (
        http.get(
            f"{base}/games/{V1_ONLY}/seg_00000.m4s", headers={"Cookie": f"{COOKIE_NAME}={wide}"}
        ).status_code
        == 200
    )
    # a rung prefix the gate forgets to protect: that rung only
    assert http.get(f"{base}/games/{OPEN_RUNG}/abr/360p/seg_00000.m4s").status_code == 200
    _refused(http.get(f"{base}/games/{OPEN_RUNG}/abr/720p/seg_00000.m4s"))
    _refused(http.get(f"{base}/games/{CLEAN}/abr/360p/seg_00000.m4s"))
    # a clip naming another game's segment
    token = _playback(http, base, FOREIGN_CLIP)["token"]
    clip = http.get(
        f"{base}/api/games/{FOREIGN_CLIP}/clip.m3u8",
        params={"start": 1, "end": 5, "rung": "360p", "token": token},
    ).text
    uris = [line for line in clip.splitlines() if line.startswith("/games/")]
    assert uris[0].startswith(f"/games/{FOREIGN_CLIP}/") and not uris[-1].startswith(
        f"/games/{FOREIGN_CLIP}/"
    )
    # a master that dropped the v1-size rung
    token = _playback(http, base, DROPPED)["token"]
    master = parse_playlist(
        http.get(f"{base}/games/{DROPPED}/master.m3u8", params={"token": token}).content
    )
    assert isinstance(master, MultivariantPlaylist)
    assert [v.uri for v in master.variants] == ["abr/360p/index.m3u8"]
    clean = parse_playlist(
        http.get(
            f"{base}/games/{CLEAN}/master.m3u8",
            params={"token": _playback(http, base, CLEAN)["token"]},
        ).content
    )
    assert len(clean.variants) == 2


def test_mistake_switch_file_round_trip(tmp_path):
    from console.demo.viewer.mistakes import (
        Mistakes,
        MistakeSpecError,
        MistakeSwitch,
        load_mistakes,
        save_mistakes,
    )

    switch = MistakeSwitch(tmp_path)
    assert not switch.current().any
    planted = Mistakes().planted("dropped_rung", "g1", "720p").planted("cookie_path", "g2")
    save_mistakes(tmp_path, planted)
    assert switch.current() == planted == load_mistakes(tmp_path)
    with pytest.raises(MistakeSpecError):
        planted.planted("unprotected_rung", "g3")
    save_mistakes(tmp_path, Mistakes())
    assert not (tmp_path / "viewer_mistakes.json").exists() and not switch.current().any
