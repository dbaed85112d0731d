import cv2
import numpy as np
import pytest

from emojax.data import preprocess
from emojax.data import video

# Real sample clips of one recording (actor 05, happy): a face crop (15 frames,
# 224x224, 5 fps) and the raw release video (97 frames, 1280x720, 29.97 fps).
AVI = "ravdess_facecrops/Actor_05/01-01-03-01-01-02-05.avi"
MP4 = "ravdess_video/Actor_05/01-01-03-01-01-02-05.mp4"


@pytest.fixture(scope="module")
def detector():
  return video.FaceDetector()


def _all_frames_rgb(path):
  """Every frame by plain sequential decoding: [frames, h, w, 3] uint8 RGB."""
  capture = cv2.VideoCapture(str(path))
  frames = []
  while True:
    ok, frame = capture.read()
    if not ok:
      break
    frames.append(frame[..., ::-1])
  capture.release()
  return np.stack(frames)


def test_video_config_rejects_odd_num_frames():
  with pytest.raises(ValueError, match="even"):
    video.VideoConfig(num_frames=5)


def test_read_frames_avi_shape_and_dtype(sample_dir):
  frames = video.read_frames(str(sample_dir / AVI), np.array([0.5, 1.5]))
  assert frames.shape == (2, 224, 224, 3)
  assert frames.dtype == np.uint8


def test_read_frames_mp4_shape_and_dtype(sample_dir):
  frames = video.read_frames(str(sample_dir / MP4), np.array([0.5, 1.5]))
  assert frames.shape == (2, 720, 1280, 3)
  assert frames.dtype == np.uint8


def test_read_frames_gives_rgb_frame_round_t_fps_clamped_to_last(sample_dir):
  # 5 fps: 0.0 s -> frame 0, 1.0 s -> 5, 2.9 s -> 14.5 -> 15 -> last (14).
  path = sample_dir / AVI
  frames = video.read_frames(str(path), np.array([1.0, 0.0, 2.9, 1.0]))
  np.testing.assert_array_equal(frames, _all_frames_rgb(path)[[5, 0, 14, 5]])


def test_detect_finds_the_face_on_a_720p_frame(sample_dir, detector):
  frame = video.read_frames(str(sample_dir / MP4), np.array([1.5]))[0]
  x, y, w, h = detector.detect(frame)
  assert 0 <= x and x + w <= 1280 and 0 <= y and y + h <= 720
  assert 100 <= w <= 600
  # The actor sits mid-frame.
  assert x < 640 < x + w


def test_detect_finds_the_face_on_a_face_crop_frame(sample_dir, detector):
  frame = video.read_frames(str(sample_dir / AVI), np.array([1.5]))[0]
  x, y, w, h = detector.detect(frame)
  assert 0 <= x and x + w <= 224 and 0 <= y and y + h <= 224
  assert 120 <= w <= 224


def test_detect_finds_no_face_on_a_black_frame(detector):
  assert detector.detect(np.zeros((720, 1280, 3), np.uint8)) is None


def test_face_detector_raises_naming_a_missing_cascade(tmp_path):
  missing = str(tmp_path / "no_cascade.xml")
  with pytest.raises(FileNotFoundError, match="no_cascade.xml"):
    video.FaceDetector(missing)


def test_face_images_shape_and_faces_found_on_a_face_crop(sample_dir,
                                                          detector):
  images, faces_found, _ = video.face_images(str(sample_dir / AVI),
                                          video.VideoConfig(), detector)
  assert images.shape == (3, 64, 128, 3)
  assert images.dtype == np.uint8
  assert faces_found >= 5


def test_face_images_put_frames_2j_and_2j_plus_1_side_by_side(sample_dir,
                                                              detector):
  path = str(sample_dir / AVI)
  config = video.VideoConfig()
  images, _, _ = video.face_images(path, config, detector)
  frames, _ = video.usable_frames(path, preprocess.frame_times(3.0, config)[0])
  faces = [preprocess.face_image(frame, 64) for frame in frames]  # A face crop: whole.
  for j in range(3):
    np.testing.assert_array_equal(images[j, :, :64], faces[2 * j])
    np.testing.assert_array_equal(images[j, :, 64:], faces[2 * j + 1])


