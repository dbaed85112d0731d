"""The one preprocessing path: windows, frame sampling, face crops (emojax.data.preprocess).

Training is the single centred window (`preprocess.CENTRED`); inference cuts a
long clip into half-overlapping windows of the same length.
"""
import cv2
import numpy as np
import pytest

from emojax.data import audio
from emojax.data import preprocess
from emojax.data import video

CONFIG = video.VideoConfig()  # 6 frames, 0.5 s apart.


# Windows.

def test_a_clip_up_to_one_and_a_half_windows_long_gets_one_centred_window():
  np.testing.assert_array_equal(preprocess.window_offsets(50, 128), [0.0])
  np.testing.assert_array_equal(preprocess.window_offsets(191, 128), [0.0])


def test_a_long_clip_gets_half_overlapping_windows_centred_as_a_group():
  # 400 frames: 1 + (400 - 128) // 64 = 5 windows, 64 apart, spanning 384.
  np.testing.assert_array_equal(preprocess.window_offsets(400, 128), [-128, -64, 0, 64, 128])


def test_a_window_lasts_the_training_crop():
  assert preprocess.window_seconds(audio.AudioConfig()) == pytest.approx(128 * 512 / 22050)


def test_test_windows_cover_a_clip_from_its_first_frame_to_its_last():
  offsets = preprocess.covering_offsets(170, 128, 3)
  np.testing.assert_array_equal(preprocess.window_starts(170, 128, offsets), [0, 21, 42])
  np.testing.assert_array_equal(preprocess.covering_offsets(100, 128, 3), [0, 0, 0])


# Audio.

def test_test_windows_are_slices_from_start_to_end_or_the_padded_training_crop():
  config = audio.AudioConfig(test_windows=3)
  features = np.random.default_rng(0).normal(size=(40, 170)).astype(np.float32)
  windows = audio.test_windows(features, config)
  assert windows.shape == (3, 40, 128) and windows.dtype == np.float32
  np.testing.assert_array_equal(windows[0], features[:, :128])
  np.testing.assert_array_equal(windows[2], features[:, -128:])
  short = features[:, :100]
  np.testing.assert_array_equal(audio.test_windows(short, config),
                                np.stack([preprocess.fix_length(short, 128, "centre")] * 3))


def test_the_training_window_is_fix_length_then_normalised():
  config = audio.AudioConfig(normalise=True)
  mfcc = np.random.default_rng(0).normal(size=(40, 150)).astype(np.float32)
  windows = preprocess.audio_windows(mfcc, config)
  assert windows.shape == (1, 40, 128) and windows.dtype == np.float32
  np.testing.assert_array_equal(windows[0], preprocess.normalise_utterance(mfcc[:, 11:139]))


def test_long_audio_windows_are_slices_normalised_each_on_its_own():
  config = audio.AudioConfig(normalise=True)
  mfcc = np.random.default_rng(0).normal(size=(40, 400)).astype(np.float32)
  windows = preprocess.audio_windows(mfcc, config, preprocess.window_offsets(400, 128))
  assert windows.shape == (5, 40, 128)
  # Centred group of span 384 in 400 frames: starts 8, 72, ..., 264.
  np.testing.assert_allclose(windows[1], preprocess.normalise_utterance(mfcc[:, 72:200]))
  np.testing.assert_allclose(windows[4], preprocess.normalise_utterance(mfcc[:, 264:392]))


def test_stereo_48khz_becomes_the_mean_of_its_channels_at_the_target_rate():
  seconds = np.arange(48000) / 48000
  left = np.sin(2 * np.pi * 440 * seconds).astype(np.float32)
  waveform = preprocess.to_mono_at_rate(np.stack([left, np.zeros_like(left)]), 48000, 22050)
  assert waveform.shape == (22050,) and waveform.dtype == np.float32
  expected = 0.5 * np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)
  np.testing.assert_allclose(waveform[100:-100], expected[100:-100], atol=1e-3)


def test_fix_length_centre_pads_both_ends():
  features = np.array([[1., 2., 3.]])
  np.testing.assert_array_equal(preprocess.fix_length(features, 6, "centre"),
                                [[0., 1., 2., 3., 0., 0.]])


