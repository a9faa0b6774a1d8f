#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# How far openpi's own bf16 inference lands from its float32 goldens on the tiny pi0 / pi0.5
# checkpoints (tests/golden/pi0/): relative L2 per stage. tests/models/pi0_cuda_test.cc derives
# its bf16 budget from these numbers (see the table in its header).
#
# Reference: openpi's PI0Pytorch (same snapshot and environment as make_pi0_goldens.py, whose
# set-up comment says how to build /work/pyref-openpi), loaded exactly as
# policy_config.create_trained_policy does for inference: Pi0Config(dtype="bfloat16"),
# BaseModelConfig.load_pytorch, then paligemma_with_expert.to_bfloat16_for_selected_params
# ("bfloat16"): every VLM / SigLIP / expert weight in bf16 except the patch and position
# embeddings and the (ada)RMSNorm parameters; the top-level projections stay float32. It runs
# sample_actions on the committed golden model inputs and noise (CPU, 1 thread), captures the
# same stages as the goldens, and prints ||bf16 - f32|| / ||f32|| over every element of each.
#
#   /work/pyref-openpi/bin/python tests/golden/measure_pi0_bf16.py
#
# Writes nothing. Measured with torch 2.11.0 CPU (bf16 matmuls accumulate in f32 there, as
# cuBLAS does on GPUs).
import dataclasses
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import make_pi0_goldens as mg  # noqa: E402

STAGES = [
    "vision.img0.projector", "vision.img1.projector", "prefix.embs",
    "vlm.layer0", "vlm.layer1", "kv.layer1.k", "kv.layer1.v",
    "step0.suffix_embs", "step0.expert.layer1", "step0.v_t", "step9.v_t", "step9.x_t", "x0",
]


class Bf16Recorder(mg.StageRecorder):
    def put(self, name, value):
        import torch

        if isinstance(value, torch.Tensor) and value.is_floating_point():
            value = value.detach().float()
        super().put(name, value)


def main():
    import safetensors.numpy
    import torch

    torch.set_num_threads(1)
    m = mg.setup_openpi()
    print(f"openpi PI0Pytorch bf16 (create_trained_policy's casts) vs the f32 goldens, torch {torch.__version__}")
    for name, spec in mg.MODELS.items():
        ckpt = mg.OUT_DIR / name
        gold = safetensors.numpy.load_file(str(ckpt / "golden.safetensors"))
        train_cfg = mg.make_train_config(m, spec)
        train_cfg = dataclasses.replace(train_cfg, model=dataclasses.replace(train_cfg.model, dtype="bfloat16"))
        model = train_cfg.model.load_pytorch(train_cfg, str(ckpt / "model.safetensors"))
        model.paligemma_with_expert.to_bfloat16_for_selected_params("bfloat16")
        model.eval()

        t = {k: torch.from_numpy(v) for k, v in gold.items()}
        obs = m["model"].Observation(
            images={c: t[f"inputs.image{i}"] for i, c in enumerate(mg.CAMERAS)},
            image_masks={c: t["inputs.image_mask"][:, i].bool() for i, c in enumerate(mg.CAMERAS)},
            state=t["inputs.state"],
            tokenized_prompt=t["inputs.tokens"],
            tokenized_prompt_mask=t["inputs.token_mask"].bool())
        rec = Bf16Recorder()
        rec.phase = "prefix"
        hooks = mg.install_stage_hooks(model, spec["pi05"], rec)
        with torch.no_grad():
            x0 = model.sample_actions("cpu", obs, noise=t["noise"].clone())
        mg.remove_stage_hooks(model, hooks)
        rec.put("x0", x0)

        print(f"\n== {name} ==")
        for s in STAGES:
            a = rec.t[s].astype(np.float64)
            g = gold[s].astype(np.float64)
            rel = np.linalg.norm(a - g) / np.linalg.norm(g)
            print(f"  {s:24s} rel L2 {rel:.3e}")


if __name__ == "__main__":
    main()
