"""Classification metrics from confusion matrices, and the per-epoch metric log."""
import json
import os
import re
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


def read_rows(path: str) -> list[dict]:
  """The rows of a metrics.jsonl. A half-written last line (a kill during the
  write) is dropped with a warning naming the file; damage elsewhere is an error."""
  with open(path) as f:
    lines = f.read().splitlines()
  rows = []
  for number, line in enumerate(lines, 1):
    try:
      rows.append(json.loads(line))
    except ValueError as error:
      if number < len(lines):
        raise ValueError(f"{path}, line {number}, is not JSON: {error}") from error
      logging.warning("Dropped the half-written last line of %s: %r", path, line[:80])
  return rows


# A list of numbers only (no strings, lists or objects inside), as json.dumps indents it.
_NUMBER_LIST = re.compile(r"\[\s*([-0-9.eE+,\s]+?)\s*\]")


def write_json(path: str, value, compact_numbers: bool = False) -> None:
  """Strict JSON (no NaN or Infinity), which every reader can parse; with
  `compact_numbers`, each list of numbers on one line (per-example probabilities
  would otherwise take a line per value)."""
  text = json.dumps(value, indent=2, sort_keys=True, allow_nan=False)
  if compact_numbers:
    text = _NUMBER_LIST.sub(lambda match: "[" + re.sub(r"\s+", " ", match.group(1)) + "]", text)
  with open(path, "w") as f:
    f.write(text)


class MetricLog:
  """Per epoch: one JSON object in `<workdir>/metrics.jsonl`, TensorBoard scalars in
  `<workdir>/tensorboard`, and a line in the log. Create it on process 0 only."""

  def __init__(self, workdir: str, resume_after_epoch: int):
    self.path = os.path.join(workdir, "metrics.jsonl")
    self.tensorboard = tf.summary.create_file_writer(os.path.join(workdir, "tensorboard"))
    # A resumed run drops rows of epochs it is about to redo.
    rows = read_rows(self.path) if os.path.exists(self.path) else []
    with open(self.path, "w") as f:
      f.writelines(json.dumps(row) + "\n" for row in rows if row["epoch"] <= resume_after_epoch)

  def write(self, epoch: int, metrics: Mapping[str, float]) -> None:
    row = {"epoch": epoch, **{k: float(v) for k, v in sorted(metrics.items())}}
    with open(self.path, "a") as f:
      f.write(json.dumps(row, allow_nan=False) + "\n")
    with self.tensorboard.as_default(step=epoch):
      for name, value in row.items():
        if name != "epoch":
          tf.summary.scalar(name, value)
    self.tensorboard.flush()
    logging.info("epoch %d: %s", epoch,
                 ", ".join(f"{k}={v:.4f}" for k, v in row.items() if k != "epoch"))
