"""Tests for causalmia.tabular (score files) and the `causalmia estimate` command."""

import builtins
import csv
import json

import numpy as np
import pytest

from causalmia import cli
from causalmia import tabular

ROWS = 40


def _columns(seed=0):
  rng = np.random.default_rng(seed)
  year = rng.integers(2000, 2010, ROWS)
  member = (np.arange(ROWS) % 2).astype(int)
  loss = 1.0 + 0.1 * (year - 2000) - 0.5 * member + rng.normal(0, 0.2, ROWS)
  return {"year": year, "member": member, "loss": loss}


def _write_csv(path, columns, delimiter=","):
  names = list(columns)
  with open(path, "w", newline="") as handle:
    writer = csv.writer(handle, delimiter=delimiter)
    writer.writerow(names)
    for row in range(len(columns[names[0]])):
      writer.writerow([columns[name][row] for name in names])
  return path


def _write_jsonl(path, columns):
  names = list(columns)
  with open(path, "w") as handle:
    for row in range(len(columns[names[0]])):
      handle.write(json.dumps({name: _plain(columns[name][row]) for name in names}) + "\n")
  return path


def _plain(value):
  return value.item() if isinstance(value, np.generic) else value


def _load(path, **options):
  arguments = dict(member_column="member", covariate_columns=["year"], score_column="loss",
                   higher_is_member=False)
  arguments.update(options)
  return tabular.load_score_table(path, **arguments)


def _check_round_trip(table, columns):
  np.testing.assert_allclose(table.scores, -columns["loss"])
  assert table.members.tolist() == (columns["member"] == 1).tolist()
  np.testing.assert_allclose(table.covariates[:, 0], columns["year"])
  assert table.covariate_names == ("year",)


@pytest.mark.parametrize("suffix, delimiter", [(".csv", ","), (".tsv", "\t")])
def test_delimited_round_trip(tmp_path, suffix, delimiter):
  columns = _columns()
  table = _load(_write_csv(tmp_path / f"scores{suffix}", columns, delimiter))
  _check_round_trip(table, columns)
  assert len(table) == ROWS


def test_npz_round_trip_with_bool_members(tmp_path):
  columns = _columns()
  path = tmp_path / "scores.npz"
  np.savez(path, year=columns["year"], member=columns["member"] == 1, loss=columns["loss"])
  _check_round_trip(_load(path), columns)


def test_json_lines_round_trip_with_words(tmp_path):
  columns = _columns()
  words = dict(columns, member=["true" if m else "false" for m in columns["member"]])
  _check_round_trip(_load(_write_jsonl(tmp_path / "scores.jsonl", words)), columns)


def test_parquet_round_trip(tmp_path):
  pyarrow = pytest.importorskip("pyarrow")
  import pyarrow.parquet as parquet

  columns = _columns()
  path = tmp_path / "scores.parquet"
  parquet.write_table(pyarrow.table({name: list(map(_plain, values))
                                     for name, values in columns.items()}), path)
  _check_round_trip(_load(path), columns)


def test_parquet_without_pyarrow_says_how_to_install(tmp_path, monkeypatch):
  real_import = builtins.__import__

  def no_pyarrow(name, *args, **kwargs):
    if name.startswith("pyarrow"):
      raise ImportError(name)
    return real_import(name, *args, **kwargs)

  monkeypatch.setattr(builtins, "__import__", no_pyarrow)
  path = tmp_path / "scores.parquet"
  path.write_bytes(b"PAR1")
  with pytest.raises(ValueError, match=r"needs pyarrow; install it with"):
    _load(path)


def test_higher_is_member_keeps_sign(tmp_path):
  columns = _columns()
  table = _load(_write_csv(tmp_path / "scores.csv", columns), higher_is_member=True)
  np.testing.assert_allclose(table.scores, columns["loss"])


def test_propensity_column_is_read(tmp_path):
  columns = dict(_columns(), e=np.full(ROWS, 0.25))
  table = _load(_write_csv(tmp_path / "scores.csv", columns), propensity_column="e")
  np.testing.assert_allclose(table.propensity, 0.25)


def _edited_csv(tmp_path, column, row, value):
  columns = {name: list(values) for name, values in _columns().items()}
  columns[column][row] = value
  return _write_csv(tmp_path / "scores.csv", columns)


