"""The honest protocol's pieces, shared by exp4, exp5 and exp6: a table row is a
committed config of configs/actor_folds/, run on every fold of a folds file; each
fold gives a record naming its test actors and the actors behind every choice
that led to its number (`selected_on`), which experiments.common refuses to
report if the two meet.
"""
import dataclasses
import functools
import importlib
import os
from typing import Sequence

import ml_collections
import numpy as np
from absl import flags

from configs.actor_folds import common as honest_configs
from emojax.data import splits
from experiments import common

# Paths relative to the repository's root, from which the experiments run, so
# that a run's record reads the same in any clone.
FOLDS_FILES = {"ours": "configs/ravdess_actor_folds.json",
               "emobox": "configs/emobox_actor_folds.json"}
REPORT_NAMES = {"ours": "actor_folds", "emobox": "emobox_folds"}
FOLDS = flags.DEFINE_list("folds", None, "Folds to run (default: every fold of the folds file).")
FOLDS_FILE = flags.DEFINE_enum(
    "folds_file", "ours", list(FOLDS_FILES), "ours: configs/ravdess_actor_folds.json; emobox: "
    "EmoBox's six speaker-independent folds (configs/emobox_actor_folds.json).")


@dataclasses.dataclass(frozen=True)
class Row:
  """A table row: a config of configs/actor_folds/, its setting, training share and
  seed (config.seed: initialisation, shuffling, dropout and mixup; not the folds)."""
  label: str
  config: str
  setting: str = "study"
  train_fraction: float = 1.0
  seed: int = 0

  @property
  def name(self) -> str:
    """The row's name in runs/, records/ and the JSON: probe_au, probe_au@dropout, ..."""
    name = self.config if self.setting == "study" else f"{self.config}@{self.setting}"
    name = name if self.train_fraction == 1.0 else f"{name}@train{self.train_fraction}"
    return name if self.seed == 0 else f"{name}@seed{self.seed}"

  @property
  def transductive(self) -> bool:
    """Reads the test actors' unlabelled clips (per-actor standardisation)."""
    return self.setting in honest_configs.TRANSDUCTIVE

  @property
  def config_arg(self) -> str:
    path = f"configs/actor_folds/{self.config}.py"
    return path if self.setting == "study" else f"{path}:{self.setting}"

  def with_setting(self, setting: str) -> "Row":
    return dataclasses.replace(self, setting=setting)

  def with_seed(self, seed: int) -> "Row":
    return dataclasses.replace(self, seed=seed)


@functools.lru_cache(maxsize=None)
def _folds(path: str) -> list[dict[str, list[int]]]:
  """A folds file, read once per process (every record and row needs it)."""
  return splits.load_actor_folds(path)


def folds_path() -> str:
  return "configs/sample_actor_folds.json" if common.QUICK.value else FOLDS_FILES[FOLDS_FILE.value]


def report_name(name: str) -> str:
  """`name` for our folds file; EmoBox's get a suffix."""
  return name if FOLDS_FILE.value == "ours" else f"{name}_{FOLDS_FILE.value}"


def selected_folds() -> list[int]:
  """--folds, else every fold of the folds file (fold 0 alone with --quick)."""
  if common.QUICK.value:
    return [0]
  if FOLDS.value:
    return [int(fold) for fold in FOLDS.value]
  return list(range(len(_folds(folds_path()))))


def make_config(row: Row, fold: int) -> ml_collections.ConfigDict:
  module = importlib.import_module(f"configs.actor_folds.{row.config}")
  overrides = {"data.split.fold": fold, "data.split.folds_file": folds_path()}
  if row.train_fraction != 1.0:
    overrides["data.split.train_fraction"] = row.train_fraction
  if row.seed:
    overrides["seed"] = row.seed
  return common.finish_config(module.get_config(row.setting), overrides)


def command(row: Row, fold: int = 0) -> str:
  """The command line that trains `row` on `fold` as the experiments do."""
  flags_ = [f"--config={row.config_arg}", f"--config.data.split.fold={fold}"]
  if folds_path() != FOLDS_FILES["ours"]:
    flags_.append(f"--config.data.split.folds_file={folds_path()}")
  if row.train_fraction != 1.0:
    flags_.append(f"--config.data.split.train_fraction={row.train_fraction}")
  if row.seed:
    flags_.append(f"--config.seed={row.seed}")
  flags_ += common.data_flags()
  return (f"python -m emojax.main {' '.join(flags_)} "
          f"--workdir=/tmp/{row.name.replace('@', '_')}_fold{fold}")


