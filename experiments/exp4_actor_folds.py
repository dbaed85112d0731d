r"""The honest protocol: logistic regression on standard features (the field's
floor), networks on openSMILE's ComParE functionals, and experiment 1's networks
on every fold by actor (each fold's validation actors choose the epoch, its test
actors are never seen in training), audio and action units from the same
recording; audio alone on speech + song; and,
apart, four networks with each actor's MFCCs and action units standardised by that
actor's own clips (speaker normalisation, transductive: it reads the test actors'
unlabelled clips), and action units, the ComParE networks and the equalised concat
with each clip standardised by K in {4, 8, 16, all} other clips of its actor
(enrolment, as deployment can have it). Each row is a config of configs/actor_folds/.

  python -m experiments.exp4_actor_folds                      # six folds, ours
  python -m experiments.exp4_actor_folds --folds_file=emobox  # EmoBox's: speech, inductive
  python -m experiments.exp4_actor_folds --quick              # configs/sample_actor_folds.json

Writes results/actor_folds.{md,json} (actor_folds_emobox with EmoBox's folds): per
row and head, test accuracy and unweighted average recall (UAR), mean +- std over
folds, with each fold's record; the same rows as network x features x normalisation,
with the targets reached, in results/baselines.{md,json} (experiments/baselines.py);
and figures/actor_folds_confusion.png.
"""
from absl import app

from configs.actor_folds import common as honest_configs
from experiments import baselines
from experiments import common
from experiments import folds as folds_lib
from experiments.folds import Row

# The field's floor: logistic regression on one standard vector per clip.
LINEAR_ROWS = (
    Row("linear: eGeMAPS", "linear_egemaps"),
    Row("linear: ComParE 2016", "linear_compare"),
    Row("linear: MFCC mean + std", "linear_mfcc"),
    Row("linear: action units", "linear_au"),
)
# The MFCC CNN's place taken by an MLP on ComParE 2016 functionals.
FUNCTIONALS_ROWS = (
    Row("MLP on ComParE", "mlp_compare"),
    Row("MLP on ComParE, trained on speech + song", "mlp_compare_song_trained"),
    Row("3: concat, equalised, ComParE MLP", "compare_au"),
    Row("4: probe, ComParE MLP", "probe_compare_au"),
)
INDUCTIVE_ROWS = LINEAR_ROWS + FUNCTIONALS_ROWS + (
    Row("audio CNN", "audio"),
    Row("audio CNN, log-mel", "audio_log_mel"),
    Row("audio CNN, 3 test windows averaged", "audio_test_windows"),
    Row("audio CNN, trained on random windows, 3 averaged", "audio_train_windows"),
    Row("action units alone", "au"),
    Row("1: concat", "concat_au"),
    Row("2: concat, LSTM audio", "concat_lstm_au"),
    Row("3: concat, equalised", "concat_equalized_au"),
    Row("4: probe", "probe_au"),
    Row("0: joint loss", "joint_loss_au"),
    Row("audio CNN, speech + song", "audio_speech_song"),
    Row("audio CNN, trained on speech + song, tested on speech", "audio_song_trained"),
)
TRANSDUCTIVE_ROWS = tuple(
    row.with_setting("standardised") for row in INDUCTIVE_ROWS
    if row.config in ("audio", "au", "concat_equalized_au", "probe_au"))
# Speaker normalisation as deployment can have it: statistics of K other clips.
# Cheapest first: each row waits for the one before it. Of the MFCC networks, the
# equalised concat only (Predictor's --enrol standardises MFCCs): 72 MFCC runs
# more would add ~5 h on 2 cores for a question the other rows answer.
ENROLMENT_ROWS = tuple(
    row.with_setting(setting)
    for config in ("au", "mlp_compare", "compare_au", "probe_compare_au", "concat_equalized_au")
    for row in INDUCTIVE_ROWS if row.config == config
    for setting in honest_configs.ENROLMENT)
