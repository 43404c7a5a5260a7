"""Audio files as a source: WAV (PCM int 8/16/24/32, float 32/64) or raw s16le, any rate, any channels.

Everything is converted on the fly to the kiosk's one format (16 kHz mono s16le, see source.py) while
the file is streamed block by block, so a ten-minute replay never sits in memory. Resampling is a
windowed-sinc polyphase filter in numpy (scipy is not a dependency); it keeps its own history, so the
output does not depend on how the file was cut into blocks (no clicks at block joins).
"""

from __future__ import annotations

import logging
import struct
from math import gcd
from pathlib import Path
from typing import BinaryIO

import numpy as np

from kiosk.audio.source import SAMPLE_RATE, AudioError, SourceStatus

log = logging.getLogger(__name__)

RAW_SUFFIXES = (".raw", ".pcm")
CONVERT_HINT = "convert it with: sox in.wav -r 16000 -c 1 -b 16 out.wav"
_BLOCK_FRAMES = 8192  # input frames converted at a time: small enough to keep memory flat
_OUT_BLOCK = 4096  # output samples computed per numpy step (bounds the (n, taps) temporary)

_WAVE_FORMAT_PCM = 0x0001
_WAVE_FORMAT_IEEE_FLOAT = 0x0003
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE
_CODEC_NAMES = {
    0x0002: "Microsoft ADPCM",
    0x0006: "A-law",
    0x0007: "mu-law",
    0x0011: "IMA ADPCM",
    0x0031: "GSM 6.10",
    0x0055: "MP3",
    0x0161: "WMA",
}


