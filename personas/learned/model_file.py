"""Model files: a ``.npz`` of plain arrays plus a JSON header, read without unpickling.

A model is stored as numbers and strings only (vocabulary, idf weights, coefficients,
class names), never as a pickled Python object: ``numpy.load(..., allow_pickle=False)``
refuses anything else, so opening a file from elsewhere cannot run code. The header names
the format, its version and the kind of model, and a file of another kind or version is
refused with the command that rebuilds it.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from protocols import ConfigError

__all__ = [
    "BUILD_HINT",
    "CACHE_ENV",
    "FORMAT",
    "FORMAT_VERSION",
    "ModelArrays",
    "default_models_dir",
    "read_model_file",
    "write_model_file",
]

FORMAT = "lyceum-model"
FORMAT_VERSION = 1
"""Bumped whenever the arrays a model kind stores change meaning; older files are refused."""
CACHE_ENV = "LYCEUM_CACHE"
BUILD_HINT = "build it with `lyceum models build --data DIR` (or `make models`)"
_HEADER = "__header__"


def default_models_dir() -> Path:
    """Where built models live: ``$LYCEUM_CACHE/models``, else ``~/.cache/lyceum/models``."""
    root = os.environ.get(CACHE_ENV) or str(Path.home() / ".cache" / "lyceum")
    return Path(root) / "models"


class ModelArrays:
    """The contents of one model file: its header and its named arrays.

    ``array(name)`` raises a ``ConfigError`` naming the file when the entry is missing or
    malformed, so a truncated or hand-edited file fails clearly.
    """

    def __init__(self, path: Path, header: Mapping[str, Any], arrays: Mapping[str, Any]):
        self.path = path
        self.header = header
        self._arrays = arrays

    def corrupt(self, problem: str) -> ConfigError:
        """The error for a file whose contents do not make a model."""
        return ConfigError(
            f"not a usable model file ({problem}); delete it and {BUILD_HINT}", path=str(self.path)
        )

    def array(
        self, name: str, *, dtype: str = "f", ndim: int | None = None, finite: bool = True
    ) -> Any:
        """The array ``name``, checked to exist, to be numeric (``dtype="f"``, and finite
        unless ``finite=False``) or text (``"U"``), and to have ``ndim`` dimensions."""
        value = self._arrays.get(name)
        if value is None:
            raise self.corrupt(f"no array {name!r}")
        kind_ok = value.dtype.kind == "U" if dtype == "U" else value.dtype.kind in "fiu"
        if not kind_ok or (ndim is not None and value.ndim != ndim):
            raise self.corrupt(f"array {name!r} has dtype {value.dtype} and shape {value.shape}")
        if dtype == "f" and finite and not np.all(np.isfinite(value)):
            raise self.corrupt(f"array {name!r} holds NaN or infinite values")
        return value


def write_model_file(
    path: Path, kind: str, header: Mapping[str, Any], arrays: Mapping[str, Any]
) -> Path:
    """Write a model of ``kind`` to ``path`` (a ``.npz``), creating its folder."""
    if _HEADER in arrays:
        raise ValueError(f"{_HEADER!r} is reserved for the header")
    meta = {"format": FORMAT, "version": FORMAT_VERSION, "kind": kind, **header}
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {name: np.asarray(value) for name, value in arrays.items()}
    with path.open("wb") as handle:
        np.savez_compressed(
            handle, allow_pickle=False, **{_HEADER: np.array(json.dumps(meta)), **payload}
        )
    return path


def read_model_file(path: Path, kind: str) -> ModelArrays:
    """Read a model file written by :func:`write_model_file`, checked to be ``kind``.

    Raises:
        ConfigError: The file is missing (with how to build it), is not a model file, holds
            pickled objects, or is of another kind or format version.
    """
    if not path.is_file():
        raise ConfigError(f"no {kind} model here; {BUILD_HINT}", path=str(path))
    try:
        with path.open("rb") as handle:
            if not zipfile.is_zipfile(handle):
                raise ValueError("not a .npz archive")
            handle.seek(0)
            with np.load(handle, allow_pickle=False) as loaded:
                arrays = {name: loaded[name] for name in loaded.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(
            f"not a readable model file ({reason}); delete it and {BUILD_HINT}", path=str(path)
        ) from None
    raw = arrays.pop(_HEADER, None)
    try:
        header = json.loads(str(raw)) if raw is not None and raw.dtype.kind == "U" else None
    except json.JSONDecodeError:
        header = None
    model = ModelArrays(path, header if isinstance(header, dict) else {}, arrays)
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise model.corrupt(f"no {FORMAT} header")
    if header.get("version") != FORMAT_VERSION:
        raise ConfigError(
            f"model file format version {header.get('version')!r}, this lyceum reads "
            f"version {FORMAT_VERSION}; {BUILD_HINT}",
            path=str(path),
        )
    if header.get("kind") != kind:
        raise ConfigError(
            f"this is a {header.get('kind')!r} model, not a {kind!r} model; pass the "
            f"{kind} file, or {BUILD_HINT}",
            path=str(path),
        )
    return model
