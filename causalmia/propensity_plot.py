"""Histograms of the propensity in each group, saved as a PNG file."""

import matplotlib

matplotlib.use("Agg")  # Files only: no display is needed or assumed.
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from causalmia import results_io  # noqa: E402


def save_propensity_histogram(propensity, members, path, *, title: str = "",
                              band: tuple[float, float] = (0.05, 0.95),
                              clip: tuple[float, float] | None = None, bins: int = 40) -> str:
  """Draws the members' and non-members' propensities on one axis.

  Overlap shows as both histograms covering the same range. The regions
  outside `band` are shaded, and dashed lines mark the clipping bounds when
  the estimate clipped the propensities.

  Args:
    propensity: `[examples]` propensities in [0, 1].
    members: `[examples]` membership.
    path: PNG file to write.
    title: figure title.
    band: propensity range outside which rows are reported as extreme.
    clip: clipping bounds, drawn when given.
    bins: histogram bins over [0, 1].

  Returns:
    The path written.
  """
  propensity = np.asarray(propensity, dtype=np.float64)
  members = np.asarray(members, dtype=bool)
  finite = np.isfinite(propensity)
  edges = np.linspace(0.0, 1.0, bins + 1)
  fig, ax = plt.subplots(figsize=(5.2, 3.6), dpi=120)
  ax.axvspan(0.0, band[0], color="0.85", zorder=0)
  ax.axvspan(band[1], 1.0, color="0.85", zorder=0, label=f"outside [{band[0]:g}, {band[1]:g}]")
  ax.hist(propensity[members & finite], bins=edges, alpha=0.6, color="tab:red",
          label=f"members ({int((members & finite).sum())})")
  ax.hist(propensity[~members & finite], bins=edges, alpha=0.6, color="tab:blue",
          label=f"non-members ({int((~members & finite).sum())})")
  if clip is not None:
    for bound in clip:
      ax.axvline(bound, color="k", ls="--", lw=0.8)
  ax.set_xlim(0.0, 1.0)
  ax.set_xlabel("propensity  e(x) = P(member | x)")
  ax.set_ylabel("rows")
  ax.set_title(title, fontsize=9)
  ax.legend(fontsize=7, loc="upper center")
  fig.tight_layout()
  results_io.write_figure(path, lambda target: fig.savefig(target, format="png"))
  plt.close(fig)
  return str(path)
