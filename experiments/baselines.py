"""The baselines table: exp4's rows as network x features x normalisation, the
joint head's test accuracy and UAR over the folds, and which rows reach the
targets the benchmark set itself (inductive rows only: nothing of a test actor
but the clip at hand). Written by experiments.exp4_actor_folds beside its own
table, as results/baselines.{md,json}.
"""
from typing import Sequence

from experiments import common
from experiments import folds as folds_lib
from experiments.folds import Row

MFCC, AU, COMPARE = "MFCC 40x128", "action units (35)", "ComParE 2016 (6,373)"
# Row config -> (network, features).
NETWORKS = {
    "linear_egemaps": ("logistic regression", "eGeMAPS v02 (88)"),
    "linear_compare": ("logistic regression", COMPARE),
    "linear_mfcc": ("logistic regression", "MFCC mean + std (80)"),
    "linear_au": ("logistic regression", AU),
    "mlp_compare": ("MLP", COMPARE),
    "mlp_compare_song_trained": ("MLP, trained on speech + song", COMPARE),
    "compare_au": ("3: concat, equalised", f"{COMPARE} + {AU}"),
    "probe_compare_au": ("4: probe", f"{COMPARE} + {AU}"),
    "audio": ("audio CNN", MFCC),
    "audio_log_mel": ("audio CNN", "log-mel 40x128"),
    "audio_test_windows": ("audio CNN, outputs averaged over 3 windows", MFCC),
    "audio_train_windows": ("audio CNN, trained on random windows, 3 averaged", MFCC),
    "audio_speech_song": ("audio CNN, trained and tested on speech + song", MFCC),
    "audio_song_trained": ("audio CNN, trained on speech + song", MFCC),
    "au": ("MLP", AU),
    "concat_au": ("1: concat", f"{MFCC} + {AU}"),
    "concat_lstm_au": ("2: concat, LSTM audio", f"{MFCC} + {AU}"),
    "concat_equalized_au": ("3: concat, equalised", f"{MFCC} + {AU}"),
    "probe_au": ("4: probe", f"{MFCC} + {AU}"),
    "joint_loss_au": ("0: joint loss", f"{MFCC} + {AU}"),
}
# (what, the rows' configs it is about, the UAR to reach), from the benchmark's issue.
TARGETS = (
    ("audio alone", ("linear_egemaps", "linear_compare", "linear_mfcc", "mlp_compare",
                     "mlp_compare_song_trained", "audio",
                     "audio_log_mel", "audio_test_windows", "audio_train_windows",
                     "audio_song_trained"), 0.65),
    ("audio + action units", ("compare_au", "probe_compare_au", "concat_au", "concat_lstm_au",
                              "concat_equalized_au", "probe_au", "joint_loss_au"), 0.75),
    ("the probe network with action units", ("probe_au", "probe_compare_au"), 0.70),
)


def normalisation(row: Row) -> str:
  """inductive, per_actor (transductive) or enrol-K."""
  if row.transductive:
    return "per_actor"
  if row.setting.startswith("enrol"):
    return f"enrol-{row.setting.removeprefix('enrol').lstrip('_')}"
  return "inductive"


def rows(table_rows: Sequence[Row], summaries: dict[str, dict]) -> list[dict]:
  """One entry per row: network, features, normalisation, config, folds and means."""
  entries = []
  for row in table_rows:
    summary = summaries[row.name]
    network, features = NETWORKS[row.config]
    entries.append({
        "name": row.name, "network": network, "features": features,
        "normalisation": normalisation(row), "config": row.config_arg,
        "folds": summary["folds"], "num_folds": summary["num_folds"],
        **{key: summary.get(key) for key in ("val_uar_mean", "val_uar_std", "test_uar_mean",
                                              "test_uar_std", "test_accuracy_mean",
                                              "test_accuracy_std")}})
  return entries


def reached(entries: Sequence[dict], num_folds: int) -> list[str]:
  """A line per target: the inductive rows, over every fold, at or above it."""
  lines = []
  for what, configs, target in TARGETS:
    candidates = [entry for entry in entries if entry["normalisation"] == "inductive"
                  and entry["name"] in configs and entry["num_folds"] == num_folds]
    above = [f"{entry['network']} on {entry['features']} ({100 * entry['test_uar_mean']:.1f})"
             for entry in candidates if entry["test_uar_mean"] >= target]
    best = max((entry["test_uar_mean"] for entry in candidates), default=None)
    status = (f"reached by {'; '.join(above)}" if above else
              f"not reached (highest: {100 * best:.1f})" if best is not None else
              "no row finished on every fold")
    lines.append(f"- {what} >= {100 * target:.0f}: {status}.")
  return lines


def markdown(entries: Sequence[dict], folds: Sequence[int]) -> str:
  table = common.markdown_table(
      ["network", "features", "normalisation", "val UAR", "test accuracy", "test UAR", "folds",
       "config"],
      [[entry["network"], entry["features"], entry["normalisation"],
        folds_lib.mean_std(_summary(entry), "val_uar"),
        folds_lib.mean_std(_summary(entry), "test_accuracy"),
        folds_lib.mean_std(_summary(entry), "test_uar"), entry["num_folds"],
        f"`{entry['config']}`"] for entry in entries])
  return (
      f"Baselines on {folds_lib.describe_folds(folds)}: the joint head's validation UAR "
      "(what a choice between rows may read) and test accuracy and UAR (%), mean +- std "
      "over folds, the epoch chosen on each fold's validation actors. Normalisation: "
      "`inductive` uses nothing of a test actor but the clip at hand; `enrol-K` standardises each clip by K other unlabelled clips of its speaker "
      "(never the clip scored), as deployment can; `per_actor` by all of the speaker's "
      "clips, the scored one included (transductive).\n\n" + table +
      "\nTargets (UAR, inductive rows of this table over every fold; a row is not chosen "
      "among others by its test numbers, each stands on its own; settings tuned per fold "
      "and seed ensembles are in results/tuning.md and results/ensembles.md):\n\n"
      + "\n".join(reached(entries, len(folds))) + "\n")


def _summary(entry: dict) -> dict:
  return {key: value for key, value in entry.items() if value is not None}
