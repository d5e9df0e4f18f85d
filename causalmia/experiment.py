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

from causalmia import attacks
from causalmia import config as config_lib
from causalmia import data as data_lib
from causalmia import designs
from causalmia import dpsgd
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


def load_population(config: config_lib.ExperimentConfig) -> data_lib.Dataset:
  """Loads RMIA's population: the `attack.population` rows right after the audit pool."""
  count = config.attack.population
  limit = config.data.limit
  dataset = load_pool(dataclasses.replace(config.data, limit=None))
  if count < 1:
    raise ValueError(f"score {config.score!r} needs attack.population >= 1 held-out examples.")
  if limit is None or limit + count > len(dataset):
    raise ValueError(
        f"attack.population = {count} needs rows after the audit pool: set data.limit so that "
        f"data.limit + attack.population <= {len(dataset)} (the data set's size); "
        f"data.limit is {limit}."
    )
  return dataset.subset(np.arange(limit, limit + count))


def build_design(design: config_lib.DesignConfig) -> designs.Design:
  if design.kind == "complete":
    if design.num_included is None:
      raise ValueError("design.num_included must be set for the 'complete' design.")
    return designs.Complete(design.num_included)
  return designs.from_config(design.kind, design.p)


def train_config(settings: config_lib.TrainSettings, dataset: data_lib.Dataset,
                 **dp_batching) -> training.TrainConfig:
  """Builds the `TrainConfig` of `settings`. DP-SGD also needs the `dp_batching` of the runs."""
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
      dp_noise_multiplier=settings.dp_noise_multiplier,
      dp_clip_norm=settings.dp_clip_norm,
      dp_sampling=settings.dp_sampling,
      **dp_batching,
  )


def dp_batching(settings: config_lib.TrainSettings, design: designs.Design, masks) -> dict:
  """DP-SGD's `dp_sampling_rate` and `dp_max_batch_size` for these runs (empty without DP).

  The rate is q = batch_size / (expected number of included examples), fixed
  by the design before any data is seen. The Poisson padding fits the
  largest run's batches at every step except with probability 1e-12.
  """
  if settings.dp_noise_multiplier is None:
    return {}
  num_examples = masks.shape[1]
  expected = design.inclusion_probability(num_examples) * num_examples
  rate = min(1.0, settings.batch_size / expected)
  max_batch = None
  if settings.dp_sampling == "poisson":
    max_included = int(np.asarray(masks).sum(axis=1).max())
    max_batch = dpsgd.poisson_max_batch_size(max_included + 1, rate, settings.steps)
  return {"dp_sampling_rate": rate, "dp_max_batch_size": max_batch}


def privacy_report(config: config_lib.ExperimentConfig, dataset, masks) -> dict | None:
  """Computes the accountant's guarantee of each run (`dpsgd.account`); None without DP-SGD."""
  if config.train.dp_noise_multiplier is None:
    return None
  settings = train_config(config.train, dataset,
                          **dp_batching(config.train, build_design(config.design), masks))
  return dpsgd.account(settings, delta=config.train.dp_delta,
                       max_included=int(np.asarray(masks).sum(axis=1).max()),
                       accountant=config.train.dp_accountant)


