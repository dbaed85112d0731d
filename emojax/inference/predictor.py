"""Predictor: a restored run applied to a clip, window by window, probabilities averaged.

The pieces: `media` (what the input holds), `windows` (its windows -> the
network's inputs, by the training preprocessing, in batches), `model` (the
run's network). A batch of windows is classified as soon as it is made, so
memory does not grow with the clip's length.
"""
import dataclasses
from typing import Sequence

import numpy as np

from emojax.data import features as features_lib
from emojax.data import preprocess
from emojax.data import ravdess
from emojax.data import video as video_lib
from emojax.inference import media as media_lib
from emojax.inference import model as model_lib
from emojax.inference import windows as windows_lib
from emojax.models import fusion


@dataclasses.dataclass(frozen=True)
class Window:
  """One window of a clip: its span and each head's emotion probabilities."""
  start_s: float
  end_s: float
  heads: dict[str, dict[str, float]]


@dataclasses.dataclass(frozen=True)
class Prediction:
  """What a run says about one clip.

  Attributes:
    file: the input's path; None for arrays.
    emotion: the most probable emotion of `head`.
    head: the first head of the network's that the inputs allow ("joint" when
      every modality is there, else that modality's probe or classifier).
    heads: head -> {emotion: probability}, averaged over the windows.
    windows: each window's span and probabilities.
    modalities: the inputs the heads read, e.g. ("audio", "image").
    notes: why a modality was left out or only partly found, for humans.
  """
  file: str | None
  emotion: str
  head: str
  heads: dict[str, dict[str, float]]
  windows: tuple[Window, ...]
  modalities: tuple[str, ...]
  notes: tuple[str, ...]


