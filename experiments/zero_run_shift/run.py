"""Zero-run estimates under a constructed covariate shift, against a randomized multi-run oracle.

1. An audit pool of real images (the CIFAR-10 arrays, or scikit-learn's
   digits when they are absent). Each image joins the training set with a
   known probability that rises with a class group (vehicles for CIFAR-10,
   digits 0-4 for digits) and with the image's brightness, so members and
   non-members differ in both, with partial overlap.
2. One model trained on that member set and scored on the whole pool. The
   naive comparison is set against the IPW, G-formula and AIPW estimates of
   the causal AUC, TPR at 1% FPR and advantage, adjusted for the class and
   the image statistics.
3. Two randomized oracles on the same pool, each from R more models:
   "oracle" is `multi_run` under Bernoulli inclusion at the same overall
   rate; "design_oracle" draws each run's members from the same known
   propensities as the zero-run model and pools the runs with known
   inverse-propensity weights (a cluster bootstrap over runs gives its
   interval). The design oracle measures the same estimand as the zero-run
   estimators: the effect of inclusion in a training set composed like the
   zero-run model's. The Bernoulli oracle's training sets are composed
   differently, which changes how much the models memorize.
4. A table and figures with all estimates side by side.

Usage, from the repository root:

    .venv/bin/python experiments/zero_run_shift/run.py            # writes paper/zero_run/shift/
    .venv/bin/python experiments/zero_run_shift/run.py --smoke --output /tmp/shift
"""

import argparse
import copy
import json
import sys
import time
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from causalmia import data as data_lib
from causalmia import designs
from causalmia import models
from causalmia import plotting
from causalmia import propensity_plot
from causalmia import results_io
from causalmia import scores as scores_lib
from causalmia import training
from causalmia.errors import LowOverlapWarning
from causalmia.estimate import bootstrap
from causalmia.estimate import multi_run
from causalmia.estimate import zero_run
from causalmia.metrics import _kernel
from causalmia.metrics import roc
from causalmia.metrics import summary as summary_lib

REPOSITORY = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("config.json")
ESTIMATORS = ("naive", "ipw", "gformula", "aipw", "aipw_bootstrap", "design_oracle", "oracle")
SHOWN_METRICS = ("auc", "tpr@0.01", "advantage")


def load_settings(path: Path, smoke: bool) -> dict:
  """Reads the config and merges its "smoke" section in when `smoke` is set."""
  settings = json.loads(path.read_text())
  overrides = settings.pop("smoke", {})
  if smoke:
    _merge(settings, overrides)
  return settings


def _merge(base: dict, overrides: dict) -> None:
  for key, value in overrides.items():
    if isinstance(value, dict) and isinstance(base.get(key), dict):
      _merge(base[key], value)
    else:
      base[key] = copy.deepcopy(value)


def load_pool(settings: dict, data_dir: str | None):
  """Loads the audit pool and describes its source; digits when the CIFAR-10 file is absent."""
  data = settings["data"]
  path = Path(data_dir) if data_dir else REPOSITORY / data["path"]
  if path.exists():
    dataset = data_lib.load_cifar10(path, split="train", limit=data["limit"])
    group_classes = data["cifar10_group_classes"]
    source = f"CIFAR-10 ({dataset.name}), first {len(dataset)} training images"
  else:
    dataset = data_lib.load_digits()
    rows = np.random.default_rng(settings["seed"]).permutation(len(dataset))[: data["limit"]]
    dataset = dataset.subset(np.sort(rows))
    group_classes = data["digits_group_classes"]
    source = f"scikit-learn digits, {len(dataset)} images ({path} not found)"
  return dataset, np.isin(dataset.labels, group_classes), source


def adjustment_covariates(dataset, group) -> tuple[np.ndarray, tuple[str, ...]]:
  """Class indicators (class 0 left out) and the image statistics of the loader."""
  classes = np.arange(1, dataset.num_classes)
  indicators = (dataset.labels[:, None] == classes[None, :]).astype(np.float64)
  covariates = np.concatenate([indicators, dataset.covariates[:, :2].astype(np.float64)], axis=1)
  names = tuple(f"class_{c}" for c in classes) + dataset.covariate_names[:2]
  del group
  return covariates, names


