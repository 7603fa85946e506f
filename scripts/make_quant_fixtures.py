#!/usr/bin/env python3
"""Generates the weight-type fixtures under tests/data/quant/ (see the README there).

Oracles:
  * the gguf Python package (always): dequantization of every type it knows, and quantization of
    F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (its numpy code reproduces ggml's reference bit for bit);
  * optionally, ggml itself (--ggml-lib-dir DIR holding libggml-base.so and libggml-cpu.so, built for
    plain x86-64 with no SIMD so that its generic reference code runs): quantization of the types the
    gguf package cannot quantize (Q8_1, Q2_K .. Q6_K, Q8_K) and the expected vec_dot results. Without
    the option those fixture files are left as they are.

Usage: .venv/bin/python scripts/make_quant_fixtures.py [--ggml-lib-dir DIR]
"""

from __future__ import annotations

import argparse
import ctypes
import pathlib

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "quant"

# Type name (as written in file names and by ggml_type_name) -> (gguf enum, values per block, bytes per block)
TYPES = {
    "F32": (T.F32, 1, 4),
    "F16": (T.F16, 1, 2),
    "BF16": (T.BF16, 1, 2),
    "Q4_0": (T.Q4_0, 32, 18),
    "Q4_1": (T.Q4_1, 32, 20),
    "Q5_0": (T.Q5_0, 32, 22),
    "Q5_1": (T.Q5_1, 32, 24),
    "Q8_0": (T.Q8_0, 32, 34),
    "Q8_1": (T.Q8_1, 32, 36),
    "Q2_K": (T.Q2_K, 256, 84),
    "Q3_K": (T.Q3_K, 256, 110),
    "Q4_K": (T.Q4_K, 256, 144),
    "Q5_K": (T.Q5_K, 256, 176),
    "Q6_K": (T.Q6_K, 256, 210),
    "Q8_K": (T.Q8_K, 256, 292),
}

# Byte offsets of the fp16 scale fields that random blocks must hold sane values in.
FP16_FIELDS = {
    "Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0], "Q8_1": [0, 2],
    "Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208],
}

GGUF_QUANTIZES = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"]
GGML_QUANTIZES = ["Q8_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K"]
VEC_DOT_WEIGHTS = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0",
                   "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"]

N_QUANT = 1024  # values in the quantization and vec_dot inputs: four K-quant super-blocks


def random_blocks(name: str, rng: np.random.Generator) -> np.ndarray:
    """Random bytes for every quant bit, with finite, moderate scales."""
    _, block, size = TYPES[name]
    n = 256 if block == 32 else 1024 if block == 256 else 256
    if name == "F32":
        return rng.normal(0, 2, n).astype(np.float32).view(np.uint8)
    if name == "F16":
        v = np.concatenate([rng.normal(0, 4, n - 8), [0.0, -0.0, 6.0e-8, -3.0e-5, 65504.0, 1e-7, 2.0, 0.5]])
        return v.astype(np.float16).view(np.uint8)
    if name == "BF16":
        bits = rng.normal(0, 4, n).astype(np.float32).view(np.uint32) >> 16
        return bits.astype(np.uint16).view(np.uint8)
    nb = n // block
    data = rng.integers(0, 256, size=(nb, size), dtype=np.uint8)
    for off in FP16_FIELDS.get(name, []):
        scale = rng.uniform(1e-4, 0.1, nb) * rng.choice([-1.0, 1.0], nb)
        data[:, off:off + 2] = scale.astype(np.float16).view(np.uint8).reshape(nb, 2)
    if name == "Q8_K":
        data[:, 0:4] = rng.uniform(1e-4, 0.1, nb).astype(np.float32).view(np.uint8).reshape(nb, 4)
    return data.reshape(-1)


def dequantize(name: str, raw: np.ndarray) -> np.ndarray:
    # The gguf package has no Q8_1 / Q8_K; both are plain d * q (Q8_1's s is not used to decode).
    if name == "Q8_1":
        b = raw.reshape(-1, 36)
        d = b[:, 0:2].copy().view(np.float16).astype(np.float32)
        return (b[:, 4:].view(np.int8).astype(np.float32) * d).reshape(-1)
    if name == "Q8_K":
        b = raw.reshape(-1, 292)
        d = b[:, 0:4].copy().view(np.float32)
        return (d * b[:, 4:260].view(np.int8).astype(np.float32)).reshape(-1)
    return quants.dequantize(raw, TYPES[name][0]).astype(np.float32).reshape(-1)


def quantize_input(rng: np.random.Generator, seed_shift: float = 0.0) -> np.ndarray:
    """Four super-blocks of different shapes: gaussian, positive offset, heavy tails, mostly zeros."""
    gauss = rng.normal(seed_shift, 1.0, 256)
    offset = rng.uniform(0.5, 3.0, 256)
    heavy = rng.standard_t(2.0, 256) * 0.05
    sparse = np.zeros(256)
    sparse[128:] = rng.normal(0, 1e-3, 128)
    sparse[200:216] = 0.0
    sparse[250] = 0.75
    return np.concatenate([gauss, offset, heavy, sparse]).astype(np.float32)


