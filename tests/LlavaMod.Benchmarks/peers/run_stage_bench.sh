#!/usr/bin/env bash
# Runs the demo-stage training benchmark matrix: for each stage (sft, mimic, d2s, pd) and each round, ours
# (TorchSharp, `LlavaMod.Benchmarks stage`) and the PyTorch 1.13 peer (llava_stage_bench.py), each in its own
# process (for its peak RSS), the order swapped every other round. Ours exports its initial weights and losses;
# the peer starts from those weights and reports loss_check (its per-step losses against ours).
# The peer runs with OPENBLAS_NUM_THREADS=1: Debian's torch calls OpenBLAS (pthread build), whose own second
# thread torch.set_num_threads(1) does not stop; its spinning added up to 2x CPU time to some steps.
# One JSON line per run in OUT (default stage-bench.jsonl), each with the 1-minute load average before the run.
# usage: tests/LlavaMod.Benchmarks/peers/run_stage_bench.sh [OUT] [ROUNDS] [extra options for both, e.g. --steps 60 --warmup 40, the defaults]
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
out="${1:-stage-bench.jsonl}"; shift || true
rounds="${1:-2}"; shift || true
dotnet build "$root/tests/LlavaMod.Benchmarks" -v q -nologo >/dev/null
ours="$root/tests/LlavaMod.Benchmarks/bin/Debug/net10.0/LlavaMod.Benchmarks"
peer="$root/tests/LlavaMod.Benchmarks/peers/llava_stage_bench.py"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
: > "$out"
run() { # impl stage round
  local load line
  load="$(cut -d' ' -f1 /proc/loadavg)"
  if [ "$1" = ours ]; then line="$("$ours" stage --stage "$2" --threads 1 --export "$work/$2" "${@:4}")"
  else line="$(OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$peer" --stage "$2" --threads 1 --weights "$work/$2" "${@:4}")"; fi
  echo "{\"load_before\": $load, \"round\": $3, \"run\": $line}" | tee -a "$out"
}
for stage in sft mimic d2s pd; do
  for ((round = 0; round < rounds; round++)); do
    # the peer needs ours' export of this stage: the first run of a stage is always ours
    if (( round % 2 == 0 )); then run ours "$stage" "$round" "$@"; run peer "$stage" "$round" "$@"
    else run peer "$stage" "$round" "$@"; run ours "$stage" "$round" "$@"; fi
  done
done
