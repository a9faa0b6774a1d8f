# SPDX-License-Identifier: Apache-2.0
#
# How large are typical implementation mistakes compared to fp32 rounding? Runs
# the LeRobot reference on the golden checkpoint/inputs with one deliberate
# deviation at a time and prints max |deviant - golden| at a few stages. The
# numbers in README.md ("Sensitivity") come from this script; use them to check
# that a comparison tolerance is far below the errors it must catch.
#
#   /work/pyref/bin/python tests/golden/make_xvla_goldens.py --full-dump /tmp/xvla_full.safetensors
#   /work/pyref/bin/python tests/golden/xvla_sensitivity.py /tmp/xvla_full.safetensors
#
# Needs the full dump (the committed golden file lacks some of the printed stages).

from __future__ import annotations

import sys
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.models.florence2 import modeling_florence2 as nf

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_xvla_goldens as mk  # noqa: E402
from xvla_capture import run_generate, valid_view_map  # noqa: E402

SHOW = ["vision.b0.view0.stage0.block0.spatial", "vision.b0.view0.stage3.block0.spatial",
        "vision.b0.view0.features", "vlm.vlm_features", "policy.step0.block0", "output.actions"]
_deviation: dict = {}


def _probe_attention(module, q, k, v, attention_mask, scaling=None, **kw):
    """DaViT attention with optional deviations (registered as an attention backend)."""
    if isinstance(module, nf.Florence2VisionWindowAttention) and _deviation.get("mask_padded_keys"):
        h, w = _deviation["hw"][module]
        ws = module.window_size
        hp, wp = h + (-h) % ws, w + (-w) % ws
        valid = torch.zeros(hp, wp, dtype=torch.bool)
        valid[:h, :w] = True
        valid = valid.view(hp // ws, ws, wp // ws, ws).permute(0, 2, 1, 3).reshape(-1, ws * ws)
        valid = valid.repeat(q.shape[0] // valid.shape[0], 1)
        attention_mask = torch.zeros(q.shape[0], 1, 1, ws * ws).masked_fill(~valid[:, None, None, :], float("-inf"))
    if isinstance(module, nf.Florence2VisionChannelAttention) and _deviation.get("channel_scale_head_dim"):
        scaling = q.shape[-2] ** -0.5  # q is [B, groups, 32, N]: 32^-0.5 instead of N^-0.5
    return sdpa_attention_forward(module, q, k, v, attention_mask, scaling=scaling, **kw)


def main() -> None:
    torch.set_num_threads(1)
    ref = load_file(sys.argv[1])
    inputs = {k[len("inputs."):]: v for k, v in ref.items() if k.startswith("inputs.")}
    off = load_file(str(HERE / "xvla_tiny" / "model.safetensors"))
    sd = mk.lerobot_state_dict_from_official(off)
    AttentionInterface.register("golden_probe", _probe_attention)

    def fresh():
        m = mk.build_lerobot_model(mk.official_config())
        m.load_state_dict(sd, strict=True)
        m.vlm.vision_tower.config._attn_implementation = "golden_probe"
        for mod in m.modules():
            if isinstance(mod, nf.Florence2VisionWindowAttention):
                mod.register_forward_pre_hook(lambda mo, a: _deviation.setdefault("hw", {}).__setitem__(mo, a[0].shape[1:3]))
        return m

    def report(name, m):
        out = run_generate(m, mk.module_set(m), inputs, mk.STEPS, valid_view_map(inputs["image_mask"]))
        cells = " | ".join(f"{float((out[k] - ref[k]).abs().max()):.1e}" for k in SHOW)
        print(f"| {name} | {cells} |")

    print("| deviation | " + " | ".join(f"`{k}`" for k in SHOW) + " |")
    print("|---" * (len(SHOW) + 1) + "|")
    report("none (same code again)", fresh())
    _deviation["mask_padded_keys"] = True
    report("window attention masks the padded keys", fresh())
    _deviation.clear()
    _deviation["channel_scale_head_dim"] = True
    report("channel attention scaled by 32^-0.5 instead of N^-0.5", fresh())
    _deviation.clear()
    m = fresh()
    for mod in m.modules():
        if isinstance(mod, nf.Florence2VisionMLP):
            mod.activation_fn = torch.nn.GELU(approximate="tanh")
    report("DaViT GELU tanh instead of erf", m)
    m = fresh()
    for layer in m.vlm.language_model.encoder.layers:
        layer.activation_fn = torch.nn.GELU(approximate="tanh")
    report("BART GELU tanh instead of erf", m)
    m = fresh()
    for blk in m.transformer.blocks:
        blk.mlp.act = torch.nn.GELU()
    report("policy GELU erf instead of tanh", m)
    m = fresh()
    for mod in m.modules():
        if isinstance(mod, torch.nn.LayerNorm):
            mod.eps = 1e-6
    report("LayerNorm eps 1e-6 instead of 1e-5 (everywhere)", m)
    m = fresh()
    m.vlm.language_model.encoder.embed_positions.offset = 0
    report("BART positions without the +2 offset", m)
    m = fresh()
    with torch.no_grad():
        m.transformer.aux_visual_proj.bias.zero_()
    report("aux_visual_proj bias dropped", m)
    m = fresh()
    with torch.no_grad():
        m.vlm.vision_tower.blocks[2][1].spatial_block.window_attn.qkv.bias.zero_()
    report("one DaViT qkv bias dropped (stage 2, block 1)", m)


if __name__ == "__main__":
    main()
