# SPDX-License-Identifier: Apache-2.0
#
# make_io_fixtures.py: regenerates the committed checkpoint-I/O test data.
#
# Run from the repository root with the reference Python environment:
#
#   /work/pyref/bin/python tools/make_io_fixtures.py
#
# (any Python with torch >= 2.1 and safetensors 0.8.0 works). Output is deterministic;
# it rewrites, and only rewrites:
#   tests/io/data/python_written.safetensors  tensors of every dtype, written by
#       safetensors.torch.save_file; the C++ writer must reproduce it byte for byte
#       (the values follow the formulas in FillValue below, mirrored in the C++ test)
#   tests/io/data/casts.safetensors  f32/f16/bf16 sources and what torch's .to() makes
#       of them, for the bit-exactness test of Checkpoint::Load
#   tests/io/data/sharded/  a valid two-shard checkpoint with its index
#   tests/io/data/configs/  small config.json / preprocessor_config.json / norm_stats.json
#   tests/io/corrupt/<case>/  one broken checkpoint folder per failure mode (hand-built
#       bytes); tests/io/safetensors_corrupt_test.cc lists the message each must give
import json
import pathlib
import shutil
import struct

import torch
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "io" / "data"
CORRUPT = ROOT / "tests" / "io" / "corrupt"


# ---------------------------------------------------------------------------------------
# python_written.safetensors: mirrored by MakeWriterTensors() in safetensors_io_test.cc.

def fill_value(dtype: torch.dtype, numel: int) -> torch.Tensor:
    """Element i: floats (i - 7) * 0.25 (exact in every float dtype), signed ints i - 7,
    u8 (37 * i) % 256, bool i % 3 == 0."""
    i = torch.arange(numel, dtype=torch.int64)
    if dtype == torch.bool:
        return i % 3 == 0
    if dtype == torch.uint8:
        return ((i * 37) % 256).to(torch.uint8)
    if dtype.is_floating_point:
        return ((i - 7).to(torch.float64) * 0.25).to(dtype)
    return (i - 7).to(dtype)


def python_written() -> None:
    specs = {
        # name: (dtype, shape)
        "a.bias": (torch.float32, [5]),
        "emb": (torch.bfloat16, [2, 3]),
        "half": (torch.float16, [3]),
        "dbl": (torch.float64, [2]),
        "idx": (torch.int64, [3]),
        "i32": (torch.int32, [2, 2]),
        "i16": (torch.int16, [3]),
        "i8": (torch.int8, [4]),
        "u8": (torch.uint8, [5]),
        "mask": (torch.bool, [3]),
        "fp8": (torch.float8_e4m3fn, [4]),
        "scalar": (torch.float32, []),
        "empty": (torch.float32, [0, 4]),
        'odd "name"\\\t\u00e9\u0001': (torch.float16, [2]),
    }
    tensors = {}
    for name, (dtype, shape) in specs.items():
        numel = 1
        for d in shape:
            numel *= d
        tensors[name] = fill_value(dtype, numel).reshape(shape)
    # b.weight is written from a transposed [3, 4] base, so the C++ side can pass a strided view.
    tensors["b.weight"] = fill_value(torch.float32, 12).reshape(3, 4).t().contiguous()
    save_file(tensors, str(DATA / "python_written.safetensors"), metadata={"format": "pt"})


# ---------------------------------------------------------------------------------------
# casts.safetensors: torch's own casts as the reference.

def casts() -> None:
    g = torch.Generator().manual_seed(1234)
    n = 4096
    special = torch.tensor(
        [0.0, -0.0, 1.0, -1.0, float("inf"), float("-inf"),
         65504.0, 65519.99, 65520.0, 1e5, -1e5,           # f16 max, just below/at overflow
         6.1035156e-05, 5.9604645e-08, 2.9802322e-08, 2.98e-08, 1e-8,  # f16 normal/subnormal edges
         3.3895314e38, 3.4028235e38, 1.1754944e-38, 1e-45,  # bf16 / f32 extremes
         1.00390625, 1.01171875, 1.0009765625, 1.0029296875],  # bf16 and f16 ties
        dtype=torch.float32)
    scales = torch.pow(2.0, torch.randint(-30, 20, (n - special.numel(),), generator=g).to(torch.float32))
    rand = torch.randn(n - special.numel(), generator=g) * scales
    # Force exact halfway cases for bf16 (low 16 bits 0x8000) and f16 (low 13 bits 0x1000).
    bits = rand.view(torch.int32)
    bits[0::4] = (bits[0::4] & ~0xFFFF) | 0x8000
    bits[1::4] = (bits[1::4] & ~0x1FFF) | 0x1000
    src_f32 = torch.cat([special, bits.view(torch.float32)])

    def random_bits(dtype):
        b = torch.randint(0, 1 << 16, (n,), generator=g, dtype=torch.int32).to(torch.int16)
        t = b.view(dtype)
        return torch.where(torch.isnan(t), torch.zeros_like(t), t)  # torch's NaN bits vary by path

    src_bf16 = random_bits(torch.bfloat16)
    src_f16 = random_bits(torch.float16)
    save_file({
        "src_f32": src_f32,
        "f32_to_bf16": src_f32.to(torch.bfloat16),
        "f32_to_f16": src_f32.to(torch.float16),
        "src_bf16": src_bf16,
        "bf16_to_f16": src_bf16.to(torch.float16),
        "bf16_to_f32": src_bf16.to(torch.float32),
        "src_f16": src_f16,
        "f16_to_bf16": src_f16.to(torch.bfloat16),
        "f16_to_f32": src_f16.to(torch.float32),
    }, str(DATA / "casts.safetensors"), metadata={"format": "pt"})


