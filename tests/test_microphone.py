"""MicrophoneSource through real PyAudio, PortAudio and ALSA, with the ALSA `file` plugin as the mic.

ALSA reads $HOME/.asoundrc when PortAudio first initialises it, so every scenario runs in a fresh
Python process whose HOME holds the file microphone written by kiosk.audio.alsa. The infile is a FIFO
that the scenario feeds: ALSA's null PCM has no clock, and a FIFO makes the "microphone" deliver
exactly what was written and then wait, like a mic in a silent room (a plain file would be followed by
an endless stream of stale buffer frames). The only thing simulated is the hardware: "unplugging" is
the device stalling and vanishing from the ALSA configuration; PortAudio, ALSA and PyAudio are real.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("pyaudio")

ROOT = Path(__file__).resolve().parents[1]

PRELUDE = """
import fcntl, json, os, sys, time
import numpy as np
from kiosk.audio.alsa import write_file_microphone, remove_file_microphone
from kiosk.audio.microphone import MicrophoneSource
from kiosk.audio.source import AudioError

HOME = os.environ["HOME"]
FIFO = os.path.join(HOME, "mic.fifo")
os.mkfifo(FIFO)

def open_writer():
    # O_RDWR never blocks, and keeps ALSA's reads waiting (not at EOF) while we write nothing.
    fd = os.open(FIFO, os.O_RDWR)
    fcntl.fcntl(fd, 1031, 1 << 20)  # F_SETPIPE_SZ: 1 MiB, so whole test signals fit before reading
    return fd

def signal(seconds, seed):
    # A chirp plus a counter: every sample differs from its neighbours, so any loss, duplication
    # or shift shows up in a bit-exact comparison.
    n = int(16000 * seconds)
    t = np.arange(n) / 16000
    chirp = 12000 * np.sin(2 * np.pi * (100 + 3000 * t / seconds) * t)
    return (np.round(chirp) + (np.arange(n) * 7 + seed) % 997).astype("<i2")

def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False

def report(**values):
    print("RESULT " + json.dumps(values))

