"""Pieces shared by every config: where the data is and how it becomes features."""
import os

import ml_collections

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE_DIR = os.path.join(REPO_ROOT, "data", "sample")


def get_data_config() -> ml_collections.ConfigDict:
  """The bundled sample, featurised as in the study, split and paired as in the study."""
  data = ml_collections.ConfigDict()
  # Roots in the RAVDESS layout; for a full download pass its folder(s), e.g.
  # --config.data.roots="('/data/RAVDESS',)". Earlier roots win when two offer
  # the same modality of a clip.
  data.roots = (
      os.path.join(SAMPLE_DIR, "ravdess"),
      os.path.join(SAMPLE_DIR, "ravdess_facecrops"),
  )
  # Facial action units per clip (OpenFace 2); "" for none.
  data.action_units = os.path.join(SAMPLE_DIR, "ravdess_openface_au.csv")
  # Where the TFDS builder writes TFRecords; one sub-folder per feature setting.
  data.tfds_dir = os.path.expanduser("~/.cache/emojax/tfds")
  data.num_workers = 0  # Feature extraction processes; 0: one per CPU core.
  data.vocal_channels = ("speech",)
  # Validation and test kept to these of vocal_channels; () for all of them.
  data.eval_vocal_channels = ()
  # Modalities ("audio", "au") standardised by each actor's own mean and std, test
  # actors' too (unlabelled): speaker normalisation, transductive. () is the study's.
  data.standardise_per_actor = ()
  # 0: those statistics from all of the actor's clips; k > 0: each clip's from k
  # other clips of its actor, drawn at random (all the others if it has fewer), as
  # a deployed speaker enrols with a few unlabelled clips.
  data.enrol_clips = 0
  # Acoustic functionals per clip (emojax/data/acoustic.py): "egemaps" (88, openSMILE),
  # "compare" (6,373, openSMILE), "mfcc" (time mean and std of each MFCC); "" for none
  # (the study's). Standardised by the training split's statistics.
  data.acoustic = ""
  # True: training clips keep the k windows of data.audio.test_windows, and each
  # step trains on one of them per clip, drawn at random (emojax/augment.py),
  # instead of the centred crop, so that training sees what scoring averages over.
  data.train_on_windows = False

  data.audio = ml_collections.ConfigDict()
  data.audio.sample_rate = 22050
  data.audio.n_mfcc = 40
  data.audio.n_fft = 2048
  data.audio.hop_length = 512
  data.audio.num_frames = 128
  data.audio.crop = "centre"
  data.audio.normalise = True  # Per-utterance CMVN: raw MFCCs (c0 near -600) diverge under SGD.
  data.audio.features = "mfcc"  # Or "log_mel": n_mfcc log-mel bands (dB) instead of MFCCs.
  # Windows each validation and test clip is scored on, outputs averaged: 1, the
  # training crop; k, k windows from the clip's start to its end.
  data.audio.test_windows = 1

  data.video = ml_collections.ConfigDict()
  data.video.num_frames = 6
  data.video.interval_s = 0.5
  data.video.face_size = 64
  # A face image's area around the face box (centre offset and size, in box
  # sides): the area RAVDESS's face-crop videos (.avi, used whole) show, so that
  # raw video gives the same faces (emojax/data/preprocess.py).
  data.video.face_region = (0.02, 0.03, 0.83, 1.13)

  # `seed`: the study's random split by example. Fractions: train, val, test;
  # experiment 2's low-data splits train on 50% or 25%: (0.5, 0.1, 0.4), (0.25, 0.1, 0.65).
  data.split = ml_collections.ConfigDict()
  data.split.protocol = "seed"
  data.split.fractions = (0.8, 0.1, 0.1)
  data.split.seed = 0
  # `actor_folds`: the honest protocol, train/val/test actors from a folds file.
  # Relative to the repository's root, where commands run: a run's config.json
  # then reads the same in any clone.
  data.split.folds_file = "configs/ravdess_actor_folds.json"
  data.split.fold = 0
  data.split.train_fraction = 1.0  # Keep this fraction of the fold's training actors.
  # `class`: the study's pairing (each image with a random audio clip of its
  # class); `clip`: audio and frames of the same recording.
  data.pairing = "class"
  return data


