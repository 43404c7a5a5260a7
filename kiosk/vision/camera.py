"""Camera input: a V4L2 camera kept alive across unplugging, and video/image files standing in for it.

Both meet `FrameSource`: `read()` hands out the newest frame not yet handed out (or None), so a
consumer that falls behind sees the present, never a queue of the past; frames it had no time for
are dropped and counted.

`CameraSource` captures in its own daemon thread (mirroring the microphone's design): failed reads
or a device that cannot be opened put the source in state "disconnected" with the reason, and the
thread re-opens it with exponential back-off up to `reconnect_max_s`. OpenCV's V4L2 backend waits
up to 10 s (env OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT) inside a read when a camera stalls without
vanishing; `close()` stops waiting for the thread after a short timeout rather than hang the kiosk.

`FileFrameSource` plays a video (through cv2.VideoCapture, as the camera is read), a single image or
a folder of images (sorted by name), either as fast as the consumer reads or paced in real time at
the file's frame rate (dropping frames when the consumer is slow, like the camera). Its end is a
state ("ended"), not an exception. Frame times are media time (index / fps) for files, and
`time.monotonic()` for the camera.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Self, runtime_checkable

import cv2
import numpy as np

from kiosk.errors import KioskError
from kiosk.vision.image import ImageError, load_image

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
STILL_FPS = 10.0  # images carry no frame rate: play them like a 10 fps camera
_FIRST_RETRY_S = 0.25
_JOIN_TIMEOUT_S = 2.0
_FAILED_READS = 3  # consecutive failed reads before the camera counts as gone (one can be a glitch)


class CameraError(KioskError):
    """A camera or video input that cannot be used; the message says why and what to do."""


@dataclass(frozen=True, eq=False)
class Frame:
    image: np.ndarray  # BGR uint8 (height, width, 3)
    index: int  # position in the stream (counts dropped frames too)
    t: float  # seconds: media time for files, time.monotonic() for a camera


@dataclass(frozen=True)
class CameraStatus:
    name: str
    state: str  # "connecting" | "open" | "disconnected" | "ended" | "closed"
    frames: int = 0  # frames captured (camera) or delivered (file)
    dropped: int = 0  # frames replaced by a newer one before anybody read them
    reconnects: int = 0  # attempts to (re)open the camera after a failure
    detail: str = ""  # why disconnected / how the file ended


@runtime_checkable
class FrameSource(Protocol):
    def read(self, timeout: float = 0.0) -> Frame | None:
        """The newest frame not yet returned, waiting up to `timeout` s for one; None if none came
        (or the source ended or was closed: see status())."""
        ...

    def status(self) -> CameraStatus: ...

    def close(self) -> None: ...


def _device_target(device: int | str) -> tuple[int | str, int]:
    """(what to give cv2.VideoCapture, which backend): V4L2 for cameras, any backend for files."""
    if isinstance(device, str) and not device.strip():
        device = 0  # "" in the config: the first camera
    if isinstance(device, int) or device.strip().isdigit():
        return int(device), cv2.CAP_V4L2
    # /dev/v4l/by-id/... names survive re-plugging into another port; resolve them to /dev/videoN.
    real = os.path.realpath(device)
    match = re.fullmatch(r"/dev/video(\d+)", real)
    if match:
        return int(match.group(1)), cv2.CAP_V4L2
    return device, cv2.CAP_ANY  # a video file or stream URL standing in for a camera


class CameraSource:
    """Latest-frame capture from a V4L2 camera (index, /dev/videoN or /dev/v4l/by-id path)."""

    def __init__(self, device: int | str = 0, *, width: int = 640, height: int = 480, fps: float = 10.0,
                 reconnect_max_s: float = 10.0, first_retry_s: float = _FIRST_RETRY_S):
        self.device = device
        self.width, self.height, self.fps = width, height, fps
        self.reconnect_max_s = reconnect_max_s
        self.first_retry_s = min(first_retry_s, reconnect_max_s)
        self._name = str(device)
        self._cond = threading.Condition()
        self._closed = threading.Event()
        self._latest: Frame | None = None
        self._unread = False
        self._frames = self._dropped = self._reconnects = 0
        self._state, self._detail = "connecting", ""
        self.actual: tuple[int, int, float] = (0, 0, 0.0)  # what the driver agreed to: w, h, fps
        self._thread = threading.Thread(target=self._run, name="camera-capture", daemon=True)
        self._thread.start()

    def _open(self) -> tuple[cv2.VideoCapture | None, str]:
        target, backend = _device_target(self.device)
        cap = cv2.VideoCapture(target, backend)
        if not cap.isOpened():
            cap.release()
            missing = isinstance(target, int) and not os.path.exists(f"/dev/video{target}")
            return None, (f"camera {self._name} does not exist (no /dev/video{target}: unplugged?)" if missing
                          else f"camera {self._name} cannot be opened (busy, no permission, or not a camera)")
        if backend == cv2.CAP_V4L2:
            # The driver may pick the nearest mode it has; what it chose is read back below.
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            cap.set(cv2.CAP_PROP_FPS, self.fps)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # fewer queued driver buffers: less stale first frames
        self.actual = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                       float(cap.get(cv2.CAP_PROP_FPS)))
        return cap, ""

    def _set_state(self, state: str, detail: str = "") -> None:
        with self._cond:
            if self._state != "closed":
                self._state, self._detail = state, detail
            self._cond.notify_all()

    def _run(self) -> None:
        delay = self.first_retry_s
        while not self._closed.is_set():
            cap, reason = self._open()
            if cap is not None:
                log.info("camera %s open at %dx%d %.1f fps", self._name, *self.actual)
                self._set_state("open")
                delay = self.first_retry_s
                reason = self._capture(cap)
                cap.release()
                if self._closed.is_set():
                    break
                log.warning("camera %s lost: %s", self._name, reason)
            with self._cond:
                self._reconnects += 1
            self._set_state("disconnected", f"{reason}; retrying in {delay:.2f} s")
            if self._closed.wait(delay):
                break
            delay = min(delay * 2, self.reconnect_max_s)

    def _capture(self, cap: cv2.VideoCapture) -> str:
        """Read until the camera fails or the source is closed; the reason it stopped."""
        failures = 0
        while not self._closed.is_set():
            ok, image = cap.read()
            if not ok or image is None:
                failures += 1
                if failures >= _FAILED_READS:
                    return f"camera {self._name} stopped delivering frames (unplugged or failed)"
                continue
            failures = 0
            if image.ndim == 2:
                image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
            with self._cond:
                if self._unread:
                    self._dropped += 1  # the consumer never saw it: the newer frame replaces it
                self._latest = Frame(image, self._frames, time.monotonic())
                self._frames += 1
                self._unread = True
                self._cond.notify_all()
        return "closed"

    def read(self, timeout: float = 0.0) -> Frame | None:
        with self._cond:
            if not self._unread and timeout > 0:
                self._cond.wait_for(lambda: self._unread or self._closed.is_set(), timeout)
            if not self._unread or self._closed.is_set():
                return None
            self._unread = False
            return self._latest

    def status(self) -> CameraStatus:
        with self._cond:
            return CameraStatus(self._name, self._state, self._frames, self._dropped, self._reconnects,
                                self._detail)

    def close(self) -> None:
        with self._cond:
            self._closed.set()
            self._state, self._detail = "closed", ""
            self._latest, self._unread = None, False
            self._cond.notify_all()
        self._thread.join(_JOIN_TIMEOUT_S)
        if self._thread.is_alive():
            log.warning("camera %s capture thread did not stop within %.1f s; abandoning it",
                        self._name, _JOIN_TIMEOUT_S)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FileFrameSource:
    """A video file, one image or a folder of images as a FrameSource (see the module docstring)."""

    def __init__(self, path: str | Path, *, realtime: bool = False, loop: bool = False,
                 fps: float | None = None):
        self.path = Path(path)
        self.realtime, self.loop = realtime, loop
        self._images: list[Path] = []
        self._cap: cv2.VideoCapture | None = None
        self._pending: np.ndarray | None = None  # a decoded frame not yet handed out
        self._still: np.ndarray | None = None
        self._position = 0  # index of the next frame in the stream
        self._delivered = self._dropped = self._skipped = 0
        self._state, self._detail = "open", ""
        self._start: float | None = None
        self._expected = 0  # frame count the video's header claims (0: unknown)
        file_fps = self._open()
        self.fps = float(fps) if fps else file_fps

    def _open(self) -> float:
        path = self.path
        if not path.exists():
            raise CameraError(f"{path} does not exist")
        if path.is_dir():
            self._images = sorted(p for p in path.iterdir()
                                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not self._images:
                raise CameraError(f"{path} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
            return STILL_FPS
        if path.suffix.lower() in IMAGE_SUFFIXES:
            self._pending = self._still = load_image(path)  # a bad image is an error now, not a silent end
            self._images = [path]
            return STILL_FPS
        if path.stat().st_size == 0:
            raise CameraError(f"{path} is empty (0 bytes); copy the video again")
        self._cap = self._open_video()
        ok, image = self._cap.read()
        if not ok or image is None:
            self._cap.release()
            raise CameraError(f"{path} has no readable video frames (corrupt or truncated)")
        self._pending = image
        self._expected = max(0, int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0))
        rate = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if not (math.isfinite(rate) and 1.0 <= rate <= 240.0):
            self._detail = f"the video gives no usable frame rate ({rate}); playing it at {STILL_FPS:g} fps"
            rate = STILL_FPS
        return rate

    def _open_video(self) -> cv2.VideoCapture:
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise CameraError(f"{self.path} is not a video OpenCV can read (not a video, corrupt, or "
                              "truncated before its index); use an MJPG .avi or an .mp4")
        return cap

    # --- frames in order ------------------------------------------------------------------------------

    def _next_image(self, decode: bool) -> np.ndarray | None:
        """The frame at self._position (None at the end); `decode=False` only skips it."""
        if self._pending is not None:
            image, self._pending = self._pending, None
            return image
        if self._cap is not None:
            if decode:
                ok, image = self._cap.read()
            else:  # grab() skips the colour conversion of a frame nobody will see
                ok, image = self._cap.grab(), np.empty(0, np.uint8)
            if ok and image is not None:
                return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image
            return self._video_ended()
        while True:
            count = len(self._images)
            if self._position >= count and not self.loop:
                return self._end(f"end of the {count} image(s)")
            path = self._images[self._position % count]
            if not decode:
                return np.empty(0, np.uint8)
            if count == 1 and self._still is not None:
                return self._still
            try:
                image = load_image(path)
                if count == 1:
                    self._still = image  # a looping single image is decoded once
                return image
            except ImageError as exc:
                # One bad file in a folder of stills is skipped (counted), not fatal to the stream.
                log.warning("skipping %s", exc)
                self._skipped += 1
                if self._skipped >= count and self._delivered == 0:
                    return self._end(f"none of the {count} images could be read")
                self._position += 1

    def _video_ended(self) -> np.ndarray | None:
        played = self._position
        if self.loop and played > 0:
            assert self._cap is not None
            self._cap.release()
            self._cap = self._open_video()
            ok, image = self._cap.read()
            if ok and image is not None:
                return image
        note = f"end of video after {played} frames"
        if self._expected and played < self._expected - 1:
            note += f" (its header says {self._expected}: the file looks truncated)"
        return self._end(note)

    def _end(self, detail: str) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        self._state = "ended"
        self._detail = "; ".join(d for d in (self._detail, detail) if d)

    def _take(self) -> Frame | None:
        image = self._next_image(decode=True)
        if image is None:
            return None
        frame = Frame(image, self._position, self._position / self.fps)
        self._position += 1
        self._delivered += 1
        return frame

    def read(self, timeout: float = 0.0) -> Frame | None:
        if self._state != "open":
            return None
        if not self.realtime:
            return self._take()
        now = time.monotonic()
        if self._start is None:
            self._start = now - self._position / self.fps
        wait = self._start + self._position / self.fps - now
        if wait > 0:
            if wait > timeout:
                time.sleep(max(0.0, timeout))
                return None
            time.sleep(wait)
        # A slow consumer gets the frame that is due now; the ones it missed are skipped (counted).
        due = int((time.monotonic() - self._start) * self.fps)
        while self._position < due and self._state == "open":
            if self._next_image(decode=False) is None:
                return None
            self._position += 1
            self._dropped += 1
        return self._take()

    def status(self) -> CameraStatus:
        detail = self._detail
        if self._skipped:
            detail = "; ".join(d for d in (detail, f"{self._skipped} unreadable image(s) skipped") if d)
        return CameraStatus(str(self.path), self._state, self._delivered, self._dropped, 0, detail)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        if self._state == "open":
            self._state = "closed"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
