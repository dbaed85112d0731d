"""Train / validation / test splits of RAVDESS examples, by protocol."""
import json
from typing import Sequence

import numpy as np

SPLITS = ("train", "val", "test")


def stratified_split(labels: np.ndarray, fractions: Sequence[float],
                     seed: int) -> list[np.ndarray]:
  """The study's `seed` protocol: a random split by example, stratified by class.

  Args:
    labels: [n] int class of each example.
    fractions: one fraction per split, summing to 1 (e.g. 0.8, 0.1, 0.1).
    seed: the split is a function of the seed alone.
  Returns:
    One sorted index array per split; together they hold every index once.
  """
  fractions = np.asarray(fractions, np.float64)
  if np.any(fractions < 0) or not np.isclose(fractions.sum(), 1.0):
    raise ValueError(f"Split fractions {tuple(fractions)} must be >= 0 and sum to 1.")
  rng = np.random.default_rng(seed)
  parts = [[] for _ in fractions]
  # Stratifying keeps every class in every split, which class pairing needs.
  for label in np.unique(labels):
    members = rng.permutation(np.flatnonzero(labels == label))
    bounds = np.round(np.cumsum(fractions)[:-1] * len(members)).astype(int)
    for part, chunk in zip(parts, np.split(members, bounds)):
      part.append(chunk)
  return [np.sort(np.concatenate([np.zeros(0, np.int64), *part])) for part in parts]


def load_actor_folds(path: str) -> list[dict[str, list[int]]]:
  """Reads a folds file: {"folds": [{"train": [actors], "val": [...], "test": [...]}, ...]}.

  Raises ValueError naming `path` if a fold lacks a split or puts an actor in two.
  """
  with open(path) as f:
    folds = json.load(f)["folds"]
  for i, fold in enumerate(folds):
    if set(fold) != set(SPLITS):
      raise ValueError(f"{path}: fold {i} has splits {sorted(fold)}, expected {list(SPLITS)}.")
    actors = [actor for name in SPLITS for actor in fold[name]]
    if len(actors) != len(set(actors)):
      raise ValueError(f"{path}: fold {i} puts an actor in more than one split.")
  return folds


def actor_split(actors: np.ndarray, fold: dict[str, list[int]]) -> list[np.ndarray]:
  """The honest protocol: examples split by the actor who recorded them.

  Args:
    actors: [n] int actor of each example.
    fold: {"train"|"val"|"test": [actor, ...]}.
  Returns:
    One sorted index array per split.
  """
  return [np.flatnonzero(np.isin(actors, fold[name])) for name in SPLITS]


def fewer_train_actors(fold: dict[str, list[int]], fraction: float) -> dict[str, list[int]]:
  """The fold with `fraction` of its training actors, as many women as men.

  RAVDESS actors with odd numbers are male, even female; the first of each in
  the fold's order are kept. Validation and test actors stay as they are.
  """
  if not 0 < fraction <= 1:
    raise ValueError(f"config.data.split.train_fraction={fraction}: expected a value in (0, 1].")
  per_sex = max(1, round(fraction * len(fold["train"]) / 2))
  male = [actor for actor in fold["train"] if actor % 2][:per_sex]
  female = [actor for actor in fold["train"] if not actor % 2][:per_sex]
  return {**fold, "train": sorted(male + female)}
