# SPDX-License-Identifier: Apache-2.0
#
# X-VLA peer comparison: LeRobot 0.6.1's X-VLA (PyTorch) against vlart on the same
# official-format checkpoint, the same observation and the same initial noise.
#
#   python3 bench/peers/xvla_peers.py --model /path/xvla-full --noise x1.npy \
#       --vlart build-cuda/vlart --out out/peers [--batch 1,4] [--iters 30]
#
# The exact GPU-machine command (wheels, PYTHONPATH) is in bench/peers/README.md.
#
# What it does, in order:
#   1. Loads model.safetensors into LeRobot's XVLAModel through the verified official <->
#      LeRobot key map (tests/golden/xvla_reference.py; keys and values are checked).
#   2. Builds the request as the official server does (Pillow bicubic 224, ImageNet
#      normalisation, the checkpoint's tokenizer.json padded to 50, 2 views + the empty
#      slot, proprio, domain 3). Default observation = `vlart bench`'s: assets/demo
#      agentview.png + wrist.png, its LIBERO instruction and proprio.
#   3. Times generate_actions (10 steps) per mode: eager fp32 (the official server's
#      setting), eager bf16 (LeRobot dtype="bfloat16": the whole model in bf16), and
#      torch.compile of the whole bf16 call (mode reduce-overhead, as in
#      /work/shared/specs/performance.md §0b; compile time reported separately). CUDA
#      events around each call, median (and p90) over --iters calls after --warmup calls;
#      inputs are already on the device (no preprocessing, no host transfer: the peer's
#      timed region is the model call only, which favours the peer).
#   4. The initial noise x1 is the --noise array in every call: torch.randn of that shape
#      is replaced by a lookup for the whole run (other shapes pass through), so the
#      actions checked are those of the timed calls.
#   5. Runs `vlart run --json` with the same observation and noise for each precision
#      (or reads --vlart-json files) and prints max-abs and relative L2 of the actions.
#   6. Runs `vlart bench` on the same checkpoint and prints ONE table: peer medians,
#      vlart e2e and model-only medians, ratios vlart/peer, action agreement.
# Outputs in --out: results.json (every number, per-call times, versions, device,
# command), results.md (the table), vlart_run_<precision>.json, vlart_bench.csv,
# noise.npy (when generated).

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "golden"))
from xvla_reference import (  # noqa: E402
    STUBBED_MODULES, load_official_checkpoint, official_inputs, versions)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_common import Timer, compare, git_commit, run_checked, stats, vlart_bench  # noqa: E402

# `vlart bench`'s observation (apps/vlart/cmd_bench.cc BenchObservation).
BENCH_PROMPT = "put both the alphabet soup and the tomato sauce in the basket"
BENCH_PROPRIO = [0.0] * 20
BENCH_PROPRIO[3] = 1.0
BENCH_PROPRIO[7] = 1.0

# ------------------------------------------------------------------ noise
_REAL_RANDN = torch.randn
_FIXED_NOISE: dict = {}  # shape tuple -> tensor on the run's device


def _fixed_randn(*size, **kwargs):
    """torch.randn replacement: the fixed x1 for the registered shape, real randn otherwise."""
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)) else tuple(size)
    t = _FIXED_NOISE.get(shape)
    if t is None:
        return _REAL_RANDN(*size, **kwargs)
    return t.to(dtype=kwargs.get("dtype") or t.dtype, device=kwargs.get("device") or t.device)


def load_noise(path: Path | None, out: Path, seed: int) -> np.ndarray:
    if path is None:
        x1 = np.random.default_rng(seed).standard_normal((30, 20)).astype(np.float32)
        path = out / "noise.npy"
        np.save(path, x1)
        print(f"noise: generated N(0,1) [30, 20] with seed {seed} -> {path}")
    x1 = np.load(path).astype(np.float32)
    if x1.ndim == 3 and x1.shape[0] == 1:
        x1 = x1[0]
    if x1.ndim != 2:
        raise SystemExit(f"--noise: expected [A, D] or [1, A, D], got {list(x1.shape)}")
    return x1


