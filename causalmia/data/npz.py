"""Checked reading of arrays from `.npz` archives without unpickling.

Every archive is opened with `np.load(path, allow_pickle=False)`, so an
archive that stores object arrays is rejected instead of executing pickled
code. Errors name the file and the array at fault.
"""

from __future__ import annotations

import dataclasses
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

_KIND_NAMES = {
  "b": "boolean",
  "i": "signed integer",
  "u": "unsigned integer",
  "f": "floating point",
  "U": "unicode string",
}


@dataclasses.dataclass(frozen=True)
class ArraySpec:
  """Expected shape and dtype kinds of one array in an archive.

  Each entry of `shape` is a fixed size (int), a symbolic size (str) that
  must be equal across all arrays using the same symbol, or None for any size.
  """

  shape: tuple[int | str | None, ...]
  kinds: str
  """Accepted numpy dtype kind characters, e.g. "iu" for any integer type."""


def resolve_npz_path(path: str | Path) -> Path:
  """Return the `.npz` file at `path`, or the single `.npz` file inside the folder `path`.

  Raises FileNotFoundError when nothing exists at `path` or the folder has no
  `.npz` file, and ValueError when the folder has more than one.
  """
  path = Path(path)
  if not path.exists():
    raise FileNotFoundError(f"data file not found: {path}")
  if not path.is_dir():
    return path
  candidates = sorted(path.glob("*.npz"))
  if not candidates:
    raise FileNotFoundError(f"no .npz file found in folder {path}")
  if len(candidates) > 1:
    names = ", ".join(candidate.name for candidate in candidates)
    raise ValueError(
      f"folder {path} contains {len(candidates)} .npz files ({names}). "
      "Pass the path of one file instead."
    )
  return candidates[0]


def read_npz_arrays(
  path: str | Path,
  required: Mapping[str, ArraySpec],
  optional: Mapping[str, ArraySpec] | None = None,
) -> dict[str, np.ndarray]:
  """Read and check the named arrays of an `.npz` file.

  Returns the arrays in `required` plus those in `optional` that the file
  contains. Raises FileNotFoundError for a missing file and ValueError for
  a file that is not a zip archive, a missing required key, an object
  array, or a shape, dtype or size mismatch with the specs.
  """
  path = Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"data file not found: {path}")
  # np.load falls back to unpickling when the file is not a zip or .npy file,
  # which with allow_pickle=False reports a misleading "pickled data" error.
  if not zipfile.is_zipfile(path):
    raise ValueError(f"{path} is not a valid .npz file (not a zip archive)")

  specs = dict(required)
  try:
    with np.load(path, allow_pickle=False) as archive:
      present = list(archive.files)
      _check_required_keys(path, required, present)
      specs.update({key: spec for key, spec in (optional or {}).items() if key in present})
      arrays = {key: _read_member(path, archive, key) for key in specs}
  except zipfile.BadZipFile as error:
    raise ValueError(f"{path} is not a valid .npz file: {error}") from error

  sizes: dict[str, tuple[str, int]] = {}
  for key, spec in specs.items():
    _check_array(path, key, arrays[key], spec, sizes)
  return arrays


def _check_required_keys(path: Path, required: Mapping[str, ArraySpec], present: list[str]) -> None:
  missing = [key for key in required if key not in present]
  if missing:
    raise ValueError(
      f"{path} is missing the required arrays {missing}. "
      f"The file contains {sorted(present)}."
    )


def _read_member(path: Path, archive: np.lib.npyio.NpzFile, key: str) -> np.ndarray:
  try:
    member = archive[key]
  except ValueError as error:
    # numpy raises ValueError for object arrays when allow_pickle=False,
    # and also for a corrupt .npy header.
    hint = ""
    if "allow_pickle" in str(error):
      hint = (
        " Object arrays are rejected because loading them would unpickle arbitrary code."
        " Store strings as fixed-width unicode (dtype '<U') instead."
      )
    raise ValueError(f"array {key!r} in {path} could not be read: {error}.{hint}") from error
  except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
    raise ValueError(f"array {key!r} in {path} is corrupt: {error}") from error

  # NpzFile returns the raw bytes of a member that is not a .npy file.
  if not isinstance(member, np.ndarray):
    raise ValueError(f"member {key!r} of {path} is not a .npy array")
  return member


def _check_array(
  path: Path,
  key: str,
  array: np.ndarray,
  spec: ArraySpec,
  sizes: dict[str, tuple[str, int]],
) -> None:
  """Check one array against its spec and record the sizes of its symbolic dimensions."""
  if array.dtype.kind not in spec.kinds:
    expected = " or ".join(_KIND_NAMES.get(kind, kind) for kind in spec.kinds)
    raise ValueError(f"array {key!r} in {path} has dtype {array.dtype}, expected {expected}")
  if array.ndim != len(spec.shape):
    raise ValueError(
      f"array {key!r} in {path} has shape {array.shape} ({array.ndim}-D), "
      f"expected {len(spec.shape)}-D shape {_format_shape(spec.shape)}"
    )
  for axis, (size, expected) in enumerate(zip(array.shape, spec.shape)):
    if isinstance(expected, int) and size != expected:
      raise ValueError(
        f"array {key!r} in {path} has shape {array.shape}, "
        f"expected {_format_shape(spec.shape)} (axis {axis} differs)"
      )
    if isinstance(expected, str):
      _check_symbolic_size(path, key, size, expected, sizes)


def _check_symbolic_size(
  path: Path, key: str, size: int, symbol: str, sizes: dict[str, tuple[str, int]]
) -> None:
  if symbol not in sizes:
    sizes[symbol] = (key, size)
    return
  first_key, first_size = sizes[symbol]
  if size != first_size:
    raise ValueError(
      f"length mismatch in {path}: array {first_key!r} has size {first_size} "
      f"along dimension {symbol!r} but {key!r} has size {size}"
    )


def _format_shape(shape: tuple[int | str | None, ...]) -> str:
  parts = ["any" if size is None else str(size) for size in shape]
  return "(" + ", ".join(parts) + ")"
