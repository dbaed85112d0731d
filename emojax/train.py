"""Training and evaluation of one config: the story of a run.

create_train_state -> train_step / eval_step (pure, data-parallel over a
'data' mesh axis) -> train_and_evaluate (epochs, checkpoints, model selection
on validation) -> evaluate (restore and report, without training).
"""
import contextlib
import dataclasses
import functools
import itertools
import os
from typing import Any, Callable, Iterable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import tqdm
from absl import logging
from jax import lax
from jax.experimental import multihost_utils
from jax.sharding import NamedSharding, PartitionSpec as P

from emojax import augment
from emojax import checkpoints
from emojax import losses
from emojax import metrics as metrics_lib
from emojax import run_dir
from emojax import teachers as teacher_lib
from emojax.data import acoustic
from emojax.data import pipeline
from emojax.data import ravdess_tfds
from emojax.models import fusion

State = dict[str, Any]  # {"step": int32 [], "params": pytree, "opt_state": pytree}


def create_optimizer(optimizer_config: ml_collections.ConfigDict,
                     steps_per_epoch: int, total_steps: int) -> optax.GradientTransformation:
  """optax from `config.optimizer`: sgd (with momentum), adam or adamw; weight decay;
  gradient clipping by global norm; a constant or cosine schedule (over `total_steps`)
  with linear warm-up."""
  warmup_steps = int(optimizer_config.warmup_epochs * steps_per_epoch)
  peak = optimizer_config.learning_rate
  if optimizer_config.schedule == "constant":
    decay = optax.constant_schedule(peak)
  elif optimizer_config.schedule == "cosine":
    decay = optax.cosine_decay_schedule(peak, max(total_steps - warmup_steps, 1))
  else:
    raise ValueError(f"Unknown config.optimizer.schedule {optimizer_config.schedule!r}; "
                     "expected 'constant' or 'cosine'.")
  learning_rate = optax.join_schedules(
      [optax.linear_schedule(0.0, peak, warmup_steps), decay], [warmup_steps])

  name, decay_rate = optimizer_config.name, optimizer_config.weight_decay
  if name == "sgd":
    update = optax.chain(optax.add_decayed_weights(decay_rate),
                         optax.sgd(learning_rate, momentum=optimizer_config.momentum or None))
  elif name == "adam":
    update = optax.chain(optax.add_decayed_weights(decay_rate), optax.adam(learning_rate))
  elif name == "adamw":
    update = optax.adamw(learning_rate, weight_decay=decay_rate)
  else:
    raise ValueError(f"Unknown config.optimizer.name {name!r}; expected sgd, adam or adamw.")
  if optimizer_config.clip_global_norm:
    update = optax.chain(optax.clip_by_global_norm(optimizer_config.clip_global_norm), update)
  return update


def create_train_state(model, optimizer: optax.GradientTransformation,
                       example: pipeline.Examples, seed: int) -> State:
  """Initial parameters (from `seed`) and optimizer state; `example` gives input shapes."""
  # An example's audio windows (config.data.train_on_windows) share one shape.
  inputs = {m: jnp.asarray(example[m][:1, 0] if m == "audio" and example[m].ndim == 4
                           else example[m][:1]) for m in model.modalities}
  params = model.init(jax.random.key(seed), **inputs)["params"]
  return {"step": jnp.zeros((), jnp.int32), "params": params, "opt_state": optimizer.init(params)}


def forward(params, teacher_params: dict, batch: pipeline.Examples, *, model,
            teacher_models: dict, dropout_key: jax.Array | None = None) -> dict:
  """The model's outputs (in training mode if given a `dropout_key`); with
  teachers, also their joint logits as outputs["teacher_logits"][modality],
  through which no gradient flows. Audio with a window axis [batch, windows, ...]
  (config.data.audio.test_windows, evaluation only) gives each example the mean
  of its windows' outputs."""
  inputs = {m: batch[m] for m in model.modalities}
  windows = inputs["audio"].shape[1] if "audio" in inputs and inputs["audio"].ndim == 4 else 0
  if windows:
    inputs = {m: (x.reshape(-1, *x.shape[2:]) if m == "audio" else jnp.repeat(x, windows, 0))
              for m, x in inputs.items()}
  if dropout_key is None:
    outputs = model.apply({"params": params}, **inputs)
  else:
    outputs = model.apply({"params": params}, **inputs, train=True,
                          rngs={"dropout": dropout_key})
  if teacher_models:
    outputs["teacher_logits"] = {
        m: lax.stop_gradient(teacher.apply({"params": teacher_params[m]}, **{m: inputs[m]})
                             ["logits"]["joint"])
        for m, teacher in teacher_models.items()}
  if windows:
    outputs = jax.tree.map(lambda x: x.reshape(-1, windows, *x.shape[1:]).mean(1), outputs)
  return outputs


