"""The demo's LLaVA in plain PyTorch (1.13): a tiny CLIP vision tower, LLaVA's mlp2x_gelu projector and a Qwen2
LM with a compact (vocabulary-subset) tied embedding, optionally with DeepSpeed-0.9.5-style top-2 MoE layers.

Module and parameter names are those of LlavaMod's LlavaModel (language_model.model.layers.N..., vision_tower.
vision_model..., mm_projector.0/2, mlp.deepspeed_moe.gate.wg / .experts.deepspeed_experts.E...), so a
safetensors file written by the C# benchmark loads with load_state_dict. The Qwen2 attention, MLP and RMSNorm are
qwen2_lm_bench.py's (HF modeling_qwen2 eager layout); CLIP follows HF modeling_clip (pre-norm layers, quick_gelu,
hidden_states[select] with the CLS token dropped); the MoE gate is tests/LlavaMod.Models.Tests/Reference/
moe_reference.py's top2gating (capacity, drops, renormalised weights, l_aux) with index-based dispatch instead of
DeepSpeed's einsum over [tokens, experts, capacity].
"""
import math
from types import SimpleNamespace

import torch
import torch.nn as nn
import torch.nn.functional as F

from qwen2_lm_bench import Attention, Mlp, RMSNorm

IMAGE = -200
IGNORE = -100

VISION = dict(hidden=96, intermediate=384, layers=2, heads=2, image=48, patch=16, eps=1e-5, select_layer=-1)
PRESETS = {  # ModelPresets.cs: demo-teacher / demo-student
    "demo-teacher": dict(hidden=128, layers=4, intermediate=336),
    "demo-student": dict(hidden=96, layers=2, intermediate=256),
}
TEXT = dict(heads=2, kv_heads=1, rope_theta=10000.0, eps=1e-6, init_std=0.1)
MOE = dict(experts=4, top_k=2, capacity_factor=1.5, min_capacity=4)  # StageConfig.Moe defaults, every other layer


class ClipAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.h, self.hd = heads, d // heads
        self.k_proj, self.v_proj, self.q_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x):
        b, t, d = x.shape
        heads = lambda p: p(x).view(b, t, self.h, self.hd).transpose(1, 2)
        q, k, v = heads(self.q_proj), heads(self.k_proj), heads(self.v_proj)
        probs = F.softmax(q @ k.transpose(2, 3) / math.sqrt(self.hd), dim=-1)
        return self.out_proj((probs @ v).transpose(1, 2).reshape(b, t, d))


class ClipMlp(nn.Module):
    def __init__(self, d, i):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, i), nn.Linear(i, d)

    def forward(self, x):
        h = self.fc1(x)
        return self.fc2(h * torch.sigmoid(1.702 * h))  # quick_gelu


class ClipEncoderLayer(nn.Module):
    def __init__(self, v):
        super().__init__()
        self.self_attn = ClipAttention(v["hidden"], v["heads"])
        self.layer_norm1 = nn.LayerNorm(v["hidden"], eps=v["eps"])
        self.mlp = ClipMlp(v["hidden"], v["intermediate"])
        self.layer_norm2 = nn.LayerNorm(v["hidden"], eps=v["eps"])

    def forward(self, x):
        h = x + self.self_attn(self.layer_norm1(x))
        return h + self.mlp(self.layer_norm2(h))


class ClipEmbeddings(nn.Module):
    def __init__(self, v):
        super().__init__()
        d, p = v["hidden"], v["patch"]
        self.class_embedding = nn.Parameter(torch.randn(d))
        self.patch_embedding = nn.Conv2d(3, d, p, stride=p, bias=False)
        self.position_embedding = nn.Embedding((v["image"] // p) ** 2 + 1, d)

    def forward(self, pixels):
        x = self.patch_embedding(pixels).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_embedding.expand(x.shape[0], 1, -1), x], dim=1)
        return x + self.position_embedding.weight[None]


class ClipEncoder(nn.Module):
    def __init__(self, v):
        super().__init__()
        self.layers = nn.ModuleList([ClipEncoderLayer(v) for _ in range(v["layers"])])


class ClipVisionModel(nn.Module):
    def __init__(self, v):
        super().__init__()
        self.embeddings = ClipEmbeddings(v)
        self.pre_layrnorm = nn.LayerNorm(v["hidden"], eps=v["eps"])
        self.encoder = ClipEncoder(v)
        self.post_layernorm = nn.LayerNorm(v["hidden"], eps=v["eps"])  # unused by LLaVA's patch features


