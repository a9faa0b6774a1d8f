# SPDX-License-Identifier: Apache-2.0
#
# make_image_fixtures.py: regenerates tests/image/fixtures/ (inputs and Pillow /
# transformers / openpi reference outputs for the src/image tests).
#
# Run from the repository root with the reference environment:
#     /work/pyref/bin/python tools/make_image_fixtures.py
# (Pillow 12.3.0 with its bundled libjpeg-turbo 3.1.4, numpy 2.2.6, transformers 5.5.4,
# torch 2.11; the script prints the versions it ran with and records them in
# index.json). It deletes and rewrites tests/image/fixtures/ and is deterministic.
#
# What it writes (index.json describes every case):
#  decode/   small PNGs in every colour type / bit depth (written by our own minimal
#            encoder so that 1/2/4/16-bit, tRNS, short palettes, Adam7 interlacing and
#            all five row filters occur) and JPEGs from Pillow (4:2:0, 4:2:2, 4:4:4,
#            progressive, grayscale, CMYK, restart markers, odd sizes); next to each,
#            <name>.rgb = np.asarray(Image.open(f).convert("RGB")) as raw [H, W, 3] bytes.
#  resize/   Pillow Image.resize outputs as lossless RGB PNGs. Inputs are not stored:
#            they are synth(h, w, seed) below, a deterministic integer formula (gradients,
#            +-8 hash noise, a hard-edged disc, a checkerboard) that
#            tests/image/synth_image.h reproduces exactly.
#  pad/      openpi-client resize_with_pad outputs (PNG), the algorithm re-expressed
#            here from openpi's packages/openpi-client/.../image_tools.py.
#  bad/      files that must be refused (empty, truncated, wrong magic, bombs, ...).
#  index.json also holds the CLIP normalisation table (float32 bits per channel and
#  value) and the openpi table, and FNV-1a 64 hashes of full preprocessor outputs.
#
# X-VLA's CLIPImageProcessor: transformers 5.x defaults AutoImageProcessor to the
# torchvision backend, which resizes differently. This script loads the X-VLA
# preprocessor_config.json settings with AutoImageProcessor.from_pretrained(...,
# backend="pil") (the successor of use_fast=False), i.e. CLIPImageProcessorPil: the PIL
# path the official server ran with transformers<=4.51. It checks that the processor's
# output equals Pillow resize + the normalisation table, and prints how far the
# torchvision backend is from it (for information only).

import io
import json
import os
import shutil
import struct
import sys
import tempfile
import zlib

import numpy as np
import PIL
import PIL.features
import torch
import transformers
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "image", "fixtures")

M32 = 0xFFFFFFFF


# ---------------------------------------------------------------------------------
# synth: the deterministic test picture (mirrored by tests/image/synth_image.h).
# ---------------------------------------------------------------------------------
def hash32(x, y, c, seed):
    """An integer hash of (x, y, c, seed) into 0..2^32-1, on uint64 arrays."""
    h = (x * 374761393 + y * 668265263 + c * 2246822519 + seed * 3266489917) & M32
    h = ((h ^ (h >> 13)) * 1274126177) & M32
    return h ^ (h >> 16)


