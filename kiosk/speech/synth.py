"""Text to 16 kHz speech with espeak-ng: test audio, benchmarks and `kiosk say --out`.

espeak-ng renders 22050 Hz mono WAV to stdout; we resample it to the kiosk's one format
(16 kHz mono s16le, kiosk.audio.source) so synthetic speech goes through exactly the path a
microphone's audio does. The text goes in on stdin, never through a shell or argv: a text
starting with '-' cannot be taken for an option, and no argv length limit (128 KiB per
argument on Linux) applies.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import wave
from pathlib import Path

import numpy as np

from kiosk.audio.source import SAMPLE_RATE
from kiosk.audio.wavfile import StreamingResampler, to_int16_bytes
from kiosk.errors import KioskError

ESPEAK = "espeak-ng"
# About 20 minutes of speech; keeps one call's memory bounded (a few tens of MB) and catches
# a caller that passes a whole document by mistake.
MAX_TEXT_CHARS = 20_000
_TIMEOUT_S = 300.0


class SynthError(KioskError):
    """Speech that cannot be synthesised: espeak-ng missing, unknown voice, bad parameters."""


def espeak_binary() -> str:
    """The espeak-ng executable on PATH, or a SynthError saying how to install it."""
    path = shutil.which(ESPEAK)
    if path is None:
        raise SynthError("espeak-ng is not installed (or not on PATH); install it with "
                         "`sudo apt install espeak-ng`")
    return path


def espeak_options(*, voice: str, rate_wpm: int, pitch: int = 50, amplitude: int = 100,
                   gap_ms: int | None = None) -> list[str]:
    """espeak-ng arguments for these settings, validated (shared with kiosk.audio.speaker)."""
    if not voice or not all(c.isalnum() or c in "-_+/" for c in voice):
        raise SynthError(f"voice {voice!r} is not a valid espeak-ng voice name; "
                         "run `espeak-ng --voices` to list them")
    _check_range("rate_wpm", rate_wpm, 80, 450)
    _check_range("pitch", pitch, 0, 99)
    _check_range("amplitude", amplitude, 0, 200)
    args = ["-v", voice, "-s", str(rate_wpm), "-p", str(pitch), "-a", str(amplitude)]
    if gap_ms is not None:
        _check_range("gap_ms", gap_ms, 0, 5000)
        args += ["-g", str(round(gap_ms / 10))]  # espeak-ng counts the word gap in 10 ms units
    return args


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SynthError(f"{name} must be a whole number from {low} to {high}, got {value!r}")


def explain_espeak_failure(stderr: str, voice: str) -> str:
    """One actionable line for an espeak-ng error message."""
    text = " ".join(stderr.split())
    if "voice does not exist" in text:
        return f"espeak-ng has no voice {voice!r}; run `espeak-ng --voices` to list the installed voices"
    return f"espeak-ng failed: {text or 'no error message'}"


def synthesize(text: str, *, voice: str = "en-us", rate_wpm: int = 165, pitch: int = 50,
               amplitude: int = 100, gap_ms: int | None = None) -> bytes:
    """`text` spoken by espeak-ng as 16 kHz mono s16le PCM."""
    if not isinstance(text, str) or not text.strip():
        raise SynthError("nothing to say: the text is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise SynthError(f"text is too long to synthesise at once ({len(text)} characters, "
                         f"at most {MAX_TEXT_CHARS}); split it into parts")
    options = espeak_options(voice=voice, rate_wpm=rate_wpm, pitch=pitch, amplitude=amplitude,
                             gap_ms=gap_ms)
    # --stdin reads the whole text at once (without it espeak-ng speaks stdin line by line,
    # pausing at every newline).
    command = [espeak_binary(), *options, "--stdout", "--stdin"]
    try:
        done = subprocess.run(command, input=text.encode("utf-8"), capture_output=True,
                              timeout=_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise SynthError("espeak-ng disappeared while starting; reinstall it with "
                         "`sudo apt install --reinstall espeak-ng`") from None
    except subprocess.TimeoutExpired:
        raise SynthError(f"espeak-ng did not finish within {_TIMEOUT_S:.0f} s; "
                         "check that it runs: `espeak-ng hello`") from None
    stderr = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0 or not done.stdout:
        raise SynthError(explain_espeak_failure(stderr, voice))
    rate, samples = _parse_wav_stream(done.stdout)
    resampler = StreamingResampler(rate, SAMPLE_RATE)
    return to_int16_bytes(np.concatenate([resampler.process(samples), resampler.flush()]))


def write_wav(path: str | Path, pcm: bytes, rate: int = SAMPLE_RATE) -> None:
    """Save mono s16le PCM as a WAV file (what `kiosk say --out` writes)."""
    if len(pcm) % 2:
        raise SynthError("PCM has an odd number of bytes, so it is not 16-bit audio")
    try:
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(pcm)
    except OSError as exc:
        raise SynthError(f"cannot write {path}: {exc.strerror or exc}") from None


def _parse_wav_stream(data: bytes) -> tuple[int, np.ndarray]:
    """(sample rate, float samples) of the WAV espeak-ng writes to stdout.

    With --stdout espeak-ng cannot seek back, so the RIFF and data sizes are placeholders
    (0x7ffff0xx); the data is simply everything after the "data" header.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise SynthError("espeak-ng did not produce WAV audio; check `espeak-ng --stdout hello | file -`")
    pos, rate, channels, bits = 12, 0, 0, 0
    while pos + 8 <= len(data):
        chunk_id, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = pos + 8
        if chunk_id == b"fmt ":
            _fmt, channels, rate, _rate_bytes, _align, bits = struct.unpack("<HHIIHH", data[body:body + 16])
        elif chunk_id == b"data":
            if rate <= 0 or channels != 1 or bits != 16:
                raise SynthError(f"espeak-ng wrote unexpected audio ({rate} Hz, {channels} channels, "
                                 f"{bits} bit)")
            pcm = data[body:]
            pcm = pcm[:len(pcm) - len(pcm) % 2]
            return rate, np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        pos = body + size + (size & 1)
    raise SynthError("espeak-ng's WAV output has no audio data")


def in_room(pcm: bytes, *, before_s: float = 0.3, after_s: float = 0.3, noise_dbfs: float = -60.0,
            seed: int = 0) -> bytes:
    """Speech as a microphone gives it: padded with room tone, and a faint noise floor throughout.

    Synthesized silence is digital zero, which no microphone produces (and which derails
    cepstral normalisation); tests and benchmarks use this to keep synthesized audio honest.
    """
    speech = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    pad_before, pad_after = np.zeros(int(before_s * SAMPLE_RATE)), np.zeros(int(after_s * SAMPLE_RATE))
    signal = np.concatenate([pad_before, speech, pad_after])
    sigma = 32768.0 * 10 ** (noise_dbfs / 20)
    signal += np.random.default_rng(seed).normal(0.0, sigma, len(signal))
    return to_int16_bytes(signal)