def membership_propensity(settings: dict, dataset, group) -> np.ndarray:
  """Computes the known rule logit e = a + group_effect * group + brightness_effect * z(brightness).

  The intercept a is solved so that the mean propensity equals the rate.
  """
  rule = settings["membership"]
  brightness = dataset.covariates[:, 0].astype(np.float64)
  z = (brightness - brightness.mean()) / brightness.std()
  slope = rule["group_effect"] * group + rule["brightness_effect"] * z

  def gap(intercept):
    return np.mean(1 / (1 + np.exp(-(intercept + slope)))) - rule["rate"]

  intercept = scipy.optimize.brentq(gap, -20, 20)
  return 1 / (1 + np.exp(-(intercept + slope)))


def train_config(settings: dict, dataset) -> training.TrainConfig:
  train = settings["train"]
  return training.TrainConfig(
      model=models.ModelConfig(train["model"], tuple(train["hidden"])),
      num_outputs=dataset.num_classes, optimizer=train["optimizer"],
      learning_rate=train["learning_rate"], steps=train["steps"],
      batch_size=train["batch_size"], weight_decay=train["weight_decay"])


def train_and_score(settings: dict, dataset, masks, key) -> tuple[np.ndarray, np.ndarray]:
  """Trains one model per row of `masks`; returns `[runs, examples]` scores and final losses."""
  config = train_config(settings, dataset)
  params, losses = training.train_many(key, masks, dataset.inputs, dataset.labels, config,
                                       chunk_size=settings["chunk_size"])
  training.check_finite_losses(losses)
  model = models.build_model(config.model, config.num_outputs)
  scores = scores_lib.score_runs(scores_lib.get_score(settings["score"]), model.apply, params,
                                 dataset.inputs, dataset.labels)
  return np.asarray(scores), np.asarray(losses)[:, -1]


def estimate_all(settings: dict, scores, members, covariates, names, key, progress=print):
  """Naive, IPW, G-formula and AIPW zero-run estimates of one model's scores."""
  options = settings["estimate"]
  common = dict(fpr=tuple(options["fpr"]), confidence=options["confidence"],
                covariate_names=names, key=key)
  adjusted = dict(folds=options["folds"], thresholds=options["thresholds"], **common)
  results = {}
  progress("Estimating: naive and IPW (bootstrap with propensity refits)...")
  results["naive"] = zero_run(scores, members, covariates, method="naive",
                              num_replicates=options["num_replicates"], **common)
  results["ipw"] = zero_run(scores, members, covariates, method="ipw",
                            num_replicates=options["num_replicates"], **adjusted)
  progress("Estimating: G-formula (bootstrap with outcome-model refits)...")
  results["gformula"] = zero_run(scores, members, covariates, method="gformula",
                                 num_replicates=options["gformula_replicates"], **adjusted)
  progress("Estimating: AIPW (influence-function intervals)...")
  results["aipw"] = zero_run(scores, members, covariates, method="aipw",
                             interval="influence", **adjusted)
  if options["aipw_replicates"]:
    progress("Estimating: AIPW (bootstrap with both models refit)...")
    results["aipw_bootstrap"] = zero_run(scores, members, covariates, method="aipw",
                                         num_replicates=options["aipw_replicates"], **adjusted)
  return results


def design_oracle(scores, masks, propensity, fprs, confidence, num_replicates, key) -> dict:
  """Pooled estimate over runs whose members were drawn with known propensities.

  Every (run, example) pair is weighted by `1 / e` when included and by
  `1 / (1 - e)` otherwise, which makes the Hajek-weighted pooled ROC
  consistent for the causal ROC of the pool under that design. The interval
  comes from a cluster bootstrap over runs with those weights as base weights.
  """
  runs, examples = masks.shape
  flat_scores = jnp.asarray(scores.reshape(-1), jnp.float32)
  flat_masks = jnp.asarray(masks.reshape(-1))
  tiled = np.tile(propensity, runs)
  weights = np.where(masks.reshape(-1), 1 / tiled, 1 / (1 - tiled)).astype(np.float32)
  sorted_scores = _kernel.sort_scores(flat_scores, flat_masks)
  sorted_weights = jnp.asarray(weights)[sorted_scores.order]
  points = _kernel.curve_points(sorted_scores, sorted_weights)
  values = np.asarray(summary_lib.summarize(points, fprs, "step"))
  names = summary_lib.metric_names(fprs)
  low = high = np.full(len(names), np.nan)
  if num_replicates:
    run_of_row = jnp.repeat(jnp.arange(runs), examples)[sorted_scores.order]
    replicates = bootstrap.replicate_metrics(
        key, sorted_scores, bootstrap.ClusterSampler(run_of_row, runs), num_replicates,
        fprs=fprs, convention="step", base_weights=sorted_weights)
    low, high, _ = bootstrap.percentile_interval(replicates, confidence)
  fpr, tpr, _ = roc.roc_curve(np.asarray(flat_scores), masks.reshape(-1), weights)
  metrics = {name: {"value": _number(values[i]), "ci_low": _number(low[i]),
                    "ci_high": _number(high[i])} for i, name in enumerate(names)}
  metrics["interval_method"] = ("percentile cluster bootstrap over runs, known inverse-"
                                "propensity weights" if num_replicates else "none")
  return {"metrics": metrics, "curve": {"fpr": fpr, "tpr": tpr}}