def synth(h, w, seed):
    """[h, w, 3] uint8: gradients + hash noise, a disc with an inverted inside, and a
    checkerboard of 8-pixel squares over the left third. All integer arithmetic."""
    y, x = np.mgrid[0:h, 0:w].astype(np.uint64)
    xi, yi = x.astype(np.int64), y.astype(np.int64)
    gx = (xi * 255) // max(w - 1, 1)
    gy = (yi * 255) // max(h - 1, 1)
    wave = ((xi * 7 + yi * 3) % 64) * 2
    dx, dy = 2 * xi + 1 - w, 2 * yi + 1 - h
    r = (min(h, w) * 6) // 10
    disc = dx * dx + dy * dy < r * r
    checker = (((xi >> 3) ^ (yi >> 3)) & 1 == 1) & (xi < w // 3)
    out = np.empty((h, w, 3), np.int64)
    bases = [gx, gy, (gx + 2 * gy + wave) // 3]
    for c in range(3):
        noise = (hash32(x, y, np.uint64(c), np.uint64(seed)) & 15).astype(np.int64) - 8
        v = bases[c] + noise
        v = np.where(disc, 255 - v, v)
        v = np.where(checker, v + 60 - 40 * c, v)
        out[..., c] = np.clip(v, 0, 255)
    return out.astype(np.uint8)


def fnv1a64(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def fnv1a64_np(a: np.ndarray) -> str:
    # Vectorised enough for <1 MB: process bytes in Python ints (fine at this size).
    return fnv1a64(np.ascontiguousarray(a).tobytes())


# ---------------------------------------------------------------------------------
# A minimal PNG encoder: any colour type / bit depth, PLTE, tRNS, Adam7, row filters.
# ---------------------------------------------------------------------------------
def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & M32)


def _pack_row(samples: np.ndarray, bit_depth: int) -> bytes:
    """samples: 1-D array of sample values for one row (all channels interleaved)."""
    if bit_depth == 8:
        return samples.astype(np.uint8).tobytes()
    if bit_depth == 16:
        return samples.astype(">u2").tobytes()
    per_byte = 8 // bit_depth
    n = len(samples)
    padded = np.zeros(((n + per_byte - 1) // per_byte) * per_byte, np.uint8)
    padded[:n] = samples
    padded = padded.reshape(-1, per_byte)
    out = np.zeros(len(padded), np.uint8)
    for i in range(per_byte):
        out |= (padded[:, i] << (8 - bit_depth * (i + 1))).astype(np.uint8)
    return out.tobytes()


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _filter_rows(rows, bpp):
    """Filters each row with type (row index % 5), so all five filters are used."""
    out = bytearray()
    prev = bytes(len(rows[0])) if rows else b""
    for i, row in enumerate(rows):
        ft = i % 5
        f = bytearray(len(row))
        for j in range(len(row)):
            a = row[j - bpp] if j >= bpp else 0
            b = prev[j]
            c = prev[j - bpp] if j >= bpp else 0
            pred = [0, a, b, (a + b) // 2, _paeth(a, b, c)][ft]
            f[j] = (row[j] - pred) & 0xFF
        out.append(ft)
        out += f
        prev = row
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(samples, bit_depth, color_type, palette=None, trns=None, interlace=False):
    """samples: [H, W, C] integer array of raw sample values (palette indices for type 3)."""
    if samples.ndim == 2:
        samples = samples[..., None]
    h, w, c = samples.shape
    bpp = max(1, (c * bit_depth) // 8)

    def rows_of(img):
        return [_pack_row(img[y].reshape(-1), bit_depth) for y in range(img.shape[0])]

    if interlace:
        raw = b""
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] == 0 or sub.shape[1] == 0:
                continue
            raw += _filter_rows(rows_of(sub), bpp)
    else:
        raw = _filter_rows(rows_of(samples), bpp)
    data = b"\x89PNG\r\n\x1a\n"
    data += _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0))
    data += _chunk(b"gAMA", struct.pack(">I", 45455))  # must be ignored, as Pillow ignores it
    if palette is not None:
        data += _chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).reshape(-1)))
    if trns is not None:
        data += _chunk(b"tRNS", trns)
    data += _chunk(b"IDAT", zlib.compress(raw, 9))
    data += _chunk(b"IEND", b"")
    return data


# ---------------------------------------------------------------------------------
# Cases.
# ---------------------------------------------------------------------------------
index = {
    "generator": "tools/make_image_fixtures.py",
    "versions": {
        "python": sys.version.split()[0],
        "pillow": PIL.__version__,
        "libjpeg_turbo": PIL.features.version_feature("libjpeg_turbo"),
        "numpy": np.__version__,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
    },
    "decode": [],
    "resize": [],
    "pad": [],
    "bad": [],
}


def wpath(rel):
    p = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def save_bytes(rel, data):
    with open(wpath(rel), "wb") as f:
        f.write(data)


_saved = {}  # fnv1a64 -> path of an identical expected array already stored


def save_png_rgb(rel, arr):
    """Stores an expected [H, W, 3] uint8 array losslessly (verified by reading back).
    Returns the path stored in index.json: an earlier identical file is reused."""
    key = (arr.shape, fnv1a64_np(arr))
    if key in _saved:
        return _saved[key]
    _saved[key] = rel
    b = io.BytesIO()
    Image.fromarray(arr, "RGB").save(b, "PNG", optimize=True)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(b.getvalue())).convert("RGB")), arr)
    save_bytes(rel, b.getvalue())
    return rel


