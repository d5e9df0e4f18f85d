"""Interference bias against the inclusion rate p and the penalty lambda, and its corrections.

For two ridge families of config.json (isotropic Gaussian inputs, where
every example interferes with every other, and block-structured inputs,
where examples interfere only within their group):

1. a sweep (`causalmia.sweep`) over p at fixed lambda and over lambda at
   fixed p gives, per setting, R one-run estimates, the design estimand
   (all R runs pooled), the exact no-interference estimand, the stability
   constant beta and the bound `beta p (N - 1)`;
2. per setting and repetition, two corrections: the design-rate
   extrapolation (rates p/4, p/2, 3p/4 and p, linear fit to 0) and the
   exposure adjustment of the rate-p run (cosine kernel for the isotropic
   family, same-group kernel for the block family). Their residual bias is
   compared with the uncorrected one;
3. a sweep over the base-set size n0 measures beta against its analytic
   order `1 / (lambda + (sqrt(n0) - sqrt(d))^2)`.

Usage, from the repository root:

    .venv/bin/python experiments/interference_bias/run.py       # writes paper/interference/interference_bias/
    .venv/bin/python experiments/interference_bias/run.py --smoke --output /tmp/bias
"""

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from causalmia import results_io  # noqa: E402
from causalmia import sweep  # noqa: E402
from causalmia.interference import _metrics  # noqa: E402
from causalmia.interference import exposure as exposure_lib  # noqa: E402
from causalmia.interference import extrapolation  # noqa: E402
from causalmia.interference import ridge  # noqa: E402
from causalmia.interference.studies import load_settings, mean_and_error  # noqa: E402
from causalmia.metrics import summary  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("config.json")
FRACTIONS = (0.25, 0.5, 0.75, 1.0)


def _correction(key, problem, labels, rate, regularization, *, num_groups, kernel, power, fprs):
  num_examples = problem.inputs.shape[0]
  rates = rate * jnp.asarray(FRACTIONS)
  masks = extrapolation.rate_masks(key, rates, num_examples)
  scores = ridge.run_scores(problem, masks, regularization)
  per_rate = _metrics.one_run_metrics(scores, masks, fprs, "step")
  extrapolated = extrapolation.polynomial_fit(rates, per_rate.T, 1)[:, 0]
  if kernel == "same_class":
    exposure = exposure_lib.same_class_exposure(masks[-1], labels, num_groups)
  else:
    exposure = exposure_lib.cosine_exposure(masks[-1], problem.inputs, power=power)
  adjusted, _ = exposure_lib.adjusted_metrics(
      exposure_lib.to_model_scale(scores[-1], "log_loss"), masks[-1], exposure, 0.0, fprs, "step")
  return {"one_run": per_rate[-1], "extrapolated": extrapolated, "exposure": adjusted,
          "exposure_std": jnp.std(exposure)}


# Repetitions are vmapped in chunks; settings and chunks are looped on the host.
_correction_chunk = jax.jit(
    lambda keys, problem, labels, rate, regularization, **options: jax.vmap(
        lambda k: _correction(k, problem, labels, rate, regularization, **options))(keys),
    static_argnames=("num_groups", "kernel", "power", "fprs"))


def corrections_fn(key, problem, labels, rates, penalties, *, repetitions, chunk, **options):
  """Corrections of every (rate, penalty) setting, `[settings, repetitions, ...]` arrays."""
  keys = jax.vmap(lambda r: jax.random.fold_in(key, r))(jnp.arange(repetitions))
  settings = []
  for rate, penalty in zip(rates, penalties):
    parts = []
    for first in range(0, repetitions, chunk):
      indices = np.minimum(np.arange(first, first + chunk), repetitions - 1)
      part = jax.device_get(_correction_chunk(keys[indices], problem, labels, rate, penalty,
                                              **options))
      parts.append(jax.tree.map(lambda a: a[: repetitions - first], part))
    settings.append(jax.tree.map(lambda *a: np.concatenate(a), *parts))
  return jax.tree.map(lambda *a: np.stack(a), *settings)


