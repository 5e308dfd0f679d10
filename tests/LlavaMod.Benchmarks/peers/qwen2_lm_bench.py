#!/usr/bin/python3
"""PyTorch peer of `LlavaMod.Benchmarks lm`: the same Qwen2-like LM, data, optimizer and timing.

Plain PyTorch (Debian python3-torch 1.13, CPU): HF modeling_qwen2's eager layout (RMSNorm, rotary
rotate-half, GQA with repeated kv heads, softmax in fp32, SwiGLU, tied embeddings), optional MoE
(DeepSpeed-style top-2 of E with an fp32 router and the load-balancing loss; no capacity limit, which
matches ours at capacity factor 2, where nothing can be dropped). bf16 = torch.autocast('cpu', bfloat16)
with fp32 weights and AdamW state. Prints one JSON line.

usage: /usr/bin/python3 qwen2_lm_bench.py --precision fp32|bf16 [--moe] [--activation-checkpointing] [--steps 20] [--warmup 5] ...
"""
import argparse, json, math, os, resource, time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint

VOCAB_DEFAULT = 151936


def synthetic_batch(step, batch, length, modulus=5000):
    """Row g of the run starts at (g*7919+13) % m and follows x -> (31x+7) % m: a learnable bigram map.
    The C# benchmark builds the same ids (SyntheticTokens.cs)."""
    rows = []
    for r in range(batch):
        g = step * batch + r
        x = (g * 7919 + 13) % modulus
        row = []
        for _ in range(length):
            row.append(x)
            x = (x * 31 + 7) % modulus
        rows.append(row)
    return torch.tensor(rows, dtype=torch.int64)


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Attention(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.h, self.kv, self.d = a.heads, a.kv_heads, a.hidden // a.heads
        self.q_proj = nn.Linear(a.hidden, self.h * self.d, bias=True)
        self.k_proj = nn.Linear(a.hidden, self.kv * self.d, bias=True)
        self.v_proj = nn.Linear(a.hidden, self.kv * self.d, bias=True)
        self.o_proj = nn.Linear(self.h * self.d, a.hidden, bias=False)

    def forward(self, x, cos, sin, mask, cache=None):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.h, self.d).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv, self.d).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv, self.d).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:
            if cache.get("k") is not None:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        groups = self.h // self.kv
        k = k.repeat_interleave(groups, dim=1)
        v = v.repeat_interleave(groups, dim=1)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.d)
        if mask is not None:
            scores = scores + mask
        probs = F.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, self.h * self.d)
        return self.o_proj(out)