def add_decode_case(name, data, note):
    rel = f"decode/{name}"
    save_bytes(rel, data)
    expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    save_bytes(rel + ".rgb", expected.tobytes())
    mode = Image.open(io.BytesIO(data)).mode
    index["decode"].append({"file": rel, "expected": rel + ".rgb", "height": expected.shape[0],
                            "width": expected.shape[1], "pillow_mode": mode, "note": note})


def make_decode_cases():
    h, w = 17, 23  # odd sizes: partial bytes for sub-byte depths, partial Adam7 blocks
    base = synth(h, w, 1)
    gray8 = base[..., 0]
    rng = np.random.default_rng(7)
    for bd in (1, 2, 4):
        add_decode_case(f"gray{bd}.png", write_png(gray8 >> (8 - bd), bd, 0), f"{bd}-bit gray")
    add_decode_case("gray8.png", write_png(gray8, 8, 0), "8-bit gray")
    add_decode_case("gray8_trns.png", write_png(gray8, 8, 0, trns=struct.pack(">H", int(gray8[0, 0]))),
                    "8-bit gray with tRNS (ignored)")
    # 16-bit gray: values both below and above 255 (Pillow clamps I;16 -> RGB at 255).
    g16 = (gray8.astype(np.uint32) * 257).astype(np.uint32)
    g16[::3] = gray8[::3]  # every third row stays <= 255
    add_decode_case("gray16.png", write_png(g16, 16, 0), "16-bit gray: clamp to 255")
    ga = np.stack([gray8, base[..., 1]], -1)
    add_decode_case("gray_alpha8.png", write_png(ga, 8, 4), "8-bit gray+alpha")
    ga16 = ga.astype(np.uint32) * 256 + rng.integers(0, 256, ga.shape)
    add_decode_case("gray_alpha16.png", write_png(ga16, 16, 4), "16-bit gray+alpha: high byte")
    add_decode_case("rgb8.png", write_png(base, 8, 2), "8-bit RGB, all row filters")
    add_decode_case("rgb8_trns.png", write_png(base, 8, 2, trns=struct.pack(">HHH", *[int(v) for v in base[0, 0]])),
                    "8-bit RGB with tRNS (ignored)")
    add_decode_case("rgb8_interlaced.png", write_png(base, 8, 2, interlace=True), "8-bit RGB, Adam7")
    rgb16 = base.astype(np.uint32) * 256 + rng.integers(0, 256, base.shape)
    add_decode_case("rgb16.png", write_png(rgb16, 16, 2), "16-bit RGB: high byte")
    add_decode_case("rgb16_interlaced.png", write_png(rgb16, 16, 2, interlace=True), "16-bit RGB, Adam7")
    rgba = np.concatenate([base, synth(h, w, 2)[..., :1]], -1)
    add_decode_case("rgba8.png", write_png(rgba, 8, 6), "8-bit RGBA: alpha dropped, not composited")
    rgba16 = rgba.astype(np.uint32) * 256 + rng.integers(0, 256, rgba.shape)
    add_decode_case("rgba16.png", write_png(rgba16, 16, 6), "16-bit RGBA: high byte, alpha dropped")
    pal = synth(16, 16, 3).reshape(-1, 3)  # 256 colours
    for bd in (1, 2, 4, 8):
        n = 1 << bd
        idx = (base[..., 0].astype(np.int64) * n) // 256
        add_decode_case(f"palette{bd}.png", write_png(idx, bd, 3, palette=pal[:n]), f"{bd}-bit palette")
    idx8 = base[..., 1]
    add_decode_case("palette8_trns.png", write_png(idx8, 8, 3, palette=pal, trns=bytes(range(0, 256, 2))),
                    "8-bit palette with tRNS (ignored)")
    add_decode_case("palette8_interlaced.png", write_png(idx8, 8, 3, palette=pal, interlace=True),
                    "8-bit palette, Adam7")
    short = (base[..., 2].astype(np.int64) * 12) // 256  # indices 0..11
    add_decode_case("palette_short.png", write_png(short, 4, 3, palette=pal[:8]),
                    "indices past a short PLTE are black")
    add_decode_case("rgb8_1x1.png", write_png(base[:1, :1], 8, 2), "1x1")
    no_iend = write_png(base, 8, 2)[:-12]
    assert b"IEND" not in no_iend
    add_decode_case("rgb8_no_iend.png", no_iend, "ends after the last IDAT chunk: Pillow accepts it")
    # Pillow's own PNG writer (zlib-level filters chosen by Pillow, optimize).
    b = io.BytesIO()
    Image.fromarray(synth(31, 40, 4)).save(b, "PNG", optimize=True)
    add_decode_case("pillow_rgb.png", b.getvalue(), "Pillow-written RGB PNG")

    # JPEGs (Pillow's libjpeg-turbo encoder).
    def jpeg(arr, mode=None, **kw):
        b = io.BytesIO()
        im = Image.fromarray(arr) if mode is None else Image.fromarray(arr).convert(mode)
        im.save(b, "JPEG", **kw)
        return b.getvalue()

    nat = synth(48, 64, 5)
    add_decode_case("q90_420.jpg", jpeg(nat, quality=90, subsampling=2), "4:2:0 baseline")
    add_decode_case("q90_422.jpg", jpeg(nat, quality=90, subsampling=1), "4:2:2 baseline")
    add_decode_case("q95_444.jpg", jpeg(nat, quality=95, subsampling=0), "4:4:4 baseline")
    add_decode_case("q75_420_progressive.jpg", jpeg(nat, quality=75, subsampling=2, progressive=True),
                    "4:2:0 progressive")
    add_decode_case("q85_444_progressive.jpg", jpeg(nat, quality=85, subsampling=0, progressive=True),
                    "4:4:4 progressive")
    add_decode_case("q80_420_optimized_restart.jpg",
                    jpeg(nat, quality=80, subsampling=2, optimize=True, restart_marker_blocks=3),
                    "4:2:0, optimized Huffman tables, restart markers")
    odd = synth(61, 37, 6)
    add_decode_case("odd_37x61_420.jpg", jpeg(odd, quality=90, subsampling=2), "4:2:0, odd size (edge upsampling)")
    add_decode_case("odd_37x61_422_progressive.jpg", jpeg(odd, quality=70, subsampling=1, progressive=True),
                    "4:2:2 progressive, odd size")
    add_decode_case("gray.jpg", jpeg(nat, mode="L", quality=90), "grayscale")
    add_decode_case("cmyk.jpg", jpeg(nat, mode="CMYK", quality=90), "Adobe CMYK (Pillow inverts)")
    add_decode_case("tiny_1x1.jpg", jpeg(nat[:1, :1], quality=90), "1x1")
    add_decode_case("q30_420.jpg", jpeg(synth(16, 200, 8), quality=30, subsampling=2), "low quality, wide")
    add_decode_case("q90_420_trailing_bytes.jpg", jpeg(nat, quality=90, subsampling=2) + b"\x00trailing junk\xff",
                    "bytes after EOI are ignored")


