"""Face detection with MediaPipe's BlazeFace short-range model through LiteRT.

The model (128×128 RGB in [-1, 1]; 896 anchors × 16 regressors + 896 logits out) is the one
MediaPipe's `face_detection_short_range` graph runs; everything around it is that graph's
post-processing, re-done here with numpy so the kiosk needs no MediaPipe:

* SSD anchors: 4 layers, strides 8, 16, 16, 16, one aspect ratio plus the interpolated scale (so
  2 anchors per cell and layer), fixed anchor size (w = h = 1), centre offsets 0.5. Layers with
  the same stride share one feature map, so the 16×16 map has 2 anchors a cell and the 8×8 map 6:
  512 + 384 = 896.
* Decoding: box centre and size and 6 keypoints scaled by 128 relative to the anchor; scores are
  sigmoid(logit) with the logit clipped to ±100; detections under `min_score` are dropped (0.5 in
  MediaPipe; the kiosk uses 0.65, see KIOSK_MIN_SCORE).
* Weighted non-maximum suppression (IoU 0.3): each cluster is averaged by score, keeping the best
  score, which steadies the box from frame to frame better than plain NMS.
* Letterbox: the image keeps its aspect ratio, centred on black padding (pixel 0 → -1), and boxes
  are mapped back to image pixels by undoing the scale and padding.

Keypoints, as MediaPipe names them: right eye, left eye, nose tip, mouth centre, right ear
tragion, left ear tragion ("right" is the person's right, i.e. on the left of a mirror-free image).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kiosk.errors import KioskError
from kiosk.nlu.interpreter import RuntimeMissing, make_interpreter
from kiosk.paths import MODELS_DIR

MODEL_DIR = MODELS_DIR / "face-detection"
MODEL_FILE = "face_detection_short_range.tflite"
MANIFEST_FILE = "manifest.json"
INPUT_SIZE = 128
NUM_ANCHORS = 896
NUM_KEYPOINTS = 6
STRIDES = (8, 16, 16, 16)
SCORE_CLIP = 100.0
MIN_SCORE = 0.5  # what MediaPipe's graph uses
# The kiosk's default. Measured on the sample photos: at 0.5 a dog's face scores 0.597 and the only
# other detections between 0.5 and 0.65 are a box straddling two small faces (IoU < 0.5 with
# either) and a far profile face; the 17 of 18 dlib faces matched at IoU >= 0.5 scored >= 0.72.
KIOSK_MIN_SCORE = 0.65
NMS_IOU = 0.3
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose", "mouth", "right_ear", "left_ear")

Box = tuple[float, float, float, float]  # x, y, width, height in image pixels


class FaceModelError(KioskError):
    """The face model cannot be used; the message says which file and what to do."""


@dataclass(frozen=True)
class Face:
    box: Box  # x, y, w, h in pixels of the image given to detect(); may reach past its edges
    score: float
    keypoints: tuple[tuple[float, float], ...]  # 6 (x, y) points in pixels, see KEYPOINT_NAMES

    @property
    def width(self) -> float:
        return self.box[2]

    def keypoint(self, name: str) -> tuple[float, float]:
        return self.keypoints[KEYPOINT_NAMES.index(name)]

    def frontality(self) -> float:
        """1.0 for a face looking straight at the camera, towards 0 as it turns to a profile.

        BlazeFace always returns all six keypoints, guessing hidden ones. In a frontal face the
        nose sits midway between the ears and the eyes are far apart; turning the head moves the
        nose towards one ear and brings the eyes together. The measure is the smaller
        nose-to-ear distance over the larger. On the sample photos, faces looking at the camera
        measure 0.56-0.9 and three-quarter views and profiles 0.0-0.45.
        """
        nose_x = self.keypoint("nose")[0]
        right = abs(nose_x - self.keypoint("right_ear")[0])
        left = abs(nose_x - self.keypoint("left_ear")[0])
        if max(right, left) <= 0:
            return 0.0
        return float(min(right, left) / max(right, left))


def generate_anchors(input_size: int = INPUT_SIZE, strides: tuple[int, ...] = STRIDES,
                     offset: float = 0.5) -> np.ndarray:
    """(N, 2) anchor centres (x, y) in [0, 1], in the order the model's outputs use.

    MediaPipe's SsdAnchorsCalculator walks the layers, merging consecutive layers of equal stride
    into one feature map; with one aspect ratio and interpolated_scale_aspect_ratio 1.0 each layer
    adds 2 anchors per cell. With fixed_anchor_size every anchor is 1×1, so only centres matter.
    """
    centres: list[np.ndarray] = []
    layer = 0
    while layer < len(strides):
        stride = strides[layer]
        per_cell = 0
        while layer < len(strides) and strides[layer] == stride:
            per_cell += 2
            layer += 1
        cells = int(np.ceil(input_size / stride))
        ys, xs = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
        grid = np.stack([(xs + offset) / cells, (ys + offset) / cells], axis=-1).reshape(-1, 2)
        centres.append(np.repeat(grid, per_cell, axis=0))  # cell-major: all anchors of a cell together
    return np.concatenate(centres).astype(np.float32)


def decode(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
           min_score: float = MIN_SCORE,
           scale: float = INPUT_SIZE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Model outputs → (boxes (n, 4) as xmin, ymin, xmax, ymax; keypoints (n, 6, 2); scores (n,)).

    Coordinates are normalised to the 128×128 input. Only detections scoring at least
    `min_score` are decoded.
    """
    logits = np.clip(raw_scores.reshape(-1).astype(np.float64), -SCORE_CLIP, SCORE_CLIP)
    scores = 1.0 / (1.0 + np.exp(-logits))
    keep = np.flatnonzero(scores >= min_score)
    raw = raw_boxes.reshape(-1, raw_boxes.shape[-1])[keep] / scale
    centre = anchors[keep]
    cx, cy = raw[:, 0] + centre[:, 0], raw[:, 1] + centre[:, 1]
    w, h = raw[:, 2], raw[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    keypoints = raw[:, 4:4 + 2 * NUM_KEYPOINTS].reshape(-1, NUM_KEYPOINTS, 2) + centre[:, None, :]
    return boxes, keypoints, scores[keep]


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], others[:, 0])
    y0 = np.maximum(box[1], others[:, 1])
    x1 = np.minimum(box[2], others[:, 2])
    y1 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                 iou_threshold: float = NMS_IOU) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's WEIGHTED suppression: best first; every remaining box overlapping it by more
    than `iou_threshold` joins its cluster; the cluster's corners and keypoints are averaged with
    the scores as weights, and the result keeps the best score."""
    order = np.argsort(-scores, kind="stable")
    out: list[tuple[np.ndarray, np.ndarray, float]] = []
    while order.size:
        best = order[0]
        overlap = _iou(boxes[best], boxes[order])
        members = order[overlap > iou_threshold]
        if members.size == 0:  # a degenerate (zero-area) box overlaps nothing, not even itself
            members = order[:1]
        weights = scores[members][:, None]
        total = float(weights.sum())
        box = (boxes[members] * weights).sum(axis=0) / total
        points = (keypoints[members] * weights[:, :, None]).sum(axis=0) / total
        out.append((box, points, float(scores[best])))
        order = np.setdiff1d(order, members, assume_unique=True)
        order = order[np.argsort(-scores[order], kind="stable")]
    return out


@dataclass(frozen=True)
class Letterbox:
    """How an image was placed in the square input: scale per axis and the padding offsets."""

    scale_x: float
    scale_y: float
    pad_x: int
    pad_y: int

    def to_image(self, x: np.ndarray | float, y: np.ndarray | float,
                 size: int = INPUT_SIZE) -> tuple[Any, Any]:
        """Normalised input coordinates → image pixels (of the image letterboxed)."""
        return ((np.asarray(x) * size - self.pad_x) / self.scale_x,
                (np.asarray(y) * size - self.pad_y) / self.scale_y)


def letterbox(image: np.ndarray, size: int = INPUT_SIZE) -> tuple[np.ndarray, Letterbox]:
    """BGR uint8 image → (1, size, size, 3) float32 RGB in [-1, 1], aspect kept, black padding."""
    height, width = image.shape[:2]
    scale = min(size / width, size / height)
    new_w = max(1, min(size, round(width * scale)))
    new_h = max(1, min(size, round(height * scale)))
    # INTER_AREA averages when shrinking (no aliasing from a 640-px frame); a small region is
    # enlarged bilinearly.
    resized = cv2.resize(image, (new_w, new_h),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    canvas = np.zeros((size, size, 3), dtype=np.uint8)
    pad_x, pad_y = (size - new_w) // 2, (size - new_h) // 2
    canvas[pad_y:pad_y + new_h, pad_x:pad_x + new_w] = resized
    rgb = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB)
    tensor = (rgb.astype(np.float32) * np.float32(1 / 127.5) - np.float32(1.0))[None]
    return tensor, Letterbox(new_w / width, new_h / height, pad_x, pad_y)


def verify_model(model_dir: Path) -> bytes:
    """The model's bytes, once its sha256 matches manifest.json; FaceModelError otherwise."""
    manifest_path = model_dir / MANIFEST_FILE
    if not model_dir.is_dir():
        raise FaceModelError(f"face model directory {model_dir} does not exist; check config "
                             "presence.model_dir or reinstall the kiosk's models/face-detection")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        expected = manifest["files"][MODEL_FILE]
    except FileNotFoundError:
        raise FaceModelError(f"{manifest_path} is missing; reinstall models/face-detection") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise FaceModelError(f"{manifest_path} is corrupt or does not list {MODEL_FILE} ({exc!r}); "
                             "reinstall models/face-detection") from None
    path = model_dir / MODEL_FILE
    if not path.is_file():
        raise FaceModelError(f"{path} is missing; reinstall models/face-detection")
    content = path.read_bytes()  # read once: hashed, then handed to the interpreter
    actual = hashlib.sha256(content).hexdigest()
    if actual != expected:
        raise FaceModelError(f"{path} does not match its manifest (sha256 {actual[:12]}…, expected "
                             f"{str(expected)[:12]}…): the file is corrupt or was changed; reinstall it")
    return content


