"""Atomic file writes: a reader never sees a half-written result.

Each writer writes to a temporary file in the destination's directory, flushes
it to disk and renames it over the destination (an atomic operation on POSIX
file systems), so a process killed at any moment leaves either the previous
file or the new one.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file that replaces ``path`` only if the block succeeds."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, mode) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def write_bytes(path: str | os.PathLike, payload: bytes) -> None:
    """Atomically write ``payload`` to ``path``."""
    with atomic_open(path, "wb") as stream:
        stream.write(payload)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Atomically write ``text`` (UTF-8) to ``path``."""
    write_bytes(path, text.encode("utf-8"))


def write_json(
    path: str | os.PathLike, obj: Any, *, default: Callable | None = None
) -> None:
    """Atomically write ``obj`` as indented JSON; NaN is written as null."""
    write_text(path, json.dumps(jsonable(obj), indent=2, default=default) + "\n")


def write_npz(path: str | os.PathLike, **arrays: Any) -> None:
    """Atomically write arrays to a compressed ``.npz`` file."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    write_bytes(path, buffer.getvalue())


def jsonable(obj: Any) -> Any:
    """Numpy scalars and arrays as JSON types; NaN and inf become None."""
    if isinstance(obj, dict):
        return {str(key): jsonable(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(value) for value in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return jsonable(obj.item())
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj
