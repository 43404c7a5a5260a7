"""Find a paper document in a camera frame, straighten it, judge whether it is good enough to read,
and tell the customer what to change until it is.

The pipeline is deliberately classical (OpenCV only, no model): the paper is the largest bright,
convex, four-cornered region; its sides are then refined on the full-resolution frame so the
corners land within a pixel or two. Quality is measured on the straightened document at a fixed
size, so the numbers do not depend on how large the paper appears.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# A quadrilateral as a (4, 2) float32 array, always ordered top-left, top-right, bottom-right,
# bottom-left as the customer holds the paper (see `order_corners`).
Quad = np.ndarray

# Localisation runs on a copy whose long side is this: paper edges are large structures, and at
# 640 px a 1600x1200 frame takes ~10 ms on one x86 core (corners are then refined at full size).
WORK_SIDE = 640
# Smallest paper worth reporting, as a share of the frame: below ~4 % a receipt's print is a
# few pixels high and the region is as likely a label or a phone screen.
MIN_AREA_SHARE = 0.04
# The region must fill its four-cornered outline (torn or L-shaped blobs are not one sheet).
MIN_SOLIDITY = 0.88
# Corner angles outside this range mean a sliver or a badly broken outline, not a photo of paper.
MIN_CORNER_ANGLE, MAX_CORNER_ANGLE = 35.0, 145.0
# Receipts can be long (1:6) but not thinner: a thin bright band is a table edge or a lamp.
MIN_SIDE_RATIO = 0.15
# Paper must be clearly brighter than what is around it (gray levels, mean inside vs ring outside).
MIN_EDGE_CONTRAST = 18.0
# "The paper fills the frame": most pixels bright, some dark print, and a clear ink/paper gap.
FULL_FRAME_PAPER_SHARE = 0.80
FULL_FRAME_MIN_INK_GAP = 60.0

# Quality is measured on the document straightened to this long side.
ANALYSIS_SIDE = 640
# `sharpness` below which print is too soft to read. Measured on the photographed fixtures at
# ANALYSIS_SIDE: sharp photos 460-600, SROIE scans 690-6400, Gaussian blur sigma 2.0 103-118,
# sigma 2.5 65-73, sigma 3.5 (the "blurry" fixture) 25-36, a 9 px hand-motion smear 60-62 (and
# Tesseract already lost the date there), 15-25 px smears 27-42. 100 keeps a margin above all
# the unreadable ones; a customer asked to hold still for a moment more loses little.
MIN_SHARPNESS = 100.0
# Share of the document covered by blown-out highlight blobs above which text is probably lost
# (a ceiling-light reflection on glossy thermal paper). Fixture spot: 11-13 %; clean photos and
# SROIE scans: 0 %. 2 % is a blob about the size of two words.
MAX_GLARE = 0.02
# How much of the frame the paper spans along its better-filled axis. The receipt fixtures fill
# 0.85 held normally and 0.34 "small"; below ~45 % a till receipt's 2-3 mm print is under ~10 px
# high on a 1280x720 camera, where Tesseract starts dropping characters.
MIN_FILL = 0.45
# Keystone (1 - shorter/longer of opposite sides) above which the customer is asked to hold the
# paper square to the camera. Through a webcam-like lens a receipt filling 3/4 of the frame height
# gives 0.12 tipped 10 degrees, 0.23 at 20, 0.32 at 30 and 0.45 at 50; beyond ~30 degrees the far
# end's print is squeezed to 2/3 and rectification has to stretch it back from too few pixels.
MAX_TILT = 0.3

HINT_SHOW = "show_document"
HINT_CLOSER = "move_closer"
HINT_STRAIGHTEN = "straighten"
HINT_STILL = "hold_still"
HINT_GLARE = "reduce_glare"


@dataclass(frozen=True)
class Quality:
    found: bool
    sharpness: float  # contrast-normalised 2nd-derivative variance, weakest direction (see sharpness())
    glare: float  # share of the document inside saturated near-white blobs (0-1)
    coverage: float  # document area / frame area (0-1)
    fill: float  # how far the document spans the frame along its better-filled axis (0-1)
    tilt: float  # keystone: 1 - shorter/longer of opposite sides (0 = facing the camera squarely)
    ok: bool
    hint: str | None  # what the customer should do next; None when ok


NOT_FOUND = Quality(False, 0.0, 0.0, 0.0, 0.0, 0.0, False, HINT_SHOW)


def order_corners(points: np.ndarray) -> Quad:
    """Four points → TL, TR, BR, BL: clockwise around the centre, starting at the corner nearest the
    image's top-left. Consistent for any rotation up to ±45 degrees."""
    pts = np.asarray(points, np.float32).reshape(4, 2)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]  # image y points down, so increasing angle is clockwise
    start = int(np.argmin(pts.sum(axis=1)))
    return np.roll(pts, -start, axis=0)