def _number(value: float) -> float | None:
  return None if value is None or np.isnan(value) else float(value)


def summarize(results: dict) -> dict:
  """JSON-ready metrics of every estimator: value and interval (None where undefined)."""
  summary = {}
  for name, result in results.items():
    summary[name] = {metric: {"value": _number(m.value), "ci_low": _number(m.ci_low),
                              "ci_high": _number(m.ci_high)}
                     for metric, m in result.metrics.items()}
    summary[name]["interval_method"] = result.interval_method
  return summary


def _cell(entry: dict) -> str:
  text = lambda value: "n/a" if value is None else f"{value:.3f}"  # noqa: E731
  return f"{text(entry['value'])} [{text(entry['ci_low'])}, {text(entry['ci_high'])}]"


def markdown_table(summary: dict) -> str:
  """Formats a table with rows of estimators and columns of metrics, each `value [low, high]`."""
  header = "| estimator | " + " | ".join(SHOWN_METRICS) + " | interval |"
  lines = [header, "|" + " --- |" * (len(SHOWN_METRICS) + 2)]
  for name in ESTIMATORS:
    if name not in summary:
      continue
    cells = [_cell(summary[name][metric]) for metric in SHOWN_METRICS]
    lines.append(f"| {name} | " + " | ".join(cells) + f" | {summary[name]['interval_method']} |")
  return "\n".join(lines)


