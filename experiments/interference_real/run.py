"""Interference on real data: an MLP's one-run estimates against leave-one-in and multi-run oracles.

The audit pool and the base set are CIFAR-10 training images (average-pooled
to 8x8x3 so that hundreds of MLPs train on a CPU) when the `data.cifar10`
path exists, relative to the repository root, and scikit-learn's digits
otherwise. One vmapped batch trains, on the base set plus the included
audit examples:

* R runs at each of the K inclusion rates: each run is a one-run
  experiment, and the R runs of a rate pooled give its design estimand;
* leave-one-in runs (base set plus one audit example) for a random subset
  of the pool, and base-only runs: the no-interference oracle.

Per repetition r, run r of every rate gives a design-rate extrapolation to
p = 0, and run r of the largest rate an exposure-adjusted estimate under a
same-class and a cosine kernel. All are compared with the oracle.
The config's "gpu" table lists the sizes a GPU run would use.

Usage, from the repository root:

    .venv/bin/python experiments/interference_real/run.py     # writes paper/interference/interference_real/
    .venv/bin/python experiments/interference_real/run.py --smoke --output /tmp/real
"""

import argparse
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from causalmia import data as data_lib  # noqa: E402
from causalmia import models  # noqa: E402
from causalmia import results_io  # noqa: E402
from causalmia import scores as scores_lib  # noqa: E402
from causalmia import training  # noqa: E402
from causalmia.interference import LeaveOneIn, no_interference  # noqa: E402
from causalmia.interference import _metrics  # noqa: E402
from causalmia.interference import exposure as exposure_lib  # noqa: E402
from causalmia.interference import extrapolation  # noqa: E402
from causalmia.interference.studies import load_settings, mean_and_error  # noqa: E402
from causalmia.metrics import summary  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("config.json")


def load_data(settings: dict, data_dir=None):
  """Base set and audit pool (inputs, labels) and a description of the source."""
  data = settings["data"]
  total = data["base"] + data["pool"]
  path = Path(data_dir) if data_dir else REPOSITORY / data["cifar10"]
  if path.exists():
    dataset = data_lib.load_cifar10(path, split="train", limit=total)
    factor = data["pool_factor"]
    images = dataset.inputs
    side = images.shape[1] // factor
    pooled = images.reshape(total, side, factor, side, factor, 3).mean(axis=(2, 4))
    inputs = pooled.reshape(total, -1)
    source = (f"CIFAR-10 ({dataset.name}): first {total} training images, average-pooled "
              f"{factor}x{factor} to {side}x{side}x3")
  else:
    dataset = data_lib.load_digits()
    if total > len(dataset):
      raise ValueError(f"digits has {len(dataset)} examples, fewer than base + pool = {total}.")
    inputs = dataset.inputs[:total]
    source = f"scikit-learn digits: first {total} images"
  labels = dataset.labels[:total]
  return np.asarray(inputs, np.float32), np.asarray(labels, np.int32), source


def build_masks(settings: dict, key) -> tuple[np.ndarray, dict]:
  """Builds all training masks over [base + pool] in one array, and the row ranges of each kind."""
  data, rates, runs = settings["data"], settings["rates"], settings["runs_per_rate"]
  num_base, num_pool = data["base"], data["pool"]
  rate_key, subset_key = jax.random.split(key)
  pool_masks = [np.asarray(extrapolation.rate_masks(jax.random.fold_in(rate_key, r), rates,
                                                    num_pool)) for r in range(runs)]
  design = np.stack(pool_masks, axis=1).reshape(len(rates) * runs, num_pool)  # rate-major
  loo = settings["leave_one_in"]
  chosen = np.sort(np.asarray(jax.random.permutation(subset_key, num_pool))[:loo["examples"]])
  one_in = np.zeros((len(chosen), num_pool), bool)
  one_in[np.arange(len(chosen)), chosen] = True
  base_only = np.zeros((loo["base_runs"], num_pool), bool)
  pool = np.concatenate([design, one_in, base_only])
  masks = np.concatenate([np.ones((pool.shape[0], num_base), bool), pool], axis=1)
  rows = {"design": (0, len(design)), "one_in": (len(design), len(design) + len(chosen)),
          "base_only": (len(design) + len(chosen), len(pool)), "chosen": chosen}
  return masks, rows


