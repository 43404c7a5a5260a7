"""The store profile: opening hours, holidays, departments, services, policies and FAQ answers.

The profile is one TOML file (see ``assets/store/demo/store.toml``) validated into frozen pydantic
models, so the dialogue code can rely on every field being present and consistent.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from kiosk.errors import KioskError

__all__ = [
    "REQUIRED_FAQ_TOPICS",
    "DayHours",
    "Department",
    "Handoff",
    "Holiday",
    "OpeningHours",
    "Policies",
    "Service",
    "StoreDataError",
    "StoreProfile",
    "Weekday",
    "hours_on",
    "load_profile",
]

# Topics the dialogue layer answers straight from the profile; a store without them would leave the
# kiosk silent on common questions, so loading fails instead.
REQUIRED_FAQ_TOPICS: tuple[str, ...] = (
    "wifi",
    "parking",
    "restrooms",
    "loyalty",
    "gift_cards",
    "delivery",
    "promotions",
    "complaint",
    "feedback",
    "help",
)

_LOOSE_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


class StoreDataError(KioskError):
    """A store data file is missing or invalid; the message names the file and what is wrong."""


class Weekday(StrEnum):
    # Declared in date.weekday() order so hours_on can index by it.
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"


_WEEKDAYS_IN_ORDER: tuple[Weekday, ...] = tuple(Weekday)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _TimeWindow(_Frozen):
    """Opening and closing time, or closed all day.

    Checks live in field validators (not a model validator) so that errors point at the exact key,
    e.g. ``hours.sunday.close``, which is what someone editing the TOML needs to see.
    """

    open: dt.time | None = None
    close: dt.time | None = None
    # validate_default so a day with neither times nor `closed = true` is still checked.
    closed: bool = Field(default=False, validate_default=True)

    @field_validator("open", "close", mode="before")
    @classmethod
    def _accept_loose_times(cls, value: Any) -> Any:
        # TOML authors write "8:00" as often as "08:00"; pydantic only parses the latter.
        if isinstance(value, str):
            match = _LOOSE_TIME.match(value)
            if match:
                hour, minute = int(match.group(1)), int(match.group(2))
                if hour > 23 or minute > 59:
                    raise ValueError(f"{value!r} is not a time of day (use HH:MM, 00:00-23:59)")
                return dt.time(hour, minute)
        return value

    @field_validator("close")
    @classmethod
    def _close_after_open(cls, close: dt.time | None, info: ValidationInfo) -> dt.time | None:
        opening = info.data.get("open")
        if close is not None and opening is not None and close <= opening:
            raise ValueError(
                f"closing time {close:%H:%M} must be after opening time {opening:%H:%M}"
            )
        return close

    @field_validator("closed")
    @classmethod
    def _closed_means_no_times(cls, closed: bool, info: ValidationInfo) -> bool:
        if "open" not in info.data or "close" not in info.data:
            return closed  # an earlier field already failed; don't pile on a second error
        opening, closing = info.data["open"], info.data["close"]
        if closed and (opening is not None or closing is not None):
            raise ValueError("a closed day must not also have open/close times")
        if not closed and (opening is None or closing is None):
            raise ValueError("give both open and close times, or set closed = true")
        return closed


class DayHours(_TimeWindow):
    """Regular opening hours for one weekday."""


class Holiday(_TimeWindow):
    """Hours on one specific date that replace the usual weekday hours."""

    date: dt.date
    name: str = Field(min_length=1)
    note: str | None = None


class Department(_Frozen):
    name: str = Field(min_length=1)
    aisles: list[str] = Field(min_length=1)
    description: str
    keywords: list[str] = Field(default_factory=list)


class Service(_Frozen):
    name: str = Field(min_length=1)
    description: str
    location: str
    keywords: list[str] = Field(default_factory=list)
    hours: str | None = None
    price: str | None = None


class Policies(_Frozen):
    return_window_days: int = Field(gt=0)
    return_window_days_electrical: int = Field(gt=0)
    receipt_required: bool
    no_receipt_rule: str
    non_returnable: list[str]
    exchange_rule: str
    price_match: str
    refund_processing_days: int = Field(ge=0)
    warranty: str


class Handoff(_Frozen):
    message: str = Field(min_length=1)
    desk: str = Field(min_length=1)


class StoreMap(_Frozen):
    """How the answer cards' store map is drawn. `entrance`: where the entrance is along the front
    wall, seen from the entrance looking in; the kiosk stands beside it, and so does the map's
    "You are here" that every route starts from."""

    entrance: Literal["left", "centre", "center", "right"] = "centre"


class StoreProfile(_Frozen):
    name: str = Field(min_length=1)
    address: str
    phone: str
    currency: str = "$"
    date_order: Literal["MDY", "DMY"]
    hours: dict[Weekday, DayHours]
    holidays: list[Holiday] = Field(default_factory=list)
    departments: list[Department] = Field(min_length=1)
    services: list[Service] = Field(default_factory=list)
    policies: Policies
    payment_methods: list[str] = Field(min_length=1)
    faq: dict[str, str]
    handoff: Handoff
    map: StoreMap = Field(default_factory=StoreMap)

    @field_validator("hours")
    @classmethod
    def _every_weekday(cls, hours: dict[Weekday, DayHours]) -> dict[Weekday, DayHours]:
        missing = [day.value for day in _WEEKDAYS_IN_ORDER if day not in hours]
        if missing:
            raise ValueError(f"missing hours for {', '.join(missing)}")
        # Re-key in calendar order so anything listing the week reads naturally.
        return {day: hours[day] for day in _WEEKDAYS_IN_ORDER}

    @field_validator("holidays")
    @classmethod
    def _one_entry_per_date(cls, holidays: list[Holiday]) -> list[Holiday]:
        seen: set[dt.date] = set()
        for holiday in holidays:
            if holiday.date in seen:
                raise ValueError(f"{holiday.date.isoformat()} is listed twice")
            seen.add(holiday.date)
        return holidays

    @field_validator("departments")
    @classmethod
    def _unique_department_names(cls, departments: list[Department]) -> list[Department]:
        names = [department.name for department in departments]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"duplicate department names: {', '.join(duplicates)}")
        return departments

    @field_validator("faq")
    @classmethod
    def _required_topics(cls, faq: dict[str, str]) -> dict[str, str]:
        missing = [topic for topic in REQUIRED_FAQ_TOPICS if not faq.get(topic, "").strip()]
        if missing:
            raise ValueError(f"missing answers for {', '.join(missing)}")
        return faq

    def department(self, name: str) -> Department | None:
        """The department with this exact name, if any."""
        return next((d for d in self.departments if d.name == name), None)


@dataclass(frozen=True)
class OpeningHours:
    """The hours that actually apply on one calendar day."""

    day: dt.date
    open: dt.time | None
    close: dt.time | None
    closed: bool
    holiday_name: str | None

    def is_open_at(self, moment: dt.time) -> bool:
        if self.closed or self.open is None or self.close is None:
            return False
        return self.open <= moment < self.close


def hours_on(profile: StoreProfile, day: dt.date) -> OpeningHours:
    """Opening hours for ``day``: a holiday entry for that date wins over the weekday's hours."""
    for holiday in profile.holidays:
        if holiday.date == day:
            return OpeningHours(day, holiday.open, holiday.close, holiday.closed, holiday.name)
    regular = profile.hours[_WEEKDAYS_IN_ORDER[day.weekday()]]
    return OpeningHours(day, regular.open, regular.close, regular.closed, None)


def load_profile(path: str | Path) -> StoreProfile:
    """Read and validate a store profile TOML file.

    Raises StoreDataError naming the file and, for each problem, the key path (``hours.sunday.close``)
    or the TOML syntax error with its line.
    """
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StoreDataError(f"{path}: cannot read store profile: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already carries "(at line N, column M)".
        raise StoreDataError(f"{path}: invalid TOML: {exc}") from exc
    try:
        return StoreProfile.model_validate(data)
    except ValidationError as exc:
        problems = "\n".join(
            f"  {_key_path(error['loc'])}: {_plain_message(error)}" for error in exc.errors()
        )
        raise StoreDataError(f"{path}: invalid store profile:\n{problems}") from exc


def _key_path(location: tuple[int | str, ...]) -> str:
    """('holidays', 3, 'close') -> 'holidays[3].close', matching how the TOML is written."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _plain_message(error: Any) -> str:
    message = str(error["msg"])
    # pydantic prefixes errors raised in our validators with "Value error, "; it adds nothing.
    return message.removeprefix("Value error, ")
