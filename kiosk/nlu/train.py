"""Train the intent model with Keras, quantize it to full-integer int8 TFLite, calibrate, write it.

TensorFlow is imported only inside these functions: it is the optional `train` extra and never a
run-time dependency. The network is a fastText-style bag of n-gram embeddings (mean-pooled) with a
small hidden layer: tiny, fast on a Pi, and robust to typos through character n-grams.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from kiosk import __version__
from kiosk.errors import KioskError
from kiosk.nlu.data import OOS, Dataset, Example
from kiosk.nlu.evaluate import choose_oos_threshold, evaluate_predictions, fit_temperature
from kiosk.nlu.features import Featurizer
from kiosk.nlu.model import (
    FEATURIZER_FILE,
    LABELS_FILE,
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    MODEL_FILE,
    IntentModel,
    sha256_file,
)


class TrainingUnavailable(KioskError):
    pass


@dataclass(frozen=True)
class TrainParams:
    max_vocab: int = 12000
    min_df: int = 2
    embed_dim: int = 64
    hidden: int = 0  # 0 = a linear layer straight from the pooled embedding (best on kiosk data)
    epochs: int = 60
    batch_size: int = 32
    learning_rate: float = 2e-3
    feature_dropout: float = 0.25  # share of n-grams dropped per example while training
    holdout: float = 0.2  # share of each intent kept aside for calibration and metrics
    seed: int = 1234
    max_features: int = 256


def split_holdout(dataset: Dataset, share: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Stratified, seeded split: every intent keeps most of its examples for training."""
    rng = random.Random(seed)
    by_label: dict[str, list[Example]] = {}
    for e in dataset.examples:
        by_label.setdefault(e.label, []).append(e)
    train, held = [], []
    for label in sorted(by_label):
        group = list(by_label[label])
        rng.shuffle(group)
        n_held = int(round(len(group) * share)) if len(group) >= 3 else 0
        held += group[:n_held]
        train += group[n_held:]
    return train, held


def _import_tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import keras
        import tensorflow as tf
    except ImportError:
        raise TrainingUnavailable(
            "training needs TensorFlow: pip install 'kiosk[train]' (about 1.3 GB)") from None
    return tf, keras


def _build_model(keras, vocab_size: int, n_labels: int, params: TrainParams):
    ops = keras.ops

    class FeatureDropout(keras.layers.Layer):
        """Drops whole n-grams while training and re-normalizes the mean weights; identity at inference."""

        def __init__(self, rate, seed, **kw):
            super().__init__(**kw)
            self.rate = rate
            self.seed_gen = keras.random.SeedGenerator(seed)

        def call(self, weights, training=False):
            if not training or self.rate <= 0:
                return weights
            keep = keras.random.uniform(ops.shape(weights), seed=self.seed_gen) >= self.rate
            kept = ops.where(keep, weights, ops.zeros_like(weights))
            total = ops.sum(kept, axis=1, keepdims=True)
            return ops.where(total > 0, kept / ops.maximum(total, 1e-9), weights)

    class WeightedBag(keras.layers.Layer):
        """Sum of embeddings times their weights: the mean over the text's known n-grams."""

        def call(self, inputs):
            emb, weights = inputs
            return ops.sum(emb * ops.expand_dims(weights, -1), axis=1)

    L = params.max_features
    ids = keras.Input(shape=(L,), dtype="int32", name="ids", batch_size=None)
    weights = keras.Input(shape=(L,), dtype="float32", name="weights")
    emb = keras.layers.Embedding(vocab_size, params.embed_dim, name="embedding",
                                 embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=params.seed))(ids)
    w = FeatureDropout(params.feature_dropout, params.seed, name="feature_dropout")(weights)
    x = WeightedBag(name="bag")([emb, w])
    # Unit length after pooling: int8 quantization of the 1/n weights (and clipping for very short
    # texts) scales all weights of a text alike, and normalizing cancels that scale exactly.
    x = keras.layers.UnitNormalization(name="unit_norm")(x)
    if params.hidden:
        x = keras.layers.Dense(params.hidden, activation="relu", name="hidden",
                               kernel_initializer=keras.initializers.GlorotUniform(seed=params.seed + 1))(x)
    logits = keras.layers.Dense(n_labels, name="logits",
                                kernel_initializer=keras.initializers.GlorotUniform(seed=params.seed + 2))(x)
    return keras.Model([ids, weights], logits)


def _quantize(tf, model, representative: tuple[np.ndarray, np.ndarray], workdir: Path) -> bytes:
    def examples():
        ids, weights = representative
        for i in range(len(ids)):
            yield {"ids": ids[i : i + 1], "weights": weights[i : i + 1]}

    # Keras 3 → SavedModel → converter is the path that freezes the variables properly.
    saved = workdir / "saved_model"
    model.export(str(saved), format="tf_saved_model", verbose=False)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = examples
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


