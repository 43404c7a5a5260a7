"""all-MiniLM-L6-v2 (a 6-layer BERT) in Keras 3, weights loaded from the safetensors file by name.

Architecture (config.json): 6 post-LayerNorm transformer layers, hidden 384, 12 heads of 32,
FFN 1536 with exact (erf) GELU, LayerNorm eps 1e-12, learned absolute position embeddings and
token-type embeddings (every token is type 0 here), then masked mean pooling as in
sentence-transformers' `1_Pooling` (the `2_Normalize` step is left out: a classifier follows).

    from minilm import build_classifier, load_hf_weights, model_dir
    clf, encoder = build_classifier(n_labels=77)
    load_hf_weights(encoder, model_dir() / "model.safetensors")

The model directory: see modelfiles.py.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras
from keras import ops

sys.path.insert(0, str(Path(__file__).resolve().parent))
from modelfiles import model_dir


def read_config(directory: Path | None = None) -> dict:
    return json.loads(((directory or model_dir()) / "config.json").read_text())


def load_safetensors(path: str | Path) -> dict[str, np.ndarray]:
    """Tensors by name; uses the `safetensors` package, else parses the (simple) format itself."""
    try:
        from safetensors.numpy import load_file

        return load_file(str(path))
    except ImportError:
        pass
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}
    with open(path, "rb") as fh:
        n = int.from_bytes(fh.read(8), "little")
        header = json.loads(fh.read(n))
        data = fh.read()
    out = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        a, b = spec["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=dtypes[spec["dtype"]]).reshape(spec["shape"]).copy()
    return out


@keras.saving.register_keras_serializable(package="stage2")
class BertEmbeddings(keras.layers.Layer):
    """word + position + token-type(0) embeddings, LayerNorm, dropout."""

    def __init__(self, vocab_size=30522, hidden=384, max_positions=512, type_vocab=2,
                 eps=1e-12, dropout=0.1, **kw):
        super().__init__(**kw)
        self.vocab_size, self.hidden, self.max_positions = vocab_size, hidden, max_positions
        self.type_vocab, self.eps, self.dropout_rate = type_vocab, eps, dropout
        self.word = keras.layers.Embedding(vocab_size, hidden, name="word_embeddings")
        self.norm = keras.layers.LayerNormalization(epsilon=eps, name="LayerNorm")
        self.drop = keras.layers.Dropout(dropout)

    def build(self, input_shape):
        self.word.build(input_shape)
        self.position = self.add_weight(shape=(self.max_positions, self.hidden), name="position_embeddings",
                                        initializer="zeros")
        self.token_type = self.add_weight(shape=(self.type_vocab, self.hidden), name="token_type_embeddings",
                                          initializer="zeros")
        self.norm.build(tuple(input_shape) + (self.hidden,))

    def call(self, input_ids, training=False):
        length = input_ids.shape[1] if input_ids.shape[1] is not None else ops.shape(input_ids)[1]
        x = self.word(input_ids)
        x = x + ops.expand_dims(self.position[:length], 0) + self.token_type[0]
        return self.drop(self.norm(x), training=training)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "hidden": self.hidden,
                "max_positions": self.max_positions, "type_vocab": self.type_vocab, "eps": self.eps,
                "dropout": self.dropout_rate}


@keras.saving.register_keras_serializable(package="stage2")
class BertLayer(keras.layers.Layer):
    """One post-LN transformer layer: self-attention + residual + LN, GELU FFN + residual + LN."""

    def __init__(self, hidden=384, heads=12, intermediate=1536, eps=1e-12, dropout=0.1,
                 mask_value=-1e4, **kw):
        super().__init__(**kw)
        self.hidden, self.heads, self.intermediate = hidden, heads, intermediate
        self.eps, self.dropout_rate, self.mask_value = eps, dropout, mask_value
        self.head_dim = hidden // heads
        self.query = keras.layers.Dense(hidden, name="query")
        self.key = keras.layers.Dense(hidden, name="key")
        self.value = keras.layers.Dense(hidden, name="value")
        self.attn_out = keras.layers.Dense(hidden, name="attention_output")
        self.attn_norm = keras.layers.LayerNormalization(epsilon=eps, name="attention_LayerNorm")
        self.inter = keras.layers.Dense(intermediate, name="intermediate")
        self.out = keras.layers.Dense(hidden, name="output")
        self.out_norm = keras.layers.LayerNormalization(epsilon=eps, name="output_LayerNorm")
        self.drop_attn = keras.layers.Dropout(dropout)
        self.drop_1 = keras.layers.Dropout(dropout)
        self.drop_2 = keras.layers.Dropout(dropout)

    def build(self, input_shape):
        # Every Dense and LayerNorm works on (B*L, hidden) rows: plain 2-D matmuls (TFLite
        # FULLY_CONNECTED) instead of tensordot with run-time shape arithmetic around each one.
        rows = (None, self.hidden)
        for d in (self.query, self.key, self.value, self.attn_out):
            d.build(rows)
        self.attn_norm.build(rows)
        self.inter.build(rows)
        self.out.build((None, self.intermediate))
        self.out_norm.build(rows)

    def call(self, inputs, training=False):
        x, mask_bias = inputs  # x: (B, L, hidden); mask_bias: (B, 1, 1, L), 0 on tokens, mask_value on padding
        n = x.shape[1] if x.shape[1] is not None else ops.shape(x)[1]
        rows = ops.reshape(x, (-1, self.hidden))

        def heads(t):  # (B*L, hidden) → (B, H, L, D)
            return ops.transpose(ops.reshape(t, (-1, n, self.heads, self.head_dim)), (0, 2, 1, 3))

        q, k, v = heads(self.query(rows)), heads(self.key(rows)), heads(self.value(rows))
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) * (1.0 / math.sqrt(self.head_dim))
        probs = ops.softmax(scores + mask_bias, axis=-1)
        probs = self.drop_attn(probs, training=training)
        ctx = ops.reshape(ops.transpose(ops.matmul(probs, v), (0, 2, 1, 3)), (-1, self.hidden))
        rows = self.attn_norm(rows + self.drop_1(self.attn_out(ctx), training=training))
        h = keras.activations.gelu(self.inter(rows), approximate=False)
        rows = self.out_norm(rows + self.drop_2(self.out(h), training=training))
        return ops.reshape(rows, (-1, n, self.hidden))

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden, "heads": self.heads,
                "intermediate": self.intermediate, "eps": self.eps, "dropout": self.dropout_rate,
                "mask_value": self.mask_value}


@keras.saving.register_keras_serializable(package="stage2")
class MaskBias(keras.layers.Layer):
    def __init__(self, mask_value=-1e4, **kw):
        super().__init__(**kw)
        self.mask_value = mask_value

    def call(self, attention_mask):
        m = ops.cast(attention_mask, "float32")
        return ops.expand_dims(ops.expand_dims((1.0 - m) * self.mask_value, 1), 1)  # (B, 1, 1, L)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


@keras.saving.register_keras_serializable(package="stage2")
class MaskedMeanPool(keras.layers.Layer):
    """sum(h * mask) / max(sum(mask), 1e-9), as sentence-transformers' mean pooling."""

    def call(self, inputs):
        h, attention_mask = inputs
        m = ops.expand_dims(ops.cast(attention_mask, "float32"), -1)
        return ops.sum(h * m, axis=1) / ops.maximum(ops.sum(m, axis=1), 1e-9)


