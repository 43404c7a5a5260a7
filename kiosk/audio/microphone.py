"""The kiosk's microphone: a PyAudio input stream in callback mode, kept alive across unplugging.

Audio arrives on PortAudio's thread and goes into a bounded ring of chunks; `read()` takes it out.
A supervisor thread watches the stream: if PortAudio stops it (device error) or no audio has arrived
for `stall_s` seconds (device gone quiet), the stream is torn down and re-opened with exponential
back-off, re-creating PyAudio each time so devices plugged in meanwhile are enumerated again.

Mute semantics (`set_muted(True)` while the kiosk speaks): audio captured while muted is dropped
inside the capture callback and never reaches the buffer, so the recogniser never hears the kiosk.
Audio captured before the mute stays readable. A `read()` made while muted waits (nothing new
arrives) until the source is unmuted and fresh audio has been captured, or until `close()`.
"""

from __future__ import annotations

import collections
import functools
import logging
import math
import threading
import time
from typing import Any, Callable

import numpy as np

from kiosk.audio.source import SAMPLE_RATE, AudioError, SourceStatus
from kiosk.audio.wavfile import StreamingResampler, to_int16_bytes

log = logging.getLogger(__name__)

_TEARDOWN_TIMEOUT_S = 2.0  # a wedged driver must not hang the kiosk: stop waiting and move on
_FIRST_RETRY_S = 0.25
_PA_CONTINUE, _PA_COMPLETE = 0, 1  # pyaudio.paContinue/paComplete: the callback does no imports


def input_devices(pa: Any) -> list[tuple[int, str, int]]:
    """(index, name, default rate) of every device that can record."""
    found = []
    for index in range(pa.get_device_count()):
        info = pa.get_device_info_by_index(index)
        if int(info.get("maxInputChannels", 0)) > 0:
            found.append((index, str(info["name"]), int(info["defaultSampleRate"])))
    return found


def _describe(devices: list[tuple[int, str, int]]) -> str:
    if not devices:
        return "no input devices at all (is a microphone plugged in?)"
    return "available input devices: " + ", ".join(f"{i}: {name!r}" for i, name, _ in devices)


def find_input_device(pa: Any, device: str) -> int:
    """Index of the device meant by `device`: "" default, "2" an index, "USB" a part of a name."""
    devices = input_devices(pa)
    wanted = device.strip()
    if not wanted:
        try:
            return int(pa.get_default_input_device_info()["index"])
        except (OSError, IOError):
            raise AudioError(f"no default microphone; set audio.device ({_describe(devices)})") from None
    if wanted.isdigit():
        for index, _, _ in devices:
            if index == int(wanted):
                return index
        raise AudioError(f"audio.device {wanted} is not an input device; {_describe(devices)}")
    lowered = wanted.lower()
    exact = [i for i, name, _ in devices if name.lower() == lowered]
    partial = [i for i, name, _ in devices if lowered in name.lower()]
    if exact or partial:
        return (exact or partial)[0]
    raise AudioError(f"no microphone matches audio.device {wanted!r}; {_describe(devices)}")


