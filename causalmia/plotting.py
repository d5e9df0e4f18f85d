"""ROC figures on linear and log-log axes, saved as PNG files."""

import matplotlib

matplotlib.use("Agg")  # Files only: no display is needed or assumed.
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from causalmia import results_io  # noqa: E402


def _draw_dp_region(ax, epsilon: float, delta: float, log: bool):
  """Shades the ROC points an (epsilon, delta)-DP algorithm allows.

  Every operating point satisfies TPR <= e^eps FPR + delta and
  1 - FPR <= e^eps (1 - TPR) + delta.
  """
  fpr = np.logspace(-6, 0, 400) if log else np.linspace(0, 1, 400)
  bound = np.minimum.reduce([
      np.exp(epsilon) * fpr + delta,
      1 - (1 - fpr - delta) * np.exp(-epsilon),
      np.ones_like(fpr),
  ])
  ax.fill_between(fpr, 0, bound, color="tab:green", alpha=0.12,
                  label=f"({epsilon:.2g}, {delta:.0e})-DP region")


def save_roc_figures(curves: dict, path_stem, *, title: str = "", dp: tuple | None = None,
                     min_fpr: float | None = None) -> list[str]:
  """Draws ROC curves on linear and log-log axes.

  Args:
    curves: label -> {"fpr": array, "tpr": array}.
    path_stem: output path without extension; writes `<stem>_linear.png`
      and `<stem>_loglog.png`.
    title: figure title.
    dp: optional (epsilon, delta) whose DP region is shaded.
    min_fpr: left end of the log axis (default: the smallest positive FPR).

  Returns:
    The two file paths written.
  """
  paths = []
  for log in (False, True):
    fig, ax = plt.subplots(figsize=(4.8, 4.4), dpi=120)
    if dp is not None:
      _draw_dp_region(ax, dp[0], dp[1], log)
    smallest = min_fpr or 1.0
    for label, curve in curves.items():
      fpr, tpr = np.asarray(curve["fpr"], float), np.asarray(curve["tpr"], float)
      if log:
        positive = fpr[fpr > 0]
        if positive.size:
          smallest = min(smallest, positive.min()) if min_fpr is None else smallest
      ax.plot(fpr, tpr, drawstyle="default", lw=1.4, label=label)
    if log:
      reference = np.logspace(np.log10(smallest), 0, 100)
      ax.plot(reference, reference, "k:", lw=0.8, label="chance")
      ax.set_xscale("log")
      ax.set_yscale("log")
      ax.set_xlim(smallest, 1)
      ax.set_ylim(smallest, 1)
    else:
      ax.plot([0, 1], [0, 1], "k:", lw=0.8, label="chance")
      ax.set_xlim(0, 1)
      ax.set_ylim(0, 1)
    ax.set_xlabel("causal FPR  F0(tau)")
    ax.set_ylabel("causal TPR  F1(tau)")
    ax.set_title(title + (" (log-log)" if log else ""), fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3, which="both" if log else "major")
    fig.tight_layout()
    path = f"{path_stem}_{'loglog' if log else 'linear'}.png"
    results_io.write_figure(path, lambda target: fig.savefig(target, format="png"))
    plt.close(fig)
    paths.append(path)
  return paths
