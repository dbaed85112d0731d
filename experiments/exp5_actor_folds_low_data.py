r"""Experiment 2's question asked on the honest protocol: architectures 1, 3 and 4
trained on 50% and 25% of each fold's training actors (as many women as men),
chosen on the fold's validation actors and tested on its unseen test actors.
The 100% column is the honest protocol's runs (trained here if missing).

  python -m experiments.exp5_actor_folds_low_data          # folds 0 and 1
  python -m experiments.exp5_actor_folds_low_data --quick

Writes results/actor_folds_low_data.{md,json} and figures/actor_folds_low_data.png.
"""
from absl import app

from experiments import common
from experiments import exp4_actor_folds

TRAIN_FRACTIONS = (1.0, 0.5, 0.25)


def main(argv):
  del argv
  folds = exp4_actor_folds.selected_folds()
  summaries, runs = {}, {}
  for fraction in TRAIN_FRACTIONS:
    tag = "actor_folds" if fraction == 1.0 else f"actor_folds_train{fraction}"
    by_network = exp4_actor_folds.fold_runs(
        common.LOW_DATA_NETWORKS, {"data.split.train_fraction": fraction}, tag, folds)
    for key, results in by_network.items():
      summaries.setdefault(key, {})[str(fraction)] = exp4_actor_folds.summarise(
          results, folds)
      runs.update({f"{key}@{fraction}/fold{fold}": result
                   for fold, result in zip(folds, results)})

  header = ["network"] + [f"{int(100 * f)}% of training actors: accuracy / UAR"
                          for f in TRAIN_FRACTIONS]
  rows = [[network.label] + [
      f"{exp4_actor_folds.mean_std(summaries[network.config][str(f)], 'test_accuracy')} / "
      f"{exp4_actor_folds.mean_std(summaries[network.config][str(f)], 'test_uar')}"
      for f in TRAIN_FRACTIONS] for network in common.LOW_DATA_NETWORKS]
  markdown = (f"Less training data on the honest protocol ({len(folds)} folds by actor, "
              "action units): test accuracy / UAR of the joint head, mean +- std over "
              "folds (%).\n\n" + common.markdown_table(header, rows))
  common.write_report("actor_folds_low_data", markdown,
                      {"networks": summaries, "folds": folds}, runs)
  fractions = sorted(TRAIN_FRACTIONS)
  common.plot_curves(
      common.results_path("figures", "actor_folds_low_data.png"),
      {key: [by_fraction[str(f)]["test_uar_mean"] for f in fractions]
       for key, by_fraction in summaries.items()
       if all("test_uar_mean" in by_fraction[str(f)] for f in fractions)},
      "Honest protocol: less training data", ylabel="test UAR (mean over folds)",
      xlabel="share of each fold's training actors", x=fractions)
  return common.exit_code(runs)


if __name__ == "__main__":
  app.run(main)
