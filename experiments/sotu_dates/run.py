"""Dated speeches: a character-level language model, membership chosen by year, naive vs adjusted.

The corpus is the US State of the Union addresses delivered as speeches
(1790-1800 and 1913-2020). Three small character-level language models are
trained, each on the first `max_chars` characters of its member documents,
and every document is scored by its mean per-character log-likelihood
(larger means more member-like):

1. "random": members drawn independently of the year with probability 1/2.
   Membership is randomized, so the plain comparison is the causal one
   (the one-run estimate); it shows the size of the real effect.
2. "by_year": members drawn with a known probability that falls with the
   year (older speeches are more often members). Vocabulary and style
   drift with the year, so the naive comparison mixes memorization with
   the date; IPW, G-formula and AIPW adjust for the year.
3. "hard_cut": members are the speeches up to 2000 and non-members those
   from 2001, the shape of date-split benchmarks. The groups never overlap
   in year, so no adjustment can identify the causal effect; the driver
   records what the estimator reports.

Usage, from the repository root:

    .venv/bin/python experiments/sotu_dates/run.py            # writes paper/zero_run/sotu/
    .venv/bin/python experiments/sotu_dates/run.py --smoke --output /tmp/sotu
"""

import argparse
import copy
import json
import sys
import time
import warnings
from pathlib import Path

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from causalmia import plotting
from causalmia import propensity_plot
from causalmia import results_io
from causalmia.errors import LowOverlapWarning, PositivityError
from causalmia.estimate import one_run
from causalmia.estimate import zero_run

REPOSITORY = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("config.json")
SPLITS = ("random", "by_year", "hard_cut")
PAD, UNKNOWN = 0, 1


def load_settings(path: Path, smoke: bool) -> dict:
  """Reads the config and merges its "smoke" section in when `smoke` is set."""
  settings = json.loads(path.read_text())
  overrides = settings.pop("smoke", {})
  if smoke:
    for key, value in overrides.items():
      if isinstance(value, dict):
        settings[key].update(copy.deepcopy(value))
      else:
        settings[key] = value
  return settings


def load_corpus(folder: Path, max_chars: int):
  """Reads the year and the first `max_chars` characters of every document, in metadata order."""
  metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
  years, texts = [], []
  for doc in metadata["docs"]:
    text = (folder / doc["file"]).read_text(encoding="utf-8")
    if len(text) < max_chars:
      raise ValueError(f"{folder / doc['file']} has {len(text)} characters, fewer than "
                       f"max_chars = {max_chars}; lower max_chars in the config.")
    years.append(doc["year"])
    texts.append(text[:max_chars])
  return np.asarray(years, dtype=np.float64), texts


def encode(texts, context: int):
  """Encodes the texts as token ids `[docs, context + max_chars]`, after `context` padding tokens.

  Characters that occur fewer than 5 times in the corpus map to one unknown id.
  """
  counts = {}
  for text in texts:
    for char in text:
      counts[char] = counts.get(char, 0) + 1
  alphabet = sorted(char for char, count in counts.items() if count >= 5)
  index = {char: i + 2 for i, char in enumerate(alphabet)}
  tokens = np.full((len(texts), context + len(texts[0])), PAD, dtype=np.int32)
  for row, text in enumerate(texts):
    tokens[row, context:] = [index.get(char, UNKNOWN) for char in text]
  return tokens, len(alphabet) + 2


class CharMLP(nn.Module):
  """Next-character model: embeddings of the previous `context` characters, ReLU layers."""

  vocab: int
  embed: int
  hidden: tuple[int, ...]

  @nn.compact
  def __call__(self, windows):
    x = nn.Embed(self.vocab, self.embed)(windows).reshape(windows.shape[0], -1)
    for width in self.hidden:
      x = nn.relu(nn.Dense(width)(x))
    return nn.Dense(self.vocab)(x)


