"""RAVDESS file names and folder trees -> clips.

A RAVDESS name `MM-VV-EE-II-SS-RR-AA.ext` holds modality (01 audio+video,
02 video only, 03 audio only), vocal channel (01 speech, 02 song), emotion
(01-08), intensity (01 normal, 02 strong), statement (01, 02), repetition
(01, 02) and actor (01-24; odd male, even female). One recording exists as
01-, 02- and 03- files that differ only in the modality field; `scan` groups
them into one `Clip`.
"""
import dataclasses
import os
import re
from typing import Sequence

EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust",
            "surprised")

# Modality codes, the first field of a name.
_AUDIO_VIDEO, _VIDEO_ONLY, _AUDIO_ONLY = 1, 2, 3

# Allowed values of each name field, in file-name order, as in the RAVDESS
# convention.
_FIELD_RANGES = (
    ("modality", 1, 3),
    ("vocal_channel", 1, 2),
    ("emotion", 1, 8),
    ("intensity", 1, 2),
    ("statement", 1, 2),
    ("repetition", 1, 2),
    ("actor", 1, 24),
)
_NAME_PATTERN = re.compile(r"[0-9]{2}(-[0-9]{2}){6}")
_ACTOR_FOLDER_PATTERN = re.compile(r"actor_([0-9]+)", re.IGNORECASE)
_AUDIO_EXTENSIONS = (".wav", ".flac")
_VIDEO_EXTENSIONS = (".mp4", ".avi")


@dataclasses.dataclass(frozen=True)
class ClipName:
  """The fields of a RAVDESS file name; `emotion` is the 0-based label."""
  modality: int
  vocal_channel: int
  emotion: int
  intensity: int
  statement: int
  repetition: int
  actor: int

  @property
  def clip_id(self) -> str:
    """The recording's id in its audio+video form, e.g. "01-01-03-01-01-02-05".

    The 01-, 02- and 03- files of one recording share it.
    """
    fields = (_AUDIO_VIDEO, self.vocal_channel, self.emotion + 1,
              self.intensity, self.statement, self.repetition, self.actor)
    return "-".join(f"{field:02d}" for field in fields)

  @property
  def gender(self) -> str:
    return "male" if self.actor % 2 == 1 else "female"

  @property
  def emotion_name(self) -> str:
    return EMOTIONS[self.emotion]


def parse_name(path: str) -> ClipName:
  """Parses the RAVDESS name of `path` (any folder, any extension).

  Raises:
    ValueError: naming `path`, if the stem is not seven two-digit fields
      `MM-VV-EE-II-SS-RR-AA` or a field is out of its range.
  """
  stem = os.path.splitext(os.path.basename(path))[0]
  if not _NAME_PATTERN.fullmatch(stem):
    raise ValueError(
        f"{path}: expected a RAVDESS name MM-VV-EE-II-SS-RR-AA (seven "
        f"two-digit fields separated by '-'), got {stem!r}.")
  codes = [int(field) for field in stem.split("-")]
  for (field, low, high), code in zip(_FIELD_RANGES, codes):
    if not low <= code <= high:
      raise ValueError(
          f"{path}: {field} must be {low:02d}-{high:02d} in a RAVDESS name, "
          f"got {code:02d}.")
  modality, vocal_channel, emotion, intensity, statement, repetition, actor = (
      codes)
  return ClipName(modality=modality, vocal_channel=vocal_channel,
                  emotion=emotion - 1, intensity=intensity, statement=statement,
                  repetition=repetition, actor=actor)


@dataclasses.dataclass(frozen=True)
class Clip:
  """One recording: its metadata (modality 01) and where its media are."""
  name: ClipName
  audio_path: str | None
  video_path: str | None

  @property
  def clip_id(self) -> str:
    return self.name.clip_id


@dataclasses.dataclass(frozen=True)
class Skipped:
  """A file left out, and why."""
  file: str
  reason: str


