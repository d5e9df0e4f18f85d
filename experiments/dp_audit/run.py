"""Membership leakage under DP-SGD: causal ROC curves inside DP regions, and audits.

For the non-private setting and each DP-SGD noise multiplier in config.json:

1. trains R models under Bernoulli(p) inclusion of an audit pool and
   estimates the multi-run causal ROC and AUC of the loss, LiRA and RMIA
   scores, drawn inside the accountant's (epsilon, delta) region;
2. trains one more model on a member set chosen by class. In this zero-run
   split, membership depends on a covariate that also moves the score. The
   study compares its naive ROC with the DP region and with the estimate
   adjusted by inverse-probability weights of the per-class member
   fractions;
3. audits epsilon from below with the one-run bound of Steinke, Nasr and
   Jagielski (2023) on the randomized runs, next to the accountant's value.

The pool is CIFAR-10 (the `data.cifar10` path, relative to the repository
root) when present, otherwise scikit-learn's digits.

Usage, from the repository root:

    .venv/bin/python experiments/dp_audit/run.py               # writes paper/dp_audit/
    .venv/bin/python experiments/dp_audit/run.py --smoke --output /tmp/dp_audit
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import jax
import numpy as np

from causalmia import attacks
from causalmia import audit
from causalmia import config as config_lib
from causalmia import data as data_lib
from causalmia import designs
from causalmia import dpsgd
from causalmia import experiment
from causalmia import metrics
from causalmia import models
from causalmia import plotting
from causalmia import results_io
from causalmia import scores as scores_lib
from causalmia import training
from causalmia.errors import MissingReferenceWarning
from causalmia.estimate import multi_run

REPOSITORY = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("config.json")
SCORES = ("loss", "lira", "rmia")


def load_settings(path: Path, smoke: bool) -> dict:
  """Reads config.json; with `smoke`, its "smoke" table overrides the values it names."""
  settings = json.loads(Path(path).read_text(encoding="utf-8"))
  overrides = settings.pop("smoke", {})
  if smoke:
    for key, value in overrides.items():
      if isinstance(value, dict):
        settings[key] = {**settings[key], **value}
      else:
        settings[key] = value
  return settings


def load_data(settings: dict, data_dir=None):
  """Loads the audit pool, RMIA's population (never trained on) and a description of both."""
  pool_size, population_size = settings["data"]["pool"], settings["data"]["population"]
  path = Path(data_dir) if data_dir else REPOSITORY / settings["data"]["cifar10"]
  if path.exists():
    pool = data_lib.load_cifar10(path, split="train", limit=pool_size)
    population = data_lib.load_cifar10(path, split="test", limit=population_size)
    source = f"CIFAR-10 ({pool.name}): first {len(pool)} training and {len(population)} test images"
  else:
    digits = data_lib.load_digits()
    if pool_size + population_size > len(digits):
      raise ValueError(f"digits has {len(digits)} examples, fewer than pool + population = "
                       f"{pool_size + population_size}.")
    pool = digits.subset(np.arange(pool_size))
    population = digits.subset(np.arange(pool_size, pool_size + population_size))
    source = (f"scikit-learn digits (no CIFAR-10 at {path}): {len(pool)} pool, "
              f"{len(population)} population")
  return pool, population, source


def class_rule_mask(key, labels, rule: dict) -> np.ndarray:
  """Zero-run members: each example of a favored class with one rate, the others with another."""
  favored = np.isin(labels, rule["favored_classes"])
  rates = np.where(favored, rule["rate_favored"], rule["rate_other"])
  return np.asarray(jax.random.uniform(key, labels.shape)) < rates


def train_setting(settings, noise, pool, inputs, masks, key):
  """Trains one model per mask row at noise multiplier `noise` (None: non-private)."""
  train = settings["train"]
  train_settings = config_lib.TrainSettings(
      model=train["model"], hidden=tuple(train["hidden"]), optimizer=train["optimizer"],
      learning_rate=train["learning_rate"], steps=train["steps"],
      batch_size=train["batch_size"], dp_noise_multiplier=noise,
      dp_clip_norm=train["dp_clip_norm"], dp_delta=train["dp_delta"],
  )
  design = designs.Bernoulli(settings["inclusion_probability"])
  config = experiment.train_config(train_settings, pool,
                                   **experiment.dp_batching(train_settings, design, masks))
  params, losses = training.train_many(key, masks, inputs, pool.labels, config)
  training.check_finite_losses(losses)
  privacy = None
  if config.private:
    privacy = dpsgd.account(config, delta=train["dp_delta"],
                            max_included=int(masks.sum(axis=1).max()))
  return config, params, privacy


