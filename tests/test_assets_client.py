"""The video-assets client over real HTTP: the demo assets API (console.demo.assets_api) for
the contract, and a tiny local http.server for failures the demo never produces (5xx,
malformed JSON, a dropped connection, a repeated cursor)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from services.assets import AssetsClient
from services.assets_batch import iter_pages, retry_many
from services.assets_model import AssetStatus, RetryResult
from services.errors import AccessDenied, BadResponse, NotFound, Unreachable, UpstreamError
from tests.conftest import closed_port

pytestmark = pytest.mark.timeout(120)

SECRET = "s3cr3t-assets-token-7f2c"


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def assets_api(start_assets):
    """A fresh, seeded demo assets API on loopback (retried assets: processing after 1 s,
    settled 2 s later)."""
    return start_assets(SECRET)


@pytest.fixture
def slow_assets_api(start_assets):
    """Like ``assets_api``, but retried assets stay ``retrying`` for 30 s."""
    return start_assets(SECRET, processing_after_s=30.0)


async def _all_assets(client: AssetsClient, **filters):
    found = []
    async for page in iter_pages(client, **filters):
        found.extend(page.items)
    return found


async def _failed_ids(client: AssetsClient, count: int) -> list[str]:
    page = await client.list_assets(status="failed", limit=count)
    assert len(page.items) == count
    return [a.post_id for a in page.items]


def _retry_requests(events, keys=None) -> list:
    return [
        e
        for e in events
        if e.type == "retry_requested"
        and (keys is None or e.payload.get("idempotency_key") in keys)
    ]


# -- the demo API ----------------------------------------------------------------------------


def test_pages_through_all_failed_assets(assets_api):
    async def scenario():
        client = AssetsClient(assets_api.url, SECRET)
        try:
            everything = await _all_assets(client, limit=200)
            pages = [page async for page in iter_pages(client, status="failed", limit=17)]
            return everything, pages
        finally:
            await client.aclose()

    everything, pages = run(scenario())
    assert len(everything) >= 300 and len({a.id for a in everything}) == len(everything)
    expected = {a.post_id for a in everything if a.status is AssetStatus.FAILED}
    failed = [a for page in pages for a in page.items]
    assert len(pages) > 2 and pages[-1].next_cursor is None
    assert all(page.next_cursor for page in pages[:-1])
    assert len(failed) == len(expected) and {a.post_id for a in failed} == expected
    assert all(a.status is AssetStatus.FAILED and a.error_code for a in failed)
    assert len({a.error_code for a in failed}) >= 3


def test_filters_reach_the_server(assets_api):
    async def scenario():
        client = AssetsClient(assets_api.url, SECRET)
        try:
            failed = await _all_assets(client, status="failed", limit=200)
            code = Counter(a.error_code for a in failed).most_common(1)[0][0]
            by_code = await _all_assets(client, status="failed", error_code=code, limit=200)
            newest = max(a.updated_at for a in failed)
            since = await _all_assets(client, status="failed", since=newest, limit=200)
            until = await _all_assets(client, status="failed", until=newest, limit=200)
            target = failed[len(failed) // 2]
            text = await _all_assets(client, text=target.post_id, limit=200)
            return failed, code, by_code, since, until, target, text
        finally:
            await client.aclose()

    failed, code, by_code, since, until, target, text = run(scenario())
    assert by_code and len(by_code) == sum(a.error_code == code for a in failed)
    assert len(since) + len(until) == len(failed)
    assert since and all(a.updated_at == max(x.updated_at for x in failed) for a in since)
    assert target.post_id in {a.post_id for a in text}


def test_asset_and_its_events_in_order(assets_api):
    async def scenario():
        client = AssetsClient(assets_api.url, SECRET)
        try:
            listed = (await client.list_assets(status="failed", limit=5)).items[2]
            asset = await client.get_asset(listed.post_id)
            return listed, asset, await client.events(listed.post_id)
        finally:
            await client.aclose()

    listed, asset, events = run(scenario())
    assert asset == listed
    assert len(events) >= 2
    assert [e.created_at for e in events] == sorted(e.created_at for e in events)
    assert all(e.asset_id == asset.id for e in events)
    transitions = [e for e in events if e.to_status]
    assert transitions[-1].to_status == "failed"
    assert transitions[-1].payload, "the failure event says why"
    for before, after in zip(transitions, transitions[1:], strict=False):
        assert after.from_status == before.to_status


def test_retry_one_then_lifecycle_events_appear(assets_api):
    async def scenario():
        client = AssetsClient(assets_api.url, SECRET)
        try:
            before = (await client.list_assets(status="failed", limit=1)).items[0]
            result = await client.retry(before.post_id)
            deadline = time.monotonic() + 8.0
            while True:
                events = await client.events(before.post_id)
                requested = _retry_requests(events)
                tail = events[events.index(requested[-1]) :] if requested else []
                if tail and tail[-1].to_status in ("completed", "failed"):
                    break
                assert time.monotonic() < deadline, [e.type for e in events]
                await asyncio.sleep(0.2)
            return before, result, events, await client.get_asset(before.post_id)
        finally:
            await client.aclose()

    before, result, events, after = run(scenario())
    assert result.ok and result.outcome == "retried"
    assert result.asset is not None and result.asset.status is AssetStatus.RETRYING
    assert result.asset.attempts == before.attempts + 1
    uuid.UUID(result.idempotency_key)  # a generated uuid4
    tail = events[events.index(_retry_requests(events)[-1]) :]
    assert [(e.from_status, e.to_status) for e in tail] == [
        ("failed", "retrying"),
        ("retrying", "processing"),
        ("processing", tail[-1].to_status),
    ]
    assert tail[0].payload["idempotency_key"] == result.idempotency_key
    assert after.status.value == tail[-1].to_status


def test_bulk_retry_50_with_5_changed_meanwhile(slow_assets_api):
    async def scenario():
        client = AssetsClient(slow_assets_api.url, SECRET)
        try:
            ids = await _failed_ids(client, 50)
            before = {p: len(_retry_requests(await client.events(p))) for p in ids}
            changed = ids[3::10]  # 5 of them, retried by someone else first
            earlier = [await client.retry(post_id) for post_id in changed]
            seen: list[RetryResult] = []
            results = await retry_many(client, ids + ids[:4], concurrency=6, on_result=seen.append)
            events = {p: await client.events(p) for p in ids}
            return ids, changed, before, earlier, seen, results, events
        finally:
            await client.aclose()

    ids, changed, before, earlier, seen, results, events = run(scenario())
    assert all(r.ok for r in earlier)
    assert [r.post_id for r in results] == ids  # input order, duplicates retried once
    assert sorted(r.post_id for r in seen) == sorted(ids)
    outcomes = Counter(r.outcome for r in results)
    assert outcomes == {"retried": 45, "conflict": 5}
    conflicts = [r for r in results if r.outcome == "conflict"]
    assert {r.post_id for r in conflicts} == set(changed)
    assert all(r.current_status == "retrying" for r in conflicts)
    assert all("status changed to retrying meanwhile" in r.message for r in conflicts)
    keys = {r.idempotency_key for r in results}
    assert len(keys) == 50  # one key per request
    # server side: exactly one retry_requested event per asset for this batch
    for post_id in ids:
        batch = _retry_requests(events[post_id], keys)
        assert len(batch) == (0 if post_id in changed else 1), post_id
        # and no other retry at all: one more than before (the earlier one, or this batch's)
        assert len(_retry_requests(events[post_id])) == before[post_id] + 1, post_id


def test_resend_with_the_same_key_retries_once(slow_assets_api):
    async def scenario():
        client = AssetsClient(slow_assets_api.url, SECRET)
        try:
            (post_id,) = await _failed_ids(client, 1)
            key = str(uuid.uuid4())
            before = len(_retry_requests(await client.events(post_id)))
            first = await client.retry(post_id, key)
            again = await client.retry(post_id, key)
            other_key = await client.retry(post_id)
            return before, first, again, other_key, await client.events(post_id)
        finally:
            await client.aclose()

    before, first, again, other_key, events = run(scenario())
    assert first.ok and again.ok and first.idempotency_key == again.idempotency_key
    assert again.asset == first.asset  # the server replayed its first answer
    assert other_key.outcome == "conflict" and other_key.current_status == "retrying"
    assert len(_retry_requests(events, {first.idempotency_key})) == 1
    assert len(_retry_requests(events)) == before + 1


def test_wrong_token_is_access_denied_and_readonly_cannot_retry(assets_api):
    async def scenario():
        wrong = AssetsClient(assets_api.url, "not-the-token")
        readonly = AssetsClient(assets_api.url, "demo-readonly")
        try:
            with pytest.raises(AccessDenied) as denied:
                await wrong.list_assets(status="failed")
            refused = await wrong.retry("anything")
            (post_id,) = [a.post_id for a in (await readonly.list_assets(limit=1)).items]
            forbidden = await readonly.retry(post_id)
            return denied.value, refused, forbidden
        finally:
            await wrong.aclose()
            await readonly.aclose()

    denied, refused, forbidden = run(scenario())
    assert "401" in str(denied) and "GET /api/video-assets" in str(denied)
    assert "not-the-token" not in str(denied) and "127.0.0.1" not in str(denied)
    assert refused.outcome == "forbidden" and "401" in refused.message
    assert forbidden.outcome == "forbidden" and "403" in forbidden.message


def test_unknown_post_is_not_found(assets_api):
    async def scenario():
        client = AssetsClient(assets_api.url, SECRET)
        try:
            with pytest.raises(NotFound) as asset:
                await client.get_asset("no-such-post")
            with pytest.raises(NotFound):
                await client.events("no-such-post")
            return asset.value, await client.retry("no-such-post")
        finally:
            await client.aclose()

    asset, retried = run(scenario())
    assert "GET /api/video-assets/no-such-post" in str(asset) and "404" in str(asset)
    assert retried.outcome == "not_found" and not retried.ok


def test_one_client_serves_successive_event_loops(assets_api):
    """The CLI runs one asyncio.run per command: a client outlives a loop."""
    client = AssetsClient(assets_api.url, SECRET)
    first = run(client.list_assets(limit=2))
    second = run(client.list_assets(limit=2))
    assert first == second
    client.close()
    assert client.closed


# -- a misbehaving server ----------------------------------------------------------------------


class FakeApi:
    """A tiny real HTTP server whose answers the test chooses; it records every request."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.dropped_posts = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self, code: int, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                fake.requests.append(("GET", self.path, dict(self.headers)))
                self._answer(*fake.answer("GET", self.path))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                fake.requests.append(("POST", self.path, dict(self.headers)))
                if fake.mode == "drop-first-post" and fake.dropped_posts == 0:
                    fake.dropped_posts += 1
                    self.close_connection = True
                    return  # no answer at all
                self._answer(*fake.answer("POST", self.path))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, method: str, path: str) -> tuple[int, bytes]:
        asset = {
            "id": "a1",
            "post_id": "p1",
            "status": "retrying",
            "attempts": 2,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:01Z",
        }
        if self.mode == "503":
            return 503, b'{"error": "maintenance"}'
        if self.mode == "malformed":
            return 200, b'{"items": [ {"id": "a1", '
        if self.mode == "bad-status":
            return 200, json.dumps({"items": [{**asset, "status": "exploded"}]}).encode()
        if self.mode == "repeat-cursor":
            return 200, json.dumps({"items": [asset], "next_cursor": "same"}).encode()
        if method == "POST":
            return 200, json.dumps(asset).encode()
        return 200, json.dumps({"items": [asset], "next_cursor": None}).encode()

    def count(self, method: str) -> int:
        return sum(1 for m, _, _ in self.requests if m == method)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_api():
    fake = FakeApi()
    yield fake
    fake.stop()


