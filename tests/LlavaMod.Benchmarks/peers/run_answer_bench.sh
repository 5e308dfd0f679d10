#!/usr/bin/env bash
# Runs the `eval answer` generation benchmark: for each round and precision (fp32, bf16), ours (TorchSharp,
# `LlavaMod.Benchmarks answer`, Release) and the PyTorch 1.13 peer (llava_answer_bench.py) in their own processes,
# interleaved, the order swapped every other round, one thread each (the peer with OPENBLAS_NUM_THREADS=1, see
# run_stage_bench.sh). Ours exports the weights, prompts and its generated ids; the peer checks its ids against them.
# One JSON line per run in OUT (default answer-bench.jsonl), each with the 1-, 5- and 15-minute load averages before
# the run; then a table of the medians over rounds.
# usage: tests/LlavaMod.Benchmarks/peers/run_answer_bench.sh [OUT] [ROUNDS] [extra options for both, e.g. --batch 64]
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
out="${1:-answer-bench.jsonl}"; shift || true
rounds="${1:-3}"; shift || true
dotnet build "$root/tests/LlavaMod.Benchmarks" -c Release -v q -nologo >/dev/null
ours="$root/tests/LlavaMod.Benchmarks/bin/Release/net10.0/LlavaMod.Benchmarks"
peer="$root/tests/LlavaMod.Benchmarks/peers/llava_answer_bench.py"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
: > "$out"
run() { # impl precision round [options]
  local load line
  load="$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ',')"
  if [ "$1" = ours ]; then line="$("$ours" answer --precision "$2" --threads 1 --export "$work" "${@:4}")"
  else line="$(OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$peer" --precision "$2" --threads 1 --weights "$work" "${@:4}")"; fi
  echo "{\"load_before\": [$load], \"round\": $3, \"run\": $line}" | tee -a "$out"
}
for ((round = 0; round < rounds; round++)); do
  for precision in fp32 bf16; do
    # the peer needs ours' export of this precision's ids: the first round is always ours first
    if (( round % 2 == 0 )); then run ours "$precision" "$round" "$@"; run peer "$precision" "$round" "$@"
    else run peer "$precision" "$round" "$@"; run ours "$precision" "$round" "$@"; fi
  done
done
/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
print("| precision | impl | answers/s (median) | CPU s/answer (median) | per round: answers/s (1-min load before) | token check |")
print("| --- | --- | --- | --- | --- | --- |")
for precision in ("fp32", "bf16"):
    for impl in ("llavamod", "pytorch"):
        rs = [r for r in runs if r["run"]["precision"] == precision and r["run"]["impl"].startswith(impl)]
        check = rs[-1]["run"].get("token_check")
        checked = f'{check["rows_equal"]}/{check["rows"]} rows equal' if check else ""
        print(f'| {precision} | {rs[0]["run"]["impl"]} | {statistics.median(r["run"]["answers_per_s"] for r in rs):.1f} | '
              f'{statistics.median(r["run"]["cpu_s_per_answer"] for r in rs):.4f} | '
              + ", ".join(f'{r["run"]["answers_per_s"]:.1f} ({r["load_before"][0]:.1f})' for r in rs) + f' | {checked} |')
PY
