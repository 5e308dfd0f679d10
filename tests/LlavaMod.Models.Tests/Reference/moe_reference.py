"""Independent reference for LlavaMod's MoeLayer: DeepSpeed 0.9.5's top2gating and MOELayer
forward (deepspeed/moe/sharded_moe.py), re-typed from that file with the Gumbel noise removed
(the C# default) and the distributed all-to-all dropped (ep_size 1). Experts are SwiGLU MLPs
(down(silu(gate(x)) * up(x))), as Qwen2's MLP.

Usage: /usr/bin/python3 moe_reference.py case.json result.json
case.json: {"x": [[...]] (N x d), "wg": [[...]] (E x d), "gate_proj": [E x [h x d]],
            "up_proj": [E x [h x d]], "down_proj": [E x [d x h]], "capacity_factor": f,
            "min_capacity": i, "top_k": 2}
result.json: output [N x d], combine [N x E] (combine_weights summed over slots), kept [N x E]
(0/1, after drops), indices1, indices2 [N], l_aux, capacity, exp_counts [E], and the gradients
of sum(output * cotangent) + l_aux with respect to wg and each expert's gate_proj
(grad_wg [E x d], grad_gate_proj [E x h x d]) when case.json has "cotangent" (N x d).
With "capacity_grid": [[tokens, experts, capacity_factor, min_capacity], ...] it only writes
{"capacities": [...]} computed by _capacity with capacity_factor * 2, as top2gating calls it.
"""
import json
import sys

import torch
import torch.nn.functional as F


def _capacity(gates, capacity_factor, min_capacity):
    num_tokens = gates.shape[0]
    num_experts = gates.shape[1]
    capacity = torch.ceil((num_tokens / num_experts) * capacity_factor).to(torch.int64)
    if capacity < min_capacity:
        capacity = min_capacity.to(torch.int64)
    return capacity


def _one_hot_to_float(x, num_classes):
    return F.one_hot(x, num_classes=num_classes).float()


def top2gating(logits, capacity_factor, min_capacity):
    """DeepSpeed 0.9.5 top2gating without the Gumbel noise on the 2nd choice."""
    gates = F.softmax(logits, dim=1)
    capacity = _capacity(gates, torch.tensor(capacity_factor * 2), torch.tensor(min_capacity))

    indices1_s = torch.argmax(gates, dim=1)
    num_experts = int(gates.shape[1])
    mask1 = F.one_hot(indices1_s, num_classes=num_experts)

    logits_w_noise = logits  # DeepSpeed adds gumbel_rsample(logits.shape) here
    logits_except1 = logits_w_noise.masked_fill(mask1.bool(), float("-inf"))
    indices2_s = torch.argmax(logits_except1, dim=1)
    mask2 = F.one_hot(indices2_s, num_classes=num_experts)

    locations1 = torch.cumsum(mask1, dim=0) - 1
    locations2 = torch.cumsum(mask2, dim=0) - 1
    locations2 += torch.sum(mask1, dim=0, keepdim=True)

    exp_counts = torch.sum(mask1, dim=0).detach().to('cpu')

    me = torch.mean(gates, dim=0)
    ce = torch.mean(mask1.float(), dim=0)
    l_aux = torch.mean(me * ce) * num_experts * num_experts

    mask1 *= torch.lt(locations1, capacity)
    mask2 *= torch.lt(locations2, capacity)

    locations1_s = torch.sum(locations1 * mask1, dim=1)
    locations2_s = torch.sum(locations2 * mask2, dim=1)

    mask1_float = mask1.float()
    mask2_float = mask2.float()
    gates1_s = torch.einsum("se,se->s", gates, mask1_float)
    gates2_s = torch.einsum("se,se->s", gates, mask2_float)
    denom_s = gates1_s + gates2_s
    denom_s = torch.clamp(denom_s, min=torch.finfo(denom_s.dtype).eps)
    gates1_s /= denom_s
    gates2_s /= denom_s

    gates1 = torch.einsum("s,se->se", gates1_s, mask1_float)
    gates2 = torch.einsum("s,se->se", gates2_s, mask2_float)
    locations1_sc = _one_hot_to_float(locations1_s, capacity)
    locations2_sc = _one_hot_to_float(locations2_s, capacity)
    combine1_sec = torch.einsum("se,sc->sec", gates1, locations1_sc)
    combine2_sec = torch.einsum("se,sc->sec", gates2, locations2_sc)
    combine_weights = combine1_sec + combine2_sec
    dispatch_mask = combine_weights.bool()

    extra = dict(indices1=indices1_s, indices2=indices2_s, kept=mask1 + mask2, capacity=int(capacity))
    return l_aux, combine_weights, dispatch_mask, exp_counts, extra


def swiglu(x, gate_w, up_w, down_w):
    return F.linear(F.silu(F.linear(x, gate_w)) * F.linear(x, up_w), down_w)


def moe_forward(x, wg, gate_proj, up_proj, down_proj, capacity_factor, min_capacity):
    """MOELayer.forward for ep_size 1: dispatch with einsum, run experts on their slots, combine."""
    d_model = x.shape[-1]
    reshaped_input = x.reshape(-1, d_model)
    logits = F.linear(reshaped_input.float(), wg.float())
    l_aux, combine_weights, dispatch_mask, exp_counts, extra = top2gating(logits, capacity_factor, min_capacity)
    dispatched_input = torch.einsum("sec,sm->ecm", dispatch_mask.type_as(x), reshaped_input)
    expert_output = torch.stack([
        swiglu(dispatched_input[e], gate_proj[e], up_proj[e], down_proj[e])
        for e in range(dispatched_input.shape[0])])
    combined_output = torch.einsum("sec,ecm->sm", combine_weights.type_as(x), expert_output)
    return combined_output.reshape(x.shape), l_aux, combine_weights, exp_counts, extra


def main():
    with open(sys.argv[1]) as f:
        case = json.load(f)
    if "capacity_grid" in case:
        caps = []
        for tokens, experts, cf, min_cap in case["capacity_grid"]:
            gates = torch.zeros(int(tokens), int(experts))
            caps.append(int(_capacity(gates, torch.tensor(cf * 2), torch.tensor(int(min_cap)))))
        with open(sys.argv[2], "w") as f:
            json.dump({"capacities": caps}, f)
        return
    if case.get("top_k", 2) != 2:
        raise SystemExit("the DeepSpeed reference implements top-2 only")
    t = lambda key: torch.tensor(case[key], dtype=torch.float32)
    wg, gate_proj = t("wg").requires_grad_(), t("gate_proj").requires_grad_()
    out, l_aux, combine, exp_counts, extra = moe_forward(
        t("x"), wg, gate_proj, t("up_proj"), t("down_proj"),
        float(case["capacity_factor"]), int(case["min_capacity"]))
    grads = {}
    if "cotangent" in case:
        ((out * t("cotangent")).sum() + l_aux).backward()
        grads = {"grad_wg": wg.grad.tolist(), "grad_gate_proj": gate_proj.grad.tolist()}
    result = {
        "output": out.detach().tolist(),
        "combine": combine.detach().sum(dim=2).tolist(),
        "kept": extra["kept"].tolist(),
        "indices1": extra["indices1"].tolist(),
        "indices2": extra["indices2"].tolist(),
        "l_aux": float(l_aux),
        "capacity": extra["capacity"],
        "exp_counts": exp_counts.tolist(),
        **grads,
    }
    with open(sys.argv[2], "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
