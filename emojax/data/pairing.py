"""Which audio example goes with which visual example."""
import numpy as np


def pair_by_class(labels: np.ndarray, partner_labels: np.ndarray, seed: int) -> np.ndarray:
  """The study's pairing: each example with a random partner of the same class.

  Within a class, the partners are shuffled and repeated to match the number
  of examples, so every partner is used about equally often.

  Args:
    labels: [n] int class of each example (of one modality).
    partner_labels: [m] int class of each candidate partner (of the other).
  Returns:
    [n] int index into the partners, with partner_labels[result] == labels.
  """
  rng = np.random.default_rng(seed)
  paired = np.empty(len(labels), np.int64)
  for label in np.unique(labels):
    examples = np.flatnonzero(labels == label)
    partners = np.flatnonzero(partner_labels == label)
    if len(partners) == 0:
      raise ValueError(
          f"Class {label} has {len(examples)} examples of one modality but none of the other "
          "to pair them with; use more data or data.pairing='clip'.")
    repeats = -(-len(examples) // len(partners))
    cycle = np.concatenate([rng.permutation(partners) for _ in range(repeats)])
    paired[examples] = cycle[:len(examples)]
  return paired
