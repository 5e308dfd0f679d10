"""Independent PyTorch reference for the C# losses (tests only).

Each loss is written the way the upstream Python code writes it: LLaVA-MoD's
compute_align_loss (mimic), Hugging Face's causal-LM loss (SFT), TRL's get_batch_logps and
TRL 0.7.x dpo_loss (sigmoid / ipo / kto_pair), the HSA-DPO formula, and the RPO paper's
length-normalised chosen NLL. The top-k + tail KL is computed from full probabilities in
float64 (bucket sums, no log-space tricks) as an independent check of the C# log-space code.

Usage: /usr/bin/python3 losses_reference.py request.json result.json
Tensors travel as {"shape": [...], "data": [flat row-major values]}.
"""
import json
import sys

import torch
import torch.nn.functional as F


def tensor(obj, dtype):
    return torch.tensor(obj["data"], dtype=dtype).reshape(obj["shape"])


def out(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": t.reshape(-1).tolist()}


def float_dtype(req):
    return torch.float64 if req.get("dtype") == "float64" else torch.float32


def mimic_full(req):
    dt = float_dtype(req)
    temp = req["temperature"]
    mask = tensor(req["mask"], torch.bool)
    result = {}
    for name in ("soft_ce", "kl"):
        student = tensor(req["student"], dt).requires_grad_(True)
        teacher = tensor(req["teacher"], dt)
        if name == "soft_ce":
            # LLaVA-MoD compute_align_loss, with the caller's (already shifted) mask.
            reference_probs = F.softmax(teacher / temp, dim=-1)
            policy_logprobs = F.log_softmax(student / temp, dim=-1)
            inf_mask = torch.isinf(policy_logprobs)
            prod_probs = torch.masked_fill(reference_probs * policy_logprobs, inf_mask, 0)
            x = torch.sum(prod_probs, dim=-1).view(-1)
            loss_mask = mask.int()
            loss = -torch.sum(x * loss_mask.view(-1), dim=0) / torch.sum(loss_mask.view(-1), dim=0)
        else:
            kl = F.kl_div(F.log_softmax(student / temp, dim=-1), F.log_softmax(teacher / temp, dim=-1),
                          reduction="none", log_target=True).sum(-1)
            loss = (kl * mask).sum() / mask.sum()
        loss = loss * temp * temp
        loss.backward()
        result[name] = {"loss": loss.item(), "grad": out(student.grad)}
    return result


def mimic_topk(req):
    student = tensor(req["student"], torch.float64).requires_grad_(True)
    ids = tensor(req["ids"], torch.int64)
    lp_t = tensor(req["teacher_logprobs"], torch.float64)
    tail_t = tensor(req["teacher_tail"], torch.float64)
    mask = tensor(req["mask"], torch.bool)
    p_s = F.softmax(student, dim=-1)
    q_top = torch.gather(p_s, -1, ids)
    in_top = torch.zeros_like(p_s, dtype=torch.bool).scatter_(-1, ids, True)
    q_tail = (p_s * (~in_top)).sum(-1)
    p_top = lp_t.exp()
    p_tail = tail_t.exp()
    kl = (p_top * (torch.log(p_top) - torch.log(q_top))).sum(-1)
    tail_term = torch.where(p_tail > 0, p_tail * (torch.log(p_tail) - torch.log(q_tail)), torch.zeros_like(p_tail))
    per_pos = kl + tail_term
    loss = (per_pos * mask).sum() / mask.sum()
    loss.backward()
    covered = ((p_top.sum(-1) * mask).sum() / mask.sum()).item()
    return {"loss": loss.item(), "grad": out(student.grad), "covered": covered}


def sft(req):
    dt = float_dtype(req)
    logits = tensor(req["logits"], dt).requires_grad_(True)
    labels = tensor(req["labels"], torch.int64)
    # Hugging Face causal LM: shift so that tokens < n predict n.
    shift_logits = logits[..., :-1, :].contiguous()
    shift_labels = labels[..., 1:].contiguous()
    if req.get("average", "token") == "token":
        loss = F.cross_entropy(shift_logits.view(-1, shift_logits.size(-1)), shift_labels.view(-1), ignore_index=-100)
    else:
        # "row": each row's mean token loss, then the mean over rows that supervise anything.
        per_token = F.cross_entropy(shift_logits.transpose(1, 2), shift_labels, ignore_index=-100, reduction="none")
        counts = (shift_labels != -100).sum(1)
        present = counts > 0
        loss = (per_token.sum(1)[present] / counts[present]).mean()
    loss.backward()
    return {"loss": loss.item(), "grad": out(logits.grad)}


def get_batch_logps(logits, labels, label_pad_token_id=-100):
    # TRL DPOTrainer.get_batch_logps (average_log_prob=False).
    labels = labels[:, 1:].clone()
    logits = logits[:, :-1, :]
    loss_mask = labels != label_pad_token_id
    labels[labels == label_pad_token_id] = 0
    per_token_logps = torch.gather(logits.log_softmax(-1), dim=2, index=labels.unsqueeze(2)).squeeze(2)
    return (per_token_logps * loss_mask).sum(-1), loss_mask.sum(-1)


def dpo_loss(loss_type, beta, pc, pr, rc, rr, label_smoothing=0.0):
    # TRL DPOTrainer.dpo_loss (0.7.x-0.11) for sigmoid (with label_smoothing), hinge, ipo and kto_pair.
    pi_logratios = pc - pr
    ref_logratios = rc - rr
    logits = pi_logratios - ref_logratios
    if loss_type == "sigmoid":
        losses = (-F.logsigmoid(beta * logits) * (1 - label_smoothing)
                  - F.logsigmoid(-beta * logits) * label_smoothing)
    elif loss_type == "hinge":
        losses = torch.relu(1 - beta * logits)
    elif loss_type == "ipo":
        losses = (logits - 1 / (2 * beta)) ** 2
    elif loss_type == "kto_pair":
        chosen_KL = (pc - rc).mean().clamp(min=0)
        rejected_KL = (pr - rr).mean().clamp(min=0)
        chosen_logratios = pc - rc
        rejected_logratios = pr - rr
        losses = torch.cat(
            (
                1 - F.sigmoid(beta * (chosen_logratios - rejected_KL)),
                1 - F.sigmoid(beta * (chosen_KL - rejected_logratios)),
            ),
            0,
        )
    else:
        raise ValueError(loss_type)
    chosen_rewards = beta * (pc - rc).detach()
    rejected_rewards = beta * (pr - rr).detach()
    return losses, chosen_rewards, rejected_rewards


def preference(req):
    dt = float_dtype(req)
    beta = req["beta"]
    chosen_logits = tensor(req["chosen_logits"], dt).requires_grad_(True)
    rejected_logits = tensor(req["rejected_logits"], dt).requires_grad_(True)
    pc, nc = get_batch_logps(chosen_logits, tensor(req["chosen_labels"], torch.int64))
    pr, nr = get_batch_logps(rejected_logits, tensor(req["rejected_labels"], torch.int64))
    rc = tensor(req["ref_chosen"], dt)
    rr = tensor(req["ref_rejected"], dt)
    loss_type = req["loss_type"]
    sum_pc, sum_pr = pc, pr
    if loss_type == "ipo":
        # TRL concatenated_forward: for IPO every log-prob (policy and reference forward alike) is
        # divided by the completion's token count.
        pc, pr, rc, rr = pc / nc, pr / nr, rc / nc, rr / nr
    if loss_type == "hsa_dpo":
        w_r = tensor(req["severity"], dt)
        logits = (pc - w_r * pr) - (rc - w_r * rr)
        losses = -F.logsigmoid(beta * logits)
        chosen_rewards = beta * (pc - rc).detach()
        rejected_rewards = beta * (pr - rr).detach()
    else:
        losses, chosen_rewards, rejected_rewards = dpo_loss(loss_type, beta, pc, pr, rc, rr, req.get("label_smoothing", 0.0))
    loss = losses.mean()
    nll = (-sum_pc / nc.to(dt)).mean()
    if req["rpo_weight"] != 0:
        loss = loss + req["rpo_weight"] * nll
    loss.backward()
    return {
        "loss": loss.item(),
        "policy_chosen": out(sum_pc),
        "policy_rejected": out(sum_pr),
        "grad_chosen": out(chosen_logits.grad),
        "grad_rejected": out(rejected_logits.grad),
        "reward_chosen": chosen_rewards.mean().item(),
        "reward_rejected": rejected_rewards.mean().item(),
        "reward_margin": (chosen_rewards - rejected_rewards).mean().item(),
        "reward_accuracy": (chosen_rewards > rejected_rewards).float().mean().item(),
        "chosen_nll": nll.item(),
    }


def cosine_schedule(req):
    # transformers.get_cosine_schedule_with_warmup's lr_lambda, via torch's LambdaLR.
    import math
    total, cycles = req["total_steps"], req.get("num_cycles", 0.5)
    # transformers.TrainingArguments.get_warmup_steps
    warmup = req["warmup_steps"] if req["warmup_steps"] > 0 else math.ceil(total * req["warmup_ratio"])

    def lr_lambda(current_step):
        if current_step < warmup:
            return float(current_step) / float(max(1, warmup))
        progress = float(current_step - warmup) / float(max(1, total - warmup))
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(cycles) * 2.0 * progress)))

    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=req["base_lr"])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
    lrs = []
    for _ in range(total + 1):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return {"lrs": lrs, "warmup_steps": warmup}


