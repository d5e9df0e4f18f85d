"""The multi-run experiment: masks, training, scoring and estimation, end to end.

    key -> sample_masks -> train_many -> score_runs -> multi_run / one_run

The root key of the config seed is split into keys named by purpose, so the
masks do not change when the training settings do.
"""

import dataclasses
import time
from pathlib import Path

import jax
import numpy as np
from tqdm.auto import tqdm

from causalmia import config as config_lib
from causalmia import data as data_lib
from causalmia import designs
from causalmia import models
from causalmia import plotting
from causalmia import results_io
from causalmia import scores as scores_lib
from causalmia import training
from causalmia.estimate import multi_run, one_run


def load_pool(data: config_lib.DataConfig) -> data_lib.Dataset:
  """Loads the audit pool described by `data`, keeping the first `limit` rows."""
  kwargs = {"split": data.split} if data.name == "cifar10" else {}
  if data.name == "ridge":
    kwargs = {"seed": 0, "num_examples": data.limit or 500, "num_features": 20}
  dataset = data_lib.load_dataset(data.name, data.path, **kwargs)
  if data.limit is not None and data.limit < len(dataset):
    dataset = dataset.subset(np.arange(data.limit))
  return dataset


def build_design(design: config_lib.DesignConfig) -> designs.Design:
  if design.kind == "complete":
    if design.num_included is None:
      raise ValueError("design.num_included must be set for the 'complete' design.")
    return designs.Complete(design.num_included)
  return designs.from_config(design.kind, design.p)


def train_config(settings: config_lib.TrainSettings, dataset: data_lib.Dataset) -> training.TrainConfig:
  regression = dataset.num_classes is None
  return training.TrainConfig(
      model=models.ModelConfig(settings.model, tuple(settings.hidden)),
      num_outputs=1 if regression else dataset.num_classes,
      regression=regression,
      optimizer=settings.optimizer,
      learning_rate=settings.learning_rate,
      steps=settings.steps,
      batch_size=settings.batch_size,
      weight_decay=settings.weight_decay,
  )


def train_and_score(config: config_lib.ExperimentConfig, dataset, *, show_progress=True, log=print):
  """Samples masks, trains one model per run and scores every example.

  Returns:
    `(scores, masks, losses)`: `[runs, examples]` scores and masks, and
    `[runs, steps]` training losses.
  """
  masks_key, train_key = jax.random.split(jax.random.key(config.seed))
  design = build_design(config.design)
  masks = designs.sample_masks(masks_key, design, len(dataset), config.runs)
  settings = train_config(config.train, dataset)

  log(f"Compiling the training program for {config.chunk_size or config.runs} runs "
      "(the first call is slow)...")
  with tqdm(total=config.runs, desc="training", unit="run", disable=not show_progress) as bar:
    params, losses = training.train_many(
        train_key, masks, dataset.inputs, dataset.labels, settings,
        chunk_size=config.chunk_size, progress=bar.update,
    )
  training.check_finite_losses(losses)

  model = models.build_model(settings.model, settings.num_outputs)
  score_fn = scores_lib.get_score(config.score)
  scores = scores_lib.score_runs(
      score_fn, model.apply, params, dataset.inputs, dataset.labels,
      regression=settings.regression,
  )
  return np.asarray(scores), np.asarray(masks), np.asarray(losses)


def estimate_both(config: config_lib.ExperimentConfig, scores, masks, *, show_progress=True):
  """The multi-run estimate over all runs and the one-run estimate of one run."""
  settings = config.estimate
  index = settings.one_run_index
  if not 0 <= index < scores.shape[0]:
    raise ValueError(f"estimate.one_run_index is {index}, but there are {scores.shape[0]} runs.")
  bootstrap_key = jax.random.fold_in(jax.random.key(config.seed), 2)
  options = dict(fpr=settings.fpr, convention=settings.convention,
                 confidence=settings.confidence, num_replicates=settings.num_replicates)
  with tqdm(total=2 * settings.num_replicates, desc="bootstrap", unit="replicate",
            disable=not show_progress) as bar:
    multi = multi_run(scores, masks, key=bootstrap_key, progress=bar.update, **options)
    one = one_run(scores[index], masks[index], key=jax.random.fold_in(bootstrap_key, 1),
                  progress=bar.update, **options)
  return multi, one


def write_results(output_dir, config, multi, one, losses, *, elapsed_seconds: float) -> Path:
  """Writes results.json, the ROC figures, curves.npz and memorization.npz."""
  output_dir = Path(output_dir)
  payload = {
      "estimand": multi.estimand,
      "results": {"multi-run": multi.to_dict(), "one-run": one.to_dict()},
      "config": config_lib.to_dict(config),
      "training": {"final_loss_mean": float(np.mean(losses[:, -1]))},
      "elapsed_seconds": elapsed_seconds,
      "versions": results_io.package_versions(),
  }
  results_io.write_json(output_dir / "results.json", payload)
  nonmember_rows = multi.counts["nonmember_rows"]
  plotting.save_roc_figures(
      {"multi-run": multi.curve, f"one-run (run {config.estimate.one_run_index})": one.curve},
      output_dir / "roc", title=f"{config.name}: causal ROC",
      min_fpr=1.0 / max(nonmember_rows, 1),
  )
  results_io.write_npz(output_dir / "memorization.npz",
                       memorization=multi.per_example["memorization"])
  results_io.write_npz(output_dir / "curves.npz",
                       multi_run_fpr=multi.curve["fpr"], multi_run_tpr=multi.curve["tpr"],
                       one_run_fpr=one.curve["fpr"], one_run_tpr=one.curve["tpr"])
  return output_dir


def run(config: config_lib.ExperimentConfig, output_dir=None, *, show_progress=True, log=print):
  """Runs the experiment of `config` and writes its results folder.

  Returns:
    `(multi, one, output_dir)`: the two `EstimateResult`s and the folder.
  """
  config = config.effective()
  start = time.perf_counter()
  dataset = load_pool(config.data)
  log(f"Audit pool: {config.data.name}, {len(dataset)} examples; {config.runs} runs, "
      f"{config.design.kind} design.")
  scores, masks, losses = train_and_score(config, dataset, show_progress=show_progress, log=log)
  multi, one = estimate_both(config, scores, masks, show_progress=show_progress)
  output_dir = Path(output_dir or Path("results") / config.name)
  write_results(output_dir, config, multi, one, losses,
                elapsed_seconds=time.perf_counter() - start)
  return multi, one, output_dir


def default_config(**overrides) -> config_lib.ExperimentConfig:
  """The embedded default: 64 MLPs on digits, Bernoulli(1/2) inclusion."""
  return dataclasses.replace(config_lib.ExperimentConfig(), **overrides)
