# SPDX-License-Identifier: Apache-2.0
#
# Shared helpers for running LeRobot 0.6.1's X-VLA as the reference on checkpoints in
# the OFFICIAL 2toinf/X-VLA format (config.json + model.safetensors with the vendored
# Florence-2 key names, tokenizer.json, preprocessor_config.json).
#
# Used by:
#   make_xvla_goldens.py          tiny goldens (tests/golden/xvla_tiny)
#   make_xvla_fullsize_reference.py  full-size reference file (not committed, 3.5 GB input)
#   bench/peers/xvla_peers.py     peer timings on the GPU machine
#
# What a reader must know:
#   - _RULES is THE official <-> LeRobot key-name map (LeRobot's native transformers
#     Florence-2 names -> official vendored names). It was verified four ways on the tiny
#     checkpoint (README "Checkpoint format"); load_official_checkpoint() re-verifies the
#     key set and every value against LeRobot's own loader remap on each file it loads.
#   - The processor helpers reproduce the official server path (spec §1.2-1.3):
#     CLIPImageProcessor slow path (Pillow bicubic resize to 224, float32(u8 * (1/255 in
#     f64)), (x - mean_f32) / std_f32, CHW) and BartTokenizerFast on the checkpoint's
#     tokenizer.json with padding="max_length", max_length=50, truncation=True.
#   - Only torch, numpy, safetensors, Pillow, transformers and lerobot are imported, so the
#     module also works on the GPU machine with LeRobot carried as wheels.

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
from lerobot_env import stub_missing_modules  # noqa: E402
from xvla_capture import ModuleSet  # noqa: E402

import transformers  # noqa: E402,F401  (before any stub: it probes optional packages)

STUBBED_MODULES = stub_missing_modules()

import lerobot  # noqa: E402
from lerobot.policies.xvla.action_hub import build_action_space  # noqa: E402
from lerobot.policies.xvla.configuration_xvla import XVLAConfig  # noqa: E402
from lerobot.policies.xvla.modeling_xvla import XVLAModel, _remap_vendored_florence_state_dict  # noqa: E402

# ------------------------------------------------------------- key name mapping
# LeRobot (native transformers Florence-2) name -> official (vendored) name.
# Rules are anchored and tried in order; exactly one must match every key.
_V = r"vlm\.vision_tower\."
_BLK = _V + r"blocks\.(\d+)\.(\d+)\.(spatial_block|channel_block)\."
_ATTN = {"spatial_block": "window_attn", "channel_block": "channel_attn"}
_RULES = [
    (re.compile(_V + r"convs\.(\d+)\.conv\.(weight|bias)$"), lambda m: f"vlm.vision_tower.convs.{m[1]}.proj.{m[2]}"),
    (re.compile(_V + r"convs\.(\d+)\.norm\.(weight|bias)$"), lambda m: f"vlm.vision_tower.convs.{m[1]}.norm.{m[2]}"),
    (re.compile(_BLK + r"(conv1|conv2)\.(weight|bias)$"),
     lambda m: f"vlm.vision_tower.blocks.{m[1]}.{m[2]}.{m[3]}.{m[4]}.fn.dw.{m[5]}"),
    (re.compile(_BLK + r"norm1\.(weight|bias)$"),
     lambda m: f"vlm.vision_tower.blocks.{m[1]}.{m[2]}.{m[3]}.{_ATTN[m[3]]}.norm.{m[4]}"),
    (re.compile(_BLK + r"(window_attn|channel_attn)\.(qkv|proj)\.(weight|bias)$"),
     lambda m: f"vlm.vision_tower.blocks.{m[1]}.{m[2]}.{m[3]}.{m[4]}.fn.{m[5]}.{m[6]}"),
    (re.compile(_BLK + r"norm2\.(weight|bias)$"),
     lambda m: f"vlm.vision_tower.blocks.{m[1]}.{m[2]}.{m[3]}.ffn.norm.{m[4]}"),
    (re.compile(_BLK + r"ffn\.(fc1|fc2)\.(weight|bias)$"),
     lambda m: f"vlm.vision_tower.blocks.{m[1]}.{m[2]}.{m[3]}.ffn.fn.net.{m[4]}.{m[5]}"),
    (re.compile(r"vlm\.multi_modal_projector\.image_projection\.weight$"), lambda m: "vlm.image_projection"),
    (re.compile(r"vlm\.multi_modal_projector\.image_proj_norm\.(weight|bias)$"),
     lambda m: f"vlm.image_proj_norm.{m[1]}"),
    (re.compile(r"vlm\.multi_modal_projector\.image_position_embed\.(row|column)_embeddings\.weight$"),
     lambda m: f"vlm.image_pos_embed.{m[1]}_embeddings.weight"),
    (re.compile(r"vlm\.multi_modal_projector\.visual_temporal_embed\.pos_idx_to_embed$"),
     lambda m: "vlm.visual_temporal_embed.pos_idx_to_embed"),
    (re.compile(r"vlm\.language_model\.shared\.weight$"), lambda m: "vlm.language_model.model.shared.weight"),
    # tied alias of shared: the official save_pretrained drops it (checked with 4.51.3)
    (re.compile(r"vlm\.language_model\.encoder\.embed_tokens\.weight$"), lambda m: None),
    (re.compile(r"vlm\.language_model\.encoder\.(.+)$"), lambda m: f"vlm.language_model.model.encoder.{m[1]}"),
    (re.compile(r"transformer\.(.+)$"), lambda m: f"transformer.{m[1]}"),
]
# Keys only the official model has: buffer of the (deleted) LM head, zeros [1, vocab].
OFFICIAL_ONLY = {"vlm.language_model.final_logits_bias"}
TRANSPOSED = {"vlm.image_projection"}  # official [in, out] used as x @ W; native Linear weight [out, in]
TIED_ALIAS = "vlm.language_model.encoder.embed_tokens.weight"  # LeRobot name, = shared.weight