class ClipVisionTower(nn.Module):
    def __init__(self, v):
        super().__init__()
        self.vision_model = ClipVisionModel(v)
        self.index = v["select_layer"] % (v["layers"] + 1)

    def features(self, pixels):
        m = self.vision_model
        x = m.pre_layrnorm(m.embeddings(pixels))
        for layer in list(m.encoder.layers)[: self.index]:
            x = layer(x)
        return x[:, 1:]


class MoeGate(nn.Module):
    def __init__(self, d, e):
        super().__init__()
        self.wg = nn.Linear(d, e, bias=False)


class MoeExperts(nn.Module):
    def __init__(self, experts):
        super().__init__()
        self.deepspeed_experts = nn.ModuleList(experts)


class DeepSpeedMoe(nn.Module):
    def __init__(self, d, experts):
        super().__init__()
        self.gate = MoeGate(d, len(experts))
        self.experts = MoeExperts(experts)


class MoeLayer(nn.Module):
    """Top-2 of E with DeepSpeed 0.9.5's capacity rule (no Gumbel noise). Given `real` (bool [B*T]), only those
    positions are tokens (as ours routes the packed real positions); padding gets a zero output."""

    def __init__(self, d, experts, capacity_factor, min_capacity):
        super().__init__()
        self.deepspeed_moe = DeepSpeedMoe(d, experts)
        self.capacity_factor, self.min_capacity, self.aux = capacity_factor, min_capacity, None

    def forward(self, x, real=None):
        shape = x.shape
        tokens = x.reshape(-1, shape[-1])
        if real is not None:
            tokens = tokens[real]
        n, e = tokens.shape[0], len(self.deepspeed_moe.experts.deepspeed_experts)
        logits = F.linear(tokens.float(), self.deepspeed_moe.gate.wg.weight.float())
        gates = F.softmax(logits, dim=1)
        capacity = max(int(torch.ceil((n / e) * torch.tensor(self.capacity_factor * 2))), self.min_capacity)
        mask1 = F.one_hot(gates.argmax(1), e)
        mask2 = F.one_hot(logits.detach().masked_fill(mask1.bool(), float("-inf")).argmax(1), e)
        locations1 = mask1.cumsum(0) - 1
        locations2 = mask2.cumsum(0) - 1 + mask1.sum(0, keepdim=True)
        self.aux = (gates.mean(0) * mask1.float().mean(0)).mean() * e * e
        mask1 = mask1 * locations1.lt(capacity)
        mask2 = mask2 * locations2.lt(capacity)
        g1, g2 = (gates * mask1).sum(1), (gates * mask2).sum(1)
        denom = (g1 + g2).clamp(min=torch.finfo(torch.float32).eps)
        w1, w2 = g1 / denom, g2 / denom
        out = torch.zeros_like(tokens)
        for i, expert in enumerate(self.deepspeed_moe.experts.deepspeed_experts):
            ids = (mask1[:, i] + mask2[:, i]).nonzero()[:, 0]
            if ids.numel() == 0:
                continue
            weight = (w1 * mask1[:, i] + w2 * mask2[:, i]).index_select(0, ids)
            out = out.index_add(0, ids, expert(tokens.index_select(0, ids)) * weight[:, None])
        if real is not None:
            out = torch.zeros(real.shape[0], shape[-1], dtype=out.dtype).index_put((real.nonzero()[:, 0],), out)
        return out.reshape(shape)


class DecoderLayer(nn.Module):
    def __init__(self, a, moe):
        super().__init__()
        self.self_attn = Attention(a)
        self.mlp = MoeLayer(a.hidden, [Mlp(a) for _ in range(MOE["experts"])], MOE["capacity_factor"], MOE["min_capacity"]) if moe else Mlp(a)
        self.input_layernorm = RMSNorm(a.hidden, TEXT["eps"])
        self.post_attention_layernorm = RMSNorm(a.hidden, TEXT["eps"])

    def forward(self, x, cos, sin, mask, real=None):
        h = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        normed = self.post_attention_layernorm(h)
        return h + (self.mlp(normed, real) if isinstance(self.mlp, MoeLayer) else self.mlp(normed))


class Qwen2Model(nn.Module):
    def __init__(self, a, vocab, moe):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, a.hidden)
        self.layers = nn.ModuleList([DecoderLayer(a, moe and i % 2 == 0) for i in range(a.layers)])
        self.norm = RMSNorm(a.hidden, TEXT["eps"])