class FaceDetector:
    """BlazeFace short-range. On a whole frame it finds faces wider than ~12 % of the frame (measured):
    about 1 m from a 62° camera. `detect(image, region)` enlarges a region to reach smaller ones."""

    def __init__(self, model_dir: str | Path = MODEL_DIR, *, min_score: float = KIOSK_MIN_SCORE,
                 iou_threshold: float = NMS_IOU, num_threads: int = 1):
        self.min_score = min_score
        self.iou_threshold = iou_threshold
        content = verify_model(Path(model_dir))
        try:
            self._interpreter = make_interpreter(content, num_threads=num_threads)
        except RuntimeMissing as exc:
            raise FaceModelError(str(exc)) from None
        except (ValueError, RuntimeError) as exc:
            raise FaceModelError(f"the TFLite runtime refused {MODEL_FILE}: {exc}") from None
        self._bind_tensors()
        self.anchors = generate_anchors()

    def _bind_tensors(self) -> None:
        inputs = self._interpreter.get_input_details()
        outputs = {tuple(d["shape"]): d for d in self._interpreter.get_output_details()}
        if len(inputs) != 1 or tuple(inputs[0]["shape"]) != (1, INPUT_SIZE, INPUT_SIZE, 3) \
                or inputs[0]["dtype"] != np.float32:
            raise FaceModelError(f"{MODEL_FILE} does not take one 1×128×128×3 float input: "
                                 "not BlazeFace short-range")
        boxes, scores = outputs.get((1, NUM_ANCHORS, 16)), outputs.get((1, NUM_ANCHORS, 1))
        if boxes is None or scores is None:
            raise FaceModelError(f"{MODEL_FILE} outputs are not 896×16 regressors + 896×1 scores")
        self._input, self._boxes, self._scores = inputs[0]["index"], boxes["index"], scores["index"]

    def raw(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the model on a prepared input: (regressors (896, 16), logits (896,))."""
        interp = self._interpreter
        interp.set_tensor(self._input, tensor)
        interp.invoke()
        return interp.get_tensor(self._boxes)[0], interp.get_tensor(self._scores)[0, :, 0]

    def detect(self, image: np.ndarray, region: Box | None = None) -> tuple[Face, ...]:
        """Faces in a BGR uint8 image (or in `region` of it), best first, in image pixels."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError("detect() takes a BGR uint8 image (height, width, 3)")
        x0 = y0 = 0
        if region is not None:
            x0, y0 = max(0, int(region[0])), max(0, int(region[1]))
            x1 = min(image.shape[1], int(np.ceil(region[0] + region[2])))
            y1 = min(image.shape[0], int(np.ceil(region[1] + region[3])))
            if x1 - x0 < 2 or y1 - y0 < 2:
                return ()
            image = image[y0:y1, x0:x1]
        tensor, placement = letterbox(image)
        raw_boxes, logits = self.raw(tensor)
        return self.postprocess(raw_boxes, logits, placement, (x0, y0))

    def postprocess(self, raw_boxes: np.ndarray, logits: np.ndarray, placement: Letterbox,
                    origin: tuple[float, float] = (0.0, 0.0)) -> tuple[Face, ...]:
        """Raw model outputs → faces in pixels of the image (`origin`: where a region starts)."""
        boxes, keypoints, scores = decode(raw_boxes, logits, self.anchors, self.min_score)
        if not len(scores):
            return ()
        x0, y0 = origin
        faces = []
        for box, points, score in weighted_nms(boxes, keypoints, scores, self.iou_threshold):
            bx, by = placement.to_image(box[[0, 2]], box[[1, 3]])
            px, py = placement.to_image(points[:, 0], points[:, 1])
            faces.append(Face(
                box=(float(bx[0]) + x0, float(by[0]) + y0, float(bx[1] - bx[0]), float(by[1] - by[0])),
                score=score,
                keypoints=tuple((float(a) + x0, float(b) + y0) for a, b in zip(px, py)),
            ))
        return tuple(faces)