def attack_scores(apply_fn, params, inputs, labels, masks, population_inputs, population_labels):
  """Computes `[runs, examples]` loss, LiRA (online, per-example variance) and RMIA scores."""
  log_probs = scores_lib.score_runs(scores_lib.negative_loss, apply_fn, params, inputs, labels)
  confidences = scores_lib.score_runs(scores_lib.logit_confidence, apply_fn, params, inputs,
                                      labels)
  population = scores_lib.score_runs(scores_lib.negative_loss, apply_fn, params,
                                     population_inputs, population_labels)
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", MissingReferenceWarning)
    scores = {
        "loss": np.asarray(log_probs),
        "lira": attacks.lira(np.asarray(confidences), masks),
        "rmia": attacks.rmia(np.asarray(log_probs), masks, np.asarray(population)),
    }
  return scores, [str(w.message) for w in caught]


def one_run_audits(scores, masks, audit_settings, delta) -> dict:
  """One-run epsilon lower bounds: declared run 0, and the best run with Bonferroni over runs.

  In each run the top `guess_fraction / 2` of the pool by score are guessed
  members and the bottom as many non-members; the rest are abstentions.
  Ties are broken by example index, which is independent of membership.
  """
  runs, examples = scores.shape
  per_side = max(1, int(audit_settings["guess_fraction"] * examples / 2))
  confidence = audit_settings["confidence"]
  corrected = 1 - (1 - confidence) / runs
  correct = []
  for r in range(runs):
    order = np.argsort(scores[r], kind="stable")
    correct.append(int(masks[r, order[-per_side:]].sum() + (~masks[r, order[:per_side]]).sum()))
  guesses = 2 * per_side
  return {
      "guesses": guesses,
      "correct_run0": correct[0],
      "epsilon_run0": audit.one_run_epsilon_lower_bound(guesses, correct[0],
                                                        confidence=confidence),
      "epsilon_run0_delta": audit.one_run_epsilon_lower_bound(
          guesses, correct[0], confidence=confidence, delta=delta, n_canaries=examples),
      "epsilon_best_run_bonferroni": max(
          audit.one_run_epsilon_lower_bound(guesses, c, confidence=corrected) for c in correct),
  }


def dp_max_auc(epsilon: float, delta: float) -> float:
  """Largest AUC of a curve inside the (epsilon, delta) region: the area under its boundary."""
  fpr = np.linspace(0.0, 1.0, 20001)
  boundary = np.minimum.reduce([np.exp(epsilon) * fpr + delta,
                                1 - np.exp(-epsilon) * (1 - fpr - delta), np.ones_like(fpr)])
  return float(np.trapezoid(np.clip(boundary, 0, 1), fpr))


def points_outside(curve, region) -> dict | None:
  """Counts ROC vertices outside the (epsilon, delta) region and how close to the ends they are.

  A vertex (f, t) is outside when t > e^eps f + delta (a TPR too high for
  its FPR) or 1 - f > e^eps (1 - t) + delta (an FNR too low for its true
  negative rate). The first happens near FPR 0 and the second near FNR 0,
  where a point estimate rests on a handful of pairs and can cross by
  chance, so the largest FPR and FNR among the crossings are reported.
  """
  if region is None:
    return None
  epsilon, delta = region
  fpr, tpr = np.asarray(curve["fpr"], float), np.asarray(curve["tpr"], float)
  slack = 1e-9  # Rounding of the rates.
  high_tpr = tpr > np.exp(epsilon) * fpr + delta + slack
  low_fnr = 1 - fpr > np.exp(epsilon) * (1 - tpr) + delta + slack
  return {
      "vertices": int(fpr.size),
      "outside": int((high_tpr | low_fnr).sum()),
      "largest_fpr_with_tpr_too_high": float(fpr[high_tpr].max()) if high_tpr.any() else None,
      "largest_fnr_with_fnr_too_low": float((1 - tpr)[low_fnr].max()) if low_fnr.any() else None,
  }