class MicrophoneSource:
    """An AudioSource over a PyAudio input device (16 kHz mono s16le out, whatever the device does)."""

    def __init__(
        self,
        device: str = "",
        *,
        buffer_s: float = 2.0,
        reconnect_max_s: float = 10.0,
        chunk_ms: int = 30,
        pyaudio_factory: Callable[[], Any] | None = None,
        stall_s: float = 2.0,
    ):
        self.device = device
        self.reconnect_max_s = reconnect_max_s
        self.stall_s = stall_s
        self._chunk_ms = chunk_ms
        self._factory = pyaudio_factory or _default_pyaudio
        capacity = max(1, math.ceil(buffer_s * 1000 / chunk_ms))  # in chunks of chunk_ms
        self._chunks: collections.deque[bytes] = collections.deque(maxlen=capacity)
        self._partial = b""  # the unread tail of a chunk that a read() only took part of
        self._cond = threading.Condition()
        self._muted = False
        self._closed = threading.Event()
        self._overflows = 0
        self._state = "open"
        self._detail = ""
        self._pa: Any = None
        self._stream: Any = None
        self._resampler: StreamingResampler | None = None
        self._channels = 1
        self._last_audio = time.monotonic()
        self._generation = 0  # which stream is current; callbacks of an abandoned stream are ignored
        self.device_name = ""
        self.device_rate = SAMPLE_RATE
        self._open()  # an unknown device is a configuration error: raise now, with the list
        self._supervisor = threading.Thread(target=self._supervise, name="microphone-supervisor", daemon=True)
        self._supervisor.start()

    # --- stream life cycle --------------------------------------------------------------------------

    def _open(self) -> None:
        pa = self._factory()
        import pyaudio  # the factory has made sure it is installed

        try:
            index = find_input_device(pa, self.device)
            info = pa.get_device_info_by_index(index)
            rate, channels = self._choose_format(pa, index, info, pyaudio.paInt16)
            self._resampler = None if rate == SAMPLE_RATE else StreamingResampler(rate)
            self._channels = channels
            self._last_audio = time.monotonic()
            with self._cond:
                # Audio from before a reconnect is dropped: glued to what follows it would look continuous.
                self._generation += 1
                self._chunks.clear()
                self._partial = b""
            stream = pa.open(
                format=pyaudio.paInt16, channels=channels, rate=rate, input=True,
                input_device_index=index, frames_per_buffer=max(1, rate * self._chunk_ms // 1000),
                stream_callback=functools.partial(self._on_audio, self._generation),
            )
        except AudioError:
            _quietly(pa.terminate)
            raise
        except (OSError, ValueError) as exc:
            _quietly(pa.terminate)
            raise AudioError(f"cannot open microphone {self.device or 'default'!r}: {exc}") from None
        self._pa, self._stream = pa, stream
        self.device_name, self.device_rate = str(info["name"]), rate
        log.info("microphone %r open at %d Hz, %d channel(s)", self.device_name, rate, channels)

    @staticmethod
    def _choose_format(pa: Any, index: int, info: dict, fmt: int) -> tuple[int, int]:
        """16 kHz mono if the device does it (no conversion); else its own rate, mono or stereo."""
        def supported(rate: int, channels: int) -> bool:
            try:
                return bool(pa.is_format_supported(rate, input_device=index, input_channels=channels,
                                                   input_format=fmt))
            except ValueError:  # PyAudio reports "unsupported" by raising
                return False

        native = int(info["defaultSampleRate"])
        for rate in (SAMPLE_RATE, native):
            for channels in (1, min(2, int(info["maxInputChannels"]))):
                if supported(rate, channels):
                    return rate, channels
        raise AudioError(f"microphone {info['name']!r} records neither 16 kHz nor {native} Hz 16-bit audio; "
                         f"choose another audio.device")

    def _teardown(self) -> None:
        stream, pa = self._stream, self._pa
        self._stream = self._pa = None

        def work() -> None:
            if stream is not None:
                _quietly(stream.close)  # Pa_CloseStream aborts a running stream first
            if pa is not None:
                _quietly(pa.terminate)

        worker = threading.Thread(target=work, name="microphone-teardown", daemon=True)
        worker.start()
        worker.join(_TEARDOWN_TIMEOUT_S)
        if worker.is_alive():
            log.warning("microphone stream did not close within %.1f s; abandoning it", _TEARDOWN_TIMEOUT_S)

    def _stream_lost(self) -> str:
        """Why the stream is no longer delivering audio ("" while it is healthy)."""
        stream = self._stream
        if stream is None:
            return "stream is not open"
        try:
            if not stream.is_active():
                return "the audio stream stopped (device error or unplugged)"
        except OSError as exc:
            return f"the audio stream failed ({exc})"
        if time.monotonic() - self._last_audio > self.stall_s:
            return f"no audio for {self.stall_s:.1f} s (device unplugged or stalled)"
        return ""

    def _supervise(self) -> None:
        while not self._closed.wait(0.1):
            reason = self._stream_lost()
            if not reason:
                continue
            log.warning("microphone %r lost: %s", self.device_name or self.device, reason)
            self._teardown()
            self._reconnect(reason)

    def _reconnect(self, reason: str) -> None:
        delay = _FIRST_RETRY_S
        while not self._closed.is_set():
            with self._cond:
                self._state = "reconnecting"
                self._detail = f"microphone {self.device or 'default'!r}: {reason}; retrying in {delay:.1f} s"
            if self._closed.wait(delay):
                return
            try:
                self._open()
            except AudioError as exc:
                reason = str(exc)
                delay = min(delay * 2, self.reconnect_max_s)
                continue
            with self._cond:
                if self._closed.is_set():  # close() raced with the re-open: undo it
                    break
                self._state, self._detail = "open", ""
            log.info("microphone %r is back", self.device_name)
            return
        self._teardown()

    # --- audio path ----------------------------------------------------------------------------------

    def _on_audio(self, generation: int, in_data: bytes | None, frame_count: int, time_info: Any,
                  status: int) -> tuple[None, int]:
        if generation != self._generation:
            return None, _PA_COMPLETE
        self._last_audio = time.monotonic()
        if self._muted or not in_data or self._closed.is_set():
            return None, _PA_CONTINUE
        chunk = in_data
        if self._channels > 1 or self._resampler is not None:
            samples = np.frombuffer(in_data, dtype="<i2").astype(np.float64)
            if self._channels > 1:
                samples = samples.reshape(-1, self._channels).mean(axis=1)
            if self._resampler is not None:
                samples = self._resampler.process(samples)
            chunk = to_int16_bytes(samples)
        with self._cond:
            if len(self._chunks) == self._chunks.maxlen:
                self._overflows += 1  # the deque drops the oldest chunk: counted, never fatal
            self._chunks.append(chunk)
            self._cond.notify_all()
        return None, _PA_CONTINUE

    def _buffered_bytes(self) -> int:
        return len(self._partial) + sum(len(c) for c in self._chunks)

    def read(self, samples: int) -> bytes:
        """Exactly `samples` samples, waiting for them; b"" once the source is closed."""
        want = max(0, samples) * 2
        with self._cond:
            while self._buffered_bytes() < want and not self._closed.is_set():
                self._cond.wait(0.5)
            if self._closed.is_set():
                return b""
            parts, have = [self._partial], len(self._partial)
            while have < want:
                chunk = self._chunks.popleft()
                parts.append(chunk)
                have += len(chunk)
            joined = b"".join(parts)
            self._partial = joined[want:]
            return joined[:want]

    def set_muted(self, muted: bool) -> None:
        """Mute while the kiosk speaks (see the module docstring for exactly what that means)."""
        with self._cond:
            self._muted = muted

    @property
    def muted(self) -> bool:
        return self._muted

    def status(self) -> SourceStatus:
        with self._cond:
            return SourceStatus(name=self.device_name or self.device or "default", state=self._state,
                                overflows=self._overflows, detail=self._detail)

    def close(self) -> None:
        if self._closed.is_set():
            return
        with self._cond:
            self._closed.set()
            self._state = "closed"
            self._cond.notify_all()
        self._supervisor.join(_TEARDOWN_TIMEOUT_S + 1.0)
        self._teardown()
        with self._cond:
            self._chunks.clear()
            self._partial = b""

    def __enter__(self) -> MicrophoneSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _default_pyaudio() -> Any:
    try:
        import pyaudio
    except ImportError:
        raise AudioError("PyAudio is not installed; install it (pip install pyaudio, needs apt "
                         "portaudio19-dev) or use audio.source = \"file\"") from None
    return pyaudio.PyAudio()


def _quietly(action: Callable[[], object]) -> None:
    try:
        action()
    except Exception as exc:  # tearing down a broken device: errors here carry no new information
        log.debug("ignored while closing the microphone: %s", exc)
