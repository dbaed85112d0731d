"""Video file -> face images in the study's form: two face frames side by side.

A clip gives `num_frames` frames sampled `interval_s` apart around its middle;
in each the largest face is found here (`FaceDetector`), cropped to a square,
and consecutive frames (2j, 2j + 1) are placed side by side as one image of the
image network. Sampling and cropping are `emojax.data.preprocess`'s, which
inference shares; this module reads files and finds faces.
"""
import dataclasses
import functools
import os
from typing import Callable, Iterator

import cv2
import numpy as np

from emojax.data import preprocess

# Detection runs on a copy whose longer side is at most this many pixels:
# Haar detection time grows with the pixel count, and a RAVDESS face is still
# about 100 px wide at 320 x 180.
_DETECTION_SIZE = 320
# Faces smaller than this fraction of the frame's shorter side are ignored: a
# RAVDESS face spans about 55% of a 720p frame's height and 75-95% of a face
# crop, and skipping the small scales halves the detection time.
_MIN_FACE_FRACTION = 0.3
# A face crop is filled by the face, and the cascade misses a face that
# touches the image border; a replicated border of this fraction of the
# shorter side around the detection copy lets it find them (810 -> 873 of the
# sample's 900 face-crop frames).
_DETECTION_BORDER_FRACTION = 0.1
# A frame is blank if its pixels' standard deviation is below _BLANK_STD (one
# flat colour) or their mean below _BLACK_MEAN (black, even if noisy). On actor
# 05's 120 face crops the 52 blank frames (36 clips end in one or two) are
# exactly 0, and every other frame has a mean of 93 or more and a deviation
# over 40: the thresholds are far from both.
_BLANK_STD = 2.0
_BLACK_MEAN = 8.0


@dataclasses.dataclass(frozen=True)
class VideoConfig:
  """How a clip becomes face images.

  Attributes:
    num_frames: frames sampled per clip; consecutive pairs form one image, so
      it must be even.
    interval_s: seconds between sampled frames.
    face_size: side in pixels each face is resized to.
    face_region: (x offset, y offset, width, height) of a face image's area
      from its face box's centre, in box sides (`preprocess.face_area`): by
      default the area RAVDESS's face-crop videos show, so that a raw frame
      gives the face those videos give.
  """
  num_frames: int = 6
  interval_s: float = 0.5
  face_size: int = 64
  face_region: tuple[float, float, float, float] = (0.02, 0.03, 0.83, 1.13)

  def __post_init__(self):
    if self.num_frames <= 0 or self.num_frames % 2:
      raise ValueError(
          "VideoConfig.num_frames must be a positive even number (frames are "
          f"paired side by side), got {self.num_frames}.")


def is_face_crop(path: str) -> bool:
  """Whether a video file is a face-crop video, each frame a face's area (as
  `preprocess.face_area` takes it): RAVDESS's release has only .mp4, and the
  face crops of its clips are .avi."""
  return path.lower().endswith(".avi")


class VideoError(Exception):
  """A video file could not be read; the message names the file."""


def read_frames(path: str, times_s: np.ndarray) -> np.ndarray:
  """Decodes the frames shown at `times_s`.

  The frame of time t is round(t * fps), clamped to the last frame.

  Args:
    path: a video file OpenCV's FFmpeg backend can decode.
    times_s: [n] float seconds.
  Returns:
    [n, height, width, 3] uint8 RGB.
  Raises:
    VideoError: naming `path`, if it is empty, cannot be opened, has no
      frames, or ends before a requested frame.
  """
  return _read_at_times(path, times_s)[0]


def duration_s(path: str) -> float:
  """Seconds of video: its frame count over its frame rate, as OpenCV reads them.

  Raises:
    VideoError: naming `path`, if it cannot be opened or reports no frames.
  """
  capture, fps, frame_count = _open(path)
  capture.release()
  return frame_count / fps


def is_blank(frame: np.ndarray) -> bool:
  """Whether a [height, width, 3] uint8 frame (RGB or BGR) is black or one flat colour."""
  # Every 8th row and column: a flat frame is flat there too, and a 720p
  # frame costs 0.2 ms instead of 10.
  pixels = frame[::8, ::8]
  return bool(pixels.std() < _BLANK_STD or pixels.mean() < _BLACK_MEAN)


def nearest_usable(indices: np.ndarray, usable: np.ndarray) -> np.ndarray:
  """Each frame index moved to the nearest usable frame (the earlier one on a tie).

  Args:
    indices: [n] int frame indices.
    usable: [frame_count] bool, False for blank frames.
  Returns:
    [n] int; an index stays where it is if the clip has no usable frame.
  """
  candidates = np.flatnonzero(usable)
  if not len(candidates):
    return indices
  # argmin takes the first of equal distances: the earlier frame.
  distances = np.abs(candidates[None, :] - np.asarray(indices)[:, None])
  return candidates[distances.argmin(axis=1)]


