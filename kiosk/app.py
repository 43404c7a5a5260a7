"""The one place that builds the kiosk from its configuration and wires the parts together."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from kiosk import paths
from kiosk.assistant import Assistant
from kiosk.config import Config
from kiosk.dialogue.answers import Answerer, load_responses
from kiosk.dialogue.session import Policy
from kiosk.nlu.model import IntentModel
from kiosk.nlu.understand import Understander
from kiosk.storage.db import open_database
from kiosk.storage.journal import Journal
from kiosk.storedata.catalog import Catalog
from kiosk.storedata.orders import OrderBook
from kiosk.storedata.profile import StoreProfile, load_profile


@dataclass(frozen=True)
class StoreData:
    profile: StoreProfile
    catalog: Catalog
    orders: OrderBook


def load_store(config: Config) -> StoreData:
    store_dir = config.path(config.store.dir)
    profile = load_profile(store_dir / "store.toml")
    catalog = Catalog.from_csv(store_dir / "catalog.csv")
    orders = OrderBook.from_csv(store_dir / "orders.csv", catalog)
    return StoreData(profile, catalog, orders)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def build_assistant(config: Config, *, clock: Callable[[], dt.datetime] = _utc_now,
                    database: str | None = None) -> Assistant:
    """Store data, model, journal and dialogue policy, wired into the text core.

    `clock` is injected so tests (and replays) control what "today" and "last Tuesday" mean;
    dates are taken in the kiosk's local time zone.
    """
    store = load_store(config)
    model = IntentModel.load(config.path(config.intents.model_dir))
    responses = load_responses(paths.ASSETS_DIR / "responses" / f"{config.kiosk.language}.yaml")
    local_clock = lambda: clock().astimezone()  # noqa: E731 - the local wall clock of the shop
    answerer = Answerer(store.profile, store.catalog, store.orders, responses,
                        today=lambda: local_clock().date())
    conn = open_database(database or config.path(config.storage.database))
    journal = Journal(conn, clock=clock)
    policy = Policy(clarify_margin=config.intents.clarify_margin,
                    max_failed_attempts=config.dialogue.max_failed_attempts)
    return Assistant(Understander(model, store.catalog, store.profile, top_k=config.intents.top_k),
                     answerer, journal, policy=policy, kiosk_id=config.kiosk.id,
                     language=config.kiosk.language, retention_days=config.storage.retention_days,
                     clock=local_clock)


# -- speech -------------------------------------------------------------------------------------
def build_speech_engine(config: Config, assistant: Assistant, *, engine: str | None = None):
    """The recognition engine, its grammar made from the intents and this store's own data."""
    from kiosk.speech.domain import build_domain
    from kiosk.speech.select import build_engine

    domain = build_domain(paths.ASSETS_DIR / "intents" / config.kiosk.language,
                          assistant.answerer.catalog, assistant.answerer.profile)
    return build_engine(config, domain, engine=engine)


def build_endpointer(config: Config):
    from kiosk.audio.endpoint import Endpointer

    e = config.endpoint
    return Endpointer(aggressiveness=e.vad_aggressiveness, min_energy_dbfs=e.min_energy_dbfs,
                      start_speech_ms=e.start_speech_ms, pre_roll_ms=e.pre_roll_ms,
                      trailing_silence_ms=e.trailing_silence_ms,
                      max_utterance_s=e.max_utterance_s, no_speech_timeout_s=e.no_speech_timeout_s)


def build_microphone(config: Config):
    from kiosk.audio.microphone import MicrophoneSource

    a = config.audio
    return MicrophoneSource(a.device, buffer_s=a.buffer_s, reconnect_max_s=a.reconnect_max_s)


def build_speaker(config: Config, mute=None):
    from kiosk.audio.speaker import Speaker

    t = config.tts
    return Speaker(t.voice, t.rate_wpm, t.volume, enabled=t.enabled, mute=mute)


