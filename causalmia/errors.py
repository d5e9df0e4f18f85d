"""Warning and error classes raised by causalmia."""


class UndefinedMetricWarning(UserWarning):
  """A metric is undefined (for example, a group has no weight) and is NaN."""


class ResolutionWarning(UserWarning):
  """A requested false-positive rate is below the smallest reachable step."""


class PositivityError(ValueError):
  """Estimated or given propensities leave a group without overlap."""


class MissingReferenceWarning(UserWarning):
  """An attack lacked reference runs of one group for some (run, example) pairs.

  Those pairs use the attack's documented fallback (see `causalmia.attacks`).
  """


class ExtrapolationWarning(UserWarning):
  """An interference correction evaluates its model far outside the observed data."""


class LowOverlapWarning(UserWarning):
  """Weights concentrate on few rows (low effective sample size), or some rows lack overlap."""
