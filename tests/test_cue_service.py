"""The demo cue service over real HTTP on loopback, driven by the real client and verifier:
a break shows on every variant within the deadline with the right SCTE-35, ends (also
early) with a CUE-IN, the stream keeps advancing; idempotent re-sends; typed errors;
depletion is detected."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from console.demo.cues.constants import VARIANTS
from services.cue_reports import Phase, VerifyOptions
from services.cue_verify import verify_break
from services.cues import CueClient, new_idempotency_key
from services.errors import AccessDenied, Conflict, NotFound, Rejected, Unreachable, UpstreamError
from tests.conftest import closed_port

pytestmark = pytest.mark.timeout(120)
TOKEN = "cue-test-token"


@pytest.fixture
def cues(start_cues):
    return start_cues(TOKEN)


def run(coro):
    return asyncio.run(coro)


async def _start_and_verify(server, channel, duration, **kwargs):
    client = CueClient(server.url, TOKEN)
    try:
        result = await client.start(channel, duration)
        verification = await verify_break(
            client.master_url(channel),
            result.ad_break,
            answered_at=result.answered_at,
            **kwargs,
        )
        return result, verification
    finally:
        await client.aclose()


def test_break_is_verified_on_every_variant_and_the_stream_advances(cues):
    result, verification = run(_start_and_verify(cues, "demo/sports1", 4))
    ad_break = result.ad_break
    assert result.status == 201 and not result.replayed
    assert ad_break.source == "manual" and ad_break.duration == 4.0
    assert (ad_break.end_time - ad_break.start_time).total_seconds() == 4.0
    assert ad_break.items and ad_break.items[0].variants
    assert verification.ok, verification.summary()
    names = sorted(v.name for v in verification.variants)
    assert names == sorted(f"{v.name}.m3u8" for v in VARIANTS)
    for report in verification.variants:
        assert report.phase is Phase.VERIFIED
        assert report.marker_after_s <= 3 * 2  # within 3 × target duration
        assert set(report.marker_styles) == {"daterange", "cue-out"}
        insert = report.splice.splice_insert
        assert insert.event_id == ad_break.event_id and insert.out_of_network
        assert insert.duration.seconds == pytest.approx(4.0)
        assert report.splice.crc_ok
        assert report.cue_in_drift_s == pytest.approx(0.0, abs=0.01)
        assert report.segments_after_return >= 2


def test_stop_ends_the_break_early_with_a_cue_in(cues):
    async def scenario():
        client = CueClient(cues.url, TOKEN)
        try:
            started = await client.start("sports2", 60)
            current = {"end": started.ad_break.end_time}

            async def stop_after_marker():
                await asyncio.sleep(4.5)
                stopped = await client.stop("demo/sports2")
                current["end"] = stopped.ad_break.end_time
                return stopped

            stopper = asyncio.ensure_future(stop_after_marker())
            verification = await verify_break(
                client.master_url("demo/sports2"),
                started.ad_break,
                answered_at=started.answered_at,
                planned_end=lambda: current["end"],
            )
            return started, await stopper, verification
        finally:
            await client.aclose()

    started, stopped, verification = run(scenario())
    assert stopped.ad_break.event_id == started.ad_break.event_id
    assert stopped.ad_break.duration < 60 and stopped.ad_break.stopped_at is not None
    assert verification.ok, verification.summary()
    for report in verification.variants:
        assert report.returned_at == stopped.ad_break.end_time
        assert report.cue_in_drift_s == pytest.approx(0.0, abs=0.01)


def test_an_idempotent_resend_does_not_start_a_second_break(cues):
    async def scenario():
        client = CueClient(cues.url, TOKEN)
        try:
            key = new_idempotency_key()
            first = await client.start("demo/sports1", 30, idempotency_key=key)
            again = await client.start("demo/sports1", 30, idempotency_key=key)
            with pytest.raises(Conflict, match="already"):
                await client.start("demo/sports1", 30)  # a new intent: refused, not doubled
            with pytest.raises(Rejected, match="another request"):
                await client.start("demo/sports2", 30, idempotency_key=key)
            await client.stop("demo/sports1")
            return first, again
        finally:
            await client.aclose()

    first, again = run(scenario())
    assert again.replayed and again.ad_break == first.ad_break
    assert len(cues.desk.timelines["demo/sports1"].breaks) == 1
    assert cues.desk.timelines["demo/sports2"].breaks == []


def test_errors_are_typed_and_change_nothing(cues):
    async def scenario():
        bad = CueClient(cues.url, "wrong-token")
        client = CueClient(cues.url, TOKEN)
        try:
            with pytest.raises(AccessDenied, match="401"):
                await bad.start("demo/sports1", 30)
            with pytest.raises(NotFound, match="unknown channel"):
                await client.start("demo/nope", 30)
            with pytest.raises(Conflict, match="no ad break"):
                await client.stop("demo/sports1")
            with pytest.raises(ValueError):
                await client.start("demo/sports1", 601)
            cues.desk.set_faults(fail_cues=1)
            with pytest.raises(UpstreamError, match="503"):
                await client.start("demo/sports1", 30)
            assert (await client.channels()) == ("demo/sports1", "demo/sports2")
        finally:
            await bad.aclose()
            await client.aclose()

    run(scenario())
    assert all(not t.breaks for t in cues.desk.timelines.values())
    with httpx.Client(base_url=cues.url) as http:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert http.post("/cue", json={"channel": "sports1", "duration": 30}).status_code == 401
        malformed = http.post("/cue", content=b"{not json", headers=auth)
        assert malformed.status_code == 400 and "malformed JSON" in malformed.json()["error"]
        for duration in (0, -5, 601):
            answer = http.post(
                "/cue", json={"channel": "sports1", "duration": duration}, headers=auth
            )
            assert answer.status_code == 422 and "duration" in answer.json()["error"]
    assert all(not t.breaks for t in cues.desk.timelines.values())


def test_an_unreachable_service_is_one_clear_error():
    async def scenario():
        client = CueClient(f"http://127.0.0.1:{closed_port()}", TOKEN, timeout_s=2)
        try:
            with pytest.raises(Unreachable, match="same idempotency key"):
                await client.start("demo/sports1", 30)
        finally:
            await client.aclose()

    run(scenario())


def test_a_playlist_that_stops_advancing_after_the_break_is_stale(start_cues):
    server = start_cues(TOKEN, deplete_after_break=True)
    options = VerifyOptions(stale_after_s=3.0)
    _, verification = run(_start_and_verify(server, "demo/sports1", 2, options=options))
    assert not verification.ok
    for report in verification.variants:
        assert report.phase is Phase.STALE and "stale" in report.detail
        assert report.marker_after_s is not None  # the marker itself was there


def test_a_missing_marker_misses_the_deadline(cues):
    async def scenario():
        client = CueClient(cues.url, TOKEN)
        try:
            result = await client.start("demo/sports1", 4)
            # verify the other channel, which never shows this break
            return await verify_break(
                client.master_url("demo/sports2"),
                result.ad_break,
                answered_at=result.answered_at,
                options=VerifyOptions(marker_deadline_s=2.5),
            )
        finally:
            await client.aclose()

    verification = run(scenario())
    assert not verification.ok
    assert {v.phase for v in verification.variants} == {Phase.MISSED}
