"""The one interface every audio source meets: 16 kHz, mono, signed 16-bit little-endian PCM.

Recognisers, the end-pointer and the benchmarks only ever see this format; converting whatever
a microphone or a file delivers is the source's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from kiosk.errors import KioskError

SAMPLE_RATE = 16_000
SAMPLE_WIDTH = 2  # bytes: signed 16-bit little-endian
CHANNELS = 1
FRAME_MS = 30  # webrtcvad takes 10, 20 or 30 ms frames; 30 ms is the cheapest per second
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
FRAME_BYTES = FRAME_SAMPLES * SAMPLE_WIDTH


class AudioError(KioskError):
    """Audio that cannot be used (unreadable file, unsupported format, no such device)."""


@dataclass(frozen=True)
class SourceStatus:
    """What a technician (and the screen) is told about a source."""

    name: str
    state: str  # "open" | "reconnecting" | "closed" | "ended"
    overflows: int = 0  # chunks dropped because the consumer fell behind (counted, never fatal)
    detail: str = ""  # e.g. "USB mic unplugged; retrying in 2.0 s"


@runtime_checkable
class AudioSource(Protocol):
    """A stream of 16 kHz mono s16le PCM.

    `read(n)` returns up to `n` samples as bytes (always a whole number of samples). A file
    source returns b"" once it is exhausted; a live source blocks until audio arrives (or
    returns b"" after `close()`), and never raises because a device went away: it reports that
    in `status()` and keeps trying to come back.
    """

    def read(self, samples: int) -> bytes: ...

    def status(self) -> SourceStatus: ...

    def close(self) -> None: ...
