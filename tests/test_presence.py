"""Presence: the rule on synthetic detection sequences, the motion gate and face path on real videos
written with cv2.VideoWriter and read back through FileFrameSource, and the vtest.avi walk-by."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import shared_dataset
from make_scenes import shop_scene, write_video

from kiosk.events import CustomerApproaching, CustomerArrived, CustomerLeft
from kiosk.vision.camera import FileFrameSource
from kiosk.vision.faces import Box, Face, FaceDetector
from kiosk.vision.presence import PresenceSettings, PresenceTracker, estimate_distance

W, H = 640, 480


def face(width: float, frontal: bool = True, x: float = 200, y: float = 100) -> Face:
    """A detection as BlazeFace reports one: frontal = nose midway between the ears."""
    nose_x = x + width / 2 if frontal else x + width * 0.1
    points = ((x + 0.3 * width, y + 0.35 * width), (x + 0.7 * width, y + 0.35 * width),
              (nose_x, y + 0.55 * width), (x + width / 2, y + 0.75 * width),
              (x, y + 0.45 * width), (x + width, y + 0.45 * width))
    return Face((x, y, width, width), 0.9, points)


def kinds(events) -> list[str]:
    return [type(e).__name__ for e in events]


# --- the rule ------------------------------------------------------------------------------------------

def test_arrives_after_k_of_n_detections():
    tracker = PresenceTracker(None, PresenceSettings(arrive_hits=2, arrive_window=4))
    seen = face(40)
    assert tracker.observe(0.0, [seen], W) == ()
    assert tracker.observe(0.2, [], W) == ()
    assert tracker.observe(0.4, [], W) == ()
    assert tracker.observe(0.6, [], W) == ()  # window now: miss, miss, miss + the old hit drops out next
    assert tracker.observe(0.8, [seen], W) == ()  # 1 of the last 4
    assert tracker.observe(1.0, [seen], W) == (CustomerArrived(1.0, "face"),)
    assert tracker.present


def test_no_flicker_then_leave_with_dwell():
    tracker = PresenceTracker(None, PresenceSettings(leave_after_s=3.0))
    tracker.observe(0.0, [face(40)], W)
    assert kinds(tracker.observe(0.4, [face(40)], W)) == ["CustomerArrived"]
    tracker.observe(2.0, [face(40)], W)
    # The face turns away for 2.9 s: detections find nothing, but nobody "leaves".
    for t in np.arange(2.2, 4.95, 0.2):
        assert tracker.observe(float(t), [], W) == ()
    assert tracker.observe(5.0, [face(40)], W) == ()  # back: still the same visit, no new arrival
    for t in np.arange(5.2, 7.95, 0.2):
        assert tracker.observe(float(t), [], W) == ()
    assert tracker.present
    assert tracker.observe(8.0, [], W) == (CustomerLeft(8.0, 4.6),)  # 3 s after 5.0; seen 0.4 → 5.0
    assert not tracker.present
    assert tracker.observe(8.2, [face(40)], W) == ()  # a new visit needs k fresh hits again


def test_unchanged_scene_keeps_a_still_customer():
    tracker = PresenceTracker(None)
    tracker.observe(0.0, [face(40)], W)
    tracker.observe(0.2, [face(40)], W)
    for t in np.arange(0.4, 20, 0.1):  # no detector runs: the scene has not changed since
        assert tracker.observe(float(t), None, W, unchanged=True) == ()
    assert tracker.present
    assert kinds(tracker.observe(20.0, [], W)) == []  # changed, face gone: the T countdown starts
    assert kinds(tracker.observe(23.0, [], W)) == ["CustomerLeft"]


def test_approaching_needs_a_near_face_that_looks_at_the_screen():
    tracker = PresenceTracker(None)
    near = 0.15 * W  # 96 px: 0.14 / (0.15 · 2·tan 31°) = 0.78 m
    assert estimate_distance(near, W) == pytest.approx(0.777, abs=0.01)
    assert estimate_distance(0.0, W) == float("inf")
    tracker.observe(0.0, [face(30)], W)
    assert kinds(tracker.observe(0.2, [face(30)], W)) == ["CustomerArrived"]  # 30 px: ~3.9 m away
    assert tracker.observe(0.4, [face(near, frontal=False)], W) == ()  # near but turned away
    events = tracker.observe(0.6, [face(30), face(near)], W)
    assert events == (CustomerApproaching(0.6, 0.78),)
    assert tracker.observe(0.8, [face(near)], W) == ()  # once a visit


def test_sustained_person_motion_arrives_and_short_bursts_do_not():
    tracker = PresenceTracker(None, PresenceSettings(motion_arrive_s=1.0, motion_gap_s=0.5))
    for t in (0.0, 0.1, 0.2, 0.9, 1.0, 1.1):  # the 0.7 s pause breaks the run
        assert tracker.observe(t, [], W, person_motion=True) == ()
    events = [e for t in np.arange(1.2, 2.15, 0.1)
              for e in tracker.observe(float(t), [], W, person_motion=True)]
    assert events == [CustomerArrived(pytest.approx(1.9), "motion")]
    only_faces = PresenceTracker(None, PresenceSettings(motion_arrive_s=0))
    assert all(only_faces.observe(t / 10, [], W, person_motion=True) == () for t in range(50))


# --- real frames ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    cv2.setNumThreads(1)
    return FaceDetector()


class CountingDetector:
    """The real detector, counting how often presence asks it to look."""

    def __init__(self, detector: FaceDetector):
        self.detector = detector
        self.calls = 0

    def detect(self, image: np.ndarray, region: Box | None = None) -> tuple[Face, ...]:
        self.calls += 1
        return self.detector.detect(image, region)


def with_face(width: int, centre: tuple[int, int] = (W // 2, H // 2)) -> np.ndarray:
    """The shop scene with the astronaut's head pasted in, scaled so her face box is `width` px."""
    astronaut = cv2.imread(str(shared_dataset("faces", "skimage", "astronaut.png")))[40:300, 110:340]
    scale = width / 94  # her face box is 94 px wide in the original
    head = cv2.resize(astronaut, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    scene = shop_scene()
    h, w = head.shape[:2]
    top, left = centre[1] - h // 2, centre[0] - w // 2
    scene[top:top + h, left:left + w] = head
    return scene


def run(tracker: PresenceTracker, source: FileFrameSource) -> list:
    events, last = [], 0.0
    while (frame := source.read()) is not None:
        events.extend(tracker.update(frame.image, frame.t))
        last = frame.t
    return events + list(tracker.finish(last))


def test_static_scene_skips_the_detector(tmp_path, detector):
    counting = CountingDetector(detector)
    tracker = PresenceTracker(counting, PresenceSettings(keepalive_s=2.0))
    events = run(tracker, FileFrameSource(write_video(tmp_path / "static.avi", [shop_scene()] * 50)))
    assert events == []
    stats = tracker.stats()
    assert counting.calls <= 3 * 3  # runs at 0, 2 and 4 s (a run: whole frame + 2 regions)
    assert stats.detections == 3 and stats.skipped_static == 47 and stats.frames == 50


def test_still_customer_arrives_approaches_and_stays(tmp_path, detector):
    counting = CountingDetector(detector)
    tracker = PresenceTracker(counting, PresenceSettings(keepalive_s=1.0))
    events = run(tracker, FileFrameSource(write_video(tmp_path / "still.avi", [with_face(94)] * 60)))
    # Detections at 0 and 1 s (keep-alive): the second hit is the arrival; the face is 94 px of 640,
    # frontal: ~0.8 m. Unchanged afterwards: she stays until the stream ends at 5.9 s.
    assert kinds(events) == ["CustomerArrived", "CustomerApproaching", "CustomerLeft"]
    assert events[0] == CustomerArrived(1.0, "face")
    assert events[1].t == 1.0 and 0.65 < events[1].distance_m < 0.95
    assert events[2] == CustomerLeft(5.9, 4.9)
    assert counting.calls == tracker.stats().detections == 6  # the whole frame finds her every time


def test_regions_reach_a_face_the_whole_frame_misses(tmp_path, detector):
    # 60 px of 640 (≈1.2 m): too small for the model on the whole frame (measured limit ~12 %).
    image = with_face(60)
    assert detector.detect(image) == ()
    tracker = PresenceTracker(detector, PresenceSettings(keepalive_s=0.5))
    events = run(tracker, FileFrameSource(write_video(tmp_path / "far.avi", [image] * 20)))
    assert kinds(events) == ["CustomerArrived", "CustomerApproaching", "CustomerLeft"]
    assert 1.0 < events[1].distance_m < 1.5


def test_person_sized_motion_and_lighting(tmp_path):
    scene = shop_scene()
    frames = [scene.copy() for _ in range(10)]  # 1 s empty
    for i in range(30):  # 3 s of a dark figure (70×240 px) crossing
        frame = scene.copy()
        cv2.rectangle(frame, (40 + 15 * i, 150), (110 + 15 * i, 390), (40, 35, 30), -1)
        frames.append(frame)
    frames += [scene.copy() for _ in range(50)]  # 5 s empty again
    tracker = PresenceTracker(None)
    events = run(tracker, FileFrameSource(write_video(tmp_path / "walk.avi", frames)))
    assert kinds(events) == ["CustomerArrived", "CustomerLeft"]
    arrived, left = events
    assert arrived.reason == "motion" and 1.9 <= arrived.t <= 2.3  # motion from 1.0 s, sustained 1 s
    assert left.t == pytest.approx(4.0 + 3.0) and left.dwell_s == pytest.approx(4.0 - arrived.t)
    flicker = [cv2.convertScaleAbs(scene, alpha=1.0, beta=60 * (i % 2)) for i in range(40)]
    tracker = PresenceTracker(None)
    assert run(tracker, FileFrameSource(write_video(tmp_path / "flicker.avi", flicker))) == []


def test_rate_cap_limits_detections_on_a_busy_scene(tmp_path, detector):
    frames = []
    for i in range(50):
        frame = shop_scene()
        cv2.rectangle(frame, (10 * i, 150), (10 * i + 80, 400), (40, 35, 30), -1)
        frames.append(frame)
    tracker = PresenceTracker(detector, PresenceSettings(max_detection_hz=5.0))
    run(tracker, FileFrameSource(write_video(tmp_path / "busy.avi", frames)))
    stats = tracker.stats()
    assert stats.detections == 25 and stats.skipped_rate == 25  # 5 s at 10 fps, 5 per second


# --- the vtest.avi walk-by ------------------------------------------------------------------------------

@pytest.mark.slow
def test_vtest_walk_by(detector):
    """People walk through the whole clip (79.4 s): one visit, arriving on motion within a couple of
    seconds; nobody is near enough for "approaching". Padded with the empty square (the per-pixel
    median over the clip), the leave comes from the tracker itself, 3 s after the walkers vanish."""
    tracker = PresenceTracker(detector)
    source = FileFrameSource(shared_dataset("faces", "opencv_samples", "vtest.avi"))
    clip, events = [], []
    while (frame := source.read()) is not None:
        clip.append(frame.image)
        events.extend(tracker.update(frame.image, frame.t))
    events.extend(tracker.finish(frame_time := (len(clip) - 1) / 10))
    assert kinds(events) == ["CustomerArrived", "CustomerLeft"]
    assert events[0].reason == "motion" and 0.5 <= events[0].t <= 2.0
    assert events[1].t == pytest.approx(frame_time) == 79.4 and 75 < events[1].dwell_s < 79.4
    assert tracker.stats().detections < 0.6 * len(clip)  # the rate cap: 5 of the 10 frames a second

    empty = np.median(np.stack(clip[::16]), axis=0).astype(np.uint8)
    tracker = PresenceTracker(detector)
    frames = [empty] * 20 + clip + [empty] * 60  # 2 s empty, the clip, 6 s empty
    events = []
    for i, image in enumerate(frames):
        events.extend(tracker.update(image, i / 10))
    assert kinds(events) == ["CustomerArrived", "CustomerLeft"]
    arrived, left = events
    assert 2.0 <= arrived.t <= 4.0
    clip_end = (20 + len(clip)) / 10
    assert clip_end + 2.5 <= left.t <= clip_end + 3.5  # 3 s after the walkers' last motion
    assert left.dwell_s == pytest.approx(left.t - 3.0 - arrived.t, abs=0.3)