def official_key_for(lerobot_key: str) -> str | None:
    hits = [(rx, fn) for rx, fn in _RULES if rx.match(lerobot_key)]
    if not hits:
        raise KeyError(f"no official name for LeRobot key {lerobot_key}")
    return hits[0][1](hits[0][0].match(lerobot_key))


def official_temporal_table(max_len: int, dim: int) -> torch.Tensor:
    """pos_idx_to_embed as the vendored PositionalEmbeddingCosine1D computes it (fp32)."""
    denom = torch.exp(-math.log(10000) * torch.arange(0, dim, 2) / dim)
    freqs = torch.arange(0, max_len).reshape(max_len, 1) * denom
    table = torch.zeros(max_len, dim)
    table[:, 0::2] = torch.sin(freqs)
    table[:, 1::2] = torch.cos(freqs)
    return table


def to_official_state_dict(lr_sd: dict) -> dict:
    out = {}
    for k, v in lr_sd.items():
        ok = official_key_for(k)
        if ok is None:
            continue
        if ok in out:
            raise KeyError(f"two LeRobot keys map to {ok}")
        out[ok] = v.t().contiguous() if ok in TRANSPOSED else v.contiguous()
    vocab = lr_sd["vlm.language_model.shared.weight"].shape[0]
    out["vlm.language_model.final_logits_bias"] = torch.zeros(1, vocab)
    # The file carries the buffer as the official code computes it (the native
    # formula is written differently; the tables agree on torch 2.11, and only
    # row 0 is ever used).
    tbl = out["vlm.visual_temporal_embed.pos_idx_to_embed"]
    out["vlm.visual_temporal_embed.pos_idx_to_embed"] = official_temporal_table(*tbl.shape)
    return out


def lerobot_state_dict_from_official(off_sd: dict) -> dict:
    """Official-layout tensors -> LeRobot XVLAModel state dict, through LeRobot's own
    loader remap (the independent direction of _RULES); restores the tied alias."""
    sd = _remap_vendored_florence_state_dict({f"model.{k}": v for k, v in off_sd.items()})
    sd = {k[len("model."):]: v for k, v in sd.items()}
    sd[TIED_ALIAS] = sd["vlm.language_model.shared.weight"]
    return sd


# ------------------------------------------------------------------ the model
def dim_action_of(cfg_json: dict) -> int:
    """Action (and proprio) width of the checkpoint's action space, e.g. ee6d -> 20."""
    return build_action_space(cfg_json["action_mode"].lower()).dim_action


def lerobot_config(cfg_json: dict, dtype: str = "float32", device: str = "cpu", **extra) -> XVLAConfig:
    """LeRobot XVLAConfig from an official config.json (exercises LeRobot's translation of
    the remote-code Florence-2 config)."""
    dim = dim_action_of(cfg_json)
    return XVLAConfig(
        florence_config=cfg_json["florence_config"], chunk_size=cfg_json["num_actions"],
        n_action_steps=cfg_json["num_actions"], hidden_size=cfg_json["hidden_size"], depth=cfg_json["depth"],
        num_heads=cfg_json["num_heads"], mlp_ratio=cfg_json["mlp_ratio"], num_domains=cfg_json["num_domains"],
        len_soft_prompts=cfg_json["len_soft_prompts"], dim_time=cfg_json["dim_time"],
        max_len_seq=cfg_json["max_len_seq"], use_hetero_proj=cfg_json["use_hetero_proj"],
        action_mode=cfg_json["action_mode"], max_state_dim=dim, dtype=dtype, device=device, **extra,
    )