# ------------------------------------------------------------------ timing
def batch_inputs(base: dict, batch: int, device: torch.device) -> dict:
    return {k: v.repeat(batch, *([1] * (v.dim() - 1))).to(device) for k, v in base.items()}


def time_mode(name: str, fn, inputs: dict, steps: int, args, timer: Timer) -> dict:
    """Warm-up (the first call separately timed: compile time for torch.compile), then timed calls."""
    mark_step = timer.cuda and name.startswith("compile")

    def call():
        if mark_step:  # reduce-overhead: each call is a new CUDA-graph-tree iteration
            torch.compiler.cudagraph_mark_step_begin()
        return fn(input_ids=inputs["input_ids"], image_input=inputs["image_input"],
                  image_mask=inputs["image_mask"], domain_id=inputs["domain_id"],
                  proprio=inputs["proprio"], steps=steps)

    t0 = time.perf_counter()
    out = call()
    if timer.cuda:
        torch.cuda.synchronize()
    first_s = time.perf_counter() - t0
    for _ in range(max(0, args.warmup - 1)):
        call()
    times = []
    for _ in range(args.iters):
        out, ms = timer(call)
        times.append(ms)
    res = {"mode": name, "first_call_s": first_s, "times_ms": times, **stats(times),
           "actions": out.float().cpu().numpy()}
    print(f"  {name} batch {inputs['input_ids'].shape[0]}: median {res['median_ms']:.2f} ms "
          f"(p90 {res['p90_ms']:.2f}, first call {first_s:.1f} s)")
    return res


# ------------------------------------------------------------------ vlart
def vlart_obs_args(args) -> list:
    a = ["--image0", str(args.image0)]
    if args.image1:
        a += ["--image1", str(args.image1)]
    return a + ["--prompt", args.prompt, "--proprio", ",".join(f"{x:.9g}" for x in args.proprio_values),
                "--domain-id", str(args.domain_id), "--steps", str(args.steps)]


def vlart_actions(args, precision: str, noise_path: Path) -> np.ndarray | None:
    given = {p.split("=", 1)[0]: p.split("=", 1)[1] for p in args.vlart_json}
    if precision in given:
        text = Path(given[precision]).read_text()
    elif args.vlart:
        cmd = [str(args.vlart), "run", "--model", str(args.model), *vlart_obs_args(args), "--noise",
               str(noise_path), "--device", args.vlart_device, "--precision", precision, "--json"]
        text = run_checked(cmd, "vlart run")
        (args.out / f"vlart_run_{precision}.json").write_text(text)
    else:
        return None
    return np.asarray(json.loads(text[text.index("{"):])["actions"], dtype=np.float32)


# ------------------------------------------------------------------ main
def parse_args():
    ap = argparse.ArgumentParser(description="X-VLA: LeRobot (PyTorch) vs vlart, timings and action agreement")
    ap.add_argument("--model", type=Path, required=True, help="official-format checkpoint folder")
    ap.add_argument("--noise", type=Path, default=None, help="x1 as .npy [30, 20] or [1, 30, 20] (else generated)")
    ap.add_argument("--out", type=Path, required=True, help="output folder (created)")
    ap.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu (cpu: for testing the script)")
    ap.add_argument("--modes", default="eager-fp32,eager-bf16,compile-bf16",
                    help="comma list of eager-fp32, eager-bf16, compile-bf16")
    ap.add_argument("--compile-mode", default="reduce-overhead",
                    help="torch.compile mode (reduce-overhead as in performance.md §0b, or max-autotune-no-cudagraphs)")
    ap.add_argument("--batch", default="1", help="batch sizes, e.g. 1,4")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--image0", type=Path, default=REPO / "assets/demo/agentview.png")
    ap.add_argument("--image1", type=Path, default=REPO / "assets/demo/wrist.png")
    ap.add_argument("--prompt", default=BENCH_PROMPT)
    ap.add_argument("--proprio", default=",".join(f"{x:g}" for x in BENCH_PROPRIO))
    ap.add_argument("--domain-id", type=int, default=3)
    ap.add_argument("--vlart", type=Path, default=None, help="vlart binary (for run --json and bench)")
    ap.add_argument("--vlart-device", default=None, help="device for vlart (default: --device)")
    ap.add_argument("--vlart-precisions", default=None, help="default f32,bf16 on cuda, f32 on cpu")
    ap.add_argument("--vlart-json", action="append", default=[],
                    help="PRECISION=FILE: use this `vlart run --json` output instead of running vlart")
    ap.add_argument("--seed", type=int, default=0, help="seed of the generated noise when --noise is not given")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (cpu device)")
    args = ap.parse_args()
    args.batch = [int(b) for b in args.batch.split(",")]
    args.modes = [m for m in args.modes.split(",") if m]
    for m in args.modes:
        if m not in ("eager-fp32", "eager-bf16", "compile-bf16"):
            raise SystemExit(f"--modes: unknown mode {m}")
    args.proprio_values = [float(x) for x in args.proprio.split(",")]
    args.vlart_device = args.vlart_device or args.device
    cuda = args.vlart_device.startswith("cuda")
    args.vlart_precisions = (args.vlart_precisions or ("f32,bf16" if cuda else "f32")).split(",")
    return args


