#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# Golden fixtures for pi0 / pi0.5 (tiny random-weight configs of the real architectures).
#
# Reference that produced the committed goldens: openpi's own PyTorch model code
# (Physical-Intelligence/openpi @ 15a9616a, src/openpi/models_pytorch/pi0_pytorch.py,
# gemma_pytorch.py, preprocessing_pytorch.py with transformers_replace installed over
# transformers 4.53.2), openpi's own input/output transforms (transforms.py, LiberoInputs/Outputs,
# the pi0_libero / pi05_libero TrainConfigs) and openpi's own checkpoint writer/loader
# (safetensors.torch.save_model as in examples/convert_jax_model_to_pytorch.py,
# BaseModelConfig.load_pytorch). Run on CPU in float32 (Pi0Config(dtype="float32")), eager.
#
# Nothing from openpi is copied here; it is imported from an extracted snapshot outside the repo.
# Set-up of that environment (once, ~2 minutes, PyPI only):
#
#   /root/.pyenv/versions/3.12.1/bin/python -m venv /work/pyref-openpi
#   SP=/work/pyref-openpi/lib/python3.12/site-packages
#   echo /work/pyref/lib/python3.12/site-packages > $SP/zz_pyref_fallback.pth   # torch 2.11, numpy, ...
#   /work/pyref-openpi/bin/python -m pip install transformers==4.53.2 "tokenizers>=0.21,<0.22" \
#       "huggingface_hub>=0.30,<1.0" jax==0.5.3 jaxlib==0.5.3 flax==0.10.2 jaxtyping==0.2.36 \
#       beartype==0.19.0 einops ml-dtypes==0.4.1 tensorstore==0.1.74 chex==0.1.90 augmax numpydantic \
#       orbax-checkpoint==0.11.13 fsspec gcsfs tqdm-loggable tyro ml_collections==1.0.0 dm-tree
#   # openpi snapshot (fetch tool: github:Physical-Intelligence/openpi -> bare git dir):
#   mkdir -p /work/pyref-openpi/openpi-src
#   git --git-dir=/work/.mirror/Physical-Intelligence+openpi/repo archive 15a9616a src packages \
#       | tar -x -C /work/pyref-openpi/openpi-src
#   cp -r /work/pyref-openpi/openpi-src/src/openpi/models_pytorch/transformers_replace/* $SP/transformers/
#   printf '%s\n' /work/pyref-openpi/openpi-src/src \
#       /work/pyref-openpi/openpi-src/packages/openpi-client/src > $SP/openpi_src.pth
#
# Versions used for the committed files: Python 3.12.1, torch 2.11.0 (CPU, 1 thread),
# transformers 4.53.2 + openpi transformers_replace, numpy 2.2.6, safetensors 0.8.0, jax 0.5.3 (imported
# only because openpi's modules import it; no JAX computation is used).
#
# Commands (from the repository root):
#
#   /work/pyref-openpi/bin/python tests/golden/make_pi0_goldens.py            # writes tests/golden/pi0/
#   /work/pyref/bin/python tests/golden/make_pi0_goldens.py --compare-lerobot  # LeRobot 0.6.1 port vs goldens
#   /work/pyref/bin/python tests/golden/make_pi0_goldens.py --check-numpy      # independent NumPy re-derivation
#   cd tests/golden/pi0 && sha256sum -c SHA256SUMS                              # determinism check after a rerun
#
# The first command needs the openpi environment above. The other two need only the plain /work/pyref env
# and write nothing: --compare-lerobot runs LeRobot's PI0Pytorch/PI05Pytorch (transformers 5.5.4) on the
# golden model inputs and prints the per-stage max |diff|; --check-numpy recomputes every golden tensor
# (input transforms, SigLIP, prefix, KV cache, 10 Euler steps, output transforms) with plain NumPy from
# model.safetensors and asserts masks/positions/integer tensors are identical.
#
# Deviations from the real model, all through configuration, none in model code (see README.md):
#   * gemma variants "vlart_tiny_vlm"/"vlart_tiny_expert" are registered in openpi.models.gemma.get_config;
#   * the SigLIP / vocab sizes that openpi hard-codes (So400m, 257152) are shrunk by wrapping the
#     transformers classes gemma_pytorch instantiates (config edits before construction);
#   * image resolution 56 (4x4 = 16 patches of 14) instead of 224 (16x16), to keep the files small: the
#     ResizeImages(224, 224) model transform and preprocess_observation_pytorch's image_resolution are set
#     to 56 (both are identity for 56x56 inputs, as they are for LIBERO's 224x224 inputs in the real system);
#   * the PaliGemma SentencePiece model cannot be downloaded: openpi's PaligemmaTokenizer.tokenize runs
#     unchanged over a toy word-level encoder (ids < 300, BOS=2, "\n"=108);
#   * pytorch_compile_mode=None (eager) and float32 matmul precision "highest" (openpi sets "high").
import argparse
import dataclasses
import functools
import hashlib
import json
import math
import os
import pathlib
import re
import sys
import zlib

import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT_DIR = REPO_ROOT / "tests" / "golden" / "pi0"

# ---------------------------------------------------------------------------------------------
# Tiny architecture (shared by both references).
# ---------------------------------------------------------------------------------------------
VOCAB = 300
IMG = 56  # 56 / 14 = 4 -> 4x4 = 16 patches per image
SIGLIP = dict(hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
              patch_size=14, image_size=IMG)
VLM = dict(width=64, depth=2, mlp_dim=128, num_heads=2, num_kv_heads=1, head_dim=32)
EXPERT = dict(width=48, depth=2, mlp_dim=96, num_heads=2, num_kv_heads=1, head_dim=32)
TINY_VLM, TINY_EXPERT = "vlart_tiny_vlm", "vlart_tiny_expert"
ACTION_DIM = 32
BATCH = 2
CAMERAS = ("base_0_rgb", "left_wrist_0_rgb", "right_wrist_0_rgb")
ASSET_ID = "physical-intelligence/libero"
BOS, NEWLINE_ID = 2, 108

MODELS = {
    # openpi TrainConfig it mirrors; weights use numpy seed `seed`, images/noise use `seed + 1`.
    "pi0_tiny": dict(train_config="pi0_libero", pi05=False, horizon=50, max_token_len=48, seed=1000),
    "pi05_tiny": dict(train_config="pi05_libero", pi05=True, horizon=10, max_token_len=200, seed=2000),
}

PROMPTS = (
    "pick up the black bowl between the plate and the ramekin and place it on the plate",
    "  put_the_bowl_on_the_stove\n",  # exercises strip() and "_" -> " " cleaning
)

# Raw LIBERO state: eef_pos(3) | axis_angle(3) | gripper_qpos(2), float64 as sent by the client.
RAW_STATES = np.array(
    [[-0.0513, 0.0237, 0.6512, 2.9034, -0.3127, -0.2051, 0.0312, -0.0297],
     [0.1204, -0.1968, 1.1029, 3.1147, 0.4821, 0.3012, 0.0046, -0.0061]], dtype=np.float64)

