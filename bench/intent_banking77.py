"""Intent benchmark: our int8 pipeline vs TF-IDF + LinearSVC on BANKING77, plus the shipped model.

    .venv/bin/python bench/intent_banking77.py [--epochs N] [--out bench/results/intent.json]

Needs the `train` and `test` extras and ../shared/datasets/intents/banking77. Both systems train on
the same train.csv and are scored on test.csv in one run; latency is per utterance, tokenizing
included, one thread, median over the whole test set.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kiosk.nlu.data import load_dataset  # noqa: E402
from kiosk.nlu.evaluate import evaluate_model  # noqa: E402
from kiosk.nlu.model import IntentModel  # noqa: E402
from kiosk.nlu.train import TrainParams, train  # noqa: E402

BANKING = ROOT.parent / "shared" / "datasets" / "intents" / "banking77"


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def baseline(train_set, test_set) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.svm import LinearSVC

    clf = make_pipeline(
        make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                   TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
        LinearSVC(C=1.0))
    start = time.perf_counter()
    clf.fit([e.text for e in train_set.examples], [e.label for e in train_set.examples])
    train_s = time.perf_counter() - start
    texts, gold = [e.text for e in test_set.examples], [e.label for e in test_set.examples]
    times = []
    pred = []
    for t in texts:
        s = time.perf_counter()
        pred.append(clf.predict([t])[0])
        times.append((time.perf_counter() - s) * 1000)
    return {"accuracy": round(accuracy_score(gold, pred), 4),
            "macro_f1": round(f1_score(gold, pred, average="macro"), 4),
            "latency_ms": {"p50": round(statistics.median(times), 4), "p99": round(percentile(times, 0.99), 4)},
            "train_s": round(train_s, 1)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=TrainParams().epochs)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "intent.json"))
    args = parser.parse_args()
    if not BANKING.exists():
        print(f"{BANKING} is absent: clone the project beside ../shared", file=sys.stderr)
        return 1
    train_set = load_dataset(BANKING / "train.csv")
    test_set = load_dataset(BANKING / "test.csv")

    with tempfile.TemporaryDirectory() as tmp:
        params = TrainParams(epochs=args.epochs)
        start = time.perf_counter()
        manifest = train(train_set, tmp, params, heldout=list(test_set.examples), progress=False)
        train_s = time.perf_counter() - start
        ours = evaluate_model(IntentModel.load(tmp), test_set)
    ours = {"accuracy": ours["accuracy"], "macro_f1": ours["macro_f1"], "latency_ms": ours["latency_ms"],
            "model_bytes": manifest["model_bytes"], "train_s": round(train_s, 1), "params": manifest["params"]}
    svm = baseline(train_set, test_set)

    shipped_dir = ROOT / "models" / "intent-en"
    shipped_manifest = json.loads((shipped_dir / "manifest.json").read_text())
    shipped = {"heldout": shipped_manifest["metrics"], "model_bytes": shipped_manifest["model_bytes"]}

    result = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()} {platform.processor() or ''} "
              f"{os.cpu_count()} cores, Python {platform.python_version()}".strip(),
              "banking77": {"ours_int8": ours, "tfidf_linearsvc": svm, "bert_published_accuracy": 0.937},
              "kiosk_shipped_model": shipped}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
