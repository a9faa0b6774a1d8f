# SPDX-License-Identifier: Apache-2.0
#
# Generates the X-VLA golden fixtures: a tiny random-weight checkpoint of the real
# X-VLA-0.9B architecture in the official 2toINF/X-VLA format, plus every
# intermediate tensor of one generate_actions call (batch 2, 10 steps).
#
# Run from the repository root (takes ~1 minute on CPU, no network, no GPU):
#
#   /work/pyref/bin/python tests/golden/make_xvla_goldens.py
#
# Options: --out-dir (default tests/golden/xvla_tiny), --full-dump PATH (also write
# the unfiltered capture, used by crosscheck_xvla_official.py), --lerobot-out DIR
# (also write the same weights under LeRobot key names; not committed, see README),
# --keys-tsv PATH (official key list to check against; default
# /work/shared/specs/xvla_state_dict_keys.tsv, skipped if absent).
#
# Reference: LeRobot 0.6.1 `lerobot.policies.xvla` (XVLAModel.generate_actions) on
# top of transformers 5.5.4's native Florence-2 (`transformers.models.florence2`)
# and BART encoder, torch 2.11 CPU fp32. The official code (2toinf/X-VLA @ 6bc2513,
# vendored Florence-2, transformers 4.51.3) is run on the same files by
# crosscheck_xvla_official.py; the two agree to fp32 rounding (numbers in README).
#
# What a reader must know:
#   - model.safetensors uses the OFFICIAL key names (vendored Florence-2 layout);
#     the LeRobot model is filled through an explicit, verified name map
#     (official_key_for / to_official_state_dict in xvla_reference.py).
#   - Weights are drawn per official key from a generator seeded with the key's
#     CRC32, so values do not depend on module iteration order.
#   - Output files are bit-identical between runs on the same machine (1 thread).
#   - Tensor names and shapes of golden.safetensors are documented in README.md.

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import zlib
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from xvla_capture import run_generate, valid_view_map  # noqa: E402
# Key map, model construction, capture module set and the byte-stable writer are shared
# with the full-size reference and the peer benchmark (xvla_reference.py).
from xvla_reference import (  # noqa: E402,F401  (re-exported for xvla_sensitivity.py)
    OFFICIAL_ONLY, build_lerobot_model, lerobot_state_dict_from_official, module_set, official_key_for,
    save_sorted, to_official_state_dict)

import lerobot  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

from lerobot.policies.xvla.configuration_xvla import XVLAConfig  # noqa: E402
from lerobot.policies.xvla.modeling_xvla import XVLAModel  # noqa: E402
from lerobot.policies.xvla.soft_transformer import DomainAwareLinear  # noqa: E402

# ------------------------------------------------------------------ tiny config
# Same architecture as X-VLA-0.9B (spec §1.5-1.7), scaled down. Head dim and
# channel-group dim stay 32 in DaViT; 224x224 input keeps the 56/28/14/7 grids and
# the window padding (56->60, 28->36, 14->24, 7->12) of the real model.
DIM_EMBED = [32, 64, 96, 128]
DAVIT_HEADS = [1, 2, 3, 4]
DEPTHS = [1, 1, 2, 1]
PROJ_DIM = 64  # = BART d_model (image tokens and text embeddings are concatenated)
VOCAB = 1000
BART_MAX_POS = 128  # table has 130 rows (offset 2)
HIDDEN = 96  # policy width, deliberately != PROJ_DIM
POLICY_DEPTH = 2
POLICY_HEADS = 4
NUM_DOMAINS = 4
LEN_SOFT_PROMPTS = 8
NUM_ACTIONS = 30
DIM_ACTION = 20  # ee6d
DIM_TIME = 32
MAX_LEN_SEQ = 512

