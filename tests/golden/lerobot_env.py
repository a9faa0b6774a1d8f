# SPDX-License-Identifier: Apache-2.0
#
# Making LeRobot 0.6.1 importable where part of its import chain is absent (the GPU machine's
# image plus the carried wheels, bench/peers/README.md). Shared by xvla_reference.py and
# pi0_lerobot.py. Call stub_missing_modules() after `import transformers` (which probes optional
# packages itself) and before importing lerobot.
from __future__ import annotations

import importlib.machinery
import sys
import types


def stub_missing_modules(names=("cv2",)) -> list:
    """LeRobot's policies/__init__ imports every policy; GR00T's processor imports cv2 at
    module level (used by GR00T only). Where cv2 is absent (the GPU machine: the
    opencv wheel is 50 MB), put an empty module with a proper __spec__ in its place so
    `import cv2` and importlib probes succeed. Returns the names stubbed."""
    stubbed = []
    for name in names:
        try:
            __import__(name)
        except ImportError:
            mod = types.ModuleType(name)
            mod.__spec__ = importlib.machinery.ModuleSpec(name, loader=None)
            sys.modules[name] = mod
            stubbed.append(name)
    return stubbed
