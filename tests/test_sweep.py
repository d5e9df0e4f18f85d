"""Tests for causalmia.sweep and the `causalmia sweep` command."""

import dataclasses
import json
import warnings

import jax
import numpy as np
import pytest

from causalmia import cli
from causalmia import cli_sweep
from causalmia import designs
from causalmia import sweep
from causalmia.errors import UndefinedMetricWarning
from causalmia.estimate import multi_run
from causalmia.interference import ridge

BASE = sweep.RidgeSetting(num_examples=24, runs=6, num_features=4, num_base=8,
                          regularization=2.0, inclusion_rate=0.5)


def _config(**grid):
  return sweep.SweepConfig(name="tiny", base=BASE, grid=tuple(grid.items()), fpr=(0.1,))


def _numbers(result):
  """The numeric content of a result, without the id (which hashes the setting)."""
  return {k: v for k, v in result.items() if k != "id"}


@pytest.fixture(scope="module")
def two_rates(tmp_path_factory):
  config = _config(inclusion_rate=(0.25, 0.5))
  return sweep.run_sweep(config, tmp_path_factory.mktemp("two"), show_progress=False,
                         log=lambda _: None)


def test_sweep_of_two_equals_two_runs(two_rates, tmp_path):
  for index, rate in enumerate((0.25, 0.5)):
    single = sweep.run_sweep(_config(inclusion_rate=(rate,)), tmp_path / str(index),
                             show_progress=False, log=lambda _: None)
    assert len(single) == 1
    assert single[0]["id"] == two_rates[index]["id"]
    np.testing.assert_allclose(
        single[0]["one_run"]["values"]["auc"], two_rates[index]["one_run"]["values"]["auc"],
        rtol=1e-6)
    assert single[0]["multi_run"] == pytest.approx(two_rates[index]["multi_run"], rel=1e-6)
    assert single[0]["stability"] == pytest.approx(two_rates[index]["stability"], rel=1e-6)


def test_sweep_matches_direct_estimate(two_rates):
  result = two_rates[1]
  problem = sweep.build_problem(BASE)
  masks_key = jax.random.fold_in(jax.random.key(0), 0)
  masks = designs.sample_masks(masks_key, designs.Bernoulli(0.5), 24, 6)
  scores = np.asarray(jax.jit(ridge.run_scores)(problem, masks, 2.0))
  with warnings.catch_warnings():
    # With 6 runs, some example is never in (or never out); only its memorization is NaN.
    warnings.simplefilter("ignore", UndefinedMetricWarning)
    direct = multi_run(scores, np.asarray(masks), fpr=(0.1,), num_replicates=0)
  assert result["multi_run"]["auc"] == pytest.approx(direct["auc"].value, abs=1e-6)
  assert result["multi_run"]["tpr@0.1"] == pytest.approx(direct["tpr@0.1"].value, abs=1e-6)
  assert result["bound"] == pytest.approx(result["stability"] * 0.5 * 23)


def test_sweep_chunked_equals_unchunked(tmp_path):
  config = _config(regularization=(1.0, 3.0, 9.0))
  whole = sweep.run_sweep(config, tmp_path / "whole", show_progress=False, log=lambda _: None)
  chunked = sweep.run_sweep(dataclasses.replace(config, chunk_size=2), tmp_path / "chunked",
                            show_progress=False, log=lambda _: None)
  for a, b in zip(whole, chunked):
    assert a["id"] == b["id"]
    np.testing.assert_allclose(a["one_run"]["values"]["auc"], b["one_run"]["values"]["auc"],
                               rtol=1e-6)
    assert a["no_interference"] == pytest.approx(b["no_interference"], rel=1e-6)


class _Interrupt(Exception):
  pass


