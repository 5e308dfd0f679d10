#!/usr/bin/python3
"""Independent PyTorch reference for the LlavaMod.Models tests.

Writes tiny random Hugging Face-layout checkpoints (config.json + model.safetensors written
byte by byte here, no `safetensors` package) and the reference outputs of fixed inputs, computed
in float64 by a plain re-implementation of transformers' modeling_qwen2.py (Qwen2RMSNorm,
rotate-half rotary, repeat_kv GQA, eager attention with additive causal+padding mask, SwiGLU),
modeling_clip.py (CLIPVisionEmbeddings, pre_layrnorm, CLIPEncoderLayer with quick_gelu,
hidden_states[-2], CLS dropped) and LLaVA's prepare_inputs_labels_for_multimodal splice.

Usage: make_reference.py OUT_DIR
"""
import json
import math
import os
import struct
import sys

import torch

torch.manual_seed(1234)
OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)

DT = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16", torch.int64: "I64", torch.float64: "F64"}


def tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        b = tensor_bytes(t)
        header[name] = {"dtype": DT[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)


# ---------------------------------------------------------------- Qwen2 reference (float64)
def qwen2_weights(cfg):
    d, i, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    h, kvh = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = d // h
    w = {"model.embed_tokens.weight": torch.randn(v, d) * 0.5}
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        w[p + "self_attn.q_proj.weight"] = torch.randn(h * hd, d) / math.sqrt(d)
        w[p + "self_attn.q_proj.bias"] = torch.randn(h * hd) * 0.1
        w[p + "self_attn.k_proj.weight"] = torch.randn(kvh * hd, d) / math.sqrt(d)
        w[p + "self_attn.k_proj.bias"] = torch.randn(kvh * hd) * 0.1
        w[p + "self_attn.v_proj.weight"] = torch.randn(kvh * hd, d) / math.sqrt(d)
        w[p + "self_attn.v_proj.bias"] = torch.randn(kvh * hd) * 0.1
        w[p + "self_attn.o_proj.weight"] = torch.randn(d, h * hd) / math.sqrt(d)
        w[p + "mlp.gate_proj.weight"] = torch.randn(i, d) / math.sqrt(d)
        w[p + "mlp.up_proj.weight"] = torch.randn(i, d) / math.sqrt(d)
        w[p + "mlp.down_proj.weight"] = torch.randn(d, i) / math.sqrt(i)
        w[p + "input_layernorm.weight"] = 1 + 0.1 * torch.randn(d)
        w[p + "post_attention_layernorm.weight"] = 1 + 0.1 * torch.randn(d)
    w["model.norm.weight"] = 1 + 0.1 * torch.randn(d)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = torch.randn(v, d) / math.sqrt(d)
    return w


def rms_norm(x, weight, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return weight * (x * torch.rsqrt(var + eps))


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def qwen2_hidden(cfg, w, embeds, attention_mask):
    w = {k: t.double() for k, t in w.items()}
    b, t, d = embeds.shape
    h, kvh = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = d // h
    pos = torch.arange(t, dtype=torch.float64)
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    freqs = pos[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]
    allowed = torch.tril(torch.ones(t, t, dtype=torch.bool))[None, None] & attention_mask.bool()[:, None, None, :]
    mask = torch.zeros(b, 1, t, t, dtype=torch.float64).masked_fill(~allowed, torch.finfo(torch.float64).min)
    x = embeds.double()
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        res = x
        y = rms_norm(x, w[p + "input_layernorm.weight"], cfg["rms_norm_eps"])
        q = (y @ w[p + "self_attn.q_proj.weight"].T + w[p + "self_attn.q_proj.bias"]).view(b, t, h, hd).transpose(1, 2)
        k = (y @ w[p + "self_attn.k_proj.weight"].T + w[p + "self_attn.k_proj.bias"]).view(b, t, kvh, hd).transpose(1, 2)
        v = (y @ w[p + "self_attn.v_proj.weight"].T + w[p + "self_attn.v_proj.bias"]).view(b, t, kvh, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = h // kvh
        k = k[:, :, None].expand(b, kvh, rep, t, hd).reshape(b, h, t, hd)
        v = v[:, :, None].expand(b, kvh, rep, t, hd).reshape(b, h, t, hd)
        scores = q @ k.transpose(2, 3) / math.sqrt(hd) + mask
        attn = torch.softmax(scores, dim=-1) @ v
        attn = attn.transpose(1, 2).reshape(b, t, h * hd)
        x = res + attn @ w[p + "self_attn.o_proj.weight"].T
        res = x
        y = rms_norm(x, w[p + "post_attention_layernorm.weight"], cfg["rms_norm_eps"])
        g = y @ w[p + "mlp.gate_proj.weight"].T
        u = y @ w[p + "mlp.up_proj.weight"].T
        x = res + (torch.nn.functional.silu(g) * u) @ w[p + "mlp.down_proj.weight"].T
    return rms_norm(x, w["model.norm.weight"], cfg["rms_norm_eps"])


def qwen2_logits(cfg, w, hidden):
    head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return hidden @ head.double().T


def qwen2_config(tied):
    return {
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 61, "hidden_size": 32,
        "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "max_position_embeddings": 128, "rope_theta": 10000.0, "rms_norm_eps": 1e-6,
        "tie_word_embeddings": tied, "torch_dtype": "float32", "bos_token_id": 1, "eos_token_id": 2,
    }


expected = {}
ids = torch.randint(0, 61, (3, 9))
lengths = [9, 6, 4]  # right padding: rows 1 and 2 are shorter
mask = torch.zeros(3, 9, dtype=torch.int64)
for r, n in enumerate(lengths):
    mask[r, :n] = 1
    ids[r, n:] = 0
expected["qwen.input_ids"] = ids
expected["qwen.attention_mask"] = mask

for name, tied in (("qwen_untied", False), ("qwen_tied", True)):
    cfg = qwen2_config(tied)
    w = qwen2_weights(cfg)
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    write_safetensors(os.path.join(folder, "model.safetensors"), w)
    write_json(os.path.join(folder, "config.json"), cfg)
    hidden = qwen2_hidden(cfg, w, w["model.embed_tokens.weight"][ids].double(), mask)
    expected[name + ".logits"] = qwen2_logits(cfg, w, hidden).float()
    if not tied:
        # bf16 copy: the reference is computed from the bf16-rounded weights
        wb = {k: t.to(torch.bfloat16) for k, t in w.items()}
        folder = os.path.join(OUT, "qwen_bf16")
        os.makedirs(folder, exist_ok=True)
        write_safetensors(os.path.join(folder, "model.safetensors"), wb)
        write_json(os.path.join(folder, "config.json"), dict(cfg, torch_dtype="bfloat16"))
        wf = {k: t.float() for k, t in wb.items()}
        hidden = qwen2_hidden(cfg, wf, wf["model.embed_tokens.weight"][ids].double(), mask)
        expected["qwen_bf16.logits"] = qwen2_logits(cfg, wf, hidden).float()


# ---------------------------------------------------------------- CLIP vision reference (float64)
def clip_config():
    return {
        "architectures": ["CLIPVisionModel"], "model_type": "clip_vision_model", "hidden_size": 24,
        "intermediate_size": 40, "num_hidden_layers": 3, "num_attention_heads": 2, "image_size": 32,
        "patch_size": 8, "num_channels": 3, "layer_norm_eps": 1e-5, "hidden_act": "quick_gelu", "projection_dim": 16,
    }


def clip_weights(cfg, prefix="vision_model."):
    d, i, c, p = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_channels"], cfg["patch_size"]
    n = (cfg["image_size"] // p) ** 2 + 1
    w = {
        "embeddings.class_embedding": torch.randn(d),
        "embeddings.patch_embedding.weight": torch.randn(d, c, p, p) / math.sqrt(c * p * p),
        "embeddings.position_embedding.weight": torch.randn(n, d) * 0.2,
        "pre_layrnorm.weight": 1 + 0.1 * torch.randn(d), "pre_layrnorm.bias": 0.1 * torch.randn(d),
        "post_layernorm.weight": 1 + 0.1 * torch.randn(d), "post_layernorm.bias": 0.1 * torch.randn(d),
    }
    for l in range(cfg["num_hidden_layers"]):
        q = f"encoder.layers.{l}."
        for proj in ("k_proj", "v_proj", "q_proj", "out_proj"):
            w[q + f"self_attn.{proj}.weight"] = torch.randn(d, d) / math.sqrt(d)
            w[q + f"self_attn.{proj}.bias"] = 0.1 * torch.randn(d)
        for ln in ("layer_norm1", "layer_norm2"):
            w[q + ln + ".weight"] = 1 + 0.1 * torch.randn(d)
            w[q + ln + ".bias"] = 0.1 * torch.randn(d)
        w[q + "mlp.fc1.weight"] = torch.randn(i, d) / math.sqrt(d)
        w[q + "mlp.fc1.bias"] = 0.1 * torch.randn(i)
        w[q + "mlp.fc2.weight"] = torch.randn(d, i) / math.sqrt(i)
        w[q + "mlp.fc2.bias"] = 0.1 * torch.randn(d)
    return {prefix + k: t for k, t in w.items()}


def clip_features(cfg, w, pixels, select_layer=-2, prefix="vision_model."):
    w = {k[len(prefix):]: t.double() for k, t in w.items() if k.startswith(prefix)}
    d, h, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
    hd = d // h
    ln = lambda x, n: torch.nn.functional.layer_norm(x, (d,), w[n + ".weight"], w[n + ".bias"], eps)
    x = torch.nn.functional.conv2d(pixels.double(), w["embeddings.patch_embedding.weight"], stride=cfg["patch_size"])
    x = x.flatten(2).transpose(1, 2)
    b = x.shape[0]
    x = torch.cat([w["embeddings.class_embedding"].expand(b, 1, -1), x], dim=1) + w["embeddings.position_embedding.weight"][None]
    x = ln(x, "pre_layrnorm")
    states = [x]
    t = x.shape[1]
    for l in range(cfg["num_hidden_layers"]):
        q = f"encoder.layers.{l}."
        lin = lambda y, n: y @ w[q + n + ".weight"].T + w[q + n + ".bias"]
        res = x
        y = ln(x, q + "layer_norm1")
        qs = (lin(y, "self_attn.q_proj") * hd ** -0.5).view(b, t, h, hd).transpose(1, 2)
        ks = lin(y, "self_attn.k_proj").view(b, t, h, hd).transpose(1, 2)
        vs = lin(y, "self_attn.v_proj").view(b, t, h, hd).transpose(1, 2)
        a = (torch.softmax(qs @ ks.transpose(2, 3), dim=-1) @ vs).transpose(1, 2).reshape(b, t, d)
        x = res + lin(a, "self_attn.out_proj")
        res = x
        y = lin(ln(x, q + "layer_norm2"), "mlp.fc1")
        y = y * torch.sigmoid(1.702 * y)
        x = res + lin(y, "mlp.fc2")
        states.append(x)
    return states[select_layer][:, 1:]


ccfg = clip_config()
cw = clip_weights(ccfg)
folder = os.path.join(OUT, "clip")
os.makedirs(folder, exist_ok=True)
# A full CLIPModel checkpoint also carries text-tower tensors and the positions buffer: the loader must skip them.
extra = {"text_model.embeddings.token_embedding.weight": torch.randn(10, 8), "logit_scale": torch.tensor(2.6592),
         "vision_model.embeddings.position_ids": torch.arange(17)[None]}
write_safetensors(os.path.join(folder, "model.safetensors"), dict(cw, **extra))
write_json(os.path.join(folder, "config.json"), {"model_type": "clip", "architectures": ["CLIPModel"], "vision_config": ccfg,
                                                 "text_config": {"hidden_size": 8}})
write_json(os.path.join(folder, "preprocessor_config.json"), {"image_mean": [0.5, 0.4, 0.3], "image_std": [0.2, 0.25, 0.3],
                                                              "crop_size": {"height": 32, "width": 32}})
pixels = torch.randn(2, 3, 32, 32)
expected["clip.pixel_values"] = pixels
expected["clip.features"] = clip_features(ccfg, cw, pixels).float()
# the processor: RGB bytes → (x/255 - mean)/std, image already at image_size
rgb = torch.randint(0, 256, (32, 32, 3), dtype=torch.int64)
expected["clip.rgb"] = rgb
mean, std = torch.tensor([0.5, 0.4, 0.3]), torch.tensor([0.2, 0.25, 0.3])
expected["clip.processed"] = ((rgb.permute(2, 0, 1).double() / 255 - mean[:, None, None].double()) / std[:, None, None].double()).float()

# ---------------------------------------------------------------- LLaVA (LLaVA-MoD layout)
tcfg = qwen2_config(False)
tw = qwen2_weights(tcfg)
vw = clip_weights(ccfg)
d, vd = tcfg["hidden_size"], ccfg["hidden_size"]
pw = {"0.weight": torch.randn(d, vd) / math.sqrt(vd), "0.bias": 0.1 * torch.randn(d),
      "2.weight": torch.randn(d, d) / math.sqrt(d), "2.bias": 0.1 * torch.randn(d)}
lw = dict(tw)
lw.update({"model.image_tower.image_tower." + k: t for k, t in vw.items()})
lw.update({"model.mm_projector.image_spatial_proj." + k: t for k, t in pw.items()})
folder = os.path.join(OUT, "llava")
os.makedirs(folder, exist_ok=True)
write_safetensors(os.path.join(folder, "model.safetensors"), lw)
lcfg = dict(tcfg, model_type="llava_qwen2", architectures=["LlavaQwen2ForCausalLM"], mm_image_tower="tiny-clip",
            image_projector_type="mlp2x_gelu", mm_hidden_size=vd, mm_vision_select_layer=-2,
            mm_vision_select_feature="patch", vision_config=ccfg)
write_json(os.path.join(folder, "config.json"), lcfg)

IMAGE = -200
rows = [[5, 7, IMAGE, 9, 11, 13, 2], [3, 4, 6, 8], [1, IMAGE, 12, 14, IMAGE, 15]]  # mixed lengths, a text-only row, two images in one row
labels = [[-100, -100, -100, 9, 11, 13, 2], [-100, 4, 6, 8], [-100, -100, -100, 14, -100, 15]]
limg = torch.randn(3, 3, 32, 32)
feats = clip_features(ccfg, vw, limg)  # [3, 16, vd]
pwd = {k: t.double() for k, t in pw.items()}
proj = torch.nn.functional.gelu(feats @ pwd["0.weight"].T + pwd["0.bias"]) @ pwd["2.weight"].T + pwd["2.bias"]
embed = tw["model.embed_tokens.weight"].double()
seqs, labs, img = [], [], 0
for r, row in enumerate(rows):
    parts, lparts = [], []
    for j, tok in enumerate(row):
        if tok == IMAGE:
            parts.append(proj[img]); lparts += [-100] * proj.shape[1]; img += 1
        else:
            parts.append(embed[tok][None]); lparts.append(labels[r][j])
    seqs.append(torch.cat(parts)); labs.append(lparts)
T = max(s.shape[0] for s in seqs)
lemb = torch.zeros(len(rows), T, d, dtype=torch.float64)
lmask = torch.zeros(len(rows), T, dtype=torch.int64)
for r, s in enumerate(seqs):
    lemb[r, : s.shape[0]] = s
    lmask[r, : s.shape[0]] = 1
lhidden = qwen2_hidden(tcfg, tw, lemb, lmask)
llogits = qwen2_logits(tcfg, tw, lhidden)
expected["llava.pixel_values"] = limg
expected["llava.logits"] = llogits.float()
expected["llava.attention_mask"] = lmask
# loss positions: t where the label of t+1 is not ignored, in row-major order
sel_rows, sel_pos, sel_tgt = [], [], []
for r, lp in enumerate(labs):
    for t in range(len(lp) - 1):
        if lp[t + 1] != -100:
            sel_rows.append(r); sel_pos.append(t); sel_tgt.append(lp[t + 1])
expected["llava.loss_logits"] = llogits[sel_rows, sel_pos].float()
expected["llava.loss_targets"] = torch.tensor(sel_tgt, dtype=torch.int64)
write_json(os.path.join(OUT, "llava_batch.json"), {"input_ids": rows, "labels": labels})


# ---------------------------------------------------------------- sequence scoring (TRL get_batch_logps)
# Prompt (with image placeholders) + response, labels -100 over the prompt, spliced as above, right-padded
# with label -100; then TRL's DPOTrainer.get_batch_logps: logits[:, :-1] against labels[:, 1:], positions
# whose label is -100 masked out, summed per row and averaged over the unmasked count.
score_prompts = [[5, IMAGE, 9], [IMAGE, 3, 4, 6], [7, 8]]  # an image mid-prompt, at the start, none
score_responses = [[11, 13, 2], [21], [30, 31, 32, 33, 2]]  # 3, 1 and 5 tokens: rows padded differently
simg = torch.randn(2, 3, 32, 32)
sproj = clip_features(ccfg, vw, simg)
sproj = torch.nn.functional.gelu(sproj @ pwd["0.weight"].T + pwd["0.bias"]) @ pwd["2.weight"].T + pwd["2.bias"]
seqs, labs, img = [], [], 0
for prompt, response in zip(score_prompts, score_responses):
    parts, lparts = [], []
    for tok in prompt:
        if tok == IMAGE:
            parts.append(sproj[img]); lparts += [-100] * sproj.shape[1]; img += 1
        else:
            parts.append(embed[tok][None]); lparts.append(-100)
    for tok in response:
        parts.append(embed[tok][None]); lparts.append(tok)
    seqs.append(torch.cat(parts)); labs.append(lparts)
T = max(s.shape[0] for s in seqs)
semb = torch.zeros(len(seqs), T, d, dtype=torch.float64)
smask = torch.zeros(len(seqs), T, dtype=torch.int64)
slabels = torch.full((len(seqs), T), -100, dtype=torch.int64)
for r, s in enumerate(seqs):
    semb[r, : s.shape[0]] = s
    smask[r, : s.shape[0]] = 1
    slabels[r, : s.shape[0]] = torch.tensor(labs[r])
slogits = qwen2_logits(tcfg, tw, qwen2_hidden(tcfg, tw, semb, smask))
labels_ = slabels[:, 1:].clone()
logits_ = slogits[:, :-1, :]
loss_mask = labels_ != -100
labels_[labels_ == -100] = 0
per_token = torch.gather(logits_.log_softmax(-1), dim=2, index=labels_.unsqueeze(2)).squeeze(2)
expected["scorer.pixel_values"] = simg
expected["scorer.sum"] = (per_token * loss_mask).sum(-1)
expected["scorer.mean"] = (per_token * loss_mask).sum(-1) / loss_mask.sum(-1)
expected["scorer.count"] = loss_mask.sum(-1)
expected["scorer.token_logps"] = per_token[loss_mask]  # row by row, in order
write_json(os.path.join(OUT, "scorer_batch.json"), {"prompts": score_prompts, "responses": score_responses})

write_safetensors(os.path.join(OUT, "expected.safetensors"), expected)
print("reference written to", OUT)
