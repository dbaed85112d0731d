"""A waveform -> one vector of standard acoustic functionals per clip, and their
standardisation by a training split's statistics.

Feature sets (`config.data.acoustic`):
- "egemaps": openSMILE's eGeMAPS v02 functionals, 88 values;
- "compare": openSMILE's ComParE 2016 functionals, 6,373 values;
- "mfcc": the time mean and std of each MFCC (2 x `n_mfcc` values), the
  standard vector of a linear model on MFCCs.

Functionals summarise a whole utterance (the field's convention, and RAVDESS
clips are one sentence each): the feature builder computes them over the whole
loaded clip, the MFCCs' waveform, not its centred training window. The builder
(`emojax.data.features`) and Predictor (`emojax.inference.windows`) both call
`functionals`. Numpy only, no TensorFlow or JAX: it runs in feature workers.
"""
import ctypes
import functools
import glob
import importlib.util
import json
import os

import numpy as np

from emojax.data import audio as audio_lib

# openSMILE's name of each set, and its number of functionals.
_OPENSMILE = {"egemaps": ("eGeMAPSv02", 88), "compare": ("ComParE_2016", 6373)}
FEATURE_SETS = (*_OPENSMILE, "mfcc")
# Beside a run's config.json: the training split's statistics, which Predictor applies.
STATISTICS_FILE = "acoustic_statistics.json"


def check_feature_set(name: str) -> None:
  """Raises ValueError naming config.data.acoustic unless `name` is a feature set or ""."""
  if name not in ("", *FEATURE_SETS):
    raise ValueError(f"Unknown config.data.acoustic {name!r}; expected '' (none) or one of "
                     f"{FEATURE_SETS}.")


def num_features(name: str, audio_config: audio_lib.AudioConfig) -> int:
  """How many values `functionals` gives for feature set `name`."""
  check_feature_set(name)
  return 2 * audio_config.n_mfcc if name == "mfcc" else _OPENSMILE[name][1]


def _import_opensmile():
  """opensmile, its C library loaded first with RTLD_DEEPBIND (Linux).

  TensorFlow's libraries export C++ standard-library template instances of
  another build; once TensorFlow is loaded, libSMILEapi's calls bind to them and
  corrupt the heap ("malloc(): invalid size"), in any process that imported
  TensorFlow first (training, a one-process build, the tests). DEEPBIND makes
  the library use its own; opensmile's load then reuses this one.
  Imported here, not at the top: opensmile (with pandas) takes a second to
  import, which only the networks that read its features should pay.
  """
  if hasattr(os, "RTLD_DEEPBIND"):
    package = importlib.util.find_spec("opensmile").submodule_search_locations[0]
    for path in glob.glob(os.path.join(package, "core", "bin", "*", "libSMILEapi.so")):
      try:
        ctypes.CDLL(path, mode=os.RTLD_DEEPBIND | os.RTLD_LOCAL)
      except OSError:  # Another platform's build.
        continue
  import opensmile
  return opensmile


@functools.lru_cache(maxsize=2)
def _smile(name: str):
  opensmile = _import_opensmile()  # One Smile per set and process.
  return opensmile.Smile(feature_set=getattr(opensmile.FeatureSet, _OPENSMILE[name][0]),
                         feature_level=opensmile.FeatureLevel.Functionals)


def functionals(waveform: np.ndarray, audio_config: audio_lib.AudioConfig, name: str,
                source: str) -> np.ndarray:
  """Feature set `name` of a waveform at `audio_config.sample_rate`.

  Args:
    waveform: [samples] float32 mono, as `audio_lib.load_audio` gives it.
    source: the file (or "the arrays") it came from, for errors.
  Returns:
    [num_features(name, audio_config)] float32.
  Raises:
    AudioError: naming `source`, if a value is not finite (openSMILE fills a
      clip too short for its windows, under about 0.2 s, with NaN).
  """
  check_feature_set(name)
  if name == "mfcc":
    mfcc = audio_lib.mfcc(waveform, audio_config)
    values = np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1)])
  else:
    values = _smile(name).process_signal(waveform, audio_config.sample_rate).to_numpy()[0]
  bad = np.size(values) - np.count_nonzero(np.isfinite(values))
  if bad:
    raise audio_lib.AudioError(
        f"{source}: {bad} of {np.size(values)} {name} functionals are not finite (NaN or "
        f"infinity); the audio ({len(waveform) / audio_config.sample_rate:.2f} s) is too "
        "short or broken for them.")
  return values.astype(np.float32)


def training_statistics(values: np.ndarray) -> dict[str, np.ndarray]:
  """{"mean", "std"}: [F] float32 of [N, F] values, the training split's clips."""
  return {"mean": values.mean(axis=0).astype(np.float32),
          "std": values.std(axis=0).astype(np.float32)}


def standardise(values: np.ndarray, statistics: dict[str, np.ndarray]) -> np.ndarray:
  """[..., F] values standardised feature by feature; a feature constant in training
  (std 0) is centred, not divided by 0. Returns float32."""
  std = np.where(statistics["std"] > 0, statistics["std"], 1.0)
  return ((values - statistics["mean"]) / std).astype(np.float32)


def save_statistics(workdir: str, statistics: dict[str, np.ndarray]) -> None:
  with open(os.path.join(workdir, STATISTICS_FILE), "w") as f:
    json.dump({key: value.tolist() for key, value in statistics.items()}, f, allow_nan=False)


def load_statistics(workdir: str) -> dict[str, np.ndarray]:
  """The statistics `save_statistics` wrote; FileNotFoundError naming the file if none."""
  path = os.path.join(workdir, STATISTICS_FILE)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path} is missing: it holds the training split's statistics "
                            "of the acoustic functionals, written when the run started.")
  with open(path) as f:
    return {key: np.asarray(value, np.float32) for key, value in json.load(f).items()}