ROWS = INDUCTIVE_ROWS + TRANSDUCTIVE_ROWS + ENROLMENT_ROWS
# EmoBox's folds, its protocol: speech only, inductive; the variants of audio input
# and of song as training data are measured on our folds only.
EMOBOX_ROWS = tuple(row for row in INDUCTIVE_ROWS if row.config not in (
    "audio_speech_song", "audio_song_trained", "audio_log_mel", "audio_test_windows",
    "audio_train_windows", "mlp_compare_song_trained"))
PROBE_ROW = next(row for row in ROWS if row.config == "probe_au")


def row_summaries(rows, folds):
  """{row name: summary} and {row/fold: RunResult or None} of `rows` on `folds`."""
  summaries, runs = {}, {}
  for row in rows:
    results = folds_lib.row_runs(row, folds)
    runs.update({f"{row.name}/fold{fold}": result for fold, result in zip(folds, results)})
    summaries[row.name] = {"label": row.label, "config": row.config_arg,
                           "normalisation": folds_lib.normalisation(row),
                           **folds_lib.summarise(folds_lib.epoch_records(row, folds, results),
                                                 folds)}
  return summaries, runs


def table(rows, summaries) -> str:
  header = ["network", "config", "test accuracy", "test UAR", "audio probe UAR",
            "AU probe UAR", "folds"]
  return common.markdown_table(header, [
      [row.label, f"`{row.config_arg}`", *(folds_lib.mean_std(summaries[row.name], key) for key in (
          "test_accuracy", "test_uar", "audio_probe_test_uar", "au_probe_test_uar")),
       summaries[row.name]["num_folds"]] for row in rows])


def main(argv):
  del argv
  folds = folds_lib.selected_folds()
  # On EmoBox's folds the main table; song and normalisation are studied on ours.
  ours = folds_lib.FOLDS_FILE.value == "ours"
  inductive, rows = (INDUCTIVE_ROWS, ROWS) if ours else (EMOBOX_ROWS, EMOBOX_ROWS)
  summaries, runs = row_summaries(rows, folds)
  normalisations = (
      "\nTransductive (each actor's features standardised by that actor's own clips, "
      "test actors' included, unlabelled):\n\n" + table(TRANSDUCTIVE_ROWS, summaries)
      + "\nEnrolment (each clip's features standardised by K other clips of its actor, "
      "unlabelled, drawn at random; never the clip scored, as a deployed speaker's few "
      "enrolment clips):\n\n" + table(ENROLMENT_ROWS, summaries)) if ours else ""
  markdown = (
      f"The honest protocol: {folds_lib.describe_folds(folds)}, 4 test, 4 validation and "
      "16 training actors each; audio and action units of the same clip; the epoch "
      "chosen on each fold's validation actors. Test accuracy and UAR (%), mean +- std "
      "over folds, joint head unless named.\n\n"
      "Inductive (nothing of a test actor but the clip at hand):\n\n"
      + table(inductive, summaries) + normalisations
      + f"\nOne row on one fold: `{folds_lib.command(PROBE_ROW)}`\n")
  common.write_report(folds_lib.report_name("actor_folds"), markdown,
                      {"rows": summaries, "folds": folds, "folds_file": folds_lib.folds_path()},
                      runs)
  entries = baselines.rows(rows, summaries)
  common.write_report(folds_lib.report_name("baselines"), baselines.markdown(entries, folds),
                      {"rows": entries, "folds": folds, "folds_file": folds_lib.folds_path()},
                      runs)
  # Fold 0's validation actors choose the network whose fold-0 test confusion is shown.
  common.plot_best_confusion(
      common.results_path("figures", f"{folds_lib.report_name('actor_folds')}_confusion.png"),
      {row.name: runs[f"{row.name}/fold{folds[0]}"] for row in inductive})
  return common.exit_code(runs)


if __name__ == "__main__":
  app.run(main)
