"""The demo video-assets API (console.demo.assets_api) over real HTTP on loopback.

Most tests share one seeded server (module scope) and check the answers against the SQLite
database directly; tests that restart a server use their own database. The last test starts
the whole demo stack in a temporary data dir and checks it publishes the API and its token.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from console.demo import state
from console.demo.assets_api import (
    DEMO_TOKEN,
    READONLY_TOKEN,
    SEED_ASSETS,
    AssetsApiServer,
    start_assets_api,
)
from console.demo.stack import ensure_demo_stack, release_demo_stack, stop_demo_stack

TOKEN = "t0k"
LIST = "/api/video-assets"
RETRY = "/api/video-assets/retry"

pytestmark = pytest.mark.timeout(60)


# -- helpers -------------------------------------------------------------------------------


def client(api: AssetsApiServer, token: str | None = TOKEN) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=api.url, headers=headers, timeout=10.0, trust_env=False)


def sql(api: AssetsApiServer, query: str, *params: object) -> list[tuple]:
    conn = sqlite3.connect(f"file:{api.db_path}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(query, params).fetchall()
    finally:
        conn.close()


def wait_settled(api: AssetsApiServer, timeout: float = 8.0) -> None:
    """Wait until the worker has no retried asset in flight."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        (busy,) = sql(
            api,
            "SELECT COUNT(*) FROM video_assets AS a WHERE status = 'retrying' OR"
            " (status = 'processing' AND EXISTS (SELECT 1 FROM video_processing_events"
            " WHERE asset_id = a.id AND type = 'retry_requested'))",
        )[0]
        if busy == 0:
            return
        time.sleep(0.1)
    raise AssertionError("retried assets did not settle in time")


def failed_posts(api: AssetsApiServer, n: int, offset: int = 0) -> list[str]:
    rows = sql(
        api,
        "SELECT post_id FROM video_assets WHERE status = 'failed' ORDER BY post_id"
        " LIMIT ? OFFSET ?",
        n,
        offset,
    )
    assert len(rows) == n, "not enough failed assets left"
    return [r[0] for r in rows]


def retry(http: httpx.Client, post_id: str, key: str | None = None) -> httpx.Response:
    return http.post(RETRY, json={"postId": post_id}, headers={"Idempotency-Key": key or new_key()})


def new_key() -> str:
    return str(uuid.uuid4())


def retry_events(api: AssetsApiServer, post_id: str) -> list[dict]:
    rows = sql(
        api,
        "SELECT e.payload FROM video_processing_events AS e JOIN video_assets AS a"
        " ON a.id = e.asset_id WHERE a.post_id = ? AND e.type = 'retry_requested'",
        post_id,
    )
    return [json.loads(r[0]) for r in rows]


def page_all(http: httpx.Client, limit: int, **params: str) -> list[dict]:
    items: list[dict] = []
    cursor = None
    for _ in range(1000):
        query = {**params, "limit": str(limit)}
        if cursor:
            query["cursor"] = cursor
        answer = http.get(LIST, params=query)
        assert answer.status_code == 200, answer.text
        doc = answer.json()
        assert set(doc) == {"items", "next_cursor"}
        assert len(doc["items"]) <= limit
        items += doc["items"]
        cursor = doc["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination does not end")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AssetsApiServer]:
    server = start_assets_api(tmp_path_factory.mktemp("assets") / "a.sqlite3", TOKEN)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def http(api: AssetsApiServer) -> Iterator[httpx.Client]:
    with client(api) as c:
        yield c


# -- seed, auth, listing -------------------------------------------------------------------


