#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""kernel_trace_report.py: one forward's GPU timeline, attributed kernel by kernel.

Reads the CSV that bench/trace/kernel_trace.cc (a CUPTI injection library) writes for a
`vlart bench` run and picks the last forward: the kernels after the previous launch of the
last graph launched, up to the end of that last launch (so a forward made of several graphs,
and kernels launched outside them, is taken whole). Kernels overlap under programmatic
dependent launch, so a kernel's duration is not what it costs the forward. Walking the kernels
in start order with the end of everything so far (`front`), each kernel is charged
  * gap:   max(0, start - front): the GPU ran nothing of this forward before it started
           (launch latency, a host round trip between graphs);
  * added: max(0, end - max(start, front)): how far it moved the front;
and gap + added over all kernels is exactly the forward's GPU span. Prints markdown tables:
per kernel function, per (function, grid) launch shape (the 40 largest), and the kernels of
one window of the timeline (--window, default a stretch from the middle: one layer of one
denoising step in a VLA policy), with start offsets, durations and overlaps.

Usage: kernel_trace_report.py TRACE.csv [--title TEXT] [--window START:COUNT]
"""

import argparse
import csv
import os
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ncu_kernel_report import short_name  # noqa: E402


HEADER_COLUMNS = 'start_ns,end_ns,correlation,graph_id,grid_x,grid_y,grid_z,block_x,cluster_x,name'


def read_trace(path):
    with open(path, newline='') as f:
        rows = []
        for r in csv.DictReader(f):
            rows.append({
                'start': int(r['start_ns']), 'end': int(r['end_ns']),
                'corr': int(r['correlation']), 'graph': int(r['graph_id']),
                'grid': f"{r['grid_x']}x{r['grid_y']}x{r['grid_z']}",
                'block': int(r['block_x']), 'cluster': int(r['cluster_x']),
                'name': short_name(r['name']),
            })
    rows.sort(key=lambda r: r['start'])
    return rows


def last_forward(rows):
    """Kernels of the last forward: after the previous launch of the last-launched graph."""
    launches = defaultdict(list)  # correlation -> kernels of one graph launch
    for r in rows:
        if r['graph']:
            launches[r['corr']].append(r)
    if not launches:
        sys.exit('no graph kernels in the trace: was the forward captured as a CUDA graph?')
    order = sorted(launches.values(), key=lambda ks: ks[0]['start'])
    last = order[-1]
    gid = last[0]['graph']
    prev = [ks for ks in order[:-1] if ks[0]['graph'] == gid]
    lo = max(k['end'] for k in prev[-1]) if prev else rows[0]['start'] - 1
    hi = max(k['end'] for k in last)
    return [r for r in rows if lo < r['start'] <= hi]


def attribute(ks):
    front = ks[0]['start']
    for k in ks:
        k['gap'] = max(0, k['start'] - front)
        k['added'] = max(0, k['end'] - max(k['start'], front))
        k['overlap'] = max(0, front - k['start'])  # started before everything earlier ended
        front = max(front, k['end'])
    return front - ks[0]['start']


def idle_positions(rows, gid, top=8):
    """The idle stretches that recur: for every launch of graph `gid`, the gap before each
    kernel position (start - end of everything earlier in that launch); returns the `top`
    positions by median gap as (median us, max us, launches, position, previous name, name)."""
    launches = defaultdict(list)
    for r in rows:
        if r['graph'] == gid:
            launches[r['corr']].append(r)
    per_pos = defaultdict(list)
    names = {}
    for ks in launches.values():
        ks = sorted(ks, key=lambda k: k['start'])
        front = ks[0]['end']
        for i in range(1, len(ks)):
            per_pos[i].append(max(0, ks[i]['start'] - front) / 1e3)
            names[i] = (ks[i - 1]['name'], ks[i]['name'])
            front = max(front, ks[i]['end'])
    out = []
    for i, gaps in per_pos.items():
        gaps.sort()
        out.append((gaps[len(gaps) // 2], gaps[-1], len(gaps), i) + names[i])
    out.sort(reverse=True)
    return out[:top]


def table(groups, span, limit=None, with_grid=False):
    head = '| kernel | grid | calls | cost ms | share | gap ms | kernel ms | mean us |'
    out = [head if with_grid else head.replace(' grid |', ''),
           '|---|' + ('---|' if with_grid else '') + '---:|---:|---:|---:|---:|---:|']
    items = sorted(groups.items(), key=lambda kv: -(kv[1]['added'] + kv[1]['gap']))
    for key, g in items[:limit]:
        cost = g['added'] + g['gap']
        cells = [key[0]] + ([key[1]] if with_grid else [])
        out.append(f"| {' | '.join(cells)} | {g['n']} | {cost / 1e6:.3f} | {100 * cost / span:.1f}% | "
                   f"{g['gap'] / 1e6:.3f} | {g['dur'] / 1e6:.3f} | {g['dur'] / g['n'] / 1e3:.2f} |")
    return '\n'.join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('csv')
    ap.add_argument('--title', default='')
    ap.add_argument('--window', default='', help='START:COUNT kernels of the forward to list')
    args = ap.parse_args()
    try:
        rows = read_trace(args.csv)
    except OSError as e:
        sys.exit(f'{args.csv}: cannot read: {e.strerror}')
    except (KeyError, ValueError) as e:
        sys.exit(f'{args.csv}: not a kernel_trace CSV (expected columns {HEADER_COLUMNS}): {e}')
    if not rows:
        sys.exit(f'{args.csv}: no kernels recorded')
    ks = last_forward(rows)
    span = attribute(ks)
    by_fn = defaultdict(lambda: {'n': 0, 'added': 0, 'gap': 0, 'dur': 0})
    by_shape = defaultdict(lambda: {'n': 0, 'added': 0, 'gap': 0, 'dur': 0})
    for k in ks:
        for g in (by_fn[(k['name'], '')], by_shape[(k['name'], k['grid'])]):
            g['n'] += 1
            g['added'] += k['added']
            g['gap'] += k['gap']
            g['dur'] += k['end'] - k['start']
    gaps = sum(k['gap'] for k in ks)
    busy = sum(k['end'] - k['start'] for k in ks)
    print(f'### one forward in its CUDA graphs{": " + args.title if args.title else ""}\n')
    print(f'{len(ks)} kernels over {span / 1e6:.3f} ms of GPU time; {gaps / 1e6:.3f} ms of it with no '
          f'kernel of the forward running (gaps); kernel durations sum to {busy / 1e6:.3f} ms '
          f'(more than the span where PDL overlaps them). cost = gap before + time added to the '
          f'front; the costs sum to the span.\n')
    print(table(by_fn, span))
    print()
    print(table(by_shape, span, limit=40, with_grid=True))
    gid = max((k for k in ks if k['graph']), key=lambda k: k['start'])['graph']
    print('\n#### the longest idle stretches inside the graph, by position, over all its launches\n')
    print('| position | median gap us | max us | launches | after | before |')
    print('|---:|---:|---:|---:|---|---|')
    for med, mx, n, i, before, name in idle_positions(rows, gid):
        print(f'| {i} | {med:.2f} | {mx:.2f} | {n} | {before} | {name} |')
    start, count = len(ks) // 2, 40
    if args.window:
        start, count = (int(x) for x in args.window.split(':'))
    print(f'\n#### kernels {start}..{start + count - 1} of {len(ks)} (times in us from the first)\n')
    print('| # | kernel | grid | block | cluster | start | dur | gap | overlap | cost |')
    print('|---:|---|---|---:|---:|---:|---:|---:|---:|---:|')
    t0 = ks[start]['start'] if start < len(ks) else 0
    for i, k in enumerate(ks[start:start + count], start):
        print(f"| {i} | {k['name']} | {k['grid']} | {k['block']} | {k['cluster']} | "
              f"{(k['start'] - t0) / 1e3:.2f} | {(k['end'] - k['start']) / 1e3:.2f} | {k['gap'] / 1e3:.2f} | "
              f"{k['overlap'] / 1e3:.2f} | {(k['gap'] + k['added']) / 1e3:.2f} |")


if __name__ == '__main__':
    main()