BATCH = 2
NUM_VIEWS = 3
TEXT_LEN = 50
IMAGE_SIZE = 224
STEPS = 10
SEED = 20250521
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def _hf451_common(**overrides) -> dict:
    """Generic fields transformers 4.51.3 PretrainedConfig.to_dict() writes for a sub-config."""
    d = {
        "_attn_implementation_autoset": False, "_name_or_path": "", "add_cross_attention": False,
        "architectures": None, "bad_words_ids": None, "begin_suppress_tokens": None, "bos_token_id": None,
        "chunk_size_feed_forward": 0, "cross_attention_hidden_size": None, "decoder_start_token_id": None,
        "diversity_penalty": 0.0, "do_sample": False, "early_stopping": False,
        "encoder_no_repeat_ngram_size": 0, "eos_token_id": None, "exponential_decay_length_penalty": None,
        "finetuning_task": None, "forced_bos_token_id": None, "forced_eos_token_id": None,
        "id2label": {"0": "LABEL_0", "1": "LABEL_1"}, "is_decoder": False, "is_encoder_decoder": False,
        "label2id": {"LABEL_0": 0, "LABEL_1": 1}, "length_penalty": 1.0, "max_length": 20, "min_length": 0,
        "no_repeat_ngram_size": 0, "num_beam_groups": 1, "num_beams": 1, "num_return_sequences": 1,
        "output_attentions": False, "output_hidden_states": False, "output_scores": False,
        "pad_token_id": None, "prefix": None, "problem_type": None, "pruned_heads": {},
        "remove_invalid_values": False, "repetition_penalty": 1.0, "return_dict": True,
        "return_dict_in_generate": False, "sep_token_id": None, "suppress_tokens": None,
        "task_specific_params": None, "temperature": 1.0, "tf_legacy_loss": False,
        "tie_encoder_decoder": False, "tie_word_embeddings": True, "tokenizer_class": None, "top_k": 50,
        "top_p": 1.0, "torch_dtype": None, "torchscript": False, "typical_p": 1.0, "use_bfloat16": False,
    }
    d.update(overrides)
    return d


def official_config() -> dict:
    """config.json exactly as the official XVLA.save_pretrained (transformers 4.51.3) writes it,
    plus the auto_map the HF hub checkpoints carry for remote code."""
    vision = _hf451_common(
        model_type="davit", depths=DEPTHS, dim_embed=DIM_EMBED, num_heads=DAVIT_HEADS, num_groups=DAVIT_HEADS,
        patch_size=[7, 3, 3, 3], patch_stride=[4, 2, 2, 2], patch_padding=[3, 1, 1, 1],
        patch_prenorm=[False, True, True, True], window_size=12, projection_dim=PROJ_DIM, drop_path_rate=0.1,
        enable_checkpoint=False,
        image_pos_embed={"max_pos_embeddings": 50, "type": "learned_abs_2d"},
        visual_temporal_embedding={"max_temporal_embeddings": 100, "type": "COSINE"},
        image_feature_source=["spatial_avg_pool", "temporal_avg_pool"],
    )
    text = _hf451_common(
        _attn_implementation_autoset=True, model_type="florence2_language", vocab_size=VOCAB, d_model=PROJ_DIM,
        encoder_layers=2, decoder_layers=1, encoder_attention_heads=4, decoder_attention_heads=4,
        encoder_ffn_dim=128, decoder_ffn_dim=128, max_position_embeddings=BART_MAX_POS, num_hidden_layers=2,
        activation_function="gelu", activation_dropout=0.0, attention_dropout=0.0, classifier_dropout=0.0,
        dropout=0.1, encoder_layerdrop=0.0, decoder_layerdrop=0.0, init_std=0.02, scale_embedding=False,
        use_cache=True, bos_token_id=0, pad_token_id=1, eos_token_id=2, decoder_start_token_id=2,
        forced_eos_token_id=2, is_encoder_decoder=True,
        id2label={"0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"},
        label2id={"LABEL_0": 0, "LABEL_1": 1, "LABEL_2": 2},
    )
    florence = {
        "_attn_implementation_autoset": True, "ignore_index": -100, "model_type": "florence2",
        "projection_dim": PROJ_DIM, "vocab_size": VOCAB, "vision_config": vision, "text_config": text,
    }
    return {
        "action_mode": "ee6d", "architectures": ["XVLA"],
        "auto_map": {"AutoConfig": "configuration_xvla.XVLAConfig", "AutoModel": "modeling_xvla.XVLA"},
        "depth": POLICY_DEPTH, "dim_time": DIM_TIME, "florence_config": florence, "hidden_size": HIDDEN,
        "len_soft_prompts": LEN_SOFT_PROMPTS, "max_action_dim": DIM_ACTION, "max_len_seq": MAX_LEN_SEQ,
        "mlp_ratio": 4.0, "model_type": "xvla", "num_actions": NUM_ACTIONS, "num_domains": NUM_DOMAINS,
        "num_heads": POLICY_HEADS, "real_action_dim": DIM_ACTION, "soft_prompt_length": LEN_SOFT_PROMPTS,
        "torch_dtype": "float32", "transformers_version": "4.51.3", "use_hetero_proj": False, "use_proprio": True,
    }