def build_lerobot_model(cfg_json: dict, dtype: str = "float32", meta: bool = False) -> XVLAModel:
    """LeRobot's XVLAModel built from the official config.json, in eval mode. With
    meta=True no weights are allocated (fill with load_state_dict(..., assign=True))."""
    cfg = lerobot_config(cfg_json, dtype=dtype)
    if meta:
        with torch.device("meta"):
            model = XVLAModel(cfg, cfg.get_florence_config(), proprio_dim=dim_action_of(cfg_json))
    else:
        model = XVLAModel(cfg, cfg.get_florence_config(), proprio_dim=dim_action_of(cfg_json))
    return model.eval()


def check_official_keys(model_keys, file_keys) -> None:
    """The file's key set must be exactly what _RULES maps the model's keys to."""
    mapped = [m for m in (official_key_for(k) for k in model_keys) if m is not None]
    if len(mapped) != len(set(mapped)):
        raise RuntimeError("two LeRobot keys map to one official key")
    want = set(mapped) | OFFICIAL_ONLY
    have = set(file_keys)
    if want != have:
        raise RuntimeError(f"checkpoint key mismatch: missing {sorted(want - have)[:10]}, "
                           f"unexpected {sorted(have - want)[:10]}")


def load_official_checkpoint(ckpt: Path, verify_values: bool = True) -> tuple[dict, XVLAModel]:
    """(config.json, fp32 CPU LeRobot XVLAModel) from an official-format checkpoint folder.

    The model is built on the meta device and takes the file's tensors by assignment, so
    only one copy of the weights exists. Checks: the file's keys are exactly the _RULES
    image of the model's keys, and (verify_values) LeRobot's own remap and _RULES put
    every tensor in the same place. The temporal buffer is compared on row 0 only (the
    only row used; the file may hold the official formula's table)."""
    from safetensors.torch import load_file

    ckpt = Path(ckpt)
    cfg_json = json.loads((ckpt / "config.json").read_text())
    model = build_lerobot_model(cfg_json, meta=True)
    model_keys = list(model.state_dict().keys())
    off_sd = load_file(str(ckpt / "model.safetensors"))
    check_official_keys(model_keys, off_sd.keys())
    for k, v in off_sd.items():
        if v.dtype != torch.float32:
            off_sd[k] = v.float()
    sd = lerobot_state_dict_from_official(off_sd)
    if set(sd) != set(model_keys):
        raise RuntimeError(f"LeRobot remap key mismatch: {sorted(set(sd) ^ set(model_keys))[:10]}")
    if verify_values:
        for k in model_keys:
            ok = official_key_for(k)
            if ok is None:
                continue
            want = off_sd[ok].t() if ok in TRANSPOSED else off_sd[ok]
            if k.endswith("pos_idx_to_embed"):
                same = torch.equal(sd[k][0], want[0])
            else:
                same = torch.equal(sd[k], want)
            if not same:
                raise RuntimeError(f"{k}: LeRobot's remap and _RULES disagree on {ok}")
    del off_sd
    sd = {k: v.contiguous() for k, v in sd.items()}
    model.load_state_dict(sd, strict=True, assign=True)
    # assign=True keeps the file's tensors; re-tie the alias LeRobot expects.
    model.vlm.language_model.encoder.embed_tokens.weight = model.vlm.language_model.shared.weight
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        if t.is_meta:
            raise RuntimeError(f"{name} was not filled from the checkpoint")
    return cfg_json, model.eval()


def module_set(model: XVLAModel) -> ModuleSet:
    vt, mp = model.vlm.vision_tower, model.vlm.multi_modal_projector
    return ModuleSet(
        vision_convs=list(vt.convs), vision_blocks=[list(b) for b in vt.blocks],
        pos_embed=mp.image_position_embed, temporal_embed=mp.visual_temporal_embed,
        proj_norm=mp.image_proj_norm, proj_linear=mp.image_projection,
        token_embedding=model.vlm.language_model.shared, encoder=model.vlm.language_model.encoder,
        policy=model.transformer, pos_embed_layout="nchw",
    )


# ------------------------------------------------------------------ processor
NUM_VIEWS = 3  # processing_xvla.py class attribute
LANGUAGE_MAX_LENGTH = 50  # processing_xvla.py class attribute


def tokenize_official(ckpt: Path, texts: list, max_length: int = LANGUAGE_MAX_LENGTH) -> torch.Tensor:
    """int64 [B, max_length]: BartTokenizerFast(tokenizer.json)(texts, padding="max_length",
    max_length, truncation=True), as processing_xvla.py calls it."""
    from transformers import BartTokenizerFast

    tok = BartTokenizerFast(tokenizer_file=str(Path(ckpt) / "tokenizer.json"))
    ids = tok(list(texts), padding="max_length", max_length=max_length, truncation=True)["input_ids"]
    return torch.tensor(ids, dtype=torch.int64)


