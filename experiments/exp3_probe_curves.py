r"""Experiment 3 of the study (its Figure 7): validation accuracy per epoch of the
probe network's (architecture 4) joint head and both probe heads, on the study's
protocol. Reuses experiment 1's run when it has finished.

  python -m experiments.exp3_probe_curves --visual=image
  python -m experiments.exp3_probe_curves --quick

Writes results/exp3_<visual>.{md,json} and figures/exp3_<visual>_probe_curves.png.
"""
from absl import app
from absl import flags

from experiments import common

_VISUAL = flags.DEFINE_enum("visual", "image", ["image", "au"], "The visual modality.")


def main(argv):
  del argv
  visual = _VISUAL.value
  name = f"exp3_{visual}"
  probe = [n for n in common.NETWORKS if n.config == "probe"]
  results = common.network_runs(probe, visual, {}, f"seed_{visual}")
  result = results["probe"]
  if result is None:
    return common.exit_code(results)
  heads = ("joint", "audio_probe", f"{visual}_probe")
  curves = {head: [epoch[f"val/{head}_accuracy"] for epoch in result.epochs] for head in heads}
  rows = [[epoch + 1, *(common.percent(curves[head][epoch]) for head in heads)]
          for epoch in range(len(result.epochs))]
  markdown = (f"Experiment 3, the probe network on the study's protocol (`seed`), visual = "
              f"{visual}: validation accuracy (%) per epoch of each head.\n\n"
              + common.markdown_table(["epoch", *heads], rows))
  common.write_report(name, markdown, {"visual": visual, "val_accuracy": curves,
                                       "selected_epoch": result.final["selected_epoch"]},
                      results)
  common.plot_curves(common.results_path("figures", f"{name}_probe_curves.png"), curves,
                     f"Probe network ({visual}): validation accuracy per head")
  return common.exit_code(results)


if __name__ == "__main__":
  app.run(main)