def test_seed_is_a_realistic_mix(api: AssetsApiServer) -> None:
    counts = dict(sql(api, "SELECT status, COUNT(*) FROM video_assets GROUP BY status"))
    assert sum(counts.values()) == SEED_ASSETS
    assert counts["completed"] >= 0.5 * SEED_ASSETS and counts["failed"] >= 0.2 * SEED_ASSETS
    assert counts["queued"] > 0 and counts["processing"] > 0
    codes = {r[0] for r in sql(api, "SELECT DISTINCT error_code FROM video_assets")} - {None}
    assert codes >= {
        "provider_timeout",
        "unsupported_codec",
        "non_video_input",
        "webhook_signature_invalid",
        "source_unreachable",
        "duration_too_long",
    }
    messages = {r[0] for r in sql(api, "SELECT error_message FROM video_assets")}
    assert "Transcoding provider did not answer within 900 s" in messages
    assert "Provider webhook signature did not verify" in messages
    (span,) = sql(api, "SELECT MIN(created_at), MAX(updated_at) FROM video_assets")
    assert "T" in span[0] and span[0].endswith("Z")
    assert 7 <= (time.time() - _ts(span[0])) / 86400 <= 14.01
    (missing,) = sql(
        api,
        "SELECT COUNT(*) FROM video_assets WHERE status = 'completed'"
        " AND (manifest_url IS NULL OR poster_url IS NULL)",
    )[0]
    assert missing == 0
    (events,) = sql(api, "SELECT COUNT(*) FROM video_processing_events")[0]
    assert events >= 3 * SEED_ASSETS


