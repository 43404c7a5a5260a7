"""Frame sources on real files through real cv2.VideoCapture; the camera thread on a missing device
and on a video file standing in for a camera (OpenCV opens both the same way)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.vision.camera import CameraError, CameraSource, FileFrameSource, Frame, FrameSource
from kiosk.vision.image import ImageError

FRAMES = 30


def write_video(path: Path, count: int = FRAMES, fps: float = 10.0, size: tuple[int, int] = (320, 240),
                fourcc: str = "MJPG") -> Path:
    """Frame i is grey level 8·(i mod 32) with its number drawn in, so order and identity show."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    assert writer.isOpened()
    for i in range(count):
        frame = np.full((size[1], size[0], 3), 8 * (i % 32), np.uint8)
        cv2.putText(frame, str(i), (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 1, (255, 255, 255), 2)
        writer.write(frame)
    writer.release()
    return path


def level(frame: Frame) -> int:
    """The grey level a frame was written with (read away from the drawn number)."""
    return round(float(frame.image[120:, :].mean()) / 8)


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return write_video(tmp_path / "clip.avi")


def drain(source: FrameSource, limit: int = 10_000) -> list[Frame]:
    frames = []
    while len(frames) < limit and (frame := source.read(timeout=1.0)) is not None:
        frames.append(frame)
    return frames


# --- FileFrameSource ------------------------------------------------------------------------------------

def test_video_every_frame_in_order_then_ended(video):
    source = FileFrameSource(video)
    assert isinstance(source, FrameSource)
    frames = drain(source)
    assert [f.index for f in frames] == list(range(FRAMES))
    assert [level(f) for f in frames] == list(range(FRAMES))
    assert [f.t for f in frames] == pytest.approx([i / 10 for i in range(FRAMES)])
    assert frames[0].image.shape == (240, 320, 3) and frames[0].image.dtype == np.uint8
    status = source.status()
    assert (status.state, status.frames, status.dropped) == ("ended", FRAMES, 0)
    assert "end of video after 30 frames" in status.detail and "truncated" not in status.detail
    assert source.read() is None and source.read(timeout=0.1) is None  # ended stays ended, no raising
    source.close()


def test_video_loops_with_growing_index(video):
    with FileFrameSource(video, loop=True) as source:
        frames = [source.read() for _ in range(75)]
        assert [f.index for f in frames] == list(range(75))
        assert [level(f) for f in frames] == [i % FRAMES for i in range(75)]
        assert frames[-1].t == pytest.approx(7.4)
        assert source.status().state == "open"
    assert source.status().state == "closed" and source.read() is None


def test_single_image_and_folder(tmp_path):
    for name, value in (("b.png", 100), ("a.png", 50), ("c.jpg", 150)):
        cv2.imwrite(str(tmp_path / name), np.full((48, 64, 3), value, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image", encoding="utf-8")
    single = FileFrameSource(tmp_path / "b.png")
    assert [int(f.image.mean()) for f in drain(single)] == [100]
    assert single.status().state == "ended"
    looping = FileFrameSource(tmp_path / "a.png", loop=True)
    assert [looping.read().index for _ in range(3)] == [0, 1, 2]
    folder = FileFrameSource(tmp_path)
    frames = drain(folder)
    assert [round(f.image.mean() / 50) for f in frames] == [1, 2, 3]  # sorted by name: a, b, c
    assert [f.t for f in frames] == pytest.approx([0.0, 0.1, 0.2])  # stills play as a 10 fps camera
    (tmp_path / "d.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with_bad = FileFrameSource(tmp_path)
    assert len(drain(with_bad)) == 3
    assert "1 unreadable image(s) skipped" in with_bad.status().detail


def test_realtime_pacing_and_dropping(video):
    source = FileFrameSource(video, realtime=True, fps=50.0)
    start = time.monotonic()
    frames = drain(source)
    elapsed = time.monotonic() - start
    assert [f.index for f in frames] == list(range(FRAMES))  # a quick consumer misses nothing
    assert 0.4 < elapsed < 10  # 30 frames at 50 fps ≈ 0.58 s
    assert source.read(timeout=0.0) is None
    slow = FileFrameSource(video, realtime=True, fps=50.0)
    seen = []
    while (frame := slow.read(timeout=1.0)) is not None:
        seen.append(frame.index)
        time.sleep(0.07)  # a consumer at ~14 fps on a 50 fps source
    status = slow.status()
    assert status.dropped > 0 and len(seen) + status.dropped <= FRAMES
    assert seen == sorted(set(seen)) and max(seen) >= FRAMES // 2  # in order, with gaps, to the end
    early = FileFrameSource(video, realtime=True, fps=2.0)
    assert early.read() is not None and early.read(timeout=0.0) is None  # frame 1 not due yet


def test_bad_inputs(tmp_path, video):
    with pytest.raises(CameraError, match="does not exist"):
        FileFrameSource(tmp_path / "missing.avi")
    (tmp_path / "empty.avi").write_bytes(b"")
    with pytest.raises(CameraError, match="empty"):
        FileFrameSource(tmp_path / "empty.avi")
    (tmp_path / "text.avi").write_text("this is not a video\n" * 50, encoding="utf-8")
    with pytest.raises(CameraError, match="not a video"):
        FileFrameSource(tmp_path / "text.avi")
    (tmp_path / "nothing").mkdir()
    with pytest.raises(CameraError, match="holds no images"):
        FileFrameSource(tmp_path / "nothing")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 half a jpeg")
    with pytest.raises(ImageError):
        FileFrameSource(tmp_path / "broken.jpg")
    mp4 = write_video(tmp_path / "clip.mp4", fourcc="mp4v")
    data = mp4.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[:len(data) // 2])  # its index (moov) was at the end
    with pytest.raises(CameraError, match="not a video"):
        FileFrameSource(tmp_path / "cut.mp4")


def test_truncated_video_ends_cleanly(tmp_path, video):
    data = video.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[:len(data) // 2])
    source = FileFrameSource(cut)
    frames = drain(source)
    assert 3 <= len(frames) < FRAMES
    # What is there is intact, except perhaps the last frame, cut mid-way: FFmpeg conceals its
    # missing part instead of failing (measured: frame 12 of 13 decodes a shade off).
    assert [level(f) for f in frames[:-1]] == list(range(len(frames) - 1))
    status = source.status()
    assert status.state == "ended" and "truncated" in status.detail


# --- CameraSource ---------------------------------------------------------------------------------------

def _absent_index() -> int:
    return next(i for i in range(63, 0, -1) if not os.path.exists(f"/dev/video{i}"))


def test_missing_camera_reports_and_retries_with_backoff():
    index = _absent_index()
    camera = CameraSource(index, first_retry_s=0.02, reconnect_max_s=0.08)
    deadline = time.monotonic() + 5
    while camera.status().reconnects < 6 and time.monotonic() < deadline:
        time.sleep(0.02)
    status = camera.status()
    assert status.state == "disconnected"
    assert f"/dev/video{index}" in status.detail and "does not exist" in status.detail
    assert status.reconnects >= 6
    assert "retrying in 0.08 s" in status.detail  # 0.02 → 0.04 → 0.08, capped there
    assert camera.read(timeout=0.05) is None
    start = time.monotonic()
    camera.close()
    assert time.monotonic() - start < 1.0
    assert camera.status().state == "closed"


def test_camera_thread_keeps_only_the_latest_frame(tmp_path):
    clip = write_video(tmp_path / "long.avi", count=200, size=(160, 120))
    with CameraSource(str(clip), first_retry_s=0.05, reconnect_max_s=0.1) as camera:
        first = camera.read(timeout=5.0)
        assert first is not None and first.image.shape == (120, 160, 3)
        time.sleep(0.3)  # the capture thread runs on, faster than this consumer
        status = camera.status()
        latest = camera.read()
        assert latest is not None and latest.index > first.index
        assert latest.index >= status.frames - 1  # the newest, not the next in a queue
        assert status.dropped > 0
        again = camera.read()  # None, or a frame captured since: never the same one twice
        assert again is None or again.index > latest.index
        # End of file is a "camera" that stopped delivering: disconnected, then re-opened.
        deadline = time.monotonic() + 10
        while camera.status().reconnects == 0 and time.monotonic() < deadline:
            camera.read(timeout=0.05)
        assert camera.status().reconnects >= 1
        assert camera.read(timeout=5.0) is not None  # frames again after the re-open
        start = time.monotonic()
    assert time.monotonic() - start < 1.5
    assert camera.status().state == "closed" and camera.read() is None
