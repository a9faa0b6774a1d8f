# SPDX-License-Identifier: Apache-2.0
#
# pi0 / pi0.5 peer comparison: LeRobot 0.6.1's PyTorch PI0Pytorch / PI05Pytorch against vlart on the
# same openpi-layout checkpoint, the same observation and the same initial noise.
#
#   python3 bench/peers/pi0_peers.py --model /path/pi0-full --vlart build-cuda/vlart --out out/peers_pi0 \
#       [--noise x1.npy] [--batch 1,4] [--iters 30]
#
# The exact GPU-machine command (wheels, PYTHONPATH) is in bench/peers/README.md.
#
# What it does, in order:
#   1. Loads model.safetensors (openpi PyTorch key names, as `vlart make-synthetic --arch pi0|pi05`
#      and openpi's converter write them) into LeRobot's PI0Pytorch / PI05Pytorch through
#      tests/golden/pi0_lerobot.py (every key consumed, every value checked; sizes from config.json).
#   2. Builds the model inputs as openpi's LIBERO pipeline does and as `vlart run` / `vlart bench`
#      do (src/models/pi0/pi0_transforms.h), in NumPy: the client's resize_with_pad to 224 (Pillow
#      bilinear, black padding), uint8 -> float32 / 255 * 2 - 1, NCHW; base + wrist views and the
#      masked third slot (zeros -> -1, mask false); the state normalised in float64 (z-score for pi0,
#      quantile for pi0.5, the checkpoint's assets/physical-intelligence/libero/norm_stats.json) and
#      zero-padded to action_dim; the prompt through openpi's PaligemmaTokenizer format (strip,
#      "_"/"\n" -> " ", BOS + pieces + "\n", padded with 0 to max_token_len) using the checkpoint's
#      tokenizer.model (sentencepiece). pi05_libero uses the same (non-discrete-state) format; the
#      pi0.5 model ignores the state. Default observation = `vlart bench`'s (apps/vlart/cmd_bench.cc):
#      assets/demo/agentview.png + wrist.png, its LIBERO prompt and 8-d state.
#   3. Times sample_actions (10 steps) per mode on device-resident inputs: eager fp32, eager bf16
#      (LeRobot dtype="bfloat16": PaliGemmaWithExpertModel.to_bfloat16_for_selected_params, i.e. the
#      Gemma stacks in bf16, SigLIP / projector / norms and the action projections in fp32, as
#      PI0Policy builds it), and torch.compile of the whole bf16 sample_actions (--compile-mode,
#      reduce-overhead as xvla_peers.py; compile time reported separately as the first call). CUDA
#      events around each call, median and p90 over --iters calls after --warmup calls.
#   4. The initial noise x1 [H, action_dim] (--noise, or N(0,1) from --seed, saved as noise.npy) is
#      passed to sample_actions(noise=...) in every call, and to `vlart run --noise`.
#   5. Agreement with `vlart run --json` (f32 and bf16; or --vlart-json files), on two quantities:
#        actions  the server's output [H, 7]: the peer's x0 through openpi's output transforms in
#                 NumPy float64 (Unnormalize; pi0: + the unnormalised state on dims 0..5; [:7]),
#                 cast to float32, vs vlart's printed actions (its own transforms, the same maths);
#        x0[:7]   the model output in normalised space: vlart's actions mapped back through the
#                 inverse of those transforms (float64) vs the peer's x0[:, :7].
#   6. Runs `vlart bench` on the same checkpoint and prints ONE table: peer medians, vlart e2e and
#      model-only medians (the sum of its device stages), ratios vlart/peer, action agreement.
# Order of execution: inputs and noise, then vlart (run, bench: before the peer is on the device, so
# the two never share it), then the peer modes (fp32 first, compile last). results.json / results.md
# are rewritten after each phase; a run stopped by SIGTERM (`timeout`) writes what it has, marked
# incomplete.
# Outputs in --out: results.json (every number, per-call times, versions, device, command),
# results.md (the table), vlart_run_<precision>.json, vlart_bench.csv, noise.npy (when generated).

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "golden"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pi0_lerobot import STUBBED_MODULES, load_lerobot_pi0, read_folder_arch  # noqa: E402
from peer_common import Timer, compare, git_commit, run_checked, stats, vlart_bench  # noqa: E402

