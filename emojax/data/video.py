"""Video file -> face images in the study's form: two face frames side by side.

A clip gives `num_frames` frames sampled `interval_s` apart around its middle;
in each the largest face is found here (`FaceDetector`), cropped to a square,
and consecutive frames (2j, 2j + 1) are placed side by side as one image of the
image network. Sampling and cropping are `emojax.data.preprocess`'s, which
inference shares; this module reads files and finds faces.
"""
import dataclasses
import os

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


@dataclasses.dataclass(frozen=True)
class VideoConfig:
  """How a clip becomes face images.

  Attributes:
    num_frames: frames sampled per clip; consecutive pairs form one image, so
      it must be even.
    interval_s: seconds between sampled frames.
    face_size: side in pixels each face is resized to.
    face_margin: margin added around the detected face box on every side, as
      a fraction of the box's side.
  """
  num_frames: int = 6
  interval_s: float = 0.5
  face_size: int = 64
  face_margin: float = 0.1

  def __post_init__(self):
    if self.num_frames <= 0 or self.num_frames % 2:
      raise ValueError(
          "VideoConfig.num_frames must be a positive even number (frames are "
          f"paired side by side), got {self.num_frames}.")


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
  capture, fps, frame_count = _open(path)
  try:
    return _read_indices(capture, path, preprocess.frame_indices(
        times_s, fps, frame_count))
  finally:
    capture.release()


def duration_s(path: str) -> float:
  """Seconds of video: its frame count over its frame rate, as OpenCV reads them.

  Raises:
    VideoError: naming `path`, if it cannot be opened or reports no frames.
  """
  capture, fps, frame_count = _open(path)
  capture.release()
  return frame_count / fps


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
                detector: FaceDetector) -> tuple[np.ndarray, int]:
  """The clip's face images: pairs of sampled face frames side by side.

  Returns:
    [num_frames // 2, face_size, 2 * face_size, 3] uint8 RGB, image j holding
    frame 2j on the left and frame 2j + 1 on the right; and the number of
    sampled frames in which a face was found (the others use the centre
    crop).
  Raises:
    VideoError: naming `path`, if the video cannot be read.
  """
  capture, fps, frame_count = _open(path)
  try:
    times = preprocess.frame_times(frame_count / fps, config)[0]
    frames = _read_indices(capture, path,
                           preprocess.frame_indices(times, fps, frame_count))
  finally:
    capture.release()
  boxes = [detector.detect(frame) for frame in frames]
  images = preprocess.face_pairs(frames, boxes, config)[0]
  return images, sum(box is not None for box in boxes)


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


def _read_indices(capture: cv2.VideoCapture, path: str,
                  indices: np.ndarray) -> np.ndarray:
  """Decodes the frames at `indices` as [n, height, width, 3] uint8 RGB.

  Reads forward from the start rather than seeking: for H.264 every seek
  decodes again from the previous key frame, which on the sample's 720p clips
  took three times as long as one pass, and a pass does not rely on the
  container's index to land on the right frame. grab() skips the colour
  conversion of frames not kept.
  """
  wanted = set(indices.tolist())
  decoded = {}
  for index in range(max(wanted) + 1):
    if not capture.grab():
      raise VideoError(
          f"{path}: the video ends after {index} frames, but frame "
          f"{max(wanted)} was requested (the file may be truncated).")
    if index in wanted:
      ok, bgr = capture.retrieve()
      if not ok:
        raise VideoError(f"{path}: cannot decode frame {index}.")
      decoded[index] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
  return np.stack([decoded[index] for index in indices.tolist()])
