"""A clip's media -> the network's inputs, window by window, in batches.

A clip is cut into windows as long as the training crop (one, centred, for a
clip of up to 1.5 crops; half-overlapping ones for a longer clip), and each
window's MFCCs and face images are made by `emojax.data.preprocess`, the
functions the feature builder calls: the centred window is exactly a training
example. The windows come in batches of at most `BATCH_WINDOWS`, made as they
are needed, so that memory does not grow with the clip's length. Acoustic
functionals come from `emojax.data.acoustic`, as the builder's: over the whole
clip when it is one window (as in training), else over each window's span, so
that a long recording is not summarised as one utterance.
"""
import dataclasses
import itertools
from typing import Iterator

import numpy as np

from emojax.data import acoustic as acoustic_lib
from emojax.data import audio as audio_lib
from emojax.data import features as features_lib
from emojax.data import preprocess
from emojax.data import video as video_lib
from emojax.inference import media as media_lib

# Windows made and classified at once: 64 windows' MFCCs are 1.3 MB and their
# face images 14 MB, whatever the clip's length.
BATCH_WINDOWS = 64


@dataclasses.dataclass(frozen=True)
class WindowBatch:
  """The network's inputs for consecutive windows of a clip.

  Attributes:
    audio: [windows, n_mfcc, num_frames] float32 MFCCs, or None (no audio).
    images: [windows, pairs, face_size, 2 * face_size, 3] uint8 face images
      (the frame's centre square where no face was found), or None (no video).
    faces_found: in how many of the sampled frames a face was found.
    frames_sampled: how many frames were sampled.
    acoustic: [windows, F] float32 acoustic functionals (not standardised), or
      None (no audio, or the network reads none).
  """
  audio: np.ndarray | None
  images: np.ndarray | None
  faces_found: int
  frames_sampled: int
  acoustic: np.ndarray | None = None


@dataclasses.dataclass(frozen=True)
class ClipWindows:
  """A clip's windows, their inputs made batch by batch as `batches` is iterated.

  Attributes:
    duration_s: the clip's length: its audio's if it has audio, else its video's.
    offsets_s: [windows] offsets of the windows' centres from the clip's.
    notes: why a modality was left out, for humans.
    batches: the windows' inputs in order, once.
  """
  duration_s: float
  offsets_s: np.ndarray
  notes: tuple[str, ...]
  batches: Iterator[WindowBatch]


@dataclasses.dataclass(frozen=True)
class ClipInputs:
  """What the network reads of one clip, all windows at once.

  Attributes:
    audio: [windows, n_mfcc, num_frames] float32 MFCCs, or None.
    images: [windows, pairs, face_size, 2 * face_size, 3] uint8 face images,
      or None (no video, or no face found in it).
    duration_s: the clip's length: its audio's if it has audio, else its video's.
    offsets_s: [windows] offsets of the windows' centres from the clip's.
    notes: why a modality was left out or only partly found, for humans.
    acoustic: [windows, F] float32 acoustic functionals (not standardised), or None.
  """
  audio: np.ndarray | None
  images: np.ndarray | None
  duration_s: float
  offsets_s: np.ndarray
  notes: tuple[str, ...]
  acoustic: np.ndarray | None = None


def clip_windows(media: media_lib.Media, features: features_lib.FeatureConfig,
                 detector: video_lib.FaceDetector,
                 batch_windows: int = BATCH_WINDOWS) -> ClipWindows:
  """The windows of `media`; a video is sampled in its audio's windows if there is
  audio, else in windows of its own length."""
  layout = window_layout(media, features.audio)
  audio = images = acoustic = None
  notes = media.notes
  if layout.frames:
    audio = _batched(audio_windows(media, features.audio, layout.frames, layout.offsets),
                     batch_windows)
  if features.acoustic and media.waveform is not None:
    acoustic = _batched(iter(acoustic_inputs(media.waveform, layout.offsets_s, features,
                                             media.file or "the arrays")), batch_windows)
  elif features.acoustic and media.stream is not None:
    notes += ("the audio track is streamed (over a minute long); acoustic functionals need "
              "its whole waveform, so the acoustic heads are skipped",)
  if media.video is not None:
    images = _batched(face_windows(media.video, layout.offsets_s, features.video, detector),
                      batch_windows)
  return ClipWindows(layout.duration_s, layout.offsets_s, notes,
                     _zip_batches(audio, images, acoustic))


def acoustic_inputs(waveform: np.ndarray, offsets_s: np.ndarray,
                    features: features_lib.FeatureConfig, source: str) -> np.ndarray:
  """[windows, F] float32 functionals: of the whole waveform for one window (exactly
  the builder's), else of each window's span.

  Raises:
    InputError: naming `source`, if the functionals are not finite (a clip too short).
  """
  rate = features.audio.sample_rate
  if len(offsets_s) == 1:
    spans = [waveform]
  else:
    half = preprocess.window_seconds(features.audio) * rate / 2
    centres = len(waveform) / 2 + np.asarray(offsets_s) * rate
    spans = [waveform[max(0, round(c - half)):round(c + half)] for c in centres]
  try:
    return np.stack([acoustic_lib.functionals(span, features.audio, features.acoustic, source)
                     for span in spans])
  except audio_lib.AudioError as error:
    raise media_lib.InputError(str(error)) from error


