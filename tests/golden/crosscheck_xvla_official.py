# SPDX-License-Identifier: Apache-2.0
#
# Cross-checks the X-VLA goldens against the OFFICIAL implementation: loads
# tests/golden/xvla_tiny/ with 2toinf/X-VLA's own XVLA.from_pretrained, runs
# generate_actions on the golden inputs with the same hooks (xvla_capture.py),
# and prints max |official - golden| for every stage. Also verifies the
# checkpoint format (key set, shapes, values, config round trip) and that
# inputs.image_input is exactly what the checkpoint's CLIPImageProcessor makes of
# the underlying uint8 pixels.
#
# The official code is NOT part of this repository. Fetch 2toinf/X-VLA (or the
# fork lihaolin2000/X-VLA) at 6bc2513 and copy its models/ folder somewhere, e.g.
#   git -C <mirror> archive 6bc2513 models | tar -x -C /tmp/xvla_official
# It needs transformers<=4.51 (vendored Florence-2), so it runs in its own venv:
#   /root/.pyenv/versions/3.12.1/bin/python -m venv --system-site-packages /work/pyref451
#   /work/pyref451/bin/pip install transformers==4.51.3 timm==1.0.12 einops==0.8.2 json_numpy fastapi
# Then, from the repository root:
#   /work/pyref/bin/python tests/golden/make_xvla_goldens.py --full-dump /tmp/xvla_full.safetensors
#   /work/pyref451/bin/python tests/golden/crosscheck_xvla_official.py \
#       --official /tmp/xvla_official --reference /tmp/xvla_full.safetensors
# (--reference defaults to xvla_tiny/golden.safetensors, which holds a subset.)
# cv2 and uvicorn are imported by the official modeling_xvla.py for its HTTP
# server only; they are replaced by empty stub modules here.
#
# Exit status 1 if any tensor differs by more than --rel-tol relative to its
# largest magnitude, or if any format check fails.

from __future__ import annotations

import argparse
import json
import sys
import types
from pathlib import Path

import numpy as np
import torch
import transformers
import transformers.modeling_utils  # noqa: F401  (import before the cv2 stub: it probes cv2's spec)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from xvla_capture import ModuleSet, run_generate, valid_view_map  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import load_file  # noqa: E402


def import_official(path: Path):
    for name in ("cv2", "uvicorn", "json_numpy", "fastapi", "fastapi.responses"):
        try:
            __import__(name)
        except ImportError:
            stub = types.ModuleType(name)
            stub.FastAPI = stub.JSONResponse = object
            sys.modules[name] = stub
    sys.path.insert(0, str(path))
    from models.configuration_xvla import XVLAConfig
    from models.modeling_xvla import XVLA
    return XVLA, XVLAConfig


def module_set(model) -> ModuleSet:
    vlm, vt = model.vlm, model.vlm.vision_tower
    return ModuleSet(
        vision_convs=list(vt.convs), vision_blocks=[list(b) for b in vt.blocks],
        pos_embed=vlm.image_pos_embed, temporal_embed=vlm.visual_temporal_embed,
        proj_norm=vlm.image_proj_norm, proj_linear=None,
        token_embedding=vlm.language_model.model.shared, encoder=vlm.language_model.model.encoder,
        policy=model.transformer, pos_embed_layout="nhwc",
    )


def check_format(ckpt: Path, XVLA, XVLAConfig) -> tuple[object, list]:
    problems = []
    model, info = XVLA.from_pretrained(str(ckpt), torch_dtype=torch.float32, output_loading_info=True)
    model = model.to(torch.float32).eval()
    for what in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        if info.get(what):
            problems.append(f"from_pretrained {what}: {info[what]}")
    file_sd = load_file(str(ckpt / "model.safetensors"))
    model_sd = model.state_dict()
    tied = {"vlm.language_model.model.encoder.embed_tokens.weight"}
    if set(model_sd) - tied != set(file_sd):
        problems.append(f"key sets differ: model-only {sorted(set(model_sd) - tied - set(file_sd))}, "
                        f"file-only {sorted(set(file_sd) - set(model_sd))}")
    for k, v in file_sd.items():
        if k in model_sd and not torch.equal(model_sd[k], v):
            problems.append(f"{k}: loaded value differs from file")
    fresh = XVLA(model.config)  # buffers as the official code computes them
    for buf in ("vlm.visual_temporal_embed.pos_idx_to_embed", "vlm.language_model.final_logits_bias"):
        if not torch.equal(fresh.state_dict()[buf], file_sd[buf]):
            problems.append(f"{buf}: file value differs from the official constructor's")
    print(f"format: {len(file_sd)} tensors in file, {len(model_sd)} in the official state_dict "
          f"(tied alias {sorted(tied)} not stored)")

    on_disk = json.loads((ckpt / "config.json").read_text())
    # what the official save_pretrained would write for this config (use_diff=True)
    again = json.loads(XVLAConfig.from_pretrained(str(ckpt)).to_json_string(use_diff=True))
    for k in sorted(set(on_disk) | set(again)):
        if k in ("transformers_version",):
            continue
        if on_disk.get(k) != again.get(k):
            problems.append(f"config.json field {k}: file {str(on_disk.get(k))[:200]} "
                            f"vs official save {str(again.get(k))[:200]}")
    return model, problems


