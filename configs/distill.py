r"""The study's future work: the probe network (architecture 4) whose probes learn to
match the softened predictions of separately trained single-modality teachers
(KL at temperature T), beside the joint head's CE. Teachers are runs of
configs/audio.py and configs/image.py (or configs/au.py), restored from their
Orbax checkpoints.

  python -m emojax.main --config=configs/audio.py --workdir=/tmp/teacher_audio
  python -m emojax.main --config=configs/image.py --workdir=/tmp/teacher_image
  python -m emojax.main --config=configs/distill.py --workdir=/tmp/emojax_distill \
    --config.distill.teachers.audio=/tmp/teacher_audio \
    --config.distill.teachers.image=/tmp/teacher_image
"""
import ml_collections

from configs import common


def get_config(visual: str = "image") -> ml_collections.ConfigDict:
  config = common.get_base_config(visual)
  config.model.embed_dim = 256
  config.model.probes = True
  config.distill = ml_collections.ConfigDict()
  config.distill.temperature = 2.0
  config.distill.teachers = ml_collections.ConfigDict()  # Modality -> teacher workdir.
  config.distill.teachers.audio = "/tmp/teacher_audio"
  config.distill.teachers[visual] = f"/tmp/teacher_{visual}"
  config.loss.terms.joint_ce = 1.0
  config.loss.terms.audio_probe_distill = 1.0
  config.loss.terms[f"{visual}_probe_distill"] = 1.0
  return config