def test_5xx_is_retried_a_bounded_number_of_times_for_gets_only(fake_api):
    fake_api.mode = "503"

    async def scenario():
        client = AssetsClient(fake_api.url, SECRET, get_attempts=3)
        try:
            started = time.monotonic()
            with pytest.raises(UpstreamError) as failed:
                await client.list_assets(status="failed")
            elapsed = time.monotonic() - started
            gets = fake_api.count("GET")
            retried = await client.retry("p1")
            return failed.value, elapsed, gets, retried
        finally:
            await client.aclose()

    error, elapsed, gets, retried = run(scenario())
    assert gets == 3  # exactly get_attempts
    assert 0.7 <= elapsed < 5  # 0.2 s + 0.6 s of backoff
    assert "HTTP 503" in str(error) and "GET /api/video-assets" in str(error)
    assert "maintenance" in str(error) and "3 attempts" in str(error)
    assert SECRET not in str(error) and str(fake_api.server.server_port) not in str(error)
    assert fake_api.count("POST") == 1  # a POST answered 503 is not re-sent
    assert retried.outcome == "error" and "503" in retried.message


def test_malformed_json_and_bad_fields_are_bad_responses(fake_api):
    async def scenario():
        client = AssetsClient(fake_api.url, SECRET)
        try:
            fake_api.mode = "malformed"
            with pytest.raises(BadResponse) as malformed:
                await client.list_assets()
            gets = fake_api.count("GET")
            retried = await client.retry("p1")
            fake_api.mode = "bad-status"
            with pytest.raises(BadResponse) as bad_status:
                await client.list_assets()
            fake_api.mode = "repeat-cursor"
            with pytest.raises(BadResponse) as looping:
                async for _ in iter_pages(client):
                    pass
            return malformed.value, gets, retried, bad_status.value, looping.value
        finally:
            await client.aclose()

    malformed, gets, retried, bad_status, looping = run(scenario())
    assert gets == 1  # a malformed answer is not retried
    assert "invalid JSON" in str(malformed) and "GET /api/video-assets" in str(malformed)
    assert retried.outcome == "error" and "not an asset" in retried.message
    assert "exploded" in str(bad_status)
    assert "repeated a page cursor" in str(looping)