class Ggml:
    """The few ggml entry points the fixtures need, through ctypes."""

    def __init__(self, lib_dir: pathlib.Path):
        mode = ctypes.RTLD_GLOBAL
        self.base = ctypes.CDLL(str(lib_dir / "libggml-base.so"), mode=mode)
        self.cpu = ctypes.CDLL(str(lib_dir / "libggml-cpu.so"), mode=mode)
        self.cpu.ggml_cpu_init()

    def quantize(self, name: str, x: np.ndarray) -> np.ndarray:
        _, block, size = TYPES[name]
        out = np.zeros(x.size // block * size, dtype=np.uint8)
        fn = getattr(self.base, f"quantize_row_{name.lower().replace('_k', '_K')}_ref")
        fn(x.ctypes.data_as(ctypes.c_void_p), out.ctypes.data_as(ctypes.c_void_p), ctypes.c_int64(x.size))
        return out

    def vec_dot(self, name: str, w: np.ndarray, a: np.ndarray, n: int) -> float:
        class Traits(ctypes.Structure):
            _fields_ = [("from_float", ctypes.c_void_p), ("vec_dot", ctypes.c_void_p),
                        ("vec_dot_type", ctypes.c_int), ("nrows", ctypes.c_int64)]
        self.cpu.ggml_get_type_traits_cpu.restype = ctypes.POINTER(Traits)
        traits = self.cpu.ggml_get_type_traits_cpu(ctypes.c_int(int(TYPES[name][0]))).contents
        proto = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.POINTER(ctypes.c_float), ctypes.c_size_t,
                                 ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t,
                                 ctypes.c_int)
        s = ctypes.c_float(0)
        proto(traits.vec_dot)(n, ctypes.byref(s), 0, w.ctypes.data_as(ctypes.c_void_p), 0,
                              a.ctypes.data_as(ctypes.c_void_p), 0, 1)
        return s.value

    def vec_dot_type(self, name: str) -> str:
        mapping = {"F32": "F32", "F16": "F16", "BF16": "BF16", "Q4_0": "Q8_0", "Q5_0": "Q8_0",
                   "Q8_0": "Q8_0", "Q4_1": "Q8_1", "Q5_1": "Q8_1"}
        return mapping.get(name, "Q8_K")


def gguf_quantize(name: str, x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(quants.quantize(x, TYPES[name][0])).view(np.uint8).reshape(-1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ggml-lib-dir", type=pathlib.Path)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240611)

    # 1. Random valid blocks and their dequantization.
    for name in TYPES:
        raw = random_blocks(name, rng)
        (OUT / f"dequant_{name.lower()}.bin").write_bytes(raw.tobytes())
        (OUT / f"dequant_{name.lower()}.f32").write_bytes(dequantize(name, raw).tobytes())

    # 2. Quantization of one shared input.
    x = quantize_input(rng)
    (OUT / "quantize_input.f32").write_bytes(x.tobytes())
    for name in GGUF_QUANTIZES:
        (OUT / f"quantize_{name.lower()}.bin").write_bytes(gguf_quantize(name, x).tobytes())

    # 3. ggml-only quantizers and the vec_dot results.
    act = quantize_input(rng, seed_shift=0.3)
    (OUT / "vec_dot_activation.f32").write_bytes(act.tobytes())
    if args.ggml_lib_dir is None:
        return
    ggml = Ggml(args.ggml_lib_dir)
    for name in GGUF_QUANTIZES[3:]:  # cross-check the two oracles where both exist
        assert np.array_equal(ggml.quantize(name, x), gguf_quantize(name, x)), name
    for name in GGML_QUANTIZES:
        (OUT / f"quantize_{name.lower()}.bin").write_bytes(ggml.quantize(name, x).tobytes())
    lines = ["# weight type, vec_dot result as float bits, value; weights = quantize(quantize_input),",
             "# activation = quantize(vec_dot_activation, vec_dot_type); computed by ggml's generic kernels"]
    for name in VEC_DOT_WEIGHTS:
        w = gguf_quantize(name, x) if name in GGUF_QUANTIZES else ggml.quantize(name, x)
        a_type = ggml.vec_dot_type(name)
        a = gguf_quantize(a_type, act) if a_type in GGUF_QUANTIZES else ggml.quantize(a_type, act)
        s = ggml.vec_dot(name, w, a, x.size)
        bits = int(np.float32(s).view(np.uint32))
        lines.append(f"{name} 0x{bits:08x} {s!r}")
    (OUT / "vec_dot_expected.txt").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
