"""Configuration: pydantic models with `extra="forbid"`, loaded from TOML over packaged defaults.

Lookup order: `--config FILE`, then `/etc/kiosk/kiosk.toml`, then the packaged defaults alone.
A site file only needs the keys it changes; everything else keeps its default.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kiosk import paths
from kiosk.errors import KioskError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KioskSection(_Section):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    language: Literal["en"] = "en"


class StoreSection(_Section):
    dir: Path  # holds store.toml, catalog.csv, orders.csv


class IntentsSection(_Section):
    model_dir: Path
    top_k: int = Field(3, ge=1, le=10)
    # When the two best intents are closer than this, the kiosk asks which one was meant.
    clarify_margin: float = Field(0.12, ge=0.0, le=1.0)


class DialogueSection(_Section):
    max_failed_attempts: int = Field(2, ge=1, le=10)
    idle_timeout_s: float = Field(90, gt=0, le=3600)


class StorageSection(_Section):
    database: Path
    # Sessions (and what customers said) older than this are deleted; 0 deletes them at session end.
    retention_days: int = Field(30, ge=0, le=3650)


class LoggingSection(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Config(_Section):
    kiosk: KioskSection
    store: StoreSection
    intents: IntentsSection
    dialogue: DialogueSection
    storage: StorageSection
    logging: LoggingSection

    def path(self, value: Path) -> Path:
        return paths.resolve(value)


@dataclass(frozen=True)
class ConfigIssue:
    where: str  # dotted key path, or the file for syntax errors
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class ConfigError(KioskError):
    def __init__(self, source: str, issues: list[ConfigIssue]):
        self.source = source
        self.issues = issues
        super().__init__(f"{source}: " + "; ".join(str(i) for i in issues))


def _defaults() -> dict[str, Any]:
    text = resources.files("kiosk").joinpath("defaults.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), [ConfigIssue(str(path), "file not found")]) from None
    except (UnicodeDecodeError, IsADirectoryError, PermissionError) as exc:
        raise ConfigError(str(path), [ConfigIssue(str(path), f"cannot read: {exc}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [ConfigIssue(str(path), f"TOML syntax error: {exc}")]) from None


def _issues(exc: ValidationError) -> list[ConfigIssue]:
    out = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see kiosk/defaults.toml for every key)"
        elif err["type"] == "missing":
            message = "required key is missing"
        out.append(ConfigIssue(where, message))
    return out


def _file_issues(config: Config) -> list[ConfigIssue]:
    """Checks that need the filesystem: the things a kiosk cannot start without."""
    out = []
    store = config.path(config.store.dir)
    if not store.is_dir():
        out.append(ConfigIssue("store.dir", f"directory {store} does not exist"))
    else:
        for name in ("store.toml", "catalog.csv", "orders.csv"):
            if not (store / name).is_file():
                out.append(ConfigIssue("store.dir", f"{store / name} is missing"))
    model = config.path(config.intents.model_dir)
    if not (model / "manifest.json").is_file():
        out.append(ConfigIssue("intents.model_dir", f"no intent model at {model} (manifest.json missing)"))
    return out


def choose_source(explicit: str | Path | None) -> Path | None:
    if explicit is not None:
        return Path(explicit)
    return paths.SITE_CONFIG if paths.SITE_CONFIG.is_file() else None


def load_config(explicit: str | Path | None = None, *, check_files: bool = False) -> Config:
    """The effective configuration; raises ConfigError listing every problem with its key path."""
    source = choose_source(explicit)
    data = _defaults()
    name = "packaged defaults"
    if source is not None:
        name = str(source)
        override = _read_toml(source)
        data = _merge(data, override)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(name, _issues(exc)) from None
    if check_files:
        problems = _file_issues(config)
        if problems:
            raise ConfigError(name, problems)
    return config
