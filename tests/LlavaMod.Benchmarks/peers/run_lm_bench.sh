#!/usr/bin/env bash
# Runs the LM training/generation benchmark matrix: ours (TorchSharp) and the PyTorch 1.13 peer,
# dense and MoE, fp32 and bf16, each configuration in its own process (for its peak RSS).
# One JSON line per run in OUT (default lm-bench.jsonl), each with the 1-minute load average before the run.
# usage: tests/LlavaMod.Benchmarks/peers/run_lm_bench.sh [OUT] [extra options for both, e.g. --steps 20]
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
out="${1:-lm-bench.jsonl}"; shift || true
dotnet build "$root/tests/LlavaMod.Benchmarks" -v q -nologo >/dev/null
ours="$root/tests/LlavaMod.Benchmarks/bin/Debug/net10.0/LlavaMod.Benchmarks"
peer="$root/tests/LlavaMod.Benchmarks/peers/qwen2_lm_bench.py"
: > "$out"
for moe in "" "--moe"; do
  for precision in fp32 bf16; do
    for impl in ours peer; do
      load="$(cut -d' ' -f1 /proc/loadavg)"
      if [ "$impl" = ours ]; then line="$("$ours" lm --precision "$precision" $moe "$@")"
      else line="$(/usr/bin/python3 "$peer" --precision "$precision" $moe "$@")"; fi
      echo "{\"load_before\": $load, \"run\": $line}" | tee -a "$out"
    done
  done
done
