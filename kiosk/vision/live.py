"""Scanning from a live camera: guide the customer, capture once, read it, report once.

`LiveScan.feed(image, t)` is pure (no threads, time passed in), so the app's camera worker
and `kiosk scan VIDEO` run the same code. Two things happen on the frames:

* barcodes are looked for directly on the frame, at most `codes_hz` times a second: a product
  or an order code held up is answered at once, without waiting for a document to settle;
* `AutoCapture` follows the paper (receipt, ID document) and reports what the customer should
  change ("move_closer", "hold_still", …) until it is sharp and still, then the straightened
  capture is read by the full `Scanner` (MRZ, receipt, text).
After a result the scan stays quiet until the customer takes the item away (`rearm_s` with no
code and no document), so one receipt held for ten seconds is one answer, not ten.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from kiosk.vision.codes import read_codes
from kiosk.vision.document import AutoCapture
from kiosk.vision.scan import Scanner, ScanResult, code_kind

# Frames wider than this are shrunk for the per-frame barcode look (a 1080p frame costs ~80 ms
# with nothing in it); a code held up to a kiosk camera spans far more than 1280 px can resolve.
CODES_MAX_WIDTH = 1280


@dataclass(frozen=True)
class LiveUpdate:
    hint: str | None  # guidance key for the customer (see kiosk.vision.document HINT_*), None: nothing to say
    result: ScanResult | None = None  # set once, when something was read


class LiveScan:
    def __init__(self, scanner: Scanner, *, codes_hz: float = 5.0, document_hz: float = 5.0,
                 rearm_s: float = 1.5, capture: AutoCapture | None = None):
        self.scanner = scanner
        self.codes_hz = codes_hz
        # Following the paper costs ~15 ms a frame; 5 looks a second are plenty to see it held
        # still, and leave the CPU to the screen (a software-rendered screen needs it most).
        self.document_hz = document_hz
        self.rearm_s = rearm_s
        self.capture = capture or AutoCapture(still_frames=3, still_seconds=0.3)
        self._last_codes_t: float | None = None
        self._last_document_t: float | None = None
        self._done_at: float | None = None  # time of the last result; None: armed
        self._last_seen = 0.0  # last time a code or a document was in view after a result

    def reset(self) -> None:
        """A new customer: forget the last result and any document being followed."""
        self.capture.reset()
        self._last_codes_t = self._last_document_t = self._done_at = None

    def feed(self, image: np.ndarray, t: float) -> LiveUpdate:
        if self._done_at is not None:
            return self._after_result(image, t)
        if self._codes_due(t):
            self._last_codes_t = t
            found = self._codes(image)
            if found is not None:
                return self._finish(found, t)
        if not self._due(self._last_document_t, t, self.document_hz):
            return LiveUpdate(self.capture.hint)
        self._last_document_t = t
        captured = self.capture.feed(image, t)
        if captured is None:
            return LiveUpdate(self.capture.hint)
        return self._finish(self.scanner.scan(captured.image), t)

    def _codes_due(self, t: float) -> bool:
        return self._due(self._last_codes_t, t, self.codes_hz)

    @staticmethod
    def _due(last: float | None, t: float, hz: float) -> bool:
        # Frame times are sums of 1/fps: 0.3 - 0.2 must count as a full 0.1 s.
        return last is None or t - last >= 1.0 / hz - 1e-6

    def _codes(self, image: np.ndarray) -> ScanResult | None:
        small = image
        if image.shape[1] > CODES_MAX_WIDTH:
            scale = CODES_MAX_WIDTH / image.shape[1]
            small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        codes = read_codes(small, second_pass=False)
        payloads = tuple(self.scanner.meaning(c) for c in codes)
        kind = code_kind(codes, payloads)
        # Only codes that settle the request on their own; anything else waits for the document.
        return ScanResult(kind, codes, payloads) if kind in ("product", "order") else None

    def _finish(self, result: ScanResult, t: float) -> LiveUpdate:
        self._done_at = self._last_seen = t
        return LiveUpdate(None, result)

    def _after_result(self, image: np.ndarray, t: float) -> LiveUpdate:
        if not self._due(self._last_document_t, t, self.document_hz):
            return LiveUpdate(None)
        self._last_document_t = t
        still_there = self.capture.feed(image, t) is None and self.capture.quality is not None \
            and self.capture.quality.found
        if not still_there and self._codes_due(t):
            self._last_codes_t = t
            still_there = self._codes(image) is not None
        if still_there:
            self._last_seen = t
        elif t - self._last_seen >= self.rearm_s:
            self.reset()  # taken away: ready for the next thing
        return LiveUpdate(None)