def _mean_over_devices(tree):
  """pmean over 'data'; on one device nothing: XLA's CPU runs even a
  one-device all-reduce as a copy (40 ms for 27M parameters)."""
  return tree if lax.axis_size("data") == 1 else lax.pmean(tree, "data")


def _sum_over_devices(tree):
  return tree if lax.axis_size("data") == 1 else lax.psum(tree, "data")


def train_step(state: State, batch: pipeline.Examples, teacher_params: dict, *, model,
               teacher_models, optimizer, loss_fn, skip_nonfinite: bool, seed: int,
               augment_config: ml_collections.ConfigDict) -> tuple[State, dict]:
  """One optimiser step on this device's share of the batch; gradients averaged over 'data'.

  Dropout and augmentation (when configured) draw from `seed`, the step and the
  device's index, so a run repeats exactly. Metrics: the loss and its terms
  (means), "confusion" {head: [C, C]} (sums) and "nonfinite" (1 if the loss or
  gradients were not finite; with `skip_nonfinite` the step then leaves the
  state as it was).
  """
  step_key = jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), state["step"]),
                                lax.axis_index("data"))
  augment_key, dropout_key = jax.random.split(step_key)
  batch = augment.augment_batch(batch, augment_key, augment_config)
  dropout_key = dropout_key if model.dropout else None

  def loss_of(params):
    outputs = forward(params, teacher_params, batch, model=model, teacher_models=teacher_models,
                      dropout_key=dropout_key)
    total, terms = loss_fn(outputs, batch, params)
    return total, (terms, outputs)

  # Per-device gradients of the per-device loss (the steps run without JAX's
  # implicit reductions, see build_run), then their mean.
  (loss, (terms, outputs)), grads = jax.value_and_grad(loss_of, has_aux=True)(state["params"])
  grads = _mean_over_devices(grads)
  updates, opt_state = optimizer.update(grads, state["opt_state"], state["params"])
  params = optax.apply_updates(state["params"], updates)
  means = _mean_over_devices({"loss": loss, **terms})
  finite = jnp.isfinite(means["loss"]) & jnp.isfinite(optax.global_norm(grads))
  if skip_nonfinite:
    params, opt_state = jax.tree.map(lambda new, old: jnp.where(finite, new, old),
                                     (params, opt_state), (state["params"], state["opt_state"]))
  ones = jnp.ones_like(batch["label"], jnp.float32)
  confusion = {head: metrics_lib.confusion_matrix(logits, batch["label"], ones)
               for head, logits in outputs["logits"].items()}
  step_metrics = {**means, "confusion": _sum_over_devices(confusion),
                  "nonfinite": 1 - finite.astype(jnp.int32)}
  new_state = {"step": state["step"] + 1, "params": params, "opt_state": opt_state}
  return new_state, step_metrics


def eval_step(params, batch: pipeline.Examples, teacher_params: dict, *, model, teacher_models,
              loss_fn) -> dict:
  """Sums over the batch's real examples (batch["mask"] == 1), added up over 'data'.

  Returns {"count": [], "loss_sums": {term: []}, "confusion": {head: [C, C]}}.
  """
  outputs = forward(params, teacher_params, batch, model=model, teacher_models=teacher_models)
  mask = batch["mask"]
  count = mask.sum()
  total, terms = loss_fn(outputs, batch, params)
  sums = {name: value * count for name, value in {"loss": total, **terms}.items()}
  confusion = {head: metrics_lib.confusion_matrix(logits, batch["label"], mask)
               for head, logits in outputs["logits"].items()}
  return _sum_over_devices({"count": count, "loss_sums": sums, "confusion": confusion})


