r"""Experiment 2's question asked on the honest protocol: architectures 1, 3 and 4
(and logistic regression on eGeMAPS and on action units, the floor)
trained on 50% and 25% of each fold's training actors (as many women as men),
the epoch chosen on the fold's validation actors, tested on its unseen test actors.
The 100% column is the honest protocol's runs (trained here if missing).

  python -m experiments.exp5_actor_folds_low_data          # six folds
  python -m experiments.exp5_actor_folds_low_data --quick

Writes results/actor_folds_low_data.{md,json} and figures/actor_folds_low_data.png.
"""
import dataclasses

from absl import app

from experiments import common
from experiments import exp4_actor_folds
from experiments import folds as folds_lib

TRAIN_FRACTIONS = (1.0, 0.5, 0.25)
ROWS = tuple(row for row in exp4_actor_folds.INDUCTIVE_ROWS
             if row.config in ("linear_egemaps", "linear_au", "concat_au",
                               "concat_equalized_au", "probe_au"))


def main(argv):
  del argv
  folds = folds_lib.selected_folds()
  summaries, runs = {}, {}
  for fraction in TRAIN_FRACTIONS:
    rows = [dataclasses.replace(row, train_fraction=fraction) for row in ROWS]
    by_row, fraction_runs = exp4_actor_folds.row_summaries(rows, folds)
    runs.update(fraction_runs)
    for row, plain in zip(rows, ROWS):
      summaries.setdefault(plain.name, {})[str(fraction)] = by_row[row.name]

  header = ["network"] + [f"{int(100 * f)}% of training actors: accuracy / UAR"
                          for f in TRAIN_FRACTIONS]
  rows = [[row.label] + [
      f"{folds_lib.mean_std(summaries[row.name][str(f)], 'test_accuracy')} / "
      f"{folds_lib.mean_std(summaries[row.name][str(f)], 'test_uar')}"
      for f in TRAIN_FRACTIONS] for row in ROWS]
  example = dataclasses.replace(ROWS[-1], train_fraction=0.25)
  markdown = (f"Less training data on the honest protocol ({folds_lib.describe_folds(folds)}, "
              "action units): test accuracy / UAR of the joint head, mean +- std over "
              "folds (%).\n\n" + common.markdown_table(header, rows)
              + f"\nOne cell on one fold: `{folds_lib.command(example)}`\n")
  common.write_report(folds_lib.report_name("actor_folds_low_data"), markdown,
                      {"rows": summaries, "folds": folds}, runs)
  fractions = sorted(TRAIN_FRACTIONS)
  common.plot_curves(
      common.results_path("figures", f"{folds_lib.report_name('actor_folds_low_data')}.png"),
      {name: [by_fraction[str(f)]["test_uar_mean"] for f in fractions]
       for name, by_fraction in summaries.items()
       if all("test_uar_mean" in by_fraction[str(f)] for f in fractions)},
      "Honest protocol: less training data", ylabel="test UAR (mean over folds)",
      xlabel="share of each fold's training actors", x=fractions)
  return common.exit_code(runs)


if __name__ == "__main__":
  app.run(main)