def load_view(path: Path) -> np.ndarray:
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def main() -> None:
    args = parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    timer = Timer(device)
    x1 = load_noise(args.noise, args.out, args.seed)
    noise_path = args.noise or args.out / "noise.npy"

    # 1-2. model and request ---------------------------------------------------
    t0 = time.perf_counter()
    cfg_json, model = load_official_checkpoint(args.model)
    load_s = time.perf_counter() - t0
    views = [load_view(args.image0)] + ([load_view(args.image1)] if args.image1 else [])
    base = official_inputs(args.model, views, args.prompt, args.proprio_values, args.domain_id)
    model = model.to(device)
    print(f"loaded {args.model} in {load_s:.1f} s; LeRobot {versions()['lerobot_version']}, "
          f"transformers {versions()['transformers_version']}, torch {torch.__version__}"
          + (f"; stub modules {STUBBED_MODULES}" if STUBBED_MODULES else ""))

    # 3-4. peer timings -------------------------------------------------------
    peer = {}
    torch.randn = _fixed_randn
    try:
        for mode in args.modes:
            if mode == "eager-fp32":
                model.config.dtype = "float32"
                model.to(torch.float32)
            else:
                model.config.dtype = "bfloat16"  # LeRobot's bf16 mode: the whole XVLAModel in bf16
                model.to(torch.bfloat16)
            for b in args.batch:
                fn = model.generate_actions
                if mode.startswith("compile"):  # a fresh static-shape compile per batch size
                    torch._dynamo.reset()
                    fn = torch.compile(model.generate_actions, mode=args.compile_mode)
                _FIXED_NOISE.clear()
                _FIXED_NOISE[(b, *x1.shape)] = torch.from_numpy(np.repeat(x1[None], b, 0)).to(device)
                res = time_mode(mode, fn, batch_inputs(base, b, device), args.steps, args, timer)
                spread = float(np.abs(res["actions"] - res["actions"][:1]).max())
                res["batch_rows_max_spread"] = spread
                peer[(mode, b)] = res
    finally:
        torch.randn = _REAL_RANDN
    del model
    if device.type == "cuda":
        torch.cuda.empty_cache()

    # 5. actions vs vlart -----------------------------------------------------
    vl_actions = {p: vlart_actions(args, p, noise_path) for p in args.vlart_precisions}
    vl_actions = {p: a for p, a in vl_actions.items() if a is not None}
    agreement = {}
    ref32 = peer.get(("eager-fp32", args.batch[0]))
    for (mode, b), res in peer.items():
        a = res["actions"][0]
        prec = "f32" if mode == "eager-fp32" else "bf16"
        if prec in vl_actions:
            agreement[(mode, b)] = compare(vl_actions[prec], a)
        if ref32 is not None:
            res["vs_peer_eager_fp32"] = compare(a, ref32["actions"][0])
    if "f32" in vl_actions and "bf16" in vl_actions:
        print(f"vlart bf16 vs vlart f32: {compare(vl_actions['bf16'], vl_actions['f32'])}")

    # 6. vlart bench and the table ------------------------------------------
    bench = vlart_bench(args) if args.vlart else {"header": "", "rows": {}}
    md = render_table(args, peer, agreement, bench)
    print("\n" + md)
    (args.out / "results.md").write_text(md)
    write_json(args, peer, agreement, bench, vl_actions, load_s)


