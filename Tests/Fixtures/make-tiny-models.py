#!/usr/bin/env python3
"""Makes the two tiny checkpoints lolpim's tests read, and their golden outputs from transformers.

    python3 -m venv /tmp/hfvenv
    /tmp/hfvenv/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu
    /tmp/hfvenv/bin/pip install transformers safetensors numpy
    /tmp/hfvenv/bin/python Tests/Fixtures/make-tiny-models.py

It writes Tests/Fixtures/tiny-llama-gqa/ and Tests/Fixtures/tiny-qwen2/: each a HuggingFace checkpoint
(config.json, model.safetensors in BF16) and golden.json. The models are randomly initialised with a fixed seed,
at dimensions that exercise lolpim's mappings (head dimension and hidden size multiples of 16, heads, KV heads and
FFN divisible by 2 for tp 2, four layers for several per stage, fewer heads than a module's 32 channels).

golden.json holds, for each prompt: the prompt's token ids; `continuation`, the ids transformers' own greedy
generate() gives from the prompt (in float32); and `logits`, one list per decode step under teacher forcing (the
prompt, then the continuation fed back): the next-token logits after the last prompt token and after each
continuation token, in float32. The build, the tests and CI never run this script; they read what it wrote.
"""
import json
import os

import numpy as np
import torch
from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

HERE = os.path.dirname(os.path.abspath(__file__))
COMMON = dict(
    hidden_size=128, intermediate_size=256, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
    vocab_size=256, max_position_embeddings=2048, initializer_range=0.2)
MODELS = {
    "tiny-llama-gqa": LlamaConfig(
        **COMMON, rms_norm_eps=1e-5, rope_theta=500000.0, tie_word_embeddings=False,
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                      "original_max_position_embeddings": 8192}),
    "tiny-qwen2": Qwen2Config(**COMMON, rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True),
}
PROMPT_LENGTHS = [5, 17, 40]
STEPS = 16


def make(name, config, seed):
    torch.manual_seed(seed)
    directory = os.path.join(HERE, name)
    model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32)
    model.to(torch.bfloat16).save_pretrained(directory, safe_serialization=True)
    # The reference: the saved BF16 weights, computed in float32.
    model = AutoModelForCausalLM.from_pretrained(directory, torch_dtype=torch.float32).eval()
    rng = np.random.default_rng(seed)
    cases = []
    for length in PROMPT_LENGTHS:
        prompt = rng.integers(0, config.vocab_size, size=length).tolist()
        ids = torch.tensor([prompt])
        with torch.no_grad():
            out = model.generate(ids, max_new_tokens=STEPS, do_sample=False, pad_token_id=0, eos_token_id=None)
            continuation = out[0, length:].tolist()
            full = torch.tensor([prompt + continuation])
            logits = model(full).logits[0, length - 1:length - 1 + STEPS].float().numpy()
        cases.append({"prompt": prompt, "continuation": continuation,
                      "logits": [[float(np.float32(v)) for v in row] for row in logits]})
    with open(os.path.join(directory, "golden.json"), "w") as f:
        json.dump({"model": name, "dtype": "float32 computation of the BF16 weights", "steps": STEPS,
                   "cases": cases}, f)
    print(name, sum(os.path.getsize(os.path.join(directory, n)) for n in os.listdir(directory)), "bytes")


if __name__ == "__main__":
    for i, (name, config) in enumerate(MODELS.items()):
        make(name, config, seed=20261206 + i)
