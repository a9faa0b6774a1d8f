#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Tests of tools/kernel_trace_report.py: which kernels form the last forward, and that the
charges (gap before + time added to the front) are exact and sum to the forward's GPU span."""

import contextlib
import io
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tools'))
import kernel_trace_report as ktr  # noqa: E402

HEADER = 'start_ns,end_ns,correlation,graph_id,grid_x,grid_y,grid_z,block_x,cluster_x,name\n'


def write(rows):
    f = tempfile.NamedTemporaryFile('w', suffix='.csv', delete=False)
    f.write(HEADER)
    for start, end, corr, graph, name in rows:
        f.write(f'{start},{end},{corr},{graph},1,1,1,128,1,void ns::(anonymous namespace)::{name}<float; 4>(int)\n')
    f.close()
    return f.name


class KernelTraceReportTest(unittest.TestCase):
    def test_last_forward_and_charges(self):
        rows = [
            # forward 1: graph 7 (one launch, correlation 10)
            (0, 100, 10, 7, 'A'), (90, 200, 10, 7, 'B'),
            # host work between calls, then an eager kernel and forward 2's graph 7 launch
            (1000, 1010, 11, 0, 'Upload'),
            (1020, 1100, 12, 7, 'A'),     # gap 10 after Upload, adds 80
            (1090, 1150, 12, 7, 'B'),     # PDL: starts 10 before A ends, adds 50
            (1200, 1210, 12, 7, 'C'),     # gap 50, adds 10
            (1201, 1205, 12, 7, 'D'),     # inside C: adds nothing
        ]
        path = write(rows)
        try:
            ks = ktr.last_forward(ktr.read_trace(path))
        finally:
            os.unlink(path)
        self.assertEqual([k['name'] for k in ks], ['Upload', 'A', 'B', 'C', 'D'])
        span = ktr.attribute(ks)
        self.assertEqual(span, 1210 - 1000)
        self.assertEqual([(k['gap'], k['added']) for k in ks], [(0, 10), (10, 80), (0, 50), (50, 10), (0, 0)])
        self.assertEqual(sum(k['gap'] + k['added'] for k in ks), span)
        self.assertEqual(ks[2]['overlap'], 10)

    def test_idle_positions_over_launches(self):
        # graph 7 launched three times (correlations 20, 21, 22): kernel position 2 (C) always
        # waits, 100 / 300 / 200 ns after everything before it ended; position 1 (B) never.
        rows = []
        for corr, t0, wait in ((20, 0, 100), (21, 10000, 300), (22, 20000, 200)):
            rows += [(t0, t0 + 50, corr, 7, 'A'), (t0 + 40, t0 + 90, corr, 7, 'B'),
                     (t0 + 90 + wait, t0 + 120 + wait, corr, 7, 'C')]
        rows.append((30000, 30010, 23, 0, 'Eager'))  # not the graph's: ignored
        path = write(rows)
        try:
            trace = ktr.read_trace(path)
            top = ktr.idle_positions(trace, 7)
            argv = sys.argv
            sys.argv = ['kernel_trace_report.py', path]
            out = io.StringIO()
            try:
                with contextlib.redirect_stdout(out):
                    ktr.main()
            finally:
                sys.argv = argv
        finally:
            os.unlink(path)
        median_us, max_us, launches, position, before, name = top[0]
        self.assertEqual((position, before, name, launches), (2, 'B', 'C', 3))
        self.assertAlmostEqual(median_us, 0.2)
        self.assertAlmostEqual(max_us, 0.3)
        self.assertEqual(top[1][:4], (0.0, 0.0, 3, 1))  # B starts inside A: no idle time
        self.assertIn('| 2 | 0.20 | 0.30 | 3 | B | C |', out.getvalue())

    def test_bad_files_get_a_clear_error(self):
        bad = tempfile.NamedTemporaryFile('w', suffix='.csv', delete=False)
        bad.write('a,b\n1,2\n')
        bad.close()
        empty = write([])
        try:
            for path, expected in (('/nonexistent/trace.csv', 'cannot read'), (bad.name, 'not a kernel_trace CSV'),
                                   (empty, 'no kernels recorded')):
                argv = sys.argv
                sys.argv = ['kernel_trace_report.py', path]
                try:
                    with self.assertRaises(SystemExit) as cm:
                        ktr.main()
                finally:
                    sys.argv = argv
                self.assertIn(expected, str(cm.exception.code))
        finally:
            os.unlink(bad.name)
            os.unlink(empty)

    def test_short_names(self):
        self.assertEqual(ktr.short_name('void vlart::cuda::(anonymous namespace)::K<float, 4>(int, float*)'), 'K')


if __name__ == '__main__':
    unittest.main()
