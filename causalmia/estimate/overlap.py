"""Overlap diagnostics and positivity checks for zero-run estimates.

Adjusting for covariates X identifies the causal ROC only where both groups
occur: `0 < e(x) < 1` (positivity). This module finds the rows where the
data cannot support that, describes where they lie in covariate space, and
computes the balance diagnostics reported with every zero-run result.

A row has no overlap (a structural positivity failure) when
  * its propensity is exactly 0 or 1 (given by the caller, or a fitted model
    that saturated in floating point), or
  * the two groups' ranges of some covariate do not intersect (then no row
    has overlap), or
  * one of its covariate values lies outside the other group's range of that
    covariate (the min-max rule of common support), at least
    `MIN_TIED_ROWS` rows share that value, and its propensity lies outside
    `OVERLAP_BAND`: a discrete covariate value (a year, a source, a class)
    that only one group has.
A row has weak overlap when it lies outside the other group's range with a
propensity outside `OVERLAP_BAND` but none of the rules above applies. With
continuous covariates the most extreme rows always lie beyond the other
group's range, so such rows are reported, not rejected: their estimates
rest on the models' extrapolation.
For target "members" only member rows need a non-member counterpart, so only
they are checked, and only a propensity of 1 fails.
"""

import dataclasses

import numpy as np

# Propensities outside this band are reported as extreme; with a covariate
# outside the other group's range they mark a row without (or with weak) overlap.
OVERLAP_BAND = (0.05, 0.95)
# Rows that must share a covariate value outside the other group's range
# before that value counts as a region only one group occupies.
MIN_TIED_ROWS = 2
# A group's effective sample size is low when it is below max(_MIN_ESS,
# _MIN_ESS_SHARE * rows) and the weights lost at least 1 - _UNIFORM_SHARE of
# the rows. Equal weights never count as low, however few the rows.
_MIN_ESS = 10.0
_MIN_ESS_SHARE = 0.1
_UNIFORM_SHARE = 0.9
_QUANTILES = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)
_LISTED_ROWS = 10


def effective_sample_size(weights) -> float:
  """Kish's effective sample size `(sum w)^2 / sum w^2`; NaN when every weight is 0.

  Example:
    >>> round(effective_sample_size([2.0, 100.0]), 4)
    1.04
  """
  weights = np.asarray(weights, dtype=np.float64)
  square_sum = float(np.sum(weights**2))
  return float(np.sum(weights) ** 2 / square_sum) if square_sum > 0 else float("nan")


def is_low_ess(ess: float, rows: int) -> bool:
  """Tests whether a group's weights concentrate on so few rows that its estimate is unreliable.

  Example:
    >>> is_low_ess(1.04, 2), is_low_ess(2.0, 2), is_low_ess(150.0, 2000)
    (True, False, True)
  """
  return ess < max(_MIN_ESS, _MIN_ESS_SHARE * rows) and ess < _UNIFORM_SHARE * rows


def standardized_mean_differences(covariates, members, weights=None) -> np.ndarray:
  """Per covariate `(mean_1 - mean_0) / sqrt((var_1 + var_0) / 2)`.

  The means are weighted when `weights` is given; the denominator always
  uses the unweighted group variances, so weighted and unweighted
  differences share one scale. A covariate constant in both groups gives 0
  when the means agree and +-inf otherwise.
  """
  covariates = np.asarray(covariates, dtype=np.float64)
  members = np.asarray(members, dtype=bool)
  weights = np.ones(members.shape) if weights is None else np.asarray(weights, np.float64)
  mean1 = np.average(covariates[members], axis=0, weights=weights[members])
  mean0 = np.average(covariates[~members], axis=0, weights=weights[~members])
  scale = np.sqrt((covariates[members].var(axis=0) + covariates[~members].var(axis=0)) / 2)
  with np.errstate(divide="ignore", invalid="ignore"):
    difference = (mean1 - mean0) / scale
  return np.where((scale == 0) & (mean1 == mean0), 0.0, difference)


def propensity_quantiles(propensity, members) -> dict[str, dict[str, float]]:
  """Quantiles of the propensity within each group."""
  propensity = np.asarray(propensity, dtype=np.float64)
  members = np.asarray(members, dtype=bool)
  result = {}
  for name, group in (("members", members), ("nonmembers", ~members)):
    values = propensity[group]
    result[name] = {f"{q:g}": float(np.quantile(values, q)) if values.size else float("nan")
                    for q in _QUANTILES}
  return result


def outside_common_support(covariates, members) -> np.ndarray:
  """`[examples, covariates]` flags: the value lies outside the other group's range.

  A member's value is compared with the non-members' [min, max] of that
  covariate and vice versa (the min-max rule). A group without rows gives
  no range, and every value of the other group is then outside.

  NOTE: the rule reads each column on its own. A column derived from another
  by a non-monotone map, such as a squared and centered year, can put rows
  near the center outside the other group's range, so pass base covariates.
  """
  covariates = _as_matrix(covariates)
  members = np.asarray(members, dtype=bool)
  outside = np.zeros(covariates.shape, dtype=bool)
  for group in (members, ~members):
    other = covariates[~group]
    if other.shape[0] == 0:
      outside[group] = True
      continue
    low, high = other.min(axis=0), other.max(axis=0)
    outside[group] = (covariates[group] < low) | (covariates[group] > high)
  return outside


