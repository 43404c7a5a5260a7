"""Barcodes and QR codes: self-made symbols, hostile payloads, and ZXing's own black-box photos."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import zxingcpp
from conftest import shared_dataset
from make_codes import SAMPLES, catalogue_eans, noise_image, on_paper, photo, symbol

from kiosk.errors import KioskError
from kiosk.vision.codes import (
    MAX_PAYLOAD_CHARS,
    CodeReadError,
    classify_payload,
    gtin_check_digit,
    is_valid_gtin,
    read_codes,
    to_gtin13,
    upce_to_upca,
)
from kiosk.vision.image import load_image


def found(image: np.ndarray) -> set[tuple[str, str]]:
    return {(code.format, code.text) for code in read_codes(image)}


# --- Self-made symbols ---------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_each_format_is_read_from_paper_with_its_position(fmt):
    sheet, [(x0, y0, x1, y1)] = on_paper([symbol(fmt, SAMPLES[fmt])])
    codes = read_codes(sheet)
    assert [(c.format, c.text, c.valid) for c in codes] == [(fmt, SAMPLES[fmt], True)]
    # The outline the screen draws lies on the symbol (quiet zone included), not elsewhere.
    for x, y in codes[0].corners:
        assert x0 - 2 <= x <= x1 + 2 and y0 - 2 <= y <= y1 + 2


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_each_format_is_read_from_a_tilted_blurred_noisy_photo(fmt, seed):
    sheet, _ = on_paper([symbol(fmt, SAMPLES[fmt])])
    assert found(photo(sheet, seed=seed)) == {(fmt, SAMPLES[fmt])}


def test_a_tiny_blurred_qr_is_read_with_its_outline_in_place():
    # 2-px modules, defocused: only the second pass (equalised, upscaled ×2) reads it, and the
    # outline must come back in the original image's pixels, on the symbol inside its quiet zone.
    sheet, [(x0, y0, x1, y1)] = on_paper([symbol("QR", "ORDER:846078", scale=2)], margin=20)
    [code] = read_codes(cv2.GaussianBlur(sheet, (0, 0), 0.9))
    assert (code.format, code.text) == ("QR", "ORDER:846078")
    quiet = 4 * 2  # a QR's quiet zone is 4 modules
    symbol_corners = [(x0 + quiet, y0 + quiet), (x1 - quiet, y0 + quiet), (x1 - quiet, y1 - quiet),
                      (x0 + quiet, y1 - quiet)]
    for (x, y), (ex, ey) in zip(code.corners, symbol_corners, strict=True):
        assert abs(x - ex) <= 1 and abs(y - ey) <= 1, code.corners


def test_gray_and_bgra_frames_read_like_bgr():
    sheet, _ = on_paper([symbol("QR", "ORDER:846078")])
    gray = cv2.cvtColor(sheet, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(sheet, cv2.COLOR_BGR2BGRA)
    assert found(gray) == found(gray[:, :, None]) == found(bgra) == {("QR", "ORDER:846078")}


def test_catalogue_products_are_found_by_their_catalogue_ean():
    eans = catalogue_eans()
    # Both kinds the demo store has: UPC-A products (EAN-13 with a leading 0) and in-store "2…" codes.
    sample = [e for e in eans if e.startswith("0")][:6] + [e for e in eans if e.startswith("2")][:6]
    for i, ean in enumerate(sample):
        sheet, _ = on_paper([symbol("EAN-13", ean)])
        [code] = read_codes(photo(sheet, seed=i))
        assert code.format == ("UPC-A" if ean.startswith("0") else "EAN-13")
        assert to_gtin13(code) == ean


def test_upc_a_and_upc_e_map_to_the_gtin13_the_catalogue_uses():
    sheet, _ = on_paper([symbol("UPC-A", "036000291452"), symbol("UPC-E", "01234565")])
    codes = {code.format: code for code in read_codes(sheet)}
    assert codes["UPC-A"].text == "036000291452" and to_gtin13(codes["UPC-A"]) == "0036000291452"
    assert codes["UPC-E"].text == "01234565" and to_gtin13(codes["UPC-E"]) == "0012345000065"


def test_ean8_has_no_gtin13_form():
    [code] = read_codes(on_paper([symbol("EAN-8", "96385074")])[0])
    assert code.format == "EAN-8" and code.valid and to_gtin13(code) is None


def test_several_codes_in_one_picture_are_all_found():
    texts = {"EAN-13": "2410000001132", "QR": "ORDER:846078", "Code128": "SKU TH-1001",
             "DataMatrix": "846078"}
    sheet, _ = on_paper([symbol(fmt, text) for fmt, text in texts.items()])
    expected = set(texts.items())
    assert found(sheet) == expected
    assert found(photo(sheet, seed=3, angle=3, tilt=0.03)) == expected


@pytest.mark.parametrize("fmt, text", [("Code39", "KIOSK-39"), ("ITF", "12345678"), ("Codabar", "A1234B"),
                                       ("Aztec", "ORDER:846078"), ("MicroQRCode", "846078"),
                                       ("MicroPDF417", "846078")])
def test_symbologies_the_shop_does_not_use_are_ignored(fmt, text):
    # Each one switched on is another way for a pattern to come out as a "code".
    sheet, _ = on_paper([symbol(fmt, text, scale=4)])
    assert read_codes(sheet) == ()
    assert zxingcpp.read_barcodes(sheet)  # the symbol itself is readable: it is our filter at work


@pytest.mark.parametrize("seed", range(4))
def test_blank_paper_and_noise_give_nothing(seed):
    assert read_codes(noise_image(seed)) == ()
    assert read_codes(np.full((480, 640, 3), 255, np.uint8)) == ()
    assert read_codes(photo(np.full((300, 400, 3), 255, np.uint8), seed=seed)) == ()


def test_as_dict_is_plain_json():
    [code] = read_codes(on_paper([symbol("QR", "ORDER:846078")])[0])
    data = json.loads(json.dumps(code.as_dict()))
    assert data["format"] == "QR" and data["text"] == "ORDER:846078" and data["valid"] is True
    assert len(data["corners"]) == 4 and all(len(p) == 2 for p in data["corners"])


# --- GTIN arithmetic -----------------------------------------------------------------------------

def test_every_catalogue_ean_has_a_correct_check_digit():
    eans = catalogue_eans()
    assert len(eans) > 100 and all(is_valid_gtin(e) for e in eans)
    assert gtin_check_digit(eans[0][:-1]) == int(eans[0][-1])


@pytest.mark.parametrize("text", ["4006381333931", "036000291452", "96385074", "10614141000415"])
def test_known_gtins_are_valid_and_one_wrong_digit_is_caught(text):
    assert is_valid_gtin(text)
    for i in range(len(text)):
        typo = text[:i] + str((int(text[i]) + 1) % 10) + text[i + 1:]
        assert not is_valid_gtin(typo)


@pytest.mark.parametrize("text", ["", "123", "4006381333932", "40063813339311", "400638133393a",
                                  "٤٠٠٦٣٨١٣٣٣٩٣١", "4006381333931\n", "123456789012345"])
def test_non_gtins_are_rejected(text):
    assert not is_valid_gtin(text)


def test_check_digit_refuses_non_digits():
    with pytest.raises(ValueError, match="ASCII digits"):
        gtin_check_digit("12a4")


@pytest.mark.parametrize("last", range(10))
def test_upce_expansion_agrees_with_zxing_for_every_rule(last):
    # zxing-cpp reports the expanded form of a UPC-E it reads; ours must give the same UPC-A.
    body = f"1{(last + 1) % 10}{(last + 3) % 10}4{(last + 7) % 10}{last}"
    upce = "0" + body + upce_to_upca(body)[-1]  # 6 digits: number system 0, check digit computed
    image = np.asarray(zxingcpp.create_barcode(upce, zxingcpp.BarcodeFormat.UPCE).to_image(scale=3))
    [barcode] = zxingcpp.read_barcodes(image)
    assert barcode.text == "0" + upce_to_upca(upce) == to_gtin13(read_codes(image)[0])


def test_upce_with_a_wrong_check_digit_or_number_system_is_refused():
    assert upce_to_upca("04252614") == "042100005264"
    with pytest.raises(ValueError, match="check digit"):
        upce_to_upca("04252615")
    with pytest.raises(ValueError, match="number system"):
        upce_to_upca("24252614")


# --- Untrusted payloads --------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["ORDER:846078", "846078", "order-846078", "Order# 846078",
                                  "ORDER 846078", " 846078\r\n"])
def test_order_payloads(text):
    payload = classify_payload(text)
    assert (payload.kind, payload.value, payload.truncated) == ("order", "846078", False)


@pytest.mark.parametrize("text", ["ORDER:123", "ORDER:123456789", "ORDERS:846078", "846078x",
                                  "٨٤٦٠٧٨", "ORDER:846078; DROP TABLE orders"])
def test_near_orders_are_not_orders(text):
    assert classify_payload(text).kind != "order"


def test_a_custom_order_pattern_is_honoured():
    assert classify_payload("PU-2026-0042", r"PU-(\d{4}-\d{4})") == classify_payload("pu-2026-0042",
                                                                                     r"PU-(\d{4}-\d{4})")
    assert classify_payload("PU-2026-0042", r"PU-(\d{4}-\d{4})").value == "2026-0042"
    with pytest.raises(KioskError, match="not a valid regular expression"):
        classify_payload("846078", r"ORDER(")


@pytest.mark.parametrize("text, value", [("0025175616535", "0025175616535"),
                                         ("025175616535", "0025175616535"),
                                         ("2410000001132", "2410000001132")])
def test_gtin_payloads_are_products_keyed_like_the_catalogue(text, value):
    payload = classify_payload(text)
    assert (payload.kind, payload.value) == ("product", value)


def test_a_gtin_with_a_wrong_check_digit_is_not_a_product():
    assert classify_payload("0025175616536").kind == "text"


def test_an_8_digit_bare_number_is_an_order_even_if_it_is_a_valid_gtin8():
    assert is_valid_gtin("96385074")
    assert classify_payload("96385074").kind == "order"


def test_a_url_is_reported_unchanged_and_nothing_else_is_a_url():
    payload = classify_payload("https://evil.example/x?y")
    assert (payload.kind, payload.value) == ("url", "https://evil.example/x?y")
    for text in ["javascript:alert(1)", "JaVaScRiPt:alert(document.cookie)",
                 "data:text/html,<script>alert(1)</script>", "file:///etc/passwd",
                 "<script>alert(1)</script>", "http:// evil.example", "https://", "http://[::1"]:
        payload = classify_payload(text)
        assert payload.kind == "text" and payload.value == text.strip()


def test_control_and_bidi_characters_are_stripped():
    payload = classify_payload("\x1b[31mFREE\x00 STUFF\u202e\u200b\x07\r\nline 2\ud800")
    assert payload == classify_payload("\x1b[31mFREE STUFF\nline 2")  # ESC gone, "[31m" is text
    assert payload.value == "[31mFREE STUFF\nline 2" and payload.kind == "text"
    assert classify_payload("\x00846078\x1b").value == "846078"


def test_a_huge_payload_is_truncated_and_flagged():
    payload = classify_payload("https://evil.example/" + "A" * 10_000)
    assert payload.truncated and payload.kind == "text" and len(payload.value) == MAX_PAYLOAD_CHARS


def test_a_qr_order_slip_end_to_end():
    sheet, _ = on_paper([symbol("QR", "ORDER:846078")])
    [code] = read_codes(photo(sheet, seed=5))
    assert classify_payload(code.text) == classify_payload("846078")
    assert classify_payload(code.text).value == "846078"


# --- Bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize("image, words", [
    (np.zeros((100, 100), np.float32), "uint8"),
    (np.zeros((100, 100, 3), np.uint16), "uint8"),
    (np.zeros((100,), np.uint8), "shape"),
    (np.zeros((100, 100, 2), np.uint8), "shape"),
    (np.zeros((0, 100, 3), np.uint8), "empty"),
    ([[0, 255], [255, 0]], "numpy"),
])
def test_non_images_get_a_clear_error(image, words):
    with pytest.raises(CodeReadError, match=words) as error:
        read_codes(image)
    assert isinstance(error.value, KioskError)


# --- ZXing's black-box photos --------------------------------------------------------------------
# ZXing's own test images and pass counts (../shared/datasets/barcodes, Apache-2.0). The bound is
# ZXing's must-pass count; what we reach is in the assertion message.

ROTATIONS = {0: None, 90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180,
             270: cv2.ROTATE_90_COUNTERCLOCKWISE}
FORMATS = {"EAN_13": "EAN-13", "UPC_A": "UPC-A", "CODE_128": "Code128", "QR_CODE": "QR",
           "PDF_417": "PDF417"}


def thresholds() -> dict:
    path = shared_dataset("barcodes", "zxing_pass_thresholds.json")
    return json.loads(path.read_text(encoding="utf-8"))


def expected_text(image: Path) -> str:
    # As ZXing's AbstractBlackBoxTestCase: <name>.txt as UTF-8 (CR/LF kept), else <name>.bin as Latin-1.
    txt, binary = image.with_suffix(".txt"), image.with_suffix(".bin")
    if txt.exists():
        return txt.read_bytes().decode("utf-8").removesuffix("\n")
    return binary.read_bytes().decode("latin-1")


@pytest.mark.parametrize("folder", ["ean13-2", "upca-2", "code128-1", "qrcode-2", "pdf417-2"])
def test_zxing_blackbox_folder(folder):
    root = shared_dataset("barcodes", folder)
    limits = thresholds()[folder]
    fmt = FORMATS[limits["format"]]
    images = [(load_image(p), expected_text(p)) for p in sorted(root.glob("*.png"))]
    max_misreads = limits.get("max_misreads", [0, 0])[1]
    for key, (must_pass, try_harder) in ((k, v) for k, v in limits.items() if k.startswith("rot")):
        rotation = ROTATIONS[int(key[3:])]
        passed = misread = 0
        for image, expected in images:
            codes = read_codes(image if rotation is None else cv2.rotate(image, rotation))
            texts = [code.text for code in codes if code.format == fmt]
            passed += expected in texts
            misread += bool(texts) and expected not in texts
        report = f"{folder} {key}: {passed}/{len(images)} read (ZXing {must_pass}/{try_harder})"
        # ZXing's must-pass count is the requirement; its try-harder count is what this reader
        # reaches (20/46/7/33/25 per rotation, 2026-12-02), so it is the regression floor.
        assert passed >= max(must_pass, try_harder), report
        assert misread <= max_misreads, f"{report}, {misread} misread (ZXing allows {max_misreads})"


def test_zxing_false_positive_photos_give_no_code_at_any_rotation():
    root = shared_dataset("barcodes", "falsepositives-2")
    reported = []
    for path in sorted(root.glob("*.png")):
        image = load_image(path)
        for degrees, rotation in ROTATIONS.items():
            codes = read_codes(image if rotation is None else cv2.rotate(image, rotation))
            reported += [(path.name, degrees, code.format, code.text) for code in codes]
    # ZXing allows 4 per rotation; a kiosk that "finds" a product in a shirt pattern allows none.
    assert reported == []
