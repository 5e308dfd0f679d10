#!/usr/bin/python3
"""PyTorch peer of `LlavaMod.Benchmarks answer`: `eval answer`'s generation on the demo student, the same weights,
prompts, pixels, batches and greedy loop with a KV cache (llava_demo_model.py's LlavaModel.generate).

Plain PyTorch (Debian python3-torch 1.13, CPU); bf16 = torch.autocast("cpu", torch.bfloat16) over the whole pass
with fp32 weights, as ours keeps one autocast scope. Reads DIR/weights.safetensors and DIR/prompts.json written by
`answer --export DIR`; pixels are SyntheticDemoRows' formula (llava_stage_bench.pixels). The first --warmup batches
are not timed. When DIR/ours-PRECISION.json exists, token_check compares each question's generated ids with ours:
rows equal, and the tokens generated before the first difference. Prints one JSON line.

usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 llava_answer_bench.py --weights DIR [--precision fp32|bf16]
       OPENBLAS_NUM_THREADS=1 /usr/bin/python3 llava_answer_bench.py --probe   (the ops of one decoding step alone)
"""
import argparse, contextlib, json, os, sys, time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llava_demo_model import LlavaModel  # noqa: E402
from llava_stage_bench import load_safetensors, peak_rss_mb, pixels  # noqa: E402


def token_check(ours, theirs):
    equal = sum(a == b for a, b in zip(ours, theirs))
    common = [next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b))) for a, b in zip(ours, theirs)]
    first_diff = [i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b]
    return {"rows": len(ours), "rows_equal": equal, "row_agreement": round(equal / len(ours), 4),
            "tokens_before_first_difference": round(sum(common) / sum(len(a) for a in ours), 4),
            "first_differing_questions": first_diff[:5]}


def probe(repeats=2000):
    """PyTorch's side of `LlavaMod.Benchmarks answer-probe`: CPU us per call of one decoding step's ops at batch 64,
    fp32 and under bf16 autocast: each Linear shape and the eager attention of one query over 60 cached positions."""
    torch.manual_seed(1)

    def timed(op):
        for _ in range(repeats // 10):
            op()
        start = time.process_time()
        for _ in range(repeats):
            op()
        return (time.process_time() - start) / repeats * 1e6

    shapes = [("q_proj", 96, 96), ("k_proj", 96, 48), ("o_proj", 96, 96), ("gate_proj", 96, 256), ("down_proj", 256, 96), ("head", 96, 55)]
    for precision in ("fp32", "bf16"):
        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()
        with torch.no_grad(), autocast:
            parts = []
            for name, i, o in shapes:
                layer, x = torch.nn.Linear(i, o), torch.randn(64, 1, i)
                parts.append(f"{name} {timed(lambda: layer(x)):.1f}")
            q, k, v, mask = torch.randn(64, 2, 1, 48), torch.randn(64, 2, 60, 48), torch.randn(64, 2, 60, 48), torch.zeros(64, 1, 1, 60)
            attend = lambda: torch.matmul(torch.softmax(torch.matmul(q, k.transpose(2, 3)) / 48 ** 0.5 + mask, -1, dtype=torch.float32).to(q.dtype), v)
            parts.append(f"attention {timed(attend):.1f}")
        print(f"{precision} (CPU us per call): " + ", ".join(parts))


def main():
    if "--probe" in sys.argv:
        torch.set_num_threads(1)
        return probe()
    p = argparse.ArgumentParser()
    p.add_argument("--weights", required=True, help="folder written by `answer --export`")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--max-new-tokens", type=int, default=40)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    with open(os.path.join(a.weights, "prompts.json")) as f:
        spec = json.load(f)
    model = LlavaModel("demo-student", spec["subset"])
    model.load_state_dict(load_safetensors(os.path.join(a.weights, "weights.safetensors")), strict=True)
    model.eval()
    prompts = spec["prompts"]
    batches = [list(range(i, min(i + a.batch, len(prompts)))) for i in range(0, len(prompts), a.batch)]
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if a.precision == "bf16" else contextlib.nullcontext()
    generated, cpu, wall, timed = [], 0.0, 0.0, 0
    with autocast:
        for i, batch in enumerate(batches):
            c0, w0 = time.process_time(), time.perf_counter()
            images = torch.stack([pixels(g) for g in batch])
            generated += model.generate([prompts[g] for g in batch], images, spec["stop_token_ids"], a.max_new_tokens)
            c1, w1 = time.process_time(), time.perf_counter()
            if i < a.warmup and len(batches) > a.warmup:
                continue
            cpu, wall, timed = cpu + c1 - c0, wall + w1 - w0, timed + len(batch)
    stop = set(spec["stop_token_ids"])
    result = {
        "impl": "pytorch-" + torch.__version__, "precision": a.precision, "threads": a.threads, "questions": len(prompts),
        "batch": a.batch, "max_new_tokens": a.max_new_tokens, "timed_answers": timed,
        "answers_per_s": round(timed / wall, 2), "cpu_s_per_answer": round(cpu / timed, 5), "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
        "mean_new_tokens": round(sum(map(len, generated)) / len(generated), 2), "stopped": sum(1 for t in generated if t and t[-1] in stop),
        "peak_rss_mb": round(peak_rss_mb()), "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS", ""),
    }
    ours_path = os.path.join(a.weights, f"ours-{a.precision}.json")
    if os.path.exists(ours_path):
        with open(ours_path) as f:
            result["token_check"] = token_check(json.loads(f.readline())["token_ids"], generated)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
