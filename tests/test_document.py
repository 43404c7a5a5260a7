"""Finding, straightening and judging a paper document in camera frames, on self-made fixtures
(tests/make_receipts.py): real OpenCV, real Tesseract, no mocks."""

from __future__ import annotations

from functools import cache

import cv2
import make_receipts as mk
import numpy as np
import pytest

from kiosk.vision import document as doc
from kiosk.vision.document import AutoCapture, assess, find_document, order_corners, rectify

VARIANTS = ("good", "blurry", "small", "glare", "tilted")


@cache
def shot(kind: str, spec_index: int = 0) -> mk.Shot:
    return getattr(mk, kind)(mk.SPECS[spec_index], seed=spec_index)


def corner_error(found: np.ndarray, true: np.ndarray) -> float:
    return float(np.linalg.norm(found - true, axis=1).max())


@pytest.mark.parametrize("spec_index", range(len(mk.SPECS)))
@pytest.mark.parametrize("kind", VARIANTS)
def test_corners_found_within_a_few_pixels(kind, spec_index):
    s = shot(kind, spec_index)
    quad = find_document(s.image)
    assert quad is not None
    assert corner_error(quad, s.corners) < 3.0  # on a 1600x1200 frame


@pytest.mark.parametrize("seed", range(3))
def test_receipt_among_clutter_is_the_document_found(seed):
    s = mk.cluttered(mk.SPECS[seed], seed=seed)  # phone, card, coins, pen and a white sticky note
    quad = find_document(s.image)
    assert quad is not None and corner_error(quad, s.corners) < 3.0


@pytest.mark.parametrize("level", [60, 140, 180])
def test_dark_and_light_tables(level):
    rng = np.random.default_rng(level)
    paper, _ = mk.render_receipt()
    corners = mk.placement((paper.shape[1], paper.shape[0]), mk.FRAME, 0.8, -6.0, 10.0)
    image = mk.compose(paper, corners, mk.FRAME, rng, background=mk.table_background(mk.FRAME, rng, level))
    quad = find_document(image)
    assert quad is not None and corner_error(quad, corners) < 3.0


@pytest.mark.parametrize("seed", range(4))
def test_nothing_on_a_plain_table(seed):
    image = mk.plain_background(seed)
    assert find_document(image) is None
    quality = assess(image, None)
    assert quality.hint == "show_document" and not quality.ok and not quality.found


def test_uniform_gray_frame_is_not_a_document():
    image = np.full((720, 960, 3), 128, np.uint8)
    assert find_document(image) is None
    image[:] = 250  # a white wall is not a sheet of paper either
    assert find_document(image) is None