# Plausible LIBERO statistics (q01/q99 are the pi05_libero values quoted in specs/pi0.md section 1.2).
NORM_STATS = {
    "state": dict(
        mean=[-0.0462, 0.0311, 0.7815, 2.9713, -0.0942, -0.1137, 0.0263, -0.0265],
        std=[0.1035, 0.1486, 0.3021, 0.3512, 1.0123, 0.3311, 0.0142, 0.0139],
        q01=[-0.35245, -0.26825, 0.04084, 1.53177, -2.71523, -1.07654, 0.00172, -0.04004],
        q99=[0.13891, 0.32520, 1.25690, 3.26277, 2.44372, 0.56385, 0.04031, -0.00171]),
    "actions": dict(
        mean=[0.0631, 0.0868, -0.0999, 0.0051, 0.0013, -0.0048, -0.0912],
        std=[0.3315, 0.3725, 0.4529, 0.0392, 0.0634, 0.0769, 0.9951],
        q01=[-0.747375, -0.796125, -0.9375, -0.11580, -0.16943, -0.19450, -1.0],
        q99=[0.937125, 0.8595, 0.937125, 0.14023, 0.18104, 0.31155, 0.9996]),
}


def toy_token_id(piece: str) -> int:
    """Toy word-level vocabulary: '\\n' -> 108, any other piece -> 3 + crc32 % 297 (< VOCAB)."""
    if piece == "\n":
        return NEWLINE_ID
    return 3 + zlib.crc32(piece.encode("utf-8")) % (VOCAB - 3)


class ToySentencePiece:
    """Stands in for sentencepiece.SentencePieceProcessor.encode; records every string it encodes."""

    def __init__(self):
        self.calls = []

    def encode(self, text, add_bos=False):
        self.calls.append(text)
        ids = [BOS] if add_bos else []
        ids += [toy_token_id(p) for p in re.findall(r"\n|[^\s]+", text)]
        return ids


def make_raw_images(rng: np.random.Generator) -> np.ndarray:
    """uint8 [B, 2 cameras, IMG, IMG, 3]: smooth colour waves plus noise (HWC, as LIBERO sends)."""
    yy, xx = np.meshgrid(np.arange(IMG), np.arange(IMG), indexing="ij")
    out = np.zeros((BATCH, 2, IMG, IMG, 3), dtype=np.uint8)
    for b in range(BATCH):
        for c in range(2):
            img = np.zeros((IMG, IMG, 3))
            for ch in range(3):
                fx, fy, ph = rng.uniform(0.02, 0.15), rng.uniform(0.02, 0.15), rng.uniform(0, 2 * np.pi)
                img[..., ch] = 128 + 70 * np.sin(fx * xx + fy * yy + ph)
            img += rng.normal(0.0, 18.0, size=img.shape)
            out[b, c] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return out


def init_weights(model, seed: int) -> None:
    """Deterministic non-trivial random weights (numpy PCG64, float64 draws cast to float32)."""
    import torch

    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():  # tied lm_head/embed_tokens appear once
            shape = tuple(p.shape)
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            if name.endswith("position_embedding.weight"):
                std, mean = 0.2, 0.0
            elif name.endswith("embed_tokens.weight"):
                std, mean = 1.0 / math.sqrt(shape[1]), 0.0  # x sqrt(width) in embed_prefix -> O(1)
            elif "gemma_expert.lm_head" in name:
                std, mean = 0.02, 0.0  # unused by inference
            elif ".dense." in name:  # pi0.5 adaRMS modulation Dense(cond -> 3*width)
                # cond ~ 0.25 rms -> scale/shift/gate ~ 0.5 rms, so gated sublayers still matter.
                std, mean = (2.0 / math.sqrt(fan_in), 0.0) if name.endswith("weight") else (0.2, 0.0)
            elif ("layernorm" in name or name.endswith("norm.weight")) and "vision" not in name:
                std, mean = 0.1, 0.0  # Gemma RMSNorm weights are offsets: y = x_hat * (1 + w)
            elif "vision" in name and ("layer_norm" in name or "post_layernorm" in name):
                std, mean = (0.1, 1.0) if name.endswith("weight") else (0.1, 0.0)
            elif name.endswith("bias"):
                std, mean = 0.1, 0.0
            else:  # Linear / Conv weights
                std, mean = 1.0 / math.sqrt(fan_in), 0.0
            vals = rng.standard_normal(shape) * std + mean
            p.copy_(torch.from_numpy(vals.astype(np.float32)))


def canonicalize_safetensors(path: pathlib.Path) -> None:
    """Rewrites the JSON header with sorted keys (safetensors writes __metadata__ in hash order).

    Tensor offsets are relative to the end of the header, so only the header bytes change; it is
    padded with spaces to a multiple of 8 as the safetensors writer does.
    """
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + raw[8 + n:])


