import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import audio
from configs import probe_reference
from tools import benchmark

REQUIRED_KEYS = {"examples_per_s", "ms_per_step", "compile_s", "params", "train_gflops_per_s",
                 "matmul_peak_gflops_per_s", "peak_fraction", "pipeline_examples_per_s",
                 "audio_clips_per_s", "video_clips_per_s", "peak_rss_gib"}


def test_reference_config_gives_the_peers_default_shapes():
  config = probe_reference.get_config()
  assert benchmark.is_probe_network(config.model)
  assert benchmark.torch_peer_args(config, 64, 20) == [
      "--batch", "64", "--steps", "20", "--audio-shape", "40,128,1", "--image-shape", "64,128,3",
      "--widths", "32,64", "--embed", "256", "--classes", "8", "--device", "cpu"]
  assert benchmark.torch_peer_args(config, 64, 20, "cuda")[-2:] == ["--device", "cuda"]


def test_only_the_probe_network_is_compared_with_the_peer():
  assert not benchmark.is_probe_network(audio.get_config().model)


def test_example_batch_cycles_through_fewer_examples_than_the_batch():
  examples = {"label": np.arange(3), "audio": np.arange(3.0)[:, None]}
  batch = benchmark.example_batch(examples, 5)
  np.testing.assert_array_equal(batch["label"], [0, 1, 2, 0, 1])
  assert batch["audio"].shape == (5, 1)


def _compiled_text(fn):
  return jax.jit(fn).lower(jnp.ones(3)).compile().as_text()


def test_the_same_program_from_another_line_gives_the_same_hlo_text():
  first = _compiled_text(lambda x: jnp.sin(x) * 2)
  second = _compiled_text(lambda x: jnp.sin(x) * 2)  # Another source line.
  assert "metadata=" in first and first != second
  assert benchmark.without_locations(first) == benchmark.without_locations(second)
  assert "metadata=" not in benchmark.without_locations(first)


def test_another_program_gives_another_hlo_text():
  assert (benchmark.without_locations(_compiled_text(lambda x: jnp.sin(x) * 2))
          != benchmark.without_locations(_compiled_text(lambda x: jnp.cos(x) * 2)))


@pytest.fixture
def tiny_data_root(tmp_path, sample_dir):
  """24 audio clips (3 per emotion) and 2 face-crop videos of actor 05, as links."""
  actor = sample_dir / "ravdess" / "Actor_05"
  clips = [path for emotion in range(1, 9)
           for path in sorted(actor.glob(f"03-01-{emotion:02d}-*.flac"))[:3]]
  videos = sorted((sample_dir / "ravdess_facecrops" / "Actor_05").glob("*.avi"))[:2]
  for folder, files in (("ravdess", clips), ("ravdess_facecrops", videos)):
    (tmp_path / folder / "Actor_05").mkdir(parents=True)
    for path in files:
      os.symlink(path, tmp_path / folder / "Actor_05" / path.name)
  return tmp_path


def run_benchmark(data_root, *flags: str) -> dict:
  """Runs tools.benchmark on a tiny audio network over `data_root`; returns its JSON line."""
  root = str(data_root)
  command = [
      sys.executable, "-m", "tools.benchmark", "--config=configs/audio.py",
      "--config.model.audio_widths=(2,)", "--config.model.joint_hidden=(8,)",
      f"--config.data.roots=('{root}/ravdess',)", "--config.data.action_units=",
      f"--config.data.tfds_dir={root}/tfds", "--config.data.split.fractions=(0.34,0.33,0.33)",
      "--config.data.num_workers=1", "--batch_size=4", "--steps=1", "--repeats=1",
      "--pipeline_epochs=1", "--notorch", *flags]
  done = subprocess.run(command, capture_output=True, text=True, check=False,
                        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  assert done.returncode == 0, done.stderr[-3000:]
  return json.loads(done.stdout.strip().splitlines()[-1])


def test_benchmark_prints_a_json_line_with_every_measure(tiny_data_root):
  results = run_benchmark(tiny_data_root, "--skip_data")
  assert REQUIRED_KEYS <= set(results)
  assert results["audio_clips_per_s"] is None and results["video_clips_per_s"] is None
  assert all(results[key] > 0 for key in REQUIRED_KEYS - {
      "compile_s", "audio_clips_per_s", "video_clips_per_s"})
  assert results["batch_size"] == 4
  assert results["conv_impl"] == "cpu"  # "auto" on a CPU backend.


@pytest.mark.slow
def test_benchmark_times_preprocessing_of_the_data_root(tiny_data_root):
  results = run_benchmark(tiny_data_root, f"--data_root={tiny_data_root}")
  assert results["audio_clips_per_s"] > 0 and results["video_clips_per_s"] > 0