def zero_run_estimates(scores, members, labels, delta, fpr: float) -> dict:
  """Naive and class-adjusted (IPW) ROC of one model on a class-dependent member set.

  The propensity of an example is its class's member fraction, which is
  exact stratification for a class-based rule. Classes with only members or
  only non-members have no overlap; they get weight 0 and are counted.
  """
  member_rate = {c: members[labels == c].mean() for c in np.unique(labels)}
  propensity = np.array([member_rate[c] for c in labels])
  overlap = (propensity > 0) & (propensity < 1)
  safe = np.where(overlap, propensity, 0.5)
  weights = np.where(overlap, np.where(members, 1 / safe, 1 / (1 - safe)), 0.0)
  naive_fpr, naive_tpr, _ = metrics.roc_curve(scores, members)
  ipw_fpr, ipw_tpr, _ = metrics.roc_curve(scores, members, weights)
  return {
      "naive_auc": metrics.roc_auc(scores, members),
      "ipw_auc": metrics.roc_auc(scores, members, weights),
      "fpr": fpr,
      "naive_tpr": metrics.tpr_at_fpr(scores, members, fpr),
      "ipw_tpr": metrics.tpr_at_fpr(scores, members, fpr, weights),
      "naive_curve": {"fpr": naive_fpr, "tpr": naive_tpr},
      "ipw_curve": {"fpr": ipw_fpr, "tpr": ipw_tpr},
      "naive_epsilon_lower_bound": audit.epsilon_lower_bound(
          scores[members], scores[~members], delta=delta, threshold_rule="bonferroni"),
      "members": int(members.sum()),
      "propensity_range": [float(propensity[overlap].min()), float(propensity[overlap].max())],
      "classes_without_overlap": int(sum(not 0 < rate < 1 for rate in member_rate.values())),
  }


def _label(noise) -> str:
  return "non-private" if noise is None else f"sigma={noise:g}"


def _file_label(noise) -> str:
  return "nonprivate" if noise is None else f"sigma{noise:g}".replace(".", "p")


def study_setting(settings, noise, data, keys, output: Path, log) -> dict:
  """Trains, scores, estimates, audits and plots one training setting."""
  pool, population, inputs, population_inputs, masks, zero_mask = data
  runs = masks.shape[0]
  start = time.perf_counter()
  config, params, privacy = train_setting(settings, noise, pool, inputs,
                                          np.concatenate([masks, zero_mask[None]]), keys["train"])
  model = models.build_model(config.model, config.num_outputs)
  multi_params = jax.tree.map(lambda leaf: leaf[:runs], params)
  zero_params = jax.tree.map(lambda leaf: leaf[runs:], params)
  scores, fallbacks = attack_scores(model.apply, multi_params, inputs, pool.labels, masks,
                                    population_inputs, population.labels)
  logits = jax.vmap(model.apply, in_axes=(0, None))(multi_params, population_inputs)
  accuracy = float(np.mean(np.asarray(logits).argmax(-1) == population.labels))

  delta = settings["train"]["dp_delta"]
  epsilon = None if privacy is None else privacy["epsilon"]
  region = None if privacy is None else (privacy["epsilon"], privacy["delta_with_truncation"])
  estimate = settings["estimate"]
  results, curves = {}, {}
  for index, name in enumerate(SCORES):
    result = multi_run(scores[name], masks, fpr=tuple(estimate["fpr"]),
                       num_replicates=estimate["num_replicates"],
                       key=jax.random.fold_in(keys["bootstrap"], index))
    results[name] = {"estimate": result.to_dict(),
                     "audit": one_run_audits(scores[name], masks, settings["audit"], delta),
                     "outside_dp_region": points_outside(result.curve, region)}
    curves[name] = result.curve

  zero_scores = np.asarray(scores_lib.score_runs(
      scores_lib.negative_loss, model.apply, zero_params, inputs, pool.labels))[0]
  zero = zero_run_estimates(zero_scores, zero_mask, pool.labels, delta, estimate["fpr"][-1])
  zero["dp_max_tpr"] = None if region is None else min(
      1.0, float(np.exp(region[0])) * zero["fpr"] + region[1])
  zero["naive_outside_dp_region"] = points_outside(zero["naive_curve"], region)
  zero["ipw_outside_dp_region"] = points_outside(zero["ipw_curve"], region)
  label, stem = _label(noise), _file_label(noise)
  title = f"{label}" + ("" if epsilon is None else f", eps={epsilon:.2g}")
  plotting.save_roc_figures({f"{n} (multi-run)": c for n, c in curves.items()},
                            output / f"roc_{stem}", title=f"Causal ROC, {title}", dp=region,
                            min_fpr=1.0 / (~masks).sum())
  plotting.save_roc_figures(
      {"naive (class-based members)": zero["naive_curve"], "IPW by class": zero["ipw_curve"],
       "multi-run loss (randomized)": curves["loss"]},
      output / f"zero_run_{stem}", title=f"Zero-run split, {title}", dp=region,
      min_fpr=1.0 / (~zero_mask).sum())
  log(f"  {label}: epsilon={epsilon}, population accuracy {accuracy:.3f}, "
      f"{time.perf_counter() - start:.0f} s")
  zero.pop("naive_curve"), zero.pop("ipw_curve")
  return {"noise_multiplier": noise, "privacy": privacy, "population_accuracy": accuracy,
          "dp_max_auc": None if region is None else dp_max_auc(*region),
          "scores": results, "zero_run": zero, "fallback_warnings": fallbacks}


