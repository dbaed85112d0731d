r"""The benchmark's targets, each met or not by one choice per fold made on that
fold's validation actors. For each target (experiments/baselines.py's TARGETS:
audio alone, audio + action units, the probe network with action units), the
candidates are every inductive row about it: exp4's rows, each setting of exp6's
ladder for the networks it tunes, and exp7's seed ensembles. In each fold, the
candidate with the best validation UAR is reported on the fold's test actors,
which chose nothing; so the table's number is not the best row picked by its
test score, which would overstate what a user choosing on validation gets.

  python -m experiments.exp8_targets                 # six folds
  python -m experiments.exp8_targets --records_only  # from results/records only

Writes results/targets.{md,json}. A fold counts once every candidate has run on it.
"""
import collections

from absl import app

from experiments import baselines
from experiments import common
from experiments import exp4_actor_folds
from experiments import exp6_tuning
from experiments import exp7_seed_ensembles
from experiments import folds as folds_lib
from experiments.folds import Row

# What every candidate's record gives, so that records of rows and of ensembles summarise alike.
KEYS = ("fold", "train", "val", "test", "selected_on", "val_accuracy", "val_uar",
        "test_accuracy", "test_uar")
ENSEMBLE = f"ensemble of {len(exp7_seed_ensembles.SEEDS)} seeds: "


def candidate_rows(configs: tuple[str, ...]) -> list[Row]:
  """exp4's inductive rows of `configs`, with exp6's ladder in place of a tuned network's row."""
  tuned = {network.config: network for network in exp6_tuning.NETWORKS}
  rows = []
  for row in exp4_actor_folds.INDUCTIVE_ROWS:
    if row.config not in configs:
      continue
    if row.config in tuned:
      network = tuned[row.config]
      rows += [network.with_setting(s) for s in exp6_tuning.candidates(network)["inductive"]]
    else:
      rows.append(row)
  return rows


def candidate_records(configs: tuple[str, ...], folds: list[int]) -> tuple[dict, dict]:
  """{candidate: its record on each fold, None where not run}, and the runs behind them."""
  records, runs = {}, {}
  for row in candidate_rows(configs):
    results = folds_lib.row_runs(row, folds)
    runs.update({f"{row.name}/fold{fold}": result for fold, result in zip(folds, results)})
    records[row.name] = folds_lib.records_by_fold(row, folds, results)
  for network in exp7_seed_ensembles.NETWORKS:
    if network.config in configs:
      ensembles, ensemble_runs = exp7_seed_ensembles.fold_ensembles(network, folds)
      runs.update(ensemble_runs)
      by_fold = {record["fold"]: record for record in ensembles}
      records[ENSEMBLE + network.name] = [by_fold.get(fold) for fold in folds]
  slim = {name: [{key: record[key] for key in KEYS} if record else None for record in per_fold]
          for name, per_fold in records.items()}
  return slim, runs


def chosen_counts(records: list[dict]) -> str:
  """"name (folds chosen in)" per chosen candidate, most chosen first."""
  counts = collections.Counter(record["chosen"] for record in records)
  return "; ".join(f"{name} ({count})" for name, count in counts.most_common())


def verdict(summary: dict, target: float, folds: list[int]) -> str:
  """"yes" or "no" once every fold has chosen and scored, else "-": the target is a
  mean over all the folds, and the folds in so far say nothing of the others."""
  if summary["num_folds"] < len(folds):
    return "-"
  return "yes" if summary["test_uar_mean"] >= target else "no"


def main(argv):
  del argv
  folds = folds_lib.selected_folds()
  summaries, runs, table_rows = {}, {}, []
  for what, configs, target in baselines.TARGETS:
    records, target_runs = candidate_records(configs, folds)
    runs.update(target_runs)
    summary = folds_lib.summarise(folds_lib.choose_per_fold(records, folds, key="chosen"), folds)
    met = verdict(summary, target, folds)
    summaries[what] = {"target_uar": target, "candidates": list(records), "met": met, **summary}
    table_rows.append([what, f"{100 * target:.0f}", len(records),
                       chosen_counts(summary["folds"]),
                       folds_lib.mean_std(summary, "test_accuracy"),
                       folds_lib.mean_std(summary, "test_uar"), met, summary["num_folds"]])
  candidates = "\n".join(f"- {what}: {', '.join(summaries[what]['candidates'])}"
                         for what, _, _ in baselines.TARGETS)
  markdown = (
      f"The targets on {folds_lib.describe_folds(folds)}, inductive: in each fold, among "
      "every candidate for the target, the one with the best validation UAR, reported on "
      "the fold's test actors; test accuracy and UAR (%) of the joint head, mean +- std "
      "over folds.\n\n"
      + common.markdown_table(["target", "UAR to reach", "candidates", "chosen per fold",
                               "test accuracy", "test UAR", "met", "folds"], table_rows)
      + f"\nCandidates (rows of results/actor_folds.md, settings of results/tuning.md, "
      f"ensembles of results/ensembles.md):\n\n{candidates}\n")
  common.write_report(folds_lib.report_name("targets"), markdown,
                      {"targets": summaries, "folds": folds}, runs)
  return common.exit_code(runs)


if __name__ == "__main__":
  app.run(main)
