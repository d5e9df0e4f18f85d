"""Reading per-example scores computed elsewhere: CSV, TSV, NPZ, JSON lines and Parquet.

A score table has one row per audit example: a score (for example a
language model's loss on a document), a member column (0/1 or true/false)
and the covariates that drove membership. Every error names the file, the
row (0-based, as in the estimators' messages) and the column; text formats
also give the 1-based line number.

Supported suffixes: `.csv`, `.tsv`, `.npz`, `.jsonl` / `.ndjson`, and
`.parquet` / `.pq` when pyarrow is installed (`pip install causalmia[parquet]`).
"""

import csv
import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

SUFFIXES = (".csv", ".tsv", ".npz", ".jsonl", ".ndjson", ".parquet", ".pq")
_MEMBER_WORDS = {"0": False, "1": True, "false": False, "true": True}


@dataclasses.dataclass(frozen=True, eq=False)
class ScoreTable:
  """Validated arrays read from a score file.

  Attributes:
    scores: `[rows]` float64 scores, oriented so that larger means more
      member-like (negated when the file's scores are losses).
    members: `[rows]` bool membership.
    covariates: `[rows, covariates]` float64, or None when no covariate
      column was requested.
    covariate_names: the covariate column names, in order.
    propensity: `[rows]` given propensities, or None.
    source: the file read.
    score_column: the score column's name.
    member_column: the member column's name.
    higher_is_member: whether the file's larger scores are more member-like.
  """

  scores: np.ndarray
  members: np.ndarray
  covariates: np.ndarray | None
  covariate_names: tuple[str, ...]
  propensity: np.ndarray | None
  source: str
  score_column: str
  member_column: str
  higher_is_member: bool

  def __len__(self) -> int:
    return int(self.scores.shape[0])


def load_score_table(
    path,
    *,
    member_column: str,
    covariate_columns: Sequence[str] = (),
    score_column: str = "score",
    higher_is_member: bool = True,
    propensity_column: str | None = None,
) -> ScoreTable:
  """Reads and validates a score table.

  Args:
    path: the file; its suffix selects the format (see `SUFFIXES`).
    member_column: column of 0/1 (or true/false) membership.
    covariate_columns: numeric columns to adjust for.
    score_column: column of scores.
    higher_is_member: False when larger values are less member-like (a
      loss); the scores are then negated.
    propensity_column: optional column of known propensities in [0, 1].

  Raises:
    FileNotFoundError: the file does not exist.
    ValueError: unsupported format, missing column, non-numeric or missing
      value, NaN score, a member value other than 0/1, or a single group.
      The message names the file, row and column.

  Example:
    >>> table = load_score_table("scores.csv", member_column="member",  # doctest: +SKIP
    ...                          covariate_columns=["year"], score_column="loss",
    ...                          higher_is_member=False)
  """
  path = Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"Score file not found: {path}")
  covariate_columns = tuple(covariate_columns)
  wanted = [score_column, member_column, *covariate_columns]
  if propensity_column is not None:
    wanted.append(propensity_column)
  duplicates = sorted({name for name in wanted if wanted.count(name) > 1})
  if duplicates:
    raise ValueError(f"{path}: column(s) {duplicates} are requested for more than one role "
                     "(score, member, covariate, propensity).")

  columns, locate = _read(path, wanted)
  rows = len(columns[score_column])
  if rows == 0:
    raise ValueError(f"{path}: the file has no data rows.")

  scores = _numeric(columns[score_column], path, score_column, locate)
  nan = np.flatnonzero(np.isnan(scores))
  if nan.size:
    raise ValueError(f"{path}: column {score_column!r} has NaN score(s), the first in "
                     f"{locate(nan[0])} ({nan.size} in all); remove those rows or give them "
                     "a score.")
  members = _members(columns[member_column], path, member_column, locate)
  if members.all() or not members.any():
    group = "members" if members.all() else "non-members"
    raise ValueError(f"{path}: column {member_column!r} contains only {group} ({rows} rows); "
                     "a causal estimate compares members with non-members.")

  covariates = None
  if covariate_columns:
    covariates = np.stack([_finite(columns[name], path, name, locate)
                           for name in covariate_columns], axis=1)
  propensity = None
  if propensity_column is not None:
    propensity = _finite(columns[propensity_column], path, propensity_column, locate)
    outside = np.flatnonzero((propensity < 0) | (propensity > 1))
    if outside.size:
      raise ValueError(f"{path}: column {propensity_column!r} must lie in [0, 1]; "
                       f"{locate(outside[0])} has {propensity[outside[0]]:g}.")
  return ScoreTable(
      scores=scores if higher_is_member else -scores,
      members=members,
      covariates=covariates,
      covariate_names=covariate_columns,
      propensity=propensity,
      source=str(path),
      score_column=score_column,
      member_column=member_column,
      higher_is_member=higher_is_member,
  )


def _read(path: Path, wanted: list[str]):
  suffix = path.suffix.lower()
  if suffix in (".csv", ".tsv"):
    return _read_delimited(path, wanted, "\t" if suffix == ".tsv" else ",")
  if suffix == ".npz":
    return _read_npz(path, wanted)
  if suffix in (".jsonl", ".ndjson"):
    return _read_json_lines(path, wanted)
  if suffix in (".parquet", ".pq"):
    return _read_parquet(path, wanted)
  raise ValueError(f"{path}: unsupported file format {suffix!r}; use one of {SUFFIXES}.")


def _missing_columns(path, wanted, available):
  missing = [name for name in wanted if name not in available]
  if missing:
    listed = ", ".join(map(repr, available)) or "none"
    raise ValueError(f"{path}: missing column(s) {', '.join(map(repr, missing))}; the file "
                     f"has columns {listed}.")


