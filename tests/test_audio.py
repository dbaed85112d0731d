import av
import librosa
import numpy as np
import pytest
import scipy.signal
import soundfile

from emojax.data import audio
from emojax.data import preprocess
from tests import bad_media

# Real sample clips. FLAC: actor 05, neutral; 3.6 s, speech from about 1.0 s.
FLAC = "ravdess/Actor_05/03-01-01-01-01-01-05.flac"
# The same recording as distributed (48 kHz stereo) and as stored (22,050 Hz
# mono, resampled with SoX VHQ).
ORIGINAL_WAV = "ravdess_original_samples/Actor_01/03-01-02-01-01-02-01.wav"
STORED_FLAC = "ravdess/Actor_01/03-01-02-01-01-02-01.flac"
# One actor 05 clip (happy, statement 1, repetition 2) as release video: audio+
# video (AAC 48 kHz stereo), video-only (a silent AAC track, as distributed),
# its audio as stored (22,050 Hz mono FLAC) and its face crops (no audio).
MP4 = "ravdess_video/Actor_05/01-01-03-01-01-02-05.mp4"
SILENT_MP4 = "ravdess_video/Actor_05/02-01-03-01-01-02-05.mp4"
MP4_AUDIO_FLAC = "ravdess/Actor_05/03-01-03-01-01-02-05.flac"
FACECROP_AVI = "ravdess_facecrops/Actor_05/01-01-03-01-01-02-05.avi"


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


def test_log_mel_features_equal_librosa_called_directly(sample_dir):
  path = str(sample_dir / FLAC)
  waveform, rate = librosa.load(path, sr=22050, res_type="soxr_vhq")
  expected = librosa.power_to_db(librosa.feature.melspectrogram(
      y=waveform, sr=rate, n_fft=2048, hop_length=512, n_mels=40))
  begin = (expected.shape[1] - 128) // 2
  features = audio.audio_features(path, audio.AudioConfig(features="log_mel"))
  np.testing.assert_allclose(features, expected[:, begin:begin + 128], rtol=0, atol=1e-4)
  # Band energies in dB, floored 80 dB below the clip's loudest: not MFCCs.
  assert features.max() - features.min() <= 80 + 1e-3
  assert not np.allclose(features, audio.audio_features(path, audio.AudioConfig()))


def test_unknown_frame_features_fail_naming_the_key():
  with pytest.raises(ValueError, match=r"config.data.audio.features 'mel'; expected one of "
                     r"\('mfcc', 'log_mel'\)"):
    audio.AudioConfig(features="mel")


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


def test_normalise_utterance_standardises_each_coefficient(sample_dir):
  features = audio.audio_features(str(sample_dir / FLAC), audio.AudioConfig())
  normalised = preprocess.normalise_utterance(features)
  assert normalised.dtype == np.float32
  np.testing.assert_allclose(normalised.mean(axis=1), 0, atol=1e-4)
  np.testing.assert_allclose(normalised.std(axis=1), 1, atol=1e-4)


def test_audio_features_normalise_option(sample_dir):
  path = str(sample_dir / FLAC)
  raw = audio.audio_features(path, audio.AudioConfig())
  normalised = audio.audio_features(path, audio.AudioConfig(normalise=True))
  np.testing.assert_array_equal(normalised, preprocess.normalise_utterance(raw))


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


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_load_audio_raises_naming_a_file_with_non_finite_samples(sample_dir, tmp_path, value):
  path = tmp_path / "not_finite.wav"
  bad_media.samples_overwritten(sample_dir / ORIGINAL_WAV, path, value)
  frames = soundfile.info(path).frames
  with pytest.raises(audio.AudioError) as error:
    audio.load_audio(str(path), 22050)
  # Both channels of the stereo original.
  assert str(error.value) == (f"{path}: {2 * frames} of {2 * frames} audio samples are not "
                              "finite (NaN or infinity); the file is corrupt.")


def test_load_audio_raises_naming_one_nan_sample_among_real_ones(sample_dir, tmp_path):
  samples, rate = soundfile.read(sample_dir / FLAC, dtype="float32")
  samples[1000] = np.nan
  path = tmp_path / "one_nan.wav"
  soundfile.write(path, samples, rate, subtype="FLOAT")
  with pytest.raises(audio.AudioError, match=f"{path}: 1 of {len(samples)} audio samples"):
    audio.load_audio(str(path), 22050)


def test_load_audio_raises_naming_an_all_zero_audio_file(sample_dir, tmp_path):
  path = tmp_path / "silent.wav"
  bad_media.samples_overwritten(sample_dir / ORIGINAL_WAV, path, 0.0)
  with pytest.raises(audio.AudioError, match=f"{path}: every audio sample is zero"):
    audio.load_audio(str(path), 22050)


def test_audio_features_raise_for_a_videos_all_zero_track(sample_dir):
  # load_audio returns it (predict reads such a video's faces); a training
  # clip of digital silence would be one constant MFCC matrix.
  path = str(sample_dir / SILENT_MP4)
  with pytest.raises(audio.AudioError, match=f"{path}: every audio sample is zero"):
    audio.audio_features(path, audio.AudioConfig())