def fused_head(req):
    """The fused head + loss against the unfused computation: logits = hidden @ weight.T materialised in float64,
    then the token-mean cross-entropy, the top-k + tail bucket KL (as mimic_topk) and the full KL to a teacher head;
    gradients of the hidden states and of the head matrix."""
    targets = tensor(req["targets"], torch.int64)
    ids = tensor(req["ids"], torch.int64)
    p_top = tensor(req["teacher_logprobs"], torch.float64).exp()
    p_tail = tensor(req["teacher_tail"], torch.float64).exp()
    teacher_logits = tensor(req["teacher_hidden"], torch.float64) @ tensor(req["teacher_weight"], torch.float64).T
    result = {}
    for name in ("ce", "topk", "kl"):
        hidden = tensor(req["hidden"], torch.float64).requires_grad_(True)
        weight = tensor(req["weight"], torch.float64).requires_grad_(True)
        logits = hidden @ weight.T
        if name == "ce":
            loss = F.cross_entropy(logits, targets)
        elif name == "topk":
            p_s = F.softmax(logits, dim=-1)
            q_top = torch.gather(p_s, -1, ids)
            in_top = torch.zeros_like(p_s, dtype=torch.bool).scatter_(-1, ids, True)
            q_tail = (p_s * (~in_top)).sum(-1)
            kl = (p_top * (torch.log(p_top) - torch.log(q_top))).sum(-1)
            tail = torch.where(p_tail > 0, p_tail * (torch.log(p_tail) - torch.log(q_tail)), torch.zeros_like(p_tail))
            loss = (kl + tail).mean()
        else:
            loss = F.kl_div(F.log_softmax(logits, -1), F.log_softmax(teacher_logits, -1), reduction="none", log_target=True).sum(-1).mean()
        loss.backward()
        result[name] = {"loss": loss.item(), "grad_hidden": out(hidden.grad), "grad_weight": out(weight.grad)}
    return result


KINDS = {"mimic_full": mimic_full, "mimic_topk": mimic_topk, "sft": sft, "preference": preference,
         "cosine_schedule": cosine_schedule, "fused_head": fused_head}

if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        request = json.load(f)
    result = KINDS[request["kind"]](request)
    with open(sys.argv[2], "w") as f:
        json.dump(result, f)
