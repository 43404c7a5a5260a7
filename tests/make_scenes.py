"""Camera fixtures made at test time: a shop scene and videos written through OpenCV, so the
camera code reads them with the same cv2.VideoCapture it uses on a real device."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def shop_scene(width: int = 640, height: int = 480) -> np.ndarray:
    """Shelves with boxes of varied colours: a still scene with texture, and no face."""
    rng = np.random.default_rng(3)
    scene = np.full((height, width, 3), (190, 200, 205), np.uint8)
    for y in range(70, height, 120):
        cv2.rectangle(scene, (10, y), (width - 10, y + 10), (70, 70, 80), -1)
        for x in range(20, width - 40, 80):
            color = tuple(int(c) for c in rng.integers(40, 220, 3))
            cv2.rectangle(scene, (x, y - 50), (x + 55, y - 2), color, -1)
    return scene


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    """Motion-JPEG AVI of the frames (all the size of the first)."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path