def predict_step(params, batch: pipeline.Examples, teacher_params: dict, *, model,
                 teacher_models) -> jax.Array:
  """The joint head's class probabilities [batch, C], per example (not summed)."""
  outputs = forward(params, teacher_params, batch, model=model, teacher_models=teacher_models)
  return jax.nn.softmax(outputs["logits"]["joint"])


def _total_steps(train_config: ml_collections.ConfigDict, steps_per_epoch: int) -> int:
  """train.num_steps if set, else num_epochs whole epochs."""
  return train_config.num_steps or steps_per_epoch * train_config.num_epochs


@dataclasses.dataclass(frozen=True)
class Run:
  """Everything a run needs, built once from the config."""
  config: ml_collections.ConfigDict
  mesh: jax.sharding.Mesh
  model: Any
  optimizer: optax.GradientTransformation
  examples: dict[str, pipeline.Examples]
  init_state: Callable[[], State]
  train_step: Callable
  eval_step: Callable
  predict_step: Callable
  # The training split's statistics of the acoustic functionals ({} without them).
  acoustic_statistics: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

  @property
  def steps_per_epoch(self) -> int:
    return pipeline.num_examples(self.examples["train"]) // self.config.train.batch_size

  @property
  def total_steps(self) -> int:
    return _total_steps(self.config.train, self.steps_per_epoch)

  @property
  def num_epochs(self) -> int:
    return -(-self.total_steps // self.steps_per_epoch)

  def steps_in_epoch(self, epoch: int) -> int:
    """Whole epochs, except a last one cut short by config.train.num_steps."""
    return min(self.steps_per_epoch, self.total_steps - (epoch - 1) * self.steps_per_epoch)

  def shard(self, local_batch: pipeline.Examples) -> pipeline.Examples:
    """This process's batch -> global arrays split over the 'data' axis.

    Provenance (`*_clip` indices) stays on the host: the steps do not read it.
    """
    sharding = NamedSharding(self.mesh, P("data"))
    return {key: jax.make_array_from_process_local_data(sharding, value)
            for key, value in local_batch.items() if not key.endswith("_clip")}

  def train_batches(self, epoch: int):
    return pipeline.train_batches(self.examples["train"], self.config.train.batch_size,
                                  self.config.seed, epoch, jax.process_index(),
                                  jax.process_count())

  def eval_batches(self, split: str):
    return pipeline.eval_batches(self.examples[split], self.config.train.eval_batch_size,
                                 jax.process_index(), jax.process_count())


def build_run(config: ml_collections.ConfigDict, devices=None) -> Run:
  """Checks the config, prepares the data and wraps the steps for `devices` (default: all)."""
  devices = jax.devices() if devices is None else devices
  num_devices = len(devices)
  for key in ("batch_size", "eval_batch_size"):
    if config.train[key] < 1 or config.train[key] % num_devices:
      raise ValueError(f"config.train.{key}={config.train[key]}: expected a positive "
                       f"multiple of the {num_devices} devices.")
  model = fusion.build_model(config.model)
  pipeline.check_pairing(config.data, model.modalities)
  teachers = teacher_lib.load_teachers(config)
  loss_fn = losses.composite_loss(config.loss, model.heads, model.modalities, tuple(teachers),
                                  config.distill.temperature if teachers else 1.0)
  builder, report = ravdess_tfds.prepare(config.data)
  logging.info("Features in %s: %d clips read, %d written, %d skipped.", builder.data_dir,
               report["clips_read"], report["clips_written"], len(report["skipped"]))
  for skipped in report["skipped"]:
    logging.warning("Skipped %s: %s", skipped["file"], skipped["reason"])
  clips = ravdess_tfds.load_clips(builder, config.data.video.num_frames // 2)
  examples = pipeline.split_examples(clips, config.data, model.modalities)
  examples, acoustic_statistics = pipeline.standardise_acoustic(examples)
  for name, split in examples.items():
    actors = {key.removesuffix("_clip"): sorted(set(clips["actor"][split[key]].tolist()))
              for key in split if key.endswith("_clip")}
    logging.info("%s split: %d examples; actors by modality: %s.", name,
                 pipeline.num_examples(split), actors)
    if pipeline.num_examples(split) == 0:
      raise ValueError(f"The {name} split has no examples; check config.data.")
  if config.train.batch_size > pipeline.num_examples(examples["train"]):
    raise ValueError(f"config.train.batch_size={config.train.batch_size} is larger than the "
                     f"training split ({pipeline.num_examples(examples['train'])} examples).")

  steps_per_epoch = pipeline.num_examples(examples["train"]) // config.train.batch_size
  optimizer = create_optimizer(config.optimizer, steps_per_epoch,
                               _total_steps(config.train, steps_per_epoch))
  mesh = jax.sharding.Mesh(np.array(devices), ("data",))
  replicated, data = P(), P("data")
  init = jax.jit(functools.partial(create_train_state, model, optimizer, examples["train"],
                                   config.seed), out_shardings=NamedSharding(mesh, replicated))
  teacher_models = {m: teacher for m, (teacher, _) in teachers.items()}
  teacher_params = jax.device_put({m: params for m, (_, params) in teachers.items()},
                                  NamedSharding(mesh, replicated))
  if config.train.on_nonfinite not in ("stop", "skip"):
    raise ValueError(f"Unknown config.train.on_nonfinite {config.train.on_nonfinite!r}; "
                     "expected 'stop' or 'skip'.")
  step = functools.partial(train_step, model=model, teacher_models=teacher_models,
                           optimizer=optimizer, loss_fn=loss_fn,
                           skip_nonfinite=config.train.on_nonfinite == "skip",
                           seed=config.seed, augment_config=config.augment)
  # check_vma=False: gradients of the replicated parameters stay per device
  # until the steps' own pmean, which one device skips; JAX's implicit
  # reduction would add an all-reduce even there.
  train = jax.jit(jax.shard_map(step, mesh=mesh, in_specs=(replicated, data, replicated),
                                out_specs=(replicated, replicated), check_vma=False),
                  donate_argnums=0)
  step = functools.partial(eval_step, model=model, teacher_models=teacher_models, loss_fn=loss_fn)
  evaluate_fn = jax.jit(jax.shard_map(step, mesh=mesh, in_specs=(replicated, data, replicated),
                                      out_specs=replicated, check_vma=False))
  step = functools.partial(predict_step, model=model, teacher_models=teacher_models)
  predict_fn = jax.jit(jax.shard_map(step, mesh=mesh, in_specs=(replicated, data, replicated),
                                     out_specs=data, check_vma=False))
  return Run(config, mesh, model, optimizer, examples, init,
             lambda state, batch: train(state, batch, teacher_params),
             lambda params, batch: evaluate_fn(params, batch, teacher_params),
             lambda params, batch: predict_fn(params, batch, teacher_params),
             acoustic_statistics)


def evaluate_split(run: Run, params, split: str) -> tuple[dict[str, float], dict[str, np.ndarray]]:
  """Metrics of `split` ({f"{split}/loss", ..._accuracy, ..._uar}) and confusion matrices."""
  totals = None
  for batch in run.eval_batches(split):
    sums = run.eval_step(params, run.shard(batch))
    totals = sums if totals is None else jax.tree.map(jnp.add, totals, sums)
  totals = jax.device_get(totals)
  results = {f"{split}/{name}": float(value / totals["count"])
             for name, value in totals["loss_sums"].items()}
  results.update(metrics_lib.summarise(split, totals["confusion"]))
  return results, totals["confusion"]


def predict_split(run: Run, params, split: str) -> dict[str, list]:
  """The joint head's probabilities of every example of `split`, ordered by clip:
  {"clip": [N] (pipeline.example_clips), "label": [N],
  "probabilities": [N][C]}; what ensembles of runs average."""
  gathered = {"clip": [], "label": [], "probabilities": [], "mask": []}
  for batch in run.eval_batches(split):
    probabilities = run.predict_step(params, run.shard(batch))
    # This process's rows, in its batch's order, then every process's.
    local = np.concatenate([np.asarray(shard.data) for shard in sorted(
        probabilities.addressable_shards, key=lambda shard: shard.index[0].start or 0)])
    for key, value in (("clip", pipeline.example_clips(batch)), ("label", batch["label"]),
                       ("probabilities", local), ("mask", batch["mask"])):
      gathered[key].append(multihost_utils.process_allgather(value, tiled=True)
                           if jax.process_count() > 1 else value)
  arrays = {key: np.concatenate(values) for key, values in gathered.items()}
  real = arrays.pop("mask") > 0
  order = np.argsort(arrays["clip"][real], kind="stable")
  return {key: value[real][order].tolist() for key, value in arrays.items()}


def _epoch_metrics(step_metrics: Iterable[dict]) -> tuple[dict[str, float], np.ndarray]:
  """train/ means of the losses, accuracy and UAR per head; and each step's nonfinite flag."""
  stacked = jax.device_get(jax.tree.map(lambda *xs: jnp.stack(xs), *step_metrics))
  confusion = {head: values.sum(0) for head, values in stacked.pop("confusion").items()}
  nonfinite = stacked.pop("nonfinite")
  results = {f"train/{name}": float(np.mean(values)) for name, values in stacked.items()}
  results.update(metrics_lib.summarise("train", confusion))
  return results, nonfinite


def _wait(checkpoint_manager):
  """The manager, once its asynchronous saves are done (its best step needs them)."""
  checkpoint_manager.wait_until_finished()
  return checkpoint_manager


def report_selected(run: Run, checkpoint_manager, workdir: str, filename: str,
                    step: int | None = None,
                    splits: tuple[str, ...] = ("val", "test")) -> dict[str, float]:
  """Restores the checkpoint selected on validation (or `step`), evaluates `splits`,
  writes the metrics to `<workdir>/<filename>`, the confusion matrices and the joint
  head's per-example probabilities (`predictions` for `metrics`) beside."""
  checkpoint_manager.wait_until_finished()
  best = checkpoint_manager.best_step() if step is None else step
  if best is None:
    raise run_dir.RunDirError(f"No checkpoint in {checkpoint_manager.directory}; train first.")
  if best not in checkpoint_manager.all_steps():
    raise run_dir.RunDirError(f"No checkpoint of epoch {best} in "
                              f"{checkpoint_manager.directory}; there are "
                              f"{checkpoint_manager.all_steps()}.")
  state = checkpoints.restore(checkpoint_manager, best, run.init_state())
  results = {"selected_epoch": best}
  confusions, predictions = {}, {}
  for split in splits:
    split_metrics, confusions[split] = evaluate_split(run, state["params"], split)
    results.update(split_metrics)
    predictions[split] = predict_split(run, state["params"], split)
  last = splits[-1]
  logging.info("%s confusion matrix of the joint head (rows: true class):\n%s", last,
               confusions[last]["joint"].astype(int))
  if jax.process_index() == 0:
    metrics_lib.write_json(os.path.join(workdir, filename), results)
    metrics_lib.write_json(
        os.path.join(workdir, filename.replace("metrics", "confusion")),
        {split: {head: matrix.astype(int).tolist() for head, matrix in heads.items()}
         for split, heads in confusions.items()})
    metrics_lib.write_json(
        os.path.join(workdir, filename.replace("metrics", "predictions")),
        {split: {**values, "probabilities": np.round(values["probabilities"], 4).tolist()}
         for split, values in predictions.items()}, compact_numbers=True)
  chosen = f"best {run.config.train.select_metric}" if step is None else "as asked"
  print(f"Epoch {best} ({chosen}).")
  for head in run.model.heads:
    print(f"{last}/{head}_accuracy = {results[f'{last}/{head}_accuracy']:.4f}")
  return results


def _finite(tree) -> bool:
  return bool(jnp.isfinite(optax.global_norm(tree)))


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
  """Trains (resuming from the newest intact checkpoint in `workdir`), then reports
  the validation-selected checkpoint's metrics in `<workdir>/final_metrics.json`.

  One training at a time holds `workdir` (emojax.run_dir.lock); a workdir that
  holds another config's run is refused, naming the keys.
  """
  os.makedirs(workdir, exist_ok=True)
  # Orbax coordinates checkpoints across processes itself; process 0 writes the rest.
  writes = jax.process_index() == 0
  with run_dir.lock(workdir) if writes else contextlib.nullcontext():
    run_dir.check_same_run(workdir, config)
    return _train_locked(config, workdir, writes)


def _train_locked(config: ml_collections.ConfigDict, workdir: str,
                  writes: bool) -> dict[str, float]:
  run = build_run(config)
  if writes:
    run_dir.write_config(workdir, config)
    if run.acoustic_statistics:  # Predictor standardises a new clip's functionals by them.
      acoustic.save_statistics(workdir, run.acoustic_statistics)
  state = run.init_state()
  logging.info("Parameters:\n%s", fusion.summary(state["params"]))
  start_epoch, state, checkpoint_manager = checkpoints.restore_latest_intact(
      functools.partial(run_dir.checkpoint_manager, workdir, config), state)
  if start_epoch:
    logging.info("Resuming after epoch %d.", start_epoch)
  metric_log = metrics_lib.MetricLog(workdir, start_epoch) if writes else None
  steps_per_epoch = run.steps_per_epoch

  for epoch in range(start_epoch + 1, run.num_epochs + 1):
    step_metrics = []
    batches = itertools.islice(run.train_batches(epoch), run.steps_in_epoch(epoch))
    for batch in tqdm.tqdm(batches, total=run.steps_in_epoch(epoch), leave=False,
                           desc=f"epoch {epoch}/{run.num_epochs}", disable=not writes):
      state, batch_metrics = run.train_step(state, run.shard(batch))
      step_metrics.append(batch_metrics)
    epoch_metrics, nonfinite = _epoch_metrics(step_metrics)
    last_good = checkpoint_manager.latest_step()
    last_good = (f"the last good checkpoint is epoch {last_good} in "
                 f"{checkpoint_manager.directory}" if last_good else "no checkpoint was saved")
    if nonfinite.any() and config.train.on_nonfinite == "stop":
      step = (epoch - 1) * steps_per_epoch + int(np.argmax(nonfinite)) + 1
      raise FloatingPointError(
          f"The training loss or gradients became non-finite at step {step} (epoch {epoch}); "
          f"{last_good}. Lower config.optimizer.learning_rate, or set "
          "config.train.on_nonfinite='skip'.")
    if nonfinite.any():
      logging.warning("Epoch %d: skipped %d steps with a non-finite loss.", epoch, nonfinite.sum())
    val_metrics, _ = evaluate_split(run, state["params"], "val")
    # Skipped steps keep the parameters finite, but not always their outputs.
    if not (_finite(state["params"]) and np.all(np.isfinite(list(val_metrics.values())))):
      raise FloatingPointError(
          f"After epoch {epoch} the parameters or their validation loss are not finite, so "
          f"they are not saved; {last_good}. Lower config.optimizer.learning_rate.")
    epoch_metrics.update(val_metrics)
    if config.train.log_test_metrics:
      # Test is logged to draw curves, never read to choose a checkpoint.
      epoch_metrics.update(evaluate_split(run, state["params"], "test")[0])
    checkpoints.save(checkpoint_manager, epoch, state, val_metrics)
    if writes:
      metric_log.write(epoch, epoch_metrics)
    patience = config.train.early_stopping_patience
    if patience and epoch - _wait(checkpoint_manager).best_step() >= patience:
      logging.info("Early stop after epoch %d: %s last improved in epoch %d.", epoch,
                   config.train.select_metric, checkpoint_manager.best_step())
      break
  return report_selected(run, checkpoint_manager, workdir, "final_metrics.json")


def evaluate(config: ml_collections.ConfigDict, workdir: str, step: int | None = None,
             splits: tuple[str, ...] = ("val", "test")) -> dict[str, float]:
  """Restores the validation-selected checkpoint (or that of epoch `step`), evaluates
  `splits` and writes `<workdir>/eval_metrics.json`. `config` must be the run's own
  (emojax.run_dir.resolve_config gives it), run-time keys aside."""
  run_dir.check_same_run(workdir, config)
  if not os.path.isdir(os.path.join(workdir, "checkpoints")):
    raise run_dir.RunDirError(f"No checkpoints in {workdir}; train first.")
  unknown = set(splits) - {"train", "val", "test"}
  if unknown:
    raise ValueError(f"Unknown splits {sorted(unknown)}; expected train, val or test.")
  run = build_run(config)
  checkpoint_manager = run_dir.checkpoint_manager(workdir, config)
  return report_selected(run, checkpoint_manager, workdir, "eval_metrics.json", step, splits)
