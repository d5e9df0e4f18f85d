"""Attack scores from trained models: per-model statistics first, then the attack over runs."""

import numpy as np

from causalmia import scores as scores_lib
from causalmia.attacks._lira import lira
from causalmia.attacks._rmia import rmia

ATTACKS = ("lira", "lira-offline", "rmia", "rmia-offline")


def attack_scores(
    name: str,
    apply_fn,
    params,
    inputs,
    labels,
    masks,
    *,
    population_inputs=None,
    population_labels=None,
    variance: str = "per-example",
    gamma: float = 1.0,
    offline_a: float = 0.3,
) -> np.ndarray:
  """Scores every (run, example) pair with the attack `name`, using the other runs as references.

  LiRA uses each model's logit-scaled confidence (`scores.logit_confidence`),
  RMIA its log-probability of the true label (`scores.negative_loss`), both
  computed by `scores.score_runs` for all runs in one vmapped call.

  Args:
    name: "lira", "lira-offline", "rmia" or "rmia-offline".
    apply_fn: the model's apply function.
    params: parameters stacked along a leading `runs` axis.
    inputs, labels: the audit pool, `[examples, ...]` and `[examples]`.
    masks: `[runs, examples]` inclusion masks of the runs.
    population_inputs, population_labels: RMIA's population examples, which
      no run may have trained on; required for RMIA.
    variance: LiRA's "per-example" or "global" variance.
    gamma: RMIA's likelihood-ratio threshold.
    offline_a: offline RMIA's correction coefficient.

  Returns:
    `[runs, examples]` scores, larger meaning more member-like.
  """
  if name not in ATTACKS:
    raise ValueError(f"Unknown attack {name!r}; expected one of {ATTACKS}.")
  online = not name.endswith("-offline")
  if name.startswith("lira"):
    confidences = scores_lib.score_runs(scores_lib.logit_confidence, apply_fn, params, inputs,
                                        labels)
    return lira(np.asarray(confidences), masks, online=online, variance=variance)

  if population_inputs is None or population_labels is None:
    raise ValueError("RMIA needs population examples (population_inputs and "
                     "population_labels) that no run trained on.")
  log_probs = scores_lib.score_runs(scores_lib.negative_loss, apply_fn, params, inputs, labels)
  population = scores_lib.score_runs(scores_lib.negative_loss, apply_fn, params,
                                     population_inputs, population_labels)
  return rmia(np.asarray(log_probs), masks, np.asarray(population), online=online, gamma=gamma,
              offline_a=offline_a)