def add_resize_case(in_h, in_w, seed, out_h, out_w, filt, box=None):
    src = Image.fromarray(synth(in_h, in_w, seed))
    out = np.asarray(src.resize((out_w, out_h), filt, box=box))
    assert out.shape == (out_h, out_w, 3)
    name = f"{in_h}x{in_w}_s{seed}_to_{out_h}x{out_w}_{Image.Resampling(filt).name.lower()}"
    if box is not None:
        name += "_box"
    rel = save_png_rgb(f"resize/{name}.png", out)
    index["resize"].append({"in_height": in_h, "in_width": in_w, "seed": seed, "out_height": out_h,
                            "out_width": out_w, "filter": int(filt), "box": list(box) if box else None,
                            "expected": rel, "fnv1a64": fnv1a64_np(out)})
    return out


def make_resize_cases():
    R = Image.Resampling
    # X-VLA's case: LIBERO 256x256 -> 224x224 BICUBIC, and every other filter.
    for f in (R.BICUBIC, R.BILINEAR):
        add_resize_case(256, 256, 11, 224, 224, f)
    for f in (R.NEAREST, R.BOX, R.HAMMING, R.LANCZOS):
        add_resize_case(128, 128, 11, 112, 112, f)
    for f in (R.BICUBIC, R.BILINEAR):
        add_resize_case(100, 100, 12, 224, 224, f)      # upscale
        add_resize_case(61, 37, 13, 224, 224, f)        # odd, different factors per axis
        add_resize_case(480, 640, 14, 224, 224, f)      # 640x480 camera frame
        add_resize_case(1, 1, 15, 224, 224, f)          # one pixel
        add_resize_case(3, 1000, 16, 224, 224, f)       # extreme wide
        add_resize_case(400, 3, 17, 20, 8, f)           # tall > 100x, shrinking: vertical first
        add_resize_case(300, 2, 18, 224, 224, f)        # tall > 100x, shrinking height only
        add_resize_case(64, 64, 19, 64, 56, f)          # one axis unchanged: one pass
        add_resize_case(64, 64, 20, 56, 64, f)
    add_resize_case(480, 640, 21, 13, 17, R.BICUBIC)    # strong downscale: wide support
    add_resize_case(480, 640, 21, 13, 17, R.LANCZOS)
    add_resize_case(480, 640, 21, 13, 17, R.NEAREST)
    add_resize_case(7, 5, 22, 3, 2, R.BICUBIC)
    add_resize_case(24, 24, 23, 24, 24, R.BICUBIC)      # same size: copy
    add_resize_case(2, 3, 24, 1, 1, R.BOX)
    add_resize_case(50, 60, 25, 123, 45, R.HAMMING)
    add_resize_case(50, 60, 25, 123, 45, R.NEAREST)
    add_resize_case(64, 64, 26, 40, 48, R.BICUBIC, box=(3.5, 2.25, 61.75, 60.0))
    add_resize_case(64, 64, 26, 40, 48, R.NEAREST, box=(3.5, 2.25, 61.75, 60.0))
    add_resize_case(64, 64, 27, 30, 20, R.BILINEAR, box=(10.0, 4.0, 30.0, 34.0))  # integral box = size: crop
    add_resize_case(500, 4, 28, 100, 7, R.BICUBIC, box=(0.5, 20.0, 3.5, 480.5))    # tall with a box