writer = open_writer()
write_file_microphone(HOME, FIFO)
"""


def run_scenario(tmp_path: Path, body: str, timeout: float = 60.0) -> dict:
    script = tmp_path / "scenario.py"
    script.write_text(PRELUDE + textwrap.dedent(body), encoding="utf-8")
    env = dict(os.environ, HOME=str(tmp_path), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, str(script)], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=timeout)
    results = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and results, f"scenario failed:\n{done.stdout}\n{done.stderr[-3000:]}"
    return json.loads(results[-1][len("RESULT "):])


def test_pyaudio_through_alsa_file_pcm_returns_exactly_the_file(tmp_path):
    # No padding is added in front: the first sample read is the file's first sample. After the
    # file, ALSA would deliver stale buffer frames (plain file) or wait (FIFO, as here).
    result = run_scenario(tmp_path, """
        sent = signal(3.0, seed=1)
        os.write(writer, sent.tobytes())
        mic = MicrophoneSource("kioskmic", buffer_s=30, stall_s=30)
        got = b"".join(mic.read(n) for n in [1, 479, 4800, 7, 48000 - 5287])
        got = np.frombuffer(got, dtype="<i2")
        mic_status = mic.status()
        os.close(writer)  # EOF lets ALSA's blocked read return, so the stream closes at once
        mic.close()
        report(equal=bool(np.array_equal(got, sent)), n=len(got), first=int(got[0]), sent_first=int(sent[0]),
               state=mic_status.state, rate=mic.device_rate, after_close=mic.read(10).hex())
    """)
    assert result["n"] == 48000
    assert result["first"] == result["sent_first"]
    assert result["equal"]
    assert result["state"] == "open" and result["rate"] == 16000
    assert result["after_close"] == ""


def test_device_chosen_by_name_part_or_index(tmp_path):
    result = run_scenario(tmp_path, """
        import pyaudio
        pa = pyaudio.PyAudio()
        names = [pa.get_device_info_by_index(i)["name"] for i in range(pa.get_device_count())]
        pa.terminate()
        opened = {}
        for wanted in ["KIOSK", str(names.index("kioskmic")), "", "default"]:
            os.write(writer, signal(0.1, seed=3).tobytes())
            mic = MicrophoneSource(wanted, stall_s=30)
            opened[wanted] = [mic.device_name, bool(np.array_equal(np.frombuffer(mic.read(1600), "<i2"),
                                                                signal(0.1, seed=3)))]
            os.close(writer)
            mic.close()
            writer = open_writer()
        report(opened=opened, names=names)
    """)
    opened = result["opened"]
    assert opened["KIOSK"] == ["kioskmic", True]
    assert opened[str(result["names"].index("kioskmic"))] == ["kioskmic", True]
    assert opened[""] == ["default", True]  # the .asoundrc makes the file mic the system default
    assert opened["default"] == ["default", True]


def test_unknown_device_error_lists_the_available_inputs(tmp_path):
    result = run_scenario(tmp_path, """
        messages = []
        for wanted in ["ReSpeaker", "17"]:
            try:
                MicrophoneSource(wanted)
                messages.append("no error")
            except AudioError as exc:
                messages.append(str(exc))
        report(messages=messages)
    """)
    for wanted, message in zip(["ReSpeaker", "17"], result["messages"]):
        assert wanted in message
        assert "'kioskmic'" in message and "'default'" in message


def test_overflow_is_counted_and_recent_audio_kept_when_the_consumer_does_not_read(tmp_path):
    result = run_scenario(tmp_path, """
        sent = signal(3.0, seed=5)
        os.write(writer, sent.tobytes())
        mic = MicrophoneSource("kioskmic", buffer_s=0.3, stall_s=30)  # room for 10 chunks of 30 ms
        wait_for(lambda: mic.status().overflows > 0)
        wait_for(lambda: False, timeout=0.3)  # let the whole file arrive
        status = mic.status()
        got = np.frombuffer(mic.read(10 * 480), "<i2")
        os.close(writer)
        mic.close()
        report(overflows=status.overflows, state=status.state,
               tail_equal=bool(np.array_equal(got, sent[-4800:])))
    """)
    assert result["overflows"] >= 90  # 100 chunks captured, at most 10 kept
    assert result["state"] == "open"
    assert result["tail_equal"]  # the newest 0.3 s survive, the oldest were dropped


def test_audio_captured_while_muted_never_reaches_the_reader(tmp_path):
    result = run_scenario(tmp_path, """
        import threading
        customer, kiosk_voice, customer_again = signal(0.48, 11), signal(0.48, 12), signal(0.48, 13)
        os.write(writer, customer.tobytes())
        mic = MicrophoneSource("kioskmic", stall_s=30)
        first = np.frombuffer(mic.read(len(customer)), "<i2")
        mic.set_muted(True)
        os.write(writer, kiosk_voice.tobytes())
        got = []
        reader = threading.Thread(target=lambda: got.append(mic.read(len(customer_again))), daemon=True)
        reader.start()
        reader.join(1.0)
        returned_while_muted = not reader.is_alive()
        overflows_while_muted = mic.status().overflows
        mic.set_muted(False)
        os.write(writer, customer_again.tobytes())
        reader.join(10)
        second = np.frombuffer(got[0], "<i2") if got else np.zeros(0, "<i2")
        os.close(writer)
        mic.close()
        report(first=bool(np.array_equal(first, customer)), returned_while_muted=returned_while_muted,
               second=bool(np.array_equal(second, customer_again)),
               heard_kiosk=bool(np.isin(second, kiosk_voice).mean() > 0.5) if len(second) else None,
               overflows=overflows_while_muted)
    """)
    assert result["first"]
    assert not result["returned_while_muted"]
    assert result["second"] and not result["heard_kiosk"]
    assert result["overflows"] == 0


def test_reconnects_after_the_microphone_disappears_and_comes_back(tmp_path):
    result = run_scenario(tmp_path, """
        before, after = signal(0.5, 21), signal(0.5, 22)
        os.write(writer, before.tobytes())
        mic = MicrophoneSource("kioskmic", stall_s=0.3, reconnect_max_s=0.5)
        got_before = np.frombuffer(mic.read(len(before)), "<i2")
        # Unplug: the device stops delivering and is gone from the ALSA configuration.
        remove_file_microphone(HOME)
        went = wait_for(lambda: mic.status().state == "reconnecting")
        os.close(writer)  # the dying stream's blocked read returns (EOF), so PortAudio can close it
        missing = wait_for(lambda: "no microphone matches" in mic.status().detail)
        detail = mic.status().detail
        # Plug it back in: the device reappears for the next PyAudio() the source creates.
        writer = open_writer()
        os.write(writer, after.tobytes())
        write_file_microphone(HOME, FIFO)
        back = wait_for(lambda: mic.status().state == "open")
        got_after = np.frombuffer(mic.read(len(after)), "<i2")
        os.close(writer)
        mic.close()
        report(before=bool(np.array_equal(got_before, before)), went=went, missing=missing, detail=detail,
               back=back, after=bool(np.array_equal(got_after, after)), state=mic.status().state)
    """)
    assert result["before"]
    assert result["went"] and result["missing"]
    assert "kioskmic" in result["detail"] and "retrying in" in result["detail"]
    assert result["back"]
    assert result["after"]  # reading resumed with the re-plugged device's audio, bit for bit
    assert result["state"] == "closed"


def test_close_wakes_a_blocked_reader_and_stops_the_threads(tmp_path):
    result = run_scenario(tmp_path, """
        import threading
        mic = MicrophoneSource("kioskmic", stall_s=30)
        got = []
        reader = threading.Thread(target=lambda: got.append(mic.read(16000)), daemon=True)
        reader.start()
        reader.join(0.3)
        waiting = reader.is_alive()  # nothing was written: the read waits for audio
        closer = threading.Thread(target=mic.close)
        closer.start()
        reader.join(5)  # close() wakes the reader before it tears the stream down
        os.close(writer)  # EOF: ALSA's blocked read returns, so PortAudio can finish closing
        closer.join(10)
        others = [t.name for t in threading.enumerate() if t.name.startswith("microphone")]
        report(waiting=waiting, reader_done=not reader.is_alive(), got=[g.hex() for g in got],
               state=mic.status().state, threads=others)
    """)
    assert result["waiting"]
    assert result["reader_done"] and result["got"] == [""]
    assert result["state"] == "closed" and result["threads"] == []
