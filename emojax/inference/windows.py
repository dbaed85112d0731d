"""A clip's media -> the network's inputs, window by window.

A clip is cut into windows as long as the training crop (one, centred, for a
clip of up to 1.5 crops; half-overlapping ones for a longer clip), and each
window's MFCCs and face images are made by `emojax.data.preprocess`, the
functions the feature builder calls: the centred window is exactly a training
example.
"""
import dataclasses

import numpy as np

from emojax.data import audio as audio_lib
from emojax.data import features as features_lib
from emojax.data import preprocess
from emojax.data import video as video_lib
from emojax.inference import media as media_lib


@dataclasses.dataclass(frozen=True)
class ClipInputs:
  """What the network reads of one clip.

  Attributes:
    audio: [windows, n_mfcc, num_frames] float32 MFCCs, or None.
    images: [windows, pairs, face_size, 2 * face_size, 3] uint8 face images,
      or None (no video, or no face found in it).
    duration_s: the clip's length: its audio's if it has audio, else its video's.
    offsets_s: [windows] offsets of the windows' centres from the clip's.
    notes: why a modality was left out or only partly found, for humans.
  """
  audio: np.ndarray | None
  images: np.ndarray | None
  duration_s: float
  offsets_s: np.ndarray
  notes: tuple[str, ...]


def audio_inputs(waveform: np.ndarray,
                 config: audio_lib.AudioConfig) -> tuple[np.ndarray, np.ndarray]:
  """[windows, n_mfcc, num_frames] MFCC windows of a waveform and [windows] their
  centres' offsets in seconds."""
  mfcc = audio_lib.mfcc(waveform, config)
  offsets = preprocess.window_offsets(mfcc.shape[1], config.num_frames)
  return (preprocess.audio_windows(mfcc, config, offsets),
          offsets * config.hop_length / config.sample_rate)


def window_frames(video: media_lib.Video, offsets_s: np.ndarray,
                  config: video_lib.VideoConfig) -> np.ndarray:
  """[windows * num_frames, height, width, 3] uint8 RGB: each window's sampled frames."""
  return video.read(preprocess.frame_times(video.duration_s, config, offsets_s).ravel())


def detect_faces(frames: np.ndarray, detector: video_lib.FaceDetector) -> list:
  """Per frame, the largest face's box or None."""
  return [detector.detect(frame) for frame in frames]


def face_notes(boxes: list) -> tuple[str, ...]:
  """What to tell a user about the faces found in the sampled frames."""
  found = sum(box is not None for box in boxes)
  if not found:
    return (f"no face found in the {len(boxes)} sampled frames; the image heads are skipped",)
  if found < len(boxes):
    return (f"a face was found in {found} of {len(boxes)} sampled frames; the others use the "
            "frame's centre square, as training did",)
  return ()


def clip_inputs(media: media_lib.Media, features: features_lib.FeatureConfig,
                detector: video_lib.FaceDetector) -> ClipInputs:
  """The network's inputs from `media`; a video is sampled in its audio's windows if
  there is audio, else in windows of its own length."""
  notes = list(media.notes)
  audio = images = None
  duration_s, offsets_s = 0.0, preprocess.CENTRED  # Kept only if there is no input at all.
  if media.waveform is not None:
    audio, offsets_s = audio_inputs(media.waveform, features.audio)
    duration_s = len(media.waveform) / features.audio.sample_rate
  if media.video is not None:
    if media.waveform is None:
      duration_s = media.video.duration_s
      offsets_s = preprocess.window_offsets(duration_s, preprocess.window_seconds(features.audio))
    frames = window_frames(media.video, offsets_s, features.video)
    boxes = detect_faces(frames, detector)
    notes.extend(face_notes(boxes))
    if any(box is not None for box in boxes):
      images = preprocess.face_pairs(frames, boxes, features.video)
  return ClipInputs(audio, images, duration_s, offsets_s, tuple(notes))