def epsilon_figure(settings_results, path: Path) -> None:
  """Accountant epsilon next to the audited lower bounds, one column per DP setting."""
  import matplotlib.pyplot as plt  # causalmia.plotting has selected the Agg backend.

  private = [s for s in settings_results if s["privacy"] is not None]
  if not private:
    return
  fig, ax = plt.subplots(figsize=(5.6, 4.6), dpi=120)
  positions = np.arange(len(private))
  ax.plot(positions, [s["privacy"]["epsilon"] for s in private], "k_", markersize=28, mew=2,
          label="accountant epsilon (upper bound)")
  markers = {"loss": "o", "lira": "s", "rmia": "^"}
  for offset, name in zip((-0.15, 0.0, 0.15), SCORES):
    ax.plot(positions + offset, [s["scores"][name]["audit"]["epsilon_run0"] for s in private],
            markers[name], label=f"one-run audit, {name} (run 0)")
  ax.plot(positions + 0.3, [s["zero_run"]["naive_epsilon_lower_bound"] for s in private], "rx",
          markersize=8, mew=2, label="naive zero-run 'bound' (confounded)")
  ax.set_xticks(positions, [_label(s["noise_multiplier"]) for s in private])
  # Linear below 1 so that a bound of 0 (no claim) stays on the axis.
  ax.set_yscale("symlog", linthresh=1.0)
  ax.set_ylim(0, 2 * max(s["privacy"]["epsilon"] for s in private))
  ax.set_ylabel("epsilon")
  ax.set_title("Audited lower bounds vs the accountant's epsilon", fontsize=9)
  ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
  ax.grid(alpha=0.3)
  fig.tight_layout()
  results_io.write_figure(path, lambda target: fig.savefig(target, format="png"))
  plt.close(fig)


def _number(value, digits=3) -> str:
  if value is None:
    return "-"
  return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def _outside_text(outside) -> str:
  if outside is None:
    return "-"
  ends = []
  for rate, key in (("FPR", "largest_fpr_with_tpr_too_high"),
                    ("FNR", "largest_fnr_with_fnr_too_low")):
    if outside[key] is not None:
      ends.append(f"at {rate} 0" if outside[key] == 0 else f"{rate} <= {outside[key]:.2g}")
  suffix = f" ({', '.join(ends)})" if ends else ""
  return f"{outside['outside']} of {outside['vertices']}{suffix}"


