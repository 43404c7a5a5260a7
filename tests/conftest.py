"""Shared fixtures: the real demo store, the committed model, a fresh database per test."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
SHARED = ROOT.parent / "shared" / "datasets"
# A Monday: "last Tuesday" is 2026-11-17, the store's Thanksgiving closure is on Thursday.
TODAY = dt.date(2026, 11, 23)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def shared_dataset(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"dataset {path} is absent (clone the project beside ../shared to run this test)")
    return path


@pytest.fixture(scope="session")
def config():
    from kiosk.config import load_config

    return load_config(ROOT / "tests" / "data" / "test_config.toml", check_files=True)


class Clock:
    """A settable wall clock, so tests decide what "today" and "last Tuesday" mean."""

    def __init__(self, start: dt.datetime):
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kw) -> None:
        self.now += dt.timedelta(**kw)


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime.combine(TODAY, dt.time(12, 0)).astimezone())


@pytest.fixture
def assistant(config, clock, tmp_path):
    from kiosk.app import build_assistant

    a = build_assistant(config, clock=clock, database=str(tmp_path / "kiosk.db"))
    yield a
    a.end("test_over")


@pytest.fixture(scope="session")
def model():
    from kiosk.nlu.model import IntentModel

    return IntentModel.load(ROOT / "models" / "intent-en")
