# SPDX-License-Identifier: Apache-2.0
#
# gen_torch_refs.py: writes the PyTorch/transformers reference outputs that
# tests/ops/cpu_torch_reference_test.cc compares the CPU backend against.
#
# Run from the repository root with the reference environment:
#   /work/pyref/bin/python tests/ops/data/gen_torch_refs.py
# (torch 2.11, transformers 5.5.4). It rewrites tests/ops/data/*.f32: raw
# little-endian float32 (int32 for *.i32), row-major, shapes listed below and in the
# test. Seeds are fixed, so reruns produce the same inputs; outputs may move by an ulp
# across torch versions, which the test's tolerances cover.
#
# What each case pins down (the interpretations backend.h asks us to match):
#  rope_gemma_*       transformers GemmaRotaryEmbedding + apply_rotary_pos_emb (pi0's RoPE):
#                     x [1, 5, 2, 256] as [B, S, H, D], positions [1, 5], theta 10000.
#  channel_attn_*     transformers Florence2VisionChannelAttention core (qkv given, proj
#                     skipped): qkv [1, 49, 192] -> out [1, 49, 64], groups 2 (d 32).
#  gqa_attn_*         transformers eager_attention_forward with repeat_kv (Gemma GQA) and an
#                     additive mask using openpi's -2.3819763e38, one query row fully
#                     masked: q [1, 4, 8, 16], k, v [1, 6, 2, 16] (as [B, S, H, D]),
#                     mask [1, 4, 6], scale 0.25 -> out [1, 4, 8, 16].
import pathlib

import numpy as np
import torch
from transformers.models.florence2 import modeling_florence2 as fl2
from transformers.models.gemma import modeling_gemma as gemma
from transformers.models.gemma.configuration_gemma import GemmaConfig

OUT = pathlib.Path(__file__).resolve().parent


def save(name, t):
    arr = t.detach().contiguous().numpy()
    if arr.dtype == np.float32:
        path = OUT / f"{name}.f32"
    elif arr.dtype == np.int32:
        path = OUT / f"{name}.i32"
    else:
        raise ValueError(f"{name}: unexpected dtype {arr.dtype}")
    arr.astype(arr.dtype.newbyteorder("<")).tofile(path)
    print(f"{path.name}: {list(arr.shape)}")


def rope_gemma():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 5, 2, 256, generator=g)  # [B, S, H, D]
    positions = torch.tensor([[0, 1, 17, 255, 1023]], dtype=torch.int32)
    cfg = GemmaConfig(hidden_size=512, num_attention_heads=2, num_key_value_heads=1,
                      head_dim=256, rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
    rotary = gemma.GemmaRotaryEmbedding(cfg)
    cos, sin = rotary(x, positions.long())  # [B, S, D]
    out, _ = gemma.apply_rotary_pos_emb(x, x, cos, sin, unsqueeze_dim=2)
    save("rope_gemma_x", x)
    save("rope_gemma_positions", positions)
    save("rope_gemma_out", out)


def channel_attention():
    g = torch.Generator().manual_seed(2)
    cfg = fl2.Florence2VisionConfig(embed_dim=[64, 128, 256, 512], num_groups=[2, 4, 8, 16])
    cfg._attn_implementation = "eager"
    module = fl2.Florence2VisionChannelAttention(cfg, stage_idx=0).eval()
    qkv = torch.randn(1, 49, 192, generator=g)  # [B, N, 3C]
    class GivenQkv(torch.nn.Module):
        def forward(self, hidden):
            return qkv

    module.qkv = GivenQkv()
    module.proj = torch.nn.Identity()
    with torch.no_grad():
        out = module(torch.zeros(1, 49, 64))  # [B, N, C], channels ordered (G, d)
    save("channel_attn_qkv", qkv)
    save("channel_attn_out", out)


def gqa_attention():
    g = torch.Generator().manual_seed(3)
    q = torch.randn(1, 4, 8, 16, generator=g)  # [B, Sq, Hq, D]
    k = torch.randn(1, 6, 2, 16, generator=g)  # [B, Sk, Hkv, D]
    v = torch.randn(1, 6, 2, 16, generator=g)
    allowed = torch.tensor([[1, 1, 1, 0, 0, 0],
                            [1, 1, 1, 1, 0, 0],
                            [0, 0, 0, 0, 0, 0],   # fully masked query row
                            [1, 1, 1, 1, 1, 1]], dtype=torch.bool)
    mask = torch.where(allowed, 0.0, -2.3819763e38).to(torch.float32)[None]  # [B, Sq, Sk]

    class Holder(torch.nn.Module):
        num_key_value_groups = 4
        training = False

    out, _ = gemma.eager_attention_forward(
        Holder(), q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
        mask[:, None], scaling=0.25)  # returns [B, Sq, Hq, D]
    save("gqa_attn_q", q)
    save("gqa_attn_k", k)
    save("gqa_attn_v", v)
    save("gqa_attn_mask", mask)
    save("gqa_attn_out", out)


if __name__ == "__main__":
    torch.set_num_threads(1)
    rope_gemma()
    channel_attention()
    gqa_attention()