def disjoint_columns(covariates, members) -> np.ndarray:
  """Indices of the covariates whose member and non-member ranges do not intersect."""
  covariates = _as_matrix(covariates)
  members = np.asarray(members, dtype=bool)
  if members.all() or not members.any():
    return np.arange(covariates.shape[1])
  first, second = covariates[members], covariates[~members]
  apart = (first.max(axis=0) < second.min(axis=0)) | (second.max(axis=0) < first.min(axis=0))
  return np.flatnonzero(apart)


@dataclasses.dataclass(frozen=True)
class OverlapReport:
  """Rows without overlap or with weak overlap, and where they lie.

  Attributes:
    no_overlap: `[examples]` rows whose causal contrast the data cannot
      support (see the module docstring for the rule).
    weak_overlap: `[examples]` rows outside the other group's covariate range
      with an extreme propensity, not counted in `no_overlap`.
    outside_support: `[examples]` rows with some covariate outside the other
      group's range, whatever their propensity.
    description: account of the rows without overlap (which rows, which
      group, their propensities and covariate region); empty when none.
    weak_description: the same for the rows with weak overlap.
    row_ids: the row number of each row in the descriptions and listings.
  """

  no_overlap: np.ndarray
  weak_overlap: np.ndarray
  outside_support: np.ndarray
  description: str
  weak_description: str
  row_ids: np.ndarray

  @property
  def failed(self) -> bool:
    return bool(self.no_overlap.any())

  def to_dict(self) -> dict:
    return {
        "rows_without_overlap": int(self.no_overlap.sum()),
        "rows_without_overlap_listed": self.row_ids[self.no_overlap][:50].tolist(),
        "rows_with_weak_overlap": int(self.weak_overlap.sum()),
        "rows_with_weak_overlap_listed": self.row_ids[self.weak_overlap][:50].tolist(),
        "rows_outside_common_support": int(self.outside_support.sum()),
        "description": self.description,
        "weak_description": self.weak_description,
    }


def assess_overlap(propensity, members, covariates=None, covariate_names=None,
                   *, target: str = "pool", row_ids=None) -> OverlapReport:
  """Finds the rows without overlap and with weak overlap (see the module docstring).

  Args:
    propensity: `[examples]` propensities, given or fitted.
    members: `[examples]` membership.
    covariates: optional `[examples, covariates]`; without them only
      propensities of exactly 0 or 1 are detected.
    covariate_names: names used in the descriptions (default x0, x1, ...).
    target: "pool" or "members".
    row_ids: the row numbers used in the descriptions (default 0, 1, ...),
      for example the rows of a subset in the original table.

  Example:
    >>> year = np.array([2015, 2015, 2020, 2020, 2020, 2020, 2024, 2024])
    >>> member = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    >>> e = np.array([0.999, 0.999, 0.5, 0.5, 0.5, 0.5, 0.001, 0.001])
    >>> np.flatnonzero(assess_overlap(e, member, year).no_overlap).tolist()
    [0, 1, 6, 7]
  """
  propensity = np.asarray(propensity, dtype=np.float64)
  members = np.asarray(members, dtype=bool)
  checked = members if target == "members" else np.ones_like(members)
  saturated = (propensity >= 1.0) if target == "members" else (propensity <= 0) | (propensity >= 1)
  no_overlap = saturated & checked
  weak = np.zeros(members.shape, dtype=bool)
  outside = np.zeros(members.shape, dtype=bool)
  apart = np.array([], dtype=int)

  if covariates is not None:
    covariates = _as_matrix(covariates)
    outside_by_column = outside_common_support(covariates, members)
    outside = outside_by_column.any(axis=1) & checked
    extreme = (propensity < OVERLAP_BAND[0]) | (propensity > OVERLAP_BAND[1])
    tied = np.zeros(covariates.shape, dtype=bool)
    for j in range(covariates.shape[1]):
      _, inverse, counts = np.unique(covariates[:, j], return_inverse=True, return_counts=True)
      tied[:, j] = counts[inverse.reshape(-1)] >= MIN_TIED_ROWS
    no_overlap |= (outside_by_column & tied).any(axis=1) & extreme & checked
    apart = disjoint_columns(covariates, members)
    if apart.size:
      no_overlap |= checked
    weak = outside & extreme & ~no_overlap

  row_ids = np.arange(members.shape[0]) if row_ids is None else np.asarray(row_ids)
  describe = lambda rows, weak=False: _describe(  # noqa: E731
      rows, propensity, members, covariates, covariate_names, apart, row_ids, weak=weak)
  return OverlapReport(no_overlap, weak, outside, describe(no_overlap), describe(weak, True),
                       row_ids)


