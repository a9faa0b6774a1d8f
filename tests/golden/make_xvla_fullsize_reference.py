# SPDX-License-Identifier: Apache-2.0
#
# Full-size X-VLA reference: runs LeRobot 0.6.1's X-VLA (fp32, CPU) on a real-size
# checkpoint in the official format and writes the inputs and the stage tensors of one
# generate_actions call to a safetensors file, for tests/models/xvla_fullsize_test.cc.
# Nothing it writes is committed (the checkpoint is 3.5 GB; the reference ~0.3 GB).
#
# Run from the repository root (about 5 minutes on 2 quiet cores; peak 11.7 GB resident,
# during the fp64 rerun):
#
#   ./build/vlart make-synthetic --arch xvla --size full --seed 7 --out /work/xvla-full
#   /work/pyref/bin/python tests/golden/make_xvla_fullsize_reference.py --model /work/xvla-full
#   VLART_XVLA_FULL_DIR=/work/xvla-full ./build/tests/models/models_xvla_fullsize_test
#
# Options: --out (default MODEL/xvla_fullsize_reference.safetensors), --threads (torch
# CPU threads, default all cores), --time-runs N (untraced generate_actions calls timed
# after the captured one, default 3), --no-fp64 (skip the fp64 rerun that measures the
# reference's own rounding noise; the C++ test then falls back to 4 ulp of max|ref|).
#
# Inputs (one LIBERO-style request, batch 1, built exactly as the official server does;
# xvla_reference.official_inputs):
#   - two 256x256 uint8 RGB synthetic photos (stored as inputs.views_u8 so the C++ test
#     can also check vlart's own image processor), then the empty third slot;
#   - a LIBERO instruction tokenized with the checkpoint's tokenizer.json as
#     BartTokenizerFast(..., padding="max_length", max_length=50, truncation=True);
#   - an ee6d proprio (pos, rot6d as matrix columns, gripper 0.7, second arm zeros);
#   - domain 3, 10 steps, x1 ~ N(0, 1) injected in place of torch.randn.
# Tensor names follow tests/golden/README.md (same capture hooks, xvla_capture.py);
# metadata holds fp32_vs_fp64_maxabs per tensor, the timings, versions and the
# checkpoint's sha256.

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from xvla_capture import injected_noise, run_generate, valid_view_map  # noqa: E402
from xvla_reference import (  # noqa: E402
    check_against_clip_processor, load_official_checkpoint, module_set, official_inputs, save_sorted, versions)

SEED = 20261122
STEPS = 10
DOMAIN = 3
INSTRUCTION = "put both the alphabet soup and the tomato sauce in the basket"  # LIBERO-10
VIEW_SIZE = 256  # LIBERO camera frames


def synthetic_view(gen: torch.Generator) -> np.ndarray:
    """uint8 [256, 256, 3]: smooth colour field + texture + rectangles + pixel noise, so the
    bicubic resize and every DaViT stage see non-trivial content."""
    s = VIEW_SIZE
    x = F.interpolate(torch.rand(1, 3, 6, 6, generator=gen), size=(s, s), mode="bicubic", align_corners=False)[0]
    x = x + F.interpolate(torch.rand(1, 3, 32, 32, generator=gen) * 0.25, size=(s, s), mode="bilinear",
                          align_corners=False)[0]
    for _ in range(8):
        y0, x0 = torch.randint(0, s - 24, (2,), generator=gen).tolist()
        h, w = torch.randint(12, 96, (2,), generator=gen).tolist()
        x[:, y0:y0 + h, x0:x0 + w] = torch.rand(3, 1, 1, generator=gen)
    x = x + 0.03 * torch.randn(x.shape, generator=gen)
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).contiguous().numpy()


def libero_proprio(gen: torch.Generator) -> np.ndarray:
    """f64 [20] as the LIBERO client sends it: pos, rot6d = first two matrix columns, grip."""
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=gen, dtype=torch.float64))
    p = np.zeros(20)
    p[0:3] = [0.08, -0.21, 1.05]
    p[3:9] = torch.cat([q[:, 0], q[:, 1]]).numpy()
    p[9] = 0.7  # the model must zero it
    return p