class Qwen2ForCausalLM(nn.Module):
    def __init__(self, a, vocab, moe):
        super().__init__()
        self.a = a
        self.model = Qwen2Model(a, vocab, moe)

    def hidden(self, embeds, attention_mask):
        b, t, _ = embeds.shape
        d = self.a.hidden // self.a.heads
        inv = 1.0 / (TEXT["rope_theta"] ** (torch.arange(0, d, 2).float() / d))
        freqs = torch.arange(t).float()[:, None] * inv[None]
        emb = torch.cat([freqs, freqs], -1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        allowed = torch.ones(t, t, dtype=torch.bool).tril()[None, None] & attention_mask.bool()[:, None, None, :]
        mask = torch.zeros(b, 1, t, t).masked_fill(~allowed, torch.finfo(torch.float32).min)
        x = embeds
        real = attention_mask.reshape(-1).bool()
        for layer in self.model.layers:
            x = layer(x, cos, sin, mask, real)
        return self.model.norm(x)

    def cached(self, embeds, attention_mask, positions, caches):
        """Hidden states of the new positions embeds [B, q] at positions [B, q] (rotary per row), appending their keys
        and values to caches (one dict per layer); attention_mask [B, total] covers cached and new positions."""
        b, q, _ = embeds.shape
        total = attention_mask.shape[1]
        d = self.a.hidden // self.a.heads
        inv = 1.0 / (TEXT["rope_theta"] ** (torch.arange(0, d, 2).float() / d))
        freqs = positions.float()[..., None] * inv
        emb = torch.cat([freqs, freqs], -1)
        cos, sin = emb.cos()[:, None], emb.sin()[:, None]
        causal = torch.arange(total)[None] <= torch.arange(total - q, total)[:, None]
        allowed = causal[None, None] & attention_mask.bool()[:, None, None, :]
        # -1e9, not finfo.min: a left-pad query sees no key, and finfo.min + score would overflow to -inf (NaN softmax)
        mask = torch.zeros(b, 1, q, total).masked_fill(~allowed, -1e9)
        x = embeds
        for layer, cache in zip(self.model.layers, caches):
            h = x + layer.self_attn(layer.input_layernorm(x), cos, sin, mask, cache)
            x = h + layer.mlp(layer.post_attention_layernorm(h))
        return self.model.norm(x)

    def aux_loss(self):
        terms = [l.mlp.aux for l in self.model.layers if isinstance(l.mlp, MoeLayer)]
        return sum(terms) if terms else None


class LlavaModel(nn.Module):
    def __init__(self, preset, subset_ids, moe=False):
        super().__init__()
        p = PRESETS[preset]
        a = SimpleNamespace(hidden=p["hidden"], intermediate=p["intermediate"], layers=p["layers"], heads=TEXT["heads"], kv_heads=TEXT["kv_heads"])
        self.language_model = Qwen2ForCausalLM(a, len(subset_ids), moe)
        self.vision_tower = ClipVisionTower(VISION)
        self.mm_projector = nn.Sequential(nn.Linear(VISION["hidden"], a.hidden), nn.GELU(), nn.Linear(a.hidden, a.hidden))
        self.row_of = {tok: i for i, tok in enumerate(subset_ids)}  # CompactVocabulary: token id -> table row
        self.patches = (VISION["image"] // VISION["patch"]) ** 2

    def loss_position_logits(self, rows, pixels):
        """rows: [(ids, labels)] with one IMAGE placeholder each; pixels [images, 3, S, S]. Returns fp32 logits [N, subset]
        at the positions whose next label is supervised, their targets (table rows) [N] and the row of each."""
        with torch.no_grad():
            features = self.vision_tower.features(pixels)
        images = self.mm_projector(features)
        d = images.shape[-1]
        embed = self.language_model.model.embed_tokens
        b, width = len(rows), max(len(ids) for ids, _ in rows)
        table_ids = [[self.row_of[t] if t != IMAGE else 0 for t in ids] + [0] * (width - len(ids)) for ids, _ in rows]
        text = embed(torch.tensor(table_ids)).reshape(b * width, d)
        table = torch.cat([text, images.reshape(-1, d), torch.zeros(1, d)])
        zero_row, image = table.shape[0] - 1, 0
        sources, labels = [], []
        for r, (ids, lab) in enumerate(rows):
            src, lab_out = [], []
            for j, t in enumerate(ids):
                if t == IMAGE:
                    src += range(b * width + image * self.patches, b * width + (image + 1) * self.patches)
                    lab_out += [IGNORE] * self.patches
                    image += 1
                else:
                    src.append(r * width + j)
                    lab_out.append(lab[j])
            sources.append(src)
            labels.append(lab_out)
        t = max(len(s) for s in sources)
        gather = [s + [zero_row] * (t - len(s)) for s in sources]
        attention = torch.tensor([[1] * len(s) + [0] * (t - len(s)) for s in sources])
        hidden = self.language_model.hidden(table.index_select(0, torch.tensor(gather).reshape(-1)).view(b, t, d), attention)
        flat, targets, row_index = [], [], []
        for r, lab in enumerate(labels):
            for j in range(len(lab) - 1):
                if lab[j + 1] != IGNORE:
                    flat.append(r * t + j)
                    targets.append(self.row_of[lab[j + 1]])
                    row_index.append(r)
        selected = hidden.reshape(b * t, d).index_select(0, torch.tensor(flat))
        logits = F.linear(selected, embed.weight).float()  # tied head over the compact table
        return logits, torch.tensor(targets), torch.tensor(row_index)


    def generate(self, prompts, pixels, stop_ids, max_new_tokens):
        """Greedy answers with a KV cache, as LlavaMod's TextGenerator: prompts spliced (each IMAGE placeholder becomes
        its image's projected patches), left-padded with positions counting real tokens only, prefilled once, then one
        token per step for every row (finished rows keep decoding, their tokens dropped) until all rows have emitted a
        stop id or max_new_tokens. Returns per row the generated token ids (the stop id included)."""
        with torch.no_grad():
            images = self.mm_projector(self.vision_tower.features(pixels))
            embed = self.language_model.model.embed_tokens
            rows, image = [], 0
            for ids in prompts:
                parts, text = [], []
                for t in ids + [None]:
                    if t is not None and t != IMAGE:
                        text.append(self.row_of[t])
                        continue
                    if text:
                        parts.append(embed(torch.tensor(text)))
                        text = []
                    if t == IMAGE:
                        parts.append(images[image])
                        image += 1
                rows.append(torch.cat(parts))
            b, t, d = len(rows), max(r.shape[0] for r in rows), images.shape[-1]
            embeds = torch.zeros(b, t, d, dtype=rows[0].dtype)
            mask = torch.zeros(b, t, dtype=torch.long)
            for r, row in enumerate(rows):
                embeds[r, t - row.shape[0]:] = row
                mask[r, t - row.shape[0]:] = 1
            positions = (mask.cumsum(1) - 1).clamp(min=0)
            caches = [{} for _ in self.language_model.model.layers]
            lm = self.language_model
            hidden = lm.cached(embeds, mask, positions, caches)
            last = positions[:, -1:]
            subset = torch.tensor(list(self.row_of.keys()))
            stop = set(stop_ids)
            tokens, finished = [[] for _ in range(b)], [False] * b
            for step in range(max_new_tokens):
                logits = F.linear(hidden[:, -1], embed.weight).float()
                columns = logits.argmax(-1)
                F.log_softmax(logits, -1).gather(1, columns[:, None])  # the chosen tokens' log-probs, as ours records them
                ids = subset[columns].tolist()
                for r in range(b):
                    if finished[r]:
                        continue
                    tokens[r].append(ids[r])
                    finished[r] = ids[r] in stop
                if all(finished) or step == max_new_tokens - 1:
                    break
                mask = torch.cat([mask, torch.ones(b, 1, dtype=mask.dtype)], 1)
                last = last + 1
                hidden = lm.cached(embed(columns[:, None]), mask, last, caches)
            return tokens


def initialise(model, seed, moe):
    """LlavaMod's Initialization.NewLlava: N(0, 0.1) LM and projector, N(0, 0.02) vision, zero biases, unit norms,
    class embedding N(0, width^-1/2); then (moe) sparse upcycling: experts copy the dense MLP, router U(-1/sqrt(d), 1/sqrt(d))."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".bias"):
                p.zero_()
            elif name.endswith("class_embedding"):
                p.normal_(0, p.shape[0] ** -0.5, generator=g)
            elif name.endswith("norm.weight") or "layer_norm" in name or "layrnorm" in name:
                p.fill_(1)
            else:
                p.normal_(0, 0.02 if name.startswith("vision_tower.") else TEXT["init_std"], generator=g)
        if moe:
            for layer in model.language_model.model.layers:
                if isinstance(layer.mlp, MoeLayer):
                    experts = layer.mlp.deepspeed_moe.experts.deepspeed_experts
                    for expert in experts[1:]:
                        expert.load_state_dict(experts[0].state_dict())
                    wg = layer.mlp.deepspeed_moe.gate.wg.weight
                    bound = 1 / math.sqrt(wg.shape[1])
                    wg.uniform_(-bound, bound, generator=g)
