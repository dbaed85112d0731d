import pathlib

import chex
import pytest

# Two CPU devices, so that every test runs the data-parallel path.
chex.set_n_cpu_devices(2)


@pytest.fixture(scope="session")
def sample_dir() -> pathlib.Path:
  """The bundled real RAVDESS sample, data/sample (see its README.md)."""
  return pathlib.Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="session")
def sample_tfds_dir(tmp_path_factory) -> str:
  """One TFRecord cache for the whole session, so the sample is featurised once."""
  return str(tmp_path_factory.mktemp("tfds"))


@pytest.fixture(scope="session")
def sample_clips(sample_tfds_dir):
  """Every clip of the bundled sample, featurised with the default settings."""
  from configs import common
  from emojax.data import ravdess_tfds
  config = common.get_data_config()
  config.tfds_dir = sample_tfds_dir
  builder, _ = ravdess_tfds.prepare(config)
  return ravdess_tfds.load_clips(builder, config.video.num_frames // 2)