def _ts(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_every_request_needs_a_valid_token(api: AssetsApiServer) -> None:
    for token in (None, "wrong", TOKEN + "x"):
        with client(api, token) as c:
            for answer in (
                c.get(LIST),
                c.get(f"{LIST}/post_0000000"),
                c.post(RETRY, json={"postId": "x"}, headers={"Idempotency-Key": "k"}),
            ):
                assert answer.status_code == 401
                assert isinstance(answer.json()["error"], str) and answer.json()["error"]
    with httpx.Client(base_url=api.url, trust_env=False) as c:
        answer = c.get(LIST, headers={"Authorization": f"Basic {TOKEN}"})
        assert answer.status_code == 401
    with client(api, READONLY_TOKEN) as c:
        assert c.get(LIST, params={"limit": 1}).status_code == 200


def test_listing_pages_through_all_failed_assets(api: AssetsApiServer, http: httpx.Client) -> None:
    wait_settled(api)
    expected = {r[0] for r in sql(api, "SELECT post_id FROM video_assets WHERE status='failed'")}
    for limit in (37, 200):
        items = page_all(http, limit, status="failed")
        posts = [item["post_id"] for item in items]
        assert len(posts) == len(set(posts)), "duplicates across pages"
        assert set(posts) == expected
        assert all(item["status"] == "failed" and item["error_code"] for item in items)
        keys = [(item["updated_at"], item["id"]) for item in items]
        assert keys == sorted(keys, reverse=True)
    everything = page_all(http, 200)
    assert len(everything) == sql(api, "SELECT COUNT(*) FROM video_assets")[0][0]
    first = http.get(LIST).json()
    assert len(first["items"]) == 50 and first["next_cursor"]


def test_listing_filters(api: AssetsApiServer, http: httpx.Client) -> None:
    wait_settled(api)

    def count(where: str, *params: object) -> int:
        return sql(api, f"SELECT COUNT(*) FROM video_assets WHERE {where}", *params)[0][0]

    items = page_all(http, 200, status="failed", error_code="unsupported_codec")
    assert items and all(i["error_code"] == "unsupported_codec" for i in items)
    assert len(items) == count("status = 'failed' AND error_code = 'unsupported_codec'")
    items = page_all(http, 200, q="PRORES")
    assert items and all("prores" in (i["error_message"] or "").lower() for i in items)
    assert len(items) == count("error_message LIKE '%prores%'")
    some = sql(api, "SELECT post_id, owner_id FROM video_assets LIMIT 1")[0]
    assert [i["post_id"] for i in page_all(http, 200, q=some[0])] == [some[0]]
    assert len(page_all(http, 200, q=some[1])) == count("owner_id = ?", some[1])
    middle = sql(api, "SELECT updated_at FROM video_assets ORDER BY updated_at LIMIT 1 OFFSET 200")
    since = middle[0][0]
    items = page_all(http, 200, since=since)
    assert len(items) == count("updated_at >= ?", since)
    assert all(i["updated_at"] >= since for i in items)
    items = page_all(http, 200, until=since, status="completed")
    assert len(items) == count("updated_at < ? AND status = 'completed'", since)
    both = page_all(http, 200, status="queued,processing")
    assert len(both) == count("status IN ('queued', 'processing')")
    for params in (
        {"status": "broken"},
        {"limit": "0"},
        {"limit": "201"},
        {"limit": "ten"},
        {"cursor": "not-a-cursor"},
        {"since": "yesterday"},
    ):
        answer = http.get(LIST, params=params)
        assert answer.status_code == 400, params
        assert answer.json()["error"]


def test_asset_and_its_event_timeline(api: AssetsApiServer, http: httpx.Client) -> None:
    post_ids = [r[0] for r in sql(api, "SELECT post_id FROM video_assets ORDER BY id LIMIT 60")]
    for post_id in post_ids:
        asset = http.get(f"{LIST}/{post_id}").json()
        assert asset["post_id"] == post_id
        events = http.get(f"{LIST}/{post_id}/events").json()["events"]
        assert [(e["created_at"], e["id"]) for e in events] == sorted(
            (e["created_at"], e["id"]) for e in events
        )
        assert events[0]["type"] == "created" and events[0]["to_status"] == "queued"
        assert events[0]["from_status"] is None
        status = None
        for event in events:
            assert event["asset_id"] == asset["id"] and isinstance(event["payload"], dict)
            if event["to_status"] is not None:
                assert event["from_status"] == status
                status = event["to_status"]
        assert status == asset["status"]
        assert events[-1]["created_at"] <= asset["updated_at"]
    failed = http.get(LIST, params={"status": "failed", "error_code": "provider_timeout"})
    post_id = failed.json()["items"][0]["post_id"]
    last = http.get(f"{LIST}/{post_id}/events").json()["events"][-1]
    assert last["type"] == "failed"
    assert last["payload"]["http_status"] == 504 and last["payload"]["provider"] == "mux"
    assert last["payload"]["job_id"] and last["payload"]["attempt"] >= 1
    for path in (f"{LIST}/post_nope", f"{LIST}/post_nope/events"):
        answer = http.get(path)
        assert answer.status_code == 404 and "post_nope" in answer.json()["error"]
    assert http.get("/api/elsewhere").status_code == 404
    assert http.delete(f"{LIST}/{post_ids[0]}").status_code == 405


# -- retry -----------------------------------------------------------------------------------


def test_retry_runs_the_lifecycle(api: AssetsApiServer, http: httpx.Client) -> None:
    post_id = failed_posts(api, 1)[0]
    before = http.get(f"{LIST}/{post_id}").json()
    key = new_key()
    answer = retry(http, post_id, key)
    assert answer.status_code == 200, answer.text
    asset = answer.json()
    assert asset["status"] == "retrying" and asset["attempts"] == before["attempts"] + 1
    assert asset["error_code"] is None and asset["error_message"] is None
    assert asset["updated_at"] > before["updated_at"]
    events = http.get(f"{LIST}/{post_id}/events").json()["events"]
    assert events[-1]["type"] == "retry_requested"
    assert (events[-1]["from_status"], events[-1]["to_status"]) == ("failed", "retrying")
    assert events[-1]["payload"]["idempotency_key"] == key
    assert events[-1]["payload"]["requested_by"] == "ops-console"
    seen = ["retrying"]
    end = time.monotonic() + 6.0
    while time.monotonic() < end and seen[-1] not in ("completed", "failed"):
        time.sleep(0.1)
        status = http.get(f"{LIST}/{post_id}").json()["status"]
        if status != seen[-1]:
            seen.append(status)
    assert seen in (["retrying", "processing", "completed"], ["retrying", "processing", "failed"])
    final = http.get(f"{LIST}/{post_id}").json()
    tail = http.get(f"{LIST}/{post_id}/events").json()["events"][-3:]
    assert [e["type"] for e in tail] == ["retry_requested", "processing_started", final["status"]]
    assert [(e["from_status"], e["to_status"]) for e in tail[1:]] == [
        ("retrying", "processing"),
        ("processing", final["status"]),
    ]
    assert tail[0]["created_at"] < tail[1]["created_at"] < tail[2]["created_at"]
    assert final["updated_at"] == tail[2]["created_at"]
    if final["status"] == "completed":
        assert final["manifest_url"] and final["poster_url"] and final["error_code"] is None
    else:
        assert final["error_code"] and final["error_message"]
        assert tail[2]["payload"]["error_code"] == final["error_code"]


def test_retry_of_a_non_failed_asset_is_a_conflict(
    api: AssetsApiServer, http: httpx.Client
) -> None:
    for status in ("completed", "queued", "processing"):
        query = "SELECT post_id FROM video_assets WHERE status = ? LIMIT 1"
        (post_id,) = sql(api, query, status)[0]
        before = http.get(f"{LIST}/{post_id}").json()
        retries = len(retry_events(api, post_id))
        key = new_key()
        answer = retry(http, post_id, key)
        assert answer.status_code == 409
        assert answer.json()["status"] == status and answer.json()["error"]
        again = retry(http, post_id, key)
        assert (again.status_code, again.content) == (409, answer.content)
        assert len(retry_events(api, post_id)) == retries
        assert http.get(f"{LIST}/{post_id}").json() == before


def test_replayed_key_returns_the_first_answer_and_retries_once(
    api: AssetsApiServer, http: httpx.Client
) -> None:
    post_id = failed_posts(api, 1, offset=3)[0]
    key = new_key()
    first = retry(http, post_id, key)
    assert first.status_code == 200
    second = retry(http, post_id, key)
    assert (second.status_code, second.content) == (200, first.content)
    assert second.headers.get("Idempotent-Replayed") == "true"
    # Still the first answer after the status moved on.
    end = time.monotonic() + 4.0
    while http.get(f"{LIST}/{post_id}").json()["status"] == "retrying":
        assert time.monotonic() < end
        time.sleep(0.1)
    third = retry(http, post_id, key)
    assert (third.status_code, third.content) == (200, first.content)
    keys = [p["idempotency_key"] for p in retry_events(api, post_id)]
    assert keys.count(key) == 1
    # The same key for another post is refused and changes nothing.
    other = failed_posts(api, 1, offset=4)[0]
    answer = retry(http, other, key)
    assert answer.status_code == 422 and answer.json()["error"]
    assert http.get(f"{LIST}/{other}").json()["status"] == "failed"


def test_concurrent_retries_of_one_asset_give_one_success(
    api: AssetsApiServer,
) -> None:
    post_id = failed_posts(api, 1, offset=6)[0]
    before = len(retry_events(api, post_id))
    n = 8
    barrier = threading.Barrier(n)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def worker() -> None:
        with client(api) as c:
            barrier.wait()
            answer = retry(c, post_id)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] + [409] * (n - 1)
    assert {a.json()["status"] for a in answers if a.status_code == 409} <= {
        "retrying",
        "processing",
    }
    assert len(retry_events(api, post_id)) == before + 1


