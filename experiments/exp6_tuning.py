r"""Tuning nested in every fold by actor: for an MLP on ComParE functionals (trained
on speech, or on speech and song), the probe network with a ComParE MLP and
action units, the audio CNN and the probe network with action units, a ladder
of settings (configs/actor_folds/common.py), each adding one change to the one
before: the study's training; Adam for 30 epochs, the epoch chosen on validation
UAR; the audio CNN's features averaged over time (for the networks that have
one); dropout 0.3; mixup (alpha 0.2); SpecAugment's masks on the MFCCs and
attention pooling over time instead of the mean (again for the networks with an
MFCC CNN). In each fold, the setting best on that fold's validation actors (UAR)
is reported on that fold's test actors, which chose nothing. Per-actor
standardisation reads the test actors' unlabelled clips (transductive), so it is
chosen apart, between the study's training and the full ladder with it, and
reported in rows of its own.

  python -m experiments.exp6_tuning            # six folds
  python -m experiments.exp6_tuning --quick

Writes results/tuning.{md,json}.
"""
from absl import app

from experiments import common
from experiments import folds as folds_lib
from experiments.folds import Row

NETWORKS = (Row("MLP on ComParE", "mlp_compare"),
            Row("MLP on ComParE, trained on speech + song", "mlp_compare_song_trained"),
            Row("4: probe, ComParE MLP", "probe_compare_au"),
            Row("audio CNN", "audio"), Row("4: probe", "probe_au"))
# Time pooling, SpecAugment and attention pooling act on the MFCC CNN's input or
# feature map: no such steps for networks without one.
WITHOUT_AUDIO_CNN = ("mlp_compare", "mlp_compare_song_trained", "probe_compare_au")
AUDIO_CNN_STEPS = ("time_pooling", "specaugment", "attention_pooling")
CANDIDATES = {"inductive": ("study", "adam", "time_pooling", "dropout", "mixup", "specaugment",
                            "attention_pooling"),
              "transductive": ("standardised", "dropout_standardised")}
SETTING_LABELS = {"study": "the study's", "adam": "Adam + 30 epochs",
                  "time_pooling": "+ time pooling", "dropout": "+ dropout 0.3",
                  "mixup": "+ mixup 0.2", "specaugment": "+ SpecAugment",
                  "attention_pooling": "+ attention pooling",
                  "standardised": "the study's + per-actor standardisation",
                  "dropout_standardised": "+ dropout 0.3 + per-actor standardisation"}


def choose_per_fold(network: Row, settings: tuple[str, ...], folds: list[int],
                    ladder: dict[str, list]) -> list[dict]:
  """Per fold, the record of the setting best on that fold's validation actors
  (ties: the earlier, simpler one), under "setting"."""
  return folds_lib.choose_per_fold(
      {setting: folds_lib.records_by_fold(network.with_setting(setting), folds, ladder[setting])
       for setting in settings}, folds, key="setting")


def candidates(network: Row) -> dict[str, tuple[str, ...]]:
  """The ladder's settings for `network`, inductive and transductive."""
  return {kind: tuple(s for s in settings
                      if s not in AUDIO_CNN_STEPS or network.config not in WITHOUT_AUDIO_CNN)
          for kind, settings in CANDIDATES.items()}


def ladder_runs(network: Row, folds: list[int]) -> dict[str, list]:
  """{setting: its run on each fold} over the whole ladder, trained unless recorded."""
  return {setting: folds_lib.row_runs(network.with_setting(setting), folds)
          for settings in candidates(network).values() for setting in settings}


def main(argv):
  del argv
  folds = folds_lib.selected_folds()
  runs, grid, tuned = {}, {}, {}
  for network in NETWORKS:
    ladder = ladder_runs(network, folds)
    for setting, results in ladder.items():
      row = network.with_setting(setting)
      runs.update({f"{row.name}/fold{f}": r for f, r in zip(folds, results)})
      grid.setdefault(network.name, {})[setting] = {
          "config": row.config_arg, "normalisation": folds_lib.normalisation(row),
          **folds_lib.summarise(folds_lib.epoch_records(row, folds, results), folds)}
    for kind, settings in candidates(network).items():
      tuned.setdefault(network.name, {})[kind] = folds_lib.summarise(
          choose_per_fold(network, settings, folds, ladder), folds)

  grid_rows = [[network.label, SETTING_LABELS[setting], f"`{values['config']}`",
                values["normalisation"], folds_lib.mean_std(values, "val_uar"),
                folds_lib.mean_std(values, "test_uar")]
               for network in NETWORKS for setting, values in grid[network.name].items()]
  tuned_rows = [[network.label, kind,
                 " ".join(record["setting"] for record in summary["folds"]),
                 folds_lib.mean_std(summary, "test_accuracy"),
                 folds_lib.mean_std(summary, "test_uar"), summary["num_folds"]]
                for network in NETWORKS for kind, summary in tuned[network.name].items()]
  markdown = (
      f"Each setting on {folds_lib.describe_folds(folds)}: UAR (%) of the joint head at the "
      "epoch chosen on each fold's validation actors, mean +- std over folds.\n\n"
      + common.markdown_table(["network", "setting", "config", "normalisation", "val UAR",
                               "test UAR"], grid_rows)
      + "\nIn each fold, the setting best on that fold's validation actors, on its test "
      "actors: accuracy and UAR (%), mean +- std over folds; inductive and transductive "
      "choices apart.\n\n"
      + common.markdown_table(["network", "normalisation", "setting chosen per fold",
                               "test accuracy", "test UAR", "folds"], tuned_rows)
      + f"\nOne setting on one fold: `{folds_lib.command(NETWORKS[2].with_setting('dropout'))}`\n")
  common.write_report(folds_lib.report_name("tuning"), markdown,
                      {"grid": grid, "tuned": tuned, "folds": folds}, runs)
  return common.exit_code(runs)


if __name__ == "__main__":
  app.run(main)
