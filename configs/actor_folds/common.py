"""The honest protocol's settings, shared by the configs of its tables' rows.

Folds by actor (the fold is `--config.data.split.fold`), audio and visual
features of the same recording, the epoch chosen on the fold's validation
actors. A setting names the training; the study's is "study".
"""
import ml_collections

# Each setting adds one change to the one before it, as exp6's ladder climbs;
# "standardised" and "dropout_standardised" read the test actors' unlabelled
# clips (transductive).
# Apart from the ladder, "enrolK" is the study's training with each clip
# standardised by K other clips of its actor (enrolment: unlabelled, never the
# scored clip, as a deployed speaker gives them); "enrol_all" by all the others.
ENROLMENT = {"enrol4": 4, "enrol8": 8, "enrol16": 16, "enrol_all": 10**6}
SETTINGS = ("study", "standardised", "adam", "time_pooling", "dropout", "mixup",
            "specaugment", "attention_pooling", "dropout_standardised", *ENROLMENT)
TRANSDUCTIVE = ("standardised", "dropout_standardised")


def functionals_for_audio(config: ml_collections.ConfigDict,
                          features: str = "compare") -> ml_collections.ConfigDict:
  """`config` with its MFCC CNN replaced by an MLP on the clip's acoustic functionals
  (openSMILE's `features`), its audio probe by theirs."""
  config.model.audio_encoder = ""
  config.model.acoustic_encoder = "mlp"
  config.model.acoustic_widths = (256,)
  config.data.acoustic = features
  if "audio_probe_ce" in config.loss.terms:
    config.loss.terms.acoustic_probe_ce = config.loss.terms.audio_probe_ce
    del config.loss.terms["audio_probe_ce"]
  return config


def honest(config: ml_collections.ConfigDict, setting: str) -> ml_collections.ConfigDict:
  """`config` (a network of configs/) on folds by actor, trained as `setting` says."""
  if setting not in SETTINGS:
    raise ValueError(f"Config argument {setting!r}: expected one of {SETTINGS} "
                     "(e.g. --config=configs/actor_folds/probe_au.py:dropout).")
  config.data.split.protocol = "actor_folds"
  config.data.pairing = "clip"
  config.train.num_epochs = 10  # 25 in the study; 10 fit 2 CPU cores.
  config.train.log_test_metrics = False  # The tables read the selected epoch's test metrics.
  if setting in TRANSDUCTIVE or setting in ENROLMENT:
    # Per actor instead of per clip: a clip's loudness and pitch relative to its
    # actor's other clips are kept, the actor's own level and timbre removed.
    config.data.standardise_per_actor = (
        ("audio", "au", "acoustic") if config.model.acoustic_encoder else ("audio", "au"))
    config.data.audio.normalise = False
  if setting in ENROLMENT:
    config.data.enrol_clips = ENROLMENT[setting]
  if setting in ("study", "standardised", *ENROLMENT):
    return config
  # Averaged over time, the audio embedding is 640-d instead of 40,960-d and
  # slower to fit with SGD at 0.01, hence Adam and 30 epochs first.
  config.optimizer.name = "adam"
  config.optimizer.learning_rate = 0.001
  config.train.num_epochs = 30
  config.train.select_metric = "val/joint_uar"
  if setting == "adam":
    return config
  config.model.audio_pooling = "time_mean"
  if setting == "time_pooling":
    return config
  config.model.dropout = 0.3
  if setting in ("dropout", "dropout_standardised"):
    return config
  config.augment.mixup = 0.2
  if setting == "mixup":
    return config
  config.augment.time_masks = 2  # SpecAugment: 2 bands of up to 16 frames,
  config.augment.mfcc_masks = 2  # 2 of up to 6 coefficients, per clip.
  if setting == "specaugment":
    return config
  # Learned weights over frames instead of their plain mean (layer-normalised).
  config.model.audio_pooling = "time_attention"
  return config
