"""Find the machine-readable zone in a photo or scan of an ID document, read it, verify it.

Measured on the shared MRZ specimens and generated cards; each step is the cheapest that held up:
1. Lines: blackhat (dark ink on light paper) → Otsu → a short horizontal closing joins a line's
   characters; minAreaRect gives each blob's length, height and angle. Two working widths, as
   one closing cannot join both a card filling the frame and a passport seen from afar.
2. Bands: MRZ lines come 2 or 3 together, parallel, of equal length, aligned at both ends and
   one line spacing apart; bands are tried longest and lowest first, each cut out level and
   scaled to the text size Tesseract reads best. A sideways photo gets one more pass, turned.
3. Cells: OCR-B has a fixed pitch and an MRZ line has no spaces, so the glyph blobs give a grid
   of 30/36/44 cells. The `<` fillers are found by shape (Tesseract reads them as K, E or not
   at all), which also tells upside down (`>`) from upright.
4. Reading: the other cells are packed side by side and OCRed per kind — letters-only fields,
   digits-only fields, mixed fields — each under its own whitelist, and put back by the grid.
   Letters-only fields have no check digit, so they are read from two renderings of the band.
5. Verifying (kiosk.vision.mrz): a result is valid only if every check digit passes and all
   readings that pass agree; otherwise it is reported as unreadable, without fields.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass

import cv2
import numpy as np

from kiosk.vision.mrz import LINE_COUNTS, LINE_LENGTHS, MrzError, MrzResult, parse_mrz, position_classes
from kiosk.vision.ocr import PSM_SINGLE_LINE, Ocr

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
# Mixed-field characters Tesseract confuses in OCR-B → (digit reading, letter reading).
LOOKALIKES = {"0": ("0", "O"), "O": ("0", "O"), "D": ("0", "D"), "Q": ("0", "Q"), "1": ("1", "I"),
              "I": ("1", "I"), "8": ("8", "B"), "B": ("8", "B"), "5": ("5", "S"), "S": ("5", "S"),
              "2": ("2", "Z"), "Z": ("2", "Z")}
WORK_WIDTHS = (1000, 640)
MAX_BANDS = 3  # bands OCRed per image: the MRZ is nearly always first or second
# px of a line box after scaling: Tesseract's LSTM read these bands best at 30 (24 and 42 tried;
# a second scale as a fallback added no reads on the specimens).
TEXT_HEIGHT = 30


@dataclass(frozen=True)
class _Line:
    cx: float
    cy: float
    length: float
    height: float
    angle: float  # degrees, text direction, in (-45, 45]


def _line_boxes(gray: np.ndarray, width: int) -> list[_Line]:
    """Long thin blobs of text at one working width, in full-image coordinates."""
    scale = width / gray.shape[1]
    small = cv2.resize(gray, None, fx=scale, fy=scale,
                       interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    ink = cv2.morphologyEx(small, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (15, 15)))
    mask = cv2.threshold(ink, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]
    # A page border or table rule touching the MRZ would swallow it into one huge blob: drop
    # long vertical strokes (no MRZ character is taller than a line).
    vertical = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 41)))
    mask = cv2.subtract(mask, vertical)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (17, 1)))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 3)))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    lines = []
    for contour in contours:
        (cx, cy), (w, h), angle = cv2.minAreaRect(contour)
        if w < h:
            w, h, angle = h, w, angle - 90
        angle = (angle + 45) % 90 - 45 if abs(angle) > 45 else angle
        # 30 characters are ≥ 15 line heights long; a line shorter than 15 % of the frame is
        # too small to read anyway.
        if w >= 0.15 * width and w >= 10 * h and h >= 4:
            lines.append(_Line(cx / scale, cy / scale, w / scale, h / scale, angle))
    return lines


def _siblings(a: _Line, b: _Line) -> bool:
    """b is the MRZ line right below a: parallel, same length, same ends, one line spacing away."""
    if abs(a.angle - b.angle) > 3 \
            or not (0.8 < b.length / a.length < 1.25 and 0.55 < b.height / a.height < 1.8):
        return False
    theta = math.radians(a.angle)
    dx, dy = b.cx - a.cx, b.cy - a.cy
    along = dx * math.cos(theta) + dy * math.sin(theta)
    across = -dx * math.sin(theta) + dy * math.cos(theta)
    height = (a.height + b.height) / 2
    return 1.2 * height < across < 3.5 * height and abs(along) < 0.12 * a.length


def _bands(gray: np.ndarray) -> list[tuple[_Line, ...]]:
    """Groups of 3 then 2 sibling lines, best first, without near-duplicates across scales."""
    found: list[tuple[float, tuple[_Line, ...]]] = []
    for width in WORK_WIDTHS:
        lines = sorted(_line_boxes(gray, width), key=lambda line: line.cy)
        for i, a in enumerate(lines):
            for b in (b for b in lines[i + 1:] if _siblings(a, b)):
                threes = [(a, b, c) for c in lines if _siblings(b, c)]
                for group in threes or [(a, b)]:
                    # Longer and lower on the page is likelier the MRZ.
                    score = a.length / gray.shape[1] + 0.3 * group[-1].cy / gray.shape[0] + 0.05 * len(group)
                    found.append((score, group))
    found.sort(key=lambda item: -item[0])
    unique: list[tuple[_Line, ...]] = []
    for _, group in found:  # the same band seen at both widths counts once
        cx, cy = np.mean([line.cx for line in group]), np.mean([line.cy for line in group])
        if all(abs(cx - np.mean([l.cx for l in g])) > g[0].height or
               abs(cy - np.mean([l.cy for l in g])) > g[0].height for g in unique):
            unique.append(group)
    return unique


def _cut_band(gray: np.ndarray, group: tuple[_Line, ...]) -> np.ndarray:
    """The band rotated level and scaled so a line box is TEXT_HEIGHT px tall, with a margin."""
    cx, cy, height, angle = np.mean([(line.cx, line.cy, line.height, line.angle) for line in group], axis=0)
    length = max(line.length for line in group)
    span = math.hypot(group[-1].cx - group[0].cx, group[-1].cy - group[0].cy)
    if len(group) == 2:  # a TD1 line the detector broke up may lie just above or below
        span *= 3
    scale = TEXT_HEIGHT / height
    out_w = int((length + 2 * height) * scale)
    out_h = int((span + 2.5 * height) * scale)
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, scale)
    matrix[0, 2] += out_w / 2 - cx
    matrix[1, 2] += out_h / 2 - cy
    # Beyond the photo's edge: plain paper, not a smear of whatever the edge pixels were.
    paper = int(np.median(gray[::4, ::4]))
    return cv2.warpAffine(gray, matrix, (out_w, out_h), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=paper)


@dataclass(frozen=True)
class _Row:
    """One text line of a level band, cut into the fixed-pitch cells of OCR-B."""
    y0: int
    y1: int
    fit: tuple[float, ...]  # cell i centre x = polyval(fit, i): a slight curve follows perspective
    first: int  # index of the leftmost inked cell
    cells: str  # one per cell: "<" filler chevron, "#" another glyph, "." no ink
    heights: tuple[int, ...]  # ink height per cell: OCR-B digits stand taller than capitals

    def centre(self, i: int) -> float:
        return float(np.polyval(self.fit, i + self.first))

    @property
    def pitch(self) -> float:
        return float(np.polyval(np.polyder(self.fit), self.first + len(self.cells) / 2))


def _text_rows(ink: np.ndarray) -> list[tuple[int, int]]:
    """Row ranges of the band that hold a line of text (horizontal ink projection)."""
    density = ink.mean(axis=1) / 255
    # Relative to a busy row, not the busiest: a dark strip at the band's edge is all ink.
    on = np.concatenate([[0], density > max(0.03, 0.2 * float(np.percentile(density, 95))), [0]])
    edges = np.flatnonzero(np.diff(on.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])
            if 0.5 * TEXT_HEIGHT <= b - a <= 1.8 * TEXT_HEIGHT]


def _is_filler(patch: np.ndarray, pitch: float) -> bool:
    """`<` is the one MRZ glyph whose left edge runs in to a point at mid-height and back out
    while its right edge does the opposite: K has a stem on the left, C, G, O and S a round
    left side that barely moves, X and 3 the reverse V, 4 a crossbar out to the right."""
    inked = patch.any(axis=1)
    rows = np.flatnonzero(inked)
    top, height = rows[0], rows[-1] - rows[0] + 1
    left = np.where(inked, np.argmax(patch, axis=1), np.nan)
    right = np.where(inked, patch.shape[1] - 1 - np.argmax(patch[:, ::-1], axis=1), np.nan)

    def edge(side: np.ndarray, at: float) -> float:  # mean edge over a fifth of the glyph height
        a = top + int(at * height)
        values = side[max(top, a - height // 10):a + max(1, height // 10)]
        values = values[~np.isnan(values)]
        return float(values.mean()) if len(values) else math.nan  # nan fails every test below

    lt, lm, lb = (edge(left, at) for at in (0.08, 0.5, 0.92))
    rt, rm, rb = (edge(right, at) for at in (0.08, 0.5, 0.92))
    # Thresholds in pitches, measured on the specimens: a chevron's left edge comes 0.25–0.5
    # in, round letters' 0.05–0.2; bold prints shorten the lower arm, hence the lower bound.
    return bool(lt - lm > 0.2 * pitch and lb - lm > 0.2 * pitch and (lt + lb) / 2 - lm > 0.28 * pitch
                and rt - rm > 0.15 * pitch and rb - rm > 0.15 * pitch)


def _cells(ink: np.ndarray, y0: int, y1: int) -> _Row | None:
    """Fit the character grid of one line from its glyph blobs and label every cell."""
    line = ink[y0:y1]
    _, _, stats, _ = cv2.connectedComponentsWithStats(line, connectivity=8)
    blobs = sorted((s for s in stats[1:] if s[3] >= 0.4 * (y1 - y0)), key=lambda s: s[0])
    if len(blobs) < 10:
        return None
    glyph_w = float(np.median([b[2] for b in blobs]))
    glyph_h = float(np.median([b[3] for b in blobs]))
    # Blurred filler runs merge into one wide blob; only single glyphs place the grid.
    singles = np.array([b[0] + b[2] / 2 for b in blobs if b[2] <= 1.3 * glyph_w])
    steps = np.diff(singles)
    if len(singles) < 8 or not (steps > 0.5 * glyph_w).any():
        return None
    pitch = float(np.median(steps[steps > 0.5 * glyph_w]))
    # MRZ lines have no spaces, so walking left to right each blob is the next cell or a few on.
    index = np.concatenate([[0], np.cumsum(np.maximum(1, np.round(steps / pitch)))])
    # A straight grid unless a curved one (perspective) fits clearly better and bends little:
    # an unchecked curve extrapolated past merged end blobs drifts a whole cell.
    fit = np.polyfit(index, singles, 1)
    if len(singles) >= 12:
        curved = np.polyfit(index, singles, 2)
        straight_err = np.sqrt(np.mean((np.polyval(fit, index) - singles) ** 2))
        curved_err = np.sqrt(np.mean((np.polyval(curved, index) - singles) ** 2))
        bend = abs(2 * curved[0] * index[-1])  # pitch change across the line
        if curved_err < 0.7 * straight_err and bend < 0.15 * pitch and straight_err > 0.1 * pitch:
            fit = curved
    slope = np.polyval(np.polyder(fit), index.mean())
    lo = blobs[0][0] + glyph_w / 2
    hi = max(b[0] + b[2] for b in blobs) - glyph_w / 2

    def cell_at(x: float) -> int:  # the grid index whose centre is at x (the root near a straight fit)
        return round(min(np.roots(np.polysub(fit, [x])).real, key=lambda r: abs(r - (x - fit[-1]) / slope)))

    first, last = cell_at(lo), cell_at(hi)
    if not 20 <= last - first + 1 <= 60:
        return None
    labels, heights = [], []
    for i in range(first, last + 1):
        c = float(np.polyval(fit, i))
        patch = line[:, max(0, int(c - 0.45 * slope)):max(0, int(c + 0.45 * slope))] > 0
        inked = np.flatnonzero(patch.any(axis=1)) if patch.size else np.zeros(0, int)
        heights.append(int(inked[-1] - inked[0] + 1) if len(inked) else 0)
        if len(inked) < 0.5 * glyph_h:
            labels.append(".")
        else:
            labels.append("<" if _is_filler(patch, slope) else "#")
    return _Row(y0, y1, tuple(fit), first, "".join(labels), tuple(heights))


def _rows(band: np.ndarray) -> tuple[np.ndarray, list[_Row]]:
    ink = cv2.threshold(band, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)[1]
    rows = [_cells(ink, y0, y1) for y0, y1 in _text_rows(ink)]
    return ink, [row for row in rows if row is not None]


def _upright(band: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[_Row]]:
    """The band turned so its chevrons point left: upside down, `<` reads as a `>` that the
    filler test rejects, so the orientation with more fillers is the right one."""
    views = [(view, *_rows(view)) for view in (band, cv2.rotate(band, cv2.ROTATE_180))]
    return max(views, key=lambda v: sum(row.cells.count("<") for row in v[2]))  # a tie stays upright


def _ocr_cells(ocr: Ocr, paper: np.ndarray, row: _Row, keep: list[int], whitelist: str) -> str | None:
    """OCR only the cells in `keep` (row cell indices), packed side by side at the line's pitch
    (Tesseract drops a glyph left alone across a gap); one character per cell, or None."""
    pitch = round(row.pitch)
    glyphs = paper[max(0, row.y0 - 4):row.y1 + 4]
    image = np.full((glyphs.shape[0], pitch * len(keep)), 255, np.uint8)
    for n, i in enumerate(keep):
        a = round(row.centre(i) - pitch / 2)
        patch = glyphs[:, max(0, a):max(0, a + pitch)]
        image[:, n * pitch:n * pitch + patch.shape[1]] = patch
    image = cv2.copyMakeBorder(image, 10, 10, 10, 10, cv2.BORDER_CONSTANT, value=255)
    text = "".join(ocr.read(image, psm=PSM_SINGLE_LINE, whitelist=whitelist, words=False).text.split())
    return text if len(text) == len(keep) else None


def _read_row(ocr: Ocr, paper: np.ndarray, other: np.ndarray, row: _Row, start: int,
              classes: str) -> list[list[str]] | None:
    """One line's readings (one, or two where the renderings disagree), or None.

    Fillers come from the geometry; Tesseract reads the rest without them (it reads `<` as K, E or
    nothing), each kind of field in its own pass and whitelist (among digits it reads C as 0).
    A kind with under 3 glyphs joins a pass over all glyphs: Tesseract often returns nothing
    for one lone character. Letters-only fields (names, countries) have no check digit, so a
    second rendering reads them too; if the two differ both go on, and `_read_layouts` accepts
    only an MRZ every valid reading agrees on."""
    pattern = row.cells[start:start + len(classes)]
    if "." in pattern:
        return None
    out = ["<" if label == "<" else "" for label in pattern]
    glyphs = [i for i, label in enumerate(pattern) if label == "#"]
    second: list[str] | None = None
    for kind, whitelist in (("A", LETTERS), ("N", DIGITS), ("X", LETTERS + DIGITS)):
        keep = [i for i in glyphs if classes[i] in (kind + "S" if kind == "A" else kind)]
        if len(keep) < 3:
            continue
        text = _ocr_cells(ocr, paper, row, [start + i for i in keep], whitelist)
        if kind == "A" and text is not None:
            again = _ocr_cells(ocr, other, row, [start + i for i in keep], whitelist)
            if again is not None and again != text:  # an unreadable second rendering is no evidence
                second = list(out)
                for i, ch in zip(keep, again):
                    second[i] = ch
        for target in (out, second) if second is not None else (out,):
            for i, ch in zip(keep, text or ""):
                target[i] = target[i] or ch
    if any(not out[i] for i in glyphs):
        text = _ocr_cells(ocr, paper, row, [start + i for i in glyphs], LETTERS + DIGITS)
        if text is None:
            return None
        for target in (out, second) if second is not None else (out,):
            for i, ch in zip(glyphs, text):
                target[i] = target[i] or ch
    return [out] if second is None else [out, second]


def _settle_lookalikes(chars: list[list[str]], rows: list[_Row], placement: list[tuple[int, int]],
                       classes: list[str]) -> list[str] | None:
    """The reading with mixed-field look-alikes decided by height, or None if nothing changes.

    In mixed fields (document number, optional data) Tesseract confuses O/D/Q/0, I/1, B/8, S/5
    and Z/2 in OCR-B, whose digits stand ~8 % taller than its capitals. Height per line =
    intercept + slope × cell (a slanted photo) + a shared digit offset, fitted on digit-only and
    letter-only fields; a mixed cell clearly nearer one prediction takes that kind. Each swap
    changes the check sum, so a wrong one is caught; G/6 would not be (G = 16 ≡ 6) and stays."""
    samples = []  # (line, cell, is digit, height)
    for n, (line, (r, start), cls) in enumerate(zip(chars, placement, classes)):
        for i, (ch, c) in enumerate(zip(line, cls)):
            if ch != "<" and c in "AN" and ch not in "1I":
                samples.append((n, i, c == "N", rows[r].heights[start + i]))
    if sum(s[2] for s in samples) < 4 or sum(not s[2] for s in samples) < 4:
        return None
    design = np.array([[n == k for k in range(len(chars))] + [i, digit] for n, i, digit, _ in samples], float)
    heights = np.array([s[3] for s in samples], float)
    coef, *_ = np.linalg.lstsq(design, heights, rcond=None)
    spread = float(np.std(heights - design @ coef))
    offset = coef[-1]
    if offset < 1.0 or spread > 0.35 * offset:
        return None
    settled = [list(line) for line in chars]
    for n, ((r, start), cls) in enumerate(zip(placement, classes)):
        for i, c in enumerate(cls):
            ch = settled[n][i]
            if c == "X" and ch in LOOKALIKES:
                letter = coef[n] + coef[-2] * i
                excess = (rows[r].heights[start + i] - letter) / offset  # 0 letter-like, 1 digit-like
                if excess > 0.75 or excess < 0.25:
                    settled[n][i] = LOOKALIKES[ch][0 if excess > 0.5 else 1]
    out = ["".join(line) for line in settled]
    return out if out != ["".join(line) for line in chars] else None


def _layouts(rows: list[_Row]) -> list[tuple[str, list[tuple[int, int]]]]:
    """(format, [(row index, first cell)]) for each way consecutive rows fit an MRZ shape:
    each row's longest stretch of inked cells is the line length or up to 2 cells more (a
    border or stray mark at an end), the rows share one pitch, and some cells are fillers."""
    stretches = []
    for row in rows:
        runs = [(m.start(), m.end() - m.start()) for m in re.finditer(r"[^.]+", row.cells)]
        stretches.append(max(runs, key=lambda run: run[1]) if runs else (0, 0))
    out = []
    for kind in ("TD3", "TD2", "TD1"):
        count, length = LINE_COUNTS[kind], LINE_LENGTHS[kind]
        for top in range(len(rows) - count + 1):
            window = range(top, top + count)
            pitches = [rows[r].pitch for r in window]
            if max(pitches) > 1.08 * min(pitches) or sum(rows[r].cells.count("<") for r in window) < 2:
                continue
            choices = [[(r, stretches[r][0] + extra) for extra in range(stretches[r][1] - length + 1)]
                       for r in window]
            if all(0 < len(choice) <= 3 for choice in choices):
                out.extend((kind, list(combo)) for combo in itertools.product(*choices))
    return out


def _reading(kind: str, chars: tuple[list[str], ...], rows: list[_Row],
             placement: list[tuple[int, int]]) -> MrzResult:
    """Verify one reading as read, then with mixed-field look-alikes settled by height if that
    passes more checks."""
    try:  # the whitelist keeps Tesseract to MRZ characters; should it stray, that reading fails
        result = parse_mrz(["".join(line) for line in chars])
        settled = None if result.valid else _settle_lookalikes(chars, rows, placement, position_classes(kind))
        again = parse_mrz(settled) if settled is not None else result
    except MrzError as error:
        return MrzResult(kind, False, reason=str(error))
    return again if again.valid or sum(again.checks.values()) > sum(result.checks.values()) else result


def _read_layouts(layouts: list[tuple[str, list[tuple[int, int]]]], rows: list[_Row], paper: np.ndarray,
                  other: np.ndarray, ocr: Ocr) -> MrzResult:
    """The first layout read unambiguously with every check passing, else the reading that
    passed most checks (never its fields)."""
    texts: dict[tuple[int, int, str], list[list[str]] | None] = {}
    best: MrzResult | None = None
    for kind, placement in layouts:
        lines = []
        for (r, start), cls in zip(placement, position_classes(kind)):
            if (r, start, cls) not in texts:
                texts[(r, start, cls)] = _read_row(ocr, paper, other, rows[r], start, cls)
            lines.append(texts[(r, start, cls)])
        if any(line is None for line in lines):
            best = best or MrzResult(kind, False, reason="some characters could not be read")
            continue
        results = [_reading(kind, chars, rows, placement) for chars in itertools.product(*lines)]
        valid = {result.lines: result for result in results if result.valid}
        if len(valid) == 1:
            return next(iter(valid.values()))
        for result in results:
            if best is None or sum(result.checks.values()) >= sum(best.checks.values()):
                best = result
        if len(valid) > 1:  # letters without a check digit read two ways: refuse both
            best = MrzResult(kind, False, next(iter(valid.values())).checks,
                             reason="letters without a check digit read two different ways")
    assert best is not None
    return best


def _papers(band: np.ndarray, ink: np.ndarray) -> list[np.ndarray]:
    """What Tesseract is shown, best first: the gray band stretched to black on white (its LSTM
    was trained on anti-aliased text), then the Otsu binary (wins on faint, noisy prints)."""
    lo, hi = np.percentile(band, (2, 98))
    stretched = np.clip((band.astype(np.float32) - lo) * (255 / max(1.0, hi - lo)), 0, 255).astype(np.uint8)
    return [stretched, 255 - ink]


def read_mrz(image: np.ndarray, ocr: Ocr) -> MrzResult | None:
    """The MRZ of the document in a BGR or gray image.

    None when nothing of MRZ shape is found; an MrzResult with valid False when a band of MRZ
    shape is found but no reading of it passes every check (see kiosk.vision.mrz)."""
    if image.ndim == 3:
        gray = cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
    else:
        gray = image
    best: MrzResult | None = None
    # A page photographed sideways has no horizontal MRZ; turning it a quarter (the band's own
    # 180° check covers the other quarter) costs one more detection pass, only when needed.
    for view in (gray, cv2.rotate(gray, cv2.ROTATE_90_CLOCKWISE)):
        for group in _bands(view)[:MAX_BANDS]:
            band, ink, rows = _upright(_cut_band(view, group))
            layouts = _layouts(rows)
            papers = _papers(band, ink) if layouts else []
            for paper, other in zip(papers, papers[::-1]):
                result = _read_layouts(layouts, rows, paper, other, ocr)
                if result.valid:
                    return result
                if best is None or sum(result.checks.values()) > sum(best.checks.values()):
                    best = result
        if best is not None:
            break
    return best