def _to_gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image


def _corner_angles(quad: Quad) -> np.ndarray:
    out = []
    for i in range(4):
        a, b, c = quad[i - 1], quad[i], quad[(i + 1) % 4]
        v1, v2 = a - b, c - b
        cos = float(np.dot(v1, v2) / (np.linalg.norm(v1) * np.linalg.norm(v2) + 1e-9))
        out.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    return np.array(out)


def _plausible(quad: Quad, region_area: float, frame_area: float) -> bool:
    area = cv2.contourArea(quad)
    if area < MIN_AREA_SHARE * frame_area or not cv2.isContourConvex(quad.astype(np.float32)):
        return False
    if region_area / max(area, 1.0) < MIN_SOLIDITY:
        return False
    angles = _corner_angles(quad)
    if angles.min() < MIN_CORNER_ANGLE or angles.max() > MAX_CORNER_ANGLE:
        return False
    sides = np.linalg.norm(quad - np.roll(quad, -1, axis=0), axis=1)
    return sides.min() / sides.max() >= MIN_SIDE_RATIO


def _contrast(gray: np.ndarray, quad: Quad) -> float:
    """Mean gray just inside the outline minus just outside it (frame borders count as paper)."""
    h, w = gray.shape
    band = max(3, int(0.02 * max(h, w)))
    inside = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(inside, quad.astype(np.int32), 255)
    kernel = np.ones((2 * band + 1, 2 * band + 1), np.uint8)
    ring_out = cv2.dilate(inside, kernel) & ~inside
    ring_in = inside & ~cv2.erode(inside, kernel)
    if cv2.countNonZero(ring_out) < band * 8:  # the outline runs along the frame all round
        return float("inf")
    return float(cv2.mean(gray, ring_in)[0] - cv2.mean(gray, ring_out)[0])


def _quads_from_mask(mask: np.ndarray) -> list[tuple[Quad, float]]:
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    found = []
    for contour in contours:
        area = cv2.contourArea(contour)
        if area < MIN_AREA_SHARE * mask.size:
            continue
        hull = cv2.convexHull(contour)
        peri = cv2.arcLength(hull, True)
        for eps in (0.01, 0.02, 0.03, 0.05):
            approx = cv2.approxPolyDP(hull, eps * peri, True)
            if len(approx) == 4:
                found.append((approx.reshape(4, 2).astype(np.float32), area))
                break
    return found