def test_paper_filling_the_frame_is_the_whole_frame():
    image = mk.filling_frame()
    h, w = image.shape[:2]
    quad = find_document(image)
    assert quad is not None
    np.testing.assert_allclose(quad, [[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    assert assess(image, quad).ok


def test_corner_order_is_the_same_whatever_order_they_come_in():
    square = np.array([[10, 10], [110, 14], [106, 210], [6, 206]], np.float32)
    rng = np.random.default_rng(0)
    for _ in range(10):
        np.testing.assert_array_equal(order_corners(rng.permutation(square)), square)


@pytest.mark.parametrize("spec_index", range(len(mk.SPECS)))
def test_rectified_receipt_has_the_paper_shape_and_reads(spec_index, ocr):
    s = shot("good", spec_index)
    flat, truth = mk.render_receipt(mk.SPECS[spec_index])
    out = rectify(s.image, find_document(s.image))
    h, w = out.shape[:2]
    assert w / h == pytest.approx(flat.shape[1] / flat.shape[0], rel=0.03)
    text = ocr.read(out, psm=6).text
    assert truth["receipt_number"] in text and truth["total"] in text


def test_rectify_caps_the_size_but_never_enlarges():
    s = shot("good")
    quad = find_document(s.image)
    assert max(rectify(s.image, quad, max_side=500).shape[:2]) == 500
    natural = rectify(s.image, quad, max_side=None).shape[:2]
    assert rectify(s.image, quad, max_side=5000).shape[:2] == natural


@pytest.mark.parametrize("spec_index", range(len(mk.SPECS)))
@pytest.mark.parametrize("kind,hint", [("good", None), ("blurry", "hold_still"), ("small", "move_closer"),
                                       ("glare", "reduce_glare"), ("tilted", "straighten")])
def test_quality_hints(kind, hint, spec_index):
    s = shot(kind, spec_index)
    quality = assess(s.image, find_document(s.image))
    assert quality.found and quality.hint == hint and quality.ok == (hint is None)


def test_quality_measures_are_in_the_expected_direction():
    good, blurry, small, glare = (assess(s.image, find_document(s.image))
                                  for s in (shot("good"), shot("blurry"), shot("small"), shot("glare")))
    assert blurry.sharpness < doc.MIN_SHARPNESS < good.sharpness
    assert glare.glare > doc.MAX_GLARE and good.glare == 0.0
    assert small.coverage < 0.1 < good.coverage and small.fill < doc.MIN_FILL < good.fill
    tilted = assess(shot("tilted").image, find_document(shot("tilted").image))
    assert good.tilt < 0.15 < doc.MAX_TILT < tilted.tilt


def test_quality_is_frozen():
    quality = assess(shot("good").image, find_document(shot("good").image))
    with pytest.raises(AttributeError):
        quality.ok = False  # type: ignore[misc]


def _run(capture: AutoCapture, frames):
    events = []
    for i, (frame, t, phase) in enumerate(frames):
        captured = capture.feed(frame, t)
        events.append((i, phase, capture.hint, captured))
    return events


@pytest.fixture(scope="module")
def slide_in():
    return mk.sequence(mk.SPECS[2])


def test_autocapture_captures_once_after_the_receipt_is_still(slide_in):
    capture = AutoCapture(still_frames=4, still_seconds=0.3)
    events = _run(capture, slide_in)
    taken = [(i, phase, c) for i, phase, _, c in events if c is not None]
    assert len(taken) == 1
    i, phase, captured = taken[0]
    first_still = next(k for k, (_, _, p) in enumerate(slide_in) if p == "still")
    assert phase == "still"
    # Held for at least 4 frames and 0.3 s (15 fps: 5 frame intervals) before the capture.
    assert i >= first_still + 4 and slide_in[i][1] - slide_in[first_still][1] >= 0.3
    assert [h for _, p, h, _ in events if p == "absent"] == ["show_document"] * 3
    assert all(h == "hold_still" for _, p, h, _ in events if p == "moving")  # smeared by motion
    assert events[i][2] is None  # nothing more to ask once captured
    # The capture is the straightened receipt, sharp enough to pass the gate.
    flat, _ = mk.render_receipt(mk.SPECS[2])
    h, w = captured.image.shape[:2]
    assert w / h == pytest.approx(flat.shape[1] / flat.shape[0], rel=0.03)
    assert captured.quality.ok and captured.t == slide_in[i][1]


def test_autocapture_never_takes_a_blurred_document():
    frames = [(shot("blurry").image, k / 15, "still") for k in range(12)]
    capture = AutoCapture()
    assert all(c is None for *_, c in _run(capture, frames))
    assert capture.hint == "hold_still"


def test_autocapture_waits_for_the_time_as_well_as_the_frames():
    image = shot("good").image
    capture = AutoCapture(still_frames=3, still_seconds=1.0)
    results = [capture.feed(image, k * 0.1) for k in range(12)]  # 10 fps
    assert [k for k, r in enumerate(results) if r is not None] == [10]


def test_autocapture_rearms_when_the_document_is_taken_away():
    good, table = shot("good").image, mk.plain_background()
    capture = AutoCapture(still_frames=2, still_seconds=0.0, rearm_frames=2)
    feeds = [good] * 4 + [table] * 2 + [good] * 3
    results = [capture.feed(f, k / 10) for k, f in enumerate(feeds)]
    assert [k for k, r in enumerate(results) if r is not None] == [1, 7]


def test_autocapture_restarts_the_count_when_the_paper_moves():
    rng = np.random.default_rng(1)
    paper, _ = mk.render_receipt()
    frame = (960, 720)
    background = mk.table_background(frame, rng)
    frames = []
    for k, x in enumerate([0, 0, 0, 60, 60, 60, 60]):  # moved after three frames, then still
        corners = mk.placement((paper.shape[1], paper.shape[0]), frame, 0.85, 2.0, 6.0, (x, 0))
        frames.append((mk.compose(paper, corners, frame, rng, background=background), k / 10, "x"))
    capture = AutoCapture(still_frames=4, still_seconds=0.0)
    results = [capture.feed(f, t) for f, t, _ in frames]
    assert [k for k, r in enumerate(results) if r is not None] == [6]


@pytest.fixture(scope="module")
def ocr():
    from kiosk.vision.ocr import Ocr

    return Ocr()


def test_same_corners_whatever_the_frame_size():
    image = shot("good").image
    small = cv2.resize(image, (640, 480), interpolation=cv2.INTER_AREA)
    quad = find_document(small)
    assert quad is not None
    np.testing.assert_allclose(quad * 2.5, find_document(image), atol=4.0)