def overlap_subset(covariates, members, propensity=None, *, target: str = "pool") -> np.ndarray:
  """Rows in the overlap region: inside the other group's covariate ranges, `0 < e < 1`.

  Every row outside the common support is dropped, including the lone
  extremes that `assess_overlap` tolerates, so the estimand becomes the
  causal ROC of the rows where both groups occur. For target "members" only
  member rows are removed, since non-members outside the members' range get
  little weight anyway.

  Example:
    >>> year = np.array([2015, 2015, 2020, 2020, 2020, 2020, 2024, 2024])
    >>> member = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    >>> np.flatnonzero(overlap_subset(year, member)).tolist()
    [2, 3, 4, 5]
  """
  members = np.asarray(members, dtype=bool)
  keep = ~outside_common_support(covariates, members).any(axis=1)
  if propensity is not None:
    propensity = np.asarray(propensity, dtype=np.float64)
    keep &= (propensity > 0) & (propensity < 1)
  if target == "members":
    keep |= ~members
  return keep


def _as_matrix(covariates) -> np.ndarray:
  covariates = np.asarray(covariates, dtype=np.float64)
  return covariates[:, None] if covariates.ndim == 1 else covariates


def _rows_text(rows) -> str:
  listed = ", ".join(str(int(r)) for r in rows[:_LISTED_ROWS])
  more = f", ... ({len(rows) - _LISTED_ROWS} more)" if len(rows) > _LISTED_ROWS else ""
  return listed + more


def _range_text(values) -> str:
  low, high = float(np.min(values)), float(np.max(values))
  return f"= {low:g}" if low == high else f"in [{low:g}, {high:g}]"


def _describe(flagged, propensity, members, covariates, names, apart, row_ids, *,
              weak=False) -> str:
  if not flagged.any():
    return ""
  if covariates is not None and names is None:
    names = [f"x{j}" for j in range(covariates.shape[1])]
  lines = []
  if covariates is not None and apart.size:
    for j in apart[:5]:
      lines.append(f"The groups never overlap in {names[j]}: members have {names[j]} "
                   f"{_range_text(covariates[members, j])}, non-members "
                   f"{_range_text(covariates[~members, j])}.")
  groups = (("member", "non-member", members), ("non-member", "member", ~members))
  for label, other, group in groups:
    rows = np.flatnonzero(flagged & group)
    if not rows.size:
      continue
    verb = f"lie outside the {other}s' covariate range" if weak else f"have no {other} counterpart"
    text = (f"{label.capitalize()} row(s) {_rows_text(row_ids[rows])} (0-based) {verb}: propensity "
            f"{_range_text(propensity[rows])}")
    if covariates is not None:
      other_rows = covariates[~group]
      region = []
      for j in range(covariates.shape[1])[:8]:
        other_text = _range_text(other_rows[:, j]) if other_rows.size else "absent"
        region.append(f"{names[j]} {_range_text(covariates[rows, j])} ({other}s: {other_text})")
      text += "; covariate region: " + ", ".join(region)
    lines.append(text + ".")
  unbounded = (~members & (propensity >= 1)) | (members & (propensity <= 0))
  infinite = np.flatnonzero(flagged & unbounded)
  if infinite.size:
    lines.append(f"Row(s) {_rows_text(row_ids[infinite])} would get an infinite "
                 "inverse-propensity weight.")
  return " ".join(lines)


def overlap_diagnostics(covariates, covariate_names, members, propensity, weights) -> dict:
  """Computes the balance and overlap diagnostics of one weighting.

  Args:
    covariates: `[examples, covariates]` or None.
    covariate_names: one name per covariate column.
    members: `[examples]` membership.
    propensity: `[examples]` propensities used (after any clipping).
    weights: `[examples]` balancing weights (inverse-propensity or ATT).

  Returns:
    A JSON-ready dictionary: effective sample sizes, their warning
    thresholds, standardized mean differences (unweighted and weighted), the
    propensity quantiles of each group and the share of rows with a
    propensity outside `OVERLAP_BAND`.
  """
  members = np.asarray(members, dtype=bool)
  propensity = np.asarray(propensity, dtype=np.float64)
  weights = np.asarray(weights, dtype=np.float64)
  result = {
      "effective_sample_size": {
          "members": effective_sample_size(weights[members]),
          "nonmembers": effective_sample_size(weights[~members]),
      },
      "rows": {"members": int(members.sum()), "nonmembers": int((~members).sum())},
      "propensity_quantiles": propensity_quantiles(propensity, members),
      f"share_propensity_outside_{OVERLAP_BAND[0]:g}_{OVERLAP_BAND[1]:g}": float(np.mean(
          (propensity < OVERLAP_BAND[0]) | (propensity > OVERLAP_BAND[1]))),
  }
  if covariates is not None and members.any() and (~members).any():
    covariates = _as_matrix(covariates)
    unweighted = standardized_mean_differences(covariates, members)
    weighted = standardized_mean_differences(covariates, members, weights)
    result["standardized_mean_differences"] = {
        name: {"unweighted": float(u), "weighted": float(w)}
        for name, u, w in zip(covariate_names, unweighted, weighted)
    }
  return result