def preprocess_image_official(u8_hwc: np.ndarray, pre_cfg: dict) -> torch.Tensor:
    """f32 [3, H, W] from uint8 [h, w, 3] RGB: the slow CLIPImageProcessor path (spec §1.2):
    Pillow resize (resample from the config; 3 = BICUBIC) to size, rescale
    float32(u8 * (rescale_factor in f64)), (x - mean_f32) / std_f32, HWC -> CHW."""
    from PIL import Image

    if u8_hwc.dtype != np.uint8 or u8_hwc.ndim != 3 or u8_hwc.shape[2] != 3:
        raise ValueError(f"image: expected uint8 [h, w, 3], got {u8_hwc.dtype} {list(u8_hwc.shape)}")
    size = (pre_cfg["size"]["width"], pre_cfg["size"]["height"])
    img = Image.fromarray(u8_hwc)
    if pre_cfg.get("do_resize", True):
        img = img.resize(size, resample=Image.Resampling(pre_cfg.get("resample", 3)), reducing_gap=None)
    x = np.asarray(img)
    if pre_cfg.get("do_rescale", True):
        x = (x.astype(np.float64) * pre_cfg["rescale_factor"]).astype(np.float32)
    if pre_cfg.get("do_normalize", True):
        mean = np.asarray(pre_cfg["image_mean"], dtype=np.float32)
        std = np.asarray(pre_cfg["image_std"], dtype=np.float32)
        x = (x - mean) / std
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


def check_against_clip_processor(ckpt: Path, u8_hwc: np.ndarray, ours: torch.Tensor) -> str:
    """Compares preprocess_image_official with transformers' PIL CLIPImageProcessor when it
    can be loaded; returns a one-line verdict (raises on a mismatch)."""
    try:
        from transformers import AutoImageProcessor
        try:
            proc = AutoImageProcessor.from_pretrained(str(ckpt), backend="pil")
        except TypeError:
            proc = AutoImageProcessor.from_pretrained(str(ckpt), use_fast=False)
    except Exception as e:  # noqa: BLE001  (an optional cross-check)
        return f"CLIPImageProcessor cross-check skipped ({type(e).__name__}: {e})"
    from PIL import Image
    ref = torch.from_numpy(np.asarray(proc(Image.fromarray(u8_hwc), return_tensors="np")["pixel_values"][0]))
    if not torch.equal(ref, ours):
        raise RuntimeError(f"image preprocessing differs from {type(proc).__name__}: "
                           f"max {float((ref - ours).abs().max()):.3e}")
    return f"{type(proc).__name__} gives the same pixels bit for bit"


def official_inputs(ckpt: Path, views_u8: list, instruction: str, proprio, domain_id: int) -> dict:
    """generate_actions inputs for one request, as the official server builds them:
    present views first, zero images up to NUM_VIEWS, image_mask, token ids, proprio
    cast to f32, domain id. Batch 1 (the server does not batch)."""
    pre_cfg = json.loads((Path(ckpt) / "preprocessor_config.json").read_text())
    if not 1 <= len(views_u8) <= NUM_VIEWS:
        raise ValueError(f"views: expected 1..{NUM_VIEWS}, got {len(views_u8)}")
    size = pre_cfg["size"]["height"]
    images = torch.zeros(1, NUM_VIEWS, 3, size, size)
    mask = torch.zeros(1, NUM_VIEWS, dtype=torch.bool)
    for v, u8 in enumerate(views_u8):
        images[0, v] = preprocess_image_official(u8, pre_cfg)
        mask[0, v] = True
    return {
        "input_ids": tokenize_official(ckpt, [instruction]),
        "image_input": images,
        "image_mask": mask,
        "domain_id": torch.tensor([domain_id], dtype=torch.int64),
        "proprio": torch.tensor(np.asarray(proprio, dtype=np.float64), dtype=torch.float32).view(1, -1),
    }


# ---------------------------------------------------------------------- files
_ST_DTYPE = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.bool: "BOOL",
             torch.uint8: "U8"}


def save_sorted(tensors: dict, path: Path, metadata: dict) -> None:
    """safetensors writer with a byte-stable header (safetensors' own writer emits the
    metadata in hash order, so two runs differ). Tensors are laid out by sorted name."""
    header = {"__metadata__": dict(sorted(metadata.items()))}
    offset, blobs = 0, []
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        blob = t.numpy().tobytes()
        header[name] = {"dtype": _ST_DTYPE[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(len(head).to_bytes(8, "little"))
        f.write(head)
        for blob in blobs:
            f.write(blob)


def versions() -> dict:
    return {"torch_version": torch.__version__, "transformers_version": transformers.__version__,
            "lerobot_version": lerobot.__version__}