# `vlart bench`'s observation for pi0 / pi0.5 (apps/vlart/cmd_bench.cc BenchObservation).
BENCH_PROMPT = "put both the alphabet soup and the tomato sauce in the basket"
BENCH_STATE = [-0.05, 0.03, 0.78, 2.97, -0.09, -0.11, 0.026, -0.026]
NORM_STATS_PATH = "assets/physical-intelligence/libero/norm_stats.json"
T0 = time.perf_counter()
MODES = ("eager-fp32", "eager-bf16", "compile-fp32", "compile-bf16")


# ------------------------------------------------------------------ openpi's LIBERO transforms (NumPy)
def resize_with_pad(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """openpi client image_tools.resize_with_pad on uint8 [H, W, 3] (Pillow bilinear, black padding)."""
    from PIL import Image
    h, w = img.shape[:2]
    if (h, w) == (height, width):
        return img
    ratio = max(w / width, h / height)
    rh, rw = int(h / ratio), int(w / ratio)
    resized = np.asarray(Image.fromarray(img).resize((rw, rh), resample=Image.BILINEAR))
    out = np.zeros((height, width, 3), np.uint8)
    top, left = max(0, int((height - rh) / 2)), max(0, int((width - rw) / 2))
    out[top:top + rh, left:left + rw] = resized
    return out


def to_model_image(img: np.ndarray, size: int) -> np.ndarray:
    """uint8 [H, W, 3] -> float32 [3, size, size] in [-1, 1] (openpi: float32(v) / 255 * 2 - 1)."""
    x = resize_with_pad(img, size, size).astype(np.float32) / np.float32(255.0) * np.float32(2.0) - np.float32(1.0)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def load_norm_stats(ckpt: Path) -> dict:
    d = json.loads((ckpt / NORM_STATS_PATH).read_text())["norm_stats"]
    return {k: {f: np.asarray(v, np.float64) for f, v in s.items()} for k, s in d.items()}


def normalize_state(state: np.ndarray, st: dict, pi05: bool, action_dim: int) -> np.ndarray:
    """float64 [n] -> normalised, zero-padded float64 [action_dim] (Normalize + PadStatesAndActions)."""
    s = st["state"]
    n = state.shape[0]
    if pi05:
        x = (state - s["q01"][:n]) / (s["q99"][:n] - s["q01"][:n] + 1e-6) * 2.0 - 1.0
    else:
        x = (state - s["mean"][:n]) / (s["std"][:n] + 1e-6)
    return np.pad(x, (0, action_dim - n))


def tokenize(ckpt: Path, prompt: str, max_len: int) -> tuple[np.ndarray, np.ndarray, int]:
    """openpi PaligemmaTokenizer.tokenize, pi0 format, over the folder's tokenizer.model."""
    import sentencepiece
    sp = sentencepiece.SentencePieceProcessor(model_file=str(ckpt / "tokenizer.model"))
    cleaned = prompt.strip().replace("_", " ").replace("\n", " ")
    ids = sp.encode(cleaned, add_bos=True) + sp.encode("\n")
    n = len(ids)
    if n > max_len:
        print(f"note: prompt of {n} tokens truncated to {max_len} (openpi's warning)")
        ids = ids[:max_len]
    mask = [True] * len(ids) + [False] * (max_len - len(ids))
    ids = ids + [0] * (max_len - len(ids))
    return np.asarray(ids, np.int64), np.asarray(mask, bool), n


def output_transforms(x0: np.ndarray, state_norm: np.ndarray, st: dict, pi05: bool) -> np.ndarray:
    """x0 float32 [H, A] -> the server's actions float64 [H, 7] (Unnormalize, AbsoluteActions, [:7])."""
    a, s = st["actions"], st["state"]
    if pi05:  # quantile on the first d dims; (x + 1.0) / 2.0 stays float32 as in NumPy
        def unq(x, q):
            d = q["q01"].shape[0]
            return np.concatenate([(x[..., :d] + 1.0) / 2.0 * (q["q99"] - q["q01"] + 1e-6) + q["q01"],
                                   x[..., d:].astype(np.float64)], -1)
        acts = unq(x0, a)
    else:  # z-score, mean/std padded with 0/1; delta on dims 0..5 with the round-tripped state
        def unz(x, q):
            n = x.shape[-1] - q["mean"].shape[0]
            return x * (np.pad(q["std"], (0, n), constant_values=1.0) + 1e-6) + np.pad(q["mean"], (0, n))
        acts = unz(x0, a)
        acts[..., :6] += unz(state_norm, s)[:6]
    return acts[..., :7]


def inverse_output_transforms(actions: np.ndarray, state_norm: np.ndarray, st: dict, pi05: bool) -> np.ndarray:
    """vlart's actions [H, 7] -> x0[:, :7] (float64), inverting output_transforms."""
    a = actions.astype(np.float64).copy()
    q = st["actions"]
    if pi05:
        return (a - q["q01"][:7]) / (q["q99"][:7] - q["q01"][:7] + 1e-6) * 2.0 - 1.0
    s = st["state"]
    n = state_norm.shape[0] - s["mean"].shape[0]
    state_un = state_norm * (np.pad(s["std"], (0, n), constant_values=1.0) + 1e-6) + np.pad(s["mean"], (0, n))
    a[:, :6] -= state_un[:6]
    return (a - q["mean"][:7]) / (q["std"][:7] + 1e-6)


# ------------------------------------------------------------------ peer
def load_view(path: Path) -> np.ndarray:
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def peer_inputs(args, arch: dict, st: dict) -> tuple[dict, dict]:
    """(tensors of one sample [1, ...] on the host, metadata)."""
    size = arch["image_size"]
    views = [to_model_image(load_view(p), size) for p in (args.image0, args.image1)]
    views.append(np.full_like(views[0], -1.0))  # right wrist: zeros_like(base) -> -1, masked
    state_norm = normalize_state(np.asarray(args.state_values, np.float64), st, arch["pi05"], arch["action_dim"])
    ids, mask, n_tok = tokenize(args.model, args.prompt, arch["max_token_len"])
    base = {
        "image0": torch.from_numpy(views[0])[None], "image1": torch.from_numpy(views[1])[None],
        "image2": torch.from_numpy(views[2])[None],
        "mask0": torch.ones(1, dtype=torch.bool), "mask1": torch.ones(1, dtype=torch.bool),
        "mask2": torch.zeros(1, dtype=torch.bool),
        "tokens": torch.from_numpy(ids)[None], "token_mask": torch.from_numpy(mask)[None],
        "state": torch.from_numpy(state_norm.astype(np.float32))[None],
    }
    return base, {"state_norm": state_norm, "num_tokens": n_tok, "token_ids": ids[:n_tok].tolist()}


def sample_fn(fn, pi05: bool, inp: dict, noise: torch.Tensor, steps: int):
    images = [inp["image0"], inp["image1"], inp["image2"]]
    masks = [inp["mask0"], inp["mask1"], inp["mask2"]]
    if pi05:
        return lambda: fn(images, masks, inp["tokens"], inp["token_mask"], noise=noise, num_steps=steps)
    return lambda: fn(images, masks, inp["tokens"], inp["token_mask"], inp["state"], noise=noise, num_steps=steps)


def time_mode(name: str, call, batch: int, args, timer: Timer) -> dict:
    """First call timed separately (compile time for torch.compile), then warm-up and timed calls."""
    mark_step = timer.cuda and name.startswith("compile")

    def run():
        if mark_step:  # reduce-overhead: each call is a new CUDA-graph-tree iteration
            torch.compiler.cudagraph_mark_step_begin()
        return call()  # (the x0 kept is the last call's: no replay overwrites it afterwards)

    t0 = time.perf_counter()
    out = run()
    if timer.cuda:
        torch.cuda.synchronize()
    first_s = time.perf_counter() - t0
    for _ in range(max(0, args.warmup - 1)):
        run()
    times = []
    for _ in range(args.iters):
        out, ms = timer(run)
        times.append(ms)
    res = {"mode": name, "first_call_s": first_s, "times_ms": times, **stats(times),
           "x0": out.float().cpu().numpy()}
    print(f"  {name} batch {batch}: median {res['median_ms']:.2f} ms "
          f"(p90 {res['p90_ms']:.2f}, first call {first_s:.1f} s)", flush=True)
    return res


def set_precision(model, mode: str) -> None:
    """fp32: everything float32. bf16: LeRobot's dtype="bfloat16" split (see the header)."""
    if mode.endswith("fp32"):
        model.to(torch.float32)
    else:
        model.paligemma_with_expert.to_bfloat16_for_selected_params("bfloat16")


# ------------------------------------------------------------------ vlart
def vlart_actions(args, precision: str, noise_path: Path) -> np.ndarray | None:
    given = {p.split("=", 1)[0]: p.split("=", 1)[1] for p in args.vlart_json}
    if precision in given:
        text = Path(given[precision]).read_text()
    elif args.vlart:
        cmd = [str(args.vlart), "run", "--model", str(args.model), "--image0", str(args.image0),
               "--image1", str(args.image1), "--prompt", args.prompt,
               "--state", ",".join(f"{x:.17g}" for x in args.state_values), "--steps", str(args.steps),
               "--noise", str(noise_path), "--device", args.vlart_device, "--precision", precision, "--json"]
        text = run_checked(cmd, "vlart run")
        (args.out / f"vlart_run_{precision}.json").write_text(text)
    else:
        return None
    return np.asarray(json.loads(text[text.index("{"):])["actions"], dtype=np.float32)


# ------------------------------------------------------------------ main
def parse_args():
    ap = argparse.ArgumentParser(description="pi0 / pi0.5: LeRobot (PyTorch) vs vlart, timings and action agreement")
    ap.add_argument("--model", type=Path, required=True, help="openpi-layout checkpoint folder (pi0 or pi0.5)")
    ap.add_argument("--noise", type=Path, default=None, help="x1 as .npy [H, A] or [1, H, A] (else generated)")
    ap.add_argument("--out", type=Path, required=True, help="output folder (created)")
    ap.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu (cpu: for testing the script)")
    ap.add_argument("--modes", default="eager-fp32,eager-bf16,compile-bf16", help="comma list of " + ", ".join(MODES))
    ap.add_argument("--compile-mode", default="reduce-overhead",
                    help="torch.compile mode (reduce-overhead as xvla_peers.py, or max-autotune-no-cudagraphs)")
    ap.add_argument("--batch", default="1", help="batch sizes, e.g. 1,4")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--image0", type=Path, default=REPO / "assets/demo/agentview.png", help="base camera")
    ap.add_argument("--image1", type=Path, default=REPO / "assets/demo/wrist.png", help="wrist camera")
    ap.add_argument("--prompt", default=BENCH_PROMPT)
    ap.add_argument("--state", default=",".join(f"{x:g}" for x in BENCH_STATE), help="raw LIBERO state (8)")
    ap.add_argument("--vlart", type=Path, default=None, help="vlart binary (for run --json and bench)")
    ap.add_argument("--vlart-device", default=None, help="device for vlart (default: --device)")
    ap.add_argument("--vlart-precisions", default=None, help="default f32,bf16 on cuda, f32 on cpu")
    ap.add_argument("--vlart-json", action="append", default=[],
                    help="PRECISION=FILE: use this `vlart run --json` output instead of running vlart")
    ap.add_argument("--no-vlart-bench", action="store_true", help="skip `vlart bench` (agreement only)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the generated noise when --noise is not given")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (cpu device)")
    args = ap.parse_args()
    args.batch = [int(b) for b in args.batch.split(",")]
    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if m not in MODES:
            raise SystemExit(f"--modes: unknown mode {m}; expected some of {', '.join(MODES)}")
    # fp32 modes first: bf16 rounds the weights (exactly reversible only for a bf16 file).
    args.modes = sorted(modes, key=lambda m: (not m.endswith("fp32"), MODES.index(m)))
    args.state_values = [float(x) for x in args.state.split(",")]
    args.vlart_device = args.vlart_device or args.device
    cuda = args.vlart_device.startswith("cuda")
    args.vlart_precisions = (args.vlart_precisions or ("f32,bf16" if cuda else "f32")).split(",")
    return args


def load_noise(path: Path | None, out: Path, seed: int, shape: tuple) -> tuple[np.ndarray, Path]:
    if path is None:
        x1 = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
        path = out / "noise.npy"
        np.save(path, x1)
        print(f"noise: generated N(0,1) {list(shape)} with seed {seed} -> {path}")
    x1 = np.load(path).astype(np.float32)
    if x1.ndim == 3 and x1.shape[0] == 1:
        x1 = x1[0]
    if x1.shape != shape:
        raise SystemExit(f"--noise: expected {list(shape)} or [1, {shape[0]}, {shape[1]}], got {list(x1.shape)}")
    return x1, path


def versions() -> dict:
    import lerobot
    import transformers
    return {"lerobot_version": lerobot.__version__, "transformers_version": transformers.__version__,
            "torch_version": torch.__version__, "numpy_version": np.__version__, "python": platform.python_version()}


class Results:
    """What the run has so far; written (results.json / .md) after each phase, so a run that hits
    its time limit (SIGTERM from `timeout`) still leaves the finished rows, marked incomplete."""

    def __init__(self, args, name, arch, meta, st, ver):
        self.args, self.name, self.arch, self.meta, self.st, self.ver = args, name, arch, meta, st, ver
        self.peer, self.vl_actions, self.load_s = {}, {}, None
        self.bench = {"header": "", "rows": {}}

    def agreement(self) -> dict:
        pi05, sn = self.arch["pi05"], self.meta["state_norm"]
        vl_x0 = {p: inverse_output_transforms(a, sn, self.st, pi05) for p, a in self.vl_actions.items()}
        out = {}
        ref32 = self.peer.get(("eager-fp32", self.args.batch[0]))
        for (mode, b), res in self.peer.items():
            prec = "f32" if mode.endswith("fp32") else "bf16"
            if prec in self.vl_actions:
                out[(mode, b)] = {"actions": compare(self.vl_actions[prec], res["actions"]),
                                  "x0_7": compare(vl_x0[prec], res["x0"][0][:, :7])}
            if ref32 is not None:
                res["vs_peer_eager_fp32"] = {"actions": compare(res["actions"], ref32["actions"]),
                                             "x0": compare(res["x0"][0], ref32["x0"][0])}
        return out

    def write(self, complete: bool, show: bool = False) -> None:
        agreement = self.agreement()
        md = render_table(self.args, self.name, self.arch, self.meta, self.peer, agreement, self.bench, self.ver)
        if not complete:
            md += "\nINCOMPLETE: the run stopped before every mode finished (time limit or error).\n"
        if show:
            print("\n" + md)
        (self.args.out / "results.md").write_text(md)
        write_json(self.args, self.name, self.arch, self.meta, self.peer, agreement, self.bench,
                   self.vl_actions, self.load_s, self.ver, complete, show)


def main() -> None:
    args = parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    timer = Timer(device)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(f"pi0_peers: SIGTERM after {time.perf_counter() - T0:.0f} s"))

    # 1-2. inputs and noise (the model comes after vlart, so the two never share the device) ------------------
    arch = read_folder_arch(args.model)
    name = "pi0.5" if arch["pi05"] else "pi0"
    st = load_norm_stats(args.model)
    base, meta = peer_inputs(args, arch, st)
    x1, noise_path = load_noise(args.noise, args.out, args.seed, (arch["action_horizon"], arch["action_dim"]))
    res = Results(args, name, arch, meta, st, versions())
    complete = False
    try:
        # 5-6. vlart: actions with the same observation and noise, then its bench --------------------------
        for p in args.vlart_precisions:
            a = vlart_actions(args, p, noise_path)
            if a is not None:
                res.vl_actions[p] = a
        if "f32" in res.vl_actions and "bf16" in res.vl_actions:
            print(f"vlart bf16 vs vlart f32 actions: {compare(res.vl_actions['bf16'], res.vl_actions['f32'])}")
        if args.vlart and not args.no_vlart_bench:
            res.bench = vlart_bench(args)
        res.write(False)

        # 1, 3-4. the peer -----------------------------------------------------------------------------------
        t0 = time.perf_counter()
        arch_loaded, model = load_lerobot_pi0(args.model, device)
        res.load_s = time.perf_counter() - t0
        arch.update(arch_loaded)
        print(f"loaded {name} {args.model} ({arch['file_keys']} tensors, {arch['file_dtypes']}) in "
              f"{res.load_s:.1f} s; LeRobot {res.ver['lerobot_version']}, transformers "
              f"{res.ver['transformers_version']}, torch {torch.__version__}; prompt {meta['num_tokens']} tokens "
              f"of {arch['max_token_len']}" + (f"; stub modules {STUBBED_MODULES}" if STUBBED_MODULES else ""),
              flush=True)
        with torch.no_grad():
            for mode in args.modes:
                set_precision(model, mode)
                for b in args.batch:
                    inp = {k: v.repeat(b, *([1] * (v.dim() - 1))).to(device) for k, v in base.items()}
                    noise = torch.from_numpy(np.repeat(x1[None], b, 0)).to(device)
                    fn = model.sample_actions
                    if mode.startswith("compile"):  # a fresh static-shape compile per batch size
                        torch._dynamo.reset()
                        fn = torch.compile(model.sample_actions, mode=args.compile_mode)
                    r = time_mode(mode, sample_fn(fn, arch["pi05"], inp, noise, args.steps), b, args, timer)
                    r["batch_rows_max_spread"] = float(np.abs(r["x0"] - r["x0"][:1]).max())
                    r["actions"] = output_transforms(r["x0"][0], meta["state_norm"], st, arch["pi05"]).astype(np.float32)
                    res.peer[(mode, b)] = r
                    res.write(False)
        complete = True
    finally:
        res.write(complete, show=True)