def row_runs(row: Row, folds: Sequence[int],
             keep_predictions: bool = False) -> list[common.RunResult | None]:
  """The row's run on each fold, trained unless recorded."""
  base = REPORT_NAMES[FOLDS_FILE.value]
  return [common.run(make_config(row, fold), base, row.name, f"fold{fold}",
                     keep_predictions=keep_predictions) for fold in folds]


def fold_actors(fold: int, train_fraction: float = 1.0) -> dict[str, list[int]]:
  """{"train", "val", "test"}: the fold's actors, with `train_fraction` of its training ones."""
  return splits.fewer_train_actors(_folds(folds_path())[fold], train_fraction)


def fold_record(row: Row, fold: int, result: common.RunResult,
                selected_on: Sequence[int], **extra) -> dict:
  """One fold's numbers: the fold's actors, `selected_on` (every actor whose data
  took part in a choice behind them), the selected epoch, validation and test
  accuracy and UAR of each head (the joint head's unprefixed)."""
  record = {"fold": fold, **fold_actors(fold, row.train_fraction),
            "selected_on": sorted(set(selected_on)),
            "selected_epoch": result.final["selected_epoch"], **extra}
  for key, value in result.final.items():
    split, _, metric = key.partition("/")
    if split in ("val", "test") and metric.endswith(("_accuracy", "_uar")):
      head, _, kind = metric.rpartition("_")
      prefix = "" if head == "joint" else f"{head}_"
      record[f"{prefix}{split}_{kind}"] = value
  return record


def epoch_records(row: Row, folds: Sequence[int],
                  results: Sequence[common.RunResult | None]) -> list[dict]:
  """Records of runs whose only choice is their epoch, on the fold's validation actors."""
  all_folds = _folds(folds_path())
  return [fold_record(row, fold, result, all_folds[fold]["val"])
          for fold, result in zip(folds, results) if result]


def records_by_fold(row: Row, folds: Sequence[int],
                    results: Sequence[common.RunResult | None]) -> list[dict | None]:
  """`epoch_records` aligned with `folds`: None where the run has not finished."""
  return [epoch_records(row, [fold], [result])[0] if result else None
          for fold, result in zip(folds, results)]


def choose_per_fold(candidates: dict[str, Sequence[dict | None]], folds: Sequence[int],
                    key: str) -> list[dict]:
  """Per fold, the record of the candidate with the best validation UAR (ties: the
  one named first), under `key` its name, chosen on that fold's validation actors
  only; `candidates` maps each name to its record on each fold of `folds` (None:
  not run yet). A fold where a candidate has not run is left out, not chosen
  among fewer."""
  names = list(candidates)
  chosen = []
  for index, fold in enumerate(folds):
    records = {name: candidates[name][index] for name in names}
    if not all(records.values()):
      continue
    best = max(names, key=lambda name: (records[name]["val_uar"], -names.index(name)))
    chosen.append({**records[best], key: best, "candidates": names})
  return chosen


def summarise(records: Sequence[dict], folds: Sequence[int]) -> dict:
  """Mean and std over the records of every test metric, with the records themselves."""
  done = {record["fold"] for record in records}
  summary = {"folds": list(records), "num_folds": len(records),
             "missing_folds": [fold for fold in folds if fold not in done]}
  if records:
    for key in sorted(k for k in records[0] if "test_" in k or "val_" in k):
      values = [record[key] for record in records]
      summary[f"{key}_mean"] = float(np.mean(values))
      summary[f"{key}_std"] = float(np.std(values))
  return summary


def mean_std(summary: dict, key: str) -> str:
  if f"{key}_mean" not in summary:
    return "-"
  return f"{100 * summary[f'{key}_mean']:.1f} +- {100 * summary[f'{key}_std']:.1f}"


def normalisation(row: Row) -> str:
  if row.transductive:
    return "per actor (transductive)"
  if row.setting in honest_configs.ENROLMENT:
    clips = "all other" if row.setting == "enrol_all" else honest_configs.ENROLMENT[row.setting]
    return f"enrolment ({clips} unlabelled clips of the speaker)"
  return "inductive"


def describe_folds(folds: Sequence[int]) -> str:
  return (f"{len(folds)} folds by actor of `{folds_path()}` (folds {', '.join(map(str, folds))})")
