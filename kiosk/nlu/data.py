"""Training data for the intent model: YAML intent definitions or a `text,label` CSV."""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from kiosk.errors import KioskError

OOS = "oos"  # the label every loader uses for out-of-scope examples
# CSV headers seen in public intent datasets; the first one present is the label column.
LABEL_COLUMNS = ("label", "category", "intent")


class DataError(KioskError):
    """Training data that cannot be used; the message names the file and what to fix."""


@dataclass(frozen=True)
class Example:
    text: str
    label: str


@dataclass(frozen=True)
class Dataset:
    examples: tuple[Example, ...]
    source: str

    @property
    def labels(self) -> list[str]:
        return sorted({e.label for e in self.examples})

    def sha256(self) -> str:
        """Hash of the examples in order: the same data gives the same hash, wherever it came from."""
        payload = json.dumps([[e.text, e.label] for e in self.examples], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self.examples:
            out[e.label] = out.get(e.label, 0) + 1
        return dict(sorted(out.items()))


def load_dataset(path: str | Path, *, oos_label: str = OOS) -> Dataset:
    """Load a YAML file, a directory of YAML files (one language) or a CSV with `text,label`.

    `oos_label` names the CSV label that means out of scope; it is renamed to `oos`.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if path.is_dir():
        files = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml"))
        if not files:
            raise DataError(f"{path}: no .yaml intent files in this directory")
        examples: list[Example] = []
        for file in files:
            examples += _load_yaml(file)
        return _checked(Dataset(tuple(examples), str(path)))
    if path.suffix.lower() in (".yaml", ".yml"):
        return _checked(Dataset(tuple(_load_yaml(path)), str(path)))
    if path.suffix.lower() == ".csv":
        return _checked(Dataset(tuple(_load_csv(path, oos_label)), str(path)))
    raise DataError(f"{path}: expected a .yaml/.yml intent file, a directory of them, or a .csv")


def _load_yaml(path: Path) -> list[Example]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML: {exc}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None
    if not isinstance(doc, dict):
        raise DataError(f"{path}: expected a mapping with 'intents' and/or 'out_of_scope'")
    unknown = set(doc) - {"language", "intents", "out_of_scope", "requests"}
    if unknown:
        raise DataError(f"{path}: unknown top-level keys {sorted(unknown)}")
    out: list[Example] = []
    intents = doc.get("intents") or {}
    if not isinstance(intents, dict):
        raise DataError(f"{path}: 'intents' must map intent names to definitions")
    for name, spec in intents.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("examples"), list):
            raise DataError(f"{path}: intents.{name}: needs an 'examples' list")
        if name == OOS:
            raise DataError(f"{path}: '{OOS}' is reserved; put such examples under out_of_scope")
        for i, text in enumerate(spec["examples"]):
            out.append(Example(_text(text, path, f"intents.{name}.examples[{i}]"), str(name)))
    for i, text in enumerate(doc.get("out_of_scope") or []):
        out.append(Example(_text(text, path, f"out_of_scope[{i}]"), OOS))
    # Labelled requests (evaluation sets): a list of {text, intent}.
    for i, item in enumerate(doc.get("requests") or []):
        if not isinstance(item, dict) or "intent" not in item:
            raise DataError(f"{path}: requests[{i}]: needs 'text' and 'intent'")
        out.append(Example(_text(item.get("text"), path, f"requests[{i}].text"), str(item["intent"])))
    return out


def _text(value: object, path: Path, where: str) -> str:
    # YAML turns a bare `yes` or `no` into a boolean; an example must be the text itself.
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{path}: {where}: expected non-empty text, got {value!r} (quote it)")
    return value.strip()


def _load_csv(path: Path, oos_label: str) -> list[Example]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            label_col = next((c for c in LABEL_COLUMNS if c in header), None)
            if "text" not in header or label_col is None:
                raise DataError(
                    f"{path}: the header must have 'text' and 'label' columns (found {header})"
                )
            out = []
            for row in reader:
                text, label = (row.get("text") or "").strip(), (row.get(label_col) or "").strip()
                if not text or not label:
                    raise DataError(f"{path}: line {reader.line_num}: empty text or label")
                out.append(Example(text, OOS if label == oos_label else label))
            return out
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None
    except csv.Error as exc:
        raise DataError(f"{path}: malformed CSV: {exc}") from None


def _checked(dataset: Dataset) -> Dataset:
    if not dataset.examples:
        raise DataError(f"{dataset.source}: no examples")
    in_scope = [label for label in dataset.labels if label != OOS]
    if len(in_scope) < 2:
        raise DataError(f"{dataset.source}: need at least two intents, found {in_scope}")
    return dataset