def draw_estimates(summary: dict, path: Path, title: str) -> str:
  """Point estimates with intervals, one panel per metric, the oracle as a shaded band."""
  import matplotlib.pyplot as plt

  shown = [name for name in ESTIMATORS if name in summary]
  fig, axes = plt.subplots(1, len(SHOWN_METRICS), figsize=(10, 3.4), dpi=120, sharey=True)
  positions = np.arange(len(shown))[::-1]
  for ax, metric in zip(axes, SHOWN_METRICS):
    oracle = summary["design_oracle"][metric]
    if oracle["ci_low"] is not None:
      ax.axvspan(oracle["ci_low"], oracle["ci_high"], color="tab:green", alpha=0.15)
    ax.axvline(oracle["value"], color="tab:green", lw=1)
    for position, name in zip(positions, shown):
      entry = summary[name][metric]
      color = {"naive": "tab:red", "design_oracle": "tab:green", "oracle": "tab:gray"}.get(
          name, "tab:blue")
      error = None
      if entry["ci_low"] is not None:
        error = [[entry["value"] - entry["ci_low"]], [entry["ci_high"] - entry["value"]]]
      ax.errorbar(entry["value"], position, xerr=error, fmt="o", color=color, capsize=3)
    ax.set_title(metric, fontsize=9)
    ax.grid(alpha=0.3)
  axes[0].set_yticks(positions)
  axes[0].set_yticklabels(shown)
  fig.suptitle(title, fontsize=9)
  fig.tight_layout()
  results_io.write_figure(path, lambda target: fig.savefig(target, format="png"))
  plt.close(fig)
  return str(path)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default=str(CONFIG), help="settings file (JSON)")
  parser.add_argument("--output", help="results and figures folder (default: paper/zero_run/shift)")
  parser.add_argument("--data-dir", help="CIFAR-10 .npz file or folder (default: from config)")
  parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check the pipeline")
  parser.add_argument("--quiet", action="store_true", help="print less")
  args = parser.parse_args(argv)
  settings = load_settings(Path(args.config), args.smoke)
  output = Path(args.output or REPOSITORY / "paper" / "zero_run" / "shift")
  log = (lambda *_: None) if args.quiet else print

  start = time.perf_counter()
  dataset, group, source = load_pool(settings, args.data_dir)
  print(f"Data: {source}.")
  root = jax.random.key(settings["seed"])
  (membership_key, train_key, oracle_masks_key, estimate_key, oracle_key, design_masks_key,
   design_key) = jax.random.split(root, 7)
  propensity = membership_propensity(settings, dataset, group)
  members = np.asarray(jax.random.uniform(membership_key, propensity.shape)) < propensity
  covariates, names = adjustment_covariates(dataset, group)

  # The zero-run model is run 0 of one batch with both oracles' runs, so that
  # training compiles once; run r uses the key fold_in(train_key, r).
  runs = settings["oracle_runs"]
  design = designs.Bernoulli(settings["membership"]["rate"])
  oracle_masks = np.asarray(designs.sample_masks(oracle_masks_key, design, len(dataset), runs))
  design_masks = np.asarray(jax.random.uniform(design_masks_key, (runs, len(dataset)))) < propensity
  log(f"Training 1 + 2 x {runs} models: the non-random member set, the Bernoulli oracle's runs "
      "and the design oracle's runs (the first call compiles)...")
  all_masks = np.concatenate([members[None], oracle_masks, design_masks])
  all_scores, final_losses = train_and_score(settings, dataset, all_masks, train_key)
  scores = all_scores[0]
  oracle_scores, design_scores = all_scores[1:runs + 1], all_scores[runs + 1:]
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", LowOverlapWarning)
    results = estimate_all(settings, scores, members, covariates, names, estimate_key, log)
  results["oracle"] = multi_run(oracle_scores, oracle_masks,
                                fpr=tuple(settings["estimate"]["fpr"]),
                                num_replicates=settings["estimate"]["oracle_replicates"],
                                key=oracle_key)

  options = settings["estimate"]
  matched = design_oracle(design_scores, design_masks, propensity, tuple(options["fpr"]),
                          options["confidence"], options["oracle_replicates"], design_key)
  summary = summarize(results)
  summary["design_oracle"] = matched["metrics"]
  short = source.split(",")[0]
  figures = [Path(draw_estimates(summary, output / "estimates.png",
                                 f"{short}: zero-run estimates vs randomized oracle")).name]
  curves = {name: results[name].curve for name in ESTIMATORS if name in results}
  curves["design_oracle"] = matched["curve"]
  figures += [Path(p).name for p in plotting.save_roc_figures(
      curves, output / "roc", title=f"{short}: ROC of each estimator",
      min_fpr=1.0 / max(int((~members).sum()), 1))]
  figures.append(Path(propensity_plot.save_propensity_histogram(
      results["aipw"].per_example["propensity"], members, output / "propensity_histogram.png",
      title=f"{short}: cross-fitted propensity by group")).name)
  table = markdown_table(summary)

  diagnostics = results["aipw"].diagnostics
  results_io.write_json(output / "results.json", {
      "settings": settings, "source": source,
      "membership": {
          "members": int(members.sum()), "rows": int(members.size),
          "true_propensity_range": [float(propensity.min()), float(propensity.max())],
          "share_true_propensity_outside_0.05_0.95": float(np.mean(
              (propensity < 0.05) | (propensity > 0.95))),
      },
      "final_training_loss": {
          "zero_run_model": float(final_losses[0]),
          "oracle_mean": float(np.mean(final_losses[1:runs + 1])),
          "design_oracle_mean": float(np.mean(final_losses[runs + 1:])),
      },
      "estimates": summary,
      "diagnostics": {
          "effective_sample_size": diagnostics["effective_sample_size"],
          "standardized_mean_differences": diagnostics["standardized_mean_differences"],
          "propensity_quantiles": diagnostics["propensity_quantiles"],
          "projection": diagnostics.get("projection"),
          "overlap": diagnostics["overlap"],
      },
      "notes": {name: list(result.notes) for name, result in results.items()},
      "warnings": sorted({str(w.message) for w in caught}),
      "figures": figures, "table": table,
      "elapsed_seconds": time.perf_counter() - start,
      "versions": results_io.package_versions(),
  })
  print(table)
  print(f"Results written to {output}/ in {time.perf_counter() - start:.0f} s")
  return 0


if __name__ == "__main__":
  sys.exit(main())
