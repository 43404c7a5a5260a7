"""Metrics and calibration for the intent model, shared by training, `kiosk intents eval` and bench/."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from typing import Any, Sequence

import numpy as np

from kiosk.nlu.data import OOS, Dataset
from kiosk.nlu.model import IntentModel, softmax


def _gold_index(gold: Sequence[str], labels: list[str]) -> np.ndarray:
    index = {l: i for i, l in enumerate(labels)}
    return np.array([index.get(g, -1) for g in gold])


def fit_temperature(logits: np.ndarray, gold: Sequence[str], labels: list[str]) -> float:
    """The softmax temperature minimising held-out negative log-likelihood (Guo et al. 2017).

    A grid search is enough for one parameter and keeps training deterministic.
    """
    y = _gold_index(gold, labels)
    keep = y >= 0
    if not keep.any():
        return 1.0
    logits, y = logits[keep], y[keep]
    best_t, best_nll = 1.0, float("inf")
    for t in np.exp(np.linspace(np.log(0.05), np.log(20.0), 241)):
        p = softmax(logits, float(t))[np.arange(len(y)), y]
        nll = float(-np.log(np.clip(p, 1e-12, 1.0)).mean())
        if nll < best_nll - 1e-12:
            best_t, best_nll = float(t), nll
    return round(best_t, 6)


def decide(probs: np.ndarray, known: np.ndarray, labels: list[str], threshold: float) -> list[str]:
    """Final label per row: the best in-scope intent, or `oos` when rejected."""
    oos = labels.index(OOS) if OOS in labels else None
    in_scope = np.array([i for i, l in enumerate(labels) if l != OOS])
    out = []
    for row, k in zip(probs, known):
        best = int(in_scope[np.argmax(row[in_scope])])
        if k == 0 or int(np.argmax(row)) == oos or row[best] < threshold:
            out.append(OOS)
        else:
            out.append(labels[best])
    return out


def choose_oos_threshold(logits: np.ndarray, known: np.ndarray, gold: Sequence[str],
                         labels: list[str], temperature: float) -> float:
    """The confidence below which a request is treated as out of scope.

    Chosen to maximise held-out accuracy with `oos` counted as a class (the CLINC150 convention);
    the middle of the best plateau is taken so the choice does not sit on a knife edge. Without
    out-of-scope examples there is nothing to trade against, so nothing is rejected by threshold.
    """
    if OOS not in gold:
        return 0.0
    probs = softmax(logits, temperature)
    grid = np.round(np.arange(0.0, 0.96, 0.01), 2)
    scores = [np.mean([p == g for p, g in zip(decide(probs, known, labels, t), gold)]) for t in grid]
    best = max(scores)
    plateau = [t for t, s in zip(grid, scores) if s >= best - 1e-9]
    return float(plateau[len(plateau) // 2])


def evaluate_predictions(logits: np.ndarray, known: np.ndarray, gold: Sequence[str],
                         labels: list[str], temperature: float, threshold: float) -> dict[str, Any]:
    probs = softmax(logits, temperature)
    pred = decide(probs, known, labels, threshold)
    gold = list(gold)
    n = len(gold)
    in_scope = [i for i, g in enumerate(gold) if g != OOS]
    oos_gold = [i for i, g in enumerate(gold) if g == OOS]
    oos_pred = [i for i, p in enumerate(pred) if p == OOS]
    f1s = []
    for label in sorted({g for g in gold if g != OOS}):
        tp = sum(1 for g, p in zip(gold, pred) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, pred) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, pred) if g == label and p != label)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    # Expected calibration error of the top in-scope confidence, 10 equal-width bins.
    top_conf = np.array([probs[i][labels.index(pred[i])] if pred[i] != OOS else
                         max(probs[i][j] for j, l in enumerate(labels) if l != OOS) for i in range(n)])
    correct = np.array([p == g for p, g in zip(pred, gold)])
    bins = np.minimum((top_conf * 10).astype(int), 9)
    ece = sum(abs(correct[bins == b].mean() - top_conf[bins == b].mean()) * (bins == b).sum() / n
              for b in range(10) if (bins == b).any())
    confusions = Counter((g, p) for g, p in zip(gold, pred) if g != p)
    return {
        "examples": n,
        "accuracy": round(float(correct.mean()), 4),
        "in_scope_accuracy": round(float(np.mean([pred[i] == gold[i] for i in in_scope])), 4) if in_scope else None,
        "macro_f1": round(float(np.mean(f1s)), 4) if f1s else None,
        "oos_recall": round(len(set(oos_gold) & set(oos_pred)) / len(oos_gold), 4) if oos_gold else None,
        "oos_precision": round(len(set(oos_gold) & set(oos_pred)) / len(oos_pred), 4) if oos_gold and oos_pred else None,
        "ece": round(float(ece), 4),
        "confusions": [{"gold": g, "predicted": p, "count": c} for (g, p), c in confusions.most_common(10)],
    }


def evaluate_model(model: IntentModel, dataset: Dataset) -> dict[str, Any]:
    """Metrics of a loaded model on a dataset, plus per-utterance latency (featurize + invoke)."""
    logits, known, times = [], [], []
    for e in dataset.examples:
        start = time.perf_counter()
        lg, k = model.logits(e.text)
        times.append((time.perf_counter() - start) * 1000.0)
        logits.append(lg)
        known.append(k)
    gold = [e.label for e in dataset.examples]
    metrics = evaluate_predictions(np.stack(logits), np.array(known), gold, model.labels,
                                   model.temperature, model.oos_threshold)
    times.sort()
    metrics["latency_ms"] = {
        "p50": round(statistics.median(times), 4),
        "p99": round(times[min(len(times) - 1, int(len(times) * 0.99))], 4),
        "mean": round(statistics.fmean(times), 4),
    }
    metrics["unknown_labels"] = sorted({e.label for e in dataset.examples} - set(model.labels) - {OOS})
    return metrics
