"""Load a still image safely: any common format, checked before decoding, normalised to BGR uint8.

A kiosk technician may hand `kiosk scan` anything: an empty file, a half-copied JPEG, a photo of
400 megapixels, a 1-pixel PNG, grayscale or with alpha. Each gets a clear message or is
normalised; nothing is decoded into gigabytes of memory.
"""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

from kiosk.errors import KioskError

# 40 MP covers any phone or document-camera photo; a decoded 40 MP BGR image is 120 MB.
MAX_PIXELS = 40_000_000
# Below this on the short side nothing (a barcode module, a letter) can be resolved.
MIN_SIDE = 16
MAX_FILE_BYTES = 200 * 1024 * 1024


class ImageError(KioskError):
    """The image cannot be read; the message says why and what to do."""


def _png_size(head: bytes) -> tuple[int, int] | None:
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        width, height = struct.unpack(">II", head[16:24])
        return width, height
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the first start-of-frame marker, without decoding anything."""
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    return None


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) read from a PNG or JPEG header; None for other formats."""
    return _png_size(data[:32]) or _jpeg_size(data)


def _reduced_flag(pixels: int) -> int | None:
    """The smallest JPEG DCT reduction that brings a huge photo under MAX_PIXELS, if any does."""
    for factor, flag in ((2, cv2.IMREAD_REDUCED_COLOR_2), (4, cv2.IMREAD_REDUCED_COLOR_4),
                         (8, cv2.IMREAD_REDUCED_COLOR_8)):
        if pixels / (factor * factor) <= MAX_PIXELS:
            return flag
    return None


def normalise(image: np.ndarray) -> np.ndarray:
    """Any decoded image → 3-channel BGR uint8 (gray expanded, alpha laid over white, 16-bit scaled)."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        # A transparent background is "nothing there": lay it over white paper, not black.
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        rgb = image[:, :, :3].astype(np.float32)
        return (rgb * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    if image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return image


def decode_image(data: bytes, name: str = "image") -> np.ndarray:
    """Bytes of a PNG/JPEG/BMP/WebP/TIFF → BGR uint8, or ImageError saying what is wrong."""
    if not data:
        raise ImageError(f"{name} is empty (0 bytes); copy the picture again")
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(f"{name} is {len(data) // (1 << 20)} MB; the largest image the kiosk reads "
                         f"is {MAX_FILE_BYTES >> 20} MB")
    size = header_size(data)
    flag = cv2.IMREAD_UNCHANGED
    if size is not None:
        width, height = size
        if width * height > MAX_PIXELS:
            reduced = _reduced_flag(width * height) if data[:2] == b"\xff\xd8" else None
            if reduced is None:
                raise ImageError(f"{name} is {width}×{height} ({width * height / 1e6:.0f} MP); the "
                                 f"largest the kiosk reads is {MAX_PIXELS / 1e6:.0f} MP: scale it down")
            flag = reduced
    buffer = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buffer, flag)
    # Some cameras omit the end-of-image marker of a complete picture, so a missing marker alone
    # is no reason to refuse; OpenCV refuses a JPEG whose data really stops short.
    if image is None and data[:2] == b"\xff\xd8" and not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise ImageError(f"{name} is a truncated JPEG (the end of the picture is missing); "
                         "copy or take it again")
    if image is None:
        raise ImageError(f"{name} is not an image OpenCV can read (corrupt, truncated or an "
                         "unsupported format); use a JPEG or PNG")
    image = normalise(image)
    if min(image.shape[:2]) < MIN_SIDE:
        raise ImageError(f"{name} is only {image.shape[1]}×{image.shape[0]} pixels: too small to "
                         f"hold anything readable (at least {MIN_SIDE} px a side)")
    return image


def load_image(path: str | Path) -> np.ndarray:
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ImageError(f"{path} is {size >> 20} MB; the largest image the kiosk reads is "
                             f"{MAX_FILE_BYTES >> 20} MB")
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise ImageError(f"{path} is a folder, not an image") from None
    except PermissionError:
        raise ImageError(f"{path} cannot be read (permission denied)") from None
    return decode_image(data, str(path))
