"""Reference-model attacks: LiRA and RMIA scores for every (run, example) pair at once.

In a multi-run experiment every run is a target in turn and the other runs
are its reference models (leave the target out), so one experiment yields
reference-based scores of shape `[runs, examples]` that feed
`causalmia.estimate.multi_run` unchanged. Each attack first computes, for
all runs together, the leave-target-out reference statistics, then vmaps
the per-run scoring over the `runs` axis.

- `lira`: Gaussian likelihood ratio on the logit-scaled confidence, online or
  offline, per-example or global variance (Carlini et al., 2022).
- `rmia`: the target's likelihood ratio on an example against population
  examples, online or offline (Zarifzadeh et al., 2024).
- `attack_scores`: the same from stacked model parameters, by config name.

Estimand: a reference-based score of (r, i) depends on the target model and
the other runs but not on run r's inclusion vector. The multi-run causal ROC
it yields is therefore that of an attacker with R - 1 reference models
trained under the design. The docstring of `lira` explains what this means for
the intervals.
"""

from causalmia.attacks._from_models import ATTACKS, attack_scores
from causalmia.attacks._lira import VARIANCES, lira
from causalmia.attacks._rmia import rmia

__all__ = ["ATTACKS", "VARIANCES", "attack_scores", "lira", "rmia"]
