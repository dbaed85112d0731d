r"""Baseline: logistic regression on one standard feature vector per clip, the baseline
of affective computing: a single linear layer (8 logits) with weight decay, trained by
SGD on cross-entropy; (features + 1) x 8 parameters.

The argument picks the features, each standardised by the training split's statistics
(action units are read as they are, 0-5 intensities and 0/1 presences, as the au
network reads them):
- egemaps: openSMILE's eGeMAPS v02 functionals of the whole clip (88);
- compare: openSMILE's ComParE 2016 functionals of the whole clip (6,373);
- mfcc: the time mean and std of each of the 40 MFCCs over the whole clip (80);
- au: the 35 OpenFace action units (intensities and presences).

  python -m emojax.main --config=configs/linear.py:egemaps --workdir=/tmp/emojax_linear_egemaps
"""
import ml_collections

from configs import common

FEATURES = ("egemaps", "compare", "mfcc", "au")


def get_config(features: str = "egemaps") -> ml_collections.ConfigDict:
  if features not in FEATURES:
    raise ValueError(f"Config argument {features!r}: expected one of {FEATURES} "
                     "(e.g. --config=configs/linear.py:compare).")
  config = common.get_base_config("au")
  config.model.audio_encoder = ""
  if features == "au":
    config.model.au_widths = ()
  else:
    config.data.acoustic = features
    config.model.visual = ""
    config.model.acoustic_encoder = "mlp"
    config.model.acoustic_widths = ()
  config.model.joint_hidden = ()  # The joint classifier alone: one Dense layer.
  config.loss.terms.joint_ce = 1.0
  # L2 of sklearn's default strength (C = 1) for ~1,000 training clips: 1 / (C N).
  config.optimizer.weight_decay = 1e-3
  return config
