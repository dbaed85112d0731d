"""The one preprocessing path: windows, frame sampling, face crops (emojax.data.preprocess).

Training is the single centred window (`preprocess.CENTRED`); inference cuts a
long clip into half-overlapping windows of the same length.
"""
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


# Audio.

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


def test_crop_face_without_box_takes_the_centre_square():
  frame = np.zeros((100, 200, 3), np.uint8)
  frame[:, 50:150] = 255
  face = preprocess.crop_face(frame, None, face_size=50, margin=0.1)
  assert face.shape == (50, 50, 3)
  assert face.dtype == np.uint8
  assert (face == 255).all()


def _gradient_frame():
  """[200, 200, 3] uint8 whose every 60 x 60 square differs from its neighbours."""
  rows, columns = np.indices((200, 200))
  return np.repeat(((rows + 3 * columns) % 256).astype(np.uint8)[..., None], 3, axis=2)


def test_crop_face_adds_margin_around_the_box():
  frame = _gradient_frame()
  # A 100 px box with 10% margin each side: the 120 px square from 40 to 160.
  face = preprocess.crop_face(frame, (50, 50, 100, 100), face_size=120, margin=0.1)
  np.testing.assert_array_equal(face, frame[40:160, 40:160])


def test_crop_face_shifts_the_square_inside_the_frame():
  frame = _gradient_frame()
  face = preprocess.crop_face(frame, (0, 0, 50, 50), face_size=60, margin=0.1)
  np.testing.assert_array_equal(face, frame[0:60, 0:60])


def test_each_window_samples_its_frames_about_its_own_centre():
  times = preprocess.frame_times(9.0, CONFIG, np.array([-3.0, 0.0, 3.0]))
  assert times.shape == (3, 6)
  np.testing.assert_allclose(times[1], preprocess.frame_times(9.0, CONFIG)[0])
  np.testing.assert_allclose(times[0], [0.25, 0.75, 1.25, 1.75, 2.25, 2.75])
  np.testing.assert_allclose(times[2], times[0] + 6.0)


def test_frame_indices_round_halves_up_and_clamp_to_the_last_frame():
  np.testing.assert_array_equal(preprocess.frame_indices(np.array([0.0, 0.1, 1.0, 2.9]), 5, 15),
                                [0, 1, 5, 14])


def test_face_pairs_put_frames_2j_and_2j_plus_1_of_each_window_side_by_side():
  # Two windows of 6 flat frames, frame i of value i; no boxes: centre squares.
  frames = np.arange(12, dtype=np.uint8)[:, None, None, None] * np.ones((1, 90, 120, 3), np.uint8)
  pairs = preprocess.face_pairs(frames, [None] * 12, CONFIG)
  assert pairs.shape == (2, 3, 64, 128, 3) and pairs.dtype == np.uint8
  for window in range(2):
    for j in range(3):
      assert (pairs[window, j, :, :64] == 6 * window + 2 * j).all()
      assert (pairs[window, j, :, 64:] == 6 * window + 2 * j + 1).all()