def train_and_score(settings, inputs, labels, masks, key, show_progress=True):
  model = settings["model"]
  config = training.TrainConfig(
      model=models.ModelConfig(model["kind"], tuple(model["hidden"])),
      num_outputs=int(labels.max()) + 1, optimizer=model["optimizer"],
      learning_rate=model["learning_rate"], steps=model["steps"],
      batch_size=model["batch_size"])
  print(f"Training {len(masks)} models in one vmapped batch, chunks of "
        f"{settings['chunk_size']} (the first chunk compiles)...")
  with tqdm(total=len(masks), unit="model", disable=not show_progress) as bar:
    params, losses = training.train_many(key, masks, inputs, labels, config,
                                         chunk_size=settings["chunk_size"], progress=bar.update)
  training.check_finite_losses(losses)
  num_base = settings["data"]["base"]
  apply = models.build_model(config.model, config.num_outputs).apply
  scores = scores_lib.score_runs(scores_lib.get_score(settings["score"]), apply, params,
                                 jnp.asarray(inputs[num_base:]), jnp.asarray(labels[num_base:]))
  return np.asarray(scores), float(np.mean(np.asarray(losses)[:, -1]))


def estimate(settings, scores, masks, rows, inputs, labels):
  """Oracles, one-run estimates and both corrections, as plain dicts."""
  fprs = (settings["fpr"],)
  names = summary.metric_names(fprs)
  num_base = settings["data"]["base"]
  rates, runs = settings["rates"], settings["runs_per_rate"]
  pool_masks = masks[:, num_base:]

  start, stop = rows["design"]
  design_scores = scores[start:stop].reshape(len(rates), runs, -1)
  design_masks = pool_masks[start:stop].reshape(len(rates), runs, -1)
  per_run = np.asarray(jax.vmap(lambda s, m: _metrics.one_run_metrics(s, m, fprs, "step"))(
      design_scores, design_masks))  # [rates, runs, metrics]
  pooled = np.asarray(jax.vmap(lambda s, m: _metrics.pooled_metrics(s, m, fprs, "step"))(
      design_scores, design_masks))  # [rates, metrics]

  chosen = rows["chosen"]
  own = scores[slice(*rows["one_in"])][np.arange(len(chosen)), chosen]
  base = scores[slice(*rows["base_only"])][:, chosen]
  reference = no_interference(LeaveOneIn(own, base), fpr=fprs,
                              num_replicates=settings["num_replicates"])

  extrapolated = np.asarray(extrapolation.polynomial_fit(
      jnp.asarray(rates), jnp.transpose(jnp.asarray(per_run), (1, 2, 0)), 1))[..., 0]
  last_scores, last_masks = design_scores[-1], design_masks[-1]
  exposures = {
      "same_class": jax.vmap(lambda m: exposure_lib.same_class_exposure(
          m, jnp.asarray(labels[num_base:]), int(labels.max()) + 1))(last_masks),
      "cosine": jax.vmap(lambda m: exposure_lib.cosine_exposure(
          m, jnp.asarray(inputs[num_base:]), power=settings["cosine_power"]))(last_masks),
  }
  adjusted = {kernel: np.asarray(jax.vmap(
      lambda s, m, e: exposure_lib.adjusted_metrics(s, m, e, 0.0, fprs, "step")[0])(
          last_scores, last_masks, values)) for kernel, values in exposures.items()}

  result = {"rates": list(rates), "metric_names": list(names), "metrics": {}}
  for m, name in enumerate(names):
    truth = reference[name]
    half_width = 0.5 * (truth.ci_high - truth.ci_low)
    entry = {"no_interference": {"value": truth.value, "ci_low": truth.ci_low,
                                 "ci_high": truth.ci_high, "half_width": half_width},
             "design": pooled[:, m].tolist(),
             "one_run": [mean_and_error(per_run[k, :, m]) for k in range(len(rates))],
             "extrapolated": mean_and_error(extrapolated[:, m])}
    for kernel, values in adjusted.items():
      entry[f"exposure_{kernel}"] = mean_and_error(values[:, m])
    uncorrected = entry["one_run"][-1]["mean"] - truth.value
    entry["bias"] = {"one_run": uncorrected}
    for estimator in ("extrapolated", "exposure_same_class", "exposure_cosine"):
      residual = entry[estimator]["mean"] - truth.value
      entry["bias"][estimator] = residual
      entry["bias"][f"{estimator}_removed_fraction"] = 1.0 - abs(residual) / abs(uncorrected)
    entry["exposure_std"] = {k: float(np.mean(np.std(np.asarray(v), axis=1)))
                             for k, v in exposures.items()}
    result["metrics"][name] = entry
  return result


