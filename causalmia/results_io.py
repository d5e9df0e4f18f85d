"""Writing results folders: every file appears complete or not at all.

Each file is written to a temporary name in the destination folder and then
moved into place with `os.replace`, which is atomic on POSIX file systems, so
an interrupted run never leaves a truncated `results.json`.
"""

import contextlib
import json
import os
import platform
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np

_PACKAGES = ("causalmia", "jax", "jaxlib", "flax", "optax", "chex", "numpy", "scipy",
             "dp-accounting", "jax-privacy", "matplotlib")


@contextlib.contextmanager
def _atomic_path(path: Path):
  path.parent.mkdir(parents=True, exist_ok=True)
  handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
  os.close(handle)
  try:
    yield Path(temporary)
    # mkstemp creates the file private (0600); results are meant to be shared.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    os.replace(temporary, path)
  finally:
    if os.path.exists(temporary):
      os.remove(temporary)


def write_json(path, payload) -> Path:
  """Writes strict JSON (no NaN literals) atomically."""
  path = Path(path)
  text = json.dumps(payload, indent=2, allow_nan=False, sort_keys=False)
  with _atomic_path(path) as temporary:
    temporary.write_text(text + "\n", encoding="utf-8")
  return path


def write_npz(path, **arrays) -> Path:
  """Writes a compressed `.npz` (no pickled objects) atomically."""
  path = Path(path)
  with _atomic_path(path) as temporary:
    with open(temporary, "wb") as handle:
      np.savez_compressed(handle, **{k: np.asarray(v) for k, v in arrays.items()})
  return path


def write_figure(path, save) -> Path:
  """Runs `save(temporary_path)` and moves the figure into place."""
  path = Path(path)
  with _atomic_path(path) as temporary:
    save(str(temporary))
  return path


def package_versions() -> dict[str, str]:
  """Installed versions of the packages a result depends on, plus Python's."""
  versions = {"python": platform.python_version()}
  for name in _PACKAGES:
    try:
      versions[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
      versions[name] = "not installed"
  return versions