# -- camera and scanning ------------------------------------------------------------------------
def build_ocr(config: Config):
    """Tesseract, or None when it cannot run here (codes still scan; the reason is logged)."""
    import logging

    from kiosk.vision.ocr import Ocr, OcrUnavailable

    s = config.scan
    try:
        return Ocr(config.path(s.tessdata) if s.tessdata else None, s.ocr_language)
    except OcrUnavailable as exc:
        logging.getLogger("kiosk.scan").warning("OCR is off: %s", exc)
        return None


def build_scanner(config: Config, ocr=None, *, profile: StoreProfile | None = None):
    """Codes, MRZ and receipts; receipt dates are read in the store's own date order (from
    `profile` when the caller has the store loaded already, else from store.toml)."""
    from kiosk.vision.scan import Scanner

    profile = profile or load_profile(config.path(config.store.dir) / "store.toml")
    return Scanner(ocr if ocr is not None else build_ocr(config), order_pattern=config.scan.order_pattern,
                   date_order=profile.date_order)


def build_camera(config: Config, *, file: str | None = None):
    """The configured camera, or a file source (video, image or folder) standing in for it."""
    from kiosk.vision.camera import CameraSource, FileFrameSource

    c = config.camera
    path = file or (str(config.path(c.file)) if c.source == "file" and c.file else None)
    if path is not None:
        # A file named on the command line is read as fast as it decodes, once.
        return FileFrameSource(path, realtime=c.realtime and file is None, loop=c.loop and file is None)
    device: int | str = int(c.device) if c.device.isdigit() else (c.device or 0)
    return CameraSource(device, width=c.width, height=c.height, fps=c.fps, reconnect_max_s=c.reconnect_max_s)


def build_presence(config: Config):
    """The presence tracker with its face detector (None for the detector when presence is off)."""
    from kiosk.vision.faces import FaceDetector
    from kiosk.vision.presence import PresenceSettings, PresenceTracker

    p = config.presence
    detector = FaceDetector(config.path(p.model_dir), min_score=p.min_score) if p.enabled else None
    tuning = p.model_dump(exclude={"enabled", "model_dir", "min_score"})
    return PresenceTracker(detector, PresenceSettings(**tuning))


# -- the touchscreen's runtime ------------------------------------------------------------------
def build_runtime(config: Config, *, clock: Callable[[], dt.datetime] | None = None,
                  database: str | None = None):
    """The text core with the configured camera, microphone and speaker around it (not started).

    Devices are given to the runtime as factories: they are opened (and the speech engine
    loaded) on the runtime's own threads, so the screen is up before they are.
    """
    from kiosk.runtime.core import KioskRuntime

    assistant = build_assistant(config, clock=clock or _utc_now, database=database)
    microphone = {"microphone": lambda: build_microphone(config),
                  "file": lambda: _file_microphone(config)}.get(config.audio.source)
    camera = None if config.camera.source == "none" else (lambda: build_camera(config))

    def live_scan():
        from kiosk.vision.live import LiveScan

        return LiveScan(build_scanner(config, profile=assistant.answerer.profile))

    return KioskRuntime(
        config, assistant, microphone_factory=microphone,
        speech_engine_factory=lambda: build_speech_engine(config, assistant),
        endpointer=build_endpointer(config) if microphone else None,
        camera_factory=camera, presence_factory=lambda: build_presence(config), live_scan_factory=live_scan,
        speaker_factory=lambda mute: build_speaker(config, mute=mute))


def _file_microphone(config: Config):
    """A recording standing in for the microphone, delivered at a microphone's pace."""
    from kiosk.audio.source import AudioError
    from kiosk.audio.wavfile import FileSource
    from kiosk.runtime.workers import PacedSource

    if config.audio.file is None:
        raise AudioError('audio.source = "file" needs audio.file (a WAV or raw recording)')
    return PacedSource(FileSource(config.path(config.audio.file)))