def replace_blank_frames(frames: np.ndarray, indices: np.ndarray,
                         usable: Callable[[], np.ndarray],
                         read: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, int]:
  """Each blank frame of `frames` replaced by its clip's nearest usable frame.

  Face-crop videos can end in black frames, and a face image of one teaches
  nothing.

  Args:
    frames: [n, height, width, 3] uint8, the clip's frames at `indices` [n].
    usable: gives the clip's [frame_count] usable-frame mask; called only if
      a frame is blank, since it may decode the whole clip.
    read: [m] frame indices -> [m, height, width, 3] uint8 of the clip.
  Returns:
    The frames, and how many of them were replaced.
  """
  blank = np.array([is_blank(frame) for frame in frames])
  if not blank.any():
    return frames, 0
  replacements = nearest_usable(indices, usable())
  moved = blank & (replacements != indices)
  frames = frames.copy()
  if moved.any():
    frames[moved] = read(replacements[moved])
  return frames, int(moved.sum())


def usable_frames(path: str, times_s: np.ndarray) -> tuple[np.ndarray, int]:
  """`read_frames`, with blank frames replaced as `replace_blank_frames` does.

  Returns:
    [n, height, width, 3] uint8 RGB, and how many of the n were replaced.
  Raises:
    VideoError: naming `path`, as `read_frames` does.
  """
  frames, indices = _read_at_times(path, times_s)
  return replace_blank_frames(frames, indices, lambda: _usable_mask(path),
                              lambda replacements: _read_at(path, replacements))


def usable_frames_by_window(path: str, times_s: np.ndarray) -> Iterator[np.ndarray]:
  """`usable_frames` of each row of `times_s`, decoding the video once, front to back,
  and holding only the frames of rows not yet given.

  Args:
    times_s: [windows, n] float seconds, each row's earliest time no earlier
      than the previous row's.
  Yields:
    [n, height, width, 3] uint8 RGB per row.
  Raises:
    VideoError: naming `path`, as `read_frames` does.
  """
  capture, fps, frame_count = _open(path)
  usable = functools.cache(lambda: _usable_mask(path))  # A whole pass: once, if ever needed.
  try:
    rows = preprocess.frame_indices(times_s, fps, frame_count)
    for frames, indices in zip(_read_rows(capture, path, rows), rows):
      yield replace_blank_frames(frames, indices, usable,
                                 lambda replacements: _read_at(path, replacements))[0]
  finally:
    capture.release()


class FaceDetector:
  """Finds the largest frontal face with OpenCV's Haar cascade."""

  def __init__(self, cascade_path: str | None = None):
    """Loads the cascade.

    Args:
      cascade_path: a Haar cascade XML file; by default the frontal-face
        cascade shipped with opencv-python 4.x.
    Raises:
      FileNotFoundError: if the cascade file is missing or does not load.
    """
    if cascade_path is None:
      cascade_path = _default_cascade_path()
    self._cascade = cv2.CascadeClassifier(cascade_path)
    if self._cascade.empty():
      raise FileNotFoundError(
          f"Cannot load the Haar face cascade {cascade_path!r}: the file is "
          "missing or not a cascade.")

  def detect(self, frame: np.ndarray) -> tuple[int, int, int, int] | None:
    """The largest face in `frame`, or None.

    Args:
      frame: [height, width, 3] uint8 RGB.
    Returns:
      (x, y, w, h) of the face box in `frame`'s pixels, inside the frame.
    """
    height, width = frame.shape[:2]
    scale = min(1.0, _DETECTION_SIZE / max(height, width))
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    if scale < 1.0:
      gray = cv2.resize(gray, (round(width * scale), round(height * scale)),
                        interpolation=cv2.INTER_AREA)
    shorter = min(gray.shape)
    border = round(_DETECTION_BORDER_FRACTION * shorter)
    gray = cv2.copyMakeBorder(gray, border, border, border, border,
                              cv2.BORDER_REPLICATE)
    min_side = round(_MIN_FACE_FRACTION * shorter)
    faces = self._cascade.detectMultiScale(
        gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side))
    if len(faces) == 0:
      return None
    x, y, w, h = max(faces, key=lambda face: face[2] * face[3])
    # Back to the original frame's pixels, cut to the frame where the box
    # reaches into the added border.
    left = max(0, round((x - border) / scale))
    top = max(0, round((y - border) / scale))
    right = min(width, round((x + w - border) / scale))
    bottom = min(height, round((y + h - border) / scale))
    return left, top, right - left, bottom - top


