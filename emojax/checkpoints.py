"""Orbax checkpoints in `<workdir>/checkpoints`: the last few epochs and the best one."""
import os

import jax
import orbax.checkpoint as ocp
from orbax.checkpoint import checkpoint_managers


def manager(workdir: str, select_metric: str, keep: int) -> ocp.CheckpointManager:
  """A manager keeping the latest `keep` checkpoints and the best on `select_metric`.

  Steps are epochs; each save carries the epoch's validation metrics.
  Ties go to the earliest epoch.
  """
  # Of epochs with equal validation scores the earliest is best: a later one
  # did not improve on it.
  def score(metrics):
    return (metrics[select_metric], -metrics["epoch"])

  policy = checkpoint_managers.AnyPreservationPolicy([
      checkpoint_managers.LatestN(keep),
      checkpoint_managers.BestN(get_metric_fn=score, n=1),
  ])
  options = ocp.CheckpointManagerOptions(
      preservation_policy=policy, best_fn=score, best_mode="max")
  return ocp.CheckpointManager(
      os.path.join(os.path.abspath(workdir), "checkpoints"), options=options)


def save(checkpoint_manager: ocp.CheckpointManager, epoch: int, state,
         metrics: dict[str, float]) -> None:
  checkpoint_manager.save(epoch, args=ocp.args.StandardSave(state),
                          metrics={**metrics, "epoch": epoch})


def restore(checkpoint_manager: ocp.CheckpointManager, step: int, like):
  """Restores the state saved at `step` into the structure, shapes and shardings of `like`."""
  abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like)
  return checkpoint_manager.restore(step, args=ocp.args.StandardRestore(abstract))