def render_table(args, name, arch, meta, peer, agreement, bench, ver) -> str:
    dev = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else platform.processor() or "cpu"
    lines = [
        f"{name} peers on {dev}: LeRobot {ver['lerobot_version']} + transformers {ver['transformers_version']} + "
        f"torch {torch.__version__}; checkpoint {args.model}; {args.steps} steps, horizon {arch['action_horizon']}; "
        f"2 views + masked third slot, {arch['image_size']}x{arch['image_size']}, prompt {meta['num_tokens']} of "
        f"{arch['max_token_len']} tokens; peer = sample_actions on device-resident inputs "
        f"({'CUDA events' if args.device.startswith('cuda') else 'host wall clock'}), vlart e2e = host wall clock "
        f"incl. preprocessing/upload/download/output transforms, vlart model = sum of its device stages; medians of "
        f"{args.iters} calls after {args.warmup} warm-up calls. Agreement: actions = the server's [H, 7] output "
        f"(peer x0 through openpi's output transforms in NumPy), x0[:7] = normalised model output (vlart's actions "
        f"through the inverse transforms).",
        "",
        "| batch | peer | peer median ms (p90) | compile / first call s | vlart precision | vlart e2e ms "
        "| vlart model ms | vlart e2e / peer | vlart model / peer | actions max-abs | actions rel-L2 "
        "| x0[:7] max-abs | x0[:7] rel-L2 |",
        "|---:|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (mode, b), r in peer.items():
        prec = "f32" if mode.endswith("fp32") else "bf16"
        vb = bench["rows"].get((prec, b))
        ag = agreement.get((mode, b))
        cells = [
            str(b), mode, f"{r['median_ms']:.2f} ({r['p90_ms']:.2f})", f"{r['first_call_s']:.1f}",
            prec if vb else "-",
            f"{vb['e2e']:.2f}" if vb else "-", f"{vb['model']:.2f}" if vb else "-",
            f"{vb['e2e'] / r['median_ms']:.3f}" if vb else "-", f"{vb['model'] / r['median_ms']:.3f}" if vb else "-",
        ]
        for q in ("actions", "x0_7"):
            cells += [f"{ag[q]['max_abs']:.2e}", f"{ag[q]['rel_l2']:.2e}"] if ag else ["-", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Peer modes against the peer's own eager fp32 (the reference's own precision loss):", ""]
    for (mode, b), r in peer.items():
        if "vs_peer_eager_fp32" in r:
            c = r["vs_peer_eager_fp32"]
            lines.append(f"- {mode} batch {b}: actions max-abs {c['actions']['max_abs']:.2e}, rel-L2 "
                         f"{c['actions']['rel_l2']:.2e}; x0 max-abs {c['x0']['max_abs']:.2e}, rel-L2 "
                         f"{c['x0']['rel_l2']:.2e}; rows of the batch agree to {r['batch_rows_max_spread']:.1e}")
    if bench["header"]:
        lines += ["", f"vlart bench: {bench['header']}"]
    return "\n".join(lines) + "\n"


def write_json(args, name, arch, meta, peer, agreement, bench, vl_actions, load_s, ver, complete, show) -> None:
    out = {
        "complete": complete, "elapsed_s": time.perf_counter() - T0,
        "command": shlex.join(sys.argv),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "host": platform.node(), "cpu_threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else "cpu",
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "versions": ver, "stubbed_modules": STUBBED_MODULES, "model": str(args.model), "model_type": name,
        "arch": {k: v for k, v in arch.items()}, "load_s": load_s, "steps": args.steps,
        "compile_mode": args.compile_mode, "prompt": args.prompt, "state": args.state_values,
        "state_normalized": meta["state_norm"].tolist(), "token_ids": meta["token_ids"],
        "peer": [{k: v for k, v in r.items() if k not in ("x0", "actions")} | {"batch": b}
                 for (m, b), r in peer.items()],
        "agreement_vs_vlart": [{"mode": m, "batch": b, **c} for (m, b), c in agreement.items()],
        "vlart_bench": {"header": bench["header"],
                        "rows": [{"precision": p, "batch": b, **d} for (p, b), d in bench["rows"].items()]},
        "peer_x0_batch0": {f"{m}/b{b}": r["x0"][0].tolist() for (m, b), r in peer.items()},
        "peer_actions_batch0": {f"{m}/b{b}": r["actions"].tolist() for (m, b), r in peer.items()},
        "vlart_actions": {p: a.tolist() for p, a in vl_actions.items()},
        "env": {k: os.environ[k] for k in ("PYTHONPATH", "CUDA_VISIBLE_DEVICES") if k in os.environ},
    }
    (args.out / "results.json").write_text(json.dumps(out, indent=1))
    if show:
        print(f"wrote {args.out / 'results.json'} and {args.out / 'results.md'}")


if __name__ == "__main__":
    main()
    # Results are written and flushed by now. Leave without Python's teardown: after a
    # torch.compile run it waited on inductor's compile workers until the device call's time
    # limit killed it (pi0.5 peer, 2026-11-22 23:36 UTC: results written, then exit 124).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
