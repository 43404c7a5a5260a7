"""Still images from a technician or a camera snapshot: every awkward file is read or refused clearly."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kiosk.vision.image import MAX_PIXELS, ImageError, decode_image, load_image


def _encode(image: np.ndarray, ext: str = ".png", *params: int) -> bytes:
    ok, buf = cv2.imencode(ext, image, list(params))
    assert ok
    return buf.tobytes()


def _page() -> np.ndarray:
    page = np.full((240, 320, 3), 255, np.uint8)
    cv2.putText(page, "SHOP", (40, 130), cv2.FONT_HERSHEY_SIMPLEX, 2, (0, 0, 0), 4)
    return page


def test_jpeg_and_png_decode_to_the_same_bgr_picture(tmp_path):
    page = _page()
    (tmp_path / "p.png").write_bytes(_encode(page))
    (tmp_path / "p.jpg").write_bytes(_encode(page, ".jpg", cv2.IMWRITE_JPEG_QUALITY, 95))
    png, jpg = load_image(tmp_path / "p.png"), load_image(tmp_path / "p.jpg")
    assert png.shape == jpg.shape == (240, 320, 3) and png.dtype == np.uint8
    assert np.array_equal(png, page)
    assert np.abs(png.astype(int) - jpg.astype(int)).mean() < 3


def test_grayscale_becomes_three_channels():
    gray = cv2.cvtColor(_page(), cv2.COLOR_BGR2GRAY)
    image = decode_image(_encode(gray))
    assert image.shape == (240, 320, 3)
    assert np.array_equal(image[:, :, 0], gray) and np.array_equal(image[:, :, 2], gray)


def test_transparent_png_background_is_white_paper_not_black():
    rgba = np.zeros((64, 64, 4), np.uint8)  # fully transparent black…
    rgba[20:40, 20:40] = (0, 0, 0, 255)  # …except an opaque black square
    image = decode_image(_encode(rgba))
    assert image.shape == (64, 64, 3)
    assert image[5, 5].tolist() == [255, 255, 255]
    assert image[30, 30].tolist() == [0, 0, 0]


def test_sixteen_bit_png_is_scaled_to_eight_bits():
    deep = (_page().astype(np.uint16) * 257)
    image = decode_image(_encode(deep))
    assert image.dtype == np.uint8 and np.array_equal(image, _page())


def test_empty_file_says_so(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        load_image(tmp_path / "empty.jpg")


def test_truncated_jpeg_is_refused_with_a_reason():
    data = _encode(_page(), ".jpg")
    with pytest.raises(ImageError, match="truncated"):
        decode_image(data[: len(data) // 2], "half.jpg")


def test_text_file_is_not_an_image(tmp_path):
    (tmp_path / "notes.png").write_text("this is not a picture\n" * 20)
    with pytest.raises(ImageError, match="not an image"):
        load_image(tmp_path / "notes.png")


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        load_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)


def test_one_pixel_image_is_too_small():
    with pytest.raises(ImageError, match="1×1 pixels"):
        decode_image(_encode(np.zeros((1, 1, 3), np.uint8)), "dot.png")


def test_huge_jpeg_is_decoded_reduced_and_huge_png_refused_before_decoding():
    # 20000×20000: decoded in full that is 1.2 GB of BGR.
    big = np.full((20000, 20000), 255, np.uint8)
    cv2.rectangle(big, (5000, 5000), (15000, 15000), 0, -1)
    jpeg = _encode(big, ".jpg", cv2.IMWRITE_JPEG_QUALITY, 50)
    png = _encode(big, ".png", cv2.IMWRITE_PNG_COMPRESSION, 1)
    del big
    image = decode_image(jpeg, "huge.jpg")
    assert image.shape[0] * image.shape[1] <= MAX_PIXELS
    assert image.shape[0] == image.shape[1] and image.shape[0] >= 2500
    centre = image[image.shape[0] // 2, image.shape[1] // 2]
    assert centre.max() < 40  # the black square is still where it was
    with pytest.raises(ImageError, match="20000×20000"):
        decode_image(png, "huge.png")