class Mlp(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.gate_proj = nn.Linear(a.hidden, a.intermediate, bias=False)
        self.up_proj = nn.Linear(a.hidden, a.intermediate, bias=False)
        self.down_proj = nn.Linear(a.intermediate, a.hidden, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Moe(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.e = a.experts
        self.wg = nn.Linear(a.hidden, a.experts, bias=False)
        self.experts = nn.ModuleList([Mlp(a) for _ in range(a.experts)])
        self.aux = None

    def forward(self, x):
        shape = x.shape
        tokens = x.reshape(-1, shape[-1])
        with torch.autocast("cpu", enabled=False):
            gates = F.softmax(F.linear(tokens.float(), self.wg.weight.float()), dim=1)
        first = gates.argmax(1)
        second = gates.masked_fill(F.one_hot(first, self.e).bool(), float("-inf")).argmax(1)
        g1, g2 = gates.gather(1, first[:, None])[:, 0], gates.gather(1, second[:, None])[:, 0]
        denom = (g1 + g2).clamp_min(torch.finfo(torch.float32).eps)
        w1, w2 = g1 / denom, g2 / denom
        self.aux = (gates.mean(0) * F.one_hot(first, self.e).float().mean(0)).mean() * self.e * self.e
        out = torch.zeros_like(tokens)
        for e in range(self.e):
            weight = w1 * (first == e) + w2 * (second == e)
            ids = weight.nonzero()[:, 0]
            if ids.numel() == 0:
                continue
            y = self.experts[e](tokens.index_select(0, ids))
            out = out.index_add(0, ids, (y * weight.index_select(0, ids)[:, None].to(y.dtype)).to(out.dtype))
        return out.reshape(shape)


class Layer(nn.Module):
    def __init__(self, a, moe):
        super().__init__()
        self.input_layernorm = RMSNorm(a.hidden, 1e-6)
        self.self_attn = Attention(a)
        self.post_attention_layernorm = RMSNorm(a.hidden, 1e-6)
        self.mlp = Moe(a) if moe else Mlp(a)

    def forward(self, x, cos, sin, mask, cache=None):
        h = x + self.self_attn(self.input_layernorm(x), cos, sin, mask, cache)
        return h + self.mlp(self.post_attention_layernorm(h))


class Qwen2Lm(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = a
        self.embed_tokens = nn.Embedding(a.vocab, a.hidden)
        self.layers = nn.ModuleList([Layer(a, a.moe and i % 2 == 0) for i in range(a.layers)])
        self.norm = RMSNorm(a.hidden, 1e-6)
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif "norm" in name:
                nn.init.ones_(p)
            else:
                nn.init.normal_(p, std=0.02)

    def forward(self, ids, caches=None):
        b, t = ids.shape
        past = 0 if caches is None or caches[0].get("k") is None else caches[0]["k"].shape[2]
        d = self.a.hidden // self.a.heads
        inv = 1.0 / (self.a.rope_theta ** (torch.arange(0, d, 2).float() / d))
        freqs = torch.arange(past, past + t).float()[:, None] * inv[None]
        emb = torch.cat([freqs, freqs], -1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        mask = None
        if t > 1:
            mask = torch.full((t, past + t), torch.finfo(torch.float32).min).triu(past + 1)[None, None]
        x = self.embed_tokens(ids)
        for i, layer in enumerate(self.layers):
            if self.a.activation_checkpointing and self.training and caches is None:
                # recompute each layer's activations in the backward, as ours does with --activation-checkpointing
                x = torch.utils.checkpoint.checkpoint(layer, x, cos, sin, mask, None, use_reentrant=False)
            else:
                x = layer(x, cos, sin, mask, None if caches is None else caches[i])
        x = self.norm(x)
        return F.linear(x, self.embed_tokens.weight).float()  # tied head, fp32 logits

    def aux_loss(self):
        terms = [l.mlp.aux for l in self.layers if isinstance(l.mlp, Moe)]
        return sum(terms) if terms else None


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    p.add_argument("--moe", action="store_true")
    p.add_argument("--vocab", type=int, default=VOCAB_DEFAULT)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--intermediate", type=int, default=1024)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--experts", type=int, default=4)
    p.add_argument("--rope-theta", type=float, default=1e6)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--gen-prompt", type=int, default=32)
    p.add_argument("--gen-tokens", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--activation-checkpointing", action="store_true")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = Qwen2Lm(a)
    params = sum(x.numel() for x in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.98), weight_decay=0.0)
    bf16 = a.precision == "bf16"
    losses, times, cpu_times = [], [], []
    model.train()
    for step in range(a.steps):
        ids = synthetic_batch(step, a.batch, a.seq)
        start, cpu_start = time.perf_counter(), time.process_time()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(ids)
            aux = model.aux_loss()
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, a.vocab), ids[:, 1:].reshape(-1))
        total = loss + 0.01 * aux if aux is not None else loss
        total.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)  # after the step, as transformers' Trainer and our StageTrainer do
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
        losses.append(loss.item())
    train_peak = peak_rss_mb()
    measured = times[a.warmup:] or times
    tokens_per_s = a.batch * a.seq / (sum(measured) / len(measured))

    del opt
    reset_peak_rss()
    model.eval()
    prompt = synthetic_batch(10_000, 1, a.gen_prompt)
    caches = [dict() for _ in range(a.layers)]
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        start = time.perf_counter()
        logits = model(prompt, caches)
        generated = []
        for _ in range(a.gen_tokens):
            nxt = logits[:, -1].argmax(-1, keepdim=True)
            generated.append(int(nxt))
            logits = model(nxt, caches)
        gen_s = time.perf_counter() - start
    print(json.dumps({
        "impl": "pytorch-" + torch.__version__, "precision": a.precision, "moe": a.moe,
        "activation_checkpointing": a.activation_checkpointing, "params": params,
        "batch": a.batch, "seq": a.seq, "threads": a.threads,
        "train_tokens_per_s": round(tokens_per_s, 1), "step_s": [round(t, 3) for t in times],
        "step_cpu_s": [round(t, 3) for t in cpu_times],
        "losses": [round(l, 4) for l in losses], "train_peak_rss_mb": round(train_peak),
        "gen_tokens_per_s": round(a.gen_tokens / gen_s, 1), "gen_peak_rss_mb": round(peak_rss_mb()),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
    }))


if __name__ == "__main__":
    main()
