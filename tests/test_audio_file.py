"""FileSource / decode_audio: every common WAV layout and raw PCM arrives as 16 kHz mono s16le."""

from __future__ import annotations

import logging
import shutil
import struct
import subprocess
import tracemalloc
import wave
from pathlib import Path

import numpy as np
import pytest

from kiosk.audio.source import AudioError, AudioSource
from kiosk.audio.wavfile import FileSource, StreamingResampler, decode_audio


def write_wav(path: Path, samples: np.ndarray, rate: int, *, width: int, channels: int = 1,
              is_float: bool = False, extensible: bool = False) -> Path:
    """Write float samples in [-1, 1) (shape (n,) or (n, channels)) with a hand-made header."""
    frames = samples.reshape(len(samples), -1) if samples.ndim > 1 else samples[:, None]
    if frames.shape[1] != channels:
        frames = np.repeat(frames, channels, axis=1)
    if is_float:
        data = frames.astype("<f4").tobytes()
    elif width == 1:
        data = np.clip(np.round(frames * 128 + 128), 0, 255).astype(np.uint8).tobytes()
    elif width == 3:
        ints = np.clip(np.round(frames * 2**23), -2**23, 2**23 - 1).astype("<i4")
        data = ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    else:
        scale = 2 ** (8 * width - 1)
        data = np.clip(np.round(frames * scale), -scale, scale - 1).astype(f"<i{width}").tobytes()
    tag = 3 if is_float else 1
    bits = 8 * width
    fmt = struct.pack("<HHIIHH", 0xFFFE if extensible else tag, channels, rate, rate * channels * width,
                      channels * width, bits)
    if extensible:
        guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", tag) + guid_tail
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def tone(rate: int, seconds: float, freq: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * freq * np.arange(int(rate * seconds)) / rate)


def peak_hz(pcm: bytes) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / 16000)[np.argmax(spectrum)])


FORMATS = [
    # rate, width (bytes), channels, float, extensible
    (44100, 1, 2, False, False),
    (8000, 2, 1, False, False),
    (11025, 2, 1, False, False),
    (16000, 2, 1, False, False),
    (16000, 2, 2, False, False),
    (22050, 3, 1, False, False),
    (32000, 4, 1, False, False),
    (44100, 2, 2, False, False),
    (48000, 2, 6, False, True),
    (48000, 4, 2, True, False),
    (22050, 4, 1, True, True),
]


