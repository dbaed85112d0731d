r"""Speed of training one config, and of the PyTorch peer at the same shapes in the same run.

  python -m tools.benchmark --config=configs/probe_reference.py
  python -m tools.benchmark --config=configs/probe.py --batch_size=16 --notorch --skip_data

Measures, for the config (any value can be overridden, e.g. --config.train.batch_size=16;
--conv_impl=xla for XLA's convolutions instead of the CPU kernels):
- the train step (emojax.train's jitted data-parallel step, on batches of real
  training examples): examples/s and ms/step after compilation, medians over
  --repeats rounds of --steps steps; compile time (the first step's time less
  a steady step's);
- its FLOP/s (XLA's cost analysis of the compiled step) against a measured
  fp32 2048x2048 matmul peak on the same machine, after each round;
- the tf.data train pipeline's examples/s over the config's examples;
- preprocessing clips/s (audio MFCCs, video face crops) of every clip under
  --data_root (the bundled sample by default);
- peak RSS of this process after training;
- ../shared/bench/torch_probe.py (if torch is importable), one run after each
  of emojax's rounds, so that both see the same load.
Prints a table and, last, one JSON line.

--hlo_out=FILE instead writes the train step as XLA compiled it, without source
locations, and prints its SHA-256: the same text from two trees is the same
program, hence the same speed (e.g. after moving code that must not change what
runs; compare with cmp).
"""
import hashlib
import importlib.util
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time

import jax
import ml_collections
import numpy as np
from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from configs import common
from emojax import train
from emojax.data import pipeline
from emojax.models import conv_backend
from tools import data_speed

_CONFIG = config_flags.DEFINE_config_file("config", None, "Config file.", lock_config=True)
_BATCH_SIZE = flags.DEFINE_integer(
    "batch_size", 64, "Global train batch size; overrides config.train.batch_size. The "
    "default is the peer's.")
_STEPS = flags.DEFINE_integer("steps", 5, "Timed train steps per round (and per peer run).")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Rounds; the figures are medians over them.")
_TORCH = flags.DEFINE_bool("torch", True, "Also time the PyTorch peer, if torch is importable.")
_TORCH_PROBE = flags.DEFINE_string(
    "torch_probe", os.path.join(os.path.dirname(common.REPO_ROOT), "shared", "bench",
                                "torch_probe.py"), "The peer's script.")
_TORCH_DEVICE = flags.DEFINE_enum("torch_device", "cpu", ["cpu", "cuda"],
                                  "The peer's device (its --device).")
_DATA_ROOT = flags.DEFINE_string(
    "data_root", common.SAMPLE_DIR, "Folder holding ravdess/ (audio) and ravdess_facecrops/ "
    "(video), whose clips the preprocessing is timed on.")
_SKIP_DATA = flags.DEFINE_bool("skip_data", False, "Skip timing the preprocessing.")
_CONV_IMPL = flags.DEFINE_enum("conv_impl", None, conv_backend.CHOICES, conv_backend.FLAG_HELP)
_HLO_OUT = flags.DEFINE_string("hlo_out", None, "Only write the compiled train step's HLO, "
                               "without source locations, to this file.")
_PIPELINE_EPOCHS = flags.DEFINE_integer("pipeline_epochs", 5, "Epochs of the pipeline to time.")
flags.mark_flags_as_required(["config"])

_MATMUL_SIZE = 2048


def example_batch(examples: pipeline.Examples, batch_size: int) -> pipeline.Examples:
  """The first `batch_size` examples, cycled if there are fewer."""
  indices = np.arange(batch_size) % pipeline.num_examples(examples)
  return {key: value[indices] for key, value in examples.items()}


def time_train_steps(run: train.Run, state: train.State, batch: pipeline.Examples,
                     steps: int) -> tuple[train.State, float]:
  """Runs `steps` train steps; returns the state and the seconds per step."""
  start = time.perf_counter()
  for _ in range(steps):
    state, step_metrics = run.train_step(state, batch)
  jax.block_until_ready((state, step_metrics))
  return state, (time.perf_counter() - start) / steps


def train_flops(config: ml_collections.ConfigDict, state: train.State,
                batch: pipeline.Examples) -> float:
  """FLOPs of one train step, from XLA's cost analysis of the compiled step.

  Analysed with XLA's convolutions (the same arithmetic): XLA counts a loop's
  body once, and the CPU kernels are loops over images.
  """
  with conv_backend.using("xla"):
    reference = train.build_run(config)
    cost = jax.jit(reference.train_step).lower(state, batch).compile().cost_analysis()
  cost = cost[0] if isinstance(cost, list) else cost  # A list in older JAX.
  return float(cost["flops"])