def test_bulk_retries_in_parallel_each_succeed_once(api: AssetsApiServer) -> None:
    posts = failed_posts(api, 24, offset=10)
    results: dict[str, int] = {}
    lock = threading.Lock()

    def worker(chunk: list[str]) -> None:
        with client(api) as c:
            for post_id in chunk:
                code = retry(c, post_id).status_code
                with lock:
                    results[post_id] = code

    threads = [threading.Thread(target=worker, args=(posts[i::6],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert results == dict.fromkeys(posts, 200)
    assert all(len(retry_events(api, p)) >= 1 for p in posts)


def test_read_only_token_unknown_post_and_bad_requests(
    api: AssetsApiServer, http: httpx.Client
) -> None:
    post_id = failed_posts(api, 1, offset=40)[0]
    with client(api, READONLY_TOKEN) as ro:
        answer = retry(ro, post_id)
        assert answer.status_code == 403 and answer.json()["error"]
        assert ro.get(f"{LIST}/{post_id}").json()["status"] == "failed"
    key = new_key()
    answer = retry(http, "post_missing", key)
    assert answer.status_code == 404 and "post_missing" in answer.json()["error"]
    assert retry(http, "post_missing", key).content == answer.content
    headers = {"Idempotency-Key": new_key(), "Content-Type": "application/json"}
    for body in (b"{not json", b"[1, 2]", b'{"post": "x"}', b'{"postId": ""}', b'{"postId": 7}'):
        answer = http.post(RETRY, content=body, headers=headers)
        assert answer.status_code == 400, body
        assert answer.headers["content-type"].startswith("application/json")
        assert answer.json()["error"]
    answer = http.post(RETRY, json={"postId": post_id})  # no Idempotency-Key
    assert answer.status_code == 400 and "Idempotency-Key" in answer.json()["error"]
    assert http.get(f"{LIST}/{post_id}").json()["status"] == "failed"


# -- persistence -----------------------------------------------------------------------------


def test_restart_keeps_state_without_reseeding(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    now = time.time()
    games = [f"http://127.0.0.1:1111/griddy-video/games/g{i}/master.m3u8" for i in range(3)]
    api = start_assets_api(db, TOKEN, manifest_urls=games, worker_tick_s=0.1, now=now)
    try:
        with client(api) as http:
            completed = page_all(http, 200, status="completed")
            assert {i["manifest_url"] for i in completed} == set(games)
            post_id = failed_posts(api, 1)[0]
            key = new_key()
            first = retry(http, post_id, key)
            assert first.status_code == 200
            wait_settled(api)
            snapshot = page_all(http, 200)
            events = sql(api, "SELECT COUNT(*) FROM video_processing_events")[0][0]
            seeded_at = sql(api, "SELECT value FROM meta WHERE key = 'seeded_at'")
    finally:
        api.stop()
    moved = [g.replace(":1111/", ":2222/") for g in games]
    api = start_assets_api(db, TOKEN, manifest_urls=moved, now=now + 3600)
    try:
        with client(api) as http:
            again = page_all(http, 200)
            assert sql(api, "SELECT value FROM meta WHERE key = 'seeded_at'") == seeded_at
            assert sql(api, "SELECT COUNT(*) FROM video_processing_events")[0][0] == events
            moved_by_post = {i["post_id"]: i for i in again}
            for item in snapshot:
                after = moved_by_post[item["post_id"]]
                if item["manifest_url"] in games:  # the demo bucket's new port
                    assert after["manifest_url"] == item["manifest_url"].replace(":1111/", ":2222/")
                    after = {**after, "manifest_url": item["manifest_url"]}
                assert after == item
            replay = retry(http, post_id, key)
            assert (replay.status_code, replay.content) == (200, first.content)
    finally:
        api.stop()
    # The seed itself is deterministic (same anchor time → same rows).
    other = start_assets_api(tmp_path / "b.sqlite3", TOKEN, manifest_urls=games, now=now)
    try:
        with client(other) as http:
            fresh = {i["post_id"]: i for i in page_all(http, 200, status="failed")}
        assert fresh[post_id]["attempts"] == first.json()["attempts"] - 1
        assert len(fresh) >= 0.2 * SEED_ASSETS
    finally:
        other.stop()


# -- the demo stack ----------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_demo_stack_publishes_the_assets_api_and_its_token(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    try:
        endpoint = ensure_demo_stack(data_dir, timeout=100)
        assert endpoint.assets_api_url and endpoint.assets_api_url.startswith("http://127.0.0.1:")
        assert endpoint.assets_api_token == DEMO_TOKEN
        doc = json.loads((state.demo_dir(data_dir) / state.STATE_FILE).read_text())
        assert doc["services"]["assets_api_url"] == endpoint.assets_api_url
        assert (state.demo_dir(data_dir) / "assets.sqlite3").exists()
        headers = {"Authorization": f"Bearer {endpoint.assets_api_token}"}
        with httpx.Client(
            base_url=endpoint.assets_api_url, headers=headers, timeout=10, trust_env=False
        ) as http:
            page = http.get(LIST, params={"status": "completed", "limit": 20}).json()
            assert len(page["items"]) == 20
            bucket_url = f"{endpoint.endpoint_url}/{endpoint.bucket}/games/"
            manifest = page["items"][0]["manifest_url"]
            assert manifest.startswith(bucket_url) and manifest.endswith("/master.m3u8")
            assert "nfl-2026-w12-sf-sea" not in manifest  # the broken game is left out
            playlist = http.get(manifest, headers={"Authorization": ""})
            assert playlist.status_code == 200 and playlist.text.startswith("#EXTM3U")
            assert http.get(LIST, headers={"Authorization": "Bearer nope"}).status_code == 401
    finally:
        stop_demo_stack(data_dir)
        release_demo_stack(data_dir)
