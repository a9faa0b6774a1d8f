# SPDX-License-Identifier: Apache-2.0
#
# Stage capture for X-VLA golden fixtures: forward hooks that record every
# intermediate tensor of XVLA.generate_actions under stable dotted names.
#
# Used by two scripts that run the SAME tiny checkpoint through two different
# reference implementations:
#   make_xvla_goldens.py      -> LeRobot 0.6.1 port (native transformers Florence-2)
#   crosscheck_xvla_official.py -> official 2toinf/X-VLA code (vendored Florence-2)
# The module trees differ (see ModuleSet below); the names produced are the same,
# so the two captures can be compared key by key. Only torch is imported here, so
# this file works under both transformers 5.5 (pyref) and 4.51 (pyref451).
#
# Layout conventions of the captured tensors (documented in README.md):
#   - DaViT activations are stored as tokens [N, C] with N = H*W row-major
#     (h*W + w), whatever layout the implementation uses internally (the native
#     Florence-2 keeps NCHW, the vendored one [B, N, C]).
#   - Vision hooks see the valid views batched together (only image_mask==True
#     slots go through DaViT); set_view_map() tells which (sample, slot) each
#     batch row is.
#   - Policy tensors are captured per denoising step; step k has t = (steps-k)/steps.

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import torch


@dataclass
class ModuleSet:
    """Handles to the modules to hook; each script fills it from its own tree."""

    vision_convs: list  # [4] patch-embed modules (ConvEmbed / Florence2VisionConvEmbed)
    vision_blocks: list  # [4][depth_s] modules with .spatial_block and .channel_block
    pos_embed: torch.nn.Module  # learned 2D position embedding of the 7x7 grid
    temporal_embed: torch.nn.Module  # cosine temporal embedding (pos_idx_to_embed buffer)
    proj_norm: torch.nn.LayerNorm  # image_proj_norm; its input is tokens @ W_proj
    proj_linear: torch.nn.Module | None  # native nn.Linear image_projection (None if official Parameter)
    token_embedding: torch.nn.Embedding  # BART shared token table
    encoder: torch.nn.Module  # BART encoder (has embed_positions, layernorm_embedding, layers)
    policy: torch.nn.Module  # SoftPromptedTransformer
    pos_embed_layout: str  # "nchw" (native output [n, C, H, W]) or "nhwc" (vendored [n, H, W, C])


def _tokens(x: torch.Tensor) -> torch.Tensor:
    """[n, C, H, W] (native) or [n, N, C] (vendored) -> [n, N, C]."""
    if x.dim() == 4:
        return x.flatten(2).transpose(1, 2)
    return x


def _first(out):
    return out[0] if isinstance(out, (tuple, list)) else out


