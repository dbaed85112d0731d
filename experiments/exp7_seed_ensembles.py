r"""Ensembles over seeds, nested in every fold by actor. For each ComParE network of
exp6's ladder, the setting chosen on the fold's validation actors
(experiments/exp6_tuning.py) is trained again with seeds 1 to 5 (initialisation,
shuffling, dropout and mixup); the ensemble averages their joint heads' class
probabilities, each run at the epoch chosen on validation. Its size is fixed
beforehand, so the ensemble chooses nothing and its test actors choose nothing.

  python -m experiments.exp7_seed_ensembles            # six folds
  python -m experiments.exp7_seed_ensembles --quick

Writes results/ensembles.{md,json}: per network, the members' test UAR and the
ensemble's, mean +- std over folds, with each fold's record.
"""
from typing import Sequence

import numpy as np
from absl import app

from emojax import metrics as metrics_lib
from experiments import common
from experiments import exp6_tuning
from experiments import folds as folds_lib
from experiments.folds import Row

SEEDS = (1, 2, 3, 4, 5)
NETWORKS = tuple(network for network in exp6_tuning.NETWORKS
                 if network.config in exp6_tuning.WITHOUT_AUDIO_CNN)


def ensemble_metrics(predictions: Sequence[dict[str, list]]) -> dict[str, float]:
  """Accuracy and UAR of the mean of the members' probabilities on one split; the
  members must have scored the same clips with the same labels."""
  first = predictions[0]
  for member in predictions[1:]:
    if member["clip"] != first["clip"] or member["label"] != first["label"]:
      raise ValueError("The ensemble's members scored different examples; they must share "
                       "the fold and the data config.")
  probabilities = np.mean([member["probabilities"] for member in predictions], axis=0)
  num_classes = probabilities.shape[1]
  confusion = np.zeros((num_classes, num_classes))
  np.add.at(confusion, (np.array(first["label"]), probabilities.argmax(1)), 1)
  return {"accuracy": metrics_lib.accuracy(confusion),
          "uar": metrics_lib.unweighted_average_recall(confusion)}


def fold_ensembles(network: Row, folds: list[int]) -> tuple[list[dict], dict]:
  """Per fold whose ladder and members all ran, the ensemble's record; and the runs."""
  chosen = exp6_tuning.choose_per_fold(
      network, exp6_tuning.candidates(network)["inductive"], folds,
      exp6_tuning.ladder_runs(network, folds))
  records, runs = [], {}
  for choice in chosen:
    fold, setting = choice["fold"], choice["setting"]
    members = [network.with_setting(setting).with_seed(seed) for seed in SEEDS]
    results = [folds_lib.row_runs(member, [fold], keep_predictions=True)[0] for member in members]
    runs.update({f"{member.name}/fold{fold}": result
                 for member, result in zip(members, results)})
    if not all(results):
      continue
    actors = folds_lib.fold_actors(fold)
    record = {"fold": fold, **actors, "selected_on": actors["val"], "setting": setting,
              "members": [{"seed": seed, "selected_epoch": result.final["selected_epoch"],
                           "test_uar": result.final["test/joint_uar"]}
                          for seed, result in zip(SEEDS, results)]}
    for split in ("val", "test"):
      metrics = ensemble_metrics([result.predictions[split] for result in results])
      record.update({f"{split}_{name}": value for name, value in metrics.items()})
    record["member_test_uar"] = float(np.mean([m["test_uar"] for m in record["members"]]))
    records.append(record)
  return records, runs


def main(argv):
  del argv
  folds = folds_lib.selected_folds()
  summaries, runs = {}, {}
  for network in NETWORKS:
    records, network_runs = fold_ensembles(network, folds)
    runs.update(network_runs)
    summaries[network.name] = folds_lib.summarise(records, folds)
  rows = [[network.label, " ".join(r["setting"] for r in summaries[network.name]["folds"]),
           folds_lib.mean_std(summaries[network.name], "member_test_uar"),
           folds_lib.mean_std(summaries[network.name], "test_accuracy"),
           folds_lib.mean_std(summaries[network.name], "test_uar"),
           summaries[network.name]["num_folds"]] for network in NETWORKS]
  example = NETWORKS[-1].with_setting("mixup").with_seed(SEEDS[0])
  markdown = (
      f"Ensembles of {len(SEEDS)} seeds on {folds_lib.describe_folds(folds)}: in each fold, "
      "the setting exp6 chose on that fold's validation actors, trained with seeds "
      f"{', '.join(map(str, SEEDS))}; the ensemble averages their class probabilities. "
      "Test UAR of one member (mean over members and folds) and the ensemble's accuracy "
      "and UAR (%), mean +- std over folds.\n\n"
      + common.markdown_table(["network", "setting chosen per fold", "member test UAR",
                               "ensemble test accuracy", "ensemble test UAR", "folds"], rows)
      + f"\nOne member on one fold: `{folds_lib.command(example)}`\n")
  common.write_report(folds_lib.report_name("ensembles"), markdown,
                      {"rows": summaries, "folds": folds, "seeds": list(SEEDS)}, runs)
  return common.exit_code(runs)


if __name__ == "__main__":
  app.run(main)