def without_locations(hlo: str) -> str:
  """HLO text without what names source files: the file and stack-frame tables
  and each instruction's metadata and frame id."""
  tables = ("FileNames", "FunctionNames", "FileLocations", "StackFrames")
  lines = [line for line in hlo.splitlines()
           if line.strip() not in tables and not re.match(r"^\s*\d+ ", line)]
  text = re.sub(r", metadata=\{[^}]*\}", "", "\n".join(lines))
  return re.sub(r", stack_frame_id=\d+", "", text)


def train_step_hlo(config: ml_collections.ConfigDict, batch_size: int) -> str:
  """The config's train step on `batch_size` training examples as XLA compiled
  it, without_locations."""
  config.train.batch_size = batch_size
  run = train.build_run(config)
  batch = run.shard(example_batch(run.examples["train"], batch_size))
  compiled = jax.jit(run.train_step).lower(run.init_state(), batch).compile()
  return without_locations(compiled.as_text())


def matmul_peak_flops_per_s(repeats: int = 10) -> float:
  """fp32 FLOP/s of a 2048x2048 matmul under XLA, median of `repeats`."""
  a = jax.random.normal(jax.random.key(0), (_MATMUL_SIZE, _MATMUL_SIZE))
  matmul = jax.jit(lambda a: a @ a)
  matmul(a).block_until_ready()
  seconds = []
  for _ in range(repeats):
    start = time.perf_counter()
    matmul(a).block_until_ready()
    seconds.append(time.perf_counter() - start)
  return 2 * _MATMUL_SIZE**3 / float(np.median(seconds))


def is_probe_network(model_config: ml_collections.ConfigDict) -> bool:
  """Whether the config's network is the peer's: the probe network, one conv width list."""
  return (model_config.audio_encoder == "cnn" and model_config.visual == "image"
          and model_config.fusion == "concat" and model_config.probes
          and model_config.embed_dim > 0
          and tuple(model_config.audio_widths) == tuple(model_config.image_widths))


def torch_peer_args(config: ml_collections.ConfigDict, batch_size: int, steps: int,
                    device: str = "cpu") -> list[str]:
  """torch_probe.py's flags for the config's shapes (see is_probe_network), on `device`."""
  data, model = config.data, config.model
  face = data.video.face_size
  return ["--batch", str(batch_size), "--steps", str(steps),
          "--audio-shape", f"{data.audio.n_mfcc},{data.audio.num_frames},1",
          "--image-shape", f"{face},{2 * face},3",
          "--widths", ",".join(str(w) for w in model.audio_widths),
          "--embed", str(model.embed_dim), "--classes", str(model.num_classes),
          "--device", device]


def run_torch_peer(script: str, args: list[str]) -> dict:
  """Runs the peer in a subprocess; returns its JSON line."""
  done = subprocess.run([sys.executable, script, *args], capture_output=True, text=True,
                        check=False)
  if done.returncode:
    raise RuntimeError(f"{script} failed:\n{done.stderr[-2000:]}")
  return json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])


def cpu_model() -> str:
  try:
    with open("/proc/cpuinfo") as f:
      return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
  except (OSError, StopIteration):
    return platform.processor()


def peer_summary(peer_runs: list[dict]) -> dict:
  """The peer's medians over its runs."""
  return {"torch_examples_per_s": float(np.median([r["examples_per_s"] for r in peer_runs])),
          "torch_ms_per_step": float(np.median([r["step_ms"] for r in peer_runs])),
          "torch_params": peer_runs[0]["params"], "torch_version": peer_runs[0]["torch"]}


def preprocessing_speed(data_root: str) -> dict:
  """Clips/s of featurising data_root/ravdess (audio) and data_root/ravdess_facecrops (video)."""
  results = {}
  with tempfile.TemporaryDirectory() as tfds_dir:
    for modality, folder in (("audio", "ravdess"), ("video", "ravdess_facecrops")):
      report, _ = data_speed.featurise(os.path.join(data_root, folder), tfds_dir)
      results[f"{modality}_clips_per_s"] = report["clips_per_s"]
  return results