def resize_with_pad_reference(arr, height, width, method):
    """openpi-client resize_with_pad for one uint8 [H, W, 3] image, re-expressed."""
    if arr.shape[:2] == (height, width):
        return arr
    im = Image.fromarray(arr)
    cur_w, cur_h = im.size
    ratio = max(cur_w / width, cur_h / height)
    rh, rw = int(cur_h / ratio), int(cur_w / ratio)
    resized = im.resize((rw, rh), resample=method)
    canvas = Image.new(resized.mode, (width, height), 0)
    canvas.paste(resized, (max(0, int((width - rw) / 2)), max(0, int((height - rh) / 2))))
    return np.asarray(canvas)


def make_pad_cases():
    # (256, 256, 11) and (224, 224, 36) need no padding: the first is resize case
    # 256x256_s11_to_224x224_bilinear (stored once), the second returns its input.
    for in_h, in_w, seed, h, w in [(480, 640, 31, 224, 224), (640, 480, 32, 224, 224), (256, 256, 11, 224, 224),
                                   (100, 300, 34, 224, 224), (61, 37, 35, 224, 224), (224, 224, 36, 224, 224),
                                   (50, 50, 37, 96, 128), (720, 1280, 38, 224, 224)]:
        src = synth(in_h, in_w, seed)
        out = resize_with_pad_reference(src, h, w, Image.Resampling.BILINEAR)
        if out is src:
            index["pad"].append({"in_height": in_h, "in_width": in_w, "seed": seed, "height": h, "width": w,
                                 "expected": None, "identity": True, "fnv1a64": fnv1a64_np(out)})
            continue
        rel = save_png_rgb(f"pad/{in_h}x{in_w}_s{seed}_to_{h}x{w}.png", out)
        index["pad"].append({"in_height": in_h, "in_width": in_w, "seed": seed, "height": h, "width": w,
                             "expected": rel, "identity": False, "fnv1a64": fnv1a64_np(out)})


XVLA_PREPROCESSOR_CONFIG = {
    # The settings of X-VLA's preprocessor_config.json (shared/specs/xvla.md section 1.2).
    "image_processor_type": "CLIPImageProcessor",
    "do_resize": True,
    "size": {"height": 224, "width": 224},
    "resample": 3,
    "do_center_crop": False,
    "do_rescale": True,
    "rescale_factor": 0.00392156862745098,
    "do_normalize": True,
    "image_mean": [0.485, 0.456, 0.406],
    "image_std": [0.229, 0.224, 0.225],
    "do_convert_rgb": None,
}


