"""Privacy accounting for DP-SGD with the ``dp_accounting`` library.

The module is named ``privacy`` so that its name differs from the
``dp_accounting`` library that it wraps.
"""

from __future__ import annotations

import contextlib
import logging
import math
import numbers

import dp_accounting
from dp_accounting import pld, rdp

__all__ = ["ACCOUNTANTS", "dpsgd_epsilon"]

ACCOUNTANTS = ("rdp", "pld")
"""Names accepted by the ``accountant`` argument of :func:`dpsgd_epsilon`."""


def _validate_real(name: str, value) -> float:
  if isinstance(value, bool) or not isinstance(value, numbers.Real):
    raise ValueError(f"{name} must be a real number, got {value!r}.")
  return float(value)


def dpsgd_epsilon(
    *,
    noise_multiplier: float,
    sampling_rate: float,
    steps: int,
    delta: float,
    accountant: str = "rdp",
) -> float:
  r"""Compute the eps of DP-SGD with Poisson sampling and Gaussian noise.

  Each step samples every example independently with probability
  ``sampling_rate`` and adds Gaussian noise with standard deviation
  ``noise_multiplier`` times the clipping norm. The privacy loss is the
  ``steps``-fold composition

  .. math::

      \mathcal{M} = \bigl(\operatorname{PoissonSampled}_{q}
          \circ \operatorname{Gaussian}_{\sigma}\bigr)^{\otimes T},

  converted to the smallest eps with ``M`` (eps, delta)-DP that the chosen
  accountant can certify, under the add-or-remove-one neighboring relation
  (the library default).

  Args:
    noise_multiplier: Noise standard deviation over the clipping norm,
      ``sigma >= 0``. Zero means no noise, and the result is ``inf`` unless
      ``sampling_rate`` is 0.
    sampling_rate: Poisson sampling probability ``q`` in ``[0, 1]``. With 0
      no example is ever used, and the result is 0.0.
    steps: Number of training steps ``T``, an integer of at least 1.
    delta: Target delta in ``(0, 1)``.
    accountant: ``"rdp"`` for ``dp_accounting.rdp.RdpAccountant`` with its
      default orders, or ``"pld"`` for ``dp_accounting.pld.PLDAccountant``
      with its default discretization.

  Returns:
    The eps as a float: 0.0 when ``sampling_rate`` is 0, otherwise ``inf``
    when ``noise_multiplier`` is 0.

  Raises:
    ValueError: If an argument is out of range or of the wrong type, or if
      ``accountant`` is unknown.

  Example:
    >>> eps = dpsgd_epsilon(noise_multiplier=1.0, sampling_rate=0.01, steps=1000, delta=1e-5)
    >>> round(eps, 2)
    2.1
    >>> dpsgd_epsilon(noise_multiplier=0.0, sampling_rate=0.01, steps=10, delta=1e-5)
    inf

  References:
    Mironov, I., "Rényi differential privacy", IEEE Computer Security
    Foundations Symposium, 2017.

    Mironov, I., Talwar, K. and Zhang, L., "Rényi differential privacy of
    the sampled Gaussian mechanism", arXiv:1908.10530, 2019.
  """
  noise_multiplier = _validate_real("noise_multiplier", noise_multiplier)
  sampling_rate = _validate_real("sampling_rate", sampling_rate)
  delta = _validate_real("delta", delta)
  if not (math.isfinite(noise_multiplier) and noise_multiplier >= 0.0):
    raise ValueError(f"noise_multiplier must be a finite number >= 0, got {noise_multiplier!r}.")
  if not 0.0 <= sampling_rate <= 1.0:
    raise ValueError(f"sampling_rate must be in [0, 1], got {sampling_rate!r}.")
  if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
    raise ValueError(f"steps must be an integer >= 1, got {steps!r}.")
  if not 0.0 < delta < 1.0:
    raise ValueError(f"delta must be in (0, 1), got {delta!r}.")
  if accountant not in ACCOUNTANTS:
    raise ValueError(f"Unknown accountant {accountant!r}. Expected one of {', '.join(ACCOUNTANTS)}.")

  if sampling_rate == 0.0:
    return 0.0
  if noise_multiplier == 0.0:
    return math.inf

  step_event = dp_accounting.PoissonSampledDpEvent(sampling_rate, dp_accounting.GaussianDpEvent(noise_multiplier))
  training_event = dp_accounting.SelfComposedDpEvent(step_event, int(steps))
  if accountant == "rdp":
    privacy_accountant = rdp.RdpAccountant()
  else:
    privacy_accountant = pld.PLDAccountant()
  with _quiet_absl_logging():
    privacy_accountant.compose(training_event)
    return float(privacy_accountant.get_epsilon(delta))


@contextlib.contextmanager
def _quiet_absl_logging():
  """Hides dp_accounting's per-order convergence messages, which it logs through absl."""
  logger = logging.getLogger("absl")
  level = logger.level
  logger.setLevel(logging.ERROR)
  try:
    yield
  finally:
    logger.setLevel(level)