def test_missing_column_lists_available(tmp_path):
  path = _write_csv(tmp_path / "scores.csv", _columns())
  with pytest.raises(ValueError) as error:
    _load(path, covariate_columns=["year", "topic"])
  message = str(error.value)
  assert str(path) in message
  assert "missing column(s) 'topic'" in message
  assert "'year', 'member', 'loss'" in message


def test_non_numeric_value_names_row_line_and_column(tmp_path):
  path = _edited_csv(tmp_path, "year", 5, "n/a")
  with pytest.raises(ValueError) as error:
    _load(path)
  message = str(error.value)
  assert str(path) in message
  assert "column 'year' must be numeric" in message
  assert "row 5 (line 7) has 'n/a'" in message


def test_nan_score_names_row(tmp_path):
  path = _edited_csv(tmp_path, "loss", 3, "nan")
  with pytest.raises(ValueError, match=r"column 'loss' has NaN score\(s\), the first in row 3 "
                                       r"\(line 5\)"):
    _load(path)


def test_missing_value_names_row(tmp_path):
  path = _edited_csv(tmp_path, "loss", 8, "")
  with pytest.raises(ValueError, match=r"column 'loss' has a missing value in row 8 \(line 10\)"):
    _load(path)


def test_member_column_must_be_binary(tmp_path):
  path = _edited_csv(tmp_path, "member", 2, "2")
  with pytest.raises(ValueError, match=r"column 'member' must be 0/1 or true/false, but row 2 "
                                       r"\(line 4\) has '2'"):
    _load(path)


def test_single_group_is_rejected(tmp_path):
  columns = dict(_columns(), member=np.ones(ROWS, int))
  path = _write_csv(tmp_path / "scores.csv", columns)
  with pytest.raises(ValueError, match=r"contains only members \(40 rows\)"):
    _load(path)


def test_nonfinite_covariate_and_propensity_range(tmp_path):
  path = _edited_csv(tmp_path, "year", 1, "inf")
  with pytest.raises(ValueError, match=r"column 'year' has a NaN or infinite value in row 1"):
    _load(path)
  columns = dict(_columns(), e=np.full(ROWS, 1.5))
  path = _write_csv(tmp_path / "with_e.csv", columns)
  with pytest.raises(ValueError, match=r"column 'e' must lie in \[0, 1\]; row 0"):
    _load(path, propensity_column="e")


def test_ragged_and_empty_files(tmp_path):
  ragged = tmp_path / "ragged.csv"
  ragged.write_text("year,member,loss\n2001,1,0.5\n2002,0\n")
  with pytest.raises(ValueError, match=r"line 3 has 2 field\(s\), but the header has 3"):
    _load(ragged)
  empty = tmp_path / "empty.csv"
  empty.write_text("")
  with pytest.raises(ValueError, match="the file is empty"):
    _load(empty)
  header_only = tmp_path / "header.csv"
  header_only.write_text("year,member,loss\n")
  with pytest.raises(ValueError, match="no data rows"):
    _load(header_only)


def test_json_lines_errors_name_line(tmp_path):
  path = tmp_path / "scores.jsonl"
  path.write_text('{"year": 2001, "member": 1, "loss": 0.5}\n{"year": 2002, "member": 0\n')
  with pytest.raises(ValueError, match="line 2 is not valid JSON"):
    _load(path)
  path.write_text('{"year": 2001, "member": 1, "loss": 0.5}\n\n{"year": 2002, "member": 0}\n')
  with pytest.raises(ValueError, match=r"row 1 \(line 3\) has no key\(s\) 'loss'"):
    _load(path)


def test_npz_errors(tmp_path):
  path = tmp_path / "scores.npz"
  np.savez(path, year=np.zeros((ROWS, 2)), member=np.arange(ROWS) % 2, loss=np.zeros(ROWS))
  with pytest.raises(ValueError, match=r"array 'year' must be 1-D"):
    _load(path)
  np.savez(path, year=np.zeros(ROWS), member=np.arange(ROWS - 1) % 2, loss=np.zeros(ROWS))
  with pytest.raises(ValueError, match="the arrays differ in length"):
    _load(path)