def make_normalize_cases():
    from transformers import AutoImageProcessor

    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "preprocessor_config.json"), "w") as f:
            json.dump(XVLA_PREPROCESSOR_CONFIG, f)
        pil_proc = AutoImageProcessor.from_pretrained(d, backend="pil")
        tv_proc = AutoImageProcessor.from_pretrained(d, backend="torchvision")
    assert type(pil_proc).__name__ == "CLIPImageProcessorPil", type(pil_proc)
    print(f"CLIP processor: {type(pil_proc).__name__} (backend={pil_proc.backend}); "
          f"default backend would be {type(tv_proc).__name__}")

    # The per-(channel, value) table: a 1x256 picture per channel through the processor
    # is not possible (it resizes to 224), so use a 224x224 picture holding every value in
    # every channel: the resize is then Pillow's copy and the output is the table itself.
    vals = np.arange(224 * 224, dtype=np.int64) % 256
    pic = np.stack([vals, (vals + 85) % 256, (vals + 170) % 256], -1).reshape(224, 224, 3).astype(np.uint8)
    out = pil_proc(images=[Image.fromarray(pic)], return_tensors="np")["pixel_values"][0]  # [3, 224, 224]
    assert out.dtype == np.float32 and out.shape == (3, 224, 224)
    table = np.zeros((3, 256), np.float32)
    for c in range(3):
        flat_v = pic[..., c].reshape(-1)
        flat_o = out[c].reshape(-1)
        for v in range(256):
            got = np.unique(flat_o[flat_v == v])
            assert len(got) == 1, (c, v, got)
            table[c, v] = got[0]
    # Independent numpy formula (transformers' rescale + normalize), must agree.
    mean = np.array(XVLA_PREPROCESSOR_CONFIG["image_mean"], np.float32)
    std = np.array(XVLA_PREPROCESSOR_CONFIG["image_std"], np.float32)
    formula = ((np.arange(256, dtype=np.float64) * 0.00392156862745098).astype(np.float32)[None, :] - mean[:, None]) / std[:, None]
    assert np.array_equal(formula.view(np.uint32), table.view(np.uint32))
    index["clip_table_f32_bits"] = [[int(b) for b in row] for row in table.view(np.uint32)]
    index["clip_config"] = XVLA_PREPROCESSOR_CONFIG

    # Full X-VLA pipeline on LIBERO-sized and camera-sized inputs.
    index["clip"] = []
    for in_h, in_w, seed in [(256, 256, 11), (480, 640, 14)]:
        src = synth(in_h, in_w, seed)
        out = pil_proc(images=[Image.fromarray(src)], return_tensors="np")["pixel_values"][0]
        resized = np.asarray(Image.fromarray(src).resize((224, 224), Image.Resampling.BICUBIC))
        via_table = np.stack([table[c][resized[..., c]] for c in range(3)])
        assert np.array_equal(via_table.view(np.uint32), out.view(np.uint32)), "processor != Pillow + table"
        tv = tv_proc(images=[Image.fromarray(src)], return_tensors="pt")["pixel_values"][0].numpy()
        print(f"  {in_h}x{in_w}: torchvision backend vs PIL backend: max |diff| = {np.abs(tv - out).max():.4g}, "
              f"{np.mean(tv != out) * 100:.1f}% of values differ")
        index["clip"].append({"in_height": in_h, "in_width": in_w, "seed": seed,
                              "out_fnv1a64": fnv1a64_np(out.astype("<f4"))})

    # openpi: uint8 -> float32 / 255.0 * 2.0 - 1.0 (Observation.from_dict), numpy and torch agree.
    v = np.arange(256, dtype=np.uint8)
    op_np = v.astype(np.float32) / 255.0 * 2.0 - 1.0
    op_t = (torch.from_numpy(v).to(torch.float32) / 255.0 * 2.0 - 1.0).numpy()
    assert op_np.dtype == np.float32 and np.array_equal(op_np.view(np.uint32), op_t.view(np.uint32))
    index["openpi_table_f32_bits"] = [int(b) for b in op_np.view(np.uint32)]