def draw(result, output: Path, title: str) -> str:
  rates = np.array(result["rates"])
  names = [n for n in result["metric_names"] if n != "advantage"]
  fig, axes = plt.subplots(1, len(names), figsize=(5.4 * len(names), 4.2), dpi=120)
  for ax, name in zip(np.atleast_1d(axes), names):
    entry = result["metrics"][name]
    truth = entry["no_interference"]
    ax.axhspan(truth["ci_low"], truth["ci_high"], color="0.8", alpha=0.6,
               label="no-interference (leave-one-in), 95% CI")
    ax.axhline(truth["value"], color="0.3", lw=1.0)
    ax.plot(rates, entry["design"], "C0s--", ms=4, label="design estimand (runs pooled)")
    means = [p["mean"] for p in entry["one_run"]]
    errors = [2 * p["standard_error"] for p in entry["one_run"]]
    ax.errorbar(rates, means, yerr=errors, fmt="C1o", ms=4, capsize=2,
                label="one-run, mean +- 2 SE")
    fitted = entry["extrapolated"]
    ax.errorbar([0.0], [fitted["mean"]], yerr=[2 * fitted["standard_error"]], fmt="C2D",
                ms=5, capsize=2, label="design-rate extrapolation to p = 0")
    slope = np.polyfit(rates, means, 1)
    grid = np.linspace(0.0, rates.max(), 20)
    ax.plot(grid, np.polyval(slope, grid), "C2:", lw=1.0)
    for offset, (kernel, marker) in enumerate((("same_class", "C3^"), ("cosine", "C4v"))):
      point = entry[f"exposure_{kernel}"]
      ax.errorbar([rates.max() + 0.02 * (offset + 1)], [point["mean"]],
                  yerr=[2 * point["standard_error"]], fmt=marker, ms=5, capsize=2,
                  label=f"exposure-adjusted ({kernel.replace('_', '-')}) of the p = "
                        f"{rates.max():g} runs")
    ax.set_xlabel("inclusion rate p")
    ax.set_ylabel(name)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6.5)
  fig.suptitle(title, fontsize=9)
  fig.tight_layout()
  path = output / "real_data.png"
  results_io.write_figure(path, lambda target: fig.savefig(target, format="png"))
  plt.close(fig)
  return str(path)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default=str(CONFIG), help="settings file (JSON)")
  parser.add_argument("--output", help="results and figures folder "
                      "(default: paper/interference/interference_real)")
  parser.add_argument("--data-dir", help="CIFAR-10 .npz file or folder (default: from config)")
  parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check the pipeline")
  parser.add_argument("--quiet", action="store_true", help="hide the progress bar")
  args = parser.parse_args(argv)
  settings = load_settings(Path(args.config), args.smoke)
  output = Path(args.output or REPOSITORY / "paper" / "interference" / "interference_real")

  start = time.perf_counter()
  inputs, labels, source = load_data(settings, args.data_dir)
  print(f"Data: {source}.")
  masks_key, train_key = jax.random.split(jax.random.key(settings["seed"]))
  masks, rows = build_masks(settings, masks_key)
  scores, final_loss = train_and_score(settings, inputs, labels, masks, train_key,
                                       show_progress=not args.quiet)
  result = estimate(settings, scores, masks, rows, inputs, labels)
  title = (f"{source.split(':')[0]}: MLP {settings['model']['hidden']}, base {settings['data']['base']}, "
           f"pool {settings['data']['pool']}, {settings['runs_per_rate']} runs per rate")
  figure = draw(result, output, title)
  results_io.write_json(output / "results.json", {
      "settings": settings, "source": source, "final_training_loss": final_loss,
      "models_trained": int(len(masks)), "result": result, "figures": [Path(figure).name],
      "elapsed_seconds": time.perf_counter() - start, "versions": results_io.package_versions()})
  for name, entry in result["metrics"].items():
    bias = entry["bias"]
    print(f"{name}: no-interference {entry['no_interference']['value']:.4f} "
          f"(+- {entry['no_interference']['half_width']:.4f}); one-run bias {bias['one_run']:+.4f}, "
          f"extrapolated {bias['extrapolated']:+.4f}, exposure same-class "
          f"{bias['exposure_same_class']:+.4f}, cosine {bias['exposure_cosine']:+.4f}")
  print(f"Results written to {output}/ in {time.perf_counter() - start:.0f} s")
  return 0


if __name__ == "__main__":
  sys.exit(main())