@dataclasses.dataclass(frozen=True)
class Layout:
  """Where a clip's windows sit.

  Attributes:
    duration_s: the clip's length: its audio's if it has audio, else its video's.
    offsets_s: [windows] offsets of the windows' centres from the clip's.
    frames: the audio's MFCC frame count; 0 without audio.
    offsets: `offsets_s` in MFCC frames; unused without audio.
  """
  duration_s: float
  offsets_s: np.ndarray
  frames: int
  offsets: np.ndarray


def window_layout(media: media_lib.Media, config: audio_lib.AudioConfig) -> Layout:
  """The windows of `media`: in its audio's MFCC frames if there is audio, else in its
  video's length."""
  samples = (len(media.waveform) if media.waveform is not None
             else media.stream.samples if media.stream is not None else None)
  if samples is not None:
    frames = 1 + samples // config.hop_length  # librosa's MFCC frame count.
    offsets = preprocess.window_offsets(frames, config.num_frames)
    if len(offsets) == 1 and config.test_windows > 1:
      # A clip of about the training crop's length, scored as evaluation scores it.
      offsets = preprocess.covering_offsets(frames, config.num_frames,
                                            config.test_windows).astype(np.float64)
    return Layout(samples / config.sample_rate, offsets * config.hop_length / config.sample_rate,
                  frames, offsets)
  if media.video is not None:
    return Layout(media.video.duration_s, preprocess.window_offsets(
        media.video.duration_s, preprocess.window_seconds(config)), 0, preprocess.CENTRED)
  return Layout(0.0, preprocess.CENTRED, 0, preprocess.CENTRED)  # No input at all.


def audio_windows(media: media_lib.Media, config: audio_lib.AudioConfig, frames: int,
                  offsets: np.ndarray) -> Iterator[np.ndarray]:
  """[n_mfcc, num_frames] MFCCs per window centred at `offsets` (MFCC frames): of the
  whole waveform, or streamed (equal within float rounding) from a long track."""
  if media.waveform is not None:
    yield from preprocess.audio_windows(audio_lib.frame_features(media.waveform, config), config,
                                        offsets)
    return
  mel_power = preprocess.mel_power_frames(media.stream.blocks(), config)
  yield from preprocess.streamed_audio_windows(mel_power, media.stream.loudest, frames, config,
                                               offsets)


def face_windows(video: media_lib.Video, offsets_s: np.ndarray, config: video_lib.VideoConfig,
                 detector: video_lib.FaceDetector) -> Iterator[tuple[np.ndarray, int]]:
  """Per window, its [pairs, face_size, 2 * face_size, 3] uint8 face images and in
  how many of its sampled frames a face was found; only one window's frames
  are held at a time."""
  for frames in video.read(preprocess.frame_times(video.duration_s, config, offsets_s)):
    images, found = preprocess.faces(frames, detector.detect, config, video.face_crop)
    yield images[0], found


def face_notes(found: int, sampled: int) -> tuple[str, ...]:
  """What to tell a user about the faces found in `found` of `sampled` frames."""
  if not found:
    return (f"no face found in the {sampled} sampled frames; the image heads are skipped",)
  if found < sampled:
    return (f"a face was found in {found} of {sampled} sampled frames; the others use the "
            "frame's centre square, as training did",)
  return ()


def clip_inputs(media: media_lib.Media, features: features_lib.FeatureConfig,
                detector: video_lib.FaceDetector) -> ClipInputs:
  """All the windows of `clip_windows` at once; images only if a face was found."""
  clip = clip_windows(media, features, detector)
  batches = list(clip.batches)
  audio = images = acoustic = None
  notes = clip.notes
  if batches and batches[0].audio is not None:
    audio = np.concatenate([batch.audio for batch in batches])
  if batches and batches[0].acoustic is not None:
    acoustic = np.concatenate([batch.acoustic for batch in batches])
  if batches and batches[0].images is not None:
    found = sum(batch.faces_found for batch in batches)
    notes += face_notes(found, sum(batch.frames_sampled for batch in batches))
    if found:
      images = np.concatenate([batch.images for batch in batches])
  return ClipInputs(audio, images, clip.duration_s, clip.offsets_s, notes, acoustic)


def _batched(windows: Iterator, size: int) -> Iterator[list]:
  while batch := list(itertools.islice(windows, size)):
    yield batch


def _zip_batches(audio: Iterator[list] | None, images: Iterator[list] | None,
                 acoustic: Iterator[list] | None = None) -> Iterator[WindowBatch]:
  """WindowBatch-es of the audio, face and acoustic windows' batches (any may be None)."""
  if audio is None and images is None:
    return
  for audio_batch, image_batch, acoustic_batch in itertools.zip_longest(
      audio or (), images or (), acoustic or ()):
    faces = [] if image_batch is None else image_batch
    yield WindowBatch(
        audio=None if audio_batch is None else np.stack(audio_batch),
        images=None if image_batch is None else np.stack([pairs for pairs, _ in faces]),
        faces_found=sum(found for _, found in faces),
        frames_sampled=sum(len(pairs) * 2 for pairs, _ in faces),
        acoustic=None if acoustic_batch is None else np.stack(acoustic_batch))
