"""One RAVDESS clip -> its feature example (MFCCs, acoustic functionals if asked,
face images, metadata).

Runs in worker processes, so it imports neither TensorFlow nor JAX.
"""
import dataclasses
import functools
import os
from typing import Any

import numpy as np
import threadpoolctl

from emojax.data import acoustic as acoustic_lib
from emojax.data import audio as audio_lib
from emojax.data import ravdess
from emojax.data import video as video_lib


@dataclasses.dataclass(frozen=True)
class FeatureConfig:
  audio: audio_lib.AudioConfig
  video: video_lib.VideoConfig
  acoustic: str = ""  # A feature set of emojax.data.acoustic, or "" for none.

  @property
  def image_shape(self) -> tuple[int, int, int]:
    size = self.video.face_size
    return (size, 2 * size, 3)

  @property
  def images_per_clip(self) -> int:
    return self.video.num_frames // 2


def limit_worker_threads() -> None:
  """A worker process's initializer: one BLAS thread, since every worker has a
  core already (on 2 cores, two workers with two BLAS threads each featurised
  audio 2x slower), and so that the MFCCs' last bits do not depend on the
  machine's core count. The environment covers libraries loaded later."""
  for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"
  threadpoolctl.threadpool_limits(1)


# Key of a clip's count of blank sampled frames that were replaced (video.usable_frames).
BLANK_FRAMES_REPLACED = "blank_frames_replaced"


@functools.lru_cache(maxsize=1)
def _face_detector() -> video_lib.FaceDetector:
  # One cascade per process: loading it costs more than detecting a face.
  return video_lib.FaceDetector()


def clip_example(clip: ravdess.Clip, config: FeatureConfig) -> dict[str, Any]:
  """Features and metadata of one clip, shaped for the TFDS builder.

  A missing modality gives zeros (audio) or no images (video) and a False flag.
  With `config.acoustic`, "acoustic" holds the whole clip's functionals (zeros
  without audio); with `config.audio.test_windows` > 1, "mfcc_windows" the
  windows it is evaluated on. `BLANK_FRAMES_REPLACED` is for the build's report,
  not the records: the builder takes it out.
  Raises audio_lib.AudioError (also for non-finite functionals) or
  video_lib.VideoError for unreadable media.
  """
  name = clip.name
  asked = {}  # Features only some settings ask for.
  if clip.audio_path is not None:
    waveform = audio_lib.clip_waveform(clip.audio_path, config.audio)
    frames = audio_lib.frame_features(waveform, config.audio)
    mfcc = audio_lib.training_window(frames, config.audio)
    if config.audio.test_windows > 1:
      asked["mfcc_windows"] = audio_lib.test_windows(frames, config.audio)
    if config.acoustic:
      asked["acoustic"] = acoustic_lib.functionals(waveform, config.audio, config.acoustic,
                                                   clip.audio_path)
  else:
    mfcc = np.zeros((config.audio.n_mfcc, config.audio.num_frames), np.float32)
    if config.audio.test_windows > 1:
      asked["mfcc_windows"] = np.zeros((config.audio.test_windows, *mfcc.shape), np.float32)
    if config.acoustic:
      asked["acoustic"] = np.zeros(
          acoustic_lib.num_features(config.acoustic, config.audio), np.float32)
  if clip.video_path is not None:
    images, faces_found, frames_replaced = video_lib.face_images(
        clip.video_path, config.video, _face_detector())
  else:
    images = np.zeros((0, *config.image_shape), np.uint8)
    faces_found = frames_replaced = 0
  return {
      "clip_id": clip.clip_id,
      "label": name.emotion,
      "actor": name.actor,
      "vocal_channel": name.vocal_channel,
      "intensity": name.intensity,
      "statement": name.statement,
      "repetition": name.repetition,
      "has_audio": clip.audio_path is not None,
      "has_video": clip.video_path is not None,
      "mfcc": mfcc.astype(np.float32),
      **asked,  # Only when asked: records of the other settings keep their features.
      "images": images,
      "faces_found": faces_found,
      BLANK_FRAMES_REPLACED: frames_replaced,
  }


def safe_clip_example(clip: ravdess.Clip, config: FeatureConfig):
  """(example, None), or (None, Skipped) naming the file that failed."""
  try:
    return clip_example(clip, config), None
  except audio_lib.AudioError as error:
    return None, ravdess.Skipped(clip.audio_path, str(error))
  except video_lib.VideoError as error:
    return None, ravdess.Skipped(clip.video_path, str(error))