def benchmark(config: ml_collections.ConfigDict, batch_size: int, steps: int, repeats: int,
              torch_probe: str | None, data_root: str | None,
              pipeline_epochs: int, torch_device: str = "cpu") -> dict:
  """Every measure above as {name: value}; torch_probe / data_root None to skip those."""
  results = {"cpu": cpu_model(), "cores": os.cpu_count(), "jax": jax.__version__,
             "load_average_start": round(os.getloadavg()[0], 2), "batch_size": batch_size,
             "steps": steps, "repeats": repeats, "conv_impl": conv_backend.resolved()}
  config.train.batch_size = batch_size
  run = train.build_run(config)
  state = run.init_state()
  results["params"] = sum(leaf.size for leaf in jax.tree.leaves(state["params"]))
  batch = run.shard(example_batch(run.examples["train"], batch_size))

  start = time.perf_counter()
  state, _ = time_train_steps(run, state, batch, 1)
  first_step_s = time.perf_counter() - start
  step_seconds, peaks, peer_runs = [], [], []
  for _ in range(repeats):
    state, seconds = time_train_steps(run, state, batch, steps)
    step_seconds.append(seconds)
    # The peak is measured beside each round, as the peer is: this shared
    # host's speed drifts by 10-30% between minutes.
    peaks.append(matmul_peak_flops_per_s())
    if torch_probe:
      peer_runs.append(run_torch_peer(torch_probe,
                                      torch_peer_args(config, batch_size, steps, torch_device)))
  step_s = float(np.median(step_seconds))
  results["peak_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
  results.update(examples_per_s=round(batch_size / step_s, 2), ms_per_step=round(1e3 * step_s, 1),
                 compile_s=round(first_step_s - step_s, 1))
  if peer_runs:
    results.update(peer_summary(peer_runs))
    results["speedup_vs_torch"] = round(
        results["examples_per_s"] / results["torch_examples_per_s"], 2)
    if results["torch_params"] != results["params"]:
      logging.warning("The peer has %d parameters, emojax %d: the networks differ.",
                      results["torch_params"], results["params"])

  flops = train_flops(config, state, batch)
  peak = float(np.median(peaks))
  results.update(train_gflops_per_step=round(flops / 1e9, 2),
                 train_gflops_per_s=round(flops / step_s / 1e9, 1),
                 matmul_peak_gflops_per_s=round(peak / 1e9, 1),
                 peak_fraction=round(flops / step_s / peak, 3))

  train_examples = run.examples["train"]
  results["pipeline_examples_per_s"] = data_speed.pipeline_examples_per_s(
      train_examples, min(batch_size, pipeline.num_examples(train_examples)), pipeline_epochs)
  results["pipeline_over_step"] = round(
      results["pipeline_examples_per_s"] / results["examples_per_s"], 1)
  results.update(preprocessing_speed(data_root) if data_root
                 else {"audio_clips_per_s": None, "video_clips_per_s": None})
  results["load_average_end"] = round(os.getloadavg()[0], 2)
  return results


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  if _CONV_IMPL.value:
    conv_backend.select(_CONV_IMPL.value)
  if _HLO_OUT.value:
    hlo = train_step_hlo(_CONFIG.value, _BATCH_SIZE.value)
    with open(_HLO_OUT.value, "w") as f:
      f.write(hlo)
    print(hashlib.sha256(hlo.encode()).hexdigest())
    return
  torch_probe = None
  if _TORCH.value and importlib.util.find_spec("torch") is None:
    logging.warning("torch is not importable: not timing the PyTorch peer.")
  elif _TORCH.value and not is_probe_network(_CONFIG.value.model):
    logging.warning("The config's network is not the peer's probe network: not timing the peer.")
  elif _TORCH.value:
    torch_probe = _TORCH_PROBE.value
    if not os.path.exists(torch_probe):
      raise FileNotFoundError(f"--torch_probe={torch_probe} does not exist; pass the peer's "
                              "path, or --notorch.")
  results = benchmark(_CONFIG.value, _BATCH_SIZE.value, _STEPS.value, _REPEATS.value,
                      torch_probe, None if _SKIP_DATA.value else _DATA_ROOT.value,
                      _PIPELINE_EPOCHS.value, _TORCH_DEVICE.value)
  print(f"{'measure':28s} value")
  for key, value in results.items():
    print(f"{key:28s} {value}")
  print(json.dumps(results))


if __name__ == "__main__":
  app.run(main)