def _read_delimited(path: Path, wanted, delimiter: str):
  with open(path, newline="", encoding="utf-8-sig") as handle:
    reader = csv.reader(handle, delimiter=delimiter)
    header = next(reader, None)
    if header is None:
      raise ValueError(f"{path}: the file is empty; expected a header row with column names.")
    header = [name.strip() for name in header]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
      raise ValueError(f"{path}: the header repeats column name(s) {repeated}.")
    _missing_columns(path, wanted, header)
    index = {name: header.index(name) for name in wanted}
    columns = {name: [] for name in wanted}
    lines = []
    for record in reader:
      if not record or all(not field.strip() for field in record):
        continue
      if len(record) != len(header):
        raise ValueError(f"{path}: line {reader.line_num} has {len(record)} field(s), but the "
                         f"header has {len(header)}.")
      lines.append(reader.line_num)
      for name in wanted:
        columns[name].append(record[index[name]])
  return columns, lambda row: f"row {row} (line {lines[row]})"


def _read_json_lines(path: Path, wanted):
  columns = {name: [] for name in wanted}
  lines = []
  with open(path, encoding="utf-8") as handle:
    for number, text in enumerate(handle, start=1):
      if not text.strip():
        continue
      try:
        record = json.loads(text)
      except json.JSONDecodeError as error:
        raise ValueError(f"{path}: line {number} is not valid JSON: {error.msg}.") from error
      if not isinstance(record, dict):
        raise ValueError(f"{path}: line {number} must be a JSON object with one key per "
                         f"column, got {type(record).__name__}.")
      missing = [name for name in wanted if name not in record]
      if missing:
        raise ValueError(f"{path}: row {len(lines)} (line {number}) has no key(s) "
                         f"{', '.join(map(repr, missing))}; it has {', '.join(map(repr, record))}.")
      lines.append(number)
      for name in wanted:
        columns[name].append(record[name])
  if not lines:
    raise ValueError(f"{path}: the file has no data rows.")
  return columns, lambda row: f"row {row} (line {lines[row]})"


def _read_npz(path: Path, wanted):
  with np.load(path, allow_pickle=False) as arrays:
    _missing_columns(path, wanted, list(arrays.files))
    columns = {}
    for name in wanted:
      try:
        array = arrays[name]
      except ValueError as error:
        raise ValueError(f"{path}: array {name!r} contains Python objects, which are not "
                         "loaded for safety; store numbers or booleans.") from error
      if array.ndim != 1:
        raise ValueError(f"{path}: array {name!r} must be 1-D (one value per row), got shape "
                         f"{array.shape}.")
      columns[name] = array
  lengths = {name: len(values) for name, values in columns.items()}
  if len(set(lengths.values())) > 1:
    raise ValueError(f"{path}: the arrays differ in length: {lengths}.")
  return columns, lambda row: f"row {row}"


def _read_parquet(path: Path, wanted):
  try:
    import pyarrow.parquet as parquet
  except ImportError as error:
    raise ValueError(f"{path}: reading Parquet needs pyarrow; install it with "
                     "`pip install causalmia[parquet]`, or convert the file to CSV.") from error
  schema_names = list(parquet.read_schema(path).names)
  _missing_columns(path, wanted, schema_names)
  table = parquet.read_table(path, columns=wanted)
  columns = {name: table.column(name).to_pylist() for name in wanted}
  return columns, lambda row: f"row {row}"


def _to_float(value) -> float | None:
  """Converts a cell to a float, or None when it is missing; raises ValueError for text."""
  if value is None:
    return None
  if isinstance(value, (bool, np.bool_)):
    raise ValueError("boolean")
  if isinstance(value, (int, float, np.integer, np.floating)):
    return float(value)
  text = str(value).strip()
  if not text:
    return None
  return float(text)


def _numeric(values, path, column, locate: Callable[[int], str]) -> np.ndarray:
  if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
    return values.astype(np.float64)
  result = np.empty(len(values))
  for row, value in enumerate(values):
    try:
      number = _to_float(value)
    except ValueError:
      raise ValueError(f"{path}: column {column!r} must be numeric, but {locate(row)} has "
                       f"{value!r}.") from None
    if number is None:
      raise ValueError(f"{path}: column {column!r} has a missing value in {locate(row)}.")
    result[row] = number
  return result


def _finite(values, path, column, locate) -> np.ndarray:
  result = _numeric(values, path, column, locate)
  bad = np.flatnonzero(~np.isfinite(result))
  if bad.size:
    raise ValueError(f"{path}: column {column!r} has a NaN or infinite value in "
                     f"{locate(bad[0])} ({bad.size} in all); remove or impute it.")
  return result


def _members(values, path, column, locate) -> np.ndarray:
  result = np.empty(len(values), dtype=bool)
  for row, value in enumerate(values):
    flag = _member_flag(value)
    if flag is None:
      raise ValueError(f"{path}: column {column!r} must be 0/1 or true/false, but "
                       f"{locate(row)} has {value!r}.")
    result[row] = flag
  return result


def _member_flag(value) -> bool | None:
  if isinstance(value, (bool, np.bool_)):
    return bool(value)
  if isinstance(value, (int, float, np.integer, np.floating)):
    return bool(value) if not math.isnan(value) and value in (0, 1) else None
  if isinstance(value, str):
    text = value.strip().lower()
    if text in _MEMBER_WORDS:
      return _MEMBER_WORDS[text]
    try:
      return _member_flag(float(text))
    except ValueError:
      return None
  return None