def preprocessor_config() -> dict:
    """CLIPImageProcessor settings of the X-VLA checkpoints (spec §1.2)."""
    return {
        "crop_size": {"height": 224, "width": 224}, "do_center_crop": False, "do_convert_rgb": None,
        "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": IMAGENET_MEAN,
        "image_processor_type": "CLIPImageProcessor", "image_std": IMAGENET_STD, "resample": 3,
        "rescale_factor": 1 / 255, "size": {"height": 224, "width": 224},
    }


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise RuntimeError(what)


def expected_official_keys(tsv: Path) -> set:
    """Official key list (spec TSV, full model) cut down to the tiny depths."""
    keys = set()
    for line in tsv.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, _, kind = line.split("\t")
        if kind.startswith("tied alias"):
            continue  # not in the saved file
        m = re.match(r"vlm\.vision_tower\.blocks\.(\d+)\.(\d+)\.", key)
        if m and int(m[2]) >= DEPTHS[int(m[1])]:
            continue
        m = re.match(r"vlm\.language_model\.model\.encoder\.layers\.(\d+)\.", key)
        if m and int(m[1]) >= 2:
            continue
        m = re.match(r"transformer\.blocks\.(\d+)\.", key)
        if m and int(m[1]) >= POLICY_DEPTH:
            continue
        keys.add(key)
    return keys


# ---------------------------------------------------------------- weight init
def _gen(key: str) -> torch.Generator:
    return torch.Generator().manual_seed(SEED * 7919 + zlib.crc32(key.encode()))


def init_weights(model: XVLAModel) -> None:
    """Non-trivial, order-independent init: a missing bias or a wrong norm must show.

    Linear / conv / DomainAwareLinear weights N(0, 1/fan_in); biases N(0, 0.05^2);
    LayerNorm gamma 1 + N(0, 0.1^2), beta N(0, 0.1^2); embeddings and the policy
    pos_emb N(0, 0.5^2). Buffers keep their deterministic values.
    """
    done = set()

    def fill(param: torch.nn.Parameter, lr_name: str, std: float, mean: float = 0.0) -> None:
        if id(param) in done:
            return  # tied alias (shared / encoder.embed_tokens)
        key = official_key_for(lr_name)
        if key is None:
            raise RuntimeError(f"{lr_name}: alias visited before its tied original")
        with torch.no_grad():
            param.copy_(torch.randn(param.shape, generator=_gen(key)) * std + mean)
        done.add(id(param))

    for mod_name, mod in model.named_modules():
        pre = f"{mod_name}." if mod_name else ""
        if isinstance(mod, DomainAwareLinear):
            fill(mod.fc.weight, pre + "fc.weight", mod.input_size ** -0.5)
            fill(mod.bias.weight, pre + "bias.weight", 0.05)
        elif isinstance(mod, torch.nn.Linear):
            fill(mod.weight, pre + "weight", mod.in_features ** -0.5)
            if mod.bias is not None:
                fill(mod.bias, pre + "bias", 0.05)
        elif isinstance(mod, torch.nn.Conv2d):
            fan_in = mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
            fill(mod.weight, pre + "weight", fan_in ** -0.5)
            fill(mod.bias, pre + "bias", 0.05)
        elif isinstance(mod, torch.nn.LayerNorm):
            fill(mod.weight, pre + "weight", 0.1, mean=1.0)
            fill(mod.bias, pre + "bias", 0.1)
        elif isinstance(mod, torch.nn.Embedding) and not mod_name.endswith((".fc", ".bias")):
            fill(mod.weight, pre + "weight", 0.5)
    fill(model.transformer.pos_emb, "transformer.pos_emb", 0.5)
    missing = [n for n, p in model.named_parameters() if id(p) not in done]
    if missing:
        raise RuntimeError(f"parameters without init rule: {missing}")


