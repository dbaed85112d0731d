"""What the experiment scripts share: data flags, runs skipped once finished, and
the tables, JSON and figures they write under --results_dir."""
import dataclasses
import importlib
import json
import os
import sys
import time
from typing import Any, Iterator, Sequence

import matplotlib
import ml_collections
import numpy as np
from absl import flags
from absl import logging

from configs import common as configs_common
from emojax import metrics as metrics_lib
from emojax import run_dir
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
RECORDS_ONLY = flags.DEFINE_bool(
    "records_only", False, "Train nothing: the tables from the runs already recorded or "
    "finished, the others left out (each row says over how many folds).")
TRAIN_ONLY = flags.DEFINE_list(
    "train_only", None, "Train only the runs of these rows (e.g. probe_au@enrol8,au); the "
    "others are read from their records or left out, as with --records_only.")


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
    Network("audio CNN, speech + song (the study's audio data)", "audio_speech_song",
            fused=False),
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


def data_flags() -> list[str]:
  """data_overrides() as command-line flags, with paths relative to the repository."""
  overrides = data_overrides()
  roots = tuple(os.path.relpath(root) for root in overrides["data.roots"])
  units = overrides["data.action_units"] and os.path.relpath(overrides["data.action_units"])
  return [f'--config.data.roots="{roots}"', f"--config.data.action_units={units}"]


def make_config(network: Network, visual: str,
                overrides: dict[str, Any]) -> ml_collections.ConfigDict:
  """configs/<network>.py with the data of --data_dir, `overrides` (flat keys) and epochs."""
  module = importlib.import_module(f"configs.{network.config.format(visual=visual)}")
  config = module.get_config(visual) if network.fused else module.get_config()
  config.train.num_epochs = DEFAULT_EPOCHS  # Unless `overrides` say.
  # The tables read the selected checkpoint's test metrics only; a test pass per
  # epoch would cost most in the low-data splits, whose test sets are largest.
  config.train.log_test_metrics = False
  return finish_config(config, overrides)


def finish_config(config: ml_collections.ConfigDict,
                  overrides: dict[str, Any]) -> ml_collections.ConfigDict:
  """`config` with the data of --data_dir, `overrides` (flat keys), --num_epochs and
  --quick's tiny networks."""
  config.update_from_flattened_dict({**data_overrides(), **overrides})
  if NUM_EPOCHS.value:
    config.train.num_epochs = NUM_EPOCHS.value
  if QUICK.value:
    config.train.num_epochs = 1
    config.data.split.folds_file = "configs/sample_actor_folds.json"
    config.model.update(audio_widths=(4, 8), image_widths=(4, 8), au_widths=(16,),
                        lstm_size=8, embed_dim=16 if config.model.embed_dim else 0,
                        joint_hidden=(16, 16), shared_hidden=(16,), probe_hidden=(16,))
  return config


# What a finished run's record may differ in from the config asked for: where
# and how fast it ran, not what it learned or was scored on.
IGNORED_IN_RECORDS = frozenset({"data.tfds_dir", "data.num_workers", "model.conv_impl",
                                "train.log_test_metrics", "train.eval_batch_size",
                                "train.keep_checkpoints"})


@dataclasses.dataclass(frozen=True)
class RunResult:
  """A finished run, as its record (results/records/...json) keeps it: its config, final
  (validation-selected) metrics, per-epoch log, confusion matrices, training time and,
  where asked for, the joint head's per-example probabilities."""
  config: dict[str, Any]
  final: dict[str, float]
  epochs: list[dict[str, float]]
  confusions: dict[str, dict[str, list[list[int]]]]
  train_seconds: float | None  # None where the run's time was not kept.
  # {split: {"clip", "label", "probabilities"}} (train.predict_split); None if not kept.
  predictions: dict[str, dict[str, list]] | None = None

  def at_selected(self, key: str) -> float:
    """A per-epoch value (e.g. train/joint_accuracy) at the selected epoch."""
    return self.epochs[int(self.final["selected_epoch"]) - 1][key]

  def confusion(self, split: str = "test", head: str = "joint") -> list[list[int]]:
    return self.confusions[split][head]


def _read_json(path: str) -> Any:
  with open(path) as f:
    return json.load(f)


def _check_same_config(saved: dict, config: ml_collections.ConfigDict, where: str) -> None:
  changed = run_dir.changed_keys(saved, config, ignore=IGNORED_IN_RECORDS)
  if changed:
    raise run_dir.RunDirError(
        f"{where} holds a finished run of another config (it differs in "
        f"{', '.join(changed)}); delete it to train this one, or use another --results_dir.")


def _from_workdir(workdir: str, seconds: float | None, keep_predictions: bool) -> RunResult:
  predictions = os.path.join(workdir, "final_predictions.json")
  if keep_predictions and not os.path.exists(predictions):
    raise run_dir.RunDirError(f"{workdir} has no final_predictions.json (trained before "
                              "runs wrote them); delete it to train it again.")
  return RunResult(_read_json(os.path.join(workdir, run_dir.CONFIG_FILE)),
                   _read_json(os.path.join(workdir, "final_metrics.json")),
                   metrics_lib.read_rows(os.path.join(workdir, "metrics.jsonl")),
                   _read_json(os.path.join(workdir, "final_confusion.json")), seconds,
                   _read_json(predictions) if keep_predictions else None)


