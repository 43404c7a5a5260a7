"""`kiosk listen --mic` end to end: real PyAudio/ALSA microphone (file-backed), partials, answer."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT

pytest.importorskip("pyaudio")

F_SETPIPE_SZ = 1031
CHUNK = 960  # 30 ms of 16 kHz s16le


def _read_until(proc: subprocess.Popen, marker: str, timeout: float) -> str:
    out, deadline = "", time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while time.monotonic() < deadline and marker not in out:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            data = os.read(fd, 4096)
            if not data:
                break
            out += data.decode("utf-8", "replace")
    return out


def test_live_microphone_shows_partials_and_answers(tmp_path):
    from kiosk.audio.alsa import write_file_microphone
    from kiosk.speech.synth import synthesize

    fifo = tmp_path / "mic.fifo"
    os.mkfifo(fifo)
    # The writer end must exist before PyAudio enumerates devices, or opening the FIFO blocks it.
    writer = os.open(fifo, os.O_RDWR)
    fcntl.fcntl(writer, F_SETPIPE_SZ, 1 << 16)
    write_file_microphone(tmp_path, fifo)
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[storage]\ndatabase = "{tmp_path / "k.db"}"\n[speech]\nmodels_dir = "{tmp_path}"\n'
                      '[tts]\nenabled = false\n')
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONPATH": str(ROOT), "PULSE_SERVER": "unix:/nonexistent"}
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "listen", "--mic", "--config", str(config),
                             "--date", "2026-11-23"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        assert "listening with" in _read_stderr_line(proc, timeout=120), "the kiosk did not start listening"
        audio = b"\0\0" * 16000 + synthesize("where are the toilets please") + b"\0\0" * 48000
        for i in range(0, len(audio), CHUNK):  # about real time: a microphone delivers no faster
            os.write(writer, audio[i:i + CHUNK])
            time.sleep(0.03)
        out = _read_until(proc, "kiosk>", timeout=60)
        out += _read_until(proc, "\n", timeout=5)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        finally:
            proc.kill()
            os.close(writer)
    assert "…" in out, f"no partial transcript was shown: {out!r}"
    answer = out.split("kiosk>", 1)[-1].lower()
    assert "restroom" in answer or "toilet" in answer, out


def _read_stderr_line(proc: subprocess.Popen, timeout: float) -> str:
    deadline, text = time.monotonic() + timeout, ""
    fd = proc.stderr.fileno()
    while time.monotonic() < deadline and "listening with" not in text:
        if proc.poll() is not None:
            return text + proc.stderr.read().decode("utf-8", "replace")
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            text += os.read(fd, 4096).decode("utf-8", "replace")
    return text
