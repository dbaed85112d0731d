r"""Architecture 4 of the study ("probe"): audio CNN + image CNN, equalised embeddings,
a joint 3-layer MLP on their concatenation and one probe MLP per modality, trained with
joint CE + audio-probe CE + image-probe CE and SGD with momentum.

On the bundled sample (actor 05 audio + face video, actor 01 audio; the study's
random split and class pairing) it runs in about two minutes on 2 CPU cores.

  python -m emojax.main --config=configs/probe.py --workdir=/tmp/emojax_probe
  python -m emojax.main --config=configs/probe.py --workdir=/tmp/emojax_probe --mode=eval
"""
import ml_collections

from configs import common


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.data = common.get_data_config()

  config.model = ml_collections.ConfigDict()
  config.model.audio_widths = (16, 32)
  config.model.image_widths = (16, 32)
  config.model.embed_dim = 256
  config.model.joint_hidden = (256, 128)
  config.model.probe_hidden = (128,)
  config.model.num_classes = 8
  config.model.conv_impl = "auto"  # Kernel gradient as a matmul on CPU; XLA's elsewhere.

  # Each key names a loss term, each value its weight.
  config.loss = ml_collections.ConfigDict()
  config.loss.joint_ce = 1.0
  config.loss.audio_probe_ce = 1.0
  config.loss.image_probe_ce = 1.0

  config.optimizer = ml_collections.ConfigDict()
  config.optimizer.name = "sgd"
  config.optimizer.learning_rate = 0.01
  config.optimizer.momentum = 0.9

  config.train = ml_collections.ConfigDict()
  config.train.num_epochs = 25
  config.train.batch_size = 16
  config.train.eval_batch_size = 32
  # The checkpoint kept as "best" and evaluated on test is chosen on this.
  config.train.select_metric = "val/joint_accuracy"
  config.train.keep_checkpoints = 2
  return config