def get_model_config(visual: str) -> ml_collections.ConfigDict:
  """The study's encoders, unfused heads off; each network config changes a few fields.

  `visual`: "image" (two face frames side by side) or "au" (action units).
  """
  model = ml_collections.ConfigDict()
  model.audio_encoder = "cnn"  # "cnn", "lstm" or "" for no audio.
  model.visual = visual  # "image", "au" or "" for no visual modality.
  model.fusion = "concat"  # "concat": joint MLP on the concatenation; "shared": one classifier.
  model.num_classes = 8
  model.audio_widths = (16, 32)
  # The study's; "time_mean" averages the CNN's features over frames; "time_attention"
  # layer-normalises each frame's and averages them by learned attention weights.
  model.audio_pooling = "flatten"
  model.image_widths = (16, 32)
  model.lstm_size = 128
  model.au_widths = (64, 64)
  model.acoustic_encoder = ""  # "mlp" reads config.data.acoustic's functionals; "": none.
  model.acoustic_widths = (64, 64)  # () passes the standardised features on as they are.
  model.embed_dim = 0  # Size of the dimension-equalised embeddings; 0: no equalisers.
  model.joint_hidden = (256, 128)
  model.shared_hidden = (128,)
  model.probes = False
  model.probe_hidden = (128,)
  model.dropout = 0.0  # Training-time rate on the embeddings and the heads' hidden layers.
  return model


def get_base_config(visual: str = "image") -> ml_collections.ConfigDict:
  """Data, model, optimiser and training of the study; each config adds its loss."""
  if visual not in ("image", "au"):
    raise ValueError(f"Config argument {visual!r}: expected 'image' or 'au' "
                     "(e.g. --config=configs/probe.py:au).")
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.data = get_data_config()
  config.model = get_model_config(visual)

  config.loss = ml_collections.ConfigDict()
  config.loss.terms = ml_collections.ConfigDict()  # Term name -> weight (see emojax/losses.py).
  config.loss.label_smoothing = 0.0

  # SpecAugment-style masks on the training MFCCs (emojax/augment.py); 0 masks: off.
  config.augment = ml_collections.ConfigDict()
  config.augment.time_masks = 0  # Bands of frames zeroed per clip,
  config.augment.time_mask_frames = 16  # each up to this many frames wide.
  config.augment.mfcc_masks = 0  # Bands of coefficients zeroed per clip,
  config.augment.mfcc_mask_coefficients = 6  # each up to this many wide.
  # Mixup: each training example's inputs mixed with another's, weight ~ Beta(a, a),
  # the loss weighing both labels alike; a (e.g. 0.2) > 0 turns it on.
  config.augment.mixup = 0.0

  config.optimizer = ml_collections.ConfigDict()
  config.optimizer.name = "sgd"  # "sgd", "adam" or "adamw".
  config.optimizer.learning_rate = 0.01
  config.optimizer.momentum = 0.9  # sgd only; 0 for plain SGD.
  config.optimizer.weight_decay = 0.0
  config.optimizer.clip_global_norm = 0.0  # 0: no clipping.
  config.optimizer.schedule = "constant"  # or "cosine", decaying to 0 at the last step.
  config.optimizer.warmup_epochs = 0.0  # Linear warm-up from 0 to learning_rate.

  config.train = ml_collections.ConfigDict()
  config.train.num_epochs = 25
  config.train.num_steps = 0  # >0: train this many steps instead (the last epoch cut short).
  config.train.batch_size = 16
  config.train.eval_batch_size = 32
  # The checkpoint kept as "best" and evaluated on test is chosen on this.
  config.train.select_metric = "val/joint_accuracy"
  # Test metrics every epoch, for curves (never used to select); the selected
  # checkpoint's test metrics are reported either way.
  config.train.log_test_metrics = True
  config.train.keep_checkpoints = 2
  config.train.early_stopping_patience = 0  # Epochs without a better select_metric; 0: off.
  config.train.on_nonfinite = "stop"  # A NaN/inf loss: "stop" the run, or "skip" the step.
  return config