def sha256_of(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# =============================================================================================
# openpi reference
# =============================================================================================
def setup_openpi():
    """Imports openpi and registers the tiny variants. Returns the modules used below."""
    import torch

    import openpi.models.gemma as _gemma
    import openpi.models.model as _model
    import openpi.models.tokenizer as _tokenizer
    import openpi.models_pytorch.gemma_pytorch as gemma_pytorch
    import openpi.models_pytorch.pi0_pytorch as pi0_pytorch
    import openpi.models_pytorch.preprocessing_pytorch as preprocessing
    import openpi.shared.normalize as _normalize
    import openpi.training.config as _config
    import openpi.transforms as _transforms
    import transformers

    orig_get_config = _gemma.get_config

    def get_config(variant):
        if variant == TINY_VLM:
            return _gemma.Config(**VLM)
        if variant == TINY_EXPERT:
            return _gemma.Config(**EXPERT)
        return orig_get_config(variant)

    _gemma.get_config = get_config

    real_pg = gemma_pytorch.PaliGemmaForConditionalGeneration
    real_gemma = gemma_pytorch.GemmaForCausalLM

    def tiny_paligemma(config):
        vc = config.vision_config
        for k, v in SIGLIP.items():
            setattr(vc, k, v)
        vc.projection_dim = config.text_config.hidden_size  # projector -> Gemma width
        config.text_config.vocab_size = VOCAB
        config._vocab_size = VOCAB  # noqa: SLF001
        config.image_token_index = VOCAB
        return real_pg(config=config)

    def tiny_gemma(config):
        config.vocab_size = VOCAB  # the unused expert lm_head
        return real_gemma(config=config)

    gemma_pytorch.PaliGemmaForConditionalGeneration = tiny_paligemma
    gemma_pytorch.GemmaForCausalLM = tiny_gemma
    preprocessing.preprocess_observation_pytorch = functools.partial(
        preprocessing.preprocess_observation_pytorch, image_resolution=(IMG, IMG))

    class ToyPaligemmaTokenizer(_tokenizer.PaligemmaTokenizer):
        def __init__(self, max_len: int = 48):  # no download; tokenize() is openpi's, unchanged
            self._max_len = max_len
            self._tokenizer = ToySentencePiece()

    _tokenizer.PaligemmaTokenizer = ToyPaligemmaTokenizer

    return dict(torch=torch, model=_model, normalize=_normalize,
                config=_config, transforms=_transforms, pi0_pytorch=pi0_pytorch,
                transformers=transformers, ToyTokenizer=ToyPaligemmaTokenizer)


def make_train_config(m, spec):
    base = m["config"].get_config(spec["train_config"])
    model_cfg = dataclasses.replace(base.model, dtype="float32", paligemma_variant=TINY_VLM,
                                    action_expert_variant=TINY_EXPERT, pytorch_compile_mode=None)
    assert model_cfg.action_horizon == spec["horizon"] and model_cfg.max_token_len == spec["max_token_len"]
    assert model_cfg.pi05 == spec["pi05"] and model_cfg.action_dim == ACTION_DIM
    return dataclasses.replace(base, model=model_cfg)


def write_checkpoint(m, train_cfg, spec, ckpt: pathlib.Path) -> None:
    """openpi PyTorch checkpoint folder: model.safetensors, config.json, assets/<asset_id>/norm_stats.json."""
    import safetensors.torch

    model = m["pi0_pytorch"].PI0Pytorch(train_cfg.model)
    init_weights(model, spec["seed"])
    ckpt.mkdir(parents=True, exist_ok=True)
    # Exactly as examples/convert_jax_model_to_pytorch.py: save_model handles the tied embedding.
    safetensors.torch.save_model(model, str(ckpt / "model.safetensors"))
    mc = train_cfg.model
    config = {  # the five keys openpi's converter writes ...
        "action_dim": mc.action_dim,
        "action_horizon": mc.action_horizon,
        "paligemma_variant": mc.paligemma_variant,
        "action_expert_variant": mc.action_expert_variant,
        "precision": "float32",
        # ... plus what a tiny variant needs to be self-describing (not written by openpi).
        "vlart_tiny_arch": {
            "pi05": mc.pi05,
            "max_token_len": mc.max_token_len,
            "train_config": spec["train_config"],
            "vocab_size": VOCAB,
            "vision": {**SIGLIP, "layer_norm_eps": 1e-6, "hidden_act": "gelu_pytorch_tanh",
                       "projection_dim": VLM["width"]},
            "paligemma": {**VLM, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
                          "hidden_activation": "gelu_pytorch_tanh"},
            "action_expert": {**EXPERT, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
                              "hidden_activation": "gelu_pytorch_tanh"},
        },
    }
    (ckpt / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    stats = {k: m["normalize"].NormStats(**{f: np.asarray(v, dtype=np.float64) for f, v in d.items()})
             for k, d in NORM_STATS.items()}
    m["normalize"].save(ckpt / "assets" / ASSET_ID, stats)


class StageRecorder:
    """Collects golden tensors under stable dotted names."""

    def __init__(self):
        self.t = {}
        self.phase = None  # "prefix" or "step{k}"
        self.image_index = -1
        self.steps = 0
        self.state_dtype = None

    def put(self, name, value):
        import torch

        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        value = np.ascontiguousarray(value)
        assert name not in self.t, f"duplicate golden name {name}"
        self.t[name] = value


def _first(out):
    return out[0] if isinstance(out, tuple) else out


def _kv_pair(past, li):
    if hasattr(past, "layers"):  # transformers >= 4.56 cache layout
        return past.layers[li].keys, past.layers[li].values
    return past[li]


def install_stage_hooks(model, pi05: bool, rec: StageRecorder):
    """Hooks openpi's PI0Pytorch or LeRobot's PI0Pytorch/PI05Pytorch (same module tree) for stage capture.

    Forward hooks must return None (a non-None value would replace the module output). Method wrappers are
    installed as instance attributes, which sample_actions picks up through self.<method>.
    """
    import inspect

    import torch

    hooks = []
    pwe = model.paligemma_with_expert
    vt = pwe.paligemma.model.vision_tower.vision_model
    vlm_layers = pwe.paligemma.model.language_model.layers
    exp_layers = pwe.gemma_expert.model.layers
    width_e = model.action_in_proj.out_features

    def add(module, fn, cond=lambda: True):
        def hook(_mod, inp, out):
            if cond():
                fn(inp, out)
        hooks.append(module.register_forward_hook(hook))

    def vis(suffix):
        return lambda _i, out: rec.put(f"vision.img{rec.image_index}.{suffix}", _first(out))

    def vis_embeddings(_i, out):
        rec.image_index += 1
        rec.put(f"vision.img{rec.image_index}.embeddings", out)

    img0 = lambda: rec.image_index == 0  # noqa: E731
    step0 = lambda: rec.phase == "step0"  # noqa: E731
    add(vt.embeddings, vis_embeddings)
    for li, layer in enumerate(vt.encoder.layers):
        add(layer, vis(f"layer{li}"))
    add(vt.post_layernorm, vis("post_layernorm"))
    add(pwe.paligemma.model.multi_modal_projector, vis("projector"))
    l0 = vt.encoder.layers[0]
    add(l0.layer_norm1, vis("layer0.ln1"), img0)
    add(l0.self_attn, vis("layer0.attn_out"), img0)
    add(l0.layer_norm2, vis("layer0.ln2"), img0)
    add(l0.mlp, vis("layer0.mlp_out"), img0)

    def gemma(layers, name, cond, adarms):
        for li, layer in enumerate(layers):
            add(layer, lambda _i, out, li=li: rec.put(f"{name()}.layer{li}", _first(out)), cond)
        lay0 = layers[0]
        add(lay0.input_layernorm, lambda _i, o: rec.put(f"{name()}.layer0.input_norm", o[0]), cond)
        add(lay0.self_attn.o_proj, lambda _i, o: rec.put(f"{name()}.layer0.attn_out", o), cond)
        add(lay0.post_attention_layernorm, lambda _i, o: rec.put(f"{name()}.layer0.post_norm", o[0]), cond)
        add(lay0.mlp, lambda _i, o: rec.put(f"{name()}.layer0.mlp_out", o), cond)
        if adarms:
            add(lay0.input_layernorm, lambda _i, o: rec.put(f"{name()}.layer0.attn_gate", o[1]), cond)
            add(lay0.post_attention_layernorm, lambda _i, o: rec.put(f"{name()}.layer0.mlp_gate", o[1]), cond)

    gemma(vlm_layers, lambda: "vlm", lambda: rec.phase == "prefix", False)
    gemma(exp_layers, lambda: "step0.expert", step0, pi05)
    add(pwe.gemma_expert.model.norm, lambda _i, o: rec.put("step0.expert.final_norm", o[0]), step0)
    if pi05:
        add(model.time_mlp_in, lambda inp, _o: rec.put(f"{rec.phase}.time_emb", inp[0]))
    else:
        add(model.action_time_mlp_in, lambda inp, _o: rec.put(f"{rec.phase}.time_emb", inp[0][:, 0, width_e:]))
        add(model.action_in_proj, lambda _i, o: rec.put("step0.action_emb", o), step0)

    orig = {k: getattr(model, k) for k in ("embed_prefix", "embed_suffix", "denoise_step")}
    orig_forward = pwe.forward
    kmask = torch.tensor(-2.3819763e38, dtype=torch.float32).item()

    def embed_prefix(*a, **k):
        embs, pad, att = orig["embed_prefix"](*a, **k)
        rec.put("prefix.embs", embs)
        rec.put("prefix.pad_mask", pad)
        rec.put("prefix.ar_mask", att)
        return embs, pad, att

    def pwe_forward(**kw):
        out, past = orig_forward(**kw)
        am = kw["attention_mask"]
        assert set(torch.unique(am).tolist()) <= {0.0, kmask}, torch.unique(am)
        if kw["inputs_embeds"][1] is None:  # prefix pass -> KV cache (K after RoPE)
            rec.put("prefix.att_2d_mask", am[:, 0] == 0)
            rec.put("prefix.positions", kw["position_ids"])
            for li in range(len(vlm_layers)):
                k_cache, v_cache = _kv_pair(past, li)
                rec.put(f"kv.layer{li}.k", k_cache)
                rec.put(f"kv.layer{li}.v", v_cache)
        elif rec.phase == "step0":
            rec.put("suffix.att_2d_mask", am[:, 0] == 0)
            rec.put("suffix.positions", kw["position_ids"])
        return out, past

    def embed_suffix(*a, **k):
        embs, pad, att, cond = orig["embed_suffix"](*a, **k)
        rec.put(f"{rec.phase}.suffix_embs", embs)
        if cond is not None:
            rec.put(f"{rec.phase}.adarms_cond", cond)
        if rec.phase == "step0":
            rec.put("suffix.pad_mask", pad)
            rec.put("suffix.ar_mask", att)
        if not pi05:
            rec.state_dtype = str((a[0] if a else k["state"]).dtype)
        return embs, pad, att, cond

    denoise_sig = inspect.signature(orig["denoise_step"])

    def denoise_step(*a, **k):
        args = denoise_sig.bind(*a, **k).arguments
        rec.phase = f"step{rec.steps}"
        rec.put(f"{rec.phase}.t", args["timestep"])
        rec.put(f"{rec.phase}.x_t", args["x_t"])
        v = orig["denoise_step"](*a, **k)
        rec.put(f"{rec.phase}.v_t", v)
        rec.steps += 1
        return v

    model.embed_prefix = embed_prefix
    model.embed_suffix = embed_suffix
    model.denoise_step = denoise_step
    pwe.forward = pwe_forward
    return hooks


def remove_stage_hooks(model, hooks):
    for h in hooks:
        h.remove()
    for k in ("embed_prefix", "embed_suffix", "denoise_step"):
        del model.__dict__[k]
    del model.paligemma_with_expert.__dict__["forward"]


def run_openpi_golden(m, train_cfg, spec, ckpt: pathlib.Path, raw_images, noise):
    """Runs openpi's policy pipeline (transforms + PI0Pytorch.sample_actions) with stage capture."""
    torch = m["torch"]
    _t = m["transforms"]
    rec = StageRecorder()

    # --- Model, loaded with openpi's own loader (BaseModelConfig.load_pytorch). create_trained_policy
    # would now call to_bfloat16_for_selected_params("bfloat16"); the goldens stay in float32.
    model = train_cfg.model.load_pytorch(train_cfg, str(ckpt / "model.safetensors"))
    torch.set_float32_matmul_precision("highest")  # PI0Pytorch.__init__ sets "high" (TF32 on GPUs)
    model.eval()
    pwe = model.paligemma_with_expert
    assert pwe.paligemma.lm_head.weight.data_ptr() == pwe.paligemma.language_model.embed_tokens.weight.data_ptr()

    # --- Transforms, assembled exactly like policy_config.create_trained_policy.
    data_config = train_cfg.data.create(ckpt / "assets", train_cfg.model)
    # = openpi.training.checkpoints.load_norm_stats (not imported: its module needs an old lerobot).
    norm_stats = m["normalize"].load(ckpt / "assets" / data_config.asset_id)
    model_inputs = []
    for tf in data_config.model_transforms.inputs:
        if isinstance(tf, _t.ResizeImages):
            tf = _t.ResizeImages(IMG, IMG)  # the real config says 224; identity for IMG x IMG inputs
        model_inputs.append(tf)
    input_tfs = [_t.InjectDefaultPrompt(None), *data_config.data_transforms.inputs,
                 _t.Normalize(norm_stats, use_quantiles=data_config.use_quantile_norm), *model_inputs]
    output_tfs = [*data_config.model_transforms.outputs,
                  _t.Unnormalize(norm_stats, use_quantiles=data_config.use_quantile_norm),
                  *data_config.data_transforms.outputs]
    tokenize_tf = next(tf for tf in input_tfs if isinstance(tf, _t.TokenizePrompt))
    toy_sp = tokenize_tf.tokenizer._tokenizer  # noqa: SLF001

    per_sample, norm_states = [], []
    for b in range(BATCH):
        data = {"observation/image": raw_images[b, 0].copy(), "observation/wrist_image": raw_images[b, 1].copy(),
                "observation/state": RAW_STATES[b].copy(), "prompt": PROMPTS[b]}
        for tf in input_tfs:
            data = tf(data)
            if isinstance(tf, _t.Normalize):
                norm_states.append(np.array(data["state"]))
        per_sample.append(data)
    encoded_strings = list(toy_sp.calls)

    # pi0.5 discrete-state prompt format (used by pi05 configs with discrete_state_input=True), for the README.
    ds_tok = m["ToyTokenizer"](train_cfg.model.max_token_len)
    discrete_state_prompts = []
    for b in range(BATCH):
        ds_tok.tokenize(PROMPTS[b], norm_states[b])
        discrete_state_prompts.append(ds_tok._tokenizer.calls[-1])  # noqa: SLF001

    # Batch like Policy.infer does for one example ([None]), but stacking B examples.
    import jax

    batched = jax.tree.map(lambda *xs: torch.from_numpy(np.stack([np.asarray(x) for x in xs])), *per_sample)
    rec.put("raw.image", raw_images[:, 0])
    rec.put("raw.wrist_image", raw_images[:, 1])
    rec.put("raw.state", RAW_STATES)
    rec.put("tf.state_normalized", np.stack(norm_states))
    rec.put("inputs.state", batched["state"])
    rec.put("inputs.tokens", batched["tokenized_prompt"])
    rec.put("inputs.token_mask", batched["tokenized_prompt_mask"])
    rec.put("inputs.image_mask", torch.stack([batched["image_mask"][k] for k in CAMERAS], dim=1))
    observation = m["model"].Observation.from_dict(batched)  # uint8 HWC -> float32 NCHW in [-1, 1]
    for i, k in enumerate(CAMERAS):
        rec.put(f"inputs.image{i}", observation.images[k])
    rec.put("noise", noise)

    rec.phase = "prefix"
    hooks = install_stage_hooks(model, spec["pi05"], rec)
    with torch.no_grad():
        x0 = model.sample_actions("cpu", observation, noise=torch.from_numpy(noise))
    remove_stage_hooks(model, hooks)
    assert rec.steps == 10, rec.steps
    rec.put("x0", x0)

    # --- Output transforms, per example, like Policy.infer (outputs["state"] is the normalized padded state).
    stage = {"unnorm": [], "abs": [], "final": []}
    for b in range(BATCH):
        out = {"state": np.asarray(batched["state"][b]), "actions": np.asarray(x0[b])}
        for tf in output_tfs:
            out = tf(out)
            if isinstance(tf, _t.Unnormalize):
                stage["unnorm"].append((out["actions"].copy(), out["state"].copy()))
            elif isinstance(tf, _t.AbsoluteActions):
                stage["abs"].append(out["actions"].copy())
        stage["final"].append(out["actions"])
    rec.put("out.actions_unnormalized", np.stack([a for a, _ in stage["unnorm"]]))
    rec.put("out.state_unnormalized", np.stack([s for _, s in stage["unnorm"]]))
    if stage["abs"]:
        rec.put("out.actions_absolute", np.stack(stage["abs"]))
    rec.put("out.actions", np.stack(stage["final"]))

    info = {
        "encoded_strings": encoded_strings,
        "discrete_state_prompts": discrete_state_prompts,
        "use_quantile_norm": bool(data_config.use_quantile_norm),
        "input_transforms": [type(tf).__name__ for tf in input_tfs],
        "output_transforms": [type(tf).__name__ for tf in output_tfs],
        "state_dtype_into_model": rec.state_dtype or "n/a (pi0.5 has no state input)",
    }
    return rec.t, info


def generate():
    import torch
    import safetensors.numpy

    torch.set_num_threads(1)
    m = setup_openpi()
    versions = {
        "reference": "openpi PyTorch (PI0Pytorch) @ Physical-Intelligence/openpi 15a9616a + transformers_replace",
        "python": sys.version.split()[0], "torch": torch.__version__,
        "transformers": m["transformers"].__version__, "numpy": np.__version__,
    }
    summary = {}
    for name, spec in MODELS.items():
        ckpt = OUT_DIR / name
        train_cfg = make_train_config(m, spec)
        write_checkpoint(m, train_cfg, spec, ckpt)

        rng = np.random.default_rng(spec["seed"] + 1)
        raw_images = make_raw_images(rng)
        noise = rng.standard_normal((BATCH, spec["horizon"], ACTION_DIM)).astype(np.float32)
        tensors, info = run_openpi_golden(m, train_cfg, spec, ckpt, raw_images, noise)

        meta = {
            **versions,
            "model": name, "train_config": spec["train_config"], "pi05": str(spec["pi05"]),
            "action_horizon": str(spec["horizon"]), "max_token_len": str(spec["max_token_len"]),
            "num_steps": "10", "dt": "-0.1 (float32)",
            "toy_tokenizer": "openpi PaligemmaTokenizer.tokenize over a word-level toy encoder: pieces = "
                             "re.findall(r'\\n|[^\\s]+', text); BOS=2; '\\n'->108; other piece p -> "
                             "3 + crc32(utf8(p)) % 297; PAD=0",
            "image_size": str(IMG), "use_quantile_norm": str(info["use_quantile_norm"]),
            "input_transforms": ",".join(info["input_transforms"]),
            "output_transforms": ",".join(info["output_transforms"]),
            "state_dtype_into_model": info["state_dtype_into_model"],
        }
        assert len(info["encoded_strings"]) == 2 * BATCH  # [cleaned prompt (with BOS), "\n"] per example
        for b in range(BATCH):
            meta[f"raw.prompt.{b}"] = PROMPTS[b]
            meta[f"tokenizer_calls.{b}"] = json.dumps(info["encoded_strings"][2 * b: 2 * b + 2])
            if spec["pi05"]:  # what a discrete_state_input=True pi0.5 config would encode (with BOS)
                meta[f"discrete_state_prompt.{b}"] = info["discrete_state_prompts"][b]
        path = OUT_DIR / name / "golden.safetensors"
        safetensors.numpy.save_file(tensors, str(path), metadata=meta)
        canonicalize_safetensors(path)
        summary[name] = {"tensors": len(tensors), "bytes": path.stat().st_size, "info": info}
        print(f"{name}: {len(tensors)} tensors, {path.stat().st_size} bytes")
    sums = []
    for name in MODELS:
        for f in sorted((OUT_DIR / name).rglob("*")):
            if f.is_file():
                os.chmod(f, 0o644)  # the safetensors writer creates 0600 files
                sums.append(f"{sha256_of(f)}  {f.relative_to(OUT_DIR)}\n")
                print(f"  {sums[-1].strip()}  ({f.stat().st_size} B)")
    (OUT_DIR / "SHA256SUMS").write_text("".join(sums))  # check: cd tests/golden/pi0 && sha256sum -c SHA256SUMS
    for name, s in summary.items():
        print(name, json.dumps(s["info"], indent=1))


# =============================================================================================
# Independent NumPy re-implementation (the math a C++ port must do), checked against the goldens
# =============================================================================================
F32 = np.float32
MASK_NEG = np.float32(-2.3819763e38)  # openpi's additive mask constant, as float32


def np_gelu_tanh(x):
    return (F32(0.5) * x * (F32(1) + np.tanh(F32(math.sqrt(2 / math.pi)) * (x + F32(0.044715) * x ** 3)))
            ).astype(F32)


def np_linear(x, w, b=None):
    y = np.matmul(x, w.T)
    return y + b if b is not None else y


def np_layernorm(x, w, b, eps=1e-6):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + F32(eps)) * w + b


def np_rms_hat(x, eps=1e-6):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + F32(eps))


