"""Tesseract OCR through tesserocr: one engine per thread, language data found or clearly missing.

tesserocr's wheel bundles libtesseract; the language data (`eng.traineddata`) comes from the
system (apt `tesseract-ocr-eng`) or a folder named in config (`scan.tessdata`).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kiosk.errors import KioskError

# Where Debian/Raspberry Pi OS (Tesseract 5 and 4) and other distributions keep the data.
TESSDATA_CANDIDATES = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)

# Page segmentation modes used here (tesseract --help-psm).
PSM_AUTO = 3  # a page: columns, blocks, lines
PSM_SINGLE_COLUMN = 4  # a receipt: one column of lines of varying size
PSM_SINGLE_BLOCK = 6  # one uniform block of text (an MRZ band)
PSM_SINGLE_LINE = 7
PSM_SPARSE = 11  # text scattered over the image


class OcrUnavailable(KioskError):
    """Tesseract or its language data is missing; the message says what to install."""


@dataclass(frozen=True)
class OcrWord:
    text: str
    confidence: float  # 0–100 as Tesseract reports it
    box: tuple[int, int, int, int]  # x, y, width, height in the image given
    line: int  # words with the same number were on one text line


@dataclass(frozen=True)
class OcrResult:
    text: str
    words: tuple[OcrWord, ...]
    mean_confidence: float

    def lines(self) -> list[str]:
        return [line for line in self.text.splitlines() if line.strip()]


def find_tessdata(configured: str | Path | None, language: str = "eng") -> Path:
    """The folder holding `<language>.traineddata`: config first, then TESSDATA_PREFIX, then the
    usual places."""
    candidates: list[Path] = []
    if configured:
        candidates.append(Path(configured))
    if os.environ.get("TESSDATA_PREFIX"):
        prefix = Path(os.environ["TESSDATA_PREFIX"])
        candidates += [prefix, prefix / "tessdata"]
    candidates += [Path(p) for p in TESSDATA_CANDIDATES]
    for folder in candidates:
        if (folder / f"{language}.traineddata").is_file():
            return folder
    if configured:
        raise OcrUnavailable(f"no {language}.traineddata in {configured} (config scan.tessdata); "
                             f"install apt tesseract-ocr-{language} or fix the path")
    raise OcrUnavailable(f"Tesseract language data '{language}' not found (looked in "
                         f"{', '.join(str(c) for c in candidates)}); install apt tesseract-ocr-{language} "
                         "or set scan.tessdata")


class Ocr:
    """Reads text from images. Safe to share between threads: each thread gets its own engine."""

    def __init__(self, tessdata: str | Path | None = None, language: str = "eng"):
        try:
            import tesserocr  # noqa: F401
        except ImportError:
            raise OcrUnavailable("tesserocr is not installed: pip install tesserocr") from None
        self.tessdata = find_tessdata(tessdata, language)
        self.language = language
        self._local = threading.local()

    def _api(self):
        api = getattr(self._local, "api", None)
        if api is None:
            import tesserocr

            api = tesserocr.PyTessBaseAPI(path=str(self.tessdata) + os.sep, lang=self.language,
                                          oem=tesserocr.OEM.LSTM_ONLY)
            self._local.api = api
        return api

    def read(self, image: np.ndarray, *, psm: int = PSM_AUTO, whitelist: str | None = None,
             dpi: int = 300, words: bool = True) -> OcrResult:
        """OCR a gray or BGR uint8 image. `whitelist` restricts the characters Tesseract may output."""
        import tesserocr

        if image.ndim == 3:
            import cv2

            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        image = np.ascontiguousarray(image, dtype=np.uint8)
        api = self._api()
        api.SetPageSegMode(psm)
        # Variables stay set on a reused engine, so always set (or clear) the whitelist.
        api.SetVariable("tessedit_char_whitelist", whitelist or "")
        height, width = image.shape
        api.SetImageBytes(image.tobytes(), width, height, 1, width)
        api.SetSourceResolution(dpi)
        text = api.GetUTF8Text()
        found: list[OcrWord] = []
        if words:
            iterator = api.GetIterator()
            level = tesserocr.RIL.WORD
            line_no = -1
            for item in tesserocr.iterate_level(iterator, level) if iterator is not None else ():
                try:
                    word = item.GetUTF8Text(level)
                except RuntimeError:  # tesserocr raises on an empty page instead of returning ""
                    continue
                if not word:
                    continue
                if item.IsAtBeginningOf(tesserocr.RIL.TEXTLINE):
                    line_no += 1
                x1, y1, x2, y2 = item.BoundingBox(level)
                found.append(OcrWord(word, float(item.Confidence(level)), (x1, y1, x2 - x1, y2 - y1),
                                     max(line_no, 0)))
        mean = float(api.MeanTextConf())
        api.Clear()
        return OcrResult(text, tuple(found), mean)
