"""The technician's command line: `kiosk ask`, `kiosk chat`, errors as clear messages."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from conftest import ROOT


def run(*args, input=None, env=None, timeout=120):
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.run([sys.executable, "-m", "kiosk", *args], input=input, capture_output=True,
                          text=True, cwd=ROOT, env=full_env, timeout=timeout)


def config_file(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[storage]\ndatabase = "{tmp_path / "kiosk.db"}"\n')
    return str(path)


def test_ask_json_has_the_turn(tmp_path):
    out = run("ask", "how much is the claw hammer", "--json", "--config", config_file(tmp_path))
    assert out.returncode == 0, out.stderr
    turn = json.loads(out.stdout)
    assert turn["intent"] == "price_check" and 0 < turn["confidence"] <= 1
    assert turn["slots"]["product"]["name"] and "$" in turn["answer"]
    assert turn["escalation"] is None


def test_ask_for_a_person_prints_the_ticket(tmp_path):
    out = run("ask", "I want to talk to a real person", "--json", "--config", config_file(tmp_path))
    turn = json.loads(out.stdout)
    assert turn["escalation"]["status"] == "open" and turn["escalation"]["number"] in turn["answer"]


def test_ask_with_date_answers_relative_dates(tmp_path):
    out = run("ask", "I bought a hammer last tuesday, can I return it?", "--date", "2026-11-23",
              "--json", "--config", config_file(tmp_path))
    assert json.loads(out.stdout)["card"]["purchase_date"] == "2026-11-17"


def test_chat_holds_a_conversation(tmp_path):
    script = "hello\nwhere's my order\n2934\n/rate 5 quick\nbye\n"
    out = run("chat", "--config", config_file(tmp_path), input=script)
    assert out.returncode == 0, out.stderr
    assert "order number" in out.stdout and "ready to collect" in out.stdout
    assert "Thank you for your feedback" in out.stdout and "Goodbye" in out.stdout


def test_missing_model_is_a_clear_error(tmp_path):
    cfg = tmp_path / "k.toml"
    cfg.write_text(f'[intents]\nmodel_dir = "{tmp_path}/gone"\n')
    out = run("ask", "hello", "--config", str(cfg))
    assert out.returncode == 1 and "intents.model_dir" in out.stderr and "Traceback" not in out.stderr


def test_escalation_survives_sigkill_right_after_acknowledgement(tmp_path):
    """The customer is shown a ticket number; the process dies at once; the ticket is on disk."""
    db = tmp_path / "kiosk.db"
    child = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys, time, datetime as dt\n"
            "from kiosk.config import load_config\n"
            "from kiosk.app import build_assistant\n"
            f"a = build_assistant(load_config(None), database={str(db)!r})\n"
            "r = a.turn('please get me a member of staff')\n"
            "print('ACK', r.escalation['number'], flush=True)\n"
            "time.sleep(60)\n")],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    try:
        line = child.stdout.readline().split()
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert line[0] == "ACK"
    from kiosk.storage.db import open_database
    from kiosk.storage.journal import Journal

    tickets = Journal(open_database(db)).list_escalations(status="open")
    assert [t.number for t in tickets] == [line[1]]
    assert tickets[0].context["recent_turns"] == [] or tickets[0].reason == "customer_request"


def test_eval_on_the_labelled_request_set():
    out = run("intents", "eval", "--model", "models/intent-en", "--data", "tests/data/requests_en.yaml", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["examples"] >= 200 and report["accuracy"] >= 0.9 and report["oos_recall"] >= 0.8