def scan(roots: Sequence[str]) -> tuple[list[Clip], list[Skipped]]:
  """Finds the RAVDESS clips under `roots`, grouped by recording.

  Each root is walked recursively, so the original `Actor_XX/` folders, the
  release's unpacked zips (`Audio_Speech_Actors_01-24/Actor_01/...`) or deeper
  trees all work. Only .wav, .flac, .mp4 and .avi files are considered (any
  case); other files are ignored.

  Audio comes from a 03- .wav/.flac file, else from the audio track of a
  01- .mp4; among files of the same kind the earliest root wins. Video comes
  from a 01- or 02- .mp4/.avi; the earliest root wins, then 01- before 02-.
  Remaining ties go to the first path in sorted order.

  Returns:
    The clips sorted by clip id, and the media files that were skipped: names
    that do not parse, actors that contradict their `Actor_XX` folder,
    modalities that their file type cannot hold (e.g. a 03- .mp4), and
    duplicates: a file that another of the same clip and modality in the same
    root (e.g. a .wav beside a .flac) wins over and that supplies nothing
    else. Files that an earlier root's wins over are not listed: that is
    what several roots are for.
  Raises:
    FileNotFoundError: if a root does not exist or is not a directory.
  """
  for root in roots:
    if not os.path.isdir(root):
      raise FileNotFoundError(
          f"RAVDESS root {root!r} does not exist or is not a directory.")
  names: dict[str, ClipName] = {}
  # clip id -> [(rank, path)] of the files that can supply that modality.
  audio_offers: dict[str, list[tuple[tuple[int, int], str]]] = {}
  video_offers: dict[str, list[tuple[tuple[int, int], str]]] = {}
  skipped = []
  for root_index, root in enumerate(roots):
    for path in _media_files(root):
      try:
        name = _checked_name(path)
      except ValueError as error:
        skipped.append(Skipped(path, str(error)))
        continue
      extension = os.path.splitext(path)[1].lower()
      audio_rank = _audio_rank(name.modality, extension)
      video_rank = _video_rank(name.modality, extension)
      if audio_rank is None and video_rank is None:
        skipped.append(Skipped(path, (
            f"modality {name.modality:02d} cannot come from a {extension} "
            "file: audio comes from 03- .wav/.flac or 01- .mp4, video from "
            "01-/02- .mp4/.avi.")))
        continue
      names.setdefault(name.clip_id, name)
      if audio_rank is not None:
        audio_offers.setdefault(name.clip_id, []).append(
            ((audio_rank, root_index), path))
      if video_rank is not None:
        video_offers.setdefault(name.clip_id, []).append(
            ((root_index, video_rank), path))
  clips = [
      Clip(name=dataclasses.replace(names[clip_id], modality=_AUDIO_VIDEO),
           audio_path=_best(audio_offers.get(clip_id)),
           video_path=_best(video_offers.get(clip_id)))
      for clip_id in sorted(names)
  ]
  return clips, skipped + _duplicates(clips, audio_offers, video_offers)


def _media_files(root: str) -> list[str]:
  """Media file paths under `root`, in sorted walk order."""
  paths = []
  for folder, subfolders, files in os.walk(root):
    subfolders.sort()  # A fixed order, so that runs list skipped files alike.
    for file in sorted(files):
      if file.lower().endswith(_AUDIO_EXTENSIONS + _VIDEO_EXTENSIONS):
        paths.append(os.path.join(folder, file))
  return paths


def _checked_name(path: str) -> ClipName:
  """`parse_name`, plus a check that the actor matches an `Actor_XX` folder."""
  name = parse_name(path)
  folder = os.path.basename(os.path.dirname(path))
  match = _ACTOR_FOLDER_PATTERN.fullmatch(folder)
  if match and int(match.group(1)) != name.actor:
    raise ValueError(
        f"{path}: the name says actor {name.actor:02d} but the file is in "
        f"folder {folder!r}.")
  return name


def _audio_rank(modality: int, extension: str) -> int | None:
  """0 for a 03- audio file, 1 for a 01- .mp4, None if it holds no audio."""
  if modality == _AUDIO_ONLY and extension in _AUDIO_EXTENSIONS:
    return 0
  if modality == _AUDIO_VIDEO and extension == ".mp4":
    return 1
  return None


def _video_rank(modality: int, extension: str) -> int | None:
  """0 for 01-, 1 for 02- video files, None if the file holds no video."""
  if extension not in _VIDEO_EXTENSIONS:
    return None
  return {_AUDIO_VIDEO: 0, _VIDEO_ONLY: 1}.get(modality)


def _duplicates(clips: list[Clip], *offers_by_kind: dict[str, list[tuple[tuple[int, int], str]]]
                ) -> list[Skipped]:
  """The files left unused because one of the same rank (same root and modality)
  supplies that modality of their clip instead; each listed once."""
  used = {path for clip in clips for path in (clip.audio_path, clip.video_path)}
  duplicates = {}
  for offers in offers_by_kind:
    for _, clip_offers in sorted(offers.items()):
      best_rank, best_path = min(clip_offers)
      for rank, path in sorted(clip_offers):
        if rank == best_rank and path not in used:
          duplicates.setdefault(path, Skipped(path, f"a duplicate of {best_path}"))
  return list(duplicates.values())


def _best(offers: list[tuple[tuple[int, int], str]] | None) -> str | None:
  """The path of the lowest rank; equal ranks go to the path sorting first."""
  return min(offers)[1] if offers else None
