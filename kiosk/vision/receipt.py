"""Read a shop receipt: store, receipt number, date, total, currency and items from a photo or scan.

`read_receipt` straightens the paper when it can find it, scales the print to the size Tesseract
reads best, evens out the lighting, wipes ruled and dashed separator lines, OCRs it and hands the
text to `parse_receipt`: plain text rules (no model), so each decision can be read and tested.

Page segmentation, measured on the 25 SROIE receipts with this preprocessing: PSM 6 (one uniform
block) keeps each right-aligned amount on its label's line: totals right on 20-22 of 25 at print
heights 22-34 px, against 17-19 for PSM 4 and PSM 3. But it drops a shop name printed larger than
the rest (names right on 17-20 vs. 21-24 with PSM 4), so the header band is read again with PSM 4
when the block reading shows no name that looks like a company (about 1 receipt in 4).

The text rules live in `kiosk.vision.receipt_text`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from kiosk.vision.document import Quad, find_document, rectify
from kiosk.vision.ocr import PSM_SINGLE_BLOCK, PSM_SINGLE_COLUMN, Ocr

# The text rules, re-exported: callers read receipts through this module.
from kiosk.vision.receipt_text import (  # noqa: F401
    COMPANY_MARK,
    ReceiptFields,
    ReceiptItem,
    amounts,
    dates_in,
    find_currency,
    find_date,
    find_items,
    find_receipt_number,
    find_store_name,
    find_total,
    parse_receipt,
    total_and_score,
)

# Median height (px) of character blobs after scaling. Receipts arrive with print from 12 px (a
# 460 px wide SROIE scan) to 30 px (an A4 scan at 300 dpi). With the whole pipeline, SROIE dates /
# totals were right on 22/20, 22/22 and 23/18 of 25 at 26, 28 and 30 px (single-core median
# 373, 379 and 392 ms): OCR errors move around with scale, 28 was best and is within budget.
TARGET_TEXT_HEIGHT = 28.0
MAX_SCALE, MIN_SCALE = 3.0, 0.35
# Tesseract's time grows with the pixels; past ~8 MP (a 300 dpi A4 page) a frame is mostly not
# text, and a cluttered photo with no paper found must not take seconds.
MAX_OCR_PIXELS = 8_000_000
# The shop's name is in the top quarter of a receipt (at least 12 text heights of it).
HEADER_SHARE = 0.25


@dataclass(frozen=True)
class ReceiptResult:
    fields: ReceiptFields
    quad: Quad | None  # where the receipt was found in the image (None: the image was read whole)
    confidence: float  # Tesseract's mean word confidence, 0-100

    def as_dict(self) -> dict:
        out = self.fields.as_dict()
        out["quad"] = None if self.quad is None else self.quad.round(1).tolist()
        out["confidence"] = round(self.confidence, 1)
        return out

# ---------------------------------------------------------------------------------------------
# Image → text


def text_height(gray: np.ndarray) -> float | None:
    """Median height of character-sized dark blobs: how big the print is, in pixels."""
    f = min(1.0, 1200 / max(gray.shape))  # measured on a copy of bounded size, then scaled back
    work = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else gray
    ink = cv2.adaptiveThreshold(work, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 15)
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    h = stats[1:, cv2.CC_STAT_HEIGHT].astype(np.float32)
    w = stats[1:, cv2.CC_STAT_WIDTH].astype(np.float32)
    glyph = (h >= 5) & (h <= 0.1 * work.shape[0] + 5) & (w <= 2.5 * h) & (w >= 0.15 * h)
    if glyph.sum() < 20:
        return None
    return float(np.median(h[glyph])) / f


# Chroma (max - min channel) above which a pixel is coloured ink: a red "PAID" stamp, blue pen.
COLOUR_INK = 70


def ink_gray(image: np.ndarray) -> np.ndarray:
    """Luminance, except that strongly coloured pixels take their brightest channel: black print
    stays black while stamps and pen marks fade towards the paper (on SROIE this recovered two
    shop names under red stamps). The brightest channel everywhere lost more than it won: it
    amplifies JPEG noise."""
    if image.ndim == 2:
        return image
    b, g, r = cv2.split(image)
    hi = cv2.max(cv2.max(b, g), r)
    chroma = cv2.subtract(hi, cv2.min(cv2.min(b, g), r))
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    coloured = chroma > COLOUR_INK
    gray[coloured] = hi[coloured]
    return gray


def _wipe_rules(gray: np.ndarray, text_h: float) -> np.ndarray:
    """Paint over ruled lines and rows of dashes: Tesseract reads them as characters and, under a
    total, merges them into the digits ("31.00" over a dotted rule came out "=e OO:"). Thin blobs
    at least 3 text heights long are rules; six or more thin dashes on one row, covering much of
    their span, are a dashed separator (a minus sign or a date's hyphens never are)."""
    ink = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 15)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    x, y, w, h = (stats[:, k] for k in (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH,
                                        cv2.CC_STAT_HEIGHT))
    thin = (h <= 0.3 * text_h) & (w >= 1.5 * h)
    thin[0] = False
    kill = thin & (w >= 3 * text_h)
    dashes = np.where(thin & ~kill)[0]
    centre = y + h / 2
    dashes = dashes[np.argsort(centre[dashes])]
    i = 0
    while i < len(dashes):
        j = i
        while j + 1 < len(dashes) and centre[dashes[j + 1]] - centre[dashes[i]] <= 0.25 * text_h:
            j += 1
        row = dashes[i:j + 1]
        span = (x[row] + w[row]).max() - x[row].min()
        if len(row) >= 6 and w[row].sum() >= 0.4 * span:
            kill[row] = True
        i = j + 1
    if not kill.any():
        return gray
    mask = cv2.dilate(kill[labels].astype(np.uint8), np.ones((3, 3), np.uint8))
    out = gray.copy()
    out[mask > 0] = int(np.percentile(gray, 90))
    return out


def prepare(image: np.ndarray, target: float = TARGET_TEXT_HEIGHT) -> np.ndarray:
    """Gray, print scaled to about `target` px, lighting evened out, separator lines wiped."""
    gray = ink_gray(image)
    height = text_height(gray)
    if height:
        scale = float(np.clip(target / height, MIN_SCALE, MAX_SCALE))
        scale = min(scale, (MAX_OCR_PIXELS / gray.size) ** 0.5)
        if abs(scale - 1.0) > 0.1:
            interp = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
            gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=interp)
    # Divide by the local paper brightness (print removed by a dilation wider than a stroke):
    # shadows and the fall-off towards a photo's corners vanish before Tesseract's global
    # threshold sees them. On SROIE it cost nothing on scans and fixed photographed ones.
    k = int(target) // 2 * 2 + 1
    paper = cv2.medianBlur(cv2.dilate(gray, np.ones((k, k), np.uint8)), 5)
    gray = cv2.divide(gray, paper, scale=255)
    return _wipe_rules(gray, target)


def read_receipt(image: np.ndarray, ocr: Ocr, *, date_order: str = "DMY") -> ReceiptResult:
    """Find, straighten, OCR and parse a receipt in a BGR photo or scan (dates in `date_order`)."""
    h, w = image.shape[:2]
    quad = find_document(image)
    if quad is not None and cv2.contourArea(quad) < 0.98 * h * w:  # not the whole frame already
        image = rectify(image, quad, max_side=None)
        # Trim the outline: a sliver of table along the edge reads as "|" at every line's start.
        m = max(3, round(0.012 * min(image.shape[:2])))
        image = image[m:-m, m:-m]
    gray = prepare(image)
    result = ocr.read(gray, psm=PSM_SINGLE_BLOCK, words=False)
    fields = parse_receipt(result, date_order=date_order)
    if not (fields.store_name and COMPANY_MARK.search(fields.store_name)):
        rows = max(int(gray.shape[0] * HEADER_SHARE), int(12 * TARGET_TEXT_HEIGHT))
        name = find_store_name(ocr.read(gray[:rows], psm=PSM_SINGLE_COLUMN, words=False).lines())
        if name and (COMPANY_MARK.search(name) or not fields.store_name):
            fields = replace(fields, store_name=name)
    return ReceiptResult(fields, quad, result.mean_confidence)