def markdown_tables(settings_results, fprs) -> str:
  """Formats the causal estimates, audits and zero-run comparison as Markdown tables."""
  tpr = f"tpr@{fprs[0]:g}"
  lines = ["| setting | epsilon | max AUC under DP | score | causal AUC [95% CI] | "
           f"{tpr} (step) [95% CI] | one-run eps lower bound (run 0 / best run) "
           "| ROC vertices outside DP region |",
           "|---|---|---|---|---|---|---|---|"]
  for s in settings_results:
    epsilon = None if s["privacy"] is None else s["privacy"]["epsilon"]
    for name in SCORES:
      metrics_ = s["scores"][name]["estimate"]["metrics"]
      auc, rate = metrics_["auc"], metrics_[tpr]
      found = s["scores"][name]["audit"]
      lines.append(
          f"| {_label(s['noise_multiplier'])} | {_number(epsilon)} | {_number(s['dp_max_auc'])} "
          f"| {name} | {auc['value']:.3f} [{auc['ci_low']:.3f}, {auc['ci_high']:.3f}] | "
          f"{rate['value']:.3f} [{rate['ci_low']:.3f}, {rate['ci_high']:.3f}] | "
          f"{found['epsilon_run0']:.3f} / {found['epsilon_best_run_bonferroni']:.3f} | "
          f"{_outside_text(s['scores'][name]['outside_dp_region'])} |")
  zero_fpr = settings_results[0]["zero_run"]["fpr"]
  lines += ["", "| setting | epsilon | population accuracy | zero-run naive AUC | IPW-adjusted AUC "
            f"| multi-run loss AUC | max AUC under DP | naive / IPW TPR@{zero_fpr:g} "
            f"| max TPR@{zero_fpr:g} under DP | naive Clopper-Pearson eps 'bound' "
            "| naive / IPW vertices outside DP region |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
  for s in settings_results:
    epsilon = None if s["privacy"] is None else s["privacy"]["epsilon"]
    zero = s["zero_run"]
    oracle = s["scores"]["loss"]["estimate"]["metrics"]["auc"]["value"]
    lines.append(f"| {_label(s['noise_multiplier'])} | {_number(epsilon)} | "
                 f"{s['population_accuracy']:.3f} | {zero['naive_auc']:.3f} | "
                 f"{zero['ipw_auc']:.3f} | {oracle:.3f} | {_number(s['dp_max_auc'])} | "
                 f"{zero['naive_tpr']:.3f} / {zero['ipw_tpr']:.3f} | "
                 f"{_number(zero['dp_max_tpr'])} | {zero['naive_epsilon_lower_bound']:.3f} | "
                 f"{_outside_text(zero['naive_outside_dp_region'])} / "
                 f"{_outside_text(zero['ipw_outside_dp_region'])} |")
  return "\n".join(lines) + "\n"


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default=str(CONFIG), help="study settings (JSON)")
  parser.add_argument("--smoke", action="store_true",
                      help="apply the config's 'smoke' sizes: a pipeline check in about a minute")
  parser.add_argument("--output", help="results folder (default: paper/dp_audit in the repository)")
  parser.add_argument("--data-dir", help="CIFAR-10 .npz file or folder, instead of the config's")
  args = parser.parse_args(argv)

  settings = load_settings(Path(args.config), args.smoke)
  output = Path(args.output) if args.output else REPOSITORY / "paper" / "dp_audit"
  start = time.perf_counter()
  pool, population, source = load_data(settings, args.data_dir)
  print(f"Data: {source}.")
  # A fixed shift by 0.5 centers pixel values without looking at the data.
  inputs = pool.inputs - np.float32(0.5)
  population_inputs = population.inputs - np.float32(0.5)

  root = jax.random.key(settings["seed"])
  masks_key, zero_key, train_key, bootstrap_key = jax.random.split(root, 4)
  design = designs.Bernoulli(settings["inclusion_probability"])
  masks = np.asarray(designs.sample_masks(masks_key, design, len(pool), settings["runs"]))
  zero_mask = class_rule_mask(zero_key, pool.labels, settings["zero_run"])
  data = (pool, population, inputs, population_inputs, masks, zero_mask)
  keys = {"train": train_key, "bootstrap": bootstrap_key}

  print(f"{settings['runs']} runs plus one zero-run model per setting; "
        "each setting compiles its training program first.")
  settings_results = [study_setting(settings, noise, data, keys, output, print)
                      for noise in settings["noise_multipliers"]]

  tables = markdown_tables(settings_results, settings["estimate"]["fpr"])
  epsilon_figure(settings_results, output / "epsilon.png")
  elapsed = time.perf_counter() - start
  payload = {"data": source, "settings": settings, "results": settings_results,
             "elapsed_seconds": elapsed, "versions": results_io.package_versions()}
  results_io.write_json(output / "results.json", _jsonable(payload))
  (output / "tables.md").write_text(tables, encoding="utf-8")
  print(tables)
  print(f"Done in {elapsed:.0f} s; results in {output}/")
  return 0


def _jsonable(value):
  if isinstance(value, dict):
    return {str(k): _jsonable(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_jsonable(v) for v in value]
  if isinstance(value, (np.floating, float)):
    value = float(value)
    return value if np.isfinite(value) else str(value)
  if isinstance(value, (np.integer, np.bool_)):
    return value.item()
  return value


if __name__ == "__main__":
  sys.exit(main())