def run(config: ml_collections.ConfigDict, *parts: str,
        keep_predictions: bool = False) -> RunResult | None:
  """The run of `config` named `parts`: read from its record if one was kept, else
  trained (a killed run resumes) in runs/<parts> and recorded in records/<parts>.json,
  with its per-example probabilities if `keep_predictions` (for ensembles).

  Records are small and committed, so that a table regenerates without the runs'
  checkpoints. A record or workdir of another config is refused, naming the keys.
  A failing run is logged and returns None, so one bad run loses no other work.
  """
  record_path = results_path("records", *parts) + ".json"
  if os.path.exists(record_path):
    record = _read_json(record_path)
    _check_same_config(record["config"], config, record_path)
    if keep_predictions and not record.get("predictions"):
      raise run_dir.RunDirError(f"{record_path} keeps no predictions; delete it to record "
                                "them again.")
    return RunResult(**record)
  workdir = results_path("runs", *parts)
  if os.path.exists(os.path.join(workdir, "final_metrics.json")):
    _check_same_config(_read_json(os.path.join(workdir, run_dir.CONFIG_FILE)), config, workdir)
  elif RECORDS_ONLY.value or (TRAIN_ONLY.value and not set(parts) & set(TRAIN_ONLY.value)):
    logging.info("Not trained yet (--records_only or --train_only): %s.", workdir)
    return None
  else:
    logging.info("Training %s (%d epochs).", workdir, config.train.num_epochs)
    start = time.time()
    try:
      train.train_and_evaluate(config, workdir)
    except Exception:  # pylint: disable=broad-except
      logging.exception("Run %s failed; going on with the others.", workdir)
      return None
    with open(os.path.join(workdir, "train_seconds.json"), "w") as f:
      json.dump(time.time() - start, f)
  seconds_path = os.path.join(workdir, "train_seconds.json")
  result = _from_workdir(workdir, _read_json(seconds_path) if os.path.exists(seconds_path)
                         else None, keep_predictions)
  metrics_lib.write_json(record_path, dataclasses.asdict(result), compact_numbers=True)
  return result


def network_runs(networks: Sequence[Network], visual: str, overrides: dict[str, Any],
                 tag: str) -> dict[str, RunResult | None]:
  """{config name: result} of each network, trained in runs/<tag>/<config> unless done."""
  results = {}
  for network in networks:
    config = make_config(network, visual, overrides)
    key = network.config.format(visual=visual)
    results[key] = run(config, tag, key)
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


def fold_records(node: Any) -> Iterator[dict]:
  """Every per-fold record in a report's numbers: a dict with a `test` list of actors
  and `test_*` metrics."""
  if isinstance(node, dict):
    if isinstance(node.get("test"), list) and any(key.startswith("test_") for key in node):
      yield node
    for value in node.values():
      yield from fold_records(value)
  elif isinstance(node, list):
    for value in node:
      yield from fold_records(value)


def check_ledger(numbers: dict[str, Any]) -> None:
  """Refuses numbers with a per-fold record that does not name the actors behind its
  choices (`selected_on`), or that names any of its own test actors there."""
  for record in fold_records(numbers):
    if "selected_on" not in record:
      raise ValueError(f"The per-fold record of fold {record.get('fold')} (test actors "
                       f"{record['test']}) does not say which actors chose it (selected_on).")
    leaked = sorted(set(record["selected_on"]) & set(record["test"]))
    if leaked:
      raise ValueError(f"The per-fold record of fold {record.get('fold')} was chosen on its "
                       f"own test actors {leaked}; a test actor may choose nothing.")


def write_report(name: str, markdown: str, numbers: dict[str, Any],
                 results: dict[str, RunResult | None]) -> None:
  """results/<name>.md and results/<name>.json, with the runs' total training time
  (summed from each run's record, so a rerun that skips them still reports it) and
  how many of its runs are finished and still to train (experiments/budget.py)."""
  check_ledger(numbers)
  seconds = sum(result.train_seconds or 0 for result in results.values() if result)
  finished = sum(1 for result in results.values() if result)
  with open(results_path(f"{name}.md"), "w") as f:
    f.write(markdown)
  metrics_lib.write_json(results_path(f"{name}.json"), {
      **numbers, "train_seconds_total": seconds, "runs_finished": finished,
      "runs_to_train": len(results) - finished})
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
  if failed and RECORDS_ONLY.value:
    print(f"{len(failed)} runs not trained yet: {', '.join(failed)}.", file=sys.stderr)
    return 0
  if failed:
    print(f"{len(failed)} runs failed: {', '.join(failed)}; see the log.", file=sys.stderr)
  return 1 if failed else 0
