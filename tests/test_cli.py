"""The command line and experiment configs, end to end on a reduced size."""

import json

import numpy as np
import pytest

from causalmia import cli
from causalmia import config as config_lib


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
  output = tmp_path_factory.mktemp("run")
  code = cli.main(["run", "--smoke", "--quiet", "--output", str(output)])
  return code, output


def test_default_run_writes_results_folder(smoke_run, capsys):
  code, output = smoke_run
  assert code == 0
  for name in ("results.json", "roc_linear.png", "roc_loglog.png", "memorization.npz",
               "curves.npz"):
    assert (output / name).is_file(), name
  assert not list(output.glob(".*.tmp"))


def test_results_json_contents(smoke_run):
  _, output = smoke_run
  results = json.loads((output / "results.json").read_text())
  multi = results["results"]["multi-run"]
  assert multi["regime"] == "multi-run"
  assert multi["counts"]["runs"] == 8
  assert multi["counts"]["examples"] == 300
  auc = multi["metrics"]["auc"]
  assert auc["ci_low"] <= auc["value"] <= auc["ci_high"]
  assert multi["metrics"]["tpr@0.01"]["convention"] == "step"
  assert results["results"]["one-run"]["counts"]["runs"] == 1
  assert results["config"]["smoke"] is True
  assert results["config"]["train"]["hidden"] == [128]
  assert "jax" in results["versions"]
  assert "estimand" in results


def test_memorization_file(smoke_run):
  _, output = smoke_run
  with np.load(output / "memorization.npz", allow_pickle=False) as archive:
    assert archive["memorization"].shape == (300,)


def test_run_with_config_file(tmp_path):
  path = tmp_path / "tiny.toml"
  path.write_text(
      'name = "tiny"\nruns = 3\nscore = "loss"\n'
      '[data]\nname = "digits"\nlimit = 80\n'
      '[train]\nmodel = "linear"\nsteps = 5\nbatch_size = 8\n'
      '[estimate]\nnum_replicates = 10\nfpr = [0.05]\nconvention = "hull"\n'
  )
  output = tmp_path / "out"
  assert cli.main(["run", "--config", str(path), "--quiet", "--output", str(output)]) == 0
  results = json.loads((output / "results.json").read_text())
  metrics = results["results"]["multi-run"]["metrics"]
  assert set(metrics) == {"auc", "advantage", "tpr@0.05"}
  assert metrics["tpr@0.05"]["convention"] == "hull"


def test_bad_config_exits_with_message(tmp_path, capsys):
  path = tmp_path / "bad.json"
  path.write_text(json.dumps({"runs": 3, "trian": {}}))
  assert cli.main(["run", "--config", str(path)]) == 2
  error = capsys.readouterr().err
  assert "bad.json" in error
  assert "unknown key(s) ['trian']" in error


def test_config_type_errors_name_the_key(tmp_path):
  path = tmp_path / "typed.json"
  path.write_text(json.dumps({"train": {"steps": "many"}}))
  with pytest.raises(ValueError, match=r"typed.json.train.steps: expected an integer"):
    config_lib.load(path)
  broken = tmp_path / "broken.toml"
  broken.write_text("runs = [")
  with pytest.raises(ValueError, match="broken.toml: invalid TOML"):
    config_lib.load(broken)
  with pytest.raises(FileNotFoundError, match="missing.json"):
    config_lib.load(tmp_path / "missing.json")


def test_smoke_setting_shrinks_sizes():
  config = config_lib.ExperimentConfig(smoke=True).effective()
  assert config.runs == 8
  assert config.train.steps == 30
  assert config.estimate.num_replicates == 50
  assert config.data.limit == 300