def np_softmax(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


def np_rope(x, pos, theta=10000.0):
    """x [B, heads, S, D], pos [B, S] int -> rotate-half RoPE (HF Gemma convention, fp32 angles)."""
    d = x.shape[-1]
    inv_freq = (F32(1.0) / (F32(theta) ** (np.arange(0, d, 2).astype(F32) / F32(d)))).astype(F32)
    ang = pos.astype(F32)[:, :, None] * inv_freq[None, None, :]
    emb = np.concatenate([ang, ang], -1)
    cos, sin = np.cos(emb)[:, None], np.sin(emb)[:, None]
    rot = np.concatenate([-x[..., d // 2:], x[..., :d // 2]], -1)
    return x * cos + rot * sin


def np_attention(q, k, v, add_mask):
    """q [B, Hq, S, D], k/v [B, Hkv, T, D] (MQA/GQA broadcast), add_mask [B, S, T] -> [B, S, Hq*D]."""
    rep = q.shape[1] // k.shape[1]
    k, v = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)
    logits = np.matmul(q, k.transpose(0, 1, 3, 2)) * F32(q.shape[-1] ** -0.5) + add_mask[:, None]
    out = np.matmul(np_softmax(logits), v)
    return out.transpose(0, 2, 1, 3).reshape(q.shape[0], q.shape[2], -1)


def np_make_att_2d(pad, ar):
    cum = np.cumsum(ar.astype(np.int64), axis=1)
    return (cum[:, None, :] <= cum[:, :, None]) & (pad[:, None, :] & pad[:, :, None])


def np_sincos(t, width, min_period=4e-3, max_period=4.0):
    """openpi create_sinusoidal_pos_embedding: float64 math on the float32 t, cast to float32."""
    fraction = np.linspace(0.0, 1.0, width // 2, dtype=np.float64)
    period = min_period * (max_period / min_period) ** fraction
    arg = (1.0 / period * 2 * math.pi)[None, :] * t.astype(np.float64)[:, None]
    return np.concatenate([np.sin(arg), np.cos(arg)], axis=1).astype(F32)


def np_gemma_layer(w, pre, x, pos, add_mask, cond, rec, name, cfg, prefix_kv=None):
    """One Gemma decoder layer; cond (pi0.5 expert) switches RMSNorm to adaRMS + gated residuals."""
    def norm(key, h):
        hat = np_rms_hat(h)
        if cond is None:
            return hat * (F32(1) + w[f"{pre}.{key}.weight"]), None
        mod = np_linear(cond, w[f"{pre}.{key}.dense.weight"], w[f"{pre}.{key}.dense.bias"])[:, None, :]
        scale, shift, gate = np.split(mod, 3, axis=-1)
        return hat * (F32(1) + scale) + shift, gate

    b, s, _ = x.shape
    hd = cfg["head_dim"]
    h, gate = norm("input_layernorm", x)
    rec(f"{name}.input_norm", h)
    q = np_linear(h, w[f"{pre}.self_attn.q_proj.weight"]).reshape(b, s, -1, hd).transpose(0, 2, 1, 3)
    k = np_linear(h, w[f"{pre}.self_attn.k_proj.weight"]).reshape(b, s, -1, hd).transpose(0, 2, 1, 3)
    v = np_linear(h, w[f"{pre}.self_attn.v_proj.weight"]).reshape(b, s, -1, hd).transpose(0, 2, 1, 3)
    q, k = np_rope(q, pos), np_rope(k, pos)
    if prefix_kv is not None:
        k_all, v_all = np.concatenate([prefix_kv[0], k], 2), np.concatenate([prefix_kv[1], v], 2)
    else:
        k_all, v_all = k, v
    att = np_linear(np_attention(q, k_all, v_all, add_mask), w[f"{pre}.self_attn.o_proj.weight"])
    rec(f"{name}.attn_out", att)
    x = x + (att * gate if gate is not None else att)
    h, gate2 = norm("post_attention_layernorm", x)
    rec(f"{name}.post_norm", h)
    mlp = np_linear(np_gelu_tanh(np_linear(h, w[f"{pre}.mlp.gate_proj.weight"])) *
                    np_linear(h, w[f"{pre}.mlp.up_proj.weight"]), w[f"{pre}.mlp.down_proj.weight"])
    rec(f"{name}.mlp_out", mlp)
    if gate is not None:
        rec(f"{name}.attn_gate", gate)
        rec(f"{name}.mlp_gate", gate2)
    return x + (mlp * gate2 if gate2 is not None else mlp), (k, v)


def numpy_reference(w, g, spec):
    """Recomputes every golden stage from the checkpoint and the golden *model inputs*; free-running."""
    out = {}

    def rec(name, value):
        out[name] = value

    pi05, horizon = spec["pi05"], spec["horizon"]
    V = "paligemma_with_expert.paligemma.model.vision_tower.vision_model"
    Q = "paligemma_with_expert.paligemma.model.language_model"
    E = "paligemma_with_expert.gemma_expert.model"
    ps, nh = SIGLIP["patch_size"], SIGLIP["num_attention_heads"]
    # Input transform: uint8 HWC -> float32 NCHW in [-1, 1], exactly x / 255 * 2 - 1 in float32.
    cams = [g["raw.image"], g["raw.wrist_image"], np.zeros_like(g["raw.image"])]
    for i, c in enumerate(cams):
        rec(f"inputs.image{i}", (c.astype(F32) / F32(255.0) * F32(2.0) - F32(1.0)).transpose(0, 3, 1, 2))

    img_embs = []
    for i in range(3):
        x = g[f"inputs.image{i}"]
        b, _, hgt, wid = x.shape
        gh, gw = hgt // ps, wid // ps
        patches = x.reshape(b, 3, gh, ps, gw, ps).transpose(0, 2, 4, 1, 3, 5).reshape(b, gh * gw, 3 * ps * ps)
        wpatch = w[f"{V}.embeddings.patch_embedding.weight"].reshape(SIGLIP["hidden_size"], -1)
        h = np_linear(patches, wpatch, w[f"{V}.embeddings.patch_embedding.bias"])
        h = h + w[f"{V}.embeddings.position_embedding.weight"][None]
        rec(f"vision.img{i}.embeddings", h)
        for li in range(SIGLIP["num_hidden_layers"]):
            pre = f"{V}.encoder.layers.{li}"
            a = np_layernorm(h, w[f"{pre}.layer_norm1.weight"], w[f"{pre}.layer_norm1.bias"])
            qkv = [np_linear(a, w[f"{pre}.self_attn.{n}_proj.weight"], w[f"{pre}.self_attn.{n}_proj.bias"])
                   .reshape(b, gh * gw, nh, -1).transpose(0, 2, 1, 3) for n in "qkv"]
            att = np_linear(np_attention(*qkv, np.zeros((b, gh * gw, gh * gw), F32)),
                            w[f"{pre}.self_attn.out_proj.weight"], w[f"{pre}.self_attn.out_proj.bias"])
            h = h + att
            m = np_layernorm(h, w[f"{pre}.layer_norm2.weight"], w[f"{pre}.layer_norm2.bias"])
            mlp = np_linear(np_gelu_tanh(np_linear(m, w[f"{pre}.mlp.fc1.weight"], w[f"{pre}.mlp.fc1.bias"])),
                            w[f"{pre}.mlp.fc2.weight"], w[f"{pre}.mlp.fc2.bias"])
            if li == 0 and i == 0:
                rec("vision.img0.layer0.ln1", a)
                rec("vision.img0.layer0.attn_out", att)
                rec("vision.img0.layer0.ln2", m)
                rec("vision.img0.layer0.mlp_out", mlp)
            h = h + mlp
            rec(f"vision.img{i}.layer{li}", h)
        h = np_layernorm(h, w[f"{V}.post_layernorm.weight"], w[f"{V}.post_layernorm.bias"])
        rec(f"vision.img{i}.post_layernorm", h)
        pre = "paligemma_with_expert.paligemma.model.multi_modal_projector.linear"
        h = np_linear(h, w[f"{pre}.weight"], w[f"{pre}.bias"])  # no 1/sqrt(width) scaling
        rec(f"vision.img{i}.projector", h)
        img_embs.append(h)

    # Prefix: [img0, img1, img2, text * sqrt(width)] ; bidirectional among valid tokens.
    emb = w["paligemma_with_expert.paligemma.lm_head.weight"]  # tied with embed_tokens
    text = emb[g["inputs.tokens"]] * F32(math.sqrt(VLM["width"]))
    prefix = np.concatenate(img_embs + [text], 1)
    rec("prefix.embs", prefix)
    b, n_img = prefix.shape[0], img_embs[0].shape[1]
    pad = np.concatenate([np.repeat(g["inputs.image_mask"][:, i:i + 1], n_img, 1) for i in range(3)]
                         + [g["inputs.token_mask"]], 1)
    ar = np.zeros_like(pad)
    rec("prefix.pad_mask", pad)
    rec("prefix.ar_mask", ar)
    att2d = np_make_att_2d(pad, ar)
    rec("prefix.att_2d_mask", att2d)
    pos = np.cumsum(pad, 1) - 1
    rec("prefix.positions", pos)
    add = np.where(att2d, F32(0), MASK_NEG).astype(F32)
    h, kv = prefix, []
    for li in range(VLM["depth"]):
        h, (k, v) = np_gemma_layer(w, f"{Q}.layers.{li}", h, pos, add, None,
                                   rec if li == 0 else (lambda *_: None), "vlm.layer0", VLM)
        rec(f"vlm.layer{li}", h)
        rec(f"kv.layer{li}.k", k)
        rec(f"kv.layer{li}.v", v)
        kv.append((k, v))

    # Denoising loop (openpi: t and dt are float32 tensors, t accumulated with t += dt).
    dt, t = F32(-1.0 / 10), F32(1.0)
    x = g["noise"]
    n_valid = pad.sum(1)
    for step in range(10):
        sname = f"step{step}"
        tt = np.full((b,), t, F32)
        rec(f"{sname}.t", tt)
        rec(f"{sname}.x_t", x)
        temb = np_sincos(tt, EXPERT["width"])
        rec(f"{sname}.time_emb", temb)
        a_emb = np_linear(x, w["action_in_proj.weight"], w["action_in_proj.bias"])
        if pi05:
            c = np_linear(temb, w["time_mlp_in.weight"], w["time_mlp_in.bias"])
            c = c / (F32(1) + np.exp(-c))
            c = np_linear(c, w["time_mlp_out.weight"], w["time_mlp_out.bias"])
            cond = c / (F32(1) + np.exp(-c))
            suffix = a_emb
            rec(f"{sname}.adarms_cond", cond)
            s_ar = np.array([1] + [0] * (horizon - 1))
        else:
            cond = None
            state_tok = np_linear(g["inputs.state"].astype(F32), w["state_proj.weight"], w["state_proj.bias"])
            at = np.concatenate([a_emb, np.repeat(temb[:, None], horizon, 1)], -1)
            at = np_linear(at, w["action_time_mlp_in.weight"], w["action_time_mlp_in.bias"])
            at = at / (F32(1) + np.exp(-at))
            at = np_linear(at, w["action_time_mlp_out.weight"], w["action_time_mlp_out.bias"])
            suffix = np.concatenate([state_tok[:, None], at], 1)
            if step == 0:
                rec("step0.action_emb", a_emb)
            s_ar = np.array([1, 1] + [0] * (horizon - 1))
        rec(f"{sname}.suffix_embs", suffix)
        s_len = suffix.shape[1]
        s_pad = np.ones((b, s_len), bool)
        s_ar = np.broadcast_to(s_ar, (b, s_len))
        full = np.concatenate([np.repeat(pad[:, None, :], s_len, 1), np_make_att_2d(s_pad, s_ar)], 2)
        s_pos = n_valid[:, None] + np.cumsum(s_pad, 1) - 1
        if step == 0:
            rec("suffix.pad_mask", s_pad)
            rec("suffix.ar_mask", s_ar.astype(F32))
            rec("suffix.att_2d_mask", full)
            rec("suffix.positions", s_pos)
        add_s = np.where(full, F32(0), MASK_NEG).astype(F32)
        h = suffix
        r = rec if step == 0 else (lambda *_: None)
        for li in range(EXPERT["depth"]):
            h, _ = np_gemma_layer(w, f"{E}.layers.{li}", h, s_pos, add_s, cond,
                                  r if li == 0 else (lambda *_: None), "step0.expert.layer0", EXPERT,
                                  prefix_kv=kv[li])
            r(f"step0.expert.layer{li}", h)
        hat = np_rms_hat(h)
        if pi05:
            mod = np_linear(cond, w[f"{E}.norm.dense.weight"], w[f"{E}.norm.dense.bias"])[:, None, :]
            scale, shift, _ = np.split(mod, 3, -1)
            h = hat * (F32(1) + scale) + shift
        else:
            h = hat * (F32(1) + w[f"{E}.norm.weight"])
        r("step0.expert.final_norm", h)
        vel = np_linear(h[:, -horizon:], w["action_out_proj.weight"], w["action_out_proj.bias"])
        rec(f"{sname}.v_t", vel)
        x = x + dt * vel
        t = F32(t + dt)
    rec("x0", x)
    return out


def np_output_transforms(g, pi05):
    """openpi Unnormalize (+ AbsoluteActions for pi0_libero) + LiberoOutputs, float64 NumPy."""
    st = {k: {f: np.asarray(v, np.float64) for f, v in d.items()} for k, d in NORM_STATS.items()}
    out = {}
    # x0 stays float32 here on purpose: NumPy evaluates "(x + 1.0) / 2.0" in float32 before the float64
    # stats promote the rest (quantile path); the z-score path promotes at the first multiply.
    acts, state = g["x0"], g["inputs.state"]
    if pi05:  # quantile, first d dims only
        def unq(x, s):
            d = s["q01"].shape[0]
            return np.concatenate([(x[..., :d] + 1.0) / 2.0 * (s["q99"] - s["q01"] + 1e-6) + s["q01"],
                                   x[..., d:]], -1)
        acts, state = unq(acts, st["actions"]), unq(state, st["state"])
    else:  # z-score with mean/std padded by 0/1
        def unz(x, s):
            n = x.shape[-1] - s["mean"].shape[0]
            return x * (np.pad(s["std"], (0, n), constant_values=1.0) + 1e-6) + np.pad(s["mean"], (0, n))
        acts, state = unz(acts, st["actions"]), unz(state, st["state"])
    out["out.actions_unnormalized"], out["out.state_unnormalized"] = acts.copy(), state
    if not pi05:
        acts[..., :6] += state[:, None, :6]
        out["out.actions_absolute"] = acts.copy()
    out["out.actions"] = acts[..., :7]
    return out


def np_input_transforms(pi05):
    st = {k: {f: np.asarray(v, np.float64) for f, v in d.items()} for k, d in NORM_STATS.items()}["state"]
    x = RAW_STATES
    if pi05:
        n = (x - st["q01"]) / (st["q99"] - st["q01"] + 1e-6) * 2.0 - 1.0
    else:
        n = (x - st["mean"]) / (st["std"] + 1e-6)
    return {"tf.state_normalized": n, "inputs.state": np.pad(n, ((0, 0), (0, ACTION_DIM - n.shape[1])))}


def check_numpy():
    import safetensors.numpy

    for name, spec in MODELS.items():
        g = safetensors.numpy.load_file(str(OUT_DIR / name / "golden.safetensors"))
        w = safetensors.numpy.load_file(str(OUT_DIR / name / "model.safetensors"))
        ref = {**np_input_transforms(spec["pi05"]), **numpy_reference(w, g, spec),
               **np_output_transforms(g, spec["pi05"])}
        print(f"\n== {name}: NumPy re-implementation vs openpi goldens (max |diff|) ==")
        worst = 0.0
        for k, v in ref.items():
            gv = g[k]
            assert gv.shape == v.shape, (k, gv.shape, v.shape)
            if gv.dtype == np.bool_ or gv.dtype.kind in "iu":
                assert np.array_equal(gv, v), k
                continue
            d = float(np.max(np.abs(gv.astype(np.float64) - v.astype(np.float64))))
            worst = max(worst, d)
            if not k.startswith("step") or k.startswith(("step0.", "step9.")):
                print(f"  {k:34s} {d:.3e}")
        assert not (set(g) - set(ref) - {"raw.image", "raw.wrist_image", "raw.state", "noise",
                                         "inputs.tokens", "inputs.token_mask", "inputs.image_mask"}), \
            sorted(set(g) - set(ref))
        print(f"  worst: {worst:.3e} (all masks/positions identical; every golden tensor recomputed)")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--compare-lerobot", action="store_true",
                    help="run LeRobot's port (in /work/pyref) against the committed goldens")
    ap.add_argument("--check-numpy", action="store_true",
                    help="recompute every golden with an independent NumPy implementation")
    args = ap.parse_args()
    if args.compare_lerobot:
        compare_lerobot()
    elif args.check_numpy:
        check_numpy()
    else:
        generate()


# =============================================================================================
# LeRobot 0.6.1 port, compared against the committed goldens (run with /work/pyref/bin/python)
# =============================================================================================
def build_lerobot_model(name, spec):
    """LeRobot PI0Pytorch / PI05Pytorch with the tiny sizes, loaded from the openpi-layout checkpoint.

    The config.json -> LeRobot construction and the key mapping live in pi0_lerobot.py (shared with
    bench/peers/pi0_peers.py); here we only check that the folder describes this spec's model.
    """
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    from pi0_lerobot import load_lerobot_pi0

    arch, model = load_lerobot_pi0(OUT_DIR / name)
    tiny = arch["tiny"]
    assert arch["pi05"] == spec["pi05"] and arch["action_horizon"] == spec["horizon"], arch
    assert arch["max_token_len"] == spec["max_token_len"] and arch["action_dim"] == ACTION_DIM, arch
    assert tiny["vision"] == SIGLIP and tiny["paligemma"] == VLM and tiny["action_expert"] == EXPERT, tiny
    assert tiny["vocab_size"] == VOCAB and arch["image_size"] == IMG, arch
    return model


def compare_lerobot():
    import safetensors.numpy
    import torch
    import transformers

    import lerobot

    torch.set_num_threads(1)
    torch.set_float32_matmul_precision("highest")
    print(f"LeRobot {lerobot.__version__}, transformers {transformers.__version__}, torch {torch.__version__}")
    for name, spec in MODELS.items():
        gold = safetensors.numpy.load_file(str(OUT_DIR / name / "golden.safetensors"))
        model = build_lerobot_model(name, spec)
        rec = StageRecorder()
        rec.phase = "prefix"
        hooks = install_stage_hooks(model, spec["pi05"], rec)
        t = {k: torch.from_numpy(v) for k, v in gold.items()}
        images = [t[f"inputs.image{i}"] for i in range(len(CAMERAS))]
        masks = [t["inputs.image_mask"][:, i] for i in range(len(CAMERAS))]
        args = [images, masks, t["inputs.tokens"], t["inputs.token_mask"]]
        if not spec["pi05"]:
            args.append(t["inputs.state"])
        with torch.no_grad():
            x0 = model.sample_actions(*args, noise=t["noise"].clone())
        remove_stage_hooks(model, hooks)
        rec.put("x0", x0)

        print(f"\n== {name}: LeRobot vs openpi goldens (max |diff|, max |golden|) ==")
        worst = {}
        for k, v in rec.t.items():
            if k not in gold:
                print(f"  only in LeRobot: {k}")
                continue
            g = gold[k]
            if g.shape != v.shape:
                print(f"  {k}: shape {list(v.shape)} vs golden {list(g.shape)}")
                continue
            if g.dtype == np.bool_ or g.dtype.kind in "iu":
                same = np.array_equal(g, v)
                print(f"  {k:34s} {'identical' if same else 'DIFFERENT'}")
                continue
            d = float(np.max(np.abs(g.astype(np.float64) - v.astype(np.float64))))
            worst[k] = d
            print(f"  {k:34s} {d:.3e}  {float(np.max(np.abs(g))):.3g}")
        missing = sorted(set(k for k in gold if not k.startswith(("raw.", "tf.", "inputs.", "out.", "noise")))
                         - set(rec.t))
        if missing:
            print(f"  not produced by LeRobot: {missing}")
        print(f"  worst float stage: {max(worst, key=worst.get)} {max(worst.values()):.3e}")


if __name__ == "__main__":
    main()
