"""GTIN arithmetic (EAN-13, EAN-8, UPC-A, UPC-E, GTIN-14): one implementation for the catalogue,
typed or spoken barcodes, and barcodes read by the camera."""

from __future__ import annotations


def _is_ascii_digits(text: str) -> bool:
    # str.isdigit alone accepts "²" and Arabic-Indic digits, which no catalogue key contains.
    return text.isascii() and text.isdigit()


def gtin_check_digit(digits: str) -> int:
    """The GS1 check digit for a GTIN body (the digits before the check digit, any length).

    Weights run 3, 1, 3, … from the rightmost body digit, so one function serves GTIN-8/12/13/14.
    """
    if not digits or not _is_ascii_digits(digits):
        raise ValueError(f"a GTIN body is ASCII digits only, got {digits!r}")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def is_valid_gtin(text: str) -> bool:
    """True for an 8, 12, 13 or 14-digit GTIN whose last digit is its check digit."""
    return (isinstance(text, str) and len(text) in (8, 12, 13, 14) and _is_ascii_digits(text)
            and gtin_check_digit(text[:-1]) == int(text[-1]))


def upce_to_upca(text: str) -> str:
    """Expand a zero-suppressed UPC-E to its 12-digit UPC-A (which a catalogue is keyed on).

    Takes the 8 printed digits (number system 0/1, six data digits, check digit) and verifies the
    check digit, which UPC-E shares with its UPC-A; 6 digits (number system 0) or 7 digits (no
    check digit) get the check digit computed.
    """
    if not _is_ascii_digits(text) or len(text) not in (6, 7, 8):
        raise ValueError(f"a UPC-E is 6, 7 or 8 ASCII digits, got {text!r}")
    if len(text) == 6:
        text = "0" + text
    system, d = text[0], text[1:7]
    if system not in "01":
        raise ValueError(f"UPC-E {text!r} has number system {system}; only 0 and 1 exist")
    # The last data digit says where the suppressed zeros went (GS1 General Specifications 5.2.2.4.2).
    last = d[5]
    if last in "012":
        body = system + d[0:2] + last + "0000" + d[2:5]
    elif last == "3":
        body = system + d[0:3] + "00000" + d[3:5]
    elif last == "4":
        body = system + d[0:4] + "00000" + d[4]
    else:
        body = system + d[0:5] + "0000" + last
    check = gtin_check_digit(body)
    if len(text) == 8 and int(text[7]) != check:
        raise ValueError(f"UPC-E {text!r} has check digit {text[7]}, expected {check}")
    return body + str(check)
