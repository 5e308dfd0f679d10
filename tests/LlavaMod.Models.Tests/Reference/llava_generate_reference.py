"""Greedy LLaVA answers in plain PyTorch for TextGenerator's LLaVA path: the benchmark peer's LlavaModel.generate
(tests/LlavaMod.Benchmarks/peers/llava_demo_model.py, copied beside this script) on the weights the test wrote.
usage: /usr/bin/python3 llava_generate_reference.py case.json result.json"""
import json, os, sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llava_demo_model import LlavaModel  # noqa: E402
from llava_stage_bench import load_safetensors  # noqa: E402

with open(sys.argv[1]) as f:
    case = json.load(f)
torch.set_num_threads(1)
model = LlavaModel("demo-student", case["subset"])
model.load_state_dict(load_safetensors(case["weights"]), strict=True)
model.eval()
pixels = torch.tensor(case["pixels"], dtype=torch.float32).view(-1, 3, 48, 48)
tokens = model.generate(case["prompts"], pixels, case["stop"], case["max_new_tokens"])
with open(sys.argv[2], "w") as f:
    json.dump({"tokens": tokens}, f)
