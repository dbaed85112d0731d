"""Classification metrics from confusion matrices, and the per-epoch metric log."""
import json
import os
from typing import Mapping

import jax
import jax.numpy as jnp
import numpy as np
import tensorflow as tf
from absl import logging


def confusion_matrix(logits: jnp.ndarray, labels: jnp.ndarray, mask: jnp.ndarray) -> jnp.ndarray:
  """[classes, classes] float32 counts: row = true class, column = predicted class.

  Args:
    logits: [batch, classes]; labels: [batch] int; mask: [batch] 1 for real examples.
  """
  num_classes = logits.shape[-1]
  truth = jax.nn.one_hot(labels, num_classes) * mask[:, None]
  predicted = jax.nn.one_hot(jnp.argmax(logits, -1), num_classes)
  return truth.T @ predicted


def accuracy(confusion: np.ndarray) -> float:
  return float(np.trace(confusion) / max(confusion.sum(), 1))


def unweighted_average_recall(confusion: np.ndarray) -> float:
  """Mean over the classes present of each class's recall (UAR)."""
  support = confusion.sum(axis=1)
  present = support > 0
  return float(np.mean(np.diag(confusion)[present] / support[present]))


def summarise(prefix: str, confusions: Mapping[str, np.ndarray]) -> dict[str, float]:
  """{f"{prefix}/{head}_accuracy", f"{prefix}/{head}_uar"} for each head."""
  summary = {}
  for head, confusion in confusions.items():
    summary[f"{prefix}/{head}_accuracy"] = accuracy(confusion)
    summary[f"{prefix}/{head}_uar"] = unweighted_average_recall(confusion)
  return summary


class MetricLog:
  """Per epoch: one JSON object in `<workdir>/metrics.jsonl`, TensorBoard scalars in
  `<workdir>/tensorboard`, and a line in the log. Create it on process 0 only."""

  def __init__(self, workdir: str, resume_after_epoch: int):
    self.path = os.path.join(workdir, "metrics.jsonl")
    self.tensorboard = tf.summary.create_file_writer(os.path.join(workdir, "tensorboard"))
    # A resumed run drops rows of epochs it is about to redo.
    rows = []
    if os.path.exists(self.path):
      with open(self.path) as f:
        rows = [line for line in f if json.loads(line)["epoch"] <= resume_after_epoch]
    with open(self.path, "w") as f:
      f.writelines(rows)

  def write(self, epoch: int, metrics: Mapping[str, float]) -> None:
    row = {"epoch": epoch, **{k: float(v) for k, v in sorted(metrics.items())}}
    with open(self.path, "a") as f:
      f.write(json.dumps(row) + "\n")
    with self.tensorboard.as_default(step=epoch):
      for name, value in row.items():
        if name != "epoch":
          tf.summary.scalar(name, value)
    self.tensorboard.flush()
    logging.info("epoch %d: %s", epoch,
                 ", ".join(f"{k}={v:.4f}" for k, v in row.items() if k != "epoch"))
