r"""The experiments' budget on this host: per script of experiments/run_all.sh, its
runs finished and still to train, and their summed training time (each run's
`train_seconds`, kept in its record: the wall time of training and evaluating it,
without the process's start or the feature build); and the whole suite's over
distinct runs (results/records/), since the scripts share runs.

  python -m experiments.budget

Writes results/budget.md from the experiments' JSON; run_all.sh runs it last.
"""
import glob
import json
import os

from absl import app

from experiments import common

# (command, the report it writes), in run_all.sh's order.
SCRIPTS = (
    ("exp1_architectures --visual=image", "exp1_image"),
    ("exp1_architectures --visual=au", "exp1_au"),
    ("exp2_low_data --visual=image --seeds=0,1,2", "exp2_image"),
    ("exp3_probe_curves --visual=image", "exp3_image"),
    ("exp4_actor_folds", "actor_folds"),
    ("exp5_actor_folds_low_data", "actor_folds_low_data"),
    ("exp6_tuning", "tuning"),
    ("exp7_seed_ensembles", "ensembles"),
    ("exp8_targets", "targets"),
    ("exp4_actor_folds --folds_file=emobox", "actor_folds_emobox"),
)


def hours(seconds: float) -> str:
  return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def script_rows() -> list[list[str]]:
  rows = []
  for command, report in SCRIPTS:
    path = common.results_path(f"{report}.json")
    if not os.path.exists(path):
      rows.append([f"`{command}`", "-", "-", "-"])
      continue
    with open(path) as f:
      numbers = json.load(f)
    # Reports written before runs were counted give their time only.
    rows.append([f"`{command}`", numbers.get("runs_finished", "-"),
                 numbers.get("runs_to_train", "-"), hours(numbers["train_seconds_total"])])
  return rows


def distinct_runs() -> tuple[int, float]:
  """How many runs results/records/ keeps, and their summed training time."""
  seconds = []
  for path in glob.glob(common.results_path("records", "**", "*.json"), recursive=True):
    with open(path) as f:
      seconds.append(json.load(f)["train_seconds"] or 0.0)
  return len(seconds), sum(seconds)


def main(argv):
  del argv
  count, seconds = distinct_runs()
  markdown = (
      "Training time on this host (2 CPU cores), summed over each script's runs from "
      "their records; scripts share runs (exp5 and exp8 read exp4's, exp7 and exp8 "
      "exp6's), so the column counts some runs more than once.\n\n"
      + common.markdown_table(["script", "runs finished", "runs to train", "training time"],
                              script_rows())
      + f"\nDistinct runs kept in `results/records/`: {count}, {hours(seconds)} of training "
      "(the seed-protocol image experiments' runs predate records and are not among them).\n")
  with open(common.results_path("budget.md"), "w") as f:
    f.write(markdown)
  print(markdown)


if __name__ == "__main__":
  app.run(main)
