"""Stage 2 at run time: WordPiece + a MiniLM classifier in LiteRT, one utterance at a time, 1 thread.

No TensorFlow here: numpy, ai_edge_litert and the pure-Python tokenizer, as on the kiosk.

A model exported with a fixed (1, L) input runs as is. A model exported with a dynamic sequence
length (1, -1) is loaded into one interpreter per bucket length (e.g. 16, 32, 48), each allocated
once; an utterance runs in the smallest bucket that holds it, so a typical 13-token request does
not pay for 48 positions and no tensor is ever reallocated per request.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wordpiece import WordPiece


def make_interpreter(content: bytes, num_threads: int = 1):
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_content=content, num_threads=num_threads)


class _Slot:
    """One allocated interpreter with its in-place input buffers."""

    def __init__(self, content: bytes, length: int | None, num_threads: int):
        it = make_interpreter(content, num_threads)
        inputs = it.get_input_details()
        ids = next(d for d in inputs if "input_ids" in d["name"])
        mask = next(d for d in inputs if "attention_mask" in d["name"])
        if length is not None and int(ids["shape"][-1]) != length:
            it.resize_tensor_input(ids["index"], [1, length], strict=False)
            it.resize_tensor_input(mask["index"], [1, length], strict=False)
        it.allocate_tensors()
        self.interpreter = it
        self.ids = it.get_input_details()[inputs.index(ids)]
        self.mask = it.get_input_details()[inputs.index(mask)]
        self.out = it.get_output_details()[0]
        self.length = int(self.ids["shape"][-1])
        self.ids_buf = np.zeros((1, self.length), dtype=self.ids["dtype"])
        self.mask_buf = np.zeros((1, self.length), dtype=self.mask["dtype"])
        scale, zero = self.out["quantization"]
        self.out_scale, self.out_zero = float(scale), int(zero)

    def run(self, ids: list[int]) -> np.ndarray:
        n = len(ids)
        self.ids_buf[0, :n] = ids
        self.ids_buf[0, n:] = 0
        self.mask_buf[0, :n] = 1
        self.mask_buf[0, n:] = 0
        it = self.interpreter
        it.set_tensor(self.ids["index"], self.ids_buf)
        it.set_tensor(self.mask["index"], self.mask_buf)
        it.invoke()
        raw = it.get_tensor(self.out["index"])[0]
        if self.out_scale:
            return (raw.astype(np.float32) - self.out_zero) * self.out_scale
        return raw.astype(np.float32, copy=False)


class Stage2:
    def __init__(self, content: bytes, vocab_file: str | Path, labels: list[str], max_length: int = 48,
                 buckets: tuple[int, ...] | None = None, num_threads: int = 1):
        self.labels = labels
        self.tokenizer = WordPiece(vocab_file, max_length=max_length)
        self.max_length = max_length
        probe = make_interpreter(content, num_threads)
        sig = probe.get_input_details()[0]["shape_signature"]
        dynamic = int(sig[-1]) == -1
        if not dynamic:
            fixed = int(probe.get_input_details()[0]["shape"][-1])
            if fixed != max_length:
                raise ValueError(f"model input length {fixed} != max_length {max_length}")
            buckets = (fixed,)
        else:
            buckets = tuple(sorted(set(buckets or (max_length,)) | {max_length}))
        self.dynamic = dynamic
        self.buckets = buckets
        self.slots = [_Slot(content, b if dynamic else None, num_threads) for b in buckets]

    @classmethod
    def load(cls, directory: str | Path, model_file: str, **kw) -> Stage2:
        d = Path(directory)
        meta = json.loads((d / "stage2.json").read_text())
        return cls((d / model_file).read_bytes(), d / "vocab.txt", meta["labels"],
                   max_length=meta["max_length"], **kw)

    def ids(self, text: str) -> list[int]:
        t = self.tokenizer
        return [t.cls_id] + t.tokenize_ids(text)[: self.max_length - 2] + [t.sep_id]

    def logits(self, text: str) -> np.ndarray:
        ids = self.ids(text)
        n = len(ids)
        for slot in self.slots:
            if slot.length >= n:
                return slot.run(ids)
        return self.slots[-1].run(ids)

    def predict_index(self, text: str) -> int:
        return int(np.argmax(self.logits(text)))

    def predict(self, text: str) -> str:
        return self.labels[self.predict_index(text)]


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def latency_summary(times_ms: list[float]) -> dict[str, float]:
    return {"p50": round(statistics.median(times_ms), 4), "p90": round(percentile(times_ms, 0.90), 4),
            "p99": round(percentile(times_ms, 0.99), 4), "mean": round(statistics.fmean(times_ms), 4)}


def evaluate(model: Stage2, texts: list[str], gold: list[str], warmup: int = 20) -> dict:
    """Accuracy and per-utterance latency (tokenizing + invoke + argmax), one utterance at a time."""
    for t in texts[:warmup]:
        model.predict_index(t)
    index = {l: i for i, l in enumerate(model.labels)}
    times, correct, preds = [], 0, []
    for text, g in zip(texts, gold):
        start = time.perf_counter()
        p = model.predict_index(text)
        times.append((time.perf_counter() - start) * 1000.0)
        preds.append(p)
        correct += p == index.get(g, -1)
    return {"accuracy": round(correct / len(texts), 4), "latency_ms": latency_summary(times),
            "predictions": preds, "times_ms": times}