class StreamingResampler:
    """Rational-ratio resampler (polyphase windowed sinc, Kaiser window) that works chunk by chunk.

    Output sample n sits at input position n * in_rate / out_rate; it is computed from the input
    samples around that position, which are kept across calls. The result is therefore the same
    whatever the chunking. Input and output are float arrays in int16 scale.
    """

    def __init__(self, in_rate: int, out_rate: int = SAMPLE_RATE, *, zero_crossings: int = 16):
        if in_rate <= 0 or out_rate <= 0:
            raise AudioError(f"cannot resample from {in_rate} Hz to {out_rate} Hz: rates must be positive")
        g = gcd(in_rate, out_rate)
        self.up, self.down = out_rate // g, in_rate // g  # output n <-> input n * down / up
        # Downsampling lowers the cut-off below the output Nyquist, so the kernel is stretched.
        scale = min(1.0, out_rate / in_rate)
        cutoff = 0.94 * scale  # a little under Nyquist so the transition band stays out of the alias zone
        half_width = zero_crossings / scale  # kernel half-length in input samples
        self.half = int(np.ceil(half_width))
        self.taps = 2 * self.half
        phases = np.arange(self.up)[:, None] / self.up
        # Tap k multiplies input sample base - half + 1 + k; its distance from the output position:
        distance = phases + (self.half - 1) - np.arange(self.taps)[None, :]
        window = np.kaiser(2 * 4096 + 1, 9.0)
        idx = np.clip(np.round((distance / half_width + 1.0) * 4096).astype(int), 0, 2 * 4096)
        kernel = cutoff * np.sinc(cutoff * distance) * window[idx]
        kernel[np.abs(distance) >= half_width] = 0.0
        # Each phase sums to one: exact DC gain, no ripple pattern from the phase cycle when upsampling.
        self.bank = kernel / kernel.sum(axis=1, keepdims=True)
        self._history = np.zeros(self.half - 1, dtype=np.float64)  # virtual zeros before the start
        self._history_start = -(self.half - 1)  # absolute input index of _history[0]
        self._consumed = 0  # input samples received so far
        self._next_out = 0  # absolute index of the next output sample

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Feed input, get every output sample whose filter window is now complete."""
        self._history = np.concatenate([self._history, np.asarray(samples, dtype=np.float64)])
        self._consumed += len(samples)
        return self._emit(final=False)

    def flush(self) -> np.ndarray:
        """End of input: the missing future is zeros; output length becomes ceil(len_in * up / down)."""
        self._history = np.concatenate([self._history, np.zeros(self.half + 1)])
        out = self._emit(final=True)
        self._history = self._history[:0]
        return out

    def _emit(self, *, final: bool) -> np.ndarray:
        available_end = self._history_start + len(self._history)  # one past the last input index held
        if final:
            last = -(-self._consumed * self.up // self.down)  # ceil: every input sample is represented
        else:
            # Output n needs inputs up to floor(n * down / up) + half.
            last = ((available_end - self.half) * self.up + self.down - 1) // self.down
            last = max(last, self._next_out)
        pieces = []
        for start in range(self._next_out, last, _OUT_BLOCK):
            n = np.arange(start, min(start + _OUT_BLOCK, last), dtype=np.int64)
            base = (n * self.down) // self.up
            phase = (n * self.down) % self.up
            first = base - (self.half - 1) - self._history_start
            windows = self._history[first[:, None] + np.arange(self.taps)[None, :]]
            pieces.append(np.einsum("ij,ij->i", windows, self.bank[phase]))
        self._next_out = max(last, self._next_out)
        # Drop history no future output can reach.
        keep_from = (self._next_out * self.down) // self.up - (self.half - 1)
        drop = max(0, keep_from - self._history_start)
        if drop:
            self._history = self._history[drop:]
            self._history_start += drop
        return np.concatenate(pieces) if pieces else np.zeros(0)


def to_int16_bytes(samples: np.ndarray) -> bytes:
    """Float samples in int16 scale -> s16le bytes (rounded, clipped rather than wrapped)."""
    return np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes()


class _WavLayout:
    def __init__(self, rate: int, channels: int, width: int, is_float: bool, data_offset: int,
                 data_bytes: int):
        self.rate, self.channels, self.width, self.is_float = rate, channels, width, is_float
        self.data_offset, self.data_bytes = data_offset, data_bytes


def _read_wav_layout(path: Path, fh: BinaryIO, file_size: int) -> _WavLayout:
    head = fh.read(12)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX", b"RF64") or head[8:12] != b"WAVE":
        if head[:4] in (b"RIFF", b"RIFX", b"RF64") and len(head) < 12:
            raise AudioError(f"{path}: truncated WAV header ({len(head)} bytes); the file is damaged, "
                             f"re-record it")
        raise AudioError(
            f"{path}: not a WAV file (starts with {head[:8]!r}); give a .wav file, or raw 16-bit "
            f"little-endian mono PCM named .raw/.pcm"
        )
    if head[:4] != b"RIFF":
        raise AudioError(f"{path}: {head[:4].decode()} WAV variant is not supported; {CONVERT_HINT}")
    fmt: tuple[int, int, int, int] | None = None
    while True:
        chunk = fh.read(8)
        if len(chunk) < 8:
            what = "no 'fmt ' chunk" if fmt is None else "no 'data' chunk"
            raise AudioError(f"{path}: truncated WAV header ({what} before the end of the file); "
                             f"re-record it")
        chunk_id, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if chunk_id == b"fmt ":
            body = fh.read(size)
            if len(body) < 16 or len(body) < size:
                raise AudioError(f"{path}: truncated WAV header (short 'fmt ' chunk); re-record it")
            tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == _WAVE_FORMAT_EXTENSIBLE and len(body) >= 26:
                tag = struct.unpack("<H", body[24:26])[0]  # first two bytes of the sub-format GUID
            fmt = (tag, channels, rate, bits if bits else block_align * 8 // max(channels, 1))
            fh.seek(size % 2, 1)
        elif chunk_id == b"data":
            if fmt is None:
                raise AudioError(f"{path}: WAV 'data' comes before its 'fmt ' chunk; {CONVERT_HINT}")
            offset = fh.tell()
            return _check_format(path, fmt, offset, size, file_size)
        else:
            fh.seek(size + size % 2, 1)


def _check_format(path: Path, fmt: tuple[int, int, int, int], offset: int, size: int,
                  file_size: int) -> _WavLayout:
    tag, channels, rate, bits = fmt
    if tag not in (_WAVE_FORMAT_PCM, _WAVE_FORMAT_IEEE_FLOAT):
        name = _CODEC_NAMES.get(tag, "an unknown codec")
        raise AudioError(f"{path}: WAV is {name} (format 0x{tag:04x}), which the kiosk cannot decode; "
                         f"{CONVERT_HINT}")
    is_float = tag == _WAVE_FORMAT_IEEE_FLOAT
    valid = {8, 16, 24, 32} if not is_float else {32, 64}
    if bits not in valid or channels < 1 or rate < 1000:
        kind = "float" if is_float else "integer PCM"
        raise AudioError(
            f"{path}: WAV {kind} with {bits}-bit samples, {channels} channel(s) at {rate} Hz is not "
            f"supported; {CONVERT_HINT}"
        )
    available = file_size - offset
    if size > available:
        log.warning(
            "%s: WAV header says %d bytes of audio but the file holds %d; decoding what is there "
            "(the recording was probably cut off)", path, size, available,
        )
        size = available
    return _WavLayout(rate, channels, bits // 8, is_float, offset, size)


def _frames_to_float(raw: bytes, layout: _WavLayout) -> np.ndarray:
    """Interleaved frames -> mono float in int16 scale (channels averaged)."""
    width = layout.width
    if layout.is_float:
        data = np.frombuffer(raw, dtype="<f4" if width == 4 else "<f8").astype(np.float64) * 32768.0
    elif width == 1:
        # WAV 8-bit is unsigned, centred on 128
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) * 256.0
    elif width == 2:
        data = np.frombuffer(raw, dtype="<i2").astype(np.float64)
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        value = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        data = np.where(value >= 1 << 23, value - (1 << 24), value).astype(np.float64) / 256.0
    else:
        data = np.frombuffer(raw, dtype="<i4").astype(np.float64) / 65536.0
    if layout.channels > 1:
        data = data.reshape(-1, layout.channels).mean(axis=1)
    return data


class FileSource:
    """An AudioSource reading a WAV or raw s16le file, converted to 16 kHz mono while streaming."""

    def __init__(self, path: str | Path, *, raw_rate: int = SAMPLE_RATE):
        self.path = Path(path)
        try:
            self._fh: BinaryIO | None = open(self.path, "rb")
        except FileNotFoundError:
            raise AudioError(f"{self.path}: no such audio file; check the path") from None
        except OSError as exc:
            raise AudioError(f"{self.path}: cannot open audio file ({exc.strerror}); "
                             f"check permissions") from None
        try:
            file_size = self.path.stat().st_size
            if self.path.suffix.lower() in RAW_SUFFIXES:
                self._layout = _WavLayout(raw_rate, 1, 2, False, 0, file_size)
            else:
                self._layout = _read_wav_layout(self.path, self._fh, file_size)
        except BaseException:
            self._fh.close()
            raise
        self._remaining = self._layout.data_bytes
        frame_bytes = self._layout.width * self._layout.channels
        self._remaining -= self._remaining % frame_bytes  # a partial last frame cannot be decoded
        # 16 kHz mono 16-bit WAV needs no arithmetic at all: pass the bytes through untouched.
        self._passthrough = (
            self._layout.rate == SAMPLE_RATE and self._layout.channels == 1
            and self._layout.width == 2 and not self._layout.is_float
        )
        self._resampler = None if self._layout.rate == SAMPLE_RATE else StreamingResampler(self._layout.rate)
        self._pending = bytearray()  # converted output not yet handed out
        self._input_done = False
        self._state = "open"

    @property
    def rate(self) -> int:
        """The file's own sample rate (before conversion)."""
        return self._layout.rate

    def read(self, samples: int) -> bytes:
        want = max(0, samples) * 2
        while len(self._pending) < want and not self._input_done:
            self._convert_next_block()
        out = bytes(self._pending[:want])
        del self._pending[:want]
        if not out and self._input_done and self._state == "open":
            self._state = "ended"
        return out

    def _convert_next_block(self) -> None:
        if self._fh is None:
            self._input_done = True
            return
        frame_bytes = self._layout.width * self._layout.channels
        raw = self._fh.read(min(self._remaining, _BLOCK_FRAMES * frame_bytes)) if self._remaining else b""
        raw = raw[: len(raw) - len(raw) % frame_bytes]
        self._remaining -= len(raw)
        if not raw:  # end of the data (or the file was cut shorter than it was when opened)
            self._input_done = True
            if self._resampler is not None:
                self._pending += to_int16_bytes(self._resampler.flush())
            return
        if self._passthrough:
            self._pending += raw
            return
        mono = _frames_to_float(raw, self._layout)
        if self._resampler is not None:
            mono = self._resampler.process(mono)
        self._pending += to_int16_bytes(mono)

    def status(self) -> SourceStatus:
        return SourceStatus(name=str(self.path), state=self._state)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self._input_done = True
        self._pending.clear()
        self._state = "closed"

    def __enter__(self) -> FileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def decode_audio(path: str | Path, *, raw_rate: int = SAMPLE_RATE) -> bytes:
    """The whole file as 16 kHz mono s16le (for short files: `kiosk listen FILE`)."""
    with FileSource(path, raw_rate=raw_rate) as source:
        parts = []
        while chunk := source.read(SAMPLE_RATE * 10):
            parts.append(chunk)
    return b"".join(parts)
