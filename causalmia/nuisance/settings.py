"""Settings of the nuisance models, frozen and hashable so that jit treats them as static."""

import dataclasses

PROPENSITY_MODELS = ("logistic", "mlp", "cells")
OUTCOME_MODELS = ("distribution", "gaussian")


@dataclasses.dataclass(frozen=True)
class NuisanceConfig:
  """Fitting settings of the propensity and outcome models.

  Attributes:
    propensity_model: "logistic" (L2-regularized logistic regression),
      "mlp" (a small flax MLP) or "cells". The "cells" model is the member
      share among rows with identical covariates, for discrete covariates
      such as a year or a source, computed on all rows (not cross-fitted).
    outcome_model: "distribution" (one logistic regression of
      `1{score >= tau}` per threshold tau) or "gaussian" (score given
      covariates normal, with linear mean and log-linear variance).
    folds: cross-fitting folds K; 1 fits and predicts on the same rows.
    l2: L2 penalty of every regression, on standardized covariates and a
      weight-normalized loss (see `causalmia.nuisance.logistic`).
    newton_steps: damped Newton steps of each logistic regression.
    mlp_hidden: hidden layer widths of the MLP.
    mlp_steps: full-batch Adam steps of the MLP.
    mlp_learning_rate: Adam step size of the MLP.
    num_cells: number of distinct covariate rows ("cells" model only).
  """

  propensity_model: str = "logistic"
  outcome_model: str = "distribution"
  folds: int = 5
  l2: float = 1e-3
  newton_steps: int = 15
  mlp_hidden: tuple[int, ...] = (32,)
  mlp_steps: int = 300
  mlp_learning_rate: float = 0.01
  num_cells: int = 0

  def __post_init__(self):
    if self.propensity_model not in PROPENSITY_MODELS:
      raise ValueError(f"Unknown propensity_model {self.propensity_model!r}; expected one of "
                       f"{PROPENSITY_MODELS}.")
    if self.outcome_model not in OUTCOME_MODELS:
      raise ValueError(f"Unknown outcome_model {self.outcome_model!r}; expected one of "
                       f"{OUTCOME_MODELS}.")
    if isinstance(self.folds, bool) or not isinstance(self.folds, int) or self.folds < 1:
      raise ValueError(f"folds must be a positive integer, got {self.folds!r}.")
    if not self.l2 >= 0:
      raise ValueError(f"l2 must be non-negative, got {self.l2}.")