class Predictor:
  """A restored network with its run's preprocessing; see the package docstring."""

  def __init__(self, model: fusion.FusionNetwork, params, features: features_lib.FeatureConfig,
               acoustic_statistics: dict[str, np.ndarray] | None = None):
    self.network = model_lib.Network(model, params, acoustic_statistics)
    self.model = model
    self.features = features
    self.detector = video_lib.FaceDetector()

  @classmethod
  def from_workdir(cls, workdir: str, step: int | None = None,
                   enrol: Sequence[str] = ()) -> "Predictor":
    """The network of `<workdir>/config.json` with the checkpoint selected on validation
    (or epoch `step`'s); raises `WorkdirError` as `model.restore` says.

    A run trained on MFCCs standardised per actor needs `enrol`: a few unlabelled
    clips of the speaker to be classified, whose MFCCs' mean and std standardise
    every clip predicted (`InputError` names an enrolment file without audio).
    """
    model, params, features = model_lib.restore(workdir, step, enrolled=bool(enrol))
    predictor = cls(model, params, features,
                    model_lib.restore_acoustic_statistics(workdir, model, features))
    if enrol:
      predictor.network.speaker_statistics = predictor.speaker_statistics(enrol)
    return predictor

  def speaker_statistics(self, paths: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The [n_mfcc, 1] mean and std of the MFCC windows of `paths` (a speaker's
    enrolment clips), over clips and frames, as training standardises by an actor's
    clips (`pipeline.standardise_by` applies them)."""
    windows = []
    for path in paths:
      audio = self.inputs(dataclasses.replace(self.media(path), video=None)).audio
      if audio is None:
        raise media_lib.InputError(f"{path}: an enrolment clip needs audio; it has none.")
      windows.append(audio)
    windows = np.concatenate(windows)
    return windows.mean(axis=(0, 2))[:, None], windows.std(axis=(0, 2))[:, None]

  def media(self, path: str) -> media_lib.Media:
    """The tracks of `path` this network reads; raises `InputError` naming a bad file."""
    return media_lib.from_file(path, self.features.audio, self.model.modalities)

  def inputs(self, media: media_lib.Media) -> windows_lib.ClipInputs:
    """The network's inputs for every window at once, made as training makes them."""
    return windows_lib.clip_inputs(media, self.features, self.detector)

  def windows(self, media: media_lib.Media) -> windows_lib.ClipWindows:
    """The network's inputs, batch of windows by batch, made as training makes them."""
    return windows_lib.clip_windows(media, self.features, self.detector)

  def predict(self, path: str) -> Prediction:
    """Predicts one audio or video file.

    A video's audio track feeds the audio heads unless it is missing or
    silent; its frames feed the image heads unless no face is found in them.
    Raises:
      InputError: naming `path`, if it is missing, empty, of an unsupported
        type, corrupt, or gives nothing the network reads.
    """
    return self.classify(path, self.windows(self.media(path)))

  def predict_arrays(self, audio: np.ndarray | None = None, frames: np.ndarray | None = None,
                     *, sample_rate: int | None = None, fps: float | None = None,
                     face_crop: bool = False) -> Prediction:
    """Predicts a clip given as arrays, with the same preprocessing as `predict`.

    Args:
      audio: [samples] or [samples, channels] float waveform in [-1, 1], or None.
      frames: [frames, height, width, 3] uint8 RGB video frames, or None.
      sample_rate: Hz of `audio`; fps: frames per second of `frames`.
      face_crop: whether `frames` are face crops (used whole, as a `.avi` file's
        frames are) rather than frames in which to find the face.
    Raises:
      ValueError: if neither input is given, a rate is missing or a shape is wrong.
      InputError: if the inputs give nothing the network reads.
    """
    media = media_lib.from_arrays(audio, frames, sample_rate, fps,
                                  self.features.audio.sample_rate, self.model.modalities,
                                  face_crop)
    return self.classify(None, self.windows(media))

  def classify(self, file: str | None, clip: windows_lib.ClipWindows) -> Prediction:
    """Each window's and the clip's probabilities from every head the inputs allow,
    classifying the clip's windows batch by batch.

    Raises:
      InputError: naming `file`, if the inputs give nothing the network's heads read.
    """
    with_images, audio_only = [], []  # Per batch, {head: [windows, classes]}.
    found = sampled = 0
    has_audio = has_acoustic = False
    for batch in clip.batches:
      found += batch.faces_found
      sampled += batch.frames_sampled
      has_audio = batch.audio is not None
      has_acoustic = batch.acoustic is not None
      if batch.images is not None:
        with_images.append(self.network.window_probabilities(batch.audio, batch.images,
                                                             batch.acoustic))
      # Until a face is found, the image heads may yet be skipped: keep what
      # the audio alone gives too.
      if has_audio and not found:
        audio_only.append(self.network.window_probabilities(batch.audio, None, batch.acoustic))
    notes = clip.notes + (windows_lib.face_notes(found, sampled) if sampled else ())
    name, why = file or "the arrays", "; ".join(notes)
    if not has_audio and not found:
      raise media_lib.InputError(
          f"{name}: nothing this network reads ({', '.join(self.model.modalities)}); "
          f"{why or 'no input given'}.")
    outputs = with_images if found else audio_only
    windows = {head: np.concatenate([output[head] for output in outputs]) for head in outputs[0]}
    if not windows:
      given = "images" if not has_audio else "audio"
      raise media_lib.InputError(
          f"{name}: every head of this network ({', '.join(self.model.heads)}) needs "
          f"{' and '.join(self.model.modalities)}; the input gives only {given} "
          f"({why or 'one modality'}).")
    heads = [head for head in self.model.heads if head in windows]
    clip_probabilities = {head: windows[head].mean(axis=0) for head in heads}
    half_window_s = preprocess.window_seconds(self.features.audio) / 2
    centres_s = clip.duration_s / 2 + clip.offsets_s
    return Prediction(
        file=file,
        emotion=ravdess.EMOTIONS[int(np.argmax(clip_probabilities[heads[0]]))],
        head=heads[0],
        heads={head: _by_emotion(clip_probabilities[head]) for head in heads},
        windows=tuple(
            Window(start_s=max(0.0, float(centre - half_window_s)),
                   end_s=min(clip.duration_s, float(centre + half_window_s)),
                   heads={head: _by_emotion(windows[head][i]) for head in heads})
            for i, centre in enumerate(centres_s)),
        modalities=tuple(modality for modality, given in (("audio", has_audio),
                                                          ("acoustic", has_acoustic),
                                                          ("image", found))
                         if given and modality in self.model.modalities),
        notes=notes)


def _by_emotion(probabilities: np.ndarray) -> dict[str, float]:
  return {emotion: float(p) for emotion, p in zip(ravdess.EMOTIONS, probabilities)}
