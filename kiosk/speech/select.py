"""Which recognition engine the kiosk uses, decided in one place from the `[speech]` config.

`auto` prefers Vosk (the production engine) when a Vosk model is installed for the kiosk's
language, and otherwise uses PocketSphinx, whose wheel bundles an English model, so an English
kiosk listens out of the box. Asking for an engine explicitly never silently falls back.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from kiosk.config import Config
from kiosk.speech.domain import DomainLanguage
from kiosk.speech.engine import SpeechEngine, SpeechError

log = logging.getLogger("kiosk.speech")

ENGINES = ("auto", "vosk", "pocketsphinx")


def vosk_model_for(config: Config) -> Path | None:
    """The Vosk model the config points at: an explicit `speech.vosk_model`, else the active one."""
    models_dir = config.path(config.speech.models_dir)
    name = config.speech.vosk_model
    if name:
        path = Path(name).expanduser()
        path = path if path.is_absolute() else models_dir / name
        if not path.is_dir():
            raise SpeechError(f"speech.vosk_model: {path} does not exist; `kiosk models list` shows "
                              f"the installed models")
        return path
    from kiosk.speech.vosk_engine import find_vosk_model  # prefers the `kiosk models` current link

    return find_vosk_model(models_dir, config.kiosk.language)


def _vosk_installed() -> bool:
    # Found, not imported: importing loads Vosk's native library (8 MB resident measured in the
    # app), which a kiosk running PocketSphinx would carry for nothing.
    return importlib.util.find_spec("vosk") is not None


def build_engine(config: Config, domain: DomainLanguage | None, *, engine: str | None = None) -> SpeechEngine:
    """The configured engine with its grammar built from `domain` (None: open vocabulary only)."""
    kind = engine or config.speech.engine
    if kind not in ENGINES:
        raise SpeechError(f"unknown speech engine {kind!r}; choose one of {', '.join(ENGINES)}")
    language = config.kiosk.language
    domain = domain if config.speech.grammar else None
    accept = config.speech.accept_confidence
    if kind in ("auto", "vosk"):
        model = vosk_model_for(config) if (kind == "vosk" or _vosk_installed()) else None
        if model is not None:
            from kiosk.speech.vosk_engine import VoskEngine

            chosen: SpeechEngine = VoskEngine(model, language=language, domain=domain,
                                              accept_confidence=accept)
            log.info("speech engine: vosk, model %s (%s)", model, "auto" if kind == "auto" else "configured")
            return chosen
        if kind == "vosk":
            raise SpeechError(f"no Vosk model for language {language!r} in "
                              f"{config.path(config.speech.models_dir)}; install one with "
                              f"`kiosk models install vosk-model-….zip`, "
                              f"or set speech.engine = \"pocketsphinx\"")
    if language != "en":
        raise SpeechError(f"PocketSphinx only has its bundled English model; for {language!r} install a "
                          f"Vosk model with `kiosk models install`")
    from kiosk.speech.pocketsphinx_engine import PocketSphinxEngine

    chosen = PocketSphinxEngine(domain, accept_confidence=accept,
                                open_words=config.speech.open_words or None)
    log.info("speech engine: pocketsphinx, bundled English model (%s)",
             "no Vosk model installed" if kind == "auto" else "configured")
    return chosen