def test_fix_length_start_pads_at_the_end():
  features = np.array([[1., 2., 3.]])
  np.testing.assert_array_equal(preprocess.fix_length(features, 5, "start"),
                                [[1., 2., 3., 0., 0.]])


def test_fix_length_centre_keeps_the_middle():
  features = np.array([[1., 2., 3., 4., 5., 6.], [7., 8., 9., 10., 11., 12.]])
  np.testing.assert_array_equal(preprocess.fix_length(features, 3, "centre"),
                                [[2., 3., 4.], [8., 9., 10.]])


def test_fix_length_start_keeps_the_beginning():
  features = np.array([[1., 2., 3., 4., 5., 6.]])
  np.testing.assert_array_equal(preprocess.fix_length(features, 4, "start"),
                                [[1., 2., 3., 4.]])


def test_fix_length_rejects_unknown_crop():
  with pytest.raises(ValueError, match="'middle'"):
    preprocess.fix_length(np.zeros((2, 3)), 4, "middle")


def test_normalise_utterance_maps_constant_coefficient_to_zero():
  features = np.array([[0., 0., 0., 0.], [1., 3., 1., 3.]])
  np.testing.assert_array_equal(preprocess.normalise_utterance(features),
                                [[0., 0., 0., 0.], [-1., 1., -1., 1.]])


# Video.

def test_frame_times_of_the_training_window_are_centred_and_spaced_by_interval():
  np.testing.assert_allclose(preprocess.frame_times(3.0, CONFIG)[0],
                             [0.25, 0.75, 1.25, 1.75, 2.25, 2.75])


def test_frame_times_of_the_training_window_clamp_a_clip_shorter_than_the_span():
  np.testing.assert_allclose(preprocess.frame_times(1.0, CONFIG)[0],
                             [0.0, 0.0, 0.25, 0.75, 1.0, 1.0])


def _gradient_frame():
  """[200, 200, 3] uint8 whose every 60 x 60 square differs from its neighbours."""
  rows, columns = np.indices((200, 200))
  return np.repeat(((rows + 3 * columns) % 256).astype(np.uint8)[..., None], 3, axis=2)


def test_face_area_without_box_is_the_centre_square():
  frame = _gradient_frame()[:100, :200]
  np.testing.assert_array_equal(preprocess.face_area(frame, None, CONFIG.face_region),
                                frame[:, 50:150])


def test_face_area_takes_the_region_in_box_sides():
  frame = _gradient_frame()
  # A 100 px box centred at (100, 100): centre shifted by (10, -20) px, 60 x 80 px.
  area = preprocess.face_area(frame, (50, 50, 100, 100), (0.1, -0.2, 0.6, 0.8))
  np.testing.assert_array_equal(area, frame[40:120, 80:140])


def test_face_area_measures_a_tall_box_by_its_longer_side():
  frame = _gradient_frame()
  area = preprocess.face_area(frame, (75, 50, 50, 100), (0.0, 0.0, 1.0, 1.0))
  np.testing.assert_array_equal(area, frame[50:150, 50:150])


def test_face_area_repeats_the_edges_instead_of_moving_the_area():
  # The same face, alone in its frame or inside a larger one, gives the same
  # area: it keeps its centre and size where it leaves the frame.
  frame = _gradient_frame()
  region = (0.0, 0.0, 1.2, 1.2)
  inside = preprocess.face_area(frame, (50, 50, 100, 100), region)
  alone = preprocess.face_area(frame[50:150, 50:150], (0, 0, 100, 100), region)
  assert inside.shape == alone.shape == (120, 120, 3)
  np.testing.assert_array_equal(alone[10:110, 10:110], inside[10:110, 10:110])
  # The 10 rows above the face repeat its top row, the 10 columns left of it its left column.
  np.testing.assert_array_equal(alone[:10], np.repeat(alone[10:11], 10, axis=0))
  np.testing.assert_array_equal(alone[:, :10], np.repeat(alone[:, 10:11], 10, axis=1))


