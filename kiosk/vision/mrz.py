"""ICAO 9303 machine-readable zones (TD1, TD2, TD3, MRV-A, MRV-B) as text: layout, check digits, fields.

Pure text, no images: `mrz_reader` finds and OCRs the band and hands the lines here.

Contract (what callers can rely on):
* `parse_mrz` raises `MrzError` when the input cannot be an MRZ at all: wrong number of lines,
  wrong or unequal line lengths, or a character outside A–Z, 0–9, `<`. Only surrounding
  whitespace is stripped; nothing else is guessed (the reader normalises OCR output first).
* An MRZ of the right shape always gives an `MrzResult`. `valid` is True only when every check
  digit passes, letters-only / digits-only fields hold only such characters, sex is M/F/<,
  both dates are calendar dates and both country codes are ICAO codes (or empty). Otherwise
  `valid` is False, `fields` is EMPTY (data that failed its checks is never handed out as
  data), `checks` still says which check digit failed and `reason` says why in words.
* OCR corrections are positional only (a digit in a name becomes the look-alike letter, a letter
  in a date the look-alike digit), applied all at once, and kept only if the whole MRZ then
  passes. A check digit is never recomputed to match its field, and nothing is searched.
* Names, sex and country codes have no check digit (ICAO 9303 covers number, dates, optional
  data); a misread letter there can only be caught by the rules above.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from kiosk.errors import KioskError

FILLER = "<"
_VALID_LINE = re.compile(r"[A-Z0-9<]*")
# Look-alikes Tesseract confuses in OCR-B. Only these; anything else stays wrong and fails.
TO_DIGIT = str.maketrans({"O": "0", "I": "1", "B": "8", "S": "5", "Z": "2", "G": "6"})
TO_LETTER = str.maketrans({"0": "O", "1": "I", "8": "B", "5": "S", "2": "Z", "6": "G"})
# Shape → formats; the first letter of line 1 tells a visa ("V") from a travel document.
SHAPES = {(3, 30): "TD1", (2, 36): "TD2", (2, 44): "TD3"}
LINE_LENGTHS = {"TD1": 30, "TD2": 36, "TD3": 44, "MRVA": 44, "MRVB": 36}
LINE_COUNTS = {"TD1": 3, "TD2": 2, "TD3": 2, "MRVA": 2, "MRVB": 2}


# ISO 3166-1 alpha-3 plus the codes ICAO 9303-3 adds (D for Germany, British nationals, UN bodies,
# stateless and refugee, the Utopia specimens). Country fields have no check digit, so a
# misread code is caught only by not being a code at all.
_CODES = """
ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE BDI BEL BEN BES BFA BGD BGR BHR
BHS BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA CAF CAN CCK CHE CHL CHN CIV CMR COD COG COK COL
COM CPV CRI CUB CUW CXR CYM CYP CZE DEU DJI DMA DNK DOM DZA ECU EGY ERI ESH ESP EST ETH FIN FJI FLK
FRA FRO FSM GAB GBR GEO GGY GHA GIB GIN GLP GMB GNB GNQ GRC GRD GRL GTM GUF GUM GUY HKG HMD HND HRV
HTI HUN IDN IMN IND IOT IRL IRN IRQ ISL ISR ITA JAM JEY JOR JPN KAZ KEN KGZ KHM KIR KNA KOR KWT LAO
LBN LBR LBY LCA LIE LKA LSO LTU LUX LVA MAC MAF MAR MCO MDA MDG MDV MEX MHL MKD MLI MLT MMR MNE MNG
MNP MOZ MRT MSR MTQ MUS MWI MYS MYT NAM NCL NER NFK NGA NIC NIU NLD NOR NPL NRU NZL OMN PAK PAN PCN
PER PHL PLW PNG POL PRI PRK PRT PRY PSE PYF QAT REU ROU RUS RWA SAU SDN SEN SGP SGS SHN SJM SLB SLE
SLV SMR SOM SPM SRB SSD STP SUR SVK SVN SWE SWZ SXM SYC SYR TCA TCD TGO THA TJK TKL TKM TLS TON TTO
TUN TUR TUV TWN TZA UGA UKR UMI URY USA UZB VAT VCT VEN VGB VIR VNM VUT WLF WSM YEM ZAF ZMB ZWE
D GBD GBN GBO GBP GBS EUE UNO UNA UNK XBA XIM XCC XCE XCO XEC XPO XES XMP XOM XDC XXA XXB XXC XXX
RKS UTO ANT NTZ ROM YUG SCG CSK ZAR TMP
"""
COUNTRY_CODES = frozenset(_CODES.split())


class MrzError(KioskError):
    """The text cannot be an MRZ (shape or characters); the message says what is wrong."""


def check_digit(text: str) -> str:
    """ICAO 9303 check digit: weights 7, 3, 1 repeating; `<` = 0, 0–9 as is, A = 10 … Z = 35."""
    total = 0
    for i, ch in enumerate(text):
        if ch.isdigit():
            value = int(ch)
        elif "A" <= ch <= "Z":
            value = ord(ch) - ord("A") + 10
        elif ch == FILLER:
            value = 0
        else:
            raise MrzError(f"{ch!r} is not an MRZ character (A–Z, 0–9, <)")
        total += value * (7, 3, 1)[i % 3]
    return str(total % 10)


# A layout lists slices of the lines (line index, start, end) and what each field may hold:
# "A" letters or <, "N" digits, "X" letters, digits or <, "S" sex (M, F or <).
_Slice = tuple[int, int, int]


@dataclass(frozen=True)
class _Layout:
    fields: dict[str, tuple[_Slice, str]]
    checks: dict[str, tuple[list[_Slice], _Slice]]  # check name → (covered slices, check digit)


def _two_line(name_len: int, optional_end: int, composite: bool, optional_check: bool) -> _Layout:
    """TD2, TD3, MRV-A and MRV-B share one scheme; only lengths and the trailing checks differ."""
    fields = {
        "document_type": ((0, 0, 2), "A"), "issuing_country": ((0, 2, 5), "A"),
        "names": ((0, 5, name_len), "A"),
        "document_number": ((1, 0, 9), "X"), "nationality": ((1, 10, 13), "A"),
        "birth_date": ((1, 13, 19), "N"), "sex": ((1, 20, 21), "S"),
        "expiry_date": ((1, 21, 27), "N"), "optional_data": ((1, 28, optional_end), "X"),
    }
    checks: dict[str, tuple[list[_Slice], _Slice]] = {
        "document_number": ([(1, 0, 9)], (1, 9, 10)),
        "birth_date": ([(1, 13, 19)], (1, 19, 20)),
        "expiry_date": ([(1, 21, 27)], (1, 27, 28)),
    }
    if optional_check:  # TD3 personal number
        checks["optional_data"] = ([(1, 28, 42)], (1, 42, 43))
    if composite:
        end = optional_end + (1 if optional_check else 0)
        checks["composite"] = ([(1, 0, 10), (1, 13, 20), (1, 21, end)], (1, end, end + 1))
    return _Layout(fields, checks)


LAYOUTS: dict[str, _Layout] = {
    "TD1": _Layout(
        fields={
            "document_type": ((0, 0, 2), "A"), "issuing_country": ((0, 2, 5), "A"),
            "document_number": ((0, 5, 14), "X"), "optional_data": ((0, 15, 30), "X"),
            "birth_date": ((1, 0, 6), "N"), "sex": ((1, 7, 8), "S"), "expiry_date": ((1, 8, 14), "N"),
            "nationality": ((1, 15, 18), "A"), "optional_data_2": ((1, 18, 29), "X"),
            "names": ((2, 0, 30), "A"),
        },
        checks={
            "document_number": ([(0, 5, 14)], (0, 14, 15)),
            "birth_date": ([(1, 0, 6)], (1, 6, 7)),
            "expiry_date": ([(1, 8, 14)], (1, 14, 15)),
            "composite": ([(0, 5, 30), (1, 0, 7), (1, 8, 15), (1, 18, 29)], (1, 29, 30)),
        }),
    "TD2": _two_line(36, 35, composite=True, optional_check=False),
    "TD3": _two_line(44, 42, composite=True, optional_check=True),
    "MRVA": _two_line(44, 44, composite=False, optional_check=False),
    "MRVB": _two_line(36, 36, composite=False, optional_check=False),
}


@dataclass(frozen=True)
class MrzResult:
    format: str  # "TD1", "TD2", "TD3", "MRVA", "MRVB"
    valid: bool
    checks: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))  # name → passed
    fields: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))  # empty unless valid
    reason: str | None = None  # why valid is False
    corrected: bool = False  # look-alike characters were replaced (and everything then passed)
    lines: tuple[str, ...] = ()  # the MRZ as accepted; empty unless valid

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: dates as ISO strings."""
        fields = {k: (v.isoformat() if isinstance(v, dt.date) else list(v) if isinstance(v, tuple) else v)
                  for k, v in self.fields.items()}
        return {"format": self.format, "valid": self.valid, "checks": dict(self.checks),
                "fields": fields, "reason": self.reason, "corrected": self.corrected,
                "lines": list(self.lines)}


