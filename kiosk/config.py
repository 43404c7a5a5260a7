"""Configuration: pydantic models with `extra="forbid"`, loaded from TOML over packaged defaults.

Lookup order: `--config FILE`, then `/etc/kiosk/kiosk.toml`, then the packaged defaults alone.
A site file only needs the keys it changes; everything else keeps its default.
"""

from __future__ import annotations

import copy
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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


class AudioSection(_Section):
    # "microphone": PyAudio; "file": a WAV or raw s16le file (technician tests, replays);
    # "none": this kiosk has no microphone (touch and typing only).
    source: Literal["microphone", "file", "none"] = "microphone"
    # Microphone by index, or by a part of its name ("USB", "ReSpeaker"); "" = the system default.
    device: str = ""
    file: Path | None = None  # for source = "file"
    # Audio the consumer has not read yet is kept up to this long; older chunks are dropped
    # (and counted) rather than letting memory grow.
    buffer_s: float = Field(2.0, gt=0, le=30)
    reconnect_max_s: float = Field(10.0, gt=0, le=300)  # back-off cap after a device disappears


class EndpointSection(_Section):
    # push_to_talk: listening opens on a tap; hands_free: while a customer is in front of the kiosk.
    mode: Literal["push_to_talk", "hands_free"] = "push_to_talk"
    vad_aggressiveness: int = Field(2, ge=0, le=3)  # webrtcvad: 0 lets most through, 3 is strictest
    min_energy_dbfs: float = Field(-50.0, ge=-96, le=0)  # quieter frames never count as speech
    start_speech_ms: int = Field(120, ge=30, le=2000)  # this much speech opens an utterance
    pre_roll_ms: int = Field(300, ge=0, le=2000)  # audio kept from before the start, so no syllable is lost
    trailing_silence_ms: int = Field(700, ge=90, le=5000)  # this much silence closes it
    max_utterance_s: float = Field(12.0, ge=1, le=60)
    no_speech_timeout_s: float = Field(6.0, ge=1, le=120)  # push-to-talk: give up if nobody speaks
    # Hands-free with no working camera (none configured, unplugged, failed): nothing can tell that
    # a customer is there, so the microphone listens all the time. Before a visit starts only a
    # greeting ("hello", "hi, where are the restrooms") is acted on; anything else is dropped
    # unseen and unrecorded. False: such a kiosk waits for a tap.
    listen_without_camera: bool = True


class SpeechSection(_Section):
    # auto: Vosk when a Vosk model for the kiosk's language is installed, else PocketSphinx.
    engine: Literal["auto", "vosk", "pocketsphinx"] = "auto"
    models_dir: Path = Path("var/models")  # where `kiosk models install` puts Vosk models
    vosk_model: str = ""  # installed model name; "" = the one installed for kiosk.language
    grammar: bool = True  # restrict recognition to the shop's vocabulary, open decoding as fallback
    # Below this confidence a grammar result is not trusted and the open pass decides.
    accept_confidence: float = Field(0.5, ge=0, le=1)
    # PocketSphinx's open pass recognises this many of its model's words, the most probable (the
    # shop's own words always): 20000 heard the shop's requests as well as all 72547 with 45 MB
    # less memory. 0: all of them.
    open_words: int = Field(20000, ge=0)


class TtsSection(_Section):
    enabled: bool = True
    voice: str = "en-us"
    rate_wpm: int = Field(165, ge=80, le=450)
    volume: int = Field(100, ge=0, le=200)  # espeak-ng amplitude


class CameraSection(_Section):
    # "camera": a V4L2 device through OpenCV; "file": a video, an image or a folder of images;
    # "none": this kiosk has no camera (tap to start; no scanning).
    source: Literal["camera", "file", "none"] = "camera"
    device: str = "0"  # an index, /dev/videoN or a stable /dev/v4l/by-id/... link
    file: Path | None = None  # for source = "file"
    width: int = Field(640, ge=160, le=3840)
    height: int = Field(480, ge=120, le=2160)
    fps: float = Field(10.0, gt=0, le=60)
    reconnect_max_s: float = Field(10.0, gt=0, le=300)  # back-off cap after the camera disappears
    realtime: bool = True  # file source: deliver frames at the file's own pace
    loop: bool = False  # file source: start again at the end


class PresenceSection(_Section):
    enabled: bool = True
    model_dir: Path = Path("models/face-detection")
    # BlazeFace's own threshold is 0.5; at 0.5 a dog scored as a face in the sample photos.
    min_score: float = Field(0.65, gt=0, lt=1)
    keepalive_s: float = Field(2.0, gt=0, le=60)  # look for faces this often even on a still scene
    max_detection_hz: float = Field(5.0, gt=0, le=60)
    gate_changed: float = Field(0.005, gt=0, lt=1)  # share of pixels changed → the detector runs again
    pixel_threshold: int = Field(15, ge=1, le=255)
    max_crops: int = Field(2, ge=0, le=8)  # enlarged second looks when the whole frame has no face
    centre_crop: float = Field(0.5, ge=0, le=1)
    blob_min_height: float = Field(0.1, gt=0, le=1)
    blob_min_area: float = Field(0.002, gt=0, le=1)
    lighting_changed: float = Field(0.5, gt=0, le=1)
    arrive_hits: int = Field(2, ge=1, le=30)  # a face in k of the last n detector runs → arrived
    arrive_window: int = Field(4, ge=1, le=30)
    # Sustained person-sized motion → arrived (0: only a face counts).
    motion_arrive_s: float = Field(1.0, ge=0, le=30)
    motion_gap_s: float = Field(0.5, ge=0, le=10)
    leave_after_s: float = Field(3.0, gt=0, le=120)  # nobody seen this long → left
    approach_m: float = Field(1.5, gt=0, le=10)
    min_frontality: float = Field(0.5, ge=0, le=1)
    camera_hfov_deg: float = Field(62.0, gt=10, lt=180)  # Pi Camera v2: 62.2°
    face_width_m: float = Field(0.14, gt=0.05, lt=0.4)


class ScanSection(_Section):
    tessdata: Path | None = None  # folder holding eng.traineddata; unset: the system's Tesseract data
    ocr_language: str = Field("eng", pattern=r"^[a-z_+]{3,32}$")
    # What an order QR code holds: the first group is the order number.
    order_pattern: str = r"^(?:ORDER[:#-]?\s*)?(\d{4,8})$"

    @field_validator("order_pattern")
    @classmethod
    def _one_group(cls, value: str) -> str:
        try:
            groups = re.compile(value).groups
        except re.error as exc:
            raise ValueError(f"not a valid regular expression ({exc})") from None
        if groups < 1:
            raise ValueError(r"needs a group around the order number, e.g. ^ORDER-(\d{6})$")
        return value


class UiSection(_Section):
    fullscreen: bool = True
    size: str = Field("1280x800", pattern=r"^[0-9]{3,4}x[0-9]{3,4}$")  # windowed size, WxH
    dim_after_s: float = Field(60.0, gt=0, le=3600)  # Attract dims after this long with nobody there
    # Anti-aliasing samples per pixel (0 = off): smoother rounded corners, at a cost on every pixel.
    multisamples: int = Field(0, ge=0, le=8)
    # The Scan screen's preview moves like a mirror, which is what makes holding a document into
    # the frame easy; its text then reads backwards. A camera looking down at a counter, not at
    # the customer, wants it off.
    mirror_preview: bool = True
    # Accessibility defaults (the customer can switch both on screen).
    large_text: bool = False
    high_contrast: bool = False
    # Conversation screen tiles: (label, phrase said for the customer), most common first.
    quick_actions: list[tuple[str, str]] = [
        ("Opening hours", "what are your opening hours"),
        ("Find a product", "where can I find a product"),
        ("Order status", "where is my order"),
        ("Returns", "I want to return something"),
        ("Restrooms", "where are the restrooms"),
        ("Price check", "how much is this"),
    ]


class LoggingSection(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Config(_Section):
    kiosk: KioskSection
    store: StoreSection
    intents: IntentsSection
    dialogue: DialogueSection
    storage: StorageSection
    audio: AudioSection = AudioSection()
    endpoint: EndpointSection = EndpointSection()
    speech: SpeechSection = SpeechSection()
    tts: TtsSection = TtsSection()
    camera: CameraSection = CameraSection()
    presence: PresenceSection = PresenceSection()
    scan: ScanSection = ScanSection()
    ui: UiSection = UiSection()
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
