# SPDX-License-Identifier: Apache-2.0
#
# Helpers shared by the peer comparisons (xvla_peers.py, pi0_peers.py): the call timer (CUDA events
# on a CUDA device, perf_counter on the CPU), per-call statistics, action agreement metrics, and
# running `vlart bench --format csv` and reading its medians (e2e, and "model" = the sum of the
# device stages, i.e. every stage but preprocess / upload / download / e2e).

from __future__ import annotations

import csv
import io
import shlex
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]


class Timer:
    """CUDA events on a CUDA device, perf_counter on the CPU."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"

    def __call__(self, fn):
        if self.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            out = fn()
            end.record()
            torch.cuda.synchronize()
            return out, start.elapsed_time(end)
        t0 = time.perf_counter()
        out = fn()
        return out, (time.perf_counter() - t0) * 1e3


def stats(ms: list) -> dict:
    s = sorted(ms)
    return {"n": len(s), "median_ms": statistics.median(s), "p90_ms": s[min(len(s) - 1, int(0.9 * len(s)))],
            "min_ms": s[0], "mean_ms": statistics.fmean(s)}


def run_checked(cmd: list, what: str) -> str:
    print(f"$ {shlex.join(cmd)}")
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{what} failed (exit {p.returncode}):\n{p.stderr[-4000:]}")
    return p.stdout


def vlart_bench(args) -> dict:
    """{(precision, batch): {"e2e": median, "model": sum of the forward stages}} from vlart bench."""
    cmd = [str(args.vlart), "bench", "--model", str(args.model), "--device", args.vlart_device,
           "--precision", ",".join(args.vlart_precisions), "--batch", ",".join(map(str, args.batch)),
           "--steps", str(args.steps), "--warmup", str(args.warmup), "--iters", str(args.iters), "--format", "csv"]
    text = run_checked(cmd, "vlart bench")
    (args.out / "vlart_bench.csv").write_text(text)
    header, _, body = text.partition("\n\n")
    rows = {}
    for r in csv.DictReader(io.StringIO(body)):
        key = (r["precision"], int(r["batch"]))
        d = rows.setdefault(key, {"stages": {}})
        d["stages"][r["stage"]] = float(r["median_ms"])
    for d in rows.values():
        st = d["stages"]
        d["e2e"] = st["e2e"]
        d["model"] = sum(v for k, v in st.items() if k not in ("preprocess", "upload", "download", "e2e"))
    return {"header": header.strip(), "rows": rows}


def compare(a: np.ndarray, b: np.ndarray) -> dict:
    a, b = a.reshape(-1).astype(np.float64), b.reshape(-1).astype(np.float64)
    return {"max_abs": float(np.abs(a - b).max()), "rel_l2": float(np.linalg.norm(a - b) / np.linalg.norm(b))}


def git_commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except Exception:  # noqa: BLE001  (the device copy may have no .git)
        return "unknown"