def test_load_audio_raises_naming_a_missing_file(tmp_path):
  with pytest.raises(audio.AudioError, match="missing.flac"):
    audio.load_audio(str(tmp_path / "missing.flac"), 22050)


def _audio_track_seconds(path):
  with av.open(path) as container:
    stream = container.streams.audio[0]
    return float(stream.duration * stream.time_base)


def test_load_audio_decodes_mp4_track_to_mono_22050(sample_dir):
  path = str(sample_dir / MP4)
  waveform = audio.load_audio(path, 22050)
  assert waveform.ndim == 1
  assert waveform.dtype == np.float32
  # Track: 155,616 samples at 48 kHz = 3.242 s; decoded: 71,501 = 3.2427 s.
  assert abs(len(waveform) / 22050 - _audio_track_seconds(path)) < 0.05


def _aligned_correlation(x, y):
  """Pearson r of two waveforms after the cross-correlation's best shift."""
  lag = int(np.argmax(scipy.signal.correlate(x, y, method="fft"))) - len(y) + 1
  x, y = (x[lag:], y) if lag >= 0 else (x, y[-lag:])
  length = min(len(x), len(y))
  return lag, np.corrcoef(x[:length], y[:length])[0, 1]


def test_load_audio_of_mp4_matches_the_same_recordings_flac(sample_dir):
  # The FLAC is this clip's audio, stored by another route (SoX VHQ): after
  # the best shift (measured: 735 samples, the 33 ms of one video frame) the
  # waveforms give r = 0.998; other clips of actor 05 give |r| <= 0.11.
  decoded = audio.load_audio(str(sample_dir / MP4), 22050)
  stored, _ = soundfile.read(str(sample_dir / MP4_AUDIO_FLAC), dtype="float32")
  lag, correlation = _aligned_correlation(decoded, stored)
  assert abs(lag) < 0.05 * 22050
  assert correlation > 0.98


def test_load_audio_of_other_containers_goes_through_pyav(sample_dir,
                                                          tmp_path):
  # The mp4's AAC track copied, not re-encoded, into an .m4a audio file.
  source, m4a = str(sample_dir / MP4), str(tmp_path / "clip.m4a")
  with av.open(source) as reader, av.open(m4a, "w") as writer:
    track = writer.add_stream_from_template(reader.streams.audio[0])
    for packet in reader.demux(reader.streams.audio[0]):
      if packet.dts is not None:  # the demuxer's final flush packet
        packet.stream = track
        writer.mux(packet)
  np.testing.assert_array_equal(audio.load_audio(m4a, 22050),
                                audio.load_audio(source, 22050))


def test_load_audio_returns_the_silent_track_of_a_video_only_mp4(sample_dir):
  # The release's video-only files carry a digitally silent track (measured
  # peak: exactly 0.0); in a video, silence is data, not an error.
  waveform = audio.load_audio(str(sample_dir / SILENT_MP4), 22050)
  assert waveform.dtype == np.float32
  assert len(waveform) > 3 * 22050
  assert np.abs(waveform).max() < 1e-4


def test_load_audio_raises_for_a_container_without_audio(sample_dir):
  path = str(sample_dir / FACECROP_AVI)
  with av.open(path) as container:
    assert not container.streams.audio and container.streams.video
  with pytest.raises(audio.AudioError, match="no audio track") as error:
    audio.load_audio(path, 22050)
  assert path in str(error.value)


def _mp4_cut_to_2kb(source, destination):
  # Cuts inside the 5 KB moov header: opens, listing the video stream only,
  # with no media data.
  destination.write_bytes(source.read_bytes()[:2048])


def _mp4_cut_after_header(source, destination):
  # Keeps the whole moov header and 69 bytes of media data: an audio track
  # whose every packet is missing.
  destination.write_bytes(source.read_bytes()[:5100])


@pytest.mark.parametrize("name, corrupt, reason", [
    ("truncated.mp4", _mp4_cut_to_2kb, "truncated or corrupt"),
    ("no_samples.mp4", _mp4_cut_after_header, "holds no audio samples"),
    ("empty.mp4", _empty, "the file is empty (0 bytes)"),
    ("corrupt.mp4", _random_bytes, "Invalid data"),
])
def test_load_audio_raises_naming_a_bad_container(sample_dir, tmp_path, name,
                                                  corrupt, reason):
  path = tmp_path / name
  corrupt(sample_dir / MP4, path)
  with pytest.raises(audio.AudioError, match=name) as error:
    audio.load_audio(str(path), 22050)
  # A broken file must not pass for a video without sound.
  assert reason in str(error.value)


def test_load_audio_raises_naming_a_missing_container(tmp_path):
  with pytest.raises(audio.AudioError, match="missing.mp4"):
    audio.load_audio(str(tmp_path / "missing.mp4"), 22050)
