"""Fine-tune all-MiniLM-L6-v2 + a Dense head on BANKING77, export to TFLite, measure accuracy and latency.

    .venv/bin/python bench/stage2/finetune.py --time-steps 30          # time an epoch first
    .venv/bin/python bench/stage2/finetune.py --epochs 3               # train, export, measure
    .venv/bin/python bench/stage2/finetune.py --skip-train             # re-export/measure saved weights

Training: seeded; AdamW (weight decay 0.01, none on biases and LayerNorm), linear warm-up over the
first 10% of steps then linear decay to 0; encoder lr 5e-5, head lr 1e-3 (a randomly initialised
77-way head learns slowly at 5e-5); dropout 0.1; batch 32; the word-embedding table frozen.
Batches are made of texts of similar length and padded only to their longest text (rounded up to
a multiple of 8, at most --max-len), which is the same maths as padding to 48 with the mask, at a
third of the cost.

Export (to --out, default /tmp/stage2/model, never the project): float32, dynamic-range int8
(int8 weights, float activations) and full-integer int8 (int8 weights and activations, calibrated
on 300 training texts). Each has a fixed (1, 48) input and a (1, -1) variant run in length buckets
(16, 32, 48). Every variant is measured with LiteRT, 1 thread, one utterance at a time, tokenizing
included, on the whole test set. Results: bench/results/stage2_finetune.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import numpy as np
from modelfiles import model_dir
from wordpiece import WordPiece

from kiosk.nlu.data import load_dataset

BANKING = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "intents" / "banking77"
DEFAULT_OUT = Path("/tmp/stage2/model")
WEIGHTS_FILE = "stage2.weights.h5"
BUCKETS = (16, 32, 48)


def load_split(name: str) -> tuple[list[str], list[str]]:
    ds = load_dataset(BANKING / f"{name}.csv")
    return [e.text for e in ds.examples], [e.label for e in ds.examples]


def length_batches(lengths: np.ndarray, batch: int, rng: np.random.Generator, pool: int = 50) -> list[np.ndarray]:
    """Shuffled batches of similar-length texts: shuffle, sort within pools of `pool` batches, shuffle batches."""
    order = rng.permutation(len(lengths))
    batches = []
    for start in range(0, len(order), batch * pool):
        chunk = order[start:start + batch * pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i:i + batch] for i in range(0, len(chunk), batch)]
    rng.shuffle(batches)
    return batches


def pad_batch(ids: np.ndarray, mask: np.ndarray, lengths: np.ndarray, idx: np.ndarray, max_len: int):
    width = min(max_len, int(-(-lengths[idx].max() // 8) * 8))
    return ids[idx, :width], mask[idx, :width]


def train(args, texts, gold, labels, tf, keras):
    from minilm import build_classifier, load_hf_weights

    keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()
    wp = WordPiece(model_dir() / "vocab.txt", max_length=args.max_len)
    ids, mask = wp.encode_batch(texts)
    lengths = mask.sum(1)
    y = np.array([labels.index(g) for g in gold], dtype=np.int32)

    clf, encoder = build_classifier(len(labels), max_length=None, dropout=0.1, seed=args.seed)
    load_hf_weights(encoder)
    if args.freeze_embeddings:
        encoder.get_layer("embeddings").word.trainable = False
    head = clf.get_layer("head")
    enc_vars = list(encoder.trainable_variables)
    head_vars = list(head.trainable_variables)

    steps_per_epoch = -(-len(texts) // args.batch)
    total = steps_per_epoch * args.epochs
    warm = max(1, int(total * args.warmup))

    class WarmupLinear(keras.optimizers.schedules.LearningRateSchedule):
        def __init__(self, peak):
            self.peak = peak

        def __call__(self, step):
            step = keras.ops.cast(step, "float32")
            up = step / warm
            down = keras.ops.maximum(0.0, (total - step) / max(1, total - warm))
            return self.peak * keras.ops.minimum(up, down)

    def adamw(peak):
        opt = keras.optimizers.AdamW(learning_rate=WarmupLinear(peak), weight_decay=0.01,
                                     beta_1=0.9, beta_2=0.999, epsilon=1e-6)
        opt.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
        return opt

    enc_opt, head_opt = adamw(args.lr), adamw(args.head_lr)
    enc_opt.build(enc_vars)
    head_opt.build(head_vars)
    n_enc = len(enc_vars)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.int32),
                                  tf.TensorSpec([None], tf.int32)])
    def step(b_ids, b_mask, b_y):
        with tf.GradientTape() as tape:
            logits = clf([b_ids, b_mask], training=True)
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(b_y, logits, from_logits=True))
        grads = tape.gradient(loss, enc_vars + head_vars)
        enc_opt.apply_gradients(zip(grads[:n_enc], enc_vars))
        head_opt.apply_gradients(zip(grads[n_enc:], head_vars))
        return loss

    rng = np.random.default_rng(args.seed)
    log = {"steps_per_epoch": steps_per_epoch, "epochs": [], "trainable_params": int(sum(np.prod(v.shape) for v in enc_vars + head_vars))}
    for epoch in range(args.epochs):
        batches = length_batches(lengths, args.batch, rng)
        if args.time_steps:
            batches = batches[:args.time_steps]
        start = time.perf_counter()
        losses = []
        tokens = 0
        for i, idx in enumerate(batches):
            b_ids, b_mask = pad_batch(ids, mask, lengths, idx, args.max_len)
            tokens += b_ids.size
            losses.append(float(step(tf.constant(b_ids), tf.constant(b_mask), tf.constant(y[idx]))))
            if (i + 1) % 50 == 0 or i + 1 == len(batches):
                el = time.perf_counter() - start
                print(f"epoch {epoch + 1} step {i + 1}/{len(batches)} loss {np.mean(losses[-50:]):.4f} "
                      f"{el:.0f}s ({el / (i + 1):.2f} s/step)", flush=True)
        secs = time.perf_counter() - start
        entry = {"epoch": epoch + 1, "seconds": round(secs, 1), "steps": len(batches),
                 "mean_loss": round(float(np.mean(losses)), 4), "padded_tokens": int(tokens),
                 "s_per_step": round(secs / len(batches), 3)}
        if args.time_steps:
            # the first steps include tracing; time the rest and extrapolate to a full epoch
            entry["estimated_epoch_seconds"] = round(secs / len(batches) * steps_per_epoch, 1)
        log["epochs"].append(entry)
        print(json.dumps(entry), flush=True)
        if args.time_steps:
            break
    return clf, log


def keras_accuracy(clf, wp, texts, gold, labels, max_len, batch=64) -> float:
    ids, mask = wp.encode_batch(texts, max_len)
    lengths = mask.sum(1)
    order = np.argsort(lengths, kind="stable")
    pred = np.zeros(len(texts), dtype=np.int64)
    for s in range(0, len(order), batch):
        idx = order[s:s + batch]
        b_ids, b_mask = pad_batch(ids, mask, lengths, idx, max_len)
        pred[idx] = np.argmax(clf([b_ids, b_mask], training=False), axis=-1)
    return float(np.mean([labels[p] == g for p, g in zip(pred, gold)]))


def export_variants(clf, labels, args, rep_texts, tf, keras) -> dict[str, dict]:
    """Write float32 / dynamic-range int8 / full-integer int8 .tflite files (fixed and dynamic length)."""
    from minilm import build_classifier

    out = Path(args.out)
    wp = WordPiece(model_dir() / "vocab.txt", max_length=args.max_len)
    rep_ids, rep_mask = wp.encode_batch(rep_texts, args.max_len)
    rep_len = rep_mask.sum(1)
    weights = clf.get_weights()
    files = {}
    groups = []  # (mask value, quantizations exported from a model with that constant)
    other = [q for q in args.quant if q != "full_int8"]
    if args.int8_mask_value == -1e4:
        groups.append((-1e4, list(args.quant)))
    else:
        groups += [(-1e4, other)] if other else []
        groups += [(args.int8_mask_value, ["full_int8"])] if "full_int8" in args.quant else []
    for (shape_kind, max_length), (mask_value, quants) in (
            (s, g) for s in (("fixed", args.max_len), ("dynamic", None)) for g in groups):
        keras.backend.clear_session()
        model, _ = build_classifier(len(labels), max_length=max_length, batch_size=1, dropout=0.0,
                                    mask_value=mask_value)
        model.set_weights(weights)
        with tempfile.TemporaryDirectory(prefix="stage2-export-") as tmp:
            saved = Path(tmp) / "saved"
            model.export(str(saved), format="tf_saved_model", verbose=False)
            for quant in quants:
                suffix = "" if mask_value == -1e4 else f"_mask{int(-mask_value)}"
                name = f"stage2_{quant}{suffix}_{shape_kind}.tflite"
                conv = tf.lite.TFLiteConverter.from_saved_model(str(saved))
                if quant == "dynamic_int8":
                    conv.optimizations = [tf.lite.Optimize.DEFAULT]
                elif quant == "full_int8":
                    def rep(max_length=max_length):
                        for i in range(len(rep_texts)):
                            n = int(rep_len[i]) if max_length is None else args.max_len
                            yield {"input_ids": rep_ids[i:i + 1, :n], "attention_mask": rep_mask[i:i + 1, :n]}
                    conv.optimizations = [tf.lite.Optimize.DEFAULT]
                    conv.representative_dataset = rep
                    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
                elif quant != "float32":
                    raise ValueError(quant)
                start = time.perf_counter()
                try:
                    content = conv.convert()
                except Exception as exc:  # noqa: BLE001 - report what the converter refused
                    msg = str(exc).strip().splitlines()
                    files[name] = {"error": " | ".join(msg[-6:])[:2000]}
                    print(f"{name}: conversion failed: {files[name]['error']}", flush=True)
                    continue
                (out / name).write_bytes(content)
                files[name] = {"bytes": len(content), "convert_s": round(time.perf_counter() - start, 1),
                               "quantization": quant, "input": shape_kind, "mask_value": mask_value}
                print(f"{name}: {len(content) / 1e6:.1f} MB", flush=True)
    return files


def op_summary(content: bytes) -> dict:
    """Which op types the model uses and the tensor types of its inputs/outputs (sanity of int8)."""
    from runtime import make_interpreter

    it = make_interpreter(content)
    ops = {}
    try:
        for op in it._get_ops_details():
            ops[op["op_name"]] = ops.get(op["op_name"], 0) + 1
    except Exception:  # noqa: BLE001, S110 - private API: an empty dict if it changes
        pass
    types = {}
    try:
        for t in it.get_tensor_details():
            k = str(np.dtype(t["dtype"]))
            types[k] = types.get(k, 0) + 1
    except Exception:  # noqa: BLE001, S110
        pass
    return {"ops": dict(sorted(ops.items())), "tensor_dtypes": types}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--head-lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=float, default=0.1)
    p.add_argument("--max-len", type=int, default=48)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--freeze-embeddings", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--time-steps", type=int, default=0, help="only time this many steps, then stop")
    p.add_argument("--train-only", action="store_true", help="train, save the weights, stop (no export)")
    p.add_argument("--skip-train", action="store_true", help="load --out/stage2.weights.h5 instead of training")
    p.add_argument("--quant", nargs="+", default=["float32", "dynamic_int8", "full_int8"])
    p.add_argument("--int8-mask-value", type=float, default=-1e4,
                   help="additive attention-mask constant in full-integer exports (float exports keep -1e4); "
                        "-1e4 swamps the int8 range of the attention scores, e.g. -30 does not")
    p.add_argument("--out", default=str(DEFAULT_OUT))
    p.add_argument("--results", default=str(ROOT / "bench" / "results" / "stage2_finetune.json"))
    args = p.parse_args()

    import keras
    import tensorflow as tf

    texts, gold = load_split("train")
    test_texts, test_gold = load_split("test")
    labels = sorted(set(gold))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": f"{platform.machine()} {os.cpu_count()} cores, "
              f"Python {platform.python_version()}, TF {tf.__version__}, Keras {keras.__version__}",
              "params": {k: v for k, v in vars(args).items() if k not in ("out", "results")}}
    if args.skip_train:
        from minilm import build_classifier

        clf, _ = build_classifier(len(labels), max_length=None, dropout=0.1, seed=args.seed)
        clf.load_weights(str(out / WEIGHTS_FILE))
        prev = Path(args.results)
        if prev.exists():
            before = json.loads(prev.read_text())
            result["training"] = before.get("training")
            # the weights were trained with the earlier run's parameters; this run only exported
            result["export_params"] = result["params"]
            result["params"] = before.get("params", result["params"])
    else:
        start = time.perf_counter()
        clf, log = train(args, texts, gold, labels, tf, keras)
        log["total_seconds"] = round(time.perf_counter() - start, 1)
        result["training"] = log
        if args.time_steps:
            print(json.dumps(log, indent=2))
            return 0
        clf.save_weights(str(out / WEIGHTS_FILE))
        if args.train_only:
            Path(args.results).parent.mkdir(parents=True, exist_ok=True)
            Path(args.results).write_text(json.dumps(result, indent=2) + "\n")
            print(json.dumps(log, indent=2))
            return 0
    shutil.copy(model_dir() / "vocab.txt", out / "vocab.txt")
    (out / "stage2.json").write_text(json.dumps({"labels": labels, "max_length": args.max_len,
                                                 "base": "sentence-transformers/all-MiniLM-L6-v2"}, indent=1))

    wp = WordPiece(model_dir() / "vocab.txt", max_length=args.max_len)
    start = time.perf_counter()
    result["keras_float_test_accuracy"] = round(keras_accuracy(clf, wp, test_texts, test_gold, labels, args.max_len), 4)
    print(f"keras float test accuracy {result['keras_float_test_accuracy']} "
          f"({time.perf_counter() - start:.0f}s)", flush=True)

    rng = random.Random(args.seed)
    rep_texts = rng.sample(texts, 300)
    files = export_variants(clf, labels, args, rep_texts, tf, keras)

    from runtime import Stage2, evaluate

    # --skip-train adds to (or replaces entries of) the results of earlier exports
    result["tflite"] = {}
    if args.skip_train and Path(args.results).exists():
        result["tflite"] = json.loads(Path(args.results).read_text()).get("tflite") or {}
    for name, info in files.items():
        if "error" in info:
            result["tflite"][name] = info
            continue
        content = (out / name).read_bytes()
        model = Stage2(content, out / "vocab.txt", labels, max_length=args.max_len, buckets=BUCKETS)
        r = evaluate(model, test_texts, test_gold)
        entry = {**info, "accuracy": r["accuracy"], "latency_ms": r["latency_ms"],
                 "buckets": list(model.buckets), **op_summary(content)}
        result["tflite"][name] = entry
        np.save(out / (name.replace(".tflite", "") + "_test_pred.npy"), np.array(r["predictions"]))
        print(f"{name}: acc {r['accuracy']:.4f} p50 {r['latency_ms']['p50']:.2f} ms "
              f"p99 {r['latency_ms']['p99']:.2f} ms", flush=True)
    Path(args.results).parent.mkdir(parents=True, exist_ok=True)
    Path(args.results).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "training"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
