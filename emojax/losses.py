"""Composite losses: a weighted sum of named terms, built from config.

`config.loss` maps term names to weights. A term `<head>_ce` is the softmax
cross-entropy of that head's logits against the labels (over the examples
where `batch["mask"]` is 1, when the batch has a mask).
"""
from typing import Callable, Mapping

import jax.numpy as jnp
import optax

LossFn = Callable[[dict, dict], tuple[jnp.ndarray, dict[str, jnp.ndarray]]]


def cross_entropy(logits: jnp.ndarray, labels: jnp.ndarray,
                  mask: jnp.ndarray | None = None) -> jnp.ndarray:
  """Mean softmax cross-entropy of [batch, classes] logits and [batch] int labels.

  With a [batch] `mask`, the mean is over examples where mask is 1 (0 if none).
  """
  per_example = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
  if mask is None:
    return per_example.mean()
  return (per_example * mask).sum() / jnp.maximum(mask.sum(), 1.0)


def composite_loss(weights: Mapping[str, float], head_names: tuple[str, ...]) -> LossFn:
  """Returns loss_fn(outputs, batch) -> (total, {term: value}).

  Raises ValueError for a term that names no known loss or no head of the model.
  """
  terms = {}
  for name, weight in weights.items():
    head = name.removesuffix("_ce")
    if not name.endswith("_ce") or head not in head_names:
      raise ValueError(f"Unknown loss term config.loss.{name}; known terms for this "
                       f"model: {sorted(h + '_ce' for h in head_names)}.")
    terms[name] = (head, float(weight))

  def loss_fn(outputs: dict, batch: dict):
    values = {name: cross_entropy(outputs["logits"][head], batch["label"], batch.get("mask"))
              for name, (head, _) in terms.items()}
    total = sum(weight * values[name] for name, (_, weight) in terms.items())
    return total, values

  return loss_fn
