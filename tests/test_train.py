"""Training: real Keras training and int8 conversion on a small slice of the kiosk's intents."""

from __future__ import annotations

import csv
import json

import pytest
from conftest import ROOT

from kiosk.cli import main
from kiosk.nlu.data import load_dataset

pytest.importorskip("tensorflow", reason="training needs the 'train' extra (TensorFlow)")
pytestmark = pytest.mark.train

INTENTS = ("store_hours", "restrooms", "wifi", "price_check", "oos")


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    """Five labels of the real intent data, as a `text,label` CSV whose out-of-scope label is 'other'."""
    dataset = load_dataset(ROOT / "assets" / "intents" / "en")
    rows = [(e.text, "other" if e.label == "oos" else e.label) for e in dataset.examples if e.label in INTENTS]
    path = tmp_path_factory.mktemp("data") / "small.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def trained(small_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    args = ["intents", "train", "--data", str(small_csv), "--oos-label", "other", "--epochs", "15", "--quiet"]
    assert main(args + ["--out", str(out / "a")]) == 0
    assert main(args + ["--out", str(out / "b")]) == 0
    return out


def test_training_writes_a_verified_int8_model(trained):
    from kiosk.nlu.model import IntentModel

    manifest = json.loads((trained / "a" / "manifest.json").read_text())
    assert set(manifest["files"]) == {"model.tflite", "labels.json", "featurizer.json"}
    assert json.loads((trained / "a" / "labels.json").read_text()) == sorted(INTENTS)  # 'other' → oos
    assert manifest["metrics"]["accuracy"] >= 0.8 and manifest["calibration"]["temperature"] > 0
    model = IntentModel.load(trained / "a")
    assert model.predict("where are the toilets").top.intent == "restrooms"
    assert model.predict("book me a flight to paris").out_of_scope


def test_same_data_gives_the_same_model(trained):
    a = json.loads((trained / "a" / "manifest.json").read_text())
    b = json.loads((trained / "b" / "manifest.json").read_text())
    assert a["files"] == b["files"] and a["training_data"]["sha256"] == b["training_data"]["sha256"]


def test_eval_reports_metrics_as_json(trained, small_csv, capsys):
    assert main(["intents", "eval", "--model", str(trained / "a"), "--data", str(small_csv),
                 "--oos-label", "other", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("accuracy", "macro_f1", "oos_recall", "oos_precision", "confusions", "latency_ms"):
        assert key in report
    assert report["latency_ms"]["p50"] > 0


def test_bad_training_data_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("sentence,intent_name\nhi,greet\n")
    assert main(["intents", "train", "--data", str(bad), "--out", str(tmp_path / "m")]) == 1
    assert "'text' and 'label'" in capsys.readouterr().err
