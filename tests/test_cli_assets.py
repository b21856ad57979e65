"""The `assets` CLI commands, in-process, on a profile pointing at the demo assets API over
real HTTP (token in the test keyring); checks outputs, exit codes and the server's state."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from console.cli import main
from console.context import ASSETS_API_TOKEN
from console.profiles import Profile, save_profile
from services.assets import AssetsClient
from services.credentials import CredentialStore
from tests.conftest import closed_port
from tests.gui_support import make_profile

pytestmark = pytest.mark.timeout(180)

TOKEN = "cli-assets-token-93d1"


@pytest.fixture
def assets_api(start_assets):
    """A fresh demo assets API whose retried assets stay ``retrying`` for 30 s."""
    return start_assets(TOKEN, processing_after_s=30.0)


def assets_profile(name: str, storage_config, assets_url: str, token: str | None) -> str:
    """Save profile ``name`` (S3 on moto, assets API at ``assets_url``), token in keyring."""
    make_profile(name, storage_config)
    save_profile(
        Profile(
            name=name,
            endpoint_url=storage_config.endpoint_url,
            bucket=storage_config.bucket,
            assets_api_url=assets_url,
        )
    )
    store = CredentialStore()
    if token is None:
        store.delete(name, ASSETS_API_TOKEN)
    else:
        store.set(name, ASSETS_API_TOKEN, token)
    return name


@pytest.fixture
def profile(assets_api, storage_config) -> str:
    return assets_profile("assets-cli", storage_config, assets_api.url, TOKEN)


def server_side(assets_api, post_id: str):
    """The asset and its events as the server has them (its own HTTP API)."""

    async def read():
        client = AssetsClient(assets_api.url, TOKEN)
        try:
            return await client.get_asset(post_id), await client.events(post_id)
        finally:
            await client.aclose()

    return asyncio.run(read())


def failed_ids(assets_api, count: int) -> list[str]:
    async def read():
        client = AssetsClient(assets_api.url, TOKEN)
        try:
            return [
                a.post_id for a in (await client.list_assets(status="failed", limit=count)).items
            ]
        finally:
            await client.aclose()

    return asyncio.run(read())


def test_list_failed_as_json_and_as_a_table(profile, assets_api, capsys):
    assert main(["--profile", profile, "assets", "list", "--status", "failed", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert 50 < len(rows) <= 200  # more than one API page, within the default --limit
    assert len({r["post_id"] for r in rows}) == len(rows)
    assert all(r["status"] == "failed" and r["error_code"] for r in rows)
    assert all(r["updated_at"].endswith("Z") for r in rows)
    assert set(rows[0]) >= {"post_id", "status", "error_code", "attempts", "error_message"}

    assert main(["--profile", profile, "assets", "list", "--status", "failed", "--limit", "5"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split()[:4] == ["POST_ID", "STATUS", "ERROR_CODE", "ATTEMPTS"]
    assert len(lines) == 6 and [line.split()[0] for line in lines[1:]] == [
        r["post_id"] for r in rows[:5]
    ]
    assert all(" failed " in line for line in lines[1:])
    assert "first 5 shown" in captured.err


def test_events_timeline(profile, assets_api, capsys):
    (post_id,) = failed_ids(assets_api, 1)
    assert main(["--profile", profile, "assets", "events", post_id, "--json"]) == 0
    events = json.loads(capsys.readouterr().out)
    assert events and events == sorted(events, key=lambda e: e["created_at"])
    assert events[-1]["to_status"] == "failed"

    assert main(["--profile", profile, "assets", "events", post_id]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"Asset {post_id}  status failed")
    assert lines[1].split()[:3] == ["TIME", "(UTC)", "AFTER"]
    assert len(lines) == 2 + len(events)
    assert "→ failed" in lines[-1] and "+" in lines[-1]  # transition and time since previous
    assert '"error_code":' in "\n".join(lines)  # compact JSON payloads

    assert main(["--profile", profile, "assets", "events", "no-such-post"]) == 1
    assert "No asset with post id 'no-such-post'" in capsys.readouterr().err


def test_retry_with_yes_then_conflict(profile, assets_api, capsys):
    first, second = failed_ids(assets_api, 2)

    def retry_count(post_id: str) -> int:
        return sum(e.type == "retry_requested" for e in server_side(assets_api, post_id)[1])

    before = {first: retry_count(first), second: retry_count(second)}
    assert main(["--profile", profile, "assets", "retry", first, "--yes"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:2] == ["retried", first]
    assert "1 retried." in out
    assert server_side(assets_api, first)[0].status.value == "retrying"

    # the first one again (now retrying: 409) with a fresh one: exit 1, one result each
    assert main(["--profile", profile, "assets", "retry", first, second, first, "--yes"]) == 1
    lines = capsys.readouterr().out.splitlines()
    results = {line.split()[1]: line for line in lines[:-1]}
    assert len(lines) == 3 and set(results) == {first, second}
    assert results[first].startswith("conflict")
    assert "status changed to retrying meanwhile" in results[first]
    assert results[second].startswith("retried")
    assert lines[-1] == "1 retried, 1 not retried."
    assert retry_count(first) == before[first] + 1
    assert retry_count(second) == before[second] + 1


def test_retry_without_yes_and_no_terminal_is_refused(profile, assets_api, capsys, monkeypatch):
    (post_id,) = failed_ids(assets_api, 1)
    before = server_side(assets_api, post_id)
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # not a TTY, even if it says yes
    assert main(["--profile", profile, "assets", "retry", post_id]) == 2
    captured = capsys.readouterr()
    assert "--yes" in captured.err and "Traceback" not in captured.err
    assert server_side(assets_api, post_id) == before  # nothing retried


def test_missing_token_and_wrong_token(assets_api, storage_config, capsys):
    name = assets_profile("assets-no-token", storage_config, assets_api.url, None)
    assert main(["--profile", name, "assets", "list"]) == 2
    err = capsys.readouterr().err
    assert f"main.py profile set-token {name} assets" in err

    name = assets_profile("assets-bad-token", storage_config, assets_api.url, "wrong")
    assert main(["--profile", name, "assets", "list", "--status", "failed"]) == 1
    err = capsys.readouterr().err
    assert "HTTP 401" in err and f"set-token {name} assets" in err
    assert "Traceback" not in err and "wrong" not in err


def test_unreachable_assets_api(storage_config, capsys):
    url = f"http://127.0.0.1:{closed_port()}"
    name = assets_profile("assets-dead", storage_config, url, TOKEN)
    assert main(["--profile", name, "assets", "events", "p1"]) == 1
    err = capsys.readouterr().err
    assert "Cannot reach the assets API" in err and "Traceback" not in err


def test_profile_set_token(storage_config, capsys, monkeypatch):
    make_profile("assets-set-token", storage_config)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "  fresh-token  ")
    assert main(["profile", "set-token", "assets-set-token", "assets"]) == 0
    assert "stored" in capsys.readouterr().out
    assert CredentialStore().get("assets-set-token", ASSETS_API_TOKEN) == "fresh-token"

    assert main(["profile", "set-token", "nobody", "assets"]) == 2
    assert "No profile named 'nobody'" in capsys.readouterr().err
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "")
    assert main(["profile", "set-token", "assets-set-token", "assets"]) == 2
    assert CredentialStore().get("assets-set-token", ASSETS_API_TOKEN) == "fresh-token"


def test_context_wiring_and_sync_close(profile, assets_api, storage_config):
    from console.context import assets_client_for, build_context

    context = build_context(profile)
    try:
        assert context.assets is not None and context.assets_problem == ""
        assert TOKEN not in repr(context.assets)
        page = asyncio.run(context.assets.list_assets(status="failed", limit=3))
        assert len(page.items) == 3
    finally:
        context.close()  # from sync code, after its loop ended: must not raise
    assert context.assets.closed

    store = CredentialStore()
    demo = Profile("demo", storage_config.endpoint_url, assets_api_url=assets_api.url, is_demo=True)
    client, problem = assets_client_for(demo, store, "demo-ops-token")
    assert client is not None and problem == ""
    client, problem = assets_client_for(demo, store, None)
    assert client is None and "publishes no assets API token" in problem
    bare = Profile("bare", storage_config.endpoint_url)
    client, problem = assets_client_for(bare, store)
    assert client is None and "no assets API URL" in problem
    bad_url = Profile("bad", storage_config.endpoint_url, assets_api_url="ftp://x")
    store.set("bad", ASSETS_API_TOKEN, "t")
    client, problem = assets_client_for(bad_url, store)
    assert client is None and "not an http(s) URL" in problem


def test_on_the_demo_stack_with_confirmation_on_a_terminal(tmp_path: Path):
    """As an operator runs it: the embedded demo stack (its published token), `assets list`,
    then `assets retry` answered on a real pseudo-terminal: "n" retries nothing, "y" does."""
    import os
    import pty
    import subprocess
    import sys

    from tests.conftest import PROJECT

    env = {
        **os.environ,
        "VIDEO_OPS_DATA_DIR": str(tmp_path / "data"),
        "VIDEO_OPS_CONFIG_DIR": str(tmp_path / "config"),
        "VIDEO_OPS_DEMO_IDLE_SECONDS": "1",
    }

    def run(*args: str, answer: str | None = None) -> subprocess.CompletedProcess:
        if answer is None:
            return subprocess.run(
                [sys.executable, "main.py", *args],
                cwd=PROJECT,
                env=env,
                capture_output=True,
                text=True,
                timeout=180,
            )
        master, slave = pty.openpty()
        try:
            os.write(master, answer.encode() + b"\n")
            return subprocess.run(
                [sys.executable, "main.py", *args],
                cwd=PROJECT,
                env=env,
                stdin=slave,
                capture_output=True,
                text=True,
                timeout=180,
            )
        finally:
            os.close(slave)
            os.close(master)

    try:
        listed = run("assets", "list", "--status", "failed", "--json")
        assert listed.returncode == 0, listed.stderr
        failed = json.loads(listed.stdout)
        assert len(failed) >= 20 and all(a["status"] == "failed" for a in failed)
        post_id = failed[0]["post_id"]

        def retry_requests() -> list[dict]:
            events = run("assets", "events", post_id, "--json")
            assert events.returncode == 0, events.stderr
            return [e for e in json.loads(events.stdout) if e["type"] == "retry_requested"]

        before = len(retry_requests())
        declined = run("assets", "retry", post_id, answer="n")
        assert declined.returncode == 1, declined.stderr
        assert "Will retry:" in declined.stdout and f"{post_id}  failed" in declined.stdout
        assert "Retry 1 asset? [y/N]" in declined.stdout
        assert "Nothing retried." in declined.stdout
        assert len(retry_requests()) == before

        accepted = run("assets", "retry", post_id, answer="y")
        assert accepted.returncode == 0, accepted.stderr
        assert f"retried    {post_id}" in accepted.stdout

        requested = retry_requests()
        assert len(requested) == before + 1 and requested[-1]["to_status"] == "retrying"
    finally:
        run("demo", "stop")