# --------------------------------------------------------------------- inputs
def make_images(gen: torch.Generator) -> torch.Tensor:
    """uint8-quantized synthetic photos (smooth colour fields, rectangles, noise),
    normalized like CLIPImageProcessor: float32(u8 * (1/255 as f64)), then (x-mean)/std."""
    imgs = torch.zeros(BATCH, NUM_VIEWS, 3, IMAGE_SIZE, IMAGE_SIZE)
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=torch.float32).view(3, 1, 1)
    for b in range(BATCH):
        for v in range(NUM_VIEWS):
            low = torch.rand(1, 3, 6, 6, generator=gen)
            x = F.interpolate(low, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bicubic", align_corners=False)[0]
            mid = torch.rand(1, 3, 28, 28, generator=gen) * 0.25
            x = x + F.interpolate(mid, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", align_corners=False)[0]
            for _ in range(6):
                y0, x0 = torch.randint(0, IMAGE_SIZE - 20, (2,), generator=gen).tolist()
                h, w = torch.randint(10, 80, (2,), generator=gen).tolist()
                x[:, y0:y0 + h, x0:x0 + w] = torch.rand(3, 1, 1, generator=gen)
            x = x + 0.03 * torch.randn(x.shape, generator=gen)
            u8 = (x.clamp(0, 1) * 255).round().to(torch.uint8)
            f = (u8.to(torch.float64) * (1 / 255)).to(torch.float32)
            imgs[b, v] = (f - mean) / std
    return imgs


def make_inputs() -> dict:
    gen = torch.Generator().manual_seed(SEED)
    images = make_images(gen)
    image_mask = torch.tensor([[True, True, False], [True, False, True]])
    images[~image_mask] = 0.0  # the processor zero-fills missing slots
    input_ids = torch.ones(BATCH, TEXT_LEN, dtype=torch.int64)  # pad id 1
    for b, n_words in enumerate([12, 25]):
        words = torch.randint(3, VOCAB, (n_words,), generator=gen)
        input_ids[b, : n_words + 2] = torch.cat([torch.tensor([0]), words, torch.tensor([2])])
    proprio = torch.zeros(BATCH, DIM_ACTION)
    for b in range(BATCH):
        q, _ = torch.linalg.qr(torch.randn(3, 3, generator=gen, dtype=torch.float64))
        proprio[b, 0:3] = (0.3 * torch.randn(3, generator=gen)).float()
        proprio[b, 3:9] = torch.cat([q[:, 0], q[:, 1]]).float()  # rot6d, column convention
        proprio[b, 9] = 0.8 if b == 0 else -0.4  # gripper: must be zeroed by the model
    proprio[1, 10:19] = 0.2 * torch.randn(9, generator=gen)  # sample 1: second arm in use
    proprio[1, 19] = 0.6
    noise = torch.randn(BATCH, NUM_ACTIONS, DIM_ACTION, generator=gen)
    return {
        "input_ids": input_ids, "image_input": images, "image_mask": image_mask,
        "domain_id": torch.tensor([3, 1], dtype=torch.int64), "proprio": proprio, "noise": noise,
    }


# -------------------------------------------------------------------- capture
DETAIL_VIEW = (0, 0)  # the view with every DaViT block dumped
DETAIL_STEPS = {0}  # denoising steps with the full policy sequence dumped


def keep_in_golden(name: str) -> bool:
    """Size budget: every DaViT block for one view, the stage-2 output and the final
    features for the others; the full policy sequence for step 0 only, the per-step
    action tensors for all steps. --full-dump keeps everything."""
    m = re.match(r"vision\.b(\d)\.view(\d)\.(.+)$", name)
    if m:
        if (int(m[1]), int(m[2])) == DETAIL_VIEW:
            return True
        return m[3] in ("features", f"stage2.block{DEPTHS[2] - 1}.channel")
    m = re.match(r"policy\.step(\d+)\.(seq_in|block\d+|final_norm)$", name)
    if m:
        return int(m[1]) in DETAIL_STEPS
    return name != "policy.domain_id"  # duplicate of inputs.domain_id


def fp64_deltas(cfg_json: dict, sd: dict, inputs: dict, ref: dict) -> dict:
    """max |fp32 - fp64| of every captured tensor: the reference's own rounding level."""
    model = build_lerobot_model(cfg_json)
    model.load_state_dict(sd, strict=True)
    model = model.double()
    model._get_target_dtype = lambda: torch.float64
    out = run_generate(model, module_set(model), inputs, STEPS, valid_view_map(inputs["image_mask"]))
    deltas = {}
    for k, v in ref.items():
        if v.is_floating_point():
            deltas[k] = float((v.double() - out[k]).abs().max())
    return deltas


def write_lerobot_checkpoint(out: Path, cfg_json: dict, lr_sd: dict) -> None:
    """Same weights under LeRobot key names ("model." prefix, native Florence-2 layout,
    image_projection as [out, in]) + LeRobot config.json; verified by reloading
    through XVLAPolicy.from_pretrained. Not committed (size), see README."""
    from lerobot.configs import FeatureType, PolicyFeature
    from lerobot.policies.xvla.modeling_xvla import XVLAPolicy

    out.mkdir(parents=True, exist_ok=True)
    img = PolicyFeature(type=FeatureType.VISUAL, shape=(3, IMAGE_SIZE, IMAGE_SIZE))
    cfg = XVLAConfig(
        florence_config=cfg_json["florence_config"], chunk_size=NUM_ACTIONS, n_action_steps=NUM_ACTIONS,
        hidden_size=HIDDEN, depth=POLICY_DEPTH, num_heads=POLICY_HEADS, num_domains=NUM_DOMAINS,
        len_soft_prompts=LEN_SOFT_PROMPTS, dim_time=DIM_TIME, max_len_seq=MAX_LEN_SEQ, max_state_dim=DIM_ACTION,
        tokenizer_max_length=TEXT_LEN, num_image_views=NUM_VIEWS, empty_cameras=1, device="cpu",
        input_features={"observation.images.image": img, "observation.images.image2": img,
                        "observation.state": PolicyFeature(type=FeatureType.STATE, shape=(DIM_ACTION,))},
        output_features={"action": PolicyFeature(type=FeatureType.ACTION, shape=(DIM_ACTION,))},
    )
    cfg._save_pretrained(out)
    save_sorted({f"model.{k}": v for k, v in lr_sd.items() if k != "vlm.language_model.encoder.embed_tokens.weight"},
                out / "model.safetensors", {"format": "pt"})
    policy = XVLAPolicy.from_pretrained(str(out))
    got = policy.model.state_dict()
    for k, v in lr_sd.items():
        if not torch.equal(got[k], v):
            raise RuntimeError(f"LeRobot checkpoint reload: {k} differs")
    print(f"wrote LeRobot-format checkpoint to {out} (reloaded with XVLAPolicy.from_pretrained)")


# ----------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out-dir", type=Path, default=HERE / "xvla_tiny")
    ap.add_argument("--full-dump", type=Path, default=None)
    ap.add_argument("--lerobot-out", type=Path, default=None)
    ap.add_argument("--keys-tsv", type=Path, default=Path("/work/shared/specs/xvla_state_dict_keys.tsv"))
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    args.out_dir.mkdir(parents=True, exist_ok=True)

    # 1. model + weights ---------------------------------------------------
    cfg_json = official_config()
    model = build_lerobot_model(cfg_json)
    init_weights(model)
    lr_sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    off_sd = to_official_state_dict(lr_sd)

    # 2. mapping checks ------------------------------------------------------
    # (a) every LeRobot key consumed exactly once (tied alias excepted)
    mapped = [m for m in (official_key_for(k) for k in lr_sd) if m is not None]
    _require(len(mapped) == len(set(mapped)), "two LeRobot keys map to one official key")
    _require(set(off_sd) == set(mapped) | OFFICIAL_ONLY, "official state dict has unexpected keys")
    # (b) against the official key list of the spec, cut to the tiny depths
    if args.keys_tsv.exists():
        want = expected_official_keys(args.keys_tsv)
        if want != set(off_sd):
            raise RuntimeError(f"official key mismatch: missing {sorted(want - set(off_sd))}, "
                               f"extra {sorted(set(off_sd) - want)}")
        print(f"official key set matches {args.keys_tsv.name} ({len(want)} keys)")
    else:
        print(f"note: {args.keys_tsv} not found, TSV key check skipped")
    # (c) LeRobot's own loader remaps our official file back to its state dict, bit for bit
    back = lerobot_state_dict_from_official(off_sd)
    _require(set(back) == set(lr_sd), f"LeRobot remap key mismatch: {sorted(set(back) ^ set(lr_sd))}")
    for k in lr_sd:
        if k.endswith("pos_idx_to_embed"):  # official-formula buffer; only row 0 is used
            _require(torch.equal(back[k][0], lr_sd[k][0]), f"{k}: row 0 differs")
        else:
            _require(torch.equal(back[k], lr_sd[k]), f"{k}: value differs after the round trip")
    # (d) the model actually used below is loaded from the written file
    off_path = args.out_dir / "model.safetensors"
    save_sorted(off_sd, off_path, {"format": "pt"})
    reloaded = lerobot_state_dict_from_official(load_file(str(off_path)))
    model = build_lerobot_model(cfg_json)
    model.load_state_dict(reloaded, strict=True)
    with open(args.out_dir / "config.json", "w") as f:
        json.dump(cfg_json, f, indent=2, sort_keys=True)
        f.write("\n")
    with open(args.out_dir / "preprocessor_config.json", "w") as f:
        json.dump(preprocessor_config(), f, indent=2, sort_keys=True)
        f.write("\n")

    # 3. run the reference ---------------------------------------------------
    inputs = make_inputs()
    view_map = valid_view_map(inputs["image_mask"])
    cap = run_generate(model, module_set(model), inputs, STEPS, view_map)
    deltas = fp64_deltas(cfg_json, reloaded, inputs, cap)

    tensors = {f"inputs.{k}": v.contiguous() for k, v in inputs.items()}
    tensors.update(cap)
    if args.full_dump:
        save_sorted(tensors, args.full_dump, {"steps": str(STEPS)})
    golden = {k: v for k, v in tensors.items() if keep_in_golden(k)}
    meta = {
        "format": "vlart-golden-v1",
        "model": "X-VLA-0.9B architecture, tiny random weights (xvla_tiny/model.safetensors)",
        "reference": "lerobot.policies.xvla XVLAModel.generate_actions (native transformers Florence-2), fp32 CPU",
        "cross_checked_against": "2toinf/X-VLA@6bc2513 models/ (transformers 4.51.3), see README",
        "torch_version": torch.__version__, "transformers_version": transformers.__version__,
        "lerobot_version": lerobot.__version__, "steps": str(STEPS), "seed": str(SEED),
        "script": "tests/golden/make_xvla_goldens.py",
        "fp32_vs_fp64_maxabs": json.dumps({k: float(f"{v:.3e}") for k, v in sorted(deltas.items()) if k in golden}),
    }
    save_sorted(golden, args.out_dir / "golden.safetensors", meta)

    # 4. optional LeRobot-named copy ---------------------------------------
    if args.lerobot_out:
        write_lerobot_checkpoint(args.lerobot_out, cfg_json, reloaded)

    # 5. summary -------------------------------------------------------------
    n_bytes = sum(v.numel() * v.element_size() for v in golden.values())
    print(f"wrote {off_path} ({len(off_sd)} tensors), golden.safetensors ({len(golden)} tensors, "
          f"{n_bytes / 1e6:.2f} MB of data)")
    act = cap["output.actions"]
    print(f"actions mean {act.mean():.6f} std {act.std():.6f} first {act[0, 0, :5].tolist()}")
    worst = max((v, k) for k, v in deltas.items())
    print(f"largest fp32-vs-fp64 delta: {worst[0]:.3e} at {worst[1]}")


if __name__ == "__main__":
    main()