def face_images(path: str, config: VideoConfig,
                detector: FaceDetector) -> tuple[np.ndarray, int, int]:
  """The clip's face images: pairs of sampled face frames side by side.

  Returns:
    [num_frames // 2, face_size, 2 * face_size, 3] uint8 RGB, image j holding
    frame 2j on the left and frame 2j + 1 on the right; the number of
    sampled frames in which a face was found (the others use the centre
    crop); and the number of blank sampled frames replaced (`usable_frames`).
  Raises:
    VideoError: naming `path`, if the video cannot be read.
  """
  times = preprocess.frame_times(duration_s(path), config)[0]
  frames, frames_replaced = usable_frames(path, times)
  images, found = preprocess.faces(frames, detector.detect, config, is_face_crop(path))
  return images[0], found, frames_replaced


def _default_cascade_path() -> str:
  # opencv-python 4.x ships the cascades under cv2.data; OpenCV 5 dropped
  # them, and with them this detector.
  cascades = getattr(getattr(cv2, "data", None), "haarcascades", None)
  if cascades is None:
    raise FileNotFoundError(
        f"OpenCV {cv2.__version__} ships no Haar cascades (cv2.data."
        "haarcascades); install opencv-python-headless 4.x or pass "
        "cascade_path.")
  return os.path.join(cascades, "haarcascade_frontalface_default.xml")


def _open(path: str) -> tuple[cv2.VideoCapture, float, int]:
  """Opens a video: the capture, its frame rate and its frame count."""
  if os.path.isfile(path) and os.path.getsize(path) == 0:
    raise VideoError(f"{path}: the file is empty (0 bytes).")
  capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
  if not capture.isOpened():
    raise VideoError(f"{path}: cannot open the video (missing, or not a video "
                     "OpenCV can decode).")
  fps = capture.get(cv2.CAP_PROP_FPS)
  frame_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
  if fps <= 0 or frame_count <= 0:
    capture.release()
    raise VideoError(f"{path}: the video reports no frames (frame rate {fps}, "
                     f"{frame_count} frames).")
  return capture, fps, frame_count


def _read_at_times(path: str, times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """[n, height, width, 3] uint8 RGB: the frames shown at `times_s`, and their [n] indices."""
  capture, fps, frame_count = _open(path)
  try:
    indices = preprocess.frame_indices(times_s, fps, frame_count)
    return _read_indices(capture, path, indices), indices
  finally:
    capture.release()


def _read_at(path: str, indices: np.ndarray) -> np.ndarray:
  """[n, height, width, 3] uint8 RGB: the frames at `indices`."""
  capture, _, _ = _open(path)
  try:
    return _read_indices(capture, path, indices)
  finally:
    capture.release()


def _usable_mask(path: str) -> np.ndarray:
  """[frame_count] bool: which frames of the clip are not blank (False past its end)."""
  capture, _, frame_count = _open(path)
  usable = np.zeros(frame_count, bool)
  try:
    for index in range(frame_count):
      ok, bgr = capture.read()
      if not ok:
        break
      usable[index] = not is_blank(bgr)
  finally:
    capture.release()
  return usable


def _read_indices(capture: cv2.VideoCapture, path: str,
                  indices: np.ndarray) -> np.ndarray:
  """Decodes the frames at `indices` as [n, height, width, 3] uint8 RGB."""
  return next(_read_rows(capture, path, [indices]))


def _read_rows(capture: cv2.VideoCapture, path: str, rows) -> Iterator[np.ndarray]:
  """Decodes the frames at each row of indices as [n, height, width, 3] uint8 RGB,
  holding only those that this or a later row shows.

  Reads forward from the start rather than seeking: for H.264 every seek
  decodes again from the previous key frame, which on the sample's 720p clips
  took three times as long as one pass, and a pass does not rely on the
  container's index to land on the right frame. grab() skips the colour
  conversion of frames not kept. Each row's smallest index must be no smaller
  than the previous row's.
  """
  wanted = {index for row in rows for index in row.tolist()}
  decoded, position = {}, 0
  for row in rows:
    for index in range(position, max(row) + 1):
      if not capture.grab():
        raise VideoError(
            f"{path}: the video ends after {index} frames, but frame "
            f"{max(row)} was requested (the file may be truncated).")
      if index in wanted:
        ok, bgr = capture.retrieve()
        if not ok:
          raise VideoError(f"{path}: cannot decode frame {index}.")
        decoded[index] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    position = max(position, max(row) + 1)
    yield np.stack([decoded[index] for index in row.tolist()])
    decoded = {index: frame for index, frame in decoded.items() if index >= min(row)}
