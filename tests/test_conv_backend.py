"""The convolution kernels as a run-time choice (emojax.models.conv_backend): which
one a model runs, and a run directory trained on one used with the other."""
import json
import os
import subprocess

import numpy as np
import pytest

from emojax import inference
from emojax.models import conv_backend
from tests import commands

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MP4 = "ravdess_video/Actor_05/01-01-03-01-01-02-05.mp4"


def test_auto_is_the_default_and_takes_the_cpu_kernels_on_cpu(monkeypatch):
  monkeypatch.delenv(conv_backend.ENV_VAR, raising=False)
  assert conv_backend.resolved() == "cpu"
  monkeypatch.setenv(conv_backend.ENV_VAR, "xla")
  assert conv_backend.resolved() == "xla"


def test_an_unknown_choice_is_an_error_naming_where_it_came_from(monkeypatch):
  monkeypatch.setenv(conv_backend.ENV_VAR, "matmul")
  with pytest.raises(ValueError, match=r"'matmul' in \$EMOJAX_CONV; expected one of"):
    conv_backend.resolved()
  with pytest.raises(ValueError, match="'gpu' in --conv_impl"):
    conv_backend.select("gpu")


def test_using_sets_the_choice_for_its_block_only(monkeypatch):
  monkeypatch.setenv(conv_backend.ENV_VAR, "cpu")
  with conv_backend.using("xla"):
    assert conv_backend.resolved() == "xla"
  assert os.environ[conv_backend.ENV_VAR] == "cpu"
  monkeypatch.delenv(conv_backend.ENV_VAR)
  with conv_backend.using("xla"):
    pass
  assert conv_backend.ENV_VAR not in os.environ


def _json(path):
  with open(path) as f:
    return json.load(f)


@pytest.fixture(scope="module")
def cpu_trained_run(tmp_path_factory, sample_tfds_dir):
  """A probe network trained one epoch with the CPU kernels, wide enough (32
  channels) that both encoders run the fused Winograd loops; and its command."""
  workdir = tmp_path_factory.mktemp("cpu_trained") / "run"
  command = commands.tiny_probe_training(workdir, sample_tfds_dir, num_epochs=1,
                                         widths="(32, 32)")
  done = subprocess.run(command + ["--conv_impl=cpu"], cwd=REPO, capture_output=True,
                        text=True, timeout=600)
  assert done.returncode == 0, done.stderr[-2000:]
  assert "convolutions: cpu" in done.stderr
  return workdir, command


@pytest.mark.slow
def test_a_run_trained_with_the_cpu_kernels_evaluates_with_xla_to_the_same_metrics(
    cpu_trained_run):
  workdir, command = cpu_trained_run
  done = subprocess.run(command + ["--mode=eval", "--conv_impl=xla"], cwd=REPO,
                        capture_output=True, text=True, timeout=600)
  assert done.returncode == 0, done.stderr[-2000:]
  assert "convolutions: xla" in done.stderr
  trained, evaluated = _json(workdir / "final_metrics.json"), _json(workdir / "eval_metrics.json")
  assert sorted(evaluated) == sorted(trained) and "test/joint_accuracy" in trained
  np.testing.assert_allclose([evaluated[k] for k in sorted(trained)],
                             [trained[k] for k in sorted(trained)], rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_a_run_trained_with_the_cpu_kernels_predicts_with_xla_the_same_probabilities(
    cpu_trained_run, sample_dir):
  workdir, _ = cpu_trained_run
  heads = {}
  for choice in ("cpu", "xla"):
    # The choice is read when the predictor's function is traced, at its first call.
    with conv_backend.using(choice):
      heads[choice] = inference.Predictor.from_workdir(str(workdir)).predict(
          str(sample_dir / MP4)).heads
  assert set(heads["xla"]) == {"joint", "audio_probe", "image_probe"} == set(heads["cpu"])
  for head, probabilities in heads["cpu"].items():
    np.testing.assert_allclose(list(heads["xla"][head].values()), list(probabilities.values()),
                               rtol=1e-4, atol=1e-6)