def mrz_format(lines: list[str]) -> str:
    """The format a block of lines has, or MrzError saying what shape was expected."""
    lengths = {len(line) for line in lines}
    shape = (len(lines), lengths.pop()) if len(lengths) == 1 else None
    if shape not in SHAPES:
        got = ", ".join(str(len(line)) for line in lines) or "nothing"
        raise MrzError(f"an MRZ is 3 lines of 30 characters (TD1), 2 of 36 (TD2, MRV-B) or 2 of 44 "
                       f"(TD3, MRV-A); got {len(lines)} line(s) of {got} characters")
    kind = SHAPES[shape]
    if kind != "TD1" and lines[0].startswith("V"):
        return "MRVA" if kind == "TD3" else "MRVB"
    return kind


def _clean(lines: list[str]) -> list[str]:
    if isinstance(lines, str) or not all(isinstance(line, str) for line in lines):
        raise MrzError("parse_mrz takes a list of lines (strings), not one string")
    cleaned = [line.strip() for line in lines]
    for n, line in enumerate(cleaned, 1):
        if not _VALID_LINE.fullmatch(line):
            bad = next(ch for ch in line if not _VALID_LINE.fullmatch(ch))
            raise MrzError(f"MRZ line {n} holds {bad!r}: only A–Z, 0–9 and < are allowed")
    return cleaned


