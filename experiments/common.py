"""What the experiment scripts share: data flags, runs skipped once finished, and
the tables, JSON and figures they write under --results_dir."""
import dataclasses
import importlib
import json
import os
import sys
import time
from typing import Any, Sequence

import matplotlib
import ml_collections
import numpy as np
from absl import flags
from absl import logging

from configs import common as configs_common
from emojax import train
from emojax.data import ravdess

matplotlib.use("Agg")  # Figures go to files; no display needed.
from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top

DATA_DIR = flags.DEFINE_string(
    "data_dir", "../shared/data", "A folder laid out as data/sample (ravdess/, "
    "ravdess_facecrops/, ravdess_openface_au.csv), or a RAVDESS download (Actor_XX/).")
TFDS_DIR = flags.DEFINE_string("tfds_dir", None, "Feature cache (default: the configs').")
RESULTS_DIR = flags.DEFINE_string("results_dir", "results", "Where tables, JSON, figures "
                                  "and the runs' workdirs go.")
QUICK = flags.DEFINE_bool("quick", False, "End to end in a minute or two on the bundled sample, "
                          "with tiny networks, one epoch and one fold: checks the script, not "
                          "the science.")
NUM_EPOCHS = flags.DEFINE_integer("num_epochs", None, "Epochs per run (default: the script's).")


# The study trained 25 epochs; 10 fit each script into 30 minutes on 2 CPU cores.
DEFAULT_EPOCHS = 10


@dataclasses.dataclass(frozen=True)
class Network:
  label: str  # As in the tables.
  config: str  # Module in configs/; "{visual}" stands for the visual modality's.
  fused: bool = True  # Takes the visual modality as its config argument.


# The study's networks, in its order of presentation.
NETWORKS = (
    Network("audio CNN", "audio", fused=False),
    Network("visual alone", "{visual}", fused=False),
    Network("1: concat", "concat"),
    Network("2: concat, LSTM audio", "concat_lstm"),
    Network("3: concat, equalised", "concat_equalized"),
    Network("4: probe", "probe"),
    Network("0: joint loss", "joint_loss"),
)
LOW_DATA_NETWORKS = tuple(n for n in NETWORKS
                          if n.config in ("concat", "concat_equalized", "probe"))


def data_overrides() -> dict[str, Any]:
  """config.data roots and action units of --data_dir (the bundled sample with --quick)."""
  data_dir = configs_common.SAMPLE_DIR if QUICK.value else os.path.abspath(DATA_DIR.value)
  if not os.path.isdir(data_dir):
    raise FileNotFoundError(f"--data_dir {data_dir!r} is not a directory.")
  layout = [os.path.join(data_dir, name) for name in ("ravdess", "ravdess_facecrops")]
  roots = tuple(root for root in layout if os.path.isdir(root)) or (data_dir,)
  units = os.path.join(data_dir, "ravdess_openface_au.csv")
  overrides = {"data.roots": roots, "data.action_units": units if os.path.isfile(units) else ""}
  if TFDS_DIR.value:
    overrides["data.tfds_dir"] = TFDS_DIR.value
  return overrides


def make_config(network: Network, visual: str,
                overrides: dict[str, Any]) -> ml_collections.ConfigDict:
  """configs/<network>.py with the data of --data_dir, `overrides` (flat keys) and epochs."""
  module = importlib.import_module(f"configs.{network.config.format(visual=visual)}")
  config = module.get_config(visual) if network.fused else module.get_config()
  config.train.num_epochs = NUM_EPOCHS.value or DEFAULT_EPOCHS  # Unless `overrides` say.
  config.update_from_flattened_dict({**data_overrides(), **overrides})
  # The tables read the selected checkpoint's test metrics only; a test pass per
  # epoch would cost most in the low-data splits, whose test sets are largest.
  config.train.log_test_metrics = False
  if QUICK.value:
    config.train.num_epochs = 1
    config.data.split.folds_file = os.path.join(configs_common.REPO_ROOT, "configs",
                                                "sample_actor_folds.json")
    config.model.update(audio_widths=(4, 8), image_widths=(4, 8), au_widths=(16,),
                        lstm_size=8, embed_dim=16 if config.model.embed_dim else 0,
                        joint_hidden=(16, 16), shared_hidden=(16,), probe_hidden=(16,))
  return config


@dataclasses.dataclass(frozen=True)
class RunResult:
  """A finished run: its final (validation-selected) metrics and its per-epoch log."""
  workdir: str
  final: dict[str, float]
  epochs: list[dict[str, float]]
  train_seconds: float

  def at_selected(self, key: str) -> float:
    """A per-epoch value (e.g. train/joint_accuracy) at the selected epoch."""
    return self.epochs[int(self.final["selected_epoch"]) - 1][key]

  def confusion(self, split: str = "test", head: str = "joint") -> list[list[int]]:
    return _read_json(os.path.join(self.workdir, "final_confusion.json"))[split][head]


