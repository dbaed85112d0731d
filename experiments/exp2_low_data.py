r"""Experiment 2 of the study: architectures 1, 3 and 4 trained on less data, on the
study's protocol (`seed`) with the hyperparameters of experiment 1.

The study split 50/50 and 25/75 (no validation); here 0.5/0.1/0.4 and 0.25/0.1/0.65,
so that a validation set still chooses the epoch. The 80% column is experiment 1's
runs (trained here if missing). With --seeds, each cell is the mean +- std over
replicates whose seed draws the split, the pairing, the initialisation and the
order of examples (seed 0 is experiment 1's).

  python -m experiments.exp2_low_data --visual=image
  python -m experiments.exp2_low_data --seeds=0,1,2   # three replicates, about 3x the time
  python -m experiments.exp2_low_data --quick

Writes results/exp2_<visual>.{md,json} and figures/exp2_<visual>_test_accuracy.png.
"""
import numpy as np
from absl import app
from absl import flags

from experiments import common

_VISUAL = flags.DEFINE_enum("visual", "image", ["image", "au"], "The visual modality.")
_SEEDS = flags.DEFINE_list("seeds", ["0"], "Replicates: config.seed and data.split.seed; one "
                           "fits the 30-minute budget on 2 CPU cores.")

TRAIN_SHARES = {0.8: (0.8, 0.1, 0.1), 0.5: (0.5, 0.1, 0.4), 0.25: (0.25, 0.1, 0.65)}
STUDY_TEST_ACCURACY = {  # Train share -> network -> %; 0.8 is experiment 1.
    0.8: {"concat": 90, "concat_equalized": 89, "probe": 91},
    0.5: {"concat": 84, "concat_equalized": 85, "probe": 86},
    0.25: {"concat": 73, "concat_equalized": 78, "probe": 80},
}


def seed_runs(share: float, seed: int, visual: str) -> dict:
  """{network config: RunResult or None} of one train share and seed."""
  tag = f"seed_{visual}" if share == 0.8 else f"seed_{visual}_train{share}"
  overrides = {"data.split.fractions": TRAIN_SHARES[share], "seed": seed,
               "data.split.seed": seed}
  return common.network_runs(common.LOW_DATA_NETWORKS, visual, overrides,
                             tag if seed == 0 else f"{tag}_seed{seed}")


def main(argv):
  del argv
  visual = _VISUAL.value
  seeds = [int(seed) for seed in _SEEDS.value]
  name = f"exp2_{visual}"
  results, numbers = {}, {}
  for share in TRAIN_SHARES:
    finals = {}
    for seed in seeds:
      for key, result in seed_runs(share, seed, visual).items():
        results[f"{key}@{share}/seed{seed}"] = result
        if result:
          finals.setdefault(key, []).append({"seed": seed, **{
              metric: result.final[f"test/joint_{metric}"] for metric in ("accuracy", "uar")},
              "selected_epoch": result.final["selected_epoch"]})
    for key, per_seed in finals.items():
      accuracy = [run["accuracy"] for run in per_seed]
      numbers.setdefault(key, {})[str(share)] = {
          "test_accuracy": float(np.mean(accuracy)), "test_accuracy_std": float(np.std(accuracy)),
          "test_uar": float(np.mean([run["uar"] for run in per_seed])), "seeds": per_seed,
          "study_test_accuracy": STUDY_TEST_ACCURACY[share][key] / 100}

  header = ["network"] + [f"{int(100 * share)}% train (study)" for share in TRAIN_SHARES]
  rows = []
  for network in common.LOW_DATA_NETWORKS:
    cells = []
    for share in TRAIN_SHARES:
      measured = numbers.get(network.config, {}).get(str(share))
      study = STUDY_TEST_ACCURACY[share][network.config]
      if not measured:
        cells.append(f"failed ({study})")
        continue
      spread = (f" +- {common.percent(measured['test_accuracy_std'])}"
                if len(measured["seeds"]) > 1 else "")
      cells.append(f"{common.percent(measured['test_accuracy'])}{spread} ({study})")
    rows.append([network.label, *cells])
  replicates = (f"mean +- std over seeds {', '.join(map(str, seeds))}" if len(seeds) > 1
                else f"seed {seeds[0]}")
  markdown = (f"Experiment 2, the study's protocol (`seed`), visual = {visual}: test accuracy "
              f"(%) of the joint head with less training data ({replicates}); the study's in "
              "brackets.\n\n" + common.markdown_table(header, rows))
  common.write_report(name, markdown, {"visual": visual, "seeds": seeds, "networks": numbers},
                      results)
  shares = sorted(TRAIN_SHARES)
  complete = {key: [by_share[str(s)]["test_accuracy"] for s in shares]
              for key, by_share in numbers.items() if len(by_share) == len(shares)}
  common.plot_curves(common.results_path("figures", f"{name}_test_accuracy.png"), complete,
                     f"Experiment 2 ({visual}): less training data", ylabel="test accuracy",
                     xlabel="share of the data used for training", x=shares)
  return common.exit_code(results)


if __name__ == "__main__":
  app.run(main)
