#!/usr/bin/env python3
"""cost_model.py - cycles of the mtx_engine kernel from its loop structure.

Usage: hls/cost_model.py EXPORT_DIR [--mhz 300] [--fill 8]

Reads EXPORT_DIR/image.bin (dimensions) and manifest.json (plans, tilings and
the mean source length S and decode steps T of the dev split) and prints,
per plan, the modelled cycles per encoder layer, per decoder layer step, per
word (weight loads and compute apart) and words/s at the given clock.

Model (docs/hls.md): every pipelined loop runs at II=1 and costs its trip
count plus FILL cycles (pipeline depth) per entry; unrolled loops cost
nothing extra; the restoring square root and divider cost 28 and 48 cycles;
stages run one after the other (no dataflow overlap). Weights load one tile
row (MTX_PE_COLS bytes) per cycle; constants one word per cycle.
"""
import json
import struct
import sys

PE_R = PE_C = 16


def ceil(a, b):
    return (a + b - 1) // b


class Kernel:
    def __init__(self, C, H, F, Vt, fill):
        self.C, self.H, self.F, self.Vt, self.fill = C, H, F, Vt, fill
        self.hs = C // H

    def loop(self, trips):
        return trips + self.fill

    def load_matrix(self, out, inn):
        return ceil(out, PE_R) * PE_R * self.loop(ceil(inn, PE_C))

    def load_words(self, n):
        return self.loop(n)

    def gemm(self, rows, out, inn):
        return ceil(out, PE_R) * rows * self.loop(ceil(inn, PE_C))

    def vec(self, rows, n):  # requant_q8, residual_add, store_kv
        return rows * self.loop(n)

    def norm(self, rows):
        return rows * (2 * self.loop(self.C) + 28 + 48)

    def attention(self, nq, nk):
        hs, L = self.hs, self.loop
        per_q = L(hs) + nk * L(hs) + L(nk) + 48 + L(nk) + hs * L(nk) + L(hs)
        return self.H * (nk * L(hs) + nq * per_q)

    def enc_load(self):
        C, F = self.C, self.F
        return (self.load_matrix(3 * C, C) + self.load_matrix(C, C) + self.load_matrix(F, C) +
                self.load_matrix(C, F) + self.load_words(7 * C + F + 10))

    def dec_load(self):
        C, F = self.C, self.F
        return (self.load_matrix(3 * C, C) + 3 * self.load_matrix(C, C) + self.load_matrix(F, C) +
                self.load_matrix(C, F) + self.load_words(12 * C + F + 18))

    def enc_layer(self, S):
        C, F = self.C, self.F
        return (2 * self.norm(S) + self.gemm(S, 3 * C, C) + self.vec(S, 3 * C) + self.vec(S, 2 * C) +
                self.attention(S, S) + self.gemm(S, C, C) + self.vec(S, C) + self.gemm(S, F, C) +
                self.vec(S, F) + self.gemm(S, C, F) + self.vec(S, C))

    def dec_layer(self, t, S):
        C, F = self.C, self.F
        return (3 * self.norm(1) + self.gemm(1, 3 * C, C) + self.vec(1, 3 * C) + self.vec(1, 2 * C) +
                self.attention(1, t + 1) + self.gemm(1, C, C) + self.vec(1, C) + self.gemm(1, C, C) +
                self.vec(1, C) + self.attention(1, S) + self.gemm(1, C, C) + self.vec(1, C) +
                self.gemm(1, F, C) + self.vec(1, F) + self.gemm(1, C, F) + self.vec(1, C))

    def cross_kv(self, S):
        C = self.C
        compute = self.gemm(S, 2 * C, C) + self.vec(S, 2 * C) + self.vec(S, 2 * C)
        return self.load_matrix(2 * C, C) + self.load_words(2 * C + 1), compute

    def word(self, n_enc, n_dec, S, T):
        """(load cycles, compute cycles) of one word of S characters, T steps."""
        load = n_enc * self.enc_load()
        comp = S * self.loop(self.C) + n_enc * self.enc_layer(S) + self.norm(S)
        for _ in range(n_dec):
            l, c = self.cross_kv(S)
            load, comp = load + l, comp + c
        for t in range(T):
            comp += self.loop(self.C)
            for _ in range(n_dec):
                if n_dec > 1 or t == 0:
                    load += self.dec_load()
                comp += self.dec_layer(t, S)
            comp += self.norm(1) + self.gemm(1, self.Vt, self.C) + self.loop(self.Vt)
        comp += self.loop(65)
        return load, comp


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        sys.exit(__doc__)
    d, mhz, fill = args[0], 300.0, 8
    if "--mhz" in args:
        mhz = float(args[args.index("--mhz") + 1])
    if "--fill" in args:
        fill = int(args[args.index("--fill") + 1])
    with open(d + "/image.bin", "rb") as f:
        h = f.read(128)
    C, H, F, Vs, Vt, Ps, Pt = struct.unpack("<7I", h[40:68])
    m = json.load(open(d + "/manifest.json"))
    S, T = m["cost_src_len"], m["cost_tgt_steps"]
    k = Kernel(C, H, F, Vt, fill)
    print(f"C {C} H {H} F {F} Vt {Vt}; S {S} T {T}; tile {PE_R}x{PE_C}; II 1, fill {fill}; {mhz:.0f} MHz")
    print(f"encoder layer: load {k.enc_load()} + compute {k.enc_layer(S)} cycles;"
          f" decoder layer step (t={T // 2}): load {k.dec_load()} + compute {k.dec_layer(T // 2, S)} cycles;"
          f" cross K/V per layer: load {sum(k.cross_kv(S)[:1])} + compute {k.cross_kv(S)[1]}")
    print(f"{'plan':<12}{'enc':>4}{'dec':>4}{'load':>10}{'compute':>10}{'cycles':>10}{'words/s':>9}"
          f"{'w/s load-free':>15}")
    for p in m["plans"]:
        enc, dec = p["tiling"].split("|")
        ne, nd = len(enc.split()), len(dec.split())
        load, comp = k.word(ne, nd, S, T)
        cyc = load + comp
        print(f"{p['file']:<12}{ne:>4}{nd:>4}{load:>10}{comp:>10}{cyc:>10}{mhz * 1e6 / cyc:>9.0f}"
              f"{mhz * 1e6 / comp:>15.0f}")


if __name__ == "__main__":
    main()
