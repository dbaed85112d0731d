r"""Experiment 1 of the study: every network on its protocol (`seed`: a random
80/10/10 split by example; each example paired with a random one of the same
emotion from the other modality), SGD with momentum, beside the study's numbers.

  python -m experiments.exp1_architectures --visual=image  # faces of the actor-05 video
  python -m experiments.exp1_architectures --visual=au     # action units, all actors
  python -m experiments.exp1_architectures --quick         # bundled sample, ~1 minute

Writes results/exp1_<visual>.{md,json} and figures/exp1_<visual>_{curves,confusion}.png;
finished runs (results/runs/...) are skipped, a killed one resumes.
"""
from absl import app
from absl import flags

from experiments import common

_VISUAL = flags.DEFINE_enum("visual", "image", ["image", "au"], "The visual modality.")

# The study's audio CNN read speech and song: its 72 belongs to that row alone.
STUDY_TEST_ACCURACY = {"audio": None, "audio_speech_song": 72, "{visual}": 85, "concat": 90, "concat_lstm": 89,
                       "concat_equalized": 89, "probe": 91, "joint_loss": 78}


def main(argv):
  del argv
  visual = _VISUAL.value
  name = f"exp1_{visual}"
  results = common.network_runs(common.NETWORKS, visual, {}, f"seed_{visual}")
  rows, numbers = [], {}
  for network in common.NETWORKS:
    key = network.config.format(visual=visual)
    study = STUDY_TEST_ACCURACY[network.config]
    study_cell = "-" if study is None else study
    result = results[key]
    if result is None:
      rows.append([network.label, "failed", "", "", "", "", study_cell, ""])
      continue
    final = result.final
    numbers[key] = {
        "train_accuracy": result.at_selected("train/joint_accuracy"),
        "val_accuracy": final["val/joint_accuracy"], "test_accuracy": final["test/joint_accuracy"],
        "test_uar": final["test/joint_uar"], "selected_epoch": final["selected_epoch"],
        "study_test_accuracy": None if study is None else study / 100, "train_seconds": result.train_seconds}
    rows.append([network.label, *(common.percent(numbers[key][k]) for k in (
        "train_accuracy", "val_accuracy", "test_accuracy", "test_uar")), study_cell,
                 final["selected_epoch"]])
  header = ["network", "train", "val", "test", "test UAR", "study test", "epoch"]
  modality = {"image": "face images (actor 05)", "au": "action units"}[visual]
  markdown = (f"Experiment 1, the study's protocol (`seed`), visual = {modality}: accuracy "
              "(%) of the joint head, at the epoch selected on validation.\n\n"
              + common.markdown_table(header, rows))
  common.write_report(name, markdown, {"visual": visual, "networks": numbers}, results)

  done = {key: result for key, result in results.items() if result}
  common.plot_curves(common.results_path("figures", f"{name}_curves.png"),
                     {key: [e["val/joint_accuracy"] for e in result.epochs]
                      for key, result in done.items()},
                     f"Experiment 1 ({visual}): validation accuracy")
  common.plot_best_confusion(common.results_path("figures", f"{name}_confusion.png"), results)
  return common.exit_code(results)


if __name__ == "__main__":
  app.run(main)