def test_query_parameters_and_headers(fake_api):
    async def scenario():
        client = AssetsClient(fake_api.url + "/", SECRET)
        try:
            await client.list_assets(
                status=AssetStatus.FAILED,
                error_code="provider_timeout",
                since=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                until=datetime(2026, 1, 3),  # naive: taken as UTC
                text="clip",
                limit=7,
                cursor="c1",
            )
            await client.retry("p1", "my-key")
        finally:
            await client.aclose()

    run(scenario())
    (_, path, headers), (_, post_path, post_headers) = fake_api.requests
    url = urlsplit(path)
    assert url.path == "/api/video-assets"
    assert parse_qs(url.query) == {
        "status": ["failed"],
        "error_code": ["provider_timeout"],
        "since": ["2026-01-02T03:04:05Z"],
        "until": ["2026-01-03T00:00:00Z"],
        "q": ["clip"],
        "limit": ["7"],
        "cursor": ["c1"],
    }
    assert headers["Authorization"] == f"Bearer {SECRET}"
    assert post_path == "/api/video-assets/retry"
    assert post_headers["Idempotency-Key"] == "my-key"


def test_a_post_without_answer_is_resent_once_with_the_same_key(fake_api):
    fake_api.mode = "drop-first-post"

    async def scenario():
        client = AssetsClient(fake_api.url, SECRET)
        try:
            return await client.retry("p1")
        finally:
            await client.aclose()

    result = run(scenario())
    posts = [h for m, _, h in fake_api.requests if m == "POST"]
    assert len(posts) == 2
    assert posts[0]["Idempotency-Key"] == posts[1]["Idempotency-Key"] == result.idempotency_key
    assert result.ok


def test_closed_port_is_unreachable():
    url = f"http://127.0.0.1:{closed_port()}"

    async def scenario():
        client = AssetsClient(url, SECRET, get_attempts=2)
        try:
            with pytest.raises(Unreachable) as unreachable:
                await client.get_asset("p1")
            return unreachable.value, await client.retry("p1")
        finally:
            await client.aclose()

    error, retried = run(scenario())
    assert "Cannot reach the assets API (GET /api/video-assets/p1)" in str(error)
    assert "2 attempts" in str(error) and SECRET not in str(error)
    assert retried.outcome == "error" and "Cannot reach" in retried.message


def test_no_answer_in_time_is_unreachable():
    """A server that accepts the connection but never answers."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"

    async def scenario():
        client = AssetsClient(url, SECRET, timeout_s=0.3, get_attempts=2)
        try:
            with pytest.raises(Unreachable) as unreachable:
                await client.list_assets()
            return unreachable.value
        finally:
            await client.aclose()

    try:
        error = run(scenario())
    finally:
        listener.close()
    assert "no answer within 0.3 s" in str(error)
