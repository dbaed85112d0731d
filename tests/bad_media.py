"""Bad media files made from the bundled real sample, for the tests of bad input."""
import numpy as np
import soundfile


def samples_overwritten(source, destination, value: float) -> None:
  """A copy of a real clip, same rate, channels and length, whose samples are all `value`
  (NaN, inf or 0), written as float WAV so that the value survives."""
  samples, rate = soundfile.read(source, dtype="float32")
  soundfile.write(destination, np.full_like(samples, value), rate, subtype="FLOAT")