ProgressFactory = Callable[[int], Any]


def train(dataset: Dataset, out_dir: str | Path, params: TrainParams = TrainParams(), *,
          heldout: list[Example] | None = None, name: str = "intent", language: str = "en",
          progress: bool = True) -> dict[str, Any]:
    """Train, quantize, calibrate and write a model directory; returns the manifest.

    Without `heldout`, a stratified share of `dataset` is kept aside for calibration and metrics.
    """
    tf, keras = _import_tf()
    from tqdm.auto import tqdm

    # A fresh session resets Keras' name counters: tensor names end up in the .tflite bytes,
    # and the same data must give the same file even when trained twice in one process.
    keras.backend.clear_session()
    keras.utils.set_random_seed(params.seed)
    tf.config.experimental.enable_op_determinism()
    if heldout is None:
        train_set, heldout = split_holdout(dataset, params.holdout, params.seed)
    else:
        train_set = list(dataset.examples)
    if not heldout:
        raise ValueError("no held-out examples: cannot calibrate; add data or raise holdout")
    labels = sorted({e.label for e in train_set})
    label_index = {l: i for i, l in enumerate(labels)}
    featurizer = Featurizer.fit([e.text for e in train_set], max_vocab=params.max_vocab,
                                min_df=params.min_df, max_features=params.max_features)
    x_ids, x_w = featurizer.encode_batch(e.text for e in train_set)
    y = np.array([label_index[e.label] for e in train_set], dtype=np.int32)

    model = _build_model(keras, featurizer.vocab_size, len(labels), params)
    model.compile(optimizer=keras.optimizers.Adam(params.learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    bar = tqdm(total=params.epochs, desc="training", unit="epoch", disable=not progress)

    class Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            bar.set_postfix(loss=f"{logs.get('loss', 0):.3f}", acc=f"{logs.get('accuracy', 0):.3f}")
            bar.update(1)

    model.fit([x_ids, x_w], y, epochs=params.epochs, batch_size=params.batch_size,
              shuffle=True, verbose=0, callbacks=[Progress()])
    bar.close()

    # Calibrate the quantizer on a fixed, seeded sample of the training texts, sorted by length
    # so both the shortest and the longest requests set the ranges.
    rng = np.random.default_rng(params.seed)
    pick = np.sort(rng.choice(len(train_set), size=min(500, len(train_set)), replace=False))
    lengths = (x_w > 0).sum(axis=1)
    pick = np.union1d(pick, np.concatenate([np.argsort(lengths, kind="stable")[:20],
                                            np.argsort(-lengths, kind="stable")[:20]]))
    with tempfile.TemporaryDirectory(prefix="kiosk-train-") as tmp:
        tflite = _quantize(tf, model, (x_ids[pick], x_w[pick]), Path(tmp))

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / MODEL_FILE).write_bytes(tflite)
    (out / LABELS_FILE).write_text(json.dumps(labels, indent=0) + "\n", encoding="utf-8")
    featurizer.save(out / FEATURIZER_FILE)

    # Calibrate confidences and the out-of-scope threshold on the *quantized* model's outputs:
    # that is what runs in the shop.
    runtime = IntentModel(tflite, featurizer, labels)
    held_logits = np.stack([runtime.logits(e.text)[0] for e in heldout])
    held_known = np.array([runtime.logits(e.text)[1] for e in heldout])
    gold = [e.label for e in heldout]
    temperature = fit_temperature(held_logits, gold, labels)
    threshold = choose_oos_threshold(held_logits, held_known, gold, labels, temperature)
    metrics = evaluate_predictions(held_logits, held_known, gold, labels, temperature, threshold)

    manifest = {
        "format": MANIFEST_FORMAT,
        "name": name,
        "language": language,
        "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "files": {f: sha256_file(out / f) for f in (MODEL_FILE, LABELS_FILE, FEATURIZER_FILE)},
        "model_bytes": len(tflite),
        "training_data": {"source": dataset.source, "sha256": dataset.sha256(),
                          "examples": len(dataset.examples), "train": len(train_set),
                          "heldout": len(heldout), "intents": len([l for l in labels if l != OOS]),
                          "has_oos": OOS in labels},
        "params": asdict(params),
        "calibration": {"temperature": temperature, "oos_threshold": threshold},
        "metrics": {k: v for k, v in metrics.items() if k != "confusions"},
        "tools": {"kiosk": __version__, "tensorflow": tf.__version__},
    }
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest
