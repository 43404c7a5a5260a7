"""Spoken replies and test-speech synthesis with the real espeak-ng.

There is no sound card in CI, so the test replaces only the hardware edge: HOME points at an
.asoundrc whose default ALSA device is the `file` plugin piping everything played into a small
"loudspeaker" process. That process records the audio with a timestamp per chunk and consumes
it at a fixed pace (like a real device draining its buffer), so the test can see what was
played and when, relative to the mute callback. PULSE_SERVER points nowhere so that espeak-ng
(libpcaudio tries PulseAudio first) uses ALSA even on a developer's desktop.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from kiosk.audio.speaker import Speaker
from kiosk.speech import synth
from kiosk.speech.synth import SynthError, synthesize, write_wav

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")

PHRASE = "where can I find light bulbs"
LONG = ("Light bulbs are in aisle seven, next to the batteries and extension cords. " * 6).strip()
ESPEAK_RATE = 22_050  # what espeak-ng plays at
PACE = 4 * ESPEAK_RATE * 2  # bytes per second the "loudspeaker" drains: four times real time

LOUDSPEAKER = """
import os, sys, time
audio, log, pace = sys.argv[1], sys.argv[2], float(sys.argv[3])
start, total = time.monotonic(), 0
with open(audio, "ab") as out, open(log, "a") as timeline:
    while chunk := os.read(0, 4096):
        out.write(chunk); out.flush()
        total += len(chunk)
        timeline.write(f"{time.monotonic()} {len(chunk)}\\n"); timeline.flush()
        time.sleep(max(0.0, total / pace - (time.monotonic() - start)))
"""


class Loudspeaker:
    def __init__(self, root: Path):
        self.audio_path, self.log_path = root / "played.raw", root / "played.log"

    def samples(self) -> np.ndarray:
        if not self.audio_path.exists():
            return np.zeros(0, dtype="<i2")
        data = self.audio_path.read_bytes()
        return np.frombuffer(data[: len(data) - len(data) % 2], dtype="<i2")

    def seconds(self) -> float:
        return self.samples().size / ESPEAK_RATE

    def chunk_times(self) -> list[float]:
        if not self.log_path.exists():
            return []
        return [float(line.split()[0]) for line in self.log_path.read_text().splitlines() if line.strip()]


@pytest.fixture
def loudspeaker(tmp_path, monkeypatch) -> Loudspeaker:
    speaker = Loudspeaker(tmp_path)
    script = tmp_path / "loudspeaker.py"
    script.write_text(LOUDSPEAKER)
    home = tmp_path / "home"
    home.mkdir()
    (home / ".asoundrc").write_text(
        "pcm.!default {\n  type file\n  slave.pcm \"null\"\n  format \"raw\"\n"
        f"  file \"|{sys.executable} {script} {speaker.audio_path} {speaker.log_path} {PACE}\"\n}}\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path}/no-pulseaudio-here")
    return speaker


class MuteLog:
    def __init__(self):
        self.calls: list[tuple[float, bool]] = []

    def __call__(self, muted: bool) -> None:
        self.calls.append((time.monotonic(), muted))

    @property
    def states(self) -> list[bool]:
        return [m for _, m in self.calls]


def espeak_rendering(text: str) -> np.ndarray:
    """espeak-ng's own WAV rendering of `text` (22050 Hz), trimmed of leading/trailing zeros."""
    command = ["espeak-ng", "-v", "en-us", "-s", "165", "-p", "50", "-a", "100", "--stdin", "--stdout"]
    wav = subprocess.run(command, input=text.encode(), capture_output=True, check=True).stdout
    return np.trim_zeros(np.frombuffer(wav[44:], dtype="<i2"))


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


# --- Speaker ----------------------------------------------------------------------------------

def test_reply_is_played_with_the_microphone_muted_throughout(loudspeaker):
    mute = MuteLog()
    speaker = Speaker("en-us", 165, 100, mute=mute)
    assert speaker.available and speaker.status().state == "ready"

    speaker.say(PHRASE)

    played = loudspeaker.samples()
    # What reached the sound device is exactly espeak-ng's speech for the phrase, all of it.
    assert np.array_equal(np.trim_zeros(played), espeak_rendering(PHRASE))
    assert 1.2 < loudspeaker.seconds() < 4.0
    assert np.sqrt(np.mean(played.astype(float) ** 2)) > 300
    # Muted before the first sample was played; unmuted only after the last one plus the tail.
    assert mute.states == [True, False]
    chunks = loudspeaker.chunk_times()
    (muted_at, _), (unmuted_at, _) = mute.calls
    assert muted_at < chunks[0] and chunks[-1] + 0.15 <= unmuted_at
    assert speaker.status().state == "ready" and speaker.status().detail == ""


def test_stop_cuts_the_reply_short_and_unmutes(loudspeaker):
    mute = MuteLog()
    speaker = Speaker("en-us", 165, 100, mute=mute)
    full_s = espeak_rendering(LONG).size / ESPEAK_RATE

    speaker.say(LONG, wait=False)
    wait_until(lambda: loudspeaker.seconds() > 1.0)
    assert speaker.status().state == "speaking"
    speaker.stop()
    assert speaker.wait(5.0)

    assert full_s > 20
    assert loudspeaker.seconds() < full_s / 3
    assert mute.states == [True, False]
    assert mute.calls[1][0] >= loudspeaker.chunk_times()[-1] + 0.15
    assert speaker.status().state == "ready"


def test_a_new_reply_interrupts_the_previous_one_without_unmuting(loudspeaker):
    mute = MuteLog()
    speaker = Speaker("en-us", 165, 100, mute=mute)

    speaker.say(LONG, wait=False)
    wait_until(lambda: loudspeaker.seconds() > 1.0)
    speaker.say(PHRASE)

    # The microphone never opened between the two replies, and opened once both were over.
    assert mute.states == [True, True, False]
    played = np.trim_zeros(loudspeaker.samples())
    phrase = espeak_rendering(PHRASE)
    assert np.array_equal(played[-phrase.size:], phrase)  # the new reply was played whole, last
    assert played.size < espeak_rendering(LONG).size / 3  # the old one was cut


def test_missing_sound_device_is_reported_and_the_microphone_reopens(tmp_path, monkeypatch, caplog):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".asoundrc").write_text("pcm.!default {\n  type hw\n  card 97\n}\n")  # no such card
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path}/no-pulseaudio-here")
    mute = MuteLog()
    speaker = Speaker("en-us", 165, 100, mute=mute)

    with caplog.at_level(logging.WARNING, logger="kiosk.audio.speaker"):
        speaker.say(PHRASE)
        speaker.say(PHRASE)

    assert mute.states == [True, False, True, False]
    status = speaker.status()
    assert status.state == "ready" and "could not open the audio device" in status.detail
    assert len([r for r in caplog.records if "could not be played" in r.message]) == 1  # logged once


def test_missing_espeak_keeps_the_kiosk_working_silently(monkeypatch, caplog):
    monkeypatch.setenv("PATH", "")
    mute = MuteLog()
    with caplog.at_level(logging.WARNING, logger="kiosk.audio.speaker"):
        speaker = Speaker("en-us", 165, 100, mute=mute)
        speaker.say(PHRASE)
        speaker.say(PHRASE, wait=False)
        speaker.stop()

    assert not speaker.available
    assert speaker.status().state == "unavailable"
    assert "apt install espeak-ng" in speaker.status().detail
    assert mute.states == []  # nothing is played, so the microphone is never closed
    assert len(caplog.records) == 1


def test_unknown_voice_is_reported(loudspeaker):
    speaker = Speaker("xx-no-such-voice", 165, 100)
    assert speaker.status().state == "unavailable"
    assert "espeak-ng --voices" in speaker.status().detail


def test_disabled_speaker_is_silent(loudspeaker):
    mute = MuteLog()
    speaker = Speaker("en-us", 165, 100, enabled=False, mute=mute)
    speaker.say(PHRASE)
    assert speaker.status().state == "disabled"
    assert mute.states == [] and loudspeaker.seconds() == 0


def test_custom_player_gets_the_rendered_reply(tmp_path):
    """`player`: the reply is rendered to WAV and piped to a command (here one that keeps it)."""
    out = tmp_path / "reply.wav"
    copy = f"import shutil, sys; shutil.copyfileobj(sys.stdin.buffer, open({str(out)!r}, 'wb'))"
    mute = MuteLog()
    Speaker("en-us", 165, 100, mute=mute, player=[sys.executable, "-c", copy]).say(PHRASE)

    received = np.trim_zeros(np.frombuffer(out.read_bytes()[44:], dtype="<i2"))
    assert np.array_equal(received, espeak_rendering(PHRASE))
    assert mute.states == [True, False]


def test_text_starting_with_a_dash_is_spoken_not_parsed(loudspeaker):
    Speaker("en-us", 165, 100).say("--help -v xx")
    assert loudspeaker.seconds() > 0.5  # espeak-ng spoke it (as an option it would print help)


# --- synthesize -------------------------------------------------------------------------------

def test_synthesize_gives_16khz_speech_of_plausible_length():
    pcm = synthesize(PHRASE)
    samples = np.frombuffer(pcm, dtype="<i2")
    rendered = espeak_rendering(PHRASE)
    # espeak-ng's 22050 Hz speech, resampled: 320 output samples for every 441 input samples.
    assert 1.2 < samples.size / 16_000 < 4.0
    assert np.trim_zeros(samples).size == pytest.approx(rendered.size * 16_000 / 22_050, abs=40)
    assert np.sqrt(np.mean(samples.astype(float) ** 2)) > 300


def test_write_wav_round_trips(tmp_path):
    pcm = synthesize("aisle seven")
    write_wav(tmp_path / "reply.wav", pcm)
    with wave.open(str(tmp_path / "reply.wav")) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16_000, 1, 2)
        assert wav.readframes(wav.getnframes()) == pcm


def test_synthesize_errors_are_actionable(monkeypatch):
    with pytest.raises(SynthError, match="espeak-ng --voices"):
        synthesize(PHRASE, voice="xx-no-such-voice")
    with pytest.raises(SynthError, match="rate_wpm"):
        synthesize(PHRASE, rate_wpm=5)
    with pytest.raises(SynthError, match="empty"):
        synthesize("   ")
    with pytest.raises(SynthError, match="split it"):
        synthesize("a" * (synth.MAX_TEXT_CHARS + 1))
    monkeypatch.setenv("PATH", "")
    with pytest.raises(SynthError, match="apt install espeak-ng"):
        synthesize(PHRASE)


def test_synthesize_speaks_option_like_text():
    assert len(synthesize("-h --version")) / 32_000 > 0.5