def check_image_processor(ckpt: Path, image_input: torch.Tensor, image_mask: torch.Tensor) -> list:
    """Recover the uint8 pixels behind the float input and re-run the official
    preprocessing (CLIPImageProcessor from preprocessor_config.json) on them."""
    from PIL import Image
    proc = transformers.AutoImageProcessor.from_pretrained(str(ckpt), use_fast=False)
    mean = torch.tensor(proc.image_mean, dtype=torch.float32).view(3, 1, 1)
    std = torch.tensor(proc.image_std, dtype=torch.float32).view(3, 1, 1)
    problems = []
    for b, v in valid_view_map(image_mask):
        x = image_input[b, v]
        u8 = ((x * std + mean) * 255).round().clamp(0, 255).to(torch.uint8)
        img = Image.fromarray(u8.permute(1, 2, 0).numpy())
        out = torch.from_numpy(np.asarray(proc(img, return_tensors="np")["pixel_values"][0]))
        if not torch.equal(out, x):
            problems.append(f"image b{b} view{v}: processor output differs, max {float((out - x).abs().max()):.3e}")
    print(f"image processor: {type(proc).__name__} reproduces inputs.image_input bit-exactly"
          if not problems else "image processor: MISMATCH")
    return problems


def derived_projector_tokens(cap: dict) -> None:
    """The vendored _encode_image adds position + temporal embeddings inline (no
    module boundary); rebuild those two tensors from captured pieces."""
    pos, tmp = cap["proj.pos_embed"], cap["proj.temporal_embed"]
    for k in [k for k in cap if k.endswith(".features")]:
        b_v = k[len("vision."):-len(".features")]
        x = cap[k] + pos + tmp
        cap[f"proj.{b_v}.pos_temporal"] = x
        cap[f"proj.{b_v}.tokens"] = torch.cat([x.mean(0, keepdim=True), x], 0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--official", type=Path, required=True, help="folder containing the official models/")
    ap.add_argument("--ckpt", type=Path, default=HERE / "xvla_tiny")
    ap.add_argument("--reference", type=Path, default=HERE / "xvla_tiny" / "golden.safetensors")
    ap.add_argument("--rel-tol", type=float, default=1e-5)
    args = ap.parse_args()
    torch.set_num_threads(1)

    XVLA, XVLAConfig = import_official(args.official)
    print(f"official code: {args.official}; torch {torch.__version__}, transformers {transformers.__version__}")
    model, problems = check_format(args.ckpt, XVLA, XVLAConfig)

    ref = load_file(str(args.reference))
    with safe_open(str(args.reference), "pt") as f:
        steps = int(f.metadata()["steps"])
    inputs = {k[len("inputs."):]: v for k, v in ref.items() if k.startswith("inputs.")}
    problems += check_image_processor(args.ckpt, inputs["image_input"], inputs["image_mask"])

    cap = run_generate(model, module_set(model), inputs, steps, valid_view_map(inputs["image_mask"]))
    derived_projector_tokens(cap)

    worst = 0.0
    print(f"\n{'tensor':46s} {'shape':18s} {'max|ref|':>10s} {'max|off-ref|':>12s} {'rel':>9s}")
    for k in sorted(ref):
        if k.startswith("inputs."):
            continue
        if k not in cap:
            problems.append(f"{k}: not produced by the official run")
            continue
        a, b = cap[k], ref[k]
        if a.shape != b.shape:
            problems.append(f"{k}: shape {list(a.shape)} vs reference {list(b.shape)}")
            continue
        if not a.is_floating_point():
            if not torch.equal(a, b):
                problems.append(f"{k}: integer tensor differs")
            continue
        d = float((a.double() - b.double()).abs().max())
        scale = float(b.abs().max())
        rel = d / scale if scale else d
        worst = max(worst, rel)
        flag = "  <-- exceeds rel-tol" if rel > args.rel_tol else ""
        print(f"{k:46s} {str(list(b.shape)):18s} {scale:10.4g} {d:12.3e} {rel:9.2e}{flag}")
        if rel > args.rel_tol:
            problems.append(f"{k}: rel diff {rel:.2e} > {args.rel_tol:g}")
    print(f"\ncompared {sum(1 for k in ref if not k.startswith('inputs.'))} tensors; worst rel diff {worst:.2e}")
    if problems:
        print("PROBLEMS:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print("OK: official implementation matches the reference")


if __name__ == "__main__":
    main()
