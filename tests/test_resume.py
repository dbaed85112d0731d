"""A run killed with SIGKILL and started again ends exactly as an uninterrupted run."""
import json
import os
import signal
import subprocess
import time

from tests import commands

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tiny(workdir, tfds_dir):
  return commands.tiny_probe_training(workdir, tfds_dir, num_epochs=4)


def _final_metrics(workdir):
  with open(os.path.join(workdir, "final_metrics.json")) as f:
    return json.load(f)


def test_killed_run_resumes_to_the_same_final_metrics(tmp_path, sample_tfds_dir):
  whole, killed = tmp_path / "whole", tmp_path / "killed"
  # The uninterrupted run trains beside the killed one and its resumption, to save wall time.
  uninterrupted = subprocess.Popen(_tiny(whole, sample_tfds_dir), cwd=REPO,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  process = subprocess.Popen(_tiny(killed, sample_tfds_dir), cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.time() + 240
  while not (killed / "checkpoints" / "2").exists() and time.time() < deadline:
    time.sleep(0.2)
  os.kill(process.pid, signal.SIGKILL)
  process.wait()
  assert not (killed / "final_metrics.json").exists()

  resumed = subprocess.run(_tiny(killed, sample_tfds_dir), cwd=REPO, capture_output=True,
                           text=True, timeout=300)
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  assert "Resuming after epoch" in resumed.stderr
  assert uninterrupted.wait(timeout=300) == 0
  assert _final_metrics(killed) == _final_metrics(whole)
  with open(killed / "metrics.jsonl") as f:
    assert [json.loads(line)["epoch"] for line in f] == [1, 2, 3, 4]
