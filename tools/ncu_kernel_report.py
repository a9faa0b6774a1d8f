#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""ncu_kernel_report.py: where one forward's GPU time goes, kernel by kernel.

Reads the CSV that `ncu --csv --page raw --print-units base` writes for one profiled graph
replay (scripts/device_session.sh step `kprof`: VLART_CUDA_PROFILE_REPLAY picks the replay,
`ncu --profile-from-start off` sees only it) and prints markdown tables:
  * per kernel function: calls, total ms, share, mean us, DRAM GB/s read;
  * per (kernel, grid, block): the same, the 40 largest;
  * the sum of kernel times, which is the forward's time without launch gaps.
ncu runs every kernel on its own with caches flushed (`--cache-control all`), so a kernel's
time here is its cold-cache time alone, not its time inside the graph: graph nodes add
~1-2 us of gap each, and activations that would be hot in L2 come from DRAM here.

Usage: ncu_kernel_report.py KPROF.csv [--title TEXT]
"""

import argparse
import csv
import re
import sys
from collections import defaultdict


def short_name(name: str) -> str:
    """Function name without namespaces, template arguments and parameters."""
    name = name.replace('(anonymous namespace)::', '')
    depth = 0
    out = []
    for ch in name:
        if ch == '<':
            depth += 1
        elif ch == '>':
            depth = max(0, depth - 1)
        elif ch == '(' and depth == 0:
            break
        elif depth == 0:
            out.append(ch)
    base = ''.join(out).strip()
    base = base.split(' ')[-1]  # drop a return type ("void f")
    base = base.split('::')[-1] or base
    return base[:90]


def read_rows(path):
    with open(path, newline='') as f:
        lines = [ln for ln in f if ln.startswith('"')]  # ncu's own log lines start with ==
    reader = csv.reader(lines)
    header = next(reader)
    col = {h: i for i, h in enumerate(header)}

    def pick(*names):
        for n in names:
            if n in col:
                return col[n]
        return None

    i_name = pick('Kernel Name', 'Function Name', 'Demangled Name')
    i_dur = pick('gpu__time_duration.sum')
    i_grid = pick('launch__grid_size', 'Grid Size')
    i_block = pick('launch__block_size', 'Block Size')
    i_dram = pick('dram__bytes_read.sum')
    if i_name is None or i_dur is None:
        sys.exit(f'{path}: no kernel name or gpu__time_duration.sum column in {header}')
    rows = []
    for r in reader:
        if len(r) <= max(i_name, i_dur):
            continue
        try:
            dur_ns = float(r[i_dur].replace(',', ''))
        except ValueError:
            continue  # the units row
        dram = 0.0
        if i_dram is not None:
            try:
                dram = float(r[i_dram].replace(',', ''))
            except ValueError:
                dram = 0.0
        rows.append({
            'name': short_name(r[i_name]),
            'grid': r[i_grid] if i_grid is not None else '',
            'block': r[i_block] if i_block is not None else '',
            'ns': dur_ns,
            'dram': dram,
        })
    return rows


def table(groups, total_ns, limit=None):
    out = ['| kernel | grid | block | calls | ms | share | mean us | DRAM GB/s |',
           '|---|---|---|---:|---:|---:|---:|---:|']
    items = sorted(groups.items(), key=lambda kv: -kv[1]['ns'])
    for key, g in items[:limit]:
        name, grid, block = key
        mean_us = g['ns'] / g['n'] / 1e3
        gbps = g['dram'] / g['ns'] if g['ns'] > 0 else 0.0  # bytes/ns == GB/s
        out.append(f"| {name} | {grid} | {block} | {g['n']} | {g['ns'] / 1e6:.3f} | "
                   f"{100 * g['ns'] / total_ns:.1f}% | {mean_us:.2f} | {gbps:.0f} |")
    return '\n'.join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('csv')
    ap.add_argument('--title', default='')
    args = ap.parse_args()
    rows = read_rows(args.csv)
    if not rows:
        sys.exit(f'{args.csv}: no profiled kernels (was the replay reached?)')
    total = sum(r['ns'] for r in rows)
    by_fn = defaultdict(lambda: {'n': 0, 'ns': 0.0, 'dram': 0.0})
    by_launch = defaultdict(lambda: {'n': 0, 'ns': 0.0, 'dram': 0.0})
    for r in rows:
        for g, key in ((by_fn, (r['name'], '', '')), (by_launch, (r['name'], r['grid'], r['block']))):
            g[key]['n'] += 1
            g[key]['ns'] += r['ns']
            g[key]['dram'] += r['dram']
    print(f'### kernel time of one forward{": " + args.title if args.title else ""}\n')
    print(f'{len(rows)} kernels, {total / 1e6:.3f} ms of kernel time (each kernel alone, caches '
          f'flushed; launch gaps not included)\n')
    print(table(by_fn, total))
    print()
    print(table(by_launch, total, limit=40))


if __name__ == '__main__':
    main()
