#!/usr/bin/env bash
# Regenerates results/ (the README's tables and figures): every experiment in
# turn, each skipping the runs it finished before. Pass --data_dir=... for
# another copy of the data (default ../shared/data), or --quick for the sample.
set -euo pipefail
for visual in image au; do
  python -m experiments.exp1_architectures --visual="$visual" "$@"
done
python -m experiments.exp2_low_data --visual=image --seeds=0,1,2 "$@"  # The README's table: three seeds.
python -m experiments.exp3_probe_curves --visual=image "$@"
python -m experiments.exp4_actor_folds "$@"
python -m experiments.exp5_actor_folds_low_data "$@"
python -m experiments.exp6_tuning "$@"
python -m experiments.exp7_seed_ensembles "$@"
python -m experiments.exp8_targets "$@"  # The targets, chosen per fold on validation.
python -m experiments.exp4_actor_folds --folds_file=emobox "$@"
python -m experiments.budget  # Each script's runs and training time.
python -m experiments.report  # RESULTS.md's tables from results/*.md.
