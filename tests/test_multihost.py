"""Two processes under jax.distributed (one CPU device each) train as one process does,
from one feature cache that they find empty."""
import json
import os
import socket
import subprocess

import pytest

from tests import commands

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tiny(workdir, tfds_dir):
  return commands.tiny_probe_training(workdir, tfds_dir, num_epochs=2)


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def _final_metrics(workdir):
  with open(os.path.join(workdir, "final_metrics.json")) as f:
    return json.load(f)


@pytest.mark.slow
def test_two_processes_train_to_the_same_metrics_as_one(tmp_path, sample_tfds_dir):
  env = {key: value for key, value in os.environ.items() if key != "XLA_FLAGS"}
  one = tmp_path / "one"
  subprocess.run(_tiny(one, sample_tfds_dir), cwd=REPO, env=env, check=True,
                 capture_output=True, timeout=300)

  two = tmp_path / "two"
  # An empty feature cache: both processes reach the build at once; one builds,
  # the other waits for it and reads the same records.
  empty_tfds_dir = tmp_path / "tfds"
  port = _free_port()
  processes = [
      subprocess.Popen(_tiny(two, empty_tfds_dir) + [
          "--jax_distributed", f"--coordinator_address=localhost:{port}",
          "--num_processes=2", f"--process_id={i}"],
          cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
      for i in range(2)]
  for process in processes:
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-2000:]
  assert "JAX process 1 of 2" in stderr
  expected, got = _final_metrics(one), _final_metrics(two)
  assert got.keys() == expected.keys()
  for key in expected:
    assert got[key] == pytest.approx(expected[key], abs=1e-5), key
  with open(one / "final_predictions.json") as f, open(two / "final_predictions.json") as g:
    expected, got = json.load(f)["test"], json.load(g)["test"]
  assert got["clip"] == expected["clip"] and got["label"] == expected["label"]
  assert got["probabilities"] == pytest.approx(expected["probabilities"], abs=1e-3)
  with open(two / "metrics.jsonl") as f:
    assert [json.loads(line)["epoch"] for line in f] == [1, 2]  # Written once, by process 0.
