#!/usr/bin/env bash
# One prepared check of emojax on a GPU machine that has only a copy of the
# repository. From the repository root:
#
#   tools/device_check.sh
#
# 1. install: a venv with JAX's CUDA 12 wheels (pip install -e ".[cuda12,dev]"),
#    and torch for the PyTorch peer if ../shared/bench/torch_probe.py is there;
# 2. main: the README's main command (probe network, bundled sample);
# 3. bench: tools.benchmark at the peer's shapes, the peer on CUDA;
# 4. fold: one fold of the honest protocol (actor folds, clip pairing, action
#    units) on the bundled sample;
# 5. tests: the fast tests (python -m pytest -x -q), last, with what is left of
#    the budget, so that a slow suite cannot starve the numbers above.
# Each part runs under its own timeout (install 200 s, main 100, bench 120,
# fold 70, tests what is left) inside one budget (EMOJAX_CHECK_BUDGET_S,
# default 570 s: the whole within 10 minutes), and its log goes to
# $EMOJAX_CHECK_OUT (default $OUT if set, else /tmp/emojax_device_check). The
# last line is one summary: each part's pass/fail/skip, then emojax's and the
# peer's ms per train step.
#
# EMOJAX_CHECK_PYTHON=PATH skips the install and uses that Python (e.g. an
# existing venv, to try the script on a CPU machine); EMOJAX_CHECK_PARTS
# (default "main bench fold tests") chooses the parts. Offline, pip reads
# PIP_NO_INDEX=1 PIP_FIND_LINKS=DIR of wheels as usual.
set -u
cd "$(dirname "$0")/.."

budget_s=${EMOJAX_CHECK_BUDGET_S:-570}
out=${EMOJAX_CHECK_OUT:-${OUT:-/tmp/emojax_device_check}}
parts=${EMOJAX_CHECK_PARTS:-main bench fold tests}
peer=../shared/bench/torch_probe.py
mkdir -p "$out"
summary="device_check:"

# Runs "$@" as part $1 with at most $2 seconds (less if the budget is nearly
# spent), its output in $out/$1.log; adds "$1=pass|fail|timeout" to the summary.
run_part() {
  local name=$1 limit=$2
  shift 2
  local left=$((budget_s - SECONDS))
  if ((left < 10)); then
    summary+=" $name=no-time"
    return 1
  fi
  ((limit > left)) && limit=$left
  echo "== $name (at most ${limit} s): $*" >&2
  timeout "$limit" "$@" >"$out/$name.log" 2>&1
  local status=$?
  tail -n 5 "$out/$name.log" >&2
  case $status in
    0) summary+=" $name=pass" ;;
    124) summary+=" $name=timeout" ;;
    *) summary+=" $name=fail" ;;
  esac
  return $status
}

wants() { [[ " $parts " == *" $1 "* ]]; }

if [[ -n ${EMOJAX_CHECK_PYTHON:-} ]]; then
  python=$EMOJAX_CHECK_PYTHON
  summary+=" install=skipped"
else
  install() {
    python3 -m venv .venv_cuda && .venv_cuda/bin/pip install -q -e ".[cuda12,dev]" || return 1
    if [[ -f $peer ]]; then .venv_cuda/bin/pip install -q torch; fi
  }
  python=.venv_cuda/bin/python
  run_part install 200 install || { echo "$summary" && exit 1; }
fi
"$python" -c 'import jax; print("JAX devices:", jax.devices())' >&2

if wants main; then
  run_part main 100 "$python" -m emojax.main --config=configs/probe.py \
    --workdir="$out/probe_run"
fi

ms_emojax=- ms_peer=-
if wants bench; then
  peer_flags=(--notorch)
  if [[ -f $peer ]] && "$python" -c 'import torch' 2>/dev/null; then
    peer_flags=(--torch_probe="$peer" --torch_device="$("$python" -c \
      'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')")
  fi
  if run_part bench 120 "$python" -m tools.benchmark --config=configs/probe_reference.py \
      --skip_data --repeats=2 "${peer_flags[@]}"; then
    read -r ms_emojax ms_peer < <("$python" -c 'import json, sys
r = json.loads([l for l in sys.stdin if l.startswith("{")][-1])
print(r["ms_per_step"], r.get("torch_ms_per_step", "-"))' <"$out/bench.log")
  fi
fi

if wants fold; then
  run_part fold 70 "$python" -m emojax.main --config=configs/probe.py:au \
    --workdir="$out/fold_run" --config.data.split.protocol=actor_folds \
    --config.data.pairing=clip --config.data.split.folds_file=configs/sample_actor_folds.json
fi

if wants tests; then
  run_part tests 600 "$python" -m pytest -x -q
fi

echo "$summary emojax_ms_per_step=$ms_emojax peer_ms_per_step=$ms_peer"
[[ $summary != *=fail* && $summary != *=timeout* && $summary != *=no-time* ]]