def run_family(family: dict, settings: dict, output: Path, log=print) -> list[dict]:
  """Sweeps one family over p and lambda, then adds the corrections' residual biases."""
  fprs = (settings["fpr"],)
  base = sweep.RidgeSetting(**{**settings["setting"], "num_groups": family["num_groups"]})
  rows = []
  for axis in ("inclusion_rate", "regularization"):
    config = sweep.SweepConfig(
        name=f"{family['name']}-{axis}", seed=settings["seed"], base=base,
        grid=((axis, tuple(settings["grid"][axis])),), fpr=fprs,
        run_batch=settings.get("run_batch"))
    results = sweep.run_sweep(config, output / "sweeps" / config.name, show_progress=False,
                              log=log)
    problem = sweep.build_problem(base)
    labels = jnp.asarray(problem_groups(base))
    rates = jnp.asarray([r["setting"]["inclusion_rate"] for r in results], jnp.float32)
    penalties = jnp.asarray([r["setting"]["regularization"] for r in results], jnp.float32)
    corrected = jax.device_get(corrections_fn(
        jax.random.fold_in(jax.random.key(settings["seed"]), 7), problem, labels, rates,
        penalties, repetitions=settings["repetitions"], chunk=settings["repetition_chunk"],
        num_groups=family["num_groups"],
        kernel=family["kernel"], power=float(family.get("power", 1.0)), fprs=fprs))
    for index, result in enumerate(results):
      rows.append(_row(family, axis, result, {k: v[index] for k, v in corrected.items()},
                       fprs))
  return rows


def problem_groups(setting: sweep.RidgeSetting) -> np.ndarray:
  from causalmia.data.synthetic import make_ridge_family

  _, audit, _ = make_ridge_family(
      setting.data_seed, num_base=setting.num_base, num_audit=setting.num_examples,
      num_features=setting.num_features, noise_std=setting.noise_std,
      num_groups=setting.num_groups)
  return audit.covariates[:, 0].astype(np.int32)


def _row(family, axis, result, corrected, fprs) -> dict:
  names = summary.metric_names(fprs)
  row = {"family": family["name"], "axis": axis, "setting": result["setting"],
         "no_interference": result["no_interference"], "design": result["multi_run"],
         "stability": result["stability"], "bound": result["bound"],
         "mean_score_bias": result["mean_score_bias"],
         "exposure_std": float(np.mean(corrected["exposure_std"])), "metrics": {}}
  for m, name in enumerate(names):
    reference = result["no_interference"][name]
    entry = {"one_run_sweep": mean_and_error(
        np.array([v for v in result["one_run"]["values"][name] if v is not None]) - reference)}
    for estimator in ("one_run", "extrapolated", "exposure"):
      entry[estimator] = mean_and_error(np.asarray(corrected[estimator])[:, m] - reference)
    bias, error = entry["one_run"]["mean"], entry["one_run"]["standard_error"]
    entry["bias_exceeds_error"] = bool(abs(bias) > 2 * error)
    for estimator in ("extrapolated", "exposure"):
      entry[f"{estimator}_removed_fraction"] = 1.0 - abs(entry[estimator]["mean"]) / abs(bias)
    row["metrics"][name] = entry
  return row