def _score(config, settings, dataset, params, masks):
  """`[runs, examples]` scores of a per-model score or of a reference-model attack."""
  model = models.build_model(settings.model, settings.num_outputs)
  if config.score not in attacks.ATTACKS:
    return scores_lib.score_runs(
        scores_lib.get_score(config.score), model.apply, params, dataset.inputs, dataset.labels,
        regression=settings.regression,
    )
  if settings.regression:
    raise ValueError(f"score {config.score!r} needs class probabilities; the data set "
                     f"{config.data.name!r} is a regression task. Use 'loss'.")
  population = load_population(config) if config.score.startswith("rmia") else None
  return attacks.attack_scores(
      config.score, model.apply, params, dataset.inputs, dataset.labels, masks,
      population_inputs=None if population is None else population.inputs,
      population_labels=None if population is None else population.labels,
      variance=config.attack.variance, gamma=config.attack.gamma,
      offline_a=config.attack.offline_a,
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
  settings = train_config(config.train, dataset, **dp_batching(config.train, design, masks))
  if config.score not in scores_lib.SCORES and config.score not in attacks.ATTACKS:
    raise ValueError(f"Unknown score {config.score!r}; expected one of "
                     f"{sorted(scores_lib.SCORES) + list(attacks.ATTACKS)}.")

  log(f"Compiling the training program for {config.chunk_size or config.runs} runs "
      "(the first call is slow)...")
  with tqdm(total=config.runs, desc="training", unit="run", disable=not show_progress) as bar:
    params, losses = training.train_many(
        train_key, masks, dataset.inputs, dataset.labels, settings,
        chunk_size=config.chunk_size, progress=bar.update,
    )
  training.check_finite_losses(losses)

  scores = _score(config, settings, dataset, params, masks)
  return np.asarray(scores), np.asarray(masks), np.asarray(losses)


def estimate_both(config: config_lib.ExperimentConfig, scores, masks, *, show_progress=True):
  """Computes the multi-run estimate over all runs and the one-run estimate of one run."""
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


def write_results(output_dir, config, multi, one, losses, *, elapsed_seconds: float,
                  privacy: dict | None = None) -> Path:
  """Writes results.json, the ROC figures, curves.npz and memorization.npz.

  With a `privacy` report (`privacy_report`), results.json stores it under
  "privacy" and the ROC figures shade the (epsilon, delta) region, with
  delta including the Poisson padding's truncation probability.
  """
  output_dir = Path(output_dir)
  payload = {
      "estimand": multi.estimand,
      "results": {"multi-run": multi.to_dict(), "one-run": one.to_dict()},
      "config": config_lib.to_dict(config),
      "training": {"final_loss_mean": float(np.mean(losses[:, -1]))},
      "privacy": _jsonable_privacy(privacy),
      "elapsed_seconds": elapsed_seconds,
      "versions": results_io.package_versions(),
  }
  results_io.write_json(output_dir / "results.json", payload)
  nonmember_rows = multi.counts["nonmember_rows"]
  plotting.save_roc_figures(
      {_label("multi-run", multi): multi.curve,
       _label(f"one-run (run {config.estimate.one_run_index})", one): one.curve},
      output_dir / "roc", title=f"{config.name}: causal ROC",
      min_fpr=1.0 / max(nonmember_rows, 1), dp=_dp_region(privacy),
  )
  results_io.write_npz(output_dir / "memorization.npz",
                       memorization=multi.per_example["memorization"])
  results_io.write_npz(output_dir / "curves.npz",
                       multi_run_fpr=multi.curve["fpr"], multi_run_tpr=multi.curve["tpr"],
                       one_run_fpr=one.curve["fpr"], one_run_tpr=one.curve["tpr"])
  return output_dir


def _jsonable_privacy(privacy: dict | None):
  """Converts an infinite epsilon (no noise) in the privacy report to "inf" for strict JSON."""
  if privacy is None:
    return None
  return {key: "inf" if isinstance(value, float) and np.isinf(value) else value
          for key, value in privacy.items()}


def _dp_region(privacy: dict | None):
  """(epsilon, delta) to shade on ROC plots, or None when no finite epsilon is claimed."""
  if privacy is None or privacy.get("epsilon") is None or not np.isfinite(privacy["epsilon"]):
    return None
  return privacy["epsilon"], privacy["delta_with_truncation"]


def _label(name: str, result) -> str:
  auc = result["auc"]
  return f"{name}, AUC {auc.value:.3f} [{auc.ci_low:.3f}, {auc.ci_high:.3f}]"


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
  privacy = privacy_report(config, dataset, masks)
  if privacy is not None and privacy["epsilon"] is not None:
    log(f"DP-SGD: epsilon = {privacy['epsilon']:.3g} at delta = {privacy['delta']:g} "
        f"({privacy['accountant']} accountant).")
  output_dir = Path(output_dir or Path("results") / config.name)
  write_results(output_dir, config, multi, one, losses,
                elapsed_seconds=time.perf_counter() - start, privacy=privacy)
  return multi, one, output_dir


def default_config(**overrides) -> config_lib.ExperimentConfig:
  """Returns the embedded default: 64 MLPs on digits, Bernoulli(1/2) inclusion."""
  return dataclasses.replace(config_lib.ExperimentConfig(), **overrides)