def _windows(tokens, docs, positions, context: int):
  starts = positions[:, None] + jnp.arange(context)[None, :]
  return tokens[docs[:, None], starts], tokens[docs, positions + context]


def train_one(key, mask, tokens, model: CharMLP, settings: dict):
  """Trains one model on the documents where `mask` is True.

  Each step draws `batch_size` (document, position) pairs uniformly among the
  member documents' characters; the documents have equal length, so that is
  uniform over member characters.
  """
  context, length = settings["context"], tokens.shape[1] - settings["context"]
  init_key, batch_key = jax.random.split(key)
  params = model.init(init_key, jnp.zeros((1, context), jnp.int32))
  optimizer = optax.adam(settings["learning_rate"])
  member_rows = jnp.argsort(~mask, stable=True)
  included = jnp.sum(mask)

  def loss_fn(params, windows, targets):
    logits = model.apply(params, windows)
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, targets))

  def step(carry, index):
    params, state = carry
    doc_key, position_key = jax.random.split(jax.random.fold_in(batch_key, index))
    picks = jax.random.randint(doc_key, (settings["batch_size"],), 0, included)
    positions = jax.random.randint(position_key, (settings["batch_size"],), 0, length)
    windows, targets = _windows(tokens, member_rows[picks], positions, context)
    loss, grads = jax.value_and_grad(loss_fn)(params, windows, targets)
    updates, state = optimizer.update(grads, state, params)
    return (optax.apply_updates(params, updates), state), loss

  (params, _), losses = jax.lax.scan(step, (params, optimizer.init(params)),
                                     jnp.arange(settings["steps"]))
  return params, losses


def document_scores(params, tokens, model: CharMLP, context: int, chunk: int):
  """Scores every document by its mean log-likelihood per character, `[docs]`."""
  length = tokens.shape[1] - context

  def one_document(row):
    def chunk_loss(first):
      positions = first + jnp.arange(chunk)
      valid = positions < length
      docs = jnp.full(chunk, row)
      windows, targets = _windows(tokens, docs, jnp.where(valid, positions, 0), context)
      losses = optax.softmax_cross_entropy_with_integer_labels(model.apply(params, windows),
                                                               targets)
      return jnp.sum(jnp.where(valid, losses, 0.0))

    total = jax.lax.map(chunk_loss, jnp.arange(0, length, chunk))
    return -jnp.sum(total) / length

  return jax.lax.map(one_document, jnp.arange(tokens.shape[0]))


def split_masks(settings: dict, years, key):
  """Membership of the three splits and the by-year rule's propensities."""
  rule = settings["by_year"]
  random_key, year_key = jax.random.split(key)
  low, high = rule["propensity_range"]
  slope = 1 / (1 + np.exp(-(rule["center_year"] - years) / rule["scale_years"]))
  propensity = low + (high - low) * slope
  masks = {
      "random": np.asarray(jax.random.uniform(random_key, years.shape)) < 0.5,
      "by_year": np.asarray(jax.random.uniform(year_key, years.shape)) < propensity,
      "hard_cut": years <= settings["hard_cut_year"],
  }
  return masks, propensity


def _metrics(result) -> dict:
  def number(value):
    return None if np.isnan(value) else float(value)

  return {name: {"value": number(m.value), "ci_low": number(m.ci_low),
                 "ci_high": number(m.ci_high)} for name, m in result.metrics.items()}


