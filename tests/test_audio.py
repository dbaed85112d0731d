import librosa
import numpy as np
import pytest
import soundfile

from emojax.data import audio

# Real sample clips. FLAC: actor 05, neutral; 3.6 s, speech from about 1.0 s.
FLAC = "ravdess/Actor_05/03-01-01-01-01-01-05.flac"
# The same recording as distributed (48 kHz stereo) and as stored (22,050 Hz
# mono, resampled with SoX VHQ).
ORIGINAL_WAV = "ravdess_original_samples/Actor_01/03-01-02-01-01-02-01.wav"
STORED_FLAC = "ravdess/Actor_01/03-01-02-01-01-02-01.flac"
MP4 = "ravdess_video/Actor_05/01-01-03-01-01-02-05.mp4"


def test_audio_features_shape_and_dtype(sample_dir):
  features = audio.audio_features(str(sample_dir / FLAC), audio.AudioConfig())
  assert features.shape == (40, 128)
  assert features.dtype == np.float32
  assert np.isfinite(features).all()


def test_audio_features_equal_librosa_called_directly(sample_dir):
  path = str(sample_dir / FLAC)
  waveform, rate = librosa.load(path, sr=22050, res_type="soxr_vhq")
  expected = librosa.feature.mfcc(y=waveform, sr=rate, n_mfcc=40, n_fft=2048,
                                  hop_length=512)
  begin = (expected.shape[1] - 128) // 2
  np.testing.assert_array_equal(
      audio.audio_features(path, audio.AudioConfig()),
      expected[:, begin:begin + 128])


def test_first_mfcc_is_far_lower_in_leading_silence_than_in_speech(sample_dir):
  # c0 follows the frame's log energy: the actor starts speaking after about
  # 1 s, so the first 0.5 s (21 frames) are room silence.
  config = audio.AudioConfig(crop="start")
  energy = audio.audio_features(str(sample_dir / FLAC), config)[0]
  silence = energy[:21].mean()
  assert silence < -800
  assert energy.max() - silence > 300


def test_load_audio_downmixes_stereo_48k_wav_to_mono_22050(sample_dir):
  path = str(sample_dir / ORIGINAL_WAV)
  info = soundfile.info(path)
  assert (info.samplerate, info.channels) == (48000, 2)
  waveform = audio.load_audio(path, 22050)
  assert waveform.ndim == 1
  assert waveform.dtype == np.float32
  assert abs(len(waveform) - info.frames * 22050 / 48000) <= 1


def test_load_audio_of_original_wav_matches_the_stored_flac(sample_dir):
  # The store made its FLAC from this very file with SoX VHQ; only the 16-bit
  # rounding of the FLAC (3e-5) and resampler details may differ.
  loaded = audio.load_audio(str(sample_dir / ORIGINAL_WAV), 22050)
  stored, rate = soundfile.read(str(sample_dir / STORED_FLAC), dtype="float32")
  assert rate == 22050
  length = min(len(loaded), len(stored))
  np.testing.assert_allclose(loaded[:length], stored[:length], atol=1e-4)


def test_fix_length_centre_pads_both_ends():
  features = np.array([[1., 2., 3.]])
  np.testing.assert_array_equal(audio.fix_length(features, 6, "centre"),
                                [[0., 1., 2., 3., 0., 0.]])


def test_fix_length_start_pads_at_the_end():
  features = np.array([[1., 2., 3.]])
  np.testing.assert_array_equal(audio.fix_length(features, 5, "start"),
                                [[1., 2., 3., 0., 0.]])


def test_fix_length_centre_keeps_the_middle():
  features = np.array([[1., 2., 3., 4., 5., 6.], [7., 8., 9., 10., 11., 12.]])
  np.testing.assert_array_equal(audio.fix_length(features, 3, "centre"),
                                [[2., 3., 4.], [8., 9., 10.]])


def test_fix_length_start_keeps_the_beginning():
  features = np.array([[1., 2., 3., 4., 5., 6.]])
  np.testing.assert_array_equal(audio.fix_length(features, 4, "start"),
                                [[1., 2., 3., 4.]])


def test_fix_length_rejects_unknown_crop():
  with pytest.raises(ValueError, match="'middle'"):
    audio.fix_length(np.zeros((2, 3)), 4, "middle")


def test_normalise_utterance_standardises_each_coefficient(sample_dir):
  features = audio.audio_features(str(sample_dir / FLAC), audio.AudioConfig())
  normalised = audio.normalise_utterance(features)
  assert normalised.dtype == np.float32
  np.testing.assert_allclose(normalised.mean(axis=1), 0, atol=1e-4)
  np.testing.assert_allclose(normalised.std(axis=1), 1, atol=1e-4)


def test_normalise_utterance_maps_constant_coefficient_to_zero():
  features = np.array([[0., 0., 0., 0.], [1., 3., 1., 3.]])
  np.testing.assert_array_equal(audio.normalise_utterance(features),
                                [[0., 0., 0., 0.], [-1., 1., -1., 1.]])


def test_audio_features_normalise_option(sample_dir):
  path = str(sample_dir / FLAC)
  raw = audio.audio_features(path, audio.AudioConfig())
  normalised = audio.audio_features(path, audio.AudioConfig(normalise=True))
  np.testing.assert_array_equal(normalised, audio.normalise_utterance(raw))


def _random_bytes(source, destination):
  destination.write_bytes(np.random.default_rng(0).bytes(4096))


def _flac_cut_after_header(source, destination):
  destination.write_bytes(source.read_bytes()[:100])


def _wav_cut_after_data_header(source, destination):
  # Keeps every chunk header, so the file opens but holds no samples.
  data = source.read_bytes()
  destination.write_bytes(data[:data.find(b"data") + 8])


def _empty(source, destination):
  destination.write_bytes(b"")


@pytest.mark.parametrize("source, name, corrupt", [
    (FLAC, "corrupt.flac", _random_bytes),
    (FLAC, "truncated.flac", _flac_cut_after_header),
    (ORIGINAL_WAV, "no_samples.wav", _wav_cut_after_data_header),
    (FLAC, "empty.flac", _empty),
])
def test_load_audio_raises_naming_a_bad_file(sample_dir, tmp_path, source,
                                             name, corrupt):
  path = tmp_path / name
  corrupt(sample_dir / source, path)
  with pytest.raises(audio.AudioError, match=name):
    audio.load_audio(str(path), 22050)


def test_load_audio_raises_naming_a_missing_file(tmp_path):
  with pytest.raises(audio.AudioError, match="missing.flac"):
    audio.load_audio(str(tmp_path / "missing.flac"), 22050)


def test_load_audio_of_mp4_raises_until_a_decoder_is_installed(sample_dir):
  path = str(sample_dir / MP4)
  with pytest.raises(audio.AudioError, match="PyAV") as error:
    audio.load_audio(path, 22050)
  assert path in str(error.value)