@dataclass
class Capture:
    mods: ModuleSet
    store: dict = field(default_factory=dict)
    view_map: list = field(default_factory=list)  # batch row of valid views -> (b, v)
    step: int = -1
    _handles: list = field(default_factory=list)

    # ----------------------------------------------------------------- helpers
    def _put(self, name: str, t: torch.Tensor) -> None:
        if name in self.store:
            raise RuntimeError(f"capture: tensor {name} recorded twice")
        self.store[name] = t.detach().to("cpu").clone().contiguous()

    def _put_step_invariant(self, name: str, t: torch.Tensor) -> None:
        """Step-invariant policy tensors: keep step 0, check later steps equal it."""
        if self.step == 0:
            self._put(name, t)
        elif not torch.equal(self.store[name], t.detach().cpu()):
            raise RuntimeError(f"capture: {name} changed between denoising steps")

    def _per_view(self, suffix: str, x: torch.Tensor) -> None:
        x = _tokens(x)
        if x.shape[0] != len(self.view_map):
            raise RuntimeError(f"capture: {suffix}: {x.shape[0]} rows, {len(self.view_map)} valid views")
        for row, (b, v) in enumerate(self.view_map):
            self._put(f"vision.b{b}.view{v}.{suffix}", x[row])

    def _hook(self, module, fn, pre=False):
        if pre:
            h = module.register_forward_pre_hook(fn, with_kwargs=True)
        else:
            h = module.register_forward_hook(fn, with_kwargs=True)
        self._handles.append(h)

    # ------------------------------------------------------------------ hooks
    def install(self) -> None:
        m = self.mods
        n_stages = len(m.vision_convs)
        for s in range(n_stages):
            self._hook(m.vision_convs[s], lambda mod, a, k, o, s=s: self._per_view(f"stage{s}.conv", _first(o)))
            for j, blk in enumerate(m.vision_blocks[s]):
                self._hook(blk.spatial_block,
                           lambda mod, a, k, o, s=s, j=j: self._per_view(f"stage{s}.block{j}.spatial", _first(o)))
                self._hook(blk.channel_block,
                           lambda mod, a, k, o, s=s, j=j: self._per_view(f"stage{s}.block{j}.channel", _first(o)))
        last_stage, last_block = n_stages - 1, len(m.vision_blocks[-1]) - 1
        self._hook(m.vision_blocks[last_stage][last_block].channel_block,
                   lambda mod, a, k, o: self._per_view("features", _first(o)))

        def on_pos(mod, args, kwargs, out):
            pos = out[0]  # same for every view
            if m.pos_embed_layout == "nchw":
                pos = pos.flatten(1).transpose(0, 1)  # [C, H, W] -> [H*W, C]
            else:
                pos = pos.reshape(-1, pos.shape[-1])  # [H, W, C] -> [H*W, C]
            self._put("proj.pos_embed", pos)

        self._hook(m.pos_embed, on_pos)
        self._hook(m.temporal_embed, lambda mod, a, k, o: self._put("proj.temporal_embed", o.reshape(-1, o.shape[-1])[0]))

        if m.proj_linear is not None:  # native: the Linear's input is [mean; 49 tokens]
            def on_proj_lin(mod, args, kwargs, out):
                tok = args[0]
                for row, (b, v) in enumerate(self.view_map):
                    self._put(f"proj.b{b}.view{v}.tokens", tok[row])
                    self._put(f"proj.b{b}.view{v}.pos_temporal", tok[row, 1:])
            self._hook(m.proj_linear, on_proj_lin)

        def on_proj_norm(mod, args, kwargs, out):
            for row, (b, v) in enumerate(self.view_map):
                self._put(f"proj.b{b}.view{v}.projected", args[0][row])
                self._put(f"proj.b{b}.view{v}.out", out[row])

        self._hook(m.proj_norm, on_proj_norm)

        # ------------------------------------------------------------ encoder
        self._hook(m.token_embedding, lambda mod, a, k, o: self._put("encoder.text_embeds", o))

        def on_enc_pre(mod, args, kwargs):
            self._put("encoder.inputs_embeds", kwargs["inputs_embeds"])

        self._hook(m.encoder, on_enc_pre, pre=True)
        self._hook(m.encoder.embed_positions,
                   lambda mod, a, k, o: self._put("encoder.embed_positions", o.reshape(-1, o.shape[-2], o.shape[-1])[0]))

        def on_ln_emb(mod, args, kwargs, out):
            self._put("encoder.embed_sum", args[0])
            self._put("encoder.embed_ln", out)

        self._hook(m.encoder.layernorm_embedding, on_ln_emb)
        for l, layer in enumerate(m.encoder.layers):
            self._hook(layer, lambda mod, a, k, o, l=l: self._put(f"encoder.layer{l}", _first(o)))

        # ------------------------------------------------------------- policy
        p = m.policy

        def on_policy_pre(mod, args, kwargs):
            self.step += 1
            k = self.step
            self._put(f"policy.step{k}.t", kwargs["t"])
            self._put(f"policy.step{k}.x_t", kwargs["action_with_noise"])
            self._put_step_invariant("policy.proprio", kwargs["proprio"])
            self._put_step_invariant("policy.domain_id", kwargs["domain_id"])
            self._put_step_invariant("vlm.vlm_features", kwargs["vlm_features"])
            self._put_step_invariant("vlm.aux_visual_inputs", kwargs["aux_visual_inputs"])

        self._hook(p, on_policy_pre, pre=True)

        def on_act_enc(mod, args, kwargs, out):
            x = args[0] if args else kwargs["x"]
            self._put(f"policy.step{self.step}.action_tokens", x)
            self._put(f"policy.step{self.step}.action_embed", out)

        self._hook(p.action_encoder, on_act_enc)
        self._hook(p.vlm_proj, lambda mod, a, k, o: self._put_step_invariant("policy.vlm_proj", o))
        self._hook(p.aux_visual_proj, lambda mod, a, k, o: self._put_step_invariant("policy.aux_proj", o))
        self._hook(p.soft_prompt_hub, lambda mod, a, k, o: self._put_step_invariant(
            "policy.soft_prompts", o.view(o.shape[0], -1, p.hidden_size)))
        self._hook(p.blocks[0], lambda mod, a, k: self._put(f"policy.step{self.step}.seq_in", a[0]), pre=True)
        for l, blk in enumerate(p.blocks):
            self._hook(blk, lambda mod, a, k, o, l=l: self._put(f"policy.step{self.step}.block{l}", o))
        self._hook(p.norm, lambda mod, a, k, o: self._put(f"policy.step{self.step}.final_norm", o))
        self._hook(p.action_decoder, lambda mod, a, k, o: self._put(f"policy.step{self.step}.x0", o))

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()


@contextlib.contextmanager
def injected_noise(noise: torch.Tensor):
    """Make the single torch.randn call of generate_actions return `noise`.

    Both implementations draw x1 with torch.randn(B, num_actions, dim_action, ...)
    exactly once; any other randn call (or a second one) is an error here.
    """
    real = torch.randn
    calls = []

    def fake(*size, **kwargs):
        shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)) else tuple(size)
        if shape != tuple(noise.shape) or calls:
            raise RuntimeError(f"unexpected torch.randn{shape} during generate_actions")
        calls.append(shape)
        return noise.clone().to(dtype=kwargs.get("dtype") or noise.dtype, device=kwargs.get("device") or "cpu")

    torch.randn = fake
    try:
        yield calls
    finally:
        torch.randn = real
    if len(calls) != 1:
        raise RuntimeError(f"expected exactly one torch.randn call, saw {len(calls)}")


def run_generate(model, mods: ModuleSet, inputs: dict, steps: int, view_map: list) -> dict:
    """Run model.generate_actions with hooks installed; returns name -> tensor."""
    cap = Capture(mods)
    cap.view_map = view_map
    cap.install()
    try:
        with torch.no_grad(), injected_noise(inputs["noise"]):
            actions = model.generate_actions(
                input_ids=inputs["input_ids"],
                image_input=inputs["image_input"],
                image_mask=inputs["image_mask"],
                domain_id=inputs["domain_id"],
                proprio=inputs["proprio"],
                steps=steps,
            )
    finally:
        cap.remove()
    if cap.step + 1 != steps:
        raise RuntimeError(f"policy ran {cap.step + 1} times, expected {steps}")
    cap.store["output.actions"] = actions.detach().cpu().clone().contiguous()
    return cap.store


def valid_view_map(image_mask: torch.Tensor) -> list:
    """Batch rows of the valid-view batch, in the order forward_vlm gathers them."""
    b_count, v_count = image_mask.shape
    return [(b, v) for b in range(b_count) for v in range(v_count) if bool(image_mask[b, v])]