def build_encoder(config: dict | None = None, max_length: int | None = None, dropout: float = 0.1,
                  mask_value: float = -1e4, batch_size: int | None = None) -> keras.Model:
    """(input_ids, attention_mask) int32 (B, L) → mean-pooled (B, 384). `max_length=None`: any L."""
    c = config or read_config()
    ids = keras.Input(shape=(max_length,), batch_size=batch_size, dtype="int32", name="input_ids")
    mask = keras.Input(shape=(max_length,), batch_size=batch_size, dtype="int32", name="attention_mask")
    x = BertEmbeddings(c["vocab_size"], c["hidden_size"], c["max_position_embeddings"],
                       c["type_vocab_size"], c["layer_norm_eps"], dropout, name="embeddings")(ids)
    bias = MaskBias(mask_value, name="mask_bias")(mask)
    for i in range(c["num_hidden_layers"]):
        x = BertLayer(c["hidden_size"], c["num_attention_heads"], c["intermediate_size"],
                      c["layer_norm_eps"], dropout, mask_value, name=f"layer_{i}")([x, bias])
    pooled = MaskedMeanPool(name="mean_pool")([x, mask])
    return keras.Model([ids, mask], pooled, name="minilm")


def build_classifier(n_labels: int, config: dict | None = None, max_length: int | None = None,
                     dropout: float = 0.1, mask_value: float = -1e4, batch_size: int | None = None,
                     seed: int = 0):
    """Encoder + dropout + Dense head giving logits; returns (classifier, encoder)."""
    encoder = build_encoder(config, max_length, dropout, mask_value, batch_size)
    ids, mask = encoder.inputs
    pooled = encoder([ids, mask])
    x = keras.layers.Dropout(dropout, seed=seed)(pooled)
    logits = keras.layers.Dense(n_labels, name="head",
                                kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02, seed=seed))(x)
    return keras.Model([ids, mask], logits, name="minilm_classifier"), encoder


