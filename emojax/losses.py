"""Composite losses: a weighted sum of named terms, built from config.

`config.loss.terms` maps term names to weights:
- `<head>_ce`: softmax cross-entropy of that head's logits against the labels
  (over the examples where `batch["mask"]` is 1, when the batch has a mask),
  with `config.loss.label_smoothing`;
- `classifier_l2`: half the squared L2 norm of the classifier's parameters
  (the shared classifier, else the joint one): the study's Reg(C);
- `embedding_l2`, `embedding_cosine`: mean squared distance, or 1 - cosine
  similarity, between the two modalities' embeddings: its Similarity(phi_a, phi_i);
- `<modality>_probe_distill`: KL divergence from a frozen teacher's softened
  predictions (`outputs["teacher_logits"][modality]`) to the probe's, at
  `config.distill.temperature`, scaled by its square (Hinton et al., 2015).
"""
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import optax

LossFn = Callable[[dict, dict, dict], tuple[jnp.ndarray, dict[str, jnp.ndarray]]]


def _masked_mean(values: jnp.ndarray, mask: jnp.ndarray | None) -> jnp.ndarray:
  if mask is None:
    return values.mean()
  return (values * mask).sum() / jnp.maximum(mask.sum(), 1.0)


def cross_entropy(logits: jnp.ndarray, labels: jnp.ndarray, mask: jnp.ndarray | None = None,
                  label_smoothing: float = 0.0) -> jnp.ndarray:
  """Mean softmax cross-entropy of [batch, classes] logits and [batch] int labels.

  With a [batch] `mask`, the mean is over examples where mask is 1 (0 if none).
  """
  targets = optax.smooth_labels(jax.nn.one_hot(labels, logits.shape[-1]), label_smoothing)
  return _masked_mean(optax.softmax_cross_entropy(logits, targets), mask)


def _mixed_cross_entropy(logits: jnp.ndarray, batch: dict, mask: jnp.ndarray | None,
                         smoothing: float) -> jnp.ndarray:
  """Mean of w CE(label) + (1 - w) CE(mix_label) per example (`augment.mixup`)."""
  targets = [optax.smooth_labels(jax.nn.one_hot(batch[key], logits.shape[-1]), smoothing)
             for key in ("label", "mix_label")]
  weight = batch["mix_weight"]
  per_example = (weight * optax.softmax_cross_entropy(logits, targets[0])
                 + (1 - weight) * optax.softmax_cross_entropy(logits, targets[1]))
  return _masked_mean(per_example, mask)


def classifier_l2(params: dict) -> jnp.ndarray:
  """Half the squared L2 norm of the shared (else joint) classifier's parameters."""
  classifier = params.get("shared_classifier", params.get("joint_classifier"))
  return 0.5 * sum(jnp.sum(jnp.square(p)) for p in jax.tree.leaves(classifier))


def embedding_l2(a: jnp.ndarray, b: jnp.ndarray) -> jnp.ndarray:
  """[batch] squared Euclidean distance between [batch, dim] embeddings."""
  return jnp.sum(jnp.square(a - b), axis=-1)


def embedding_cosine(a: jnp.ndarray, b: jnp.ndarray) -> jnp.ndarray:
  """[batch] 1 - cosine similarity of [batch, dim] embeddings."""
  norms = jnp.linalg.norm(a, axis=-1) * jnp.linalg.norm(b, axis=-1)
  return 1.0 - jnp.sum(a * b, axis=-1) / jnp.maximum(norms, 1e-8)


def distillation_kl(student_logits: jnp.ndarray, teacher_logits: jnp.ndarray,
                    temperature: float) -> jnp.ndarray:
  """[batch] T^2 KL(softmax(teacher / T) || softmax(student / T))."""
  teacher = jax.nn.log_softmax(teacher_logits / temperature)
  student = jax.nn.log_softmax(student_logits / temperature)
  return temperature**2 * jnp.sum(jnp.exp(teacher) * (teacher - student), axis=-1)


_SIMILARITIES = {"embedding_l2": embedding_l2, "embedding_cosine": embedding_cosine}


def composite_loss(loss_config: ml_collections.ConfigDict, head_names: Sequence[str],
                   modalities: Sequence[str], teachers: Sequence[str] = (),
                   temperature: float = 1.0) -> LossFn:
  """Returns loss_fn(outputs, batch, params) -> (total, {term: value}).

  `teachers`: the modalities with a teacher, whose probes can be distilled.

  Raises ValueError for a term that names no known loss, or one this model
  cannot compute (a head it lacks; a similarity without two modalities).
  """
  known = [f"{head}_ce" for head in head_names] + ["classifier_l2"]
  if len(modalities) == 2:
    known += list(_SIMILARITIES)
  known += [f"{m}_probe_distill" for m in teachers if f"{m}_probe" in head_names]
  weights = dict(loss_config.terms)
  for name in weights:
    if name not in known:
      raise ValueError(f"Unknown loss term config.loss.terms.{name}; this model's terms: "
                       f"{known}.")
  smoothing = loss_config.label_smoothing

  def loss_fn(outputs: dict, batch: dict, params: dict):
    mask = batch.get("mask")
    values = {}
    for name in weights:
      if name.endswith("_ce"):
        logits = outputs["logits"][name.removesuffix("_ce")]
        if "mix_weight" in batch:  # Mixup: both labels, by the inputs' weights.
          values[name] = _mixed_cross_entropy(logits, batch, mask, smoothing)
        else:
          values[name] = cross_entropy(logits, batch["label"], mask, smoothing)
      elif name == "classifier_l2":
        values[name] = classifier_l2(params)
      elif name.endswith("_probe_distill"):
        modality = name.removesuffix("_probe_distill")
        values[name] = _masked_mean(distillation_kl(
            outputs["logits"][f"{modality}_probe"], outputs["teacher_logits"][modality],
            temperature), mask)
      else:
        first, second = (outputs["embeddings"][m] for m in modalities)
        values[name] = _masked_mean(_SIMILARITIES[name](first, second), mask)
    total = sum(weight * values[name] for name, weight in weights.items())
    return total, values

  return loss_fn
