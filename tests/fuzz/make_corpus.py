#!/usr/bin/env python3
"""Regenerates the seed corpora of the fuzz targets in tests/fuzz/corpus/.

  tests/fuzz/make_corpus.py [--rdiff rdiff]

Deterministic: the same rdiff gives the same files. Signatures and deltas
come from Debian's rdiff (librsync 2.3) where it can make them; the rest
(every opcode width, corrupt and boundary cases) are built by hand here.
Input layouts are those documented at the top of each fuzz_<name>.cc.
"""
import argparse
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

MAGICS = {  # name: (magic, rdiff -H, rdiff -R, max strong_len)
    "rollsum_md4": (0x72730136, "md4", "rollsum", 16),
    "rollsum_blake2": (0x72730137, "blake2", "rollsum", 32),
    "rabinkarp_md4": (0x72730146, "md4", "rabinkarp", 16),
    "rabinkarp_blake2": (0x72730147, "blake2", "rabinkarp", 32),
}
DELTA_MAGIC = struct.pack(">I", 0x72730236)


def be(v, w):
    return v.to_bytes(w, "big")


def width_index(v):
    return 0 if v <= 0xff else 1 if v <= 0xffff else 2 if v <= 0xffffffff else 3


def text(n, rng):
    words = [b"int", b"return", b"const", b"if", b"{", b"}", b";", b"auto"]
    out = bytearray()
    while len(out) < n:
        out += b" ".join(rng.choice(words) for _ in range(rng.randrange(2, 9)))
        out += b"\n"
    return bytes(out[:n])


class Rdiff:
    def __init__(self, exe, tmp):
        self.exe, self.tmp, self.n = exe, tmp, 0

    def _path(self, data=None):
        self.n += 1
        p = os.path.join(self.tmp, f"f{self.n}")
        if data is not None:
            with open(p, "wb") as f:
                f.write(data)
        return p

    def _run(self, *args):
        subprocess.run([self.exe, "-f", *args], check=True)

    def signature(self, basis, magic="rabinkarp_blake2", block=None, strong=None):
        _, h, r, _ = MAGICS[magic]
        src, out = self._path(basis), self._path()
        args = ["signature", "-H", h, "-R", r]
        if block:
            args += ["-b", str(block)]
        if strong is not None:
            args += ["-S", str(strong)]
        self._run(*args, src, out)
        return open(out, "rb").read()

    def delta(self, sig, new):
        s, n, out = self._path(sig), self._path(new), self._path()
        self._run("delta", s, n, out)
        return open(out, "rb").read()


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def sig_header(magic, block, strong):
    return struct.pack(">III", magic, block, strong)


def signature_seeds(rd, rng):
    t = "signature_load"
    basis = rng.randbytes(1000)
    for name, (magic, _, _, mx) in MAGICS.items():
        write(t, f"rdiff_{name}_b64", rd.signature(basis, name, 64))
        write(t, f"rdiff_{name}_b100_s4", rd.signature(basis, name, 100, 4))
        write(t, f"header_only_{name}", sig_header(magic, 2048, mx))
        write(t, f"strong_too_long_{name}", sig_header(magic, 64, mx + 1))
    # Duplicate blocks (zeros) and repeated text: long candidate chains.
    write(t, "rdiff_zeros_b16", rd.signature(bytes(800), "rollsum_blake2", 16, 8))
    write(t, "rdiff_text_b32", rd.signature(text(900, rng), "rabinkarp_md4", 32))
    write(t, "rdiff_default", rd.signature(rng.randbytes(3000)))
    good = rd.signature(basis, "rabinkarp_blake2", 128, 8)
    write(t, "truncated_entry", good[:-3])
    write(t, "truncated_header", good[:7])
    write(t, "empty", b"")
    write(t, "bad_magic", struct.pack(">I", 0x72730236) + good[4:])
    write(t, "strong_len_zero", sig_header(0x72730147, 64, 0) + bytes(8))
    write(t, "block_len_zero", sig_header(0x72730147, 0, 8) + bytes(24))
    write(t, "block_len_max", sig_header(0x72730137, 1 << 28, 4) + bytes(16))
    write(t, "block_len_too_big", sig_header(0x72730137, (1 << 28) + 1, 4))
    write(t, "block_len_u32_max", sig_header(0x72730146, 0xffffffff, 16))


