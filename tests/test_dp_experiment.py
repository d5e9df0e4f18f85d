"""Smoke tests of DP-SGD in the experiment pipeline and of the dp_audit study driver."""

import importlib.util
import json
import logging
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA_DIR

from causalmia import config as config_lib
from causalmia import designs
from causalmia import experiment
from causalmia import plotting
from causalmia import privacy

STUDY = Path(__file__).resolve().parents[1] / "experiments" / "dp_audit" / "run.py"


def _load_study():
  spec = importlib.util.spec_from_file_location("dp_audit_run", STUDY)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_dp_batching_rate_from_design():
  settings = config_lib.TrainSettings(batch_size=16, steps=50, dp_noise_multiplier=1.0)
  masks = np.zeros((3, 200), bool)
  masks[:, :90] = True
  masks[1, 90:110] = True  # the largest run includes 110 examples
  batching = experiment.dp_batching(settings, designs.Bernoulli(0.4), masks)
  assert batching["dp_sampling_rate"] == pytest.approx(16 / 80)
  assert batching["dp_max_batch_size"] > 110 * 16 / 80
  assert experiment.dp_batching(config_lib.TrainSettings(), designs.Bernoulli(0.4), masks) == {}


def test_pipeline_records_epsilon_and_region(tmp_path, monkeypatch):
  regions = []
  save = plotting.save_roc_figures

  def recording_save(*args, **kwargs):
    regions.append(kwargs.get("dp"))
    return save(*args, **kwargs)

  monkeypatch.setattr(plotting, "save_roc_figures", recording_save)
  config = config_lib.from_dict({
      "name": "dp-rmia", "runs": 6, "score": "rmia", "smoke": True,
      "data": {"name": "digits", "limit": 150},
      "train": {"model": "linear", "steps": 20, "batch_size": 15,
                "dp_noise_multiplier": 1.2, "dp_clip_norm": 1.0, "dp_delta": 1e-4},
      "attack": {"population": 40},
      "estimate": {"num_replicates": 0},
  })
  experiment.run(config, tmp_path, show_progress=False, log=lambda *args: None)

  stored = json.loads((tmp_path / "results.json").read_text())["privacy"]
  logging.getLogger("absl").setLevel(logging.ERROR)
  expected = privacy.dpsgd_epsilon(noise_multiplier=1.2, sampling_rate=15 / 75, steps=20,
                                   delta=1e-4)
  assert stored["epsilon"] == pytest.approx(expected, rel=1e-9)
  assert stored["sampling_rate"] == pytest.approx(0.2)
  assert stored["sampling"] == "poisson"
  assert regions == [(stored["epsilon"], stored["delta_with_truncation"])]
  assert (tmp_path / "roc_loglog.png").is_file()


def test_population_must_follow_pool():
  config = config_lib.from_dict({"score": "rmia", "data": {"name": "digits"},
                                 "attack": {"population": 10}})
  with pytest.raises(ValueError, match="data.limit"):
    experiment.load_population(config)


def test_study_smoke(tmp_path):
  study = _load_study()
  # A folder without CIFAR-10 makes the study fall back to digits, the fastest input.
  assert study.main(["--smoke", "--output", str(tmp_path), "--data-dir",
                     str(tmp_path / "absent")]) == 0

  payload = json.loads((tmp_path / "results.json").read_text())
  assert payload["data"].startswith("scikit-learn digits")
  private = [s for s in payload["results"] if s["privacy"] is not None]
  assert private and all(s["privacy"]["epsilon"] > 0 for s in private)
  for setting in payload["results"]:
    assert set(setting["scores"]) == {"loss", "lira", "rmia"}
    for result in setting["scores"].values():
      assert 0.0 <= result["estimate"]["metrics"]["auc"]["value"] <= 1.0
      assert result["audit"]["epsilon_run0"] >= 0.0
    assert 0.0 <= setting["zero_run"]["naive_auc"] <= 1.0
  assert (tmp_path / "epsilon.png").is_file()
  assert (tmp_path / "tables.md").read_text().startswith("| setting |")
  assert len(list(tmp_path.glob("zero_run_*_loglog.png"))) == len(payload["results"])


@pytest.mark.skipif(not (SHARED_DATA_DIR / "cifar10_exact").exists(),
                    reason="CIFAR-10 arrays are not available")
def test_study_reads_cifar10():
  study = _load_study()
  settings = study.load_settings(study.CONFIG, smoke=True)
  pool, population, source = study.load_data(settings, SHARED_DATA_DIR / "cifar10_exact")
  assert source.startswith("CIFAR-10")
  assert pool.inputs.shape == (settings["data"]["pool"], 32, 32, 3)
  assert len(population) == settings["data"]["population"]