def _read_json(path: str) -> Any:
  with open(path) as f:
    return json.load(f)


def run(config: ml_collections.ConfigDict, workdir: str) -> RunResult | None:
  """Trains `config` in `workdir` unless it finished before (resuming a killed run).

  A failing run is logged and returns None, so one bad run loses no other work.
  """
  final_path = os.path.join(workdir, "final_metrics.json")
  seconds_path = os.path.join(workdir, "train_seconds.json")
  if not os.path.exists(final_path):
    logging.info("Training %s (%d epochs).", workdir, config.train.num_epochs)
    start = time.time()
    try:
      train.train_and_evaluate(config, workdir)
    except Exception:  # pylint: disable=broad-except
      logging.exception("Run %s failed; going on with the others.", workdir)
      return None
    with open(seconds_path, "w") as f:
      json.dump(time.time() - start, f)
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    epochs = [json.loads(line) for line in f]
  seconds = _read_json(seconds_path) if os.path.exists(seconds_path) else float("nan")
  return RunResult(workdir, _read_json(final_path), epochs, seconds)


def network_runs(networks: Sequence[Network], visual: str, overrides: dict[str, Any],
                 tag: str) -> dict[str, RunResult | None]:
  """{config name: result} of each network, trained in runs/<tag>/<config> unless done."""
  results = {}
  for network in networks:
    config = make_config(network, visual, overrides)
    key = network.config.format(visual=visual)
    results[key] = run(config, results_path("runs", tag, key))
  return results


def results_path(*parts: str) -> str:
  path = os.path.join(RESULTS_DIR.value, "quick" if QUICK.value else "", *parts)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  return path


def percent(value: float) -> str:
  return "-" if value is None or np.isnan(value) else f"{100 * value:.1f}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
  return "\n".join(lines) + "\n"


def write_report(name: str, markdown: str, numbers: dict[str, Any],
                 results: dict[str, RunResult | None]) -> None:
  """results/<name>.md and results/<name>.json, with the runs' total training time
  (summed from each run's record, so a rerun that skips them still reports it)."""
  seconds = sum(result.train_seconds for result in results.values() if result)
  with open(results_path(f"{name}.md"), "w") as f:
    f.write(markdown)
  with open(results_path(f"{name}.json"), "w") as f:
    json.dump({**numbers, "train_seconds_total": seconds}, f, indent=2, sort_keys=True)
  print(markdown)
  print(f"Wrote {results_path(name + '.md')} and .json")


def plot_curves(path: str, curves: dict[str, Sequence[float]], title: str,
                ylabel: str = "validation accuracy", xlabel: str = "epoch",
                x: Sequence[float] | None = None) -> None:
  """One line per curve; x defaults to the epochs 1, 2, ..."""
  figure, axes = plt.subplots(figsize=(6, 4))
  for label, values in curves.items():
    axes.plot(x or range(1, len(values) + 1), values, marker="." if x else None, label=label)
  axes.set(xlabel=xlabel, ylabel=ylabel, title=title, ylim=(0, 1))
  axes.grid(alpha=0.3)
  axes.legend(fontsize=8)
  figure.tight_layout()
  figure.savefig(path, dpi=120)
  plt.close(figure)


def plot_confusion(path: str, matrix: Sequence[Sequence[int]], title: str) -> None:
  matrix = np.asarray(matrix)
  figure, axes = plt.subplots(figsize=(5, 4.5))
  axes.imshow(matrix, cmap="Blues")
  for (row, column), count in np.ndenumerate(matrix):
    axes.text(column, row, int(count), ha="center", va="center", fontsize=7)
  ticks = range(len(ravdess.EMOTIONS))
  axes.set_xticks(ticks, ravdess.EMOTIONS, rotation=45, ha="right", fontsize=8)
  axes.set_yticks(ticks, ravdess.EMOTIONS, fontsize=8)
  axes.set(xlabel="predicted", ylabel="true", title=title)
  figure.tight_layout()
  figure.savefig(path, dpi=120)
  plt.close(figure)


def plot_best_confusion(path: str, results: dict[str, RunResult | None]) -> None:
  """The test confusion matrix of the joint head of the run best on validation."""
  done = {key: result for key, result in results.items() if result}
  if done:
    best = max(done, key=lambda key: done[key].final["val/joint_accuracy"])
    plot_confusion(path, done[best].confusion(), f"{best} (best on validation): test")


def exit_code(results: dict[str, RunResult | None]) -> int:
  failed = [name for name, result in results.items() if result is None]
  if failed:
    print(f"{len(failed)} runs failed: {', '.join(failed)}; see the log.", file=sys.stderr)
  return 1 if failed else 0