def keep(name: str, depths: list) -> bool:
    """Every DaViT block of view (0, 0); stage-2 output and features of view (0, 1);
    the full policy sequence for step 0 only; everything else."""
    if name.startswith("vision.b0.view1."):
        return name.endswith((".features", f"stage2.block{depths[2] - 1}.channel"))
    if name.startswith("policy.step") and not name.startswith("policy.step0."):
        return name.rsplit(".", 1)[1] in ("t", "x_t", "x0", "action_tokens", "action_embed")
    return name != "policy.domain_id"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            h.update(chunk)
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--time-runs", type=int, default=3)
    ap.add_argument("--no-fp64", action="store_true")
    args = ap.parse_args()
    out_path = args.out or args.model / "xvla_fullsize_reference.safetensors"
    torch.set_num_threads(args.threads)

    # 1. inputs, the official way ---------------------------------------------
    gen = torch.Generator().manual_seed(SEED)
    views = [synthetic_view(gen), synthetic_view(gen)]
    proprio = libero_proprio(gen)
    inputs = official_inputs(args.model, views, INSTRUCTION, proprio, DOMAIN)
    inputs["noise"] = torch.randn(1, 30, 20, generator=gen)
    for v, u8 in enumerate(views):
        print(f"view {v}: {check_against_clip_processor(args.model, u8, inputs['image_input'][0, v])}")
    n_tok = int((inputs["input_ids"][0] != 1).sum())
    print(f"instruction: {n_tok} tokens incl. <s> </s>: {inputs['input_ids'][0, :n_tok].tolist()}")

    # 2. the reference, captured ---------------------------------------------
    t0 = time.perf_counter()
    cfg_json, model = load_official_checkpoint(args.model)
    print(f"loaded {args.model} in {time.perf_counter() - t0:.1f} s (keys and values checked)")
    depths = cfg_json["florence_config"]["vision_config"]["depths"]
    view_map = valid_view_map(inputs["image_mask"])
    t0 = time.perf_counter()
    cap = run_generate(model, module_set(model), inputs, STEPS, view_map)
    captured_s = time.perf_counter() - t0
    print(f"captured {len(cap)} tensors in {captured_s:.1f} s")

    # 3. timing: untraced calls ----------------------------------------------
    times = []
    for _ in range(args.time_runs):
        with torch.no_grad(), injected_noise(inputs["noise"]):
            t0 = time.perf_counter()
            act = model.generate_actions(input_ids=inputs["input_ids"], image_input=inputs["image_input"],
                                         image_mask=inputs["image_mask"], domain_id=inputs["domain_id"],
                                         proprio=inputs["proprio"], steps=STEPS)
            times.append(time.perf_counter() - t0)
        if not torch.equal(act, cap["output.actions"]):
            raise RuntimeError("untraced call gave other actions than the captured one")
    if times:
        print(f"generate_actions, fp32, {torch.get_num_threads()} threads: "
              f"{', '.join(f'{t:.2f}' for t in times)} s (median {statistics.median(times):.2f} s)")

    # 4. the reference's own rounding noise: same code in fp64 -----------------
    deltas = {}
    if not args.no_fp64:
        model = model.double()
        model._get_target_dtype = lambda: torch.float64
        t0 = time.perf_counter()
        cap64 = run_generate(model, module_set(model), inputs, STEPS, view_map)
        print(f"fp64 rerun in {time.perf_counter() - t0:.1f} s")
        for k, v in cap.items():
            if v.is_floating_point() and keep(k, depths):
                deltas[k] = float((v.double() - cap64[k]).abs().max())
        del cap64
    del model

    # 5. write ---------------------------------------------------------------
    tensors = {f"inputs.{k}": v.contiguous() for k, v in inputs.items()}
    tensors["inputs.views_u8"] = torch.from_numpy(np.stack(views))
    tensors.update({k: v for k, v in cap.items() if keep(k, depths)})
    meta = {
        "format": "vlart-golden-v1",
        "model": f"{args.model} (sha256 {sha256_of(args.model / 'model.safetensors')})",
        "reference": "lerobot.policies.xvla XVLAModel.generate_actions (native transformers Florence-2), fp32 CPU",
        "instruction": INSTRUCTION, "steps": str(STEPS), "seed": str(SEED),
        "threads": str(torch.get_num_threads()),
        "generate_actions_seconds": json.dumps([round(t, 3) for t in times]),
        "script": "tests/golden/make_xvla_fullsize_reference.py",
        **versions(),
    }
    if deltas:
        meta["fp32_vs_fp64_maxabs"] = json.dumps({k: float(f"{v:.3e}") for k, v in sorted(deltas.items())})
    save_sorted(tensors, out_path, meta)
    n_bytes = sum(v.numel() * v.element_size() for v in tensors.values())
    print(f"wrote {out_path} ({len(tensors)} tensors, {n_bytes / 1e6:.1f} MB)")
    if deltas:
        worst = max((v, k) for k, v in deltas.items())
        print(f"largest fp32-vs-fp64 delta: {worst[0]:.3e} at {worst[1]}; "
              f"actions: {deltas['output.actions']:.3e}")


if __name__ == "__main__":
    main()