def _get(lines: list[str], s: _Slice) -> str:
    return lines[s[0]][s[1]:s[2]]


def _check_slices(kind: str, lines: list[str]) -> dict[str, tuple[str, str]]:
    """Check name → (covered text, check character), with TD1/TD2 long document numbers followed
    into the optional field (ICAO 9303-5 §4.2.2: a `<` in the check position means "continued")."""
    layout = LAYOUTS[kind]
    out = {name: ("".join(_get(lines, s) for s in covered), _get(lines, digit))
           for name, (covered, digit) in layout.checks.items()}
    number, digit = out["document_number"]
    if digit == FILLER and kind in ("TD1", "TD2"):
        optional = _get(lines, layout.fields["optional_data"][0])
        overflow = optional.split(FILLER, 1)[0]
        if len(overflow) >= 2:  # at least one more character and its check digit
            out["document_number"] = (number + overflow[:-1], overflow[-1])
    return out


def _century_date(yymmdd: str, today: dt.date, past: bool) -> dt.date | None:
    """Two-digit years: a birth date is never in the future; an expiry lies within 50 years ahead."""
    if not yymmdd.isdigit():
        return None
    yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    year = 2000 + yy
    if (past and (year, mm, dd) > (today.year, today.month, today.day)) \
            or (not past and year > today.year + 50):
        year -= 100
    try:
        return dt.date(year, mm, dd)
    except ValueError:
        return None


def _names(text: str) -> tuple[str, tuple[str, ...]]:
    """`ERIKSSON<<ANNA<MARIA<<<` → ("ERIKSSON", ("ANNA", "MARIA")); `<` inside a name is a space."""
    surname, _, given = text.rstrip(FILLER).partition("<<")
    return surname.replace(FILLER, " ").strip(), tuple(n for n in given.split(FILLER) if n)


