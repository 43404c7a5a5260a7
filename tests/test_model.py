"""The committed int8 intent model: integrity, size, calibration, and real requests."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter

import pytest
import yaml
from conftest import DATA, ROOT

from kiosk.nlu.data import load_dataset
from kiosk.nlu.model import IntentModel, ModelError

MODEL_DIR = ROOT / "models" / "intent-en"


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", text.lower()).strip()


def _held_out_requests():
    """The independent request set minus any phrasing that also occurs in the training data."""
    requests = yaml.safe_load((DATA / "requests_en.yaml").read_text())["requests"]
    training = {_norm(e.text) for e in load_dataset(ROOT / "assets" / "intents" / "en").examples}
    return [r for r in requests if _norm(r["text"]) not in training]


def test_shipped_model_is_small_int8_and_trained_from_the_assets():
    manifest = json.loads((MODEL_DIR / "manifest.json").read_text())
    assert (MODEL_DIR / "model.tflite").stat().st_size <= 1024 * 1024
    assert manifest["training_data"]["sha256"] == load_dataset(ROOT / "assets" / "intents" / "en").sha256()
    assert manifest["calibration"]["temperature"] > 0
    assert 0 <= manifest["calibration"]["oos_threshold"] < 1


def test_intents_cover_the_shop_with_enough_examples():
    counts = load_dataset(ROOT / "assets" / "intents" / "en").counts()
    in_scope = {k: v for k, v in counts.items() if k != "oos"}
    assert len(in_scope) >= 30 and min(in_scope.values()) >= 40
    assert counts["oos"] >= 200


def test_committed_model_understands_realistic_requests(model):
    requests = _held_out_requests()
    assert len(requests) >= 150  # most of the set really is new wording
    wrong = []
    for r in requests:
        p = model.predict(r["text"])
        got = "oos" if p.out_of_scope else p.top.intent
        if got != r["intent"]:
            wrong.append((r["text"], r["intent"], got))
    assert (len(requests) - len(wrong)) / len(requests) >= 0.92, wrong
    # No shop intent is systematically missed.
    misses = Counter(w[1] for w in wrong if w[1] != "oos")
    assert max(misses.values(), default=0) <= 2, misses


def test_confidences_are_ranked_probabilities(model):
    p = model.predict("how much does the cordless drill cost")
    confidences = [s.confidence for s in p.intents]
    assert p.top.intent == "price_check" and confidences == sorted(confidences, reverse=True)
    assert all(0.0 <= c <= 1.0 for c in confidences) and sum(confidences) <= 1.0 + 1e-6


def test_out_of_scope_and_gibberish_are_rejected(model):
    for text in ["book me a taxi to the airport", "will it rain this afternoon", "asdf qwer zxcv", "🙂🙂🙂", ""]:
        assert model.predict(text).out_of_scope, text


def test_corrupted_model_is_refused_with_a_clear_message(tmp_path):
    broken = tmp_path / "model"
    shutil.copytree(MODEL_DIR, broken)
    data = bytearray((broken / "model.tflite").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (broken / "model.tflite").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match its manifest"):
        IntentModel.load(broken)


@pytest.mark.parametrize("remove", ["manifest.json", "model.tflite", "labels.json"])
def test_incomplete_model_is_refused(tmp_path, remove):
    broken = tmp_path / "model"
    shutil.copytree(MODEL_DIR, broken)
    (broken / remove).unlink()
    with pytest.raises(ModelError, match="missing"):
        IntentModel.load(broken)


def test_missing_model_directory_names_the_fix(tmp_path):
    with pytest.raises(ModelError, match="kiosk intents train"):
        IntentModel.load(tmp_path / "nowhere")
