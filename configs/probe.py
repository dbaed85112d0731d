r"""Architecture 4 of the study ("probe"): audio CNN + image CNN, equalised embeddings,
a joint 3-layer MLP on their concatenation and one probe MLP per modality, trained with
joint CE + audio-probe CE + image-probe CE and SGD with momentum.

On the bundled sample (actor 05 audio + face video, actor 01 audio; the study's
random split and class pairing) it runs in about two minutes on 2 CPU cores.

  python -m emojax.main --config=configs/probe.py --workdir=/tmp/emojax_probe
  python -m emojax.main --config=configs/probe.py --workdir=/tmp/emojax_probe --mode=eval
  python -m emojax.main --config=configs/probe.py:au --workdir=/tmp/emojax_probe_au  # action units
"""
import ml_collections

from configs import common


def get_config(visual: str = "image") -> ml_collections.ConfigDict:
  config = common.get_base_config(visual)
  config.model.embed_dim = 256
  config.model.probes = True
  config.loss.terms.joint_ce = 1.0
  config.loss.terms.audio_probe_ce = 1.0
  config.loss.terms[f"{visual}_probe_ce"] = 1.0
  return config