def _evaluate(kind: str, lines: list[str], today: dt.date) -> MrzResult:
    layout = LAYOUTS[kind]
    slices = _check_slices(kind, lines)
    checks: dict[str, bool] = {}
    for name, (text, digit) in slices.items():
        if name == "optional_data" and set(text) == {FILLER}:
            checks[name] = digit in ("<", "0")  # an empty personal number may carry < or 0
        else:
            checks[name] = digit.isdigit() and check_digit(text) == digit
    problems = [f"check digit of {name} fails" for name, ok in checks.items() if not ok]
    raw = {name: _get(lines, s) for name, (s, _) in layout.fields.items()}
    for name, (s, what) in layout.fields.items():
        value = raw[name]
        if what == "A" and not re.fullmatch(r"[A-Z<]*", value):
            problems.append(f"{name} holds digits")
        elif what == "N" and not value.isdigit():
            problems.append(f"{name} is not all digits")
        elif what == "S" and value not in ("M", "F", FILLER):
            problems.append(f"sex is {value!r}, not M, F or <")
    for name in ("issuing_country", "nationality"):
        code = raw[name].rstrip(FILLER)
        # All fillers is tolerated: Macau ID cards leave nationality empty, and fillers are
        # the one thing a reader can tell apart from letters by shape alone.
        if code and code not in COUNTRY_CODES:
            problems.append(f"{name} {code!r} is not an ICAO country code")
    birth = _century_date(raw["birth_date"], today, past=True)
    expiry = _century_date(raw["expiry_date"], today, past=False)
    if birth is None or expiry is None:
        problems.append("a date is not a calendar date")
    if problems:
        return MrzResult(kind, False, MappingProxyType(checks), reason="; ".join(problems))
    surname, given = _names(raw["names"])
    number = slices["document_number"][0] if kind in ("TD1", "TD2") else raw["document_number"]
    fields: dict[str, Any] = {
        "document_type": raw["document_type"].rstrip(FILLER),
        "issuing_country": raw["issuing_country"].rstrip(FILLER),
        "document_number": number.rstrip(FILLER),
        "surname": surname, "given_names": given,
        "nationality": raw["nationality"].rstrip(FILLER),
        "birth_date": birth, "sex": {"<": "X"}.get(raw["sex"], raw["sex"]), "expiry_date": expiry,
    }
    optional = raw["optional_data"]
    if kind in ("TD1", "TD2") and slices["document_number"][0] != raw["document_number"]:
        # The overflow and its check digit are part of the number, not optional data.
        optional = optional.split(FILLER, 1)[1] if FILLER in optional else ""
    fields["optional_data"] = optional.strip(FILLER)
    if kind == "TD1":
        fields["optional_data_2"] = raw["optional_data_2"].strip(FILLER)
    return MrzResult(kind, True, MappingProxyType(checks), MappingProxyType(fields), lines=tuple(lines))


def position_classes(kind: str) -> list[str]:
    """Per line, what each position may hold besides `<`: "A" letters, "N" digits, "X" either,
    "S" the sex letter (M or F)."""
    layout = LAYOUTS[kind]
    rows = [["X"] * LINE_LENGTHS[kind] for _ in range(LINE_COUNTS[kind])]
    for (row, start, end), what in layout.fields.values():
        for i in range(start, end):
            rows[row][i] = what
    for _, (row, start, _end) in layout.checks.values():
        rows[row][start] = "N"
    return ["".join(row) for row in rows]


def _positional_fix(kind: str, lines: list[str]) -> list[str]:
    """Each look-alike replaced by what its position must hold; alphanumeric fields untouched."""
    tables = {"A": TO_LETTER, "S": TO_LETTER, "N": TO_DIGIT}
    return ["".join(ch.translate(tables[c]) if c in tables else ch for ch, c in zip(line, classes))
            for line, classes in zip(lines, position_classes(kind))]


def parse_mrz(lines: list[str], *, today: dt.date | None = None, correct: bool = True) -> MrzResult:
    """Parse and verify an MRZ. `today` decides centuries (default: the local date).

    Raises MrzError for a wrong shape or characters; see the module doc for what `valid` means."""
    cleaned = _clean(lines)
    kind = mrz_format(cleaned)
    today = today or dt.date.today()
    result = _evaluate(kind, cleaned, today)
    if result.valid or not correct:
        return result
    fixed = _positional_fix(kind, cleaned)
    if fixed != cleaned:
        retry = _evaluate(kind, fixed, today)
        if retry.valid:
            return MrzResult(kind, True, retry.checks, retry.fields, corrected=True, lines=retry.lines)
    return result
