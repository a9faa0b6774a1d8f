# SPDX-License-Identifier: Apache-2.0
#
# LeRobot 0.6.1's PyTorch pi0 / pi0.5 (PI0Pytorch / PI05Pytorch) built from an openpi-layout
# checkpoint folder: config.json + model.safetensors with openpi's PyTorch key names, as openpi's
# converter, tests/golden/make_pi0_goldens.py and `vlart make-synthetic --arch pi0|pi05` write them.
#
# Used by make_pi0_goldens.py --compare-lerobot (tiny goldens) and bench/peers/pi0_peers.py (peer
# timings). Nothing is copied from LeRobot; its classes are imported (run with /work/pyref/bin/python,
# or the GPU image + the carried wheels, see bench/peers/README.md).
#
# Architecture, from config.json (openpi writes only five keys, so the rest is implied):
#   * pi0 vs pi0.5: vlart_tiny_arch.pi05 when present, else from the weights (time_mlp_in.weight
#     present and state_proj.weight absent -> pi0.5), as vlart's InferPi0Config does;
#   * sizes: a `vlart_tiny_arch` block gives SigLIP / PaliGemma / expert / vocab explicitly (tiny
#     configs whose head dims break the conventions); otherwise the released So400m + gemma_2b +
#     gemma_300m, vocab 257152 (LeRobot's own defaults, unpatched);
#   * action_horizon -> chunk_size, action_dim -> max_state_dim / max_action_dim; max_token_len from
#     vlart_tiny_arch, else LIBERO's 48 (pi0) / 200 (pi0.5).
# Tiny sizes go in by wrapping the transformers classes LeRobot instantiates (config edits before
# construction; LeRobot hard-codes So400m and the 257152 vocabulary), never by editing model code.
#
# Key mapping: the file's names are LeRobot's PI0Pytorch names under transformers 5.5.4; the
# differences are the tied token embedding, which safetensors.save_model stores under
# paligemma.lm_head.weight only (LeRobot's from_pretrained copies it into embed_tokens the same way),
# and, under transformers 5.17, the SigLIP tower's missing `vision_model.` level (KEY_RENAMES). load_checkpoint_into() asserts that no
# model key is missing, no file key is left over, and that every parameter equals the file's value.
from __future__ import annotations

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from lerobot_env import stub_missing_modules  # noqa: E402

import transformers  # noqa: E402,F401  (before any stub: it probes optional packages)

STUBBED_MODULES = stub_missing_modules()

LM_HEAD_KEY = "paligemma_with_expert.paligemma.lm_head.weight"
EMBED_KEY = "paligemma_with_expert.paligemma.model.language_model.embed_tokens.weight"
# Module paths that moved between transformers releases (file name part, model name part):
# transformers 5.17's SigLIP vision tower has no `vision_model` level (5.5.4, openpi's 4.53 and
# the files have it).
KEY_RENAMES = (("paligemma.model.vision_tower.vision_model.", "paligemma.model.vision_tower."),)
TINY_VLM, TINY_EXPERT = "vlart_tiny_vlm", "vlart_tiny_expert"
SIGLIP_KEYS = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
               "patch_size", "image_size")
GEMMA_KEYS = ("width", "depth", "mlp_dim", "num_heads", "num_kv_heads", "head_dim")


def read_arch(ckpt: pathlib.Path, weight_keys) -> dict:
    """The architecture of an openpi-layout checkpoint folder (see the header)."""
    cfg = json.loads((ckpt / "config.json").read_text()) if (ckpt / "config.json").exists() else {}
    tiny = cfg.get("vlart_tiny_arch")
    keys = set(weight_keys)
    if tiny is not None and "pi05" in tiny:
        pi05 = bool(tiny["pi05"])
    elif "time_mlp_in.weight" in keys and "state_proj.weight" not in keys:
        pi05 = True
    elif "state_proj.weight" in keys and "time_mlp_in.weight" not in keys:
        pi05 = False
    else:
        raise ValueError(f"{ckpt}: cannot tell pi0 from pi0.5 (state_proj / time_mlp_in)")
    arch = {
        "pi05": pi05,
        "action_horizon": int(cfg.get("action_horizon", 10 if pi05 else 50)),
        "action_dim": int(cfg.get("action_dim", 32)),
        "max_token_len": int((tiny or {}).get("max_token_len", 200 if pi05 else 48)),
        "paligemma_variant": cfg.get("paligemma_variant", "gemma_2b"),
        "action_expert_variant": cfg.get("action_expert_variant", "gemma_300m"),
        "image_size": 224,
        "tiny": None,
    }
    if tiny is not None:
        arch["tiny"] = {
            "vocab_size": int(tiny["vocab_size"]),
            "vision": {k: int(tiny["vision"][k]) for k in SIGLIP_KEYS},
            "paligemma": {k: int(tiny["paligemma"][k]) for k in GEMMA_KEYS},
            "action_expert": {k: int(tiny["action_expert"][k]) for k in GEMMA_KEYS},
        }
        arch["image_size"] = arch["tiny"]["vision"]["image_size"]
    return arch


def read_folder_arch(ckpt: pathlib.Path) -> dict:
    """read_arch from the safetensors header alone (no tensor is read)."""
    from safetensors import safe_open

    with safe_open(str(ckpt / "model.safetensors"), framework="pt") as f:
        return read_arch(ckpt, list(f.keys()))