def _candidate_masks(gray: np.ndarray) -> list[np.ndarray]:
    """Binary maps where the paper should be one solid blob, made two independent ways."""
    blur = cv2.GaussianBlur(gray, (5, 5), 0)
    size = max(gray.shape)
    close = cv2.getStructuringElement(cv2.MORPH_RECT, (size // 40 | 1, size // 40 | 1))
    # 1. Paper is the bright class: Otsu, with print holes closed and thin bridges to clutter cut.
    _, bright = cv2.threshold(blur, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, close)
    bright = cv2.morphologyEx(bright, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    # 2. Edges: the paper outline closed into a ring and filled; survives uneven lighting where a
    # single global threshold cuts the sheet in two.
    median = float(np.median(blur))
    edges = cv2.Canny(cv2.GaussianBlur(gray, (7, 7), 0), 0.5 * median, 1.2 * median + 20)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    filled = np.zeros_like(edges)
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(filled, contours, -1, 255, cv2.FILLED)
    filled = cv2.erode(filled, np.ones((3, 3), np.uint8))
    return [bright, filled]


def _fills_frame(gray: np.ndarray) -> bool:
    """Paper so close that no outline is visible: mostly bright, some dark print, clearly apart.
    A plain or textured surface splits near its median under Otsu and fails the share test."""
    blur = cv2.GaussianBlur(gray, (3, 3), 0)
    _, mask = cv2.threshold(blur, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    share = cv2.countNonZero(mask) / mask.size
    if not FULL_FRAME_PAPER_SHARE <= share < 0.995:
        return False
    return cv2.mean(blur, mask)[0] - cv2.mean(blur, ~mask)[0] >= FULL_FRAME_MIN_INK_GAP


def _refine(gray: np.ndarray, quad: Quad, search: float) -> Quad:
    """Move each side onto the strongest brightness step within `search` px of it (full resolution),
    fit a line through those points and intersect neighbouring lines: sub-pixel corners from a
    coarse outline. A side whose fit fails keeps its coarse position."""
    smooth = cv2.GaussianBlur(gray, (5, 5), 0).astype(np.float32)
    h, w = smooth.shape
    centre = quad.mean(axis=0)
    lines = []
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        direction = (b - a) / (np.linalg.norm(b - a) + 1e-9)
        normal = np.array([-direction[1], direction[0]], np.float32)
        if np.dot(centre - a, normal) < 0:
            normal = -normal  # pointing into the paper
        ts = np.linspace(0.1, 0.9, 40, dtype=np.float32)[:, None]
        base = a + ts * (b - a)
        offsets = np.arange(-search, search + 1, dtype=np.float32)
        samples = base[:, None, :] + offsets[None, :, None] * normal  # (40, k, 2)
        xs = np.clip(samples[..., 0], 0, w - 1)
        ys = np.clip(samples[..., 1], 0, h - 1)
        values = cv2.remap(smooth, xs, ys, cv2.INTER_LINEAR)
        step = np.diff(values, axis=1)  # paper is brighter inwards: look for the largest rise
        best = step.argmax(axis=1)
        strong = step.max(axis=1) > 4.0
        inside_frame = (samples[:, 0, 0] > 1) & (samples[:, 0, 0] < w - 2) & \
                       (samples[:, 0, 1] > 1) & (samples[:, 0, 1] < h - 2)
        keep = strong & inside_frame
        if keep.sum() < 10:
            lines.append((a, direction))
            continue
        points = base[keep] + (offsets[best[keep]] + 0.5)[:, None] * normal
        vx, vy, x0, y0 = cv2.fitLine(points.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
        lines.append((np.array([x0, y0], np.float32), np.array([vx, vy], np.float32)))
    out = []
    for i in range(4):
        (p1, d1), (p2, d2) = lines[i - 1], lines[i]
        m = np.array([[d1[0], -d2[0]], [d1[1], -d2[1]]], np.float64)
        if abs(np.linalg.det(m)) < 1e-6:
            out.append(quad[i])
            continue
        s, _ = np.linalg.solve(m, (p2 - p1).astype(np.float64))
        corner = p1 + s * d1
        # A refinement that wanders further than the search window is a fit to clutter: keep coarse.
        out.append(corner if np.linalg.norm(corner - quad[i]) <= 2 * search else quad[i])
    return np.array(out, np.float32)


def find_document(image: np.ndarray) -> Quad | None:
    """The largest plausible sheet of paper in a BGR or gray frame, corners ordered TL, TR, BR, BL
    in the frame's pixels; the whole frame when the paper fills it; None when there is none."""
    gray = _to_gray(image)
    h, w = gray.shape
    scale = min(1.0, WORK_SIDE / max(h, w))
    small = cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) \
        if scale < 1.0 else gray
    frame_area = float(small.size)
    best: tuple[float, Quad] | None = None
    for mask in _candidate_masks(small):
        for quad, region_area in _quads_from_mask(mask):
            quad = order_corners(quad)
            if not _plausible(quad, region_area, frame_area):
                continue
            if _contrast(small, quad) < MIN_EDGE_CONTRAST:
                continue
            area = cv2.contourArea(quad)
            if area > 0.97 * frame_area and not _fills_frame(small):
                continue  # "the whole frame" must look like paper with print, not a blank wall
            if best is None or area > best[0]:
                best = (area, quad)
    if best is None:
        if _fills_frame(small):
            return np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
        return None
    quad = best[1] / scale
    return order_corners(_refine(gray, quad, search=max(3.0, 3.0 / scale)))


# Focal length assumed, as a share of the frame's long side, when the outline itself cannot tell
# it (sides nearly parallel): 0.8 is a ~65 degree field of view, a typical webcam.
DEFAULT_FOCAL = 0.8


def paper_aspect(quad: Quad, frame_size: tuple[int, int]) -> float:
    """Width/height of the real rectangle seen as `quad` (Zhang & He, "Whiteboard scanning", 2007):
    square pixels, principal point at the frame centre, focal length from the two vanishing points
    when they are well defined, else DEFAULT_FOCAL. On the fixtures, averaging opposite sides was
    5 % off at 20 degrees of tilt and 18 % at 35; this stays within 4 % up to 50."""
    w, h = frame_size
    tl, tr, br, bl = (np.array([p[0] - w / 2, p[1] - h / 2, 1.0]) for p in order_corners(quad))
    k2 = np.dot(np.cross(tl, br), bl) / np.dot(np.cross(tr, br), bl)
    k3 = np.dot(np.cross(tl, br), tr) / np.dot(np.cross(bl, br), tr)
    n2, n3 = k2 * tr - tl, k3 * bl - tl  # directions of the top and left edges, up to scale
    f2 = (DEFAULT_FOCAL * max(w, h)) ** 2
    if abs(k2 - 1) > 0.15 and abs(k3 - 1) > 0.15:  # two clear vanishing points give the focal length
        estimate = -(n2[0] * n3[0] + n2[1] * n3[1]) / (n2[2] * n3[2])
        if (0.3 * max(w, h)) ** 2 < estimate < (3.0 * max(w, h)) ** 2:
            f2 = estimate
    top, left = n2[0] ** 2 + n2[1] ** 2 + f2 * n2[2] ** 2, n3[0] ** 2 + n3[1] ** 2 + f2 * n3[2] ** 2
    aspect = np.sqrt(top / left)
    if not np.isfinite(aspect) or aspect <= 0:  # a degenerate outline: fall back to the sides
        sides = np.linalg.norm(np.roll(quad, -1, axis=0) - quad, axis=1)
        aspect = (sides[0] + sides[2]) / max(sides[1] + sides[3], 1e-6)
    return float(aspect)


def _target_size(quad: Quad, frame_size: tuple[int, int], max_side: int | None) -> tuple[int, int]:
    """Width and height of the straightened sheet: the true aspect, as many pixels as the outline
    covers, scaled down to max_side."""
    aspect = paper_aspect(quad, frame_size)
    height = np.sqrt(cv2.contourArea(quad.astype(np.float32)) / aspect)
    width = height * aspect
    if max_side:
        s = max_side / max(width, height)
        width, height = width * s, height * s
    return max(8, round(width)), max(8, round(height))


def rectify(image: np.ndarray, quad: Quad, max_side: int | None = 2000) -> np.ndarray:
    """The document straightened to a rectangle with the paper's true aspect, top-left corner
    first. The long side is capped at `max_side` (None: no cap); never enlarged beyond the size
    the paper appears at, which would add no detail and cost OCR time."""
    quad = order_corners(quad)
    frame = (image.shape[1], image.shape[0])
    width, height = _target_size(quad, frame, max_side)
    if max_side:
        natural = _target_size(quad, frame, None)
        if max(natural) < max_side:
            width, height = natural
    dst = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32)
    m = cv2.getPerspectiveTransform(quad.astype(np.float32), dst)
    return cv2.warpPerspective(image, m, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)


def _view(image: np.ndarray, quad: Quad) -> np.ndarray:
    """The document straightened to exactly ANALYSIS_SIDE on its long side (up or down)."""
    quad = order_corners(quad)
    width, height = _target_size(quad, (image.shape[1], image.shape[0]), ANALYSIS_SIDE)
    dst = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32)
    m = cv2.getPerspectiveTransform(quad.astype(np.float32), dst)
    return cv2.warpPerspective(_to_gray(image), m, (width, height), flags=cv2.INTER_AREA,
                               borderMode=cv2.BORDER_REPLICATE)


# Second differences along x, y and both diagonals: a hand-motion smear only softens edges across
# its direction, so the weakest direction is the one that tells.
_DIRECTIONS = [np.array(k, np.float32) for k in (
    [[0, 0, 0], [1, -2, 1], [0, 0, 0]], [[0, 1, 0], [0, -2, 0], [0, 1, 0]],
    [[1, 0, 0], [0, -2, 0], [0, 0, 1]], [[0, 0, 1], [0, -2, 0], [1, 0, 0]])]


def sharpness(view: np.ndarray) -> float:
    """Variance of the second derivative in its weakest direction, after stretching the 1st-99th
    percentile to 0-255 so dim light or faint print do not pass for blur. Margins (often blank or
    the paper edge) are left out."""
    h, w = view.shape
    core = view[h // 20: h - h // 20, w // 20: w - w // 20].astype(np.float32)
    lo, hi = np.percentile(core, (1, 99))
    core = ((core - lo) * (255.0 / max(hi - lo, 16.0))).astype(np.float32)
    return float(min(cv2.filter2D(core, cv2.CV_32F, k).var() for k in _DIRECTIONS))


def glare_share(view: np.ndarray) -> float:
    """Share of the document in blown-out blobs: saturated pixels clearly brighter than the paper
    around them, grown together and counted only in blobs large enough to hide a word."""
    paper = float(np.percentile(view, 60))
    saturated = ((view >= 248) & (view > paper + 10)).astype(np.uint8) * 255
    saturated = cv2.morphologyEx(saturated, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(saturated)
    min_blob = 0.002 * view.size
    blobs = stats[1:, cv2.CC_STAT_AREA]
    return float(blobs[blobs >= min_blob].sum() / view.size) if n > 1 else 0.0


def assess(image: np.ndarray, quad: Quad | None) -> Quality:
    """How good a frame is for reading the document at `quad`, and the one thing to fix first."""
    if quad is None:
        return NOT_FOUND
    quad = order_corners(quad)
    h, w = image.shape[:2]
    coverage = float(cv2.contourArea(quad)) / (w * h)
    x0, y0 = quad.min(axis=0)
    x1, y1 = quad.max(axis=0)
    fill = float(max((x1 - x0) / w, (y1 - y0) / h))
    sides = np.linalg.norm(quad - np.roll(quad, -1, axis=0), axis=1)  # top, right, bottom, left
    tilt = float(1.0 - min(min(sides[0], sides[2]) / max(sides[0], sides[2]),
                           min(sides[1], sides[3]) / max(sides[1], sides[3])))
    view = _view(image, quad)
    sharp = sharpness(view)
    glare = glare_share(view)
    # One hint at a time, in the order the customer can act on them: get the paper close enough
    # to see, face it to the camera, keep it still, then angle it away from the light.
    hint = None
    if fill < MIN_FILL:
        hint = HINT_CLOSER
    elif tilt > MAX_TILT:
        hint = HINT_STRAIGHTEN
    elif sharp < MIN_SHARPNESS:
        hint = HINT_STILL
    elif glare > MAX_GLARE:
        hint = HINT_GLARE
    return Quality(True, sharp, glare, coverage, fill, tilt, hint is None, hint)


@dataclass(frozen=True)
class Capture:
    image: np.ndarray  # the straightened document (BGR)
    quad: Quad  # where it was in the frame
    quality: Quality
    t: float  # the frame time it was taken at


class AutoCapture:
    """Feed camera frames in order; returns one straightened capture once the document has been
    seen sharp and in the same place for `still_frames` frames spanning at least `still_seconds`.

    Pure: no camera, no clock, no threads; `t` (seconds, any monotonic origin) comes with each
    frame. After a capture it stays quiet until the document has been gone for `rearm_frames`
    frames (the next customer's paper) or `reset()` is called.
    """

    def __init__(self, *, still_frames: int = 4, still_seconds: float = 0.3,
                 max_motion: float = 0.015, rearm_frames: int = 3, max_side: int | None = 2000):
        self.still_frames = still_frames
        self.still_seconds = still_seconds
        # Corner travel between frames, as a share of the frame diagonal. 1.5 % is ~20 px on a
        # 1280x720 frame: hand tremor is below, sliding the paper into place is far above.
        self.max_motion = max_motion
        self.rearm_frames = rearm_frames
        self.max_side = max_side
        self.reset()

    def reset(self) -> None:
        self._anchor: Quad | None = None  # where the document was when the still run began
        self._count = 0
        self._since: float | None = None
        self._absent = 0
        self._captured = False
        self.quality: Quality | None = None  # of the last frame fed
        self._hint: str | None = HINT_SHOW

    @property
    def hint(self) -> str | None:
        """What to tell the customer now; None right after a capture (nothing left to ask)."""
        return self._hint

    def feed(self, frame: np.ndarray, t: float) -> Capture | None:
        quad = find_document(frame)
        if quad is None:
            self._absent += 1
            if self._captured and self._absent >= self.rearm_frames:
                self._captured = False
            self._anchor, self._count, self._since = None, 0, None
            self.quality = NOT_FOUND
            self._hint = None if self._captured else HINT_SHOW
            return None
        self._absent = 0
        if self._captured:
            self._hint = None
            return None
        quality = assess(frame, quad)
        self.quality = quality
        if not quality.ok:
            self._anchor, self._count, self._since = None, 0, None
            self._hint = quality.hint
            return None
        h, w = frame.shape[:2]
        # Measured against where the run began, not the previous frame, so a slow drift that
        # is small frame to frame still restarts the count.
        moved = float("inf") if self._anchor is None else \
            float(np.linalg.norm(quad - self._anchor, axis=1).max() / np.hypot(w, h))
        if moved > self.max_motion:
            self._anchor, self._count, self._since = quad, 1, t
        else:
            self._count += 1
        self._hint = HINT_STILL  # good so far: keep it there until the capture
        if self._count >= self.still_frames and t - self._since >= self.still_seconds:
            self._captured = True
            self._hint = None
            return Capture(rectify(frame, quad, self.max_side), quad, quality, t)
        return None
