#!/usr/bin/python3
"""PyTorch peer of `LlavaMod.Benchmarks stage`: one demo training stage (sft, mimic, d2s, pd) at the demo's sizes,
the same model (llava_demo_model.py), rows (SyntheticDemoRows.cs, re-typed below), losses, AdamW and clipping.

Plain PyTorch (Debian python3-torch 1.13, CPU, fp32). A step: vision tower (no grad) -> projector -> splice ->
Qwen2 -> head at loss positions -> stage loss -> backward -> clip_grad_norm_(1.0) -> AdamW((0.9, 0.98), wd 0).
  sft:   cross-entropy of the supervised tokens (demo-teacher, lr 2e-3)
  mimic: KL(teacher || student) over the teacher's top-16 + one tail bucket (demo-student, lr 2e-3)
  d2s:   mimic + CE + 0.01 * MoE l_aux, only experts, router and projector train (MoE student, lr 1e-3)
  pd:    DPO (sigmoid, beta 0.1) + length-normalised chosen NLL (RPO, weight 1) from stored reference log-probs,
         32 pairs = 64 sequences (MoE student, lr 2e-4; the LM trains, projector frozen)
The teacher's top-k comes from memory here (ours reads it from a Parquet logit cache inside the step).
With --weights DIR (written by `stage --export DIR`) the model starts from our weights and, when DIR/ours.json
exists, the output's loss_check compares both sides' per-step losses. Prints one JSON line.

usage: /usr/bin/python3 llava_stage_bench.py --stage sft|mimic|d2s|pd [--steps 60] [--warmup 40] [--weights DIR]
"""
import argparse, json, math, os, struct, sys, time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llava_demo_model import IGNORE, IMAGE, LlavaModel, MoeLayer, initialise  # noqa: E402

VOCAB, SUBSET, IMAGE_AT, TOP_K, TAIL = 151936, 55, 9, 16, -3.0
SUBSET_IDS = [(i * 2749 + 13) % VOCAB for i in range(SUBSET)]
SFT_SHAPES = [s for ids, sup, n in [(26, 2, 21), (24, 3, 14), (23, 2, 8), (38, 19, 6), (34, 15, 5), (30, 11, 5), (26, 7, 5)] for s in [(ids, sup)] * n]
PAIR_PROMPT, PAIR_LENGTHS = 19, [7, 11, 15, 19]
STAGES = {  # preset, lr, moe, trainable (by our parameter names)
    "sft": ("demo-teacher", 2e-3, False, lambda n: n.startswith(("language_model.", "mm_projector."))),
    "mimic": ("demo-student", 2e-3, False, lambda n: n.startswith(("language_model.", "mm_projector."))),
    "d2s": ("demo-student", 1e-3, True, lambda n: ".mlp.deepspeed_moe." in n or n.startswith("mm_projector.")),
    "pd": ("demo-student", 2e-4, True, lambda n: n.startswith("language_model.")),
}


def token(g, j, salt=5):
    return SUBSET_IDS[(g * 31 + j * 17 + salt) % SUBSET]


def pixels(g, side=48):
    c, y, x = torch.meshgrid(torch.arange(3), torch.arange(side), torch.arange(side), indexing="ij")
    return ((g * 131 + c * 71 + y * 48 + x) % 255).double().div(127.5).sub(1.0).float()


def prompt_ids(g, length):
    return [IMAGE if j == IMAGE_AT else token(g, j) for j in range(length)]


def sft_batch(step, batch):
    rows, images, keys = [], [], []
    for r in range(batch):
        g = step * batch + r
        length, supervised = SFT_SHAPES[(37 * r + 11 * step) % len(SFT_SHAPES)]
        ids = prompt_ids(g, length)
        rows.append((ids, [t if j >= length - supervised else IGNORE for j, t in enumerate(ids)]))
        images.append(pixels(g))
        keys.append(g)
    return rows, images, keys


TOP1 = float(np.float32(math.log((1 - math.exp(TAIL)) / sum(math.exp(-0.5 * j) for j in range(TOP_K)))))


def teacher_topk(g, t):
    start = (7 * g + 3 * t) % SUBSET
    return [(start + 2 * j) % SUBSET for j in range(TOP_K)], [float(np.float32(TOP1) - np.float32(0.5 * j)) for j in range(TOP_K)]


