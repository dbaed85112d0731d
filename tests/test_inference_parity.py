"""Inference is training's preprocessing and eval step, end to end, on a tiny trained run.

`Predictor` on a training clip's media reproduces the clip's features as the
TFDS builder stored them (bit for bit) and the probabilities of the eval
path's forward pass on those stored features; and the README's predict
command runs as written on the bundled raw clip.
"""
import os
import re
import shlex
import subprocess
import sys

import av
import jax
import numpy as np
import pytest
import soundfile
import threadpoolctl

from emojax import inference
from emojax import run_dir
from emojax import train
from emojax.data import ravdess
from emojax.data import ravdess_tfds
from emojax.inference import model as model_lib
from tests import commands

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# One training clip of actor 05 (happy): the builder reads its audio from the
# FLAC and its faces from the face-crop video.
CLIP = "01-01-03-01-01-02-05"
FLAC = f"ravdess/Actor_05/03{CLIP[2:]}.flac"
FACECROP_AVI = f"ravdess_facecrops/Actor_05/{CLIP}.avi"
HEADS_OF = {FLAC: {"audio_probe"}, FACECROP_AVI: {"image_probe"},
            "both": {"joint", "audio_probe", "image_probe"}}


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, sample_tfds_dir):
  """A probe network trained one epoch on the bundled sample (tests/commands.py)."""
  workdir = str(tmp_path_factory.mktemp("tiny_probe") / "run")
  done = subprocess.run(commands.tiny_probe_training(workdir, sample_tfds_dir, 1), cwd=REPO,
                        capture_output=True, text=True, timeout=900)
  assert done.returncode == 0, done.stderr[-3000:]
  return workdir


@pytest.fixture(scope="module")
def stored_clip(trained_run):
  """CLIP's row of the records the run trained on, as `load_clips` reads them."""
  data_config = run_dir.require_config(trained_run).data
  builder, _ = ravdess_tfds.prepare(data_config)  # Built by the run: read, not rebuilt.
  clips = ravdess_tfds.load_clips(builder, data_config.video.num_frames // 2)
  row = list(clips["clip_id"]).index(CLIP)
  return {key: values[row] for key, values in clips.items()}


@pytest.fixture(scope="module")
def media_files(sample_dir, tmp_path_factory):
  """{FLAC, FACECROP_AVI, "both"}: the sample's files of CLIP, and one video holding both.

  "both" is the face-crop video with the FLAC's audio: its MJPEG packets copied
  and the FLAC's 16-bit samples as PCM, so that both decode to exactly what
  the builder read.
  """
  both = str(tmp_path_factory.mktemp("clip") / f"{CLIP}.avi")
  samples, rate = soundfile.read(str(sample_dir / FLAC), dtype="int16")
  with av.open(str(sample_dir / FACECROP_AVI)) as reader, av.open(both, "w") as writer:
    # Both streams before the first packet: muxing writes the header.
    video_out = writer.add_stream_from_template(reader.streams.video[0])
    audio_out = writer.add_stream("pcm_s16le", rate=rate, layout="mono")
    for packet in reader.demux(reader.streams.video[0]):
      if packet.dts is not None:
        packet.stream = video_out
        writer.mux(packet)
    frame = av.AudioFrame.from_ndarray(samples[None], format="s16", layout="mono")
    frame.sample_rate = rate
    for packet in [*audio_out.encode(frame), *audio_out.encode(None)]:
      writer.mux(packet)
  return {FLAC: str(sample_dir / FLAC), FACECROP_AVI: str(sample_dir / FACECROP_AVI),
          "both": both}


@pytest.fixture(scope="module")
def predictor(trained_run):
  return inference.Predictor.from_workdir(trained_run)


@pytest.mark.parametrize("name", [FLAC, FACECROP_AVI, "both"])
def test_a_training_clip_gives_exactly_its_stored_features_in_one_window(
    predictor, media_files, stored_clip, name):
  with threadpoolctl.threadpool_limits(1):  # The builder's one BLAS thread: the same bits.
    inputs = predictor.inputs(predictor.media(media_files[name]))
  np.testing.assert_array_equal(inputs.offsets_s, [0.0])
  if name != FACECROP_AVI:
    assert inputs.audio.shape == (1, 40, 128)
    np.testing.assert_array_equal(inputs.audio[0], stored_clip["mfcc"])
  if name != FLAC:
    assert inputs.images.shape == (1, 3, 64, 128, 3)
    np.testing.assert_array_equal(inputs.images[0], stored_clip["images"])


@pytest.mark.parametrize("name", [FLAC, FACECROP_AVI, "both"])
def test_a_training_clip_gets_the_eval_paths_probabilities_on_its_stored_features(
    predictor, trained_run, media_files, stored_clip, name):
  with threadpoolctl.threadpool_limits(1):
    prediction = predictor.predict(media_files[name])
  # The eval step's forward pass on the clip's examples as `clip` pairing makes
  # them: each stored image pair with the clip's stored MFCCs.
  model, params, _ = model_lib.restore(trained_run)
  images = stored_clip["images"]
  batch = {"audio": np.repeat(stored_clip["mfcc"][None], len(images), axis=0), "image": images}
  outputs = train.forward(params, {}, {m: batch[m] for m in model.modalities}, model=model,
                          teacher_models={})
  expected = {head: np.asarray(jax.nn.softmax(logits, axis=-1)).mean(axis=0)
              for head, logits in outputs["logits"].items()}
  assert set(prediction.heads) == HEADS_OF[name]
  [window] = prediction.windows
  for head, probabilities in prediction.heads.items():
    assert list(probabilities) == list(ravdess.EMOTIONS)
    np.testing.assert_allclose(list(probabilities.values()), expected[head], rtol=1e-5,
                               atol=1e-7)
    assert window.heads[head] == probabilities


def _readme_predict_command() -> str:
  """The command of the README's "Predict" section's first code block."""
  with open(os.path.join(REPO, "README.md")) as f:
    section = f.read().split("\n## Predict\n", 1)[1]
  [command] = re.search(r"```bash\n(.*?)\n```", section, re.S).group(1).splitlines()
  return command


def test_the_readmes_predict_command_runs_on_the_bundled_clip(trained_run):
  command = shlex.split(_readme_predict_command())
  assert command[:4] == ["python", "-m", "emojax.predict", "--workdir=/tmp/emojax_probe"]
  clip = command[4]
  assert clip.startswith("data/sample/") and os.path.isfile(os.path.join(REPO, clip))
  # As written, but with this test's run directory and this interpreter.
  done = subprocess.run([sys.executable, "-m", "emojax.predict", f"--workdir={trained_run}",
                         *command[4:]], cwd=REPO, capture_output=True, text=True, timeout=300)
  assert done.returncode == 0, done.stderr[-2000:]
  # The table's layout is test_predict.py's; here, that the bundled clip reads every head.
  header = done.stdout.splitlines()[0]
  assert header.startswith(f"{clip}: ") and "(joint head; audio + image; 1 window)" in header