def test_unsupported_suffix_and_missing_file(tmp_path):
  path = tmp_path / "scores.xlsx"
  path.write_text("x")
  with pytest.raises(ValueError, match=r"unsupported file format '.xlsx'"):
    _load(path)
  with pytest.raises(FileNotFoundError, match="Score file not found"):
    _load(tmp_path / "absent.csv")


def test_duplicate_roles_are_rejected(tmp_path):
  path = _write_csv(tmp_path / "scores.csv", _columns())
  with pytest.raises(ValueError, match=r"\['loss'\] are requested for more than one role"):
    _load(path, covariate_columns=["loss"])


# --- the `causalmia estimate` command ---------------------------------------


def _confounded_csv(path, rows=120, seed=1):
  rng = np.random.default_rng(seed)
  year = rng.uniform(2000, 2020, rows)
  member = (rng.random(rows) < 1 / (1 + np.exp((year - 2010) / 4))).astype(int)
  loss = 1.0 + 0.05 * (year - 2000) - 0.3 * member + rng.normal(0, 0.3, rows)
  return _write_csv(path, {"year": np.round(year, 3), "member": member, "loss": np.round(loss, 5)})


def test_estimate_command_writes_results_folder(tmp_path, capsys):
  path = _confounded_csv(tmp_path / "docs.csv")
  output = tmp_path / "out"
  code = cli.main(["estimate", str(path), "--member-column", "member", "--covariates", "year",
                   "--score-column", "loss", "--lower-is-member", "--method", "ipw",
                   "--replicates", "8", "--output", str(output), "--quiet"])
  assert code == 0
  printed = capsys.readouterr().out
  assert "naive" in printed
  assert "ipw" in printed
  assert "effective sample size" in printed
  assert "standardized mean difference of year" in printed
  for name in ("results.json", "roc_linear.png", "roc_loglog.png", "propensity_histogram.png",
               "curves.npz", "per_example.npz"):
    assert (output / name).is_file(), name
  payload = json.loads((output / "results.json").read_text())
  assert set(payload["results"]) == {"naive", "ipw"}
  naive_auc = payload["results"]["naive"]["metrics"]["auc"]["value"]
  ipw_auc = payload["results"]["ipw"]["metrics"]["auc"]["value"]
  assert naive_auc > ipw_auc
  assert payload["input"]["higher_is_member"] is False
  with np.load(output / "per_example.npz") as arrays:
    assert arrays["propensity"].shape == (120,)


def test_estimate_command_reports_bad_file(tmp_path, capsys):
  path = _confounded_csv(tmp_path / "docs.csv")
  code = cli.main(["estimate", str(path), "--member-column", "is_member", "--covariates",
                   "year", "--score-column", "loss", "--quiet"])
  assert code == 2
  error = capsys.readouterr().err
  assert "missing column(s) 'is_member'" in error
  assert str(path) in error


def test_estimate_command_reports_positivity_failure(tmp_path, capsys):
  year = np.array([2015] * 3 + [2020] * 4 + [2024] * 3)
  path = _write_csv(tmp_path / "dates.csv", {
      "year": year, "member": [1, 1, 1, 1, 1, 0, 0, 0, 0, 0], "score": 2025 - year})
  code = cli.main(["estimate", str(path), "--member-column", "member", "--covariates", "year",
                   "--method", "ipw", "--propensity-model", "cells", "--replicates", "0",
                   "--quiet", "--output", str(tmp_path / "out")])
  assert code == 2
  error = capsys.readouterr().err
  assert "Positivity fails" in error
  assert "year = 2015" in error
  assert "--trim support" in error

  output = tmp_path / "trimmed"
  code = cli.main(["estimate", str(path), "--member-column", "member", "--covariates", "year",
                   "--method", "ipw", "--propensity-model", "cells", "--replicates", "0",
                   "--trim", "support", "--quiet", "--output", str(output)])
  assert code == 0
  payload = json.loads((output / "results.json").read_text())
  assert payload["results"]["ipw"]["metrics"]["auc"]["value"] == pytest.approx(0.5)
  assert payload["results"]["naive"]["metrics"]["auc"]["value"] == pytest.approx(0.5)
  assert payload["naive_all_rows"]["metrics"]["auc"]["value"] == pytest.approx(0.92)
  assert "restricted to the 4 rows kept by --trim" in capsys.readouterr().out
