"""Warning and error classes raised by causalmia."""


class UndefinedMetricWarning(UserWarning):
  """A metric is undefined (for example, a group has no weight) and is NaN."""


class ResolutionWarning(UserWarning):
  """A requested false-positive rate is below the smallest reachable step."""


class PositivityError(ValueError):
  """Estimated or given propensities leave a group without overlap."""
