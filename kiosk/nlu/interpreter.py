"""Pick a TFLite interpreter: LiteRT first, tflite-runtime where that is what is installed.

Both are optional imports so that a missing runtime becomes a clear message, not an ImportError
deep in a stack trace.
"""

from __future__ import annotations

from typing import Any

from kiosk.errors import KioskError


class RuntimeMissing(KioskError):
    pass


def runtime_name() -> str:
    try:
        import ai_edge_litert.interpreter  # noqa: F401

        return "ai_edge_litert"
    except ImportError:
        pass
    try:
        import tflite_runtime.interpreter  # noqa: F401

        return "tflite_runtime"
    except ImportError:
        raise RuntimeMissing(
            "no TFLite runtime: install 'ai-edge-litert' (or 'tflite-runtime' on numpy<2 systems)"
        ) from None


def make_interpreter(model_content: bytes, num_threads: int = 1) -> Any:
    """An allocated interpreter for a model held in memory."""
    if runtime_name() == "ai_edge_litert":
        from ai_edge_litert.interpreter import Interpreter
    else:
        from tflite_runtime.interpreter import Interpreter
    interpreter = Interpreter(model_content=model_content, num_threads=num_threads)
    interpreter.allocate_tensors()
    return interpreter
