#pragma once
// The GEMM driver: BLIS's five loops around a register-blocked micro-kernel, the threaded
// split of C into per-thread blocks, and the K == 0 case. Templated over a per-ISA config
// Cfg { T, MR, NR, MC, KC, NC, ukr }. Per-ISA include only (namespace fm::FM_ISA_NS).
#include <cstdlib>
#include <new>

#include "common/parallel.hpp"
#include "common/types.hpp"
#include "gemm/epilogue.hpp"
#include "gemm/pack.hpp"
#include "gemm/ukernel.hpp"

namespace fm {
namespace FM_ISA_NS {

inline index_t imin(index_t a, index_t b) { return a < b ? a : b; }
inline index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }
inline index_t round_up(index_t a, index_t b) { return ceil_div(a, b) * b; }

// Pack buffers, cached per calling thread so repeated calls (training steps) never touch the
// allocator. Grown on the calling thread only (outside any parallel region: may throw).
template <class T>
struct Workspace {
  T* p = nullptr;
  index_t n = 0;
  Workspace() = default;
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  ~Workspace() { std::free(p); }
  T* get(index_t need) {
    if (need > n) {
      std::free(p);
      p = nullptr;
      n = 0;
      std::size_t bytes = (static_cast<std::size_t>(need) * sizeof(T) + 63) / 64 * 64;
      p = static_cast<T*>(std::aligned_alloc(64, bytes));
      if (!p) throw std::bad_alloc();
      n = need;
    }
    return p;
  }
};

// Tag 0: pack buffers; tag 1: the transposed product of the narrow-N path (float), the op(B)
// copy the threads of a bf16 product share (uint32, driver_bf16.hpp).
template <class T, int Tag = 0>
inline Workspace<T>& workspace() {
  static thread_local Workspace<T> ws;
  return ws;
}

// The valid mr x nr part of an edge tile computed into a stack tile (ld NR) goes into C,
// added when accumulating. Shared by every tiled driver.
template <class T>
inline void merge_edge_tile(T* c, index_t ldc, const T* edge, index_t ldedge, index_t mr,
                            index_t nr, bool accumulate) {
  for (index_t i = 0; i < mr; ++i) {
    T* __restrict ci = c + i * ldc;
    const T* __restrict ei = edge + i * ldedge;
    if (accumulate)
      for (index_t j = 0; j < nr; ++j) ci[j] += ei[j];
    else
      for (index_t j = 0; j < nr; ++j) ci[j] = ei[j];
  }
}

// Pack-buffer elements one thread needs for a sub-problem of m x n (A block + B panel).
template <class Cfg>
inline index_t pack_elems(index_t m, index_t n, index_t K) {
  const index_t kc = imin(K, Cfg::KC);
  const index_t a = round_up(imin(m, Cfg::MC), Cfg::MR) * kc;
  const index_t b = round_up(imin(n, Cfg::NC), Cfg::NR) * kc;
  return round_up(a, 16) + round_up(b, 16);
}

// True when op(B) is read in place by the micro-kernel instead of being packed: B not
// transposed (rows of NR contiguous values) and too few rows of C to amortize a packing pass.
// Also for any M when B's rows are short (<= 1 KiB apart): then the KC rows of a micro-panel
// spread over enough L1 sets and pages; with long rows (4 KiB+ strides) they collide and the
// packed copy wins (measured 93 vs 59 GFLOP/s at 1024^3).
template <class Cfg>
inline bool b_in_place(const GemmArgs<typename Cfg::T>& g) {
  using T = typename Cfg::T;
  return !g.trans_b &&
         (g.M <= Cfg::B_IN_PLACE_MAX_M || g.ldb * static_cast<index_t>(sizeof(T)) <= 1024);
}

// C[m0:m1, n0:n1] of the problem g, single-threaded. `buf` holds pack_elems(m, n, K).
template <class Cfg>
void gemm_block(const GemmArgs<typename Cfg::T>& g, index_t m0, index_t m1, index_t n0, index_t n1,
                typename Cfg::T* buf) {
  using T = typename Cfg::T;
  constexpr int MR = Cfg::MR, NR = Cfg::NR;
  const index_t K = g.K;
  T* const apack = buf;
  T* const bpack = buf + round_up(round_up(imin(m1 - m0, Cfg::MC), MR) * imin(K, Cfg::KC), 16);
  const Epilogue<T>& ep = *g.ep;
  const bool do_ep = !epilogue_is_identity(ep.act, ep.bias != nullptr, ep.z_out != nullptr);
  const bool in_place = b_in_place<Cfg>(g);
  // With a single ic block, each B micro-panel is used by one sweep of ir only: pack it just
  // before that sweep (stays in L1/L2) instead of packing the whole KC x NC panel up front.
  const bool lazy_b = !in_place && m1 - m0 <= Cfg::MC;
  alignas(64) T edge[MR * NR];

  // jc: NC-wide panel of C and op(B) (B panel lives in L3).
  for (index_t jc = n0; jc < n1; jc += Cfg::NC) {
    const index_t nc = imin(Cfg::NC, n1 - jc);
    // pc: KC-deep slab of the product; pack op(B)[pc:pc+kc, jc:jc+nc] once, reuse for all ic.
    for (index_t pc = 0; pc < K; pc += Cfg::KC) {
      const index_t kc = imin(Cfg::KC, K - pc);
      const bool accumulate = pc > 0 || g.beta != T(0);
      const bool last_k = pc + kc == K;
      if (!in_place && !lazy_b) {
        pack_b<NR>(g.trans_b, g.B, g.ldb, pc, jc, kc, nc, bpack);
      } else if (in_place && nc % NR != 0) {
        // In place, but the last partial panel is packed (zero padded): the kernel may read
        // whole vectors past the end of B's rows.
        const index_t full = nc / NR * NR;
        pack_b<NR>(false, g.B, g.ldb, pc, jc + full, kc, nc - full, bpack + full * kc);
      }
      // ic: MC-tall block of op(A), packed into L2-sized micro-panels.
      for (index_t ic = m0; ic < m1; ic += Cfg::MC) {
        const index_t mc = imin(Cfg::MC, m1 - ic);
        pack_a<MR>(g.trans_a, g.A, g.lda, ic, pc, mc, kc, apack);
        // jr: NR-wide micro-panel of B (stays in L1 across the ir loop).
        for (index_t jr = 0; jr < nc; jr += NR) {
          const index_t nr = imin(NR, nc - jr);
          const bool packed = !in_place || nr < NR;
          if (lazy_b) pack_b<NR>(g.trans_b, g.B, g.ldb, pc, jc + jr, kc, nr, bpack + jr * kc);
          const T* bp = packed ? bpack + jr * kc : g.B + pc * g.ldb + (jc + jr);
          const index_t ldbp = packed ? NR : g.ldb;
          // ir: MR x NR micro-tile, accumulated in registers over kc.
          for (index_t ir = 0; ir < mc; ir += MR) {
            const index_t mr = imin(MR, mc - ir);
            const T* ap = apack + ir * kc;
            T* c = g.C + (ic + ir) * g.ldc + (jc + jr);
            if (mr == MR && nr == NR) {
              Cfg::ukr(kc, ap, bp, ldbp, c, g.ldc, accumulate);
            } else {
              // Edge tile: a kernel sized to the tile (same arithmetic) into a stack tile,
              // then merge the valid part.
              Cfg::edge(static_cast<int>(mr), static_cast<int>(nr))(kc, ap, bp, ldbp, edge, NR,
                                                                    false);
              merge_edge_tile(c, g.ldc, edge, NR, mr, nr, accumulate);
            }
            if (last_k && do_ep) epilogue_tile(ep, c, g.ldc, ic + ir, jc + jr, mr, nr);
          }
        }
      }
    }
  }
}

// M == 1 with B not transposed (predict one sample): a row of A times B, streaming whole
// rows of B (ROW_NV vectors wide) with no packing of B. Same K blocking and per-element FMA
// order as the tiled path, so a one-row product equals that row of a batched one bitwise.
template <class Cfg>
void gemm_row(const GemmArgs<typename Cfg::T>& g) {
  using T = typename Cfg::T;
  constexpr int W = Cfg::W;
  const index_t K = g.K, N = g.N;
  T* buf = workspace<T>().get(round_up(K, 16) + Cfg::KC * W);
  const T* a = g.A;
  T* tail = buf;
  if (g.trans_a) {  // op(A) row is a column of A: gather it once
    for (index_t p = 0; p < K; ++p) buf[p] = g.A[p * g.lda];
    a = buf;
    tail = buf + round_up(K, 16);
  }
  const index_t n_vec = N / W * W;
  alignas(64) T edge[W];
  for (index_t pc = 0; pc < K; pc += Cfg::KC) {
    const index_t kc = imin(Cfg::KC, K - pc);
    const bool accumulate = pc > 0 || g.beta != T(0);
    const T* b = g.B + pc * g.ldb;
    for (index_t j0 = 0; j0 < n_vec; j0 += Cfg::ROW_NV * W) {
      const int nv = static_cast<int>(imin(Cfg::ROW_NV, (n_vec - j0) / W));
      Cfg::row(nv)(kc, a + pc, b + j0, g.ldb, g.C + j0, 0, accumulate);
    }
    if (n_vec < N) {  // last partial vector through a zero-padded copy
      const index_t r = N - n_vec;
      for (index_t p = 0; p < kc; ++p)
        for (index_t j = 0; j < W; ++j) tail[p * W + j] = j < r ? b[p * g.ldb + n_vec + j] : T(0);
      Cfg::row(1)(kc, a + pc, tail, W, edge, 0, false);
      for (index_t j = 0; j < r; ++j)
        g.C[n_vec + j] = accumulate ? g.C[n_vec + j] + edge[j] : edge[j];
    }
  }
  const Epilogue<T>& ep = *g.ep;
  if (!epilogue_is_identity(ep.act, ep.bias != nullptr, ep.z_out != nullptr))
    for (index_t j0 = 0; j0 < N; j0 += Cfg::NR)  // the tiled path's segments
      epilogue_tile(ep, g.C + j0, g.ldc, 0, j0, 1, imin(Cfg::NR, N - j0));
}

// 2 <= M <= SUP_MAX_M with B not transposed (predict on a few rows; BLIS's "sup" path):
// nothing is packed. op(B) is streamed in place, SUP_NV vectors of a row at a time (the tiled
// path's NR-wide panels walk each B row NR/W times), and op(A)'s rows, up to SUP_MR at a time,
// are read in place by a strided kernel. Same K slabs, per-element FMA order and epilogue
// segments as the tiled path, so every row equals that row of a batched product bitwise.
template <class Cfg>
void gemm_sup(const GemmArgs<typename Cfg::T>& g) {
  using T = typename Cfg::T;
  constexpr int W = Cfg::W, R = Cfg::SUP_MR, NV = Cfg::SUP_NV;
  const index_t M = g.M, N = g.N, K = g.K;
  // op(A)(i, p) = A[i * rs + p * ps]
  const index_t rs = g.trans_a ? 1 : g.lda, ps = g.trans_a ? g.lda : 1;
  T* const tail = workspace<T>().get(imin(K, Cfg::KC) * W);  // (kc, W)
  const index_t n_vec = N / W * W;
  alignas(64) T edge[R * W];
  for (index_t r0 = 0; r0 < M; r0 += R) {
    const int mr = static_cast<int>(imin(R, M - r0));
    T* const c = g.C + r0 * g.ldc;
    for (index_t pc = 0; pc < K; pc += Cfg::KC) {
      const index_t kc = imin(Cfg::KC, K - pc);
      const bool accumulate = pc > 0 || g.beta != T(0);
      const T* a = g.A + r0 * rs + pc * ps;
      const T* b = g.B + pc * g.ldb;
      for (index_t j0 = 0; j0 < n_vec; j0 += NV * W) {
        const int nv = static_cast<int>(imin(NV, (n_vec - j0) / W));
        Cfg::sup(mr, nv)(kc, a, rs, ps, b + j0, g.ldb, c + j0, g.ldc, accumulate);
      }
      if (n_vec < N) {  // last partial vector through a zero-padded copy
        const index_t rem = N - n_vec;
        for (index_t p = 0; p < kc; ++p)
          for (index_t j = 0; j < W; ++j)
            tail[p * W + j] = j < rem ? b[p * g.ldb + n_vec + j] : T(0);
        Cfg::sup(mr, 1)(kc, a, rs, ps, tail, W, edge, W, false);
        for (int r = 0; r < mr; ++r) {
          T* cr = c + r * g.ldc + n_vec;
          for (index_t j = 0; j < rem; ++j)
            cr[j] = accumulate ? cr[j] + edge[r * W + j] : edge[r * W + j];
        }
      }
    }
  }
  const Epilogue<T>& ep = *g.ep;
  if (!epilogue_is_identity(ep.act, ep.bias != nullptr, ep.z_out != nullptr))
    for (index_t i = 0; i < M; ++i)
      for (index_t j0 = 0; j0 < N; j0 += Cfg::NR)  // the tiled path's segments
        epilogue_tile(ep, g.C + i * g.ldc + j0, g.ldc, i, j0, 1, imin(Cfg::NR, N - j0));
}

// K == 0: C = act(beta * C + bias); C is not read when beta == 0.
template <class T>
void gemm_k0(const GemmArgs<T>& g) {
  for (index_t i = 0; i < g.M; ++i) {
    T* c = g.C + i * g.ldc;
    if (g.beta == T(0))
      for (index_t j = 0; j < g.N; ++j) c[j] = T(0);
    epilogue_tile(*g.ep, c, g.ldc, i, 0, 1, g.N);
  }
}

template <class Cfg>
void gemm_run(const GemmArgs<typename Cfg::T>& g, int threads);

// Narrow C (N a fraction of NR, e.g. 10 classes): the micro-kernel would run mostly padding.
// Compute the transposed product C^T (N x M) = op(B)^T op(A)^T instead, where the long side
// fills the vectors, then transpose it into C and apply the epilogue. Thread-independent
// like every other path (the split is over C^T tiles).
template <class Cfg>
void gemm_narrow(const GemmArgs<typename Cfg::T>& g, int threads) {
  using T = typename Cfg::T;
  const index_t M = g.M, N = g.N;
  T* ct = workspace<T, 1>().get(M * N);  // (N, M)
  if (g.beta != T(0))
    for (index_t i = 0; i < M; ++i)
      for (index_t j = 0; j < N; ++j) ct[j * M + i] = g.C[i * g.ldc + j];
  const Epilogue<T> none{};
  const GemmArgs<T> gt{!g.trans_b, !g.trans_a, N,      M,  g.K, g.B,  g.ldb,
                       g.A,        g.lda,      g.beta, ct, M,   &none};
  gemm_run<Cfg>(gt, threads);
  for (index_t i = 0; i < M; ++i)
    for (index_t j = 0; j < N; ++j) g.C[i * g.ldc + j] = ct[j * M + i];
  const Epilogue<T>& ep = *g.ep;
  if (!epilogue_is_identity(ep.act, ep.bias != nullptr, ep.z_out != nullptr))
    epilogue_tile(ep, g.C, g.ldc, 0, 0, M, N);
}

// Threads that pay off for this shape (never more than cap). Depends on the shape only
// through sizes, and results never depend on it.
template <class Cfg>
int gemm_threads_for(index_t M, index_t N, index_t K, int cap) {
  if (cap <= 1) return 1;
  const double flops = 2.0 * double(M) * double(N) * double(K);
  // Below ~2 MFLOP fork/join and duplicate packing cost more than they save. The products of
  // a 10-wide output layer at batch 1024 (2.6 MFLOP) gain from two threads: each then reads
  // the half of the batch its own core wrote in the product before (serial, the output
  // layer's three products took 4% of a float32 and 6% of a bf16 training step).
  if (flops < 2.0e6) return 1;
  const index_t tiles = ceil_div(M, Cfg::MR) * ceil_div(N, Cfg::NR);
  int nt = cap;
  if (tiles < nt) nt = static_cast<int>(tiles);
  const int by_work = static_cast<int>(flops / 1.0e6);  // at least ~1 MFLOP per thread
  if (by_work < nt) nt = by_work < 1 ? 1 : by_work;
  return nt;
}

// Chunks of C: one a thread, or two where each stays at least kGemmChunkExtent rows or columns
// wide. A second chunk a thread lets a thread that runs on a shared core leave work to the
// others, but every chunk packs the shared operand again: with 64-wide chunks (N = 256) that
// cost more than it saved (batch-64 training 15% slower on a quiet machine).
inline constexpr index_t kGemmChunkExtent = 256;

// Whole problem: split C into chunks along N (when op(A) is the smaller operand, so each
// chunk packs the shared A and its own part of B) or along M, on micro-tile boundaries, run by
// the pool (a late thread's chunks go to the others). Every C element is computed by the same
// kernel and K order whatever the split.
template <class Cfg>
void gemm_run(const GemmArgs<typename Cfg::T>& g, int threads) {
  using T = typename Cfg::T;
  if (g.M == 0 || g.N == 0) return;
  if (g.K == 0) {
    gemm_k0(g);
    return;
  }
  if constexpr (Cfg::ROW_NV > 0) {
    if (g.M == 1 && !g.trans_b) {
      gemm_row<Cfg>(g);
      return;
    }
    if (g.M <= Cfg::SUP_MAX_M && !g.trans_b && threads <= 1) {
      gemm_sup<Cfg>(g);
      return;
    }
    if (g.N * 4 <= Cfg::NR && g.M * 2 >= Cfg::NR) {
      gemm_narrow<Cfg>(g, threads);
      return;
    }
  }
  int nt = usable_threads(threads);
  const index_t mt = ceil_div(g.M, Cfg::MR), ntl = ceil_div(g.N, Cfg::NR);
  const bool split_n = ntl >= mt || (g.M <= g.N && ntl >= nt);
  const index_t parts = split_n ? ntl : mt;
  if (parts < nt) nt = static_cast<int>(parts);
  // Sized for the whole problem (capped by MC/NC), so any split fits; pages never used are
  // never touched.
  const index_t per_thread = pack_elems<Cfg>(g.M, g.N, g.K);
  T* buf = workspace<T>().get(per_thread * nt);
  if (nt == 1) {
    gemm_block<Cfg>(g, 0, g.M, 0, g.N, buf);
    return;
  }
  const index_t extent = split_n ? g.N : g.M;
  const index_t chunks = imin(parts, extent / kGemmChunkExtent >= 2 * nt ? 2 * nt : nt);
  struct Job {
    const GemmArgs<T>* g;
    T* buf;
    index_t per_thread, parts, chunks;
    bool split_n;
  } job{&g, buf, per_thread, parts, chunks, split_n};
  const ChunkFn run_chunk = [](void* p, index_t i, int slot) {
    const Job& j = *static_cast<const Job*>(p);
    const index_t b = j.parts * i / j.chunks, e = j.parts * (i + 1) / j.chunks;
    T* my = j.buf + j.per_thread * slot;  // the executing thread's pack buffers
    if (j.split_n)
      gemm_block<Cfg>(*j.g, 0, j.g->M, b * Cfg::NR, imin(e * Cfg::NR, j.g->N), my);
    else
      gemm_block<Cfg>(*j.g, b * Cfg::MR, imin(e * Cfg::MR, j.g->M), 0, j.g->N, my);
  };
  run_chunks(chunks, nt, run_chunk, &job);
}

}  // namespace FM_ISA_NS
}  // namespace fm