def patch_seed(basis, delta, flags=1):
    return bytes([flags]) + be(len(basis), 2) + basis + delta


def copy_op(pos, length, wp=None, wl=None):
    wp = width_index(pos) if wp is None else wp
    wl = width_index(length) if wl is None else wl
    return bytes([0x45 + 4 * wp + wl]) + be(pos, 1 << wp) + be(length, 1 << wl)


def literal_op(data, w=None):
    if w is None:
        if 1 <= len(data) <= 64:
            return bytes([len(data)]) + data
        w = width_index(len(data))
    return bytes([0x41 + w]) + be(len(data), 1 << w) + data


def patch_seeds(rd, rng):
    t = "patch"
    basis = rng.randbytes(2048)
    sig = rd.signature(basis, "rabinkarp_blake2", 64)
    edits = {
        "insert": basis[:700] + rng.randbytes(300) + basis[700:],
        "delete": basis[:500] + basis[900:],
        "append": basis + rng.randbytes(100),
        "scattered": bytes(b ^ (1 if i % 500 == 7 else 0)
                           for i, b in enumerate(basis)),
        "unrelated": rng.randbytes(1500),
        "reordered": basis[1024:] + basis[:1024],
        "empty_new": b"",
    }
    for name, new in edits.items():
        write(t, f"rdiff_{name}", patch_seed(basis, rd.delta(sig, new), 1))
    # A short basis, size unknown to the reader, eof with the last chunk.
    small = rng.randbytes(300)
    write(t, "rdiff_small_unsized",
          patch_seed(small, rd.delta(rd.signature(small, "rollsum_md4", 16),
                                     small[:100] + b"xyz" + small[100:]), 2))

    b = bytes(range(256)) * 2  # 512 bytes
    # Every literal form and every COPY width pair, with small values.
    ops = literal_op(b"a") + literal_op(bytes(64))
    for w in range(4):
        ops += literal_op(b"lit" + bytes([w]), w)
    for wp in range(4):
        for wl in range(4):
            ops += copy_op(wp * 7, 5 + wl, wp, wl)
    ops += literal_op(rng.randbytes(300)) + copy_op(256, 256)
    write(t, "all_widths", patch_seed(b, DELTA_MAGIC + ops + b"\0"))
    write(t, "all_widths_unsized", patch_seed(b, DELTA_MAGIC + ops + b"\0", 0))
    write(t, "end_only", patch_seed(b, DELTA_MAGIC + b"\0"))
    write(t, "no_end", patch_seed(b, DELTA_MAGIC + copy_op(0, 10)))
    write(t, "magic_only", patch_seed(b, DELTA_MAGIC))
    write(t, "bad_magic", patch_seed(b, b"rs\x01\x36" + b"\0"))
    write(t, "reserved_0x55", patch_seed(b, DELTA_MAGIC + b"\x55\0"))
    write(t, "reserved_0xff", patch_seed(b, DELTA_MAGIC + b"\xff\0"))
    write(t, "copy_zero_len", patch_seed(b, DELTA_MAGIC + copy_op(0, 0) + b"\0"))
    write(t, "copy_past_end", patch_seed(b, DELTA_MAGIC + copy_op(500, 13) + b"\0"))
    write(t, "copy_exactly_to_end",
          patch_seed(b, DELTA_MAGIC + copy_op(500, 12) + b"\0"))
    write(t, "copy_pos_overflow", patch_seed(
        b, DELTA_MAGIC + copy_op((1 << 64) - 1, 2, 3, 0) + b"\0"))
    write(t, "copy_len_overflow", patch_seed(
        b, DELTA_MAGIC + copy_op(1, (1 << 64) - 1, 0, 3) + b"\0", 0))
    write(t, "copy_empty_basis", patch_seed(b"", DELTA_MAGIC + copy_op(0, 1) + b"\0"))
    huge = DELTA_MAGIC + b"\x44" + be(1 << 62, 8) + b"only a little data"
    write(t, "literal_absurd_len", patch_seed(b, huge))
    write(t, "literal_len_u32_max",
          patch_seed(b, DELTA_MAGIC + b"\x43" + be(0xffffffff, 4) + b"abc"))
    write(t, "literal_truncated", patch_seed(b, DELTA_MAGIC + b"\x10abc"))
    write(t, "literal_len_zero", patch_seed(b, DELTA_MAGIC + b"\x41\x00\0"))
    write(t, "after_end", patch_seed(b, DELTA_MAGIC + b"\x02hi\0trailing"))
    write(t, "many_copies", patch_seed(
        b, DELTA_MAGIC + copy_op(0, 512) * 200 + b"\0"))