def test_face_images_finds_every_face_in_the_720p_video(sample_dir, detector):
  images, faces_found, _ = video.face_images(str(sample_dir / MP4),
                                          video.VideoConfig(), detector)
  assert images.shape == (3, 64, 128, 3)
  assert faces_found == 6


def test_raw_video_and_its_face_crop_give_the_same_faces(sample_dir, detector):
  # One recording, as RAVDESS's 1280x720 mp4 and as its 224x224 face-crop AVI:
  # the face region around the Haar box shows what the crop shows. (The old
  # rule, a square 1.2 box sides wide, correlated 0.24.)
  config = video.VideoConfig()
  raw, _, _ = video.face_images(str(sample_dir / MP4), config, detector)
  crop, _, _ = video.face_images(str(sample_dir / AVI), config, detector)
  raw, crop = raw.astype(np.float32).ravel(), crop.astype(np.float32).ravel()
  assert np.corrcoef(raw, crop)[0, 1] > 0.8
  assert np.abs(raw - crop).mean() < 20  # Of 255; measured 13.


def _random_bytes(source, destination):
  destination.write_bytes(np.random.default_rng(0).bytes(20000))


def _first_half(source, destination):
  data = source.read_bytes()
  destination.write_bytes(data[:len(data) // 2])


def _empty(source, destination):
  destination.write_bytes(b"")


@pytest.mark.parametrize("source, name, corrupt", [
    (AVI, "corrupt.avi", _random_bytes),
    (AVI, "truncated.avi", _first_half),
    (MP4, "truncated.mp4", _first_half),
    (AVI, "empty.avi", _empty),
])
def test_face_images_raises_naming_a_bad_file(sample_dir, tmp_path, detector,
                                              source, name, corrupt):
  path = tmp_path / name
  corrupt(sample_dir / source, path)
  with pytest.raises(video.VideoError, match=name):
    video.face_images(str(path), video.VideoConfig(), detector)


def test_face_images_says_a_zero_length_video_is_empty(tmp_path, detector):
  path = tmp_path / "01-01-03-01-01-02-05.mp4"
  path.write_bytes(b"")
  with pytest.raises(video.VideoError) as error:
    video.face_images(str(path), video.VideoConfig(), detector)
  assert str(error.value) == f"{path}: the file is empty (0 bytes)."


# Blank frames: 18 of the sample's 60 face crops end in a black frame (AVI's is frame 14).

def test_black_and_flat_frames_are_blank_and_a_face_is_not(sample_dir):
  assert video.is_blank(np.zeros((224, 224, 3), np.uint8))
  assert video.is_blank(np.full((224, 224, 3), 128, np.uint8))
  noisy_black = np.random.default_rng(0).integers(0, 8, (224, 224, 3), dtype=np.uint8)
  assert video.is_blank(noisy_black)
  assert not video.is_blank(video.read_frames(str(sample_dir / AVI), np.array([1.5]))[0])


def test_nearest_usable_frame_is_the_earlier_on_a_tie():
  usable = np.array([True, False, True, True, False, False])
  np.testing.assert_array_equal(video.nearest_usable(np.array([1, 4, 5, 0]), usable),
                                [0, 3, 3, 0])


def test_a_clip_with_no_usable_frame_keeps_its_indices():
  np.testing.assert_array_equal(video.nearest_usable(np.array([2, 0]), np.zeros(3, bool)),
                                [2, 0])


def test_a_black_sampled_frame_becomes_the_clips_nearest_usable_frame(sample_dir):
  path = sample_dir / AVI
  everything = _all_frames_rgb(path)
  assert not everything[14].any()  # The clip ends in a black frame.
  frames, replaced = video.usable_frames(str(path), np.array([1.0, 2.9]))  # Frames 5, 14.
  assert replaced == 1
  np.testing.assert_array_equal(frames, everything[[5, 13]])


def test_face_images_count_the_replaced_frames(sample_dir, detector):
  _, faces_found, replaced = video.face_images(str(sample_dir / AVI), video.VideoConfig(),
                                               detector)
  assert replaced == 1  # Sampled frames 1, 4, 6, 9, 11, 14.
  assert faces_found == 6
