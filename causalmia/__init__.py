"""causalmia: membership inference as a causal effect, in JAX."""