def estimate_by_year(settings: dict, scores, members, years, key) -> dict:
  """Naive, IPW, G-formula and AIPW on the by-year split, with overlap handling recorded."""
  options = settings["estimate"]
  # The year alone: a derived column such as (year - mean)^2 would put rows near
  # the mean year outside the other group's range of that column.
  covariates = years[:, None]
  common = dict(fpr=tuple(options["fpr"]), key=key, covariate_names=("year",))
  adjusted = dict(folds=options["folds"], thresholds=options["thresholds"], **common)
  runs = {
      "naive": dict(method="naive", num_replicates=options["num_replicates"]),
      "ipw": dict(method="ipw", num_replicates=options["num_replicates"]),
      "gformula": dict(method="gformula", num_replicates=options["num_replicates"]),
      "aipw": dict(method="aipw", interval="influence"),
  }
  results, messages, kept = {}, {}, None
  for name, run in runs.items():
    arguments = {**(common if name == "naive" else adjusted), **run}
    try:
      results[name] = zero_run(scores, members, covariates, **arguments)
    except PositivityError as error:
      # Some years have only one group: estimate on the overlap region instead.
      messages[name] = str(error)
      results[name] = zero_run(scores, members, covariates, trim="support", **arguments)
      kept = results[name].per_example["kept"]
  if kept is not None:
    # The naive comparison on the same rows, so that it compares like with like.
    results["naive_overlap_region"] = zero_run(scores[kept], members[kept], covariates[kept],
                                               **{**common, **runs["naive"]})
  return {"results": results, "positivity_errors": messages, "kept": kept}