def delta_seed(magic_sel, block, strong, flags, basis, new):
    return (bytes([magic_sel, block - 1, strong - 1, flags]) +
            be(len(basis), 2) + basis + new)


def delta_seeds(rd, rng):
    t = "delta"
    basis = rng.randbytes(1500)
    write(t, "insert", delta_seed(3, 32, 8, 0, basis,
                                  basis[:600] + b"inserted" + basis[600:]))
    write(t, "delete", delta_seed(0, 16, 16, 1, basis, basis[:300] + basis[420:]))
    write(t, "identical", delta_seed(1, 64, 32, 2, basis, basis))
    write(t, "identical_short_tail", delta_seed(2, 7, 16, 3, basis[:1000],
                                                basis[:1000]))
    write(t, "append", delta_seed(3, 20, 12, 4, basis, basis + b"tail" * 20))
    write(t, "unrelated", delta_seed(2, 64, 8, 5, basis, rng.randbytes(1200)))
    write(t, "empty_basis", delta_seed(3, 16, 32, 6, b"", basis[:200]))
    write(t, "empty_new", delta_seed(1, 16, 32, 7, basis, b""))
    write(t, "both_empty", delta_seed(0, 1, 8, 8, b"", b""))
    write(t, "block_len_1", delta_seed(0, 1, 8, 9, basis[:200],
                                       basis[100:200] + basis[:100]))
    write(t, "zeros", delta_seed(1, 16, 8, 10, bytes(512),
                                 bytes(300) + b"\1" + bytes(400)))
    tx = text(1200, rng)
    write(t, "text_edit", delta_seed(3, 24, 8, 11, tx,
                                     tx[:400] + b"edit" + tx[410:]))
    write(t, "weak_strong_len_1", delta_seed(3, 8, 1, 12, basis[:400],
                                             basis[200:400] + basis[:200]))
    # Valid signatures as the whole input: they exercise the hostile path.
    sig_basis = rng.randbytes(600)
    for name in MAGICS:
        write(t, f"as_signature_{name}", rd.signature(sig_basis, name, 16, 8))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rdiff", default="rdiff")
    a = p.parse_args()
    if not shutil.which(a.rdiff):
        sys.exit(f"make_corpus: {a.rdiff} not found (apt-get install rdiff)")
    rng = random.Random(20240501)
    for t in ("signature_load", "patch", "delta"):
        shutil.rmtree(os.path.join(CORPUS, t), ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        rd = Rdiff(a.rdiff, tmp)
        signature_seeds(rd, rng)
        patch_seeds(rd, rng)
        delta_seeds(rd, rng)
    total = sum(os.path.getsize(os.path.join(d, f))
                for d, _, fs in os.walk(CORPUS) for f in fs)
    print(f"make_corpus: wrote {CORPUS} ({total} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
