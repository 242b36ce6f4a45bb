"""`kiosk-till` as a POS runs it: the scanner's lines through a pipe into `scan` (a real child
process), the exit codes of `consume`, `status` and an unusable till.yaml, and the local HTTP API
of `serve` with its guards against other callers than the POS."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.tillagent.world import Hq, dead_url
from tillagent.cli import main
from tillagent.config import TOKEN_ENV
from tillagent.server import TillServer

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def till_yaml(hq: Hq, *, url: str | None = None, **extra: object) -> Path:
    data = {
        "hq_url": url or hq.url, "till_id": "T1", "store_id": "S1", "hq_public_key": str(hq.public_pem),
        "journal": str(hq.folder / "T1.sqlite"), "timeout_s": 2, **extra,
    }  # fmt: skip
    path = hq.folder / "till.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def config(hq: Hq, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(TOKEN_ENV, hq.till_token("T1"))
    return till_yaml(hq)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def test_scan_reads_one_code_per_line_from_a_pipe_and_prints_a_verdict_for_each(hq: Hq, config: Path):
    # A USB scanner is a keyboard: each scan is a line; blank lines are skipped; EOF ends the session.
    first, second = hq.voucher(1), hq.voucher(2, 2_000)
    scans = f"{first}\n\n{first}\nNOT-A-VOUCHER-CODE-AT-ALL\n{second}\n"
    done = subprocess.run(
        [sys.executable, "-m", "tillagent", "--config", str(config), "scan", "--order", "A-1"],
        input=scans, capture_output=True, text=True, cwd=ROOT, timeout=60,
        env={**os.environ, TOKEN_ENV: hq.till_token("T1")},
    )  # fmt: skip
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["OK", "REPEAT", "REFUSED", "OK"], done.stdout + done.stderr
    assert "¥20.00" in lines[3] and "not a voucher code" in lines[2]
    assert done.returncode == 1  # one scan was refused


def test_consume_exits_0_when_written_off_and_1_when_refused(hq: Hq, config: Path, capsys):
    code = hq.voucher(3)
    status, answer = run_json(capsys, "--config", str(config), "consume", code, "--order", "A-1", "--json")
    assert (status, answer["verdict"]) == (0, "written_off")
    status, answer = run_json(capsys, "--config", str(config), "consume", code, "--order", "A-2", "--json")
    assert (status, answer["error"]) == (1, "already_used")


def test_status_reports_pending_write_offs_and_todays_offline_total_against_the_cap(hq: Hq, config: Path, capsys):
    assert main(["--config", str(config), "fetch-keys"]) == 0
    offline = till_yaml(hq, url=dead_url(), offline_daily_cap_fen=3_000)
    assert main(["--config", str(offline), "consume", hq.voucher(4, 1_200), "--order", "A-1"]) == 0
    capsys.readouterr()
    status, answer = run_json(capsys, "--config", str(offline), "status", "--json")
    assert (answer["offline_today_fen"], answer["offline_daily_cap_fen"]) == (1_200, 3_000)
    assert [entry["order_no"] for entry in answer["pending"]] == ["A-1"] and answer["directory"]["usable"]


def test_replay_reports_counts_and_exits_1_while_hq_is_unreachable(hq: Hq, config: Path, capsys):
    main(["--config", str(config), "fetch-keys"])
    offline = till_yaml(hq, url=dead_url())
    main(["--config", str(offline), "consume", hq.voucher(5), "--order", "A-1"])
    capsys.readouterr()
    status, report = run_json(capsys, "--config", str(offline), "replay", "--json")
    assert (status, report["still_pending"]) == (1, 1) and "cannot connect" in report["stopped"]
    status, report = run_json(capsys, "--config", str(till_yaml(hq)), "replay", "--json")
    assert (status, report["confirmed"], report["still_pending"]) == (0, 1, 0)


def test_an_unusable_config_exits_2_naming_the_file_and_the_key(hq: Hq, config: Path, capsys):
    bad = till_yaml(hq, offline_daily_cap_fen=-1)
    assert main(["--config", str(bad), "status"]) == 2
    assert f"{bad}: offline_daily_cap_fen:" in capsys.readouterr().err


# --- serve -----------------------------------------------------------------------------------------


@pytest.fixture
def local_api(hq: Hq) -> Iterator[str]:
    agent = hq.till()
    server = TillServer(agent, 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    server.server_close()
    agent.close()


def test_the_local_http_api_writes_off_once_and_answers_409_to_a_second_order(hq: Hq, local_api: str):
    code = hq.voucher(6)
    first = httpx.post(f"{local_api}/consume", json={"code": code, "order_no": "A-1"})
    assert (first.status_code, first.json()["verdict"]) == (200, "written_off")
    second = httpx.post(f"{local_api}/consume", json={"code": code, "order_no": "A-2"})
    assert (second.status_code, second.json()["error"]) == (409, "already_used")
    found = httpx.post(f"{local_api}/lookup", json={"code": code}).json()
    assert found["verdict"] == "used" and httpx.get(f"{local_api}/status").json()["states"] == {
        "confirmed": 1, "refused": 1,
    }  # fmt: skip


def test_the_local_http_api_refuses_what_a_web_page_could_send(hq: Hq, local_api: str):
    # A browser on the till may send text/plain cross-origin without asking; JSON needs a preflight.
    code = hq.voucher(7)
    simple = httpx.post(f"{local_api}/consume", content=json.dumps({"code": code, "order_no": "A-1"}),
                        headers={"Content-Type": "text/plain"})  # fmt: skip
    assert simple.status_code == 415
    rebound = httpx.post(f"{local_api}/consume", json={"code": code, "order_no": "A-1"},
                         headers={"Host": "evil.example:80"})  # fmt: skip
    assert rebound.status_code == 403
    assert httpx.get(f"{local_api}/status").json()["states"] == {}


def test_serve_answers_on_loopback_and_stops_cleanly_on_sigterm(hq: Hq, config: Path):
    child = subprocess.Popen(
        [sys.executable, "-m", "tillagent", "--config", str(config), "serve", "--port", "0"],
        stderr=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, TOKEN_ENV: hq.till_token("T1")},
    )  # fmt: skip
    try:
        banner = child.stderr.readline()  # "kiosk-till: serving on http://127.0.0.1:PORT"
        base = banner.split("serving on ")[1].strip()
        assert base.startswith("http://127.0.0.1:")
        assert httpx.get(f"{base}/status").json()["till_id"] == "T1"
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=10) == 0
    finally:
        child.kill()
        child.wait()