def hard_cut_report(settings: dict, scores, members, years, key) -> dict:
  """Records what the estimator reports for the date cut: the naive AUC and the errors."""
  options = settings["estimate"]
  naive = zero_run(scores, members, years, method="naive", fpr=tuple(options["fpr"]),
                   num_replicates=options["num_replicates"], key=key)
  report = {"naive": _metrics(naive)}
  for label, extra in (("default", {}), ("trim_support", {"trim": "support"})):
    try:
      zero_run(scores, members, years, covariate_names=("year",), folds=options["folds"],
               num_replicates=0, key=key, **extra)
      report[label] = "no error"
    except PositivityError as error:
      report[label] = str(error)
  return report


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default=str(CONFIG), help="settings file (JSON)")
  parser.add_argument("--output", help="results and figures folder (default: paper/zero_run/sotu)")
  parser.add_argument("--data-dir", help="the sotu_speeches folder (default: from config)")
  parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check the pipeline")
  parser.add_argument("--quiet", action="store_true", help="print less")
  args = parser.parse_args(argv)
  settings = load_settings(Path(args.config), args.smoke)
  output = Path(args.output or REPOSITORY / "paper" / "zero_run" / "sotu")
  folder = Path(args.data_dir) if args.data_dir else REPOSITORY / settings["data_path"]
  log = (lambda *_: None) if args.quiet else print

  start = time.perf_counter()
  model_settings = settings["model"]
  years, texts = load_corpus(folder, model_settings["max_chars"])
  tokens, vocab = encode(texts, model_settings["context"])
  log(f"Corpus: {len(texts)} speeches, {model_settings['max_chars']} characters each, "
      f"{vocab} token ids.")
  masks_key, train_key, estimate_key = jax.random.split(jax.random.key(settings["seed"]), 3)
  masks, propensity = split_masks(settings, years, masks_key)
  stacked = jnp.asarray(np.stack([masks[name] for name in SPLITS]))

  log(f"Training {len(SPLITS)} character models (the first call compiles)...")
  model = CharMLP(vocab, model_settings["embed"], tuple(model_settings["hidden"]))
  keys = jax.vmap(lambda r: jax.random.fold_in(train_key, r))(jnp.arange(len(SPLITS)))
  train = jax.jit(jax.vmap(lambda k, m: train_one(k, m, jnp.asarray(tokens), model,
                                                  model_settings)))
  params, losses = train(keys, stacked)
  score = jax.jit(jax.vmap(lambda p: document_scores(p, jnp.asarray(tokens), model,
                                                     model_settings["context"],
                                                     model_settings["score_chunk"])))
  scores = np.asarray(score(params), dtype=np.float64)
  log("Estimating...")

  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", LowOverlapWarning)
    random_split = one_run(scores[0], masks["random"], fpr=tuple(settings["estimate"]["fpr"]),
                           num_replicates=settings["estimate"]["num_replicates"],
                           key=estimate_key)
    by_year = estimate_by_year(settings, scores[1], masks["by_year"], years, estimate_key)
    hard_cut = hard_cut_report(settings, scores[2], masks["hard_cut"], years, estimate_key)

  results = by_year["results"]
  curves = {"random split (one-run)": random_split.curve,
            **{f"by year: {name}": result.curve for name, result in results.items()}}
  figures = [Path(p).name for p in plotting.save_roc_figures(
      curves, output / "roc", title="State of the Union: causal ROC, year-dependent membership",
      min_fpr=1.0 / max(int((~masks["by_year"]).sum()), 1))]
  aipw = results["aipw"]
  kept = aipw.per_example.get("kept", np.ones(len(years), bool))
  figures.append(Path(propensity_plot.save_propensity_histogram(
      aipw.per_example["propensity"][kept], masks["by_year"][kept],
      output / "propensity_histogram.png",
      title="State of the Union, by-year split: cross-fitted propensity")).name)
  figures.append(Path(draw_scores(years, scores, masks, output / "scores_by_year.png")).name)

  payload = {
      "settings": settings, "documents": len(texts), "vocabulary": vocab,
      "final_training_loss": dict(zip(SPLITS, map(float, np.asarray(losses)[:, -1]))),
      "members": {name: int(mask.sum()) for name, mask in masks.items()},
      "true_propensity_range": [float(propensity.min()), float(propensity.max())],
      "random_split_one_run": _metrics(random_split),
      "by_year": {name: _metrics(result) for name, result in results.items()},
      "by_year_positivity_errors": by_year["positivity_errors"],
      "by_year_rows_dropped_by_trim": (np.flatnonzero(~by_year["kept"]).tolist()
                                       if by_year["kept"] is not None else []),
      "by_year_diagnostics": {
          "effective_sample_size": aipw.diagnostics["effective_sample_size"],
          "standardized_mean_differences": aipw.diagnostics["standardized_mean_differences"],
          "overlap": aipw.diagnostics["overlap"],
          "counts": aipw.counts,
      },
      "by_year_notes": {name: list(result.notes) for name, result in results.items()},
      "hard_cut": hard_cut,
      "warnings": sorted({str(w.message) for w in caught}),
      "figures": figures,
      "elapsed_seconds": time.perf_counter() - start,
      "versions": results_io.package_versions(),
  }
  results_io.write_json(output / "results.json", payload)
  print(f"random split (one-run) AUC {random_split['auc'].value:.3f}")
  for name, result in results.items():
    metric = result["auc"]
    print(f"by year, {name}: AUC {metric.value:.3f} [{metric.ci_low:.3f}, {metric.ci_high:.3f}]")
  print(f"hard cut: naive AUC {hard_cut['naive']['auc']['value']:.3f}; "
        f"adjusted: {hard_cut['default'][:100]}...")
  print(f"Results written to {output}/ in {time.perf_counter() - start:.0f} s")
  return 0


def draw_scores(years, scores, masks, path: Path) -> str:
  """Per-document score against year for each split, members and non-members marked."""
  import matplotlib.pyplot as plt

  fig, axes = plt.subplots(1, len(SPLITS), figsize=(11, 3.2), dpi=120, sharey=False)
  for ax, name, row in zip(axes, SPLITS, scores):
    member = masks[name]
    ax.scatter(years[member], row[member], s=10, color="tab:red", label="members")
    ax.scatter(years[~member], row[~member], s=10, color="tab:blue", label="non-members")
    ax.set_title(f"split: {name}", fontsize=9)
    ax.set_xlabel("year")
    ax.grid(alpha=0.3)
  axes[0].set_ylabel("mean log-likelihood per character")
  axes[0].legend(fontsize=7)
  fig.tight_layout()
  results_io.write_figure(path, lambda target: fig.savefig(target, format="png"))
  plt.close(fig)
  return str(path)


if __name__ == "__main__":
  sys.exit(main())