def run_stability(settings: dict, output: Path, log=print) -> dict:
  """beta over a grid of base-set sizes and penalties, with its analytic bound and order."""
  stability = settings["stability"]
  # beta and its bound do not depend on the runs, so few runs are enough here.
  base = sweep.RidgeSetting(**{**settings["setting"], "runs": stability["runs"]})
  config = sweep.SweepConfig(
      name="stability", seed=settings["seed"], base=base, fpr=(settings["fpr"],),
      grid=(("num_base", tuple(stability["num_base"])),
            ("regularization", tuple(stability["regularization"]))))
  results = sweep.run_sweep(config, output / "sweeps" / "stability", show_progress=False, log=log)
  points = []
  for result in results:
    setting = sweep.RidgeSetting(**result["setting"])
    bound = ridge.stability_bound(sweep.build_problem(setting), setting.regularization)
    # The bound's order uses the smallest eigenvalue of the base Gram matrix; the
    # typical order uses its average eigenvalue, close to n0 for standard inputs.
    order = 1.0 / (setting.regularization
                   + (np.sqrt(setting.num_base) - np.sqrt(setting.num_features)) ** 2)
    typical = 1.0 / (setting.regularization + setting.num_base)
    points.append({"num_base": setting.num_base, "regularization": setting.regularization,
                   "stability": result["stability"], "bound": bound["bound"], "order": order,
                   "typical_order": typical, "ratio_to_order": result["stability"] / order,
                   "ratio_to_typical_order": result["stability"] / typical})
  log_beta = np.log([p["stability"] for p in points])
  fits = {}
  for key in ("order", "typical_order"):
    log_order = np.log([p[key] for p in points])
    slope_fit, intercept = np.polyfit(log_order, log_beta, 1)
    fits[key] = {"slope": float(slope_fit), "intercept": float(intercept),
                 "correlation": float(np.corrcoef(log_order, log_beta)[0, 1])}
  return {"points": points, "order_fit": fits["order"], "typical_order_fit": fits["typical_order"]}


