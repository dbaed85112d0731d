r"""The probe network at the reference shapes of the PyTorch peer
(../shared/bench/torch_probe.py): conv widths (32, 64) in both encoders, 256-d
equalised embeddings, joint MLP 512-256-128-8, probes 256-128-8; 54,797,784
parameters, as the peer prints. Otherwise as configs/probe.py.

  python -m emojax.main --config=configs/probe_reference.py --workdir=/tmp/emojax_probe_ref
"""
import ml_collections

from configs import probe


def get_config() -> ml_collections.ConfigDict:
  config = probe.get_config()
  config.model.audio_widths = (32, 64)
  config.model.image_widths = (32, 64)
  return config