# ---------------------------------------------------------------------------------------
# sharded/: a valid two-shard checkpoint.

def sharded() -> None:
    d = DATA / "sharded"
    d.mkdir(parents=True, exist_ok=True)
    shard1 = {"layers.0.weight": fill_value(torch.bfloat16, 6).reshape(2, 3),
              "layers.0.bias": fill_value(torch.bfloat16, 2)}
    shard2 = {"layers.1.weight": fill_value(torch.float32, 6).reshape(3, 2),
              "head.weight": fill_value(torch.float16, 4).reshape(1, 4)}
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    weight_map = {}
    total = 0
    for shard, name in zip([shard1, shard2], names):
        save_file(shard, str(d / name), metadata={"format": "pt"})
        for k, v in shard.items():
            weight_map[k] = name
            total += v.numel() * v.element_size()
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    (d / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")


# ---------------------------------------------------------------------------------------
# configs/: small JSON files in the shapes the real checkpoints use.

def configs() -> None:
    d = DATA / "configs"
    d.mkdir(parents=True, exist_ok=True)
    (d / "preprocessor_config.json").write_text(json.dumps({
        "crop_size": {"height": 224, "width": 224},
        "do_center_crop": False,
        "do_convert_rgb": None,
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": [0.485, 0.456, 0.406],
        "image_processor_type": "CLIPImageProcessor",
        "image_std": [0.229, 0.224, 0.225],
        "resample": 3,
        "rescale_factor": 0.00392156862745098,
        "size": {"height": 224, "width": 224},
    }, indent=2) + "\n")
    (d / "norm_stats.json").write_text(json.dumps({"norm_stats": {
        "state": {"mean": [0.1, -0.2, 0.3], "std": [1.0, 0.5, 0.25],
                  "q01": [-1.0, -2.0, -3.0], "q99": [1.0, 2.0, 3.0]},
        "actions": {"mean": [0.0, 1.0], "std": [2.0, 3.0], "q01": None, "q99": None},
    }}, indent=2) + "\n")
    (d / "config.json").write_text(json.dumps({
        "model_type": "toy",
        "num_actions": 30,
        "florence_config": {"vision_config": {"depths": [1, 1, 9, 1], "dim_embed": [256, 512, 1024, 2048],
                                              "drop_path_rate": 0.1, "enable_checkpoint": False}},
        "action_mode": "ee6d",
        "rope_scaling": None,
    }, indent=2) + "\n")


# ---------------------------------------------------------------------------------------
# corrupt/: hand-built bytes, one folder per failure mode.

def st_bytes(header, data: bytes = b"", length: int | None = None, pad: bool = True) -> bytes:
    """A safetensors file from `header` (dict -> compact JSON, or str/bytes used verbatim)."""
    if isinstance(header, dict):
        text = json.dumps(header, separators=(",", ":")).encode()
    elif isinstance(header, str):
        text = header.encode()
    else:
        text = header
    if pad:
        text += b" " * (-len(text) % 8)
    n = len(text) if length is None else length
    return struct.pack("<Q", n) + text + data


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def corrupt() -> None:
    if CORRUPT.exists():
        shutil.rmtree(CORRUPT)
    CORRUPT.mkdir(parents=True)
    f32x2 = struct.pack("<2f", 1.0, 2.0)
    files = {
        "empty_file": b"",
        "truncated_length": b"\x10\x00\x00",
        "absurd_header_length": struct.pack("<Q", 1 << 60) + b"{}      ",
        "header_past_eof": st_bytes({"w": entry("F32", [2], 0, 8)}, f32x2, length=1000),
        "bad_json": st_bytes('{"w": {"dtype": "F32", "shape": [2],', f32x2),
        "invalid_utf8": st_bytes(b'{"w\xff\xfe": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}', f32x2),
        "not_an_object": st_bytes("[1, 2, 3]"),
        "entry_not_object": st_bytes({"w": 5}),
        "missing_dtype": st_bytes({"w": {"shape": [2], "data_offsets": [0, 8]}}, f32x2),
        "missing_shape": st_bytes({"w": {"dtype": "F32", "data_offsets": [0, 8]}}, f32x2),
        "missing_data_offsets": st_bytes({"w": {"dtype": "F32", "shape": [2]}}, f32x2),
        "dtype_wrong_type": st_bytes({"w": {"dtype": 32, "shape": [2], "data_offsets": [0, 8]}}, f32x2),
        "shape_wrong_type": st_bytes({"w": {"dtype": "F32", "shape": "2", "data_offsets": [0, 8]}}, f32x2),
        "shape_float_dim": st_bytes({"w": {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}}, f32x2),
        "offsets_wrong_type": st_bytes({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, "8"]}}, f32x2),
        "offsets_wrong_length": st_bytes({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8, 8]}}, f32x2),
        "unknown_dtype": st_bytes({"w": entry("Q4_K", [2], 0, 8)}, f32x2),
        "negative_shape": st_bytes({"w": entry("F32", [-2], 0, 8)}, f32x2),
        "overflowing_numel": st_bytes({"w": entry("F32", [1 << 62, 1 << 62], 0, 8)}, f32x2),
        "overflowing_bytes": st_bytes({"w": entry("F32", [1 << 60], 0, 8)}, f32x2),
        "too_many_dims": st_bytes({"w": entry("F32", [1, 1, 1, 1, 1, 1, 2], 0, 8)}, f32x2),
        "offsets_past_eof": st_bytes({"w": entry("F32", [1024], 0, 4096)}, f32x2),
        "reversed_offsets": st_bytes({"w": entry("F32", [2], 8, 0)}, f32x2),
        "overlapping_ranges": st_bytes({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 4, 12)},
                                       f32x2 + b"\0" * 4),
        "gap_between_tensors": st_bytes({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 12, 20)},
                                        f32x2 + b"\0" * 12),
        "size_mismatch": st_bytes({"w": entry("F32", [3], 0, 8)}, f32x2),
        "duplicate_names": st_bytes('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
                                    '"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', f32x2),
        "duplicate_field": st_bytes('{"w":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}}', f32x2),
        "truncated_data": st_bytes({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 8, 16)}, f32x2 + b"\0" * 4),
        "trailing_bytes": st_bytes({"w": entry("F32", [2], 0, 8)}, f32x2 + b"junk"),
        "metadata_value_not_string": st_bytes({"__metadata__": {"format": 1}, "w": entry("F32", [2], 0, 8)}, f32x2),
        "metadata_not_object": st_bytes({"__metadata__": ["pt"], "w": entry("F32", [2], 0, 8)}, f32x2),
        "deep_nesting": st_bytes('{"__metadata__":' + "[" * 200 + "]" * 200 + "}"),
    }
    for case, content in files.items():
        d = CORRUPT / case
        d.mkdir()
        (d / "model.safetensors").write_bytes(content)

    # Sharded-checkpoint failures. Shard files are valid unless the case says otherwise.
    def good_shard(names):
        header = {}
        data = b""
        for k in names:
            header[k] = entry("F32", [2], len(data), len(data) + 8)
            data += f32x2
        return st_bytes(header, data)

    def sharded_case(case, weight_map, shards, index_text=None):
        d = CORRUPT / case
        d.mkdir()
        for name, content in shards.items():
            (d / name).write_bytes(content)
        text = index_text if index_text is not None else json.dumps(
            {"metadata": {"total_size": 0}, "weight_map": weight_map}, indent=2) + "\n"
        (d / "model.safetensors.index.json").write_text(text)

    s1, s2 = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
    sharded_case("shard_missing", {"a": s1, "b": s2}, {s1: good_shard(["a"])})
    sharded_case("shard_lacks_tensor", {"a": s1, "b": s1}, {s1: good_shard(["a"])})
    sharded_case("shard_unmapped_tensor", {"a": s1}, {s1: good_shard(["a", "extra"])})
    sharded_case("shard_tensor_twice", {"a": s1, "b": s2}, {s1: good_shard(["a", "b"]), s2: good_shard(["b"])})
    sharded_case("shard_corrupt", {"a": s1}, {s1: good_shard(["a"]) + b"junk"})
    sharded_case("index_bad_json", None, {s1: good_shard(["a"])}, index_text='{"weight_map": {"a": ')
    sharded_case("index_no_weight_map", None, {s1: good_shard(["a"])}, index_text='{"metadata": {}}\n')
    sharded_case("index_weight_map_not_object", None, {s1: good_shard(["a"])},
                 index_text='{"weight_map": ["a"]}\n')
    sharded_case("index_shard_not_string", {"a": 7}, {s1: good_shard(["a"])})
    sharded_case("index_path_escape", {"a": "../" + s1}, {s1: good_shard(["a"])})
    sharded_case("index_duplicate_key", None, {s1: good_shard(["a"])},
                 index_text='{"weight_map": {"a": "%s", "a": "%s"}}\n' % (s1, s1))

    d = CORRUPT / "no_weights"
    d.mkdir()
    (d / "config.json").write_text('{"model_type": "toy"}\n')


def main() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    python_written()
    casts()
    sharded()
    configs()
    corrupt()
    print("wrote", DATA, "and", CORRUPT)


if __name__ == "__main__":
    main()