def draw_bias(rows, family_names, name, axis, output: Path) -> str:
  fig, axes = plt.subplots(1, len(family_names), figsize=(5.2 * len(family_names), 4.0), dpi=120,
                           squeeze=False)
  for ax, family in zip(axes[0], family_names):
    selected = [r for r in rows if r["family"] == family and r["axis"] == axis]
    x = np.array([r["setting"][axis] for r in selected])
    for estimator, label, style in (("one_run", "one-run (uncorrected)", "C1-o"),
                                    ("extrapolated", "design-rate extrapolation", "C2-s"),
                                    ("exposure", "exposure adjustment", "C3-^")):
      means = np.array([r["metrics"][name][estimator]["mean"] for r in selected])
      errors = np.array([r["metrics"][name][estimator]["standard_error"] for r in selected])
      ax.errorbar(x, means, yerr=2 * errors, fmt=style, ms=4, lw=1.2, capsize=2, label=label)
    ax.axhline(0.0, color="k", lw=0.8)
    if axis == "regularization":
      ax.set_xscale("log")
    ax.set_xlabel("inclusion rate p" if axis == "inclusion_rate" else "penalty lambda")
    ax.set_ylabel(f"bias of {name} vs no-interference")
    count = selected[0]["metrics"][name]["one_run"]["count"]
    ax.set_title(f"{family} inputs: mean bias +- 2 SE over {count} repetitions", fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
  fig.tight_layout()
  path = output / f"bias_{axis}_{name.replace('@', '_at_').replace('.', 'p')}.png"
  results_io.write_figure(path, lambda target: fig.savefig(target, format="png"))
  plt.close(fig)
  return str(path)


def draw_bound(rows, family_names, output: Path) -> str:
  fig, axes = plt.subplots(1, 2, figsize=(10.4, 4.0), dpi=120)
  for ax, axis in zip(axes, ("inclusion_rate", "regularization")):
    for color, family in zip(("C0", "C4"), family_names):
      selected = [r for r in rows if r["family"] == family and r["axis"] == axis]
      x = np.array([r["setting"][axis] for r in selected])
      ax.plot(x, [r["bound"] for r in selected], color=color, ls="--",
              label=f"{family}: bound beta p (N-1)")
      for group, marker in (("members", "o"), ("nonmembers", "s")):
        ax.plot(x, [abs(r["mean_score_bias"][group]) for r in selected], color=color,
                marker=marker, lw=1.0, label=f"{family}: |mean-score bias|, {group}")
    if axis == "regularization":
      ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("inclusion rate p" if axis == "inclusion_rate" else "penalty lambda")
    ax.set_ylabel("score units (negated squared residual)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=6)
  fig.suptitle("Mean-score interference bias and the stability bound", fontsize=10)
  fig.tight_layout()
  path = output / "bound.png"
  results_io.write_figure(path, lambda target: fig.savefig(target, format="png"))
  plt.close(fig)
  return str(path)


def draw_stability(stability: dict, output: Path) -> str:
  points = stability["points"]
  fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.2), dpi=120)
  sizes = sorted({p["num_base"] for p in points})
  for index, num_base in enumerate(sizes):
    selected = [p for p in points if p["num_base"] == num_base]
    lam = np.array([p["regularization"] for p in selected])
    color = f"C{index}"
    left.plot(lam, [p["stability"] for p in selected], "o-", color=color, ms=4,
              label=f"measured beta, n0 = {num_base}")
    left.plot(lam, [p["bound"] for p in selected], "--", color=color, lw=0.9)
    right.plot([p["typical_order"] for p in selected], [p["stability"] for p in selected], "o",
               color=color, ms=4, label=f"n0 = {num_base}")
  left.plot([], [], "k--", lw=0.9, label="analytic bound (same colour)")
  left.set_xscale("log")
  left.set_yscale("log")
  left.set_xlabel("penalty lambda")
  left.set_ylabel("beta (score units)")
  left.set_title("Stability constant against lambda and n0", fontsize=9)
  left.grid(alpha=0.3, which="both")
  left.legend(fontsize=6.5)

  fit = stability["typical_order_fit"]
  order = np.array([p["typical_order"] for p in points])
  grid = np.geomspace(order.min(), order.max(), 20)
  right.plot(grid, np.exp(fit["intercept"]) * grid ** fit["slope"], "k-", lw=1.0,
             label=f"least-squares fit: slope {fit['slope']:.2f}")
  center = np.exp(np.mean(np.log(order)))
  right.plot(grid, np.exp(fit["intercept"]) * center ** fit["slope"] * grid / center, "k:",
             lw=1.0, label="slope 1")
  right.set_xscale("log")
  right.set_yscale("log")
  right.set_xlabel("order 1 / (lambda + n0)")
  right.set_ylabel("measured beta")
  right.set_title("Measured beta against the order 1 / (lambda + n0)", fontsize=9)
  right.grid(alpha=0.3, which="both")
  right.legend(fontsize=6.5)
  fig.tight_layout()
  path = output / "stability.png"
  results_io.write_figure(path, lambda target: fig.savefig(target, format="png"))
  plt.close(fig)
  return str(path)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default=str(CONFIG), help="settings file (JSON)")
  parser.add_argument("--output", help="results and figures folder "
                      "(default: paper/interference/interference_bias)")
  parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check the pipeline")
  args = parser.parse_args(argv)
  settings = load_settings(Path(args.config), args.smoke)
  output = Path(args.output or REPOSITORY / "paper" / "interference" / "interference_bias")

  start = time.perf_counter()
  rows = []
  for family in settings["families"]:
    rows += run_family(family, settings, output)
    print(f"{family['name']}: {time.perf_counter() - start:.0f} s")
  stability = run_stability(settings, output)
  families = [f["name"] for f in settings["families"]]
  names = summary.metric_names((settings["fpr"],))
  figures = [draw_bias(rows, families, name, axis, output)
             for name in ("auc", names[-1]) for axis in ("inclusion_rate", "regularization")]
  figures += [draw_bound(rows, families, output), draw_stability(stability, output)]
  results_io.write_json(output / "results.json", {
      "settings": settings, "rows": rows, "stability": stability,
      "figures": [Path(f).name for f in figures],
      "elapsed_seconds": time.perf_counter() - start,
      "versions": results_io.package_versions()})
  for row in rows:
    auc = row["metrics"]["auc"]
    print(f"{row['family']:>10} {row['axis']:>15}={row['setting'][row['axis']]:<7g} "
          f"bias {auc['one_run']['mean']:+.4f} +- {auc['one_run']['standard_error']:.4f}  "
          f"extrapolated {auc['extrapolated']['mean']:+.4f}  exposure {auc['exposure']['mean']:+.4f}")
  print(f"Results written to {output}/ in {time.perf_counter() - start:.0f} s")
  return 0


if __name__ == "__main__":
  sys.exit(main())
