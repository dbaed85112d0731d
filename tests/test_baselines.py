"""The baselines table: rows named by network, features and normalisation, and
targets judged on inductive rows over every fold only."""
from experiments import baselines
from experiments import exp4_actor_folds
from experiments.folds import Row


def test_each_setting_names_its_normalisation():
  assert baselines.normalisation(Row("", "au")) == "inductive"
  assert baselines.normalisation(Row("", "au", "standardised")) == "per_actor"
  assert baselines.normalisation(Row("", "au", "enrol8")) == "enrol-8"
  assert baselines.normalisation(Row("", "au", "enrol_all")) == "enrol-all"


def _entry(name, normalisation, uar, num_folds=6):
  network, features = baselines.NETWORKS[name.partition("@")[0]]
  return {"name": name, "network": network, "features": features,
          "normalisation": normalisation, "num_folds": num_folds, "test_uar_mean": uar}


def test_targets_count_only_inductive_rows_finished_on_every_fold():
  entries = [_entry("audio", "inductive", 0.40),
             _entry("audio@enrol8", "enrol-8", 0.90),  # Not inductive.
             _entry("mlp_compare", "inductive", 0.99, num_folds=2),  # Not every fold.
             _entry("compare_au", "inductive", 0.80),
             _entry("probe_au", "inductive", 0.60)]
  audio, fused, probe = baselines.reached(entries, num_folds=6)
  assert audio == "- audio alone >= 65: not reached (highest: 40.0)."
  assert fused == ("- audio + action units >= 75: reached by 3: concat, equalised on "
                   "ComParE 2016 (6,373) + action units (35) (80.0).")
  assert probe == "- the probe network with action units >= 70: not reached (highest: 60.0)."


def test_every_row_of_the_honest_table_has_a_network_and_features():
  assert {row.config for row in exp4_actor_folds.ROWS} <= set(baselines.NETWORKS)