def load_hf_weights(encoder: keras.Model, safetensors_path: str | Path | None = None) -> int:
    """Copy every BERT tensor into the encoder by name; returns how many were assigned.

    Torch Linear weights are (out, in); Keras Dense kernels are (in, out): transposed.
    Raises if a tensor is missing or a shape does not match; the unused `pooler.*` and
    `embeddings.position_ids` are the only tensors of the file left out.
    """
    t = load_safetensors(safetensors_path or model_dir() / "model.safetensors")
    used = set()

    def take(name):
        used.add(name)
        return t[name]

    def assign(var, value):
        if tuple(var.shape) != tuple(value.shape):
            raise ValueError(f"{var.path}: shape {tuple(var.shape)} vs {value.shape}")
        var.assign(value.astype(np.float32))

    def dense(layer, prefix):
        assign(layer.kernel, take(prefix + ".weight").T)
        assign(layer.bias, take(prefix + ".bias"))

    def norm(layer, prefix):
        assign(layer.gamma, take(prefix + ".weight"))
        assign(layer.beta, take(prefix + ".bias"))

    emb = encoder.get_layer("embeddings")
    assign(emb.word.embeddings, take("embeddings.word_embeddings.weight"))
    assign(emb.position, take("embeddings.position_embeddings.weight"))
    assign(emb.token_type, take("embeddings.token_type_embeddings.weight"))
    norm(emb.norm, "embeddings.LayerNorm")
    i = 0
    while f"encoder.layer.{i}.attention.self.query.weight" in t:
        layer = encoder.get_layer(f"layer_{i}")
        p = f"encoder.layer.{i}"
        dense(layer.query, p + ".attention.self.query")
        dense(layer.key, p + ".attention.self.key")
        dense(layer.value, p + ".attention.self.value")
        dense(layer.attn_out, p + ".attention.output.dense")
        norm(layer.attn_norm, p + ".attention.output.LayerNorm")
        dense(layer.inter, p + ".intermediate.dense")
        dense(layer.out, p + ".output.dense")
        norm(layer.out_norm, p + ".output.LayerNorm")
        i += 1
    n_layers = sum(1 for l in encoder.layers if isinstance(l, BertLayer))
    if i != n_layers:
        raise ValueError(f"checkpoint has {i} layers, model has {n_layers}")
    left = sorted(k for k in t if k not in used and not k.startswith("pooler.") and k != "embeddings.position_ids")
    if left:
        raise ValueError(f"tensors not loaded: {left[:5]}…")
    return len(used)