@pytest.mark.parametrize("rate,width,channels,is_float,extensible", FORMATS)
def test_every_format_becomes_a_16k_tone_of_the_right_length(tmp_path, rate, width, channels, is_float,
                                                            extensible):
    path = write_wav(tmp_path / "tone.wav", tone(rate, 1.5), rate, width=width, channels=channels,
                     is_float=is_float, extensible=extensible)
    pcm = decode_audio(path)
    assert abs(len(pcm) // 2 - 24000) <= 1
    assert abs(peak_hz(pcm) - 440) < 2
    level = np.abs(np.frombuffer(pcm, "<i2")[2000:-2000]).max()
    assert 0.45 * 32768 < level < 0.55 * 32768  # the tone's level survives conversion and downmix


def test_raw_pcm_uses_the_given_rate(tmp_path):
    samples = np.round(tone(8000, 1.0) * 32767).astype("<i2")
    for suffix in (".raw", ".pcm"):
        path = tmp_path / f"mic{suffix}"
        path.write_bytes(samples.tobytes())
        pcm = decode_audio(path, raw_rate=8000)
        assert len(pcm) // 2 == 16000 and abs(peak_hz(pcm) - 440) < 2
    assert decode_audio(tmp_path / "mic.raw") == samples.tobytes()  # 16 kHz raw passes through as is


def test_stereo_is_averaged_not_one_channel_taken(tmp_path):
    left, right = tone(16000, 1.0, 440, 0.4), tone(16000, 1.0, 1000, 0.4)
    path = write_wav(tmp_path / "lr.wav", np.stack([left, right], axis=1), 16000, width=2, channels=2)
    spectrum = np.abs(np.fft.rfft(np.frombuffer(decode_audio(path), "<i2").astype(float)))
    freqs = np.fft.rfftfreq(16000, 1 / 16000)
    assert spectrum[freqs == 440][0] == pytest.approx(spectrum[freqs == 1000][0], rel=0.05)


def test_streaming_in_any_read_size_equals_whole_file_decoding(tmp_path):
    rng = np.random.default_rng(4)
    noise = rng.uniform(-0.5, 0.5, (44100 * 3, 2))
    path = write_wav(tmp_path / "noise.wav", noise, 44100, width=2, channels=2)
    whole = decode_audio(path)
    for sizes in ([1, 7, 480, 3], [480], [100_000]):
        source = FileSource(path)
        assert isinstance(source, AudioSource)
        parts, i = [], 0
        while chunk := source.read(sizes[i % len(sizes)]):
            parts.append(chunk)
            i += 1
        assert b"".join(parts) == whole
        assert source.status().state == "ended" and source.read(480) == b""


def test_no_clicks_where_resampler_chunks_join():
    # A sine cut into awkward pieces must come out as the same smooth sine at 16 kHz.
    rate = 44100
    x = tone(rate, 2.0, 997.0, 0.6) * 32768
    resampler = StreamingResampler(rate)
    cuts = np.cumsum(np.random.default_rng(1).integers(1, 5000, 200))
    pieces = [resampler.process(piece) for piece in np.split(x, cuts[cuts < len(x)])]
    y = np.concatenate(pieces + [resampler.flush()])
    expected = 0.6 * 32768 * np.sin(2 * np.pi * 997.0 * np.arange(len(y)) / 16000)
    error = np.abs(y - expected)[100:-100]  # the filter's own start and end transients excluded
    assert error.max() < 5  # out of 19660: -72 dB, nowhere near an audible click


def test_anti_aliasing_removes_what_16k_cannot_hold():
    for freq in (9000, 12000, 20000):
        x = tone(44100, 1.0, freq, 0.9) * 32768
        resampler = StreamingResampler(44100)
        y = np.concatenate([resampler.process(x), resampler.flush()])[500:-500]
        assert np.sqrt(np.mean(y**2)) < 5  # a 9-20 kHz tone would otherwise fold back as a loud alias


def test_ten_minutes_stream_with_bounded_memory(tmp_path):
    seconds, rate = 600, 16000
    path = tmp_path / "long.wav"
    with wave.open(str(path), "wb") as w:  # 10 minutes of stereo noise, written in pieces
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        rng = np.random.default_rng(0)
        for _ in range(seconds // 10):
            w.writeframes(rng.integers(-8000, 8000, (rate * 10, 2), dtype=np.int16).astype("<i2").tobytes())
    file_size = path.stat().st_size
    tracemalloc.start()
    total = 0
    with FileSource(path) as source:
        while chunk := source.read(480):
            total += len(chunk)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert total == seconds * rate * 2
    assert peak < file_size / 50  # ~77 MB file; a few hundred kB in flight


def test_espeak_speech_becomes_16k(tmp_path):
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.skip("espeak-ng is not installed (apt install espeak-ng)")
    path = tmp_path / "speech.wav"
    subprocess.run([espeak, "-w", str(path), "Two bags of flour, please"], check=True, timeout=30)
    with wave.open(str(path)) as w:
        original_rate, original_frames = w.getframerate(), w.getnframes()
        original = np.frombuffer(w.readframes(original_frames), "<i2").astype(float)
    assert original_rate == 22050
    pcm = np.frombuffer(decode_audio(path), "<i2").astype(float)
    assert abs(len(pcm) - original_frames * 16000 / 22050) <= 1
    # Same loudness envelope: speech energy in the same 50 ms windows before and after conversion.
    def envelope(x: np.ndarray, rate: int) -> np.ndarray:
        hop = rate // 20
        return np.sqrt(np.mean(x[: len(x) // hop * hop].reshape(-1, hop) ** 2, axis=1))
    a, b = envelope(original, 22050), envelope(pcm, 16000)
    n = min(len(a), len(b))
    assert np.corrcoef(a[:n], b[:n])[0, 1] > 0.99


def test_zero_length_audio_is_empty_not_an_error(tmp_path):
    assert decode_audio(write_wav(tmp_path / "empty.wav", np.zeros(0), 44100, width=2)) == b""
    (tmp_path / "empty.raw").write_bytes(b"")
    assert decode_audio(tmp_path / "empty.raw") == b""


def test_data_chunk_longer_than_the_file_decodes_what_is_there_with_a_warning(tmp_path, caplog):
    path = write_wav(tmp_path / "cut.wav", tone(16000, 1.0), 16000, width=2)
    path.write_bytes(path.read_bytes()[: 44 + 16000])  # recording cut off after 0.5 s
    with caplog.at_level(logging.WARNING, logger="kiosk.audio.wavfile"):
        pcm = decode_audio(path)
    assert len(pcm) == 16000
    assert "cut off" in caplog.text and "cut.wav" in caplog.text


@pytest.mark.parametrize("case,expected", [
    ("missing", "no such audio file"),
    ("random", "not a WAV file"),
    ("header", "truncated WAV header"),
    ("no_data", "truncated WAV header"),
    ("mulaw", "mu-law"),
    ("adpcm", "ADPCM"),
])
def test_unusable_files_give_a_clear_error_naming_the_file(tmp_path, case, expected):
    path = tmp_path / f"{case}.wav"
    good = write_wav(tmp_path / "good.wav", tone(16000, 0.1), 16000, width=2).read_bytes()
    if case == "random":
        path.write_bytes(np.random.default_rng(2).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    elif case == "header":
        path.write_bytes(good[:30])
    elif case == "no_data":
        path.write_bytes(good[:36])
    elif case in ("mulaw", "adpcm"):
        tag = 7 if case == "mulaw" else 2
        path.write_bytes(good[:20] + struct.pack("<H", tag) + good[22:])
    with pytest.raises(AudioError) as error:
        decode_audio(path)
    message = str(error.value)
    assert expected in message and path.name in message
    if case in ("mulaw", "adpcm"):
        assert "sox in.wav -r 16000 -c 1 -b 16 out.wav" in message