def render_table(args, peer: dict, agreement: dict, bench: dict) -> str:
    dev = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else platform.processor() or "cpu"
    lines = [
        f"X-VLA peers on {dev}: LeRobot {versions()['lerobot_version']} + transformers "
        f"{versions()['transformers_version']} + torch {torch.__version__}; checkpoint {args.model}; "
        f"{args.steps} steps; 2 views + empty slot, 50 tokens; peer = generate_actions on device-resident "
        f"inputs ({'CUDA events' if args.device.startswith('cuda') else 'host wall clock'}), vlart e2e = host wall clock incl. preprocessing/upload/download, vlart model = "
        f"sum of its device stages; medians of {args.iters} calls after {args.warmup} warm-up calls.",
        "",
        "| batch | peer | peer median ms (p90) | compile / first call s | vlart precision | vlart e2e ms "
        "| vlart model ms | vlart e2e / peer | vlart model / peer | actions vs vlart max-abs | rel-L2 |",
        "|---:|---|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for (mode, b), r in peer.items():
        prec = "f32" if mode == "eager-fp32" else "bf16"
        vb = bench["rows"].get((prec, b))
        ag = agreement.get((mode, b))
        cells = [
            str(b), mode, f"{r['median_ms']:.2f} ({r['p90_ms']:.2f})", f"{r['first_call_s']:.1f}",
            prec if vb else "-",
            f"{vb['e2e']:.2f}" if vb else "-", f"{vb['model']:.2f}" if vb else "-",
            f"{vb['e2e'] / r['median_ms']:.3f}" if vb else "-", f"{vb['model'] / r['median_ms']:.3f}" if vb else "-",
            f"{ag['max_abs']:.2e}" if ag else "-", f"{ag['rel_l2']:.2e}" if ag else "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Peer modes against the peer's own eager fp32 (the reference's own precision loss):", ""]
    for (mode, b), r in peer.items():
        if "vs_peer_eager_fp32" in r:
            c = r["vs_peer_eager_fp32"]
            lines.append(f"- {mode} batch {b}: max-abs {c['max_abs']:.2e}, rel-L2 {c['rel_l2']:.2e}; "
                         f"rows of the batch agree to {r['batch_rows_max_spread']:.1e}")
    if bench["header"]:
        lines += ["", f"vlart bench: {bench['header']}"]
    return "\n".join(lines) + "\n"


def write_json(args, peer, agreement, bench, vl_actions, load_s) -> None:
    out = {
        "command": shlex.join(sys.argv),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "host": platform.node(), "cpu_threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else "cpu",
        "versions": versions(), "stubbed_modules": STUBBED_MODULES,
        "model": str(args.model), "load_s": load_s, "steps": args.steps, "compile_mode": args.compile_mode,
        "peer": [{k: v for k, v in r.items() if k != "actions"} | {"batch": b}
                 for (m, b), r in peer.items()],
        "agreement_vs_vlart": [{"mode": m, "batch": b, **c} for (m, b), c in agreement.items()],
        "vlart_bench": {"header": bench["header"],
                        "rows": [{"precision": p, "batch": b, **d} for (p, b), d in bench["rows"].items()]},
        "peer_actions_batch0": {f"{m}/b{b}": r["actions"][0].tolist() for (m, b), r in peer.items()},
        "vlart_actions": {p: a.tolist() for p, a in vl_actions.items()},
        "env": {k: os.environ[k] for k in ("PYTHONPATH", "CUDA_VISIBLE_DEVICES") if k in os.environ},
    }
    (args.out / "results.json").write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out / 'results.json'} and {args.out / 'results.md'}")


if __name__ == "__main__":
    main()
    # Results are written and flushed by now. Leave without Python's teardown: after a
    # torch.compile run it waited on inductor's compile workers until the device call's time
    # limit killed it (pi0.5 peer, 2026-11-22 23:36 UTC: results written, then exit 124).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
