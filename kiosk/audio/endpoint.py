"""End-pointing: where an utterance starts and ends in a stream of 16 kHz mono PCM.

Pure state, no I/O and no threads: the caller pushes audio as it arrives and gets events
back. All times are seconds of audio pushed since listening opened, never wall-clock time,
so the same audio always gives the same events whatever the chunking or machine speed.

A 30 ms frame counts as speech only when webrtcvad says so AND it is loud enough
(`min_energy_dbfs`): webrtcvad alone happily opens the microphone for a quiet hum or chatter
across the shop. An utterance starts after `start_speech_ms` of mostly-speech frames and
ends after `trailing_silence_ms` of mostly-non-speech frames, at `max_utterance_s`, or when
listening is closed underneath it.

Listening is opened one of two ways:
- push-to-talk: `open()` on a tap; one utterance per tap. If nobody speaks within
  `no_speech_timeout_s` a `NoSpeech` event closes it again.
- hands-free: `set_present(True)` while a customer stands at the kiosk (the camera decides);
  utterances follow one another until `set_present(False)`.

Memory is bounded: besides the partial frame being assembled, only the pre-roll (a few
hundred ms) is held. Utterance audio is handed out as it flows in `SpeechAudio` events.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Literal, Union

import numpy as np

from kiosk.audio.source import FRAME_BYTES, FRAME_MS, SAMPLE_RATE, AudioError

FRAME_S = FRAME_MS / 1000
START_SPEECH_RATIO = 0.8  # an utterance starts when this share of the start window is speech…
END_SPEECH_RATIO = 0.1  # …and ends when at most this share of the trailing window still is
# webrtcvad calls the first 3-5 frames of any steady noise speech until it has learnt the noise
# floor (measured: white and pink noise, -45 to -30 dBFS, every aggressiveness). So the first
# frames after listening opens never count as speech; the pre-roll still delivers their audio.
WARMUP_FRAMES = 8


@dataclass(frozen=True)
class SpeechStarted:
    at_s: float  # when the start was decided (end of the frame that completed the start window)
    onset_s: float  # start of the first speech frame of that window: the estimated speech onset
    audio_from_s: float  # where the utterance audio (first SpeechAudio) begins: onset minus pre-roll


@dataclass(frozen=True)
class SpeechAudio:
    pcm: bytes  # utterance audio, in order; the first one of an utterance is the pre-roll


@dataclass(frozen=True)
class SpeechEnded:
    at_s: float  # when the end was decided (for "silence": speech end plus the trailing silence)
    reason: Literal["silence", "max_length", "stopped"]
    duration_s: float  # from onset_s to at_s


@dataclass(frozen=True)
class NoSpeech:
    at_s: float  # push-to-talk gave up: nobody spoke within no_speech_timeout_s of open()


EndpointEvent = Union[SpeechStarted, SpeechAudio, SpeechEnded, NoSpeech]


def frame_dbfs(frame: bytes) -> float:
    """RMS level of s16le audio relative to full scale (a full-scale square wave is 0 dBFS)."""
    samples = np.frombuffer(frame, dtype="<i2").astype(np.float64)
    if samples.size == 0:
        return -math.inf
    mean_square = float(np.dot(samples, samples)) / samples.size
    return 10.0 * math.log10(mean_square / (32768.0 * 32768.0)) if mean_square > 0 else -math.inf


def _frames(ms: float) -> int:
    return max(1, math.ceil(ms / FRAME_MS - 1e-9))


class Endpointer:
    def __init__(self, *, aggressiveness: int = 2, min_energy_dbfs: float = -50.0,
                 start_speech_ms: int = 120, trailing_silence_ms: int = 700,
                 max_utterance_s: float = 12.0, no_speech_timeout_s: float = 6.0,
                 pre_roll_ms: int = 300) -> None:
        if aggressiveness not in (0, 1, 2, 3):
            raise AudioError(f"VAD aggressiveness must be 0, 1, 2 or 3, got {aggressiveness!r}")
        checks = {"start_speech_ms": start_speech_ms > 0, "trailing_silence_ms": trailing_silence_ms > 0,
                  "max_utterance_s": max_utterance_s > 0, "no_speech_timeout_s": no_speech_timeout_s > 0,
                  "pre_roll_ms": pre_roll_ms >= 0}
        for name, ok in checks.items():
            if not ok:
                raise AudioError(f"end-pointer setting {name} must be positive "
                                 "(see [endpoint] in the config)")
        self.aggressiveness = aggressiveness
        self.min_energy_dbfs = float(min_energy_dbfs)
        self._start_frames = _frames(start_speech_ms)
        self._start_needed = math.ceil(START_SPEECH_RATIO * self._start_frames - 1e-9)
        self._end_frames = _frames(trailing_silence_ms)
        self._end_allowed = math.floor(END_SPEECH_RATIO * self._end_frames + 1e-9)
        self._max_frames = _frames(max_utterance_s * 1000)
        self._timeout_frames = _frames(no_speech_timeout_s * 1000)
        self._pre_roll_frames = math.ceil(pre_roll_ms / FRAME_MS - 1e-9)
        self._vad_class = _load_vad()
        self.reset()

    # --- state changes ---------------------------------------------------------------------

    def reset(self) -> None:
        """Back to closed and absent, with no audio held."""
        self._listening = False
        self._push_to_talk = False
        self._present = False
        self._begin_session(listening=False)

    def open(self) -> list[EndpointEvent]:
        """Push-to-talk: a tap opens listening for one utterance (the clock restarts at 0)."""
        if self._listening:
            return []  # a second tap while listening changes nothing
        self._push_to_talk = True
        self._begin_session(listening=True)
        return []

    def close(self) -> list[EndpointEvent]:
        """Stop listening; an utterance in progress ends with reason "stopped"."""
        events = self._end_utterance("stopped") if self._in_speech else []
        self._listening = False
        self._push_to_talk = False
        return events

    def set_present(self, present: bool) -> list[EndpointEvent]:
        """Hands-free: listen while a customer is present; leaving ends an utterance ("stopped")."""
        if present == self._present:
            return []
        self._present = present
        if present:
            if not self._listening:
                self._push_to_talk = False
                self._begin_session(listening=True)
            return []
        return self.close()

    @property
    def listening(self) -> bool:
        return self._listening

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    @property
    def now_s(self) -> float:
        """Seconds of audio processed since listening opened (whole frames only)."""
        return self._frame_count * FRAME_S

    # --- audio -----------------------------------------------------------------------------

    def push(self, pcm: bytes) -> list[EndpointEvent]:
        """Feed any amount of audio; returns what happened in it (nothing while not listening)."""
        if not isinstance(pcm, (bytes, bytearray, memoryview)):
            raise AudioError(f"push() takes 16 kHz mono 16-bit PCM as bytes, not {type(pcm).__name__}")
        if not self._listening:
            return []  # audio while closed is dropped: it may be the kiosk's own voice
        events: list[EndpointEvent] = []
        data = memoryview(pcm).cast("B")
        if self._partial:
            take = min(FRAME_BYTES - len(self._partial), len(data))
            self._partial += data[:take]
            data = data[take:]
            if len(self._partial) < FRAME_BYTES:
                return events
            self._frame(bytes(self._partial), events)
            self._partial.clear()
        whole = len(data) - len(data) % FRAME_BYTES
        for offset in range(0, whole, FRAME_BYTES):
            if not self._listening:
                return events  # closed mid-chunk (NoSpeech, push-to-talk utterance ended)
            self._frame(bytes(data[offset:offset + FRAME_BYTES]), events)
        if self._listening:
            self._partial += data[whole:]
        return events

    def _frame(self, frame: bytes, events: list[EndpointEvent]) -> None:
        is_speech = self._is_speech(frame)
        self._frame_count += 1
        self._window.append(is_speech)
        if self._in_speech:
            events.append(SpeechAudio(frame))
            self._utterance_frames += 1
            trailing = list(self._window)[-self._end_frames:]
            if self._utterance_frames >= self._end_frames and sum(trailing) <= self._end_allowed:
                events.extend(self._end_utterance("silence"))
            elif self._utterance_frames >= self._max_frames:
                events.extend(self._end_utterance("max_length"))
            return
        self._ring.append(frame)
        recent = list(self._window)[-self._start_frames:]
        if len(recent) == self._start_frames and sum(recent) >= self._start_needed:
            self._start_utterance(recent, events)
        elif self._push_to_talk and self._frame_count >= self._timeout_frames:
            events.append(NoSpeech(round(self.now_s, 3)))
            self._tap_over()

    def _start_utterance(self, recent: list[bool], events: list[EndpointEvent]) -> None:
        first_speech = recent.index(True)
        onset_frame = self._frame_count - self._start_frames + first_speech
        held = list(self._ring)
        # The ring holds the start window plus the pre-roll; keep pre-roll frames before the onset.
        keep_from = max(0, len(held) - (self._frame_count - onset_frame) - self._pre_roll_frames)
        held = held[keep_from:]
        self._onset_s = onset_frame * FRAME_S
        audio_from = (self._frame_count - len(held)) * FRAME_S
        events.append(SpeechStarted(round(self.now_s, 3), round(self._onset_s, 3), round(audio_from, 3)))
        events.append(SpeechAudio(b"".join(held)))
        self._ring.clear()
        self._in_speech = True
        # Frames already counted (onset to now) belong to the utterance.
        self._utterance_frames = self._frame_count - onset_frame
        # The end rule looks only at frames inside the utterance.
        self._window = deque(recent[first_speech:], maxlen=max(self._end_frames, self._start_frames))

    def _end_utterance(self, reason: Literal["silence", "max_length", "stopped"]) -> list[EndpointEvent]:
        ended = SpeechEnded(round(self.now_s, 3), reason, round(self.now_s - self._onset_s, 3))
        self._in_speech = False
        self._utterance_frames = 0
        self._window.clear()
        if self._push_to_talk:
            self._tap_over()  # one utterance per tap
        return [ended]

    def _tap_over(self) -> None:
        """A push-to-talk turn is over: close, unless hands-free presence keeps listening open."""
        self._push_to_talk = False
        if not self._present:
            self._listening = False
            self._partial.clear()
            self._ring.clear()

    def _is_speech(self, frame: bytes) -> bool:
        # The VAD hears every frame, gated or not, so its noise estimate stays up to date.
        voiced = bool(self._vad.is_speech(frame, SAMPLE_RATE))
        if self._frame_count < WARMUP_FRAMES:
            return False
        return voiced and frame_dbfs(frame) >= self.min_energy_dbfs

    def _begin_session(self, *, listening: bool) -> None:
        self._listening = listening
        self._frame_count = 0
        self._partial = bytearray()
        self._in_speech = False
        self._onset_s = 0.0
        self._utterance_frames = 0
        self._window: deque[bool] = deque(maxlen=max(self._end_frames, self._start_frames))
        self._ring: deque[bytes] = deque(maxlen=self._start_frames + self._pre_roll_frames)
        # A fresh VAD per session: webrtcvad adapts to the noise it has heard, and the same
        # audio must give the same events however often listening was opened before.
        self._vad = self._vad_class(self.aggressiveness)


def _load_vad() -> type:
    try:
        import webrtcvad
    except ImportError:
        raise AudioError("end-pointing needs webrtcvad: install it with "
                         "`pip install webrtcvad-wheels` (it is a kiosk dependency)") from None
    return webrtcvad.Vad
