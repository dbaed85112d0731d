r"""The honest protocol: experiment 1's networks, k-fold by actor (the validation
actors of each fold choose the epoch, its test actors are never seen in training),
audio and action units from the same recording; audio alone on speech + song;
and four of the networks with each actor's MFCCs and action units standardised
by that actor's own clips (speaker normalisation: it reads the test actors'
unlabelled clips too).

  python -m experiments.exp4_actor_folds            # folds 0 and 1 of configs/ravdess_actor_folds.json
  python -m experiments.exp4_actor_folds --folds=0,1,2,3,4,5
  python -m experiments.exp4_actor_folds --quick  # configs/sample_actor_folds.json

Writes results/actor_folds.{md,json}: per network and head, test accuracy and
unweighted average recall (UAR) as mean +- std over folds, with each fold's actors
and selected epoch; and figures/actor_folds_confusion.png.
"""
import numpy as np
from absl import app
from absl import flags

from emojax.data import splits
from experiments import common

FOLDS = flags.DEFINE_list("folds", ["0", "1"], "Folds to run (of the folds file); two fit the "
                          "30-minute budget on 2 CPU cores.")

# Action units: the visual modality that all 24 actors have.
VISUAL = "au"
HONEST = {"data.split.protocol": "actor_folds", "data.pairing": "clip"}
SPEECH_AND_SONG = common.Network("audio CNN, speech + song", "audio", fused=False)
# Per actor instead of per clip: a clip's loudness and pitch relative to its actor's
# other clips are kept, the actor's own level and timbre removed.
STANDARDISED = {"data.standardise_per_actor": ("audio", "au"), "data.audio.normalise": False}
STANDARDISED_NETWORKS = tuple(n for n in common.NETWORKS
                              if n.config in ("audio", "{visual}", "concat_equalized", "probe"))


def selected_folds() -> list[int]:
  """--folds, or fold 0 alone with --quick."""
  return [0] if common.QUICK.value else [int(fold) for fold in FOLDS.value]


def folds_file() -> str:
  """The folds file the runs read (the sample's with --quick)."""
  return common.make_config(common.NETWORKS[0], VISUAL, {}).data.split.folds_file


def fold_runs(networks, overrides: dict, tag: str, folds: list[int]):
  """{network config: [RunResult or None per fold]}."""
  by_network = {}
  for fold in folds:
    runs = common.network_runs(
        networks, VISUAL, {**HONEST, **overrides, "data.split.fold": fold},
        f"{tag}/fold{fold}")
    for key, result in runs.items():
      by_network.setdefault(key, []).append(result)
  return by_network


def summarise(results: list, folds: list[int]) -> dict:
  """Mean and std over folds of each head's test accuracy and UAR (the joint head's
  at the top level), with the folds' actors and selected epochs."""
  done = [(fold, result) for fold, result in zip(folds, results) if result]
  if not done:
    return {"failed_folds": folds}
  summary = {"folds": [], "failed_folds": [f for f, r in zip(folds, results) if r is None]}
  all_folds = splits.load_actor_folds(folds_file())
  for fold, result in done:
    summary["folds"].append({"fold": fold, **all_folds[fold],
                             "selected_epoch": result.final["selected_epoch"],
                             "test_accuracy": result.final["test/joint_accuracy"],
                             "test_uar": result.final["test/joint_uar"]})
  heads = sorted(k.split("/")[1].removesuffix("_accuracy") for k in done[0][1].final
                 if k.startswith("test/") and k.endswith("_accuracy"))
  for head in heads:
    prefix = "" if head == "joint" else f"{head}_"
    for metric in ("accuracy", "uar"):
      values = [result.final[f"test/{head}_{metric}"] for _, result in done]
      summary[f"{prefix}test_{metric}_mean"] = float(np.mean(values))
      summary[f"{prefix}test_{metric}_std"] = float(np.std(values))
  return summary


def mean_std(summary: dict, key: str) -> str:
  if f"{key}_mean" not in summary:
    return "-"
  return f"{100 * summary[f'{key}_mean']:.1f} +- {100 * summary[f'{key}_std']:.1f}"


def main(argv):
  del argv
  folds = selected_folds()
  runs = fold_runs(common.NETWORKS, {}, "actor_folds", folds)
  runs.update({"audio_speech_song": fold_runs(
      [SPEECH_AND_SONG], {"data.vocal_channels": ("speech", "song")},
      "actor_folds_speech_song", folds)["audio"]})
  runs.update({f"{key}_standardised": results for key, results in fold_runs(
      STANDARDISED_NETWORKS, STANDARDISED, "actor_folds_standardised", folds).items()})
  summaries = {key: summarise(results, folds) for key, results in runs.items()}

  labels = {n.config.format(visual=VISUAL): n.label for n in common.NETWORKS}
  labels["audio_speech_song"] = SPEECH_AND_SONG.label
  labels.update({f"{n.config.format(visual=VISUAL)}_standardised":
                 f"{n.label}, standardised per actor" for n in STANDARDISED_NETWORKS})
  rows = [[labels[key], mean_std(s, "test_accuracy"), mean_std(s, "test_uar"),
           mean_std(s, "audio_probe_test_uar"), mean_std(s, f"{VISUAL}_probe_test_uar"),
           " ".join(str(f["selected_epoch"]) for f in s.get("folds", []))]
          for key, s in summaries.items()]
  header = ["network", "test accuracy", "test UAR", "audio probe UAR", "AU probe UAR",
            "epochs selected"]
  markdown = (f"The honest protocol: {len(folds)} folds by actor (4 test, 4 validation, "
              "16 training actors each), audio and action units of the same clip; "
              "mean +- std over folds (%), joint head unless named.\n\n"
              + common.markdown_table(header, rows))
  by_fold = {f"{key}/fold{fold}": result for key, results in runs.items()
             for fold, result in zip(folds, results)}
  common.write_report("actor_folds", markdown, {"networks": summaries, "folds": folds}, by_fold)
  common.plot_best_confusion(common.results_path("figures", "actor_folds_confusion.png"),
                             {key: results[0] for key, results in runs.items()})
  return common.exit_code(by_fold)


if __name__ == "__main__":
  app.run(main)