def test_sweep_resumes_after_interrupt(tmp_path):
  config = dataclasses.replace(_config(regularization=(1.0, 3.0, 9.0)), chunk_size=1)
  seen = []

  def stop_after_first(result):
    seen.append(result["id"])
    raise _Interrupt

  with pytest.raises(_Interrupt):
    sweep.run_sweep(config, tmp_path, show_progress=False, on_result=stop_after_first,
                    log=lambda _: None)
  assert len(list((tmp_path / "settings").glob("*.json"))) == 1
  assert not (tmp_path / "summary.json").exists()

  messages, resumed = [], []
  results = sweep.run_sweep(config, tmp_path, show_progress=False, log=messages.append,
                            on_result=lambda r: resumed.append(r["id"]))
  assert len(resumed) == 2
  assert seen[0] not in resumed
  assert "1 of 3 settings already saved" in messages[0]
  fresh = sweep.run_sweep(config, tmp_path / "fresh", show_progress=False, log=lambda _: None)
  for a, b in zip(results, fresh):
    assert _numbers(a) == _numbers(b)
  summary = json.loads((tmp_path / "summary.json").read_text())
  assert [r["id"] for r in summary["results"]] == [r["id"] for r in fresh]


def test_sweep_grid_order_and_ids():
  config = _config(inclusion_rate=(0.1, 0.2), regularization=(1.0, 2.0))
  settings = sweep.expand(config)
  assert [(s.inclusion_rate, s.regularization) for s in settings] == [
      (0.1, 1.0), (0.1, 2.0), (0.2, 1.0), (0.2, 2.0)]
  ids = {sweep.setting_id(config, s) for s in settings}
  assert len(ids) == 4
  other_seed = dataclasses.replace(config, seed=1)
  assert sweep.setting_id(other_seed, settings[0]) != sweep.setting_id(config, settings[0])


def test_sweep_config_from_file(tmp_path):
  path = tmp_path / "sweep.toml"
  path.write_text('name = "file"\nfpr = [0.05]\n[base]\nnum_examples = 24\nruns = 6\n'
                  "num_features = 4\nnum_base = 8\n[grid]\ninclusion_rate = [0.2, 0.4]\n")
  config = sweep.load_config(path)
  assert config.grid == (("inclusion_rate", (0.2, 0.4)),)
  assert config.base.num_examples == 24
  updated = sweep.with_grid(config, {"num_examples": [24, 48]})
  assert dict(updated.grid)["num_examples"] == (24, 48)


@pytest.mark.parametrize("values, message", [
    ({"grid": {"width": [1]}}, "unknown axis"),
    ({"pipeline": "mlp"}, "Unknown pipeline"),
    ({"base": {"inclusion_rate": 1.5}}, "inclusion_rate"),
    ({"base": {"runs": 2.5}}, "integer"),
])
def test_sweep_config_rejects_invalid(values, message):
  with pytest.raises(ValueError, match=message):
    sweep.from_dict(values)


def test_parse_assignment():
  assert cli_sweep.parse_assignment("inclusion_rate=0.1, 0.5") == ("inclusion_rate", ["0.1", "0.5"])
  for bad in ("inclusion_rate", "=0.1", "p=0.1,,0.2"):
    with pytest.raises(ValueError, match="--set"):
      cli_sweep.parse_assignment(bad)


def test_cli_sweep_runs_grid(tmp_path, capsys):
  config_path = tmp_path / "sweep.json"
  config_path.write_text(json.dumps({"name": "cli", "fpr": [0.1],
                                     "base": dataclasses.asdict(BASE)}))
  code = cli.main(["sweep", "--config", str(config_path), "--set", "inclusion_rate=0.25,0.5",
                   "--output", str(tmp_path / "out"), "--quiet"])
  assert code == 0
  output = capsys.readouterr().out
  assert "inclusion_rate" in output
  assert "no-int. auc" in output
  assert len(list((tmp_path / "out" / "settings").glob("*.json"))) == 2


def test_cli_sweep_reports_bad_axis(tmp_path, capsys):
  code = cli.main(["sweep", "--set", "width=1,2", "--output", str(tmp_path), "--quiet"])
  assert code == 2
  assert "Unknown sweep axis 'width'" in capsys.readouterr().err