def test_face_image_squeezes_the_area_to_a_square_and_normalises_its_colour():
  area = _gradient_frame()[:120, :80]
  image = preprocess.face_image(area, face_size=40)
  assert image.shape == (40, 40, 3) and image.dtype == np.uint8
  resized = cv2.resize(area, (40, 40), interpolation=cv2.INTER_AREA)
  np.testing.assert_array_equal(image, preprocess.normalise_colour(resized))


def test_normalise_colour_gives_the_same_face_under_other_lighting():
  face = _gradient_frame()[:64, :64].astype(np.float32)
  dark = (face * [0.4, 0.3, 0.3] + 10).astype(np.uint8)
  bright = (face * [0.6, 0.5, 0.5] + 60).astype(np.uint8)
  dark, bright = preprocess.normalise_colour(dark), preprocess.normalise_colour(bright)
  np.testing.assert_allclose(dark.mean(axis=(0, 1)), 128, atol=1)
  np.testing.assert_allclose(dark.astype(np.float32).std(axis=(0, 1)), 50, atol=2)
  assert np.abs(dark.astype(int) - bright.astype(int)).max() <= 4  # Rounding only.


def test_normalise_colour_keeps_a_flat_image_flat():
  flat = np.full((8, 8, 3), 200, np.uint8)
  np.testing.assert_array_equal(preprocess.normalise_colour(flat), np.full((8, 8, 3), 128))


def test_each_window_samples_its_frames_about_its_own_centre():
  times = preprocess.frame_times(9.0, CONFIG, np.array([-3.0, 0.0, 3.0]))
  assert times.shape == (3, 6)
  np.testing.assert_allclose(times[1], preprocess.frame_times(9.0, CONFIG)[0])
  np.testing.assert_allclose(times[0], [0.25, 0.75, 1.25, 1.75, 2.25, 2.75])
  np.testing.assert_allclose(times[2], times[0] + 6.0)


def test_frame_indices_round_halves_up_and_clamp_to_the_last_frame():
  np.testing.assert_array_equal(preprocess.frame_indices(np.array([0.0, 0.1, 1.0, 2.9]), 5, 15),
                                [0, 1, 5, 14])


def test_faces_put_frames_2j_and_2j_plus_1_of_each_window_side_by_side():
  # Two windows of 6 frames, frame i a gradient shifted by 8 i; no boxes: centre squares.
  base = _gradient_frame()[:90, :120]
  frames = np.stack([np.roll(base, 8 * i, axis=1) for i in range(12)])
  pairs, found = preprocess.faces(frames, lambda frame: None, CONFIG, face_crop=False)
  assert pairs.shape == (2, 3, 64, 128, 3) and pairs.dtype == np.uint8
  assert found == 0
  faces = [preprocess.face_image(preprocess.face_area(frame, None, CONFIG.face_region), 64)
           for frame in frames]
  for window in range(2):
    for j in range(3):
      np.testing.assert_array_equal(pairs[window, j, :, :64], faces[6 * window + 2 * j])
      np.testing.assert_array_equal(pairs[window, j, :, 64:], faces[6 * window + 2 * j + 1])


def test_faces_of_raw_frames_take_the_region_around_each_detected_box():
  frames = np.stack([_gradient_frame()] * 6)
  boxes = iter([(50, 50, 100, 100), None] * 3)
  pairs, found = preprocess.faces(frames, lambda frame: next(boxes), CONFIG, face_crop=False)
  assert found == 3
  boxed = preprocess.face_image(
      preprocess.face_area(frames[0], (50, 50, 100, 100), CONFIG.face_region), 64)
  centred = preprocess.face_image(preprocess.face_area(frames[0], None, CONFIG.face_region), 64)
  np.testing.assert_array_equal(pairs[0, 0, :, :64], boxed)
  np.testing.assert_array_equal(pairs[0, 0, :, 64:], centred)


def test_faces_of_a_face_crop_video_take_each_frame_whole_without_detecting():
  frames = np.stack([_gradient_frame()[:90, :70]] * 6)

  def detect(frame):
    raise AssertionError("a face crop is not searched for faces")

  pairs, found = preprocess.faces(frames, detect, CONFIG, face_crop=True)
  assert found == 6
  np.testing.assert_array_equal(pairs[0, 1, :, 64:], preprocess.face_image(frames[0], 64))
