"""A trained run applied to anyone's media: emotion probabilities from every head.

`Predictor.from_workdir` restores a run's checkpoint and reads its preprocessing
from the run's config.json. A clip is cut into windows as long as the training
crop (one, centred, for a clip of training length; half-overlapping ones for a
longer clip); each window gives MFCCs and face images by
`emojax.data.preprocess`, the functions the feature builder calls, every head
the inputs allow classifies them, and the windows' probabilities are averaged.

  media.py      a file or arrays -> the waveform and video the network reads
  windows.py    those -> the network's inputs, window by window
  model.py      the run directory -> the network, applied to windows
  predictor.py  Predictor: the three in a row -> Prediction
"""
from emojax.inference.media import AUDIO_EXTENSIONS
from emojax.inference.media import InputError
from emojax.inference.media import VIDEO_EXTENSIONS
from emojax.inference.model import WorkdirError
from emojax.inference.predictor import Prediction
from emojax.inference.predictor import Predictor
from emojax.inference.predictor import Window

__all__ = ["AUDIO_EXTENSIONS", "VIDEO_EXTENSIONS", "InputError", "Prediction", "Predictor",
           "Window", "WorkdirError"]