def adapt_to_transformers() -> list:
    """Adapters for a transformers release newer than LeRobot 0.6.1's pin (<5.6); returns their
    names. transformers 5.17's masking_utils.create_causal_mask has no `cache_position` argument,
    which lerobot.policies.pi_gemma passes; the argument only positions a mask that is built from
    it, and pi0 / pi0.5 always pass a ready 4-D mask, so it is dropped (checked: tiny pi0 / pi0.5
    give the same actions under transformers 5.5.4 and 5.17, bench/peers/README.md)."""
    import inspect

    import lerobot.policies.pi_gemma as pi_gemma

    done = []
    fn = pi_gemma.create_causal_mask
    if (not getattr(fn, "_vlart_adapter", False)
            and "cache_position" not in inspect.signature(fn).parameters):
        def create_causal_mask(*args, cache_position=None, **kwargs):  # noqa: ARG001
            return fn(*args, **kwargs)
        create_causal_mask._vlart_adapter = True
        pi_gemma.create_causal_mask = create_causal_mask
        done.append("pi_gemma.create_causal_mask: drop cache_position")
    return done


def build_model(arch: dict, device=None):
    """An un-loaded LeRobot PI0Pytorch / PI05Pytorch in float32 for `arch` (read_arch), on `device`."""
    import torch

    if arch["pi05"]:
        import lerobot.policies.pi05.configuration_pi05 as cfg_mod
        import lerobot.policies.pi05.modeling_pi05 as mod
        cfg, model_cls = cfg_mod.PI05Config(), mod.PI05Pytorch
    else:
        import lerobot.policies.pi0.configuration_pi0 as cfg_mod
        import lerobot.policies.pi0.modeling_pi0 as mod
        cfg, model_cls = cfg_mod.PI0Config(), mod.PI0Pytorch
    arch["adapters"] = adapt_to_transformers()

    real = (mod.get_gemma_config, mod.PaliGemmaForConditionalGenerationWithPiGemma, mod.PiGemmaForCausalLM)
    tiny = arch["tiny"]
    if tiny is not None:
        variants = {arch["paligemma_variant"]: mod.GemmaConfig(**tiny["paligemma"]),
                    arch["action_expert_variant"]: mod.GemmaConfig(**tiny["action_expert"])}
        vocab = tiny["vocab_size"]

        def tiny_paligemma(config):
            for k, v in tiny["vision"].items():
                setattr(config.vision_config, k, v)
            config.vision_config.projection_dim = config.text_config.hidden_size
            config.text_config.vocab_size = vocab
            config._vocab_size = vocab  # noqa: SLF001
            config.image_token_index = vocab
            return real[1](config=config)

        def tiny_gemma(config):
            config.vocab_size = vocab  # the unused expert lm_head
            return real[2](config=config)

        mod.get_gemma_config = lambda v: variants[v] if v in variants else real[0](v)
        mod.PaliGemmaForConditionalGenerationWithPiGemma = tiny_paligemma
        mod.PiGemmaForCausalLM = tiny_gemma
    try:
        # Set after __post_init__ (its variant check knows only the released names).
        cfg.paligemma_variant, cfg.action_expert_variant = arch["paligemma_variant"], arch["action_expert_variant"]
        cfg.chunk_size = cfg.n_action_steps = arch["action_horizon"]
        cfg.tokenizer_max_length = arch["max_token_len"]
        cfg.image_resolution = (arch["image_size"], arch["image_size"])
        cfg.dtype = "float32"
        cfg.max_state_dim = cfg.max_action_dim = arch["action_dim"]
        cfg.num_inference_steps = 10
        cfg.compile_model = False
        if device is not None:
            with torch.device(device):
                model = model_cls(cfg)
        else:
            model = model_cls(cfg)
    finally:
        mod.get_gemma_config, mod.PaliGemmaForConditionalGenerationWithPiGemma, mod.PiGemmaForCausalLM = real
    return model.eval()


def rename_for_model(sd: dict, model_keys) -> tuple[dict, int]:
    """File names -> this transformers release's module names (KEY_RENAMES, only where the model
    lacks the file's name and has the renamed one). Returns (state dict, number renamed)."""
    model_keys = set(model_keys)
    out, renamed = {}, 0
    for k, v in sd.items():
        if k not in model_keys:
            for old, new in KEY_RENAMES:
                if old in k and k.replace(old, new) in model_keys:
                    k, renamed = k.replace(old, new), renamed + 1
                    break
        out[k] = v
    return out, renamed


def load_checkpoint_into(model, state_dict: dict) -> int:
    """Loads an openpi-layout state dict; every key is consumed and every value checked.
    Returns how many keys were renamed (rename_for_model)."""
    import torch

    sd, renamed = rename_for_model(state_dict, model.state_dict().keys())
    if EMBED_KEY not in sd:
        sd[EMBED_KEY] = sd[LM_HEAD_KEY]  # the tied embedding (see the header)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise ValueError(f"LeRobot pi0 load: missing {missing}, unexpected {unexpected}")
    params = model.state_dict()
    for k, v in sd.items():
        p = params[k]
        if p.shape != v.shape or not torch.equal(p, v.to(device=p.device, dtype=p.dtype)):
            raise ValueError(f"LeRobot pi0 load: {k}: value or shape differs after loading")
    return renamed


def load_lerobot_pi0(ckpt: pathlib.Path, device=None):
    """(arch, model): LeRobot's float32 pi0 / pi0.5 with the folder's weights, on `device`."""
    import safetensors.torch

    sd = safetensors.torch.load_file(str(ckpt / "model.safetensors"))
    arch = read_arch(ckpt, sd.keys())
    model = build_model(arch, device)
    arch["keys_renamed"] = load_checkpoint_into(model, sd)
    arch["file_keys"] = len(sd)
    arch["file_dtypes"] = sorted({str(v.dtype).replace("torch.", "") for v in sd.values()})
    return arch, model