def png_ihdr_only(w, h, bit_depth=8, color_type=2):
    data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0))
    return data + _chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _chunk(b"IEND", b"")


def jpeg_with_size(data, w, h):
    """Rewrites the SOF0 frame size of a baseline JPEG."""
    i = data.index(b"\xff\xc0")
    return data[: i + 5] + struct.pack(">HH", h, w) + data[i + 9:]


def add_bad(name, data, code, note):
    rel = f"bad/{name}"
    save_bytes(rel, data)
    # Pillow must refuse it too (or, for bombs, refuse above its limit).
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
        pillow = "loaded"
    except Exception as e:  # noqa: BLE001
        pillow = type(e).__name__
    index["bad"].append({"file": rel, "code": code, "pillow": pillow, "note": note})


def make_bad_cases():
    good_png = write_png(synth(40, 30, 41), 8, 2)
    b = io.BytesIO()
    Image.fromarray(synth(40, 48, 42)).save(b, "JPEG", quality=90)
    good_jpg = b.getvalue()
    b = io.BytesIO()
    Image.fromarray(synth(40, 48, 42)).save(b, "JPEG", quality=90, progressive=True)
    good_prog = b.getvalue()
    add_bad("empty.png", b"", "DataLoss", "zero bytes")
    add_bad("truncated.png", good_png[: len(good_png) // 2], "DataLoss", "cut inside IDAT")
    add_bad("truncated_header.png", good_png[:20], "DataLoss", "cut inside IHDR")
    add_bad("truncated.jpg", good_jpg[: len(good_jpg) // 2], "DataLoss", "cut inside the scan")
    add_bad("truncated_progressive.jpg", good_prog[: len(good_prog) * 2 // 3], "DataLoss", "cut inside a later scan")
    add_bad("truncated_header.jpg", good_jpg[:100], "DataLoss", "cut inside the tables")
    add_bad("no_eoi.jpg", good_jpg[:-2], "DataLoss", "all scan data but no EOI marker (Pillow: truncated)")
    add_bad("wrong_magic.png", b"<html><body>not an image</body></html>\n", "DataLoss", "HTML saved as .png")
    add_bad("huge_100000x100000.png", png_ihdr_only(100000, 100000), "InvalidArgument", "decompression bomb header")
    add_bad("huge_60000x60000.jpg", jpeg_with_size(good_jpg, 60000, 60000), "InvalidArgument", "decompression bomb header")
    add_bad("zero_width.png", png_ihdr_only(0, 10), "DataLoss", "IHDR width 0")
    bad_crc = bytearray(good_png)
    bad_crc[29] ^= 0xFF  # IHDR CRC
    add_bad("bad_ihdr_crc.png", bytes(bad_crc), "DataLoss", "IHDR CRC mismatch")
    corrupt = bytearray(good_png)
    i = corrupt.index(b"IDAT") + 4
    corrupt[i + 2 : i + 12] = b"\xff" * 10
    # Keep the CRC valid so that the zlib stream itself is what is broken.
    length = struct.unpack(">I", corrupt[i - 8 : i - 4])[0]
    corrupt[i + length : i + length + 4] = struct.pack(">I", zlib.crc32(bytes(corrupt[i - 4 : i + length])) & M32)
    add_bad("corrupt_zlib.png", bytes(corrupt), "DataLoss", "IDAT with a broken deflate stream")
    add_bad("gif87a.gif", b"GIF87a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;",
            "Unimplemented", "a 1x1 GIF: not a format vlart reads")
    add_bad("jpeg_soi_only.jpg", b"\xff\xd8\xff\xd9", "DataLoss", "SOI then EOI, no image")


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    make_decode_cases()
    make_resize_cases()
    make_pad_cases()
    make_normalize_cases()
    make_bad_cases()
    with open(os.path.join(OUT, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(OUT) for fn in fns)
    print(f"wrote {OUT}: {len(index['decode'])} decode, {len(index['resize'])} resize, {len(index['pad'])} pad, "
          f"{len(index['bad'])} bad cases, {total / 1024:.0f} KiB")
    for b in index["bad"]:
        print(f"  bad {b['file']}: Pillow -> {b['pillow']}")


if __name__ == "__main__":
    main()
