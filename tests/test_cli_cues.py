"""The `cue` CLI commands, in-process, on a profile pointing at a real demo cue service over
HTTP (token in the test keyring): outputs per variant, exit codes, the audit log."""

from __future__ import annotations

import io

import pytest

from console.cli import main
from console.context import SSAI_TOKEN
from console.profiles import Profile, save_profile
from services.credentials import CredentialStore
from tests.gui_support import make_profile

pytestmark = pytest.mark.timeout(120)
TOKEN = "cli-cue-token"


@pytest.fixture
def cue_profile(storage_config, start_cues, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDEO_OPS_DATA_DIR", str(tmp_path / "data"))

    def make(name: str, **options) -> tuple[str, object]:
        server = start_cues(TOKEN, **options)
        make_profile(name, storage_config)
        save_profile(
            Profile(
                name=name,
                endpoint_url=storage_config.endpoint_url,
                bucket=storage_config.bucket,
                ssai_url=server.url,
                channels=("demo/sports1", "demo/sports2"),
            )
        )
        CredentialStore().set(name, SSAI_TOKEN, TOKEN)
        return name, server

    return make


def test_start_prints_the_verification_per_variant_and_stop_ends_it(cue_profile, capsys):
    name, server = cue_profile("cli-cues")
    code = main(
        [
            "--profile",
            name,
            "cue",
            "start",
            "--channel",
            "demo/sports1",
            "--duration",
            "60",
            "--yes",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Verifying every variant" in out and "verified on 4/4 variants" in out
    for variant in ("v_400k.m3u8", "v_800k.m3u8", "v_1600k.m3u8", "v_3000k.m3u8"):
        line = next(x for x in out.splitlines() if x.strip().startswith(f"{variant}: marker"))
        assert "marker after" in line and "SCTE-35 splice_insert" in line and "60.000 s" in line
    code = main(["--profile", name, "cue", "stop", "--channel", "demo/sports1"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "CUE-IN drift +0.0 s" in out and "verified on 4/4 variants" in out
    (ad_break,) = server.desk.timelines["demo/sports1"].breaks
    assert ad_break.stopped_at is not None
    assert main(["cue", "log", "--limit", "5"]) == 0
    log = capsys.readouterr().out.splitlines()
    assert [line.split()[4] for line in log] == ["stop", "start"]
    assert all(line.rstrip().endswith("verified") for line in log)


def test_refusals_exit_non_zero_with_a_clear_message(cue_profile, capsys, monkeypatch):
    name, _server = cue_profile("cli-cues-refused")
    assert main(["--profile", name, "cue", "stop", "--channel", "demo/sports2"]) == 1
    assert "no ad break is active" in capsys.readouterr().err
    assert (
        main(
            [
                "--profile",
                name,
                "cue",
                "start",
                "--channel",
                "demo/nope",
                "--duration",
                "30",
                "--yes",
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    # refused before anything is sent, naming the channels it may cue
    assert "Unknown channel 'demo/nope'" in err and "demo/sports1, demo/sports2" in err
    assert "demo/nope" not in _server.desk.timelines
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal to confirm on
    assert (
        main(["--profile", name, "cue", "start", "--channel", "demo/sports1", "--duration", "30"])
        == 2
    )
    assert "--yes" in capsys.readouterr().err
    assert main(["--profile", name, "cue", "channels"]) == 0
    assert "demo/sports2" in capsys.readouterr().out


def test_wait_reports_a_depleted_stream_and_fails(cue_profile, capsys, tmp_path):
    name, _server = cue_profile("cli-cues-depleted", deplete_after_break=True)
    code = main(
        [
            "--profile",
            name,
            "cue",
            "start",
            "--channel",
            "demo/sports2",
            "--duration",
            "2",
            "--yes",
            "--wait",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "stale" in out and "NOT verified" in out
    csv_path = tmp_path / "log.csv"
    assert main(["cue", "log", "--csv", str(csv_path)]) == 0
    text = csv_path.read_text(encoding="utf-8")
    assert "demo/sports2" in text and "NOT verified" in text


def test_a_bare_channel_name_is_resolved_before_the_break_is_sent(cue_profile, capsys):
    name, server = cue_profile("cli-cues-bare")
    code = main(["--profile", name, "cue", "start", "--channel", "sports2", "--duration", "8",
                 "--yes"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "on demo/sports2" in out and "verified on 4/4 variants" in out
    assert len(server.desk.timelines["demo/sports2"].breaks) == 1
    assert main(["cue", "log", "--limit", "1"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert "demo/sports2" in line and line.rstrip().endswith("verified")