def pair_batch(step, pairs):
    rows, images, refs = [], [], []
    for i in range(pairs):
        p = step * pairs + i
        length = PAIR_LENGTHS[(i + step) % len(PAIR_LENGTHS)]
        prompt = prompt_ids(p, PAIR_PROMPT)
        for salt in (1, 3):
            response = [SUBSET_IDS[(p * 13 + j * 7 + salt) % SUBSET] for j in range(length)]
            rows.append((prompt + response, [IGNORE] * len(prompt) + response))
            images.append(pixels(p))
        refs.append((-2.5 * length, -2.6 * length - 0.5, length))
    return rows, images, refs


def topk_tail_kl(logits, cols, lp_t, tail_t):
    logp = F.log_softmax(logits, -1)
    in_top = torch.zeros_like(logp, dtype=torch.bool).scatter(-1, cols, True)
    tail_s = logp.masked_fill(in_top, -1e30).logsumexp(-1)
    p_t, p_tail = lp_t.exp(), tail_t.exp()
    per_position = (p_t * (lp_t - logp.gather(-1, cols))).sum(-1) + p_tail * (tail_t - tail_s)
    return per_position.mean()


def step_loss(stage, model, data):
    rows, images, extra = data
    logits, targets, row_index = model.loss_position_logits(rows, torch.stack(images))
    if stage == "pd":
        token_logp = F.log_softmax(logits, -1).gather(1, targets[:, None])[:, 0]
        sums = torch.zeros(len(rows)).index_add(0, row_index, token_logp)
        ref_c, ref_r, lengths = (torch.tensor(v) for v in zip(*extra))
        chosen, rejected = sums[0::2], sums[1::2]
        preference = -F.logsigmoid(0.1 * ((chosen - ref_c) - (rejected - ref_r))).mean()
        return preference + 1.0 * (-chosen / lengths.float()).mean(), len(targets)
    ce = F.cross_entropy(logits, targets)
    if stage == "sft":
        return ce, len(targets)
    cols, lps = [], []
    for g, (_, labels) in zip(extra, rows):
        for t in range(sum(1 for l in labels if l != IGNORE)):
            c, lp = teacher_topk(g, t)
            cols.append(c)
            lps.append(lp)
    kl = topk_tail_kl(logits, torch.tensor(cols), torch.tensor(lps), torch.full((len(cols),), TAIL))
    if stage == "mimic":
        return kl, len(targets)
    return kl + ce + 0.01 * model.language_model.aux_loss(), len(targets)


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header, data = json.loads(f.read(n)), f.read()
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {entry['dtype']}, expected F32")
        a, b = entry["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype=np.float32).copy()).reshape(entry["shape"])
    return out


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def moe_probe(tokens=2944, hidden=96, intermediate=256, repeats=100):
    """The MoE layer alone at the demo student's d2s shapes, as MoeProbe.cs (`moe-probe`) times ours."""
    from types import SimpleNamespace
    from llava_demo_model import Mlp, MOE
    a = SimpleNamespace(hidden=hidden, intermediate=intermediate)
    layer = MoeLayer(hidden, [Mlp(a) for _ in range(MOE["experts"])], MOE["capacity_factor"], MOE["min_capacity"])
    with torch.no_grad():
        for q in layer.parameters():
            q.normal_(0, 0.1)
    x = torch.randn(tokens, hidden).requires_grad_()
    for _ in range(2):
        forward = backward = 0.0
        for _ in range(repeats):
            t0 = time.process_time()
            loss = layer(x).sum() + layer.aux
            t1 = time.process_time()
            loss.backward()
            forward, backward = forward + t1 - t0, backward + time.process_time() - t1
            layer.zero_grad()
            x.grad = None
        print(f"MoeLayer [{tokens} x {hidden}]: forward {1000 * forward / repeats:.2f} ms, backward {1000 * backward / repeats:.2f} ms (CPU, mean of {repeats})")


def main():
    if sys.argv[1:2] == ["--moe-probe"]:
        torch.set_num_threads(1)
        return moe_probe()
    p = argparse.ArgumentParser()
    p.add_argument("--stage", required=True, choices=sorted(STAGES))
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--warmup", type=int, default=40)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--pairs", type=int, default=32)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--weights", help="folder written by `stage --export`: start from weights.safetensors, compare with ours.json")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    preset, lr, moe, trains = STAGES[a.stage]
    model = LlavaModel(preset, SUBSET_IDS, moe)
    initialise(model, a.seed, moe)
    if a.weights:
        model.load_state_dict(load_safetensors(os.path.join(a.weights, "weights.safetensors")), strict=True)
    trainable = []
    for name, param in model.named_parameters():
        param.requires_grad_(trains(name))
        if trains(name):
            trainable.append(param)
    opt = torch.optim.AdamW(trainable, lr=lr, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.0)

    batches = [pair_batch(s, a.pairs) if a.stage == "pd" else sft_batch(s, a.batch) for s in range(a.steps)]
    patches = model.patches
    input_tokens = [sum(len(ids) + (patches - 1) * ids.count(IMAGE) for ids, _ in rows) for rows, _, _ in batches]
    losses, grad_norms, supervised, wall, cpu, phases = [], [], [], [], [], []  # phases: loss, backward, clip, adamw
    model.train()
    for data in batches:
        start, marks = time.perf_counter(), [time.process_time()]
        loss, tokens = step_loss(a.stage, model, data)
        marks.append(time.process_time())
        loss.backward()
        marks.append(time.process_time())
        grad_norms.append(float(torch.nn.utils.clip_grad_norm_([q for q in trainable if q.grad is not None], 1.0)))
        marks.append(time.process_time())
        opt.step()
        opt.zero_grad()  # zeroes (PyTorch 1.13's default): an expert that gets no tokens still steps, as in ours
        losses.append(loss.item())
        del loss
        wall.append(time.perf_counter() - start)
        marks.append(time.process_time())
        cpu.append(marks[-1] - marks[0])
        phases.append([marks[i] - marks[i - 1] for i in range(1, 5)])
        supervised.append(tokens)
    measured = list(range(a.warmup, a.steps)) or [a.steps - 1]
    cpu_per_step = sum(cpu[i] for i in measured) / len(measured)
    mean = lambda xs: sum(xs[i] for i in measured) / len(measured)
    result = {
        "impl": "pytorch-" + torch.__version__, "stage": a.stage, "preset": preset, "moe": moe,
        "params": sum(q.numel() for q in model.parameters()), "trainable_params": sum(q.numel() for q in trainable),
        "sequences": len(batches[0][0]), "threads": a.threads, "steps": a.steps, "warmup": a.warmup, "lr": lr,
        "supervised_tokens_per_step": round(mean(supervised), 1), "input_tokens_per_step": round(mean(input_tokens), 1),
        "cpu_s_per_step": round(cpu_per_step, 4), "cpu_s_per_step_median": round(float(np.median([cpu[i] for i in measured])), 4),
        "phase_cpu_s": {name: round(mean([ph[j] for ph in phases]), 4) for j, name in enumerate(["loss", "backward", "clip", "adamw"])}, "wall_s_per_step": round(mean(wall), 4),
        "supervised_tokens_per_cpu_s": round(mean(supervised) / cpu_per_step, 1),
        "input_tokens_per_cpu_s": round(mean(input_tokens) / cpu_per_step, 1),
        "step_cpu_s": [round(t, 4) for t in cpu], "step_s": [round(t, 4) for t in wall],
        "losses": [round(l, 6) for l in losses], "grad_norms": [round(g, 6) for g in grad_norms],
        "peak_rss_mb": round(peak_rss_mb()), "started_from": "ours" if a.weights else "own init",
        "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS", ""),
    }
    ours_path = os.path.join(a.weights, "ours.json") if a.weights else None
    if ours_path and os.path.exists(ours_path):
        with open(ours_path) as f:
            ours = json.loads(f.readline())
        n = min(len(ours["losses"]), len(losses))
        diffs = [abs(ours["losses"][i] - losses[i]) for i in range(n)]
        result["loss_check"] = {
            "ours": ours["losses"][:n], "first_abs_diff": round(diffs[0], 7), "max_abs_diff": round(max(diffs), 7),
            "grad_norm_first_abs_diff": round(abs(ours["grad_norms"][0] - grad_norms[0]), 7),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
