import pathlib

import pytest


@pytest.fixture(scope="session")
def sample_dir() -> pathlib.Path:
  """The bundled real RAVDESS sample, data/sample (see its README.md)."""
  return pathlib.Path(__file__).resolve().parents[1] / "data" / "sample"
