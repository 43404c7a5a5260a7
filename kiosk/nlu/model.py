"""The int8 intent model at run time: verified load, featurize, invoke, calibrate, reject.

A model directory holds `model.tflite`, `labels.json`, `featurizer.json` and `manifest.json`.
The manifest records each file's sha256 and the calibration chosen on held-out data
(softmax temperature and the out-of-scope threshold); nothing is loaded unless every hash matches.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.errors import KioskError
from kiosk.nlu.data import OOS
from kiosk.nlu.features import Featurizer
from kiosk.nlu.interpreter import RuntimeMissing, make_interpreter

MODEL_FILE = "model.tflite"
LABELS_FILE = "labels.json"
FEATURIZER_FILE = "featurizer.json"
MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 1
# Below this share of known character n-grams (and with no known word) a text is gibberish;
# typos keep most of their n-grams ("cordles dril" 0.93, "hamer" 0.67, "asdf qwer" 0.38).
GIBBERISH_COVERAGE = 0.55


class ModelError(KioskError):
    """The model cannot be used; the message says which file and what to do."""


@dataclass(frozen=True)
class IntentScore:
    intent: str
    confidence: float


@dataclass(frozen=True)
class Prediction:
    intents: tuple[IntentScore, ...]  # in-scope intents, best first
    out_of_scope: bool
    oos_confidence: float  # probability of the out-of-scope class (0 when the model has none)
    known_features: int  # 0 means nothing in the text was ever seen in training

    @property
    def top(self) -> IntentScore | None:
        return self.intents[0] if self.intents else None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def read_manifest(model_dir: Path) -> dict[str, Any]:
    path = model_dir / MANIFEST_FILE
    if not model_dir.is_dir():
        raise ModelError(f"intent model directory {model_dir} does not exist; "
                         "train one with 'kiosk intents train' or check config model.dir")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path} is missing: the model directory is incomplete; reinstall the model") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path} is corrupt ({exc}); reinstall the model") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ModelError(f"{path}: unsupported manifest format {manifest.get('format')!r}")
    return manifest


def verify_files(model_dir: Path, manifest: dict[str, Any]) -> None:
    files = manifest.get("files") or {}
    for name in (MODEL_FILE, LABELS_FILE, FEATURIZER_FILE):
        if name not in files:
            raise ModelError(f"{model_dir / MANIFEST_FILE} does not list {name}")
        path = model_dir / name
        if not path.is_file():
            raise ModelError(f"{path} is missing; reinstall the model")
        actual = sha256_file(path)
        if actual != files[name]:
            raise ModelError(
                f"{path} does not match its manifest (sha256 {actual[:12]}…, expected "
                f"{files[name][:12]}…): the file is corrupt or was changed; reinstall the model"
            )


class IntentModel:
    def __init__(self, model_content: bytes, featurizer: Featurizer, labels: list[str],
                 temperature: float = 1.0, oos_threshold: float = 0.0,
                 manifest: dict[str, Any] | None = None):
        self.featurizer = featurizer
        self.labels = labels
        self.temperature = temperature
        self.oos_threshold = oos_threshold
        self.manifest = manifest or {}
        self._oos_index = labels.index(OOS) if OOS in labels else None
        self._in_scope = np.array([i for i, l in enumerate(labels) if l != OOS])
        try:
            self._interpreter = make_interpreter(model_content, num_threads=1)
        except RuntimeMissing as exc:
            raise ModelError(str(exc)) from None
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"the TFLite runtime refused the model: {exc}") from None
        self._bind_tensors()

    def _bind_tensors(self) -> None:
        inputs = self._interpreter.get_input_details()
        ids = [d for d in inputs if "ids" in d["name"]]
        weights = [d for d in inputs if "weights" in d["name"]]
        if len(inputs) != 2 or len(ids) != 1 or len(weights) != 1:
            raise ModelError("model inputs are not (ids, weights): not an intent model of this kiosk")
        self._ids, self._weights = ids[0], weights[0]
        self._out = self._interpreter.get_output_details()[0]
        length = int(self._ids["shape"][-1])
        if length != self.featurizer.config.max_features:
            raise ModelError(f"model input length {length} does not match the featurizer "
                             f"({self.featurizer.config.max_features})")
        if int(self._out["shape"][-1]) != len(self.labels):
            raise ModelError(f"model has {self._out['shape'][-1]} outputs but labels.json has {len(self.labels)}")
        # Inputs are filled in place; every text has uniform weights 1/n, so the n → quantized
        # weight table is computed once instead of quantizing a vector per request.
        self._ids_buf = np.zeros((1, length), dtype=self._ids["dtype"])
        self._w_buf = np.zeros((1, length), dtype=self._weights["dtype"])
        levels = np.array([0.0] + [1.0 / n for n in range(1, length + 1)], dtype=np.float32)
        self._w_levels = self._quantize(levels, self._weights)

    @classmethod
    def load(cls, model_dir: str | Path) -> "IntentModel":
        model_dir = Path(model_dir)
        manifest = read_manifest(model_dir)
        verify_files(model_dir, manifest)
        try:
            labels = json.loads((model_dir / LABELS_FILE).read_text(encoding="utf-8"))
            featurizer = Featurizer.load(model_dir / FEATURIZER_FILE)
        except (ValueError, KeyError) as exc:
            raise ModelError(f"{model_dir}: labels or featurizer unreadable ({exc})") from None
        calibration = manifest.get("calibration") or {}
        return cls(
            (model_dir / MODEL_FILE).read_bytes(),
            featurizer,
            list(labels),
            temperature=float(calibration.get("temperature", 1.0)),
            oos_threshold=float(calibration.get("oos_threshold", 0.0)),
            manifest=manifest,
        )

    @staticmethod
    def _quantize(values: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
        dtype = np.dtype(detail["dtype"])
        scale, zero = detail["quantization"]
        if dtype.kind == "f" or scale == 0:
            return values.astype(dtype)
        info = np.iinfo(dtype)
        return np.clip(np.round(values / scale) + zero, info.min, info.max).astype(dtype)

    def logits(self, text: str) -> tuple[np.ndarray, int]:
        """Dequantized output logits and the number of known features in the text."""
        found = self.featurizer.ids(text)
        n = len(found)
        ids, weights = self._ids_buf, self._w_buf
        ids[0, :n] = found
        ids[0, n:] = 0
        weights[0, :n] = self._w_levels[n]
        weights[0, n:] = self._w_levels[0]
        interp = self._interpreter
        interp.set_tensor(self._ids["index"], ids)
        interp.set_tensor(self._weights["index"], weights)
        interp.invoke()
        raw = interp.get_tensor(self._out["index"])[0]
        scale, zero = self._out["quantization"]
        logits = (raw.astype(np.float32) - zero) * scale if scale else raw.astype(np.float32)
        return logits, n

    def probabilities(self, text: str) -> tuple[np.ndarray, int]:
        logits, known = self.logits(text)
        return softmax(logits, self.temperature), known

    def predict(self, text: str, top_k: int = 3) -> Prediction:
        if not isinstance(text, str):
            raise TypeError("text must be str")
        if sum(ch.isalnum() for ch in text) < 2:
            # One letter ("c", a recogniser's guess at a cough) carries no request, but its
            # character n-grams would still pull towards some intent.
            return Prediction((), True, 1.0, 0)
        probs, known = self.probabilities(text)
        oos_p = float(probs[self._oos_index]) if self._oos_index is not None else 0.0
        if known == 0:
            # Nothing in the text was seen in training (emoji, another script, noise): there is no
            # evidence for any intent, whatever the biases of the output layer say.
            return Prediction((), True, 1.0, 0)
        if probs.max() < 0.5:
            known_words, share = self.featurizer.coverage(text)
            if known_words == 0 and share < GIBBERISH_COVERAGE:
                # Keyboard mashing shares a few letter pairs with real words, and the model
                # will always find *some* intent for them: treat it as no words at all.
                return Prediction((), True, oos_p, 0)
        order = self._in_scope[np.argsort(-probs[self._in_scope], kind="stable")][:top_k]
        intents = tuple(IntentScore(self.labels[i], float(probs[i])) for i in order)
        best_overall = int(np.argmax(probs))
        rejected = best_overall == self._oos_index or intents[0].confidence < self.oos_threshold
        return Prediction(intents, rejected, oos_p, known)
