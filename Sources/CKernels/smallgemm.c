// Register-blocked products for small matrices (attention's per-head products), AVX-512 only.
//
// C (M x N) = alpha * op(A) * op(B) + beta * C, row-major, beta 0 or 1.
//
// OpenBLAS packs both operands into panels on every call; for attention's products (T x T x D
// with T = 16..197 and D = 32..64, thousands of them per step) that packing and the call overhead
// cost as much as the multiply-adds. Here op(B) is read in place when it is row-major (K x N) and
// transposed once into a per-thread scratch otherwise; A is read in place either way, one
// broadcast per (row, k). Each microkernel call keeps an MR x (16 NV) tile of C in up to 24 zmm
// registers (MR <= 6 for NV = 4, MR <= 8 for NV <= 3) for the whole inner loop; the last
// 16-column vector of a tile is masked, so any N works without padding. When op(B) = B^T and N is
// one or two past a multiple of 16 (Swin's 49 keys), those last columns are dot products of rows
// instead, so no tile carries a vector that is almost all mask. An addend D (the attention bias)
// is read in the tiles' epilogue rather than copied into C first. For attention512.c the tiles
// can also scale each row of C by its own factor (the softmax's 1 / sum) and issue a step of a
// prefetch cursor (dispatch.h) each.
//
// Without AVX-512 (see adv_has_avx512) adv_sgemm_small returns 0 and the caller uses OpenBLAS.
#include "adv_kernels.h"
#include "dispatch.h"
#include <stdlib.h>

#if ADV_HAVE_AVX512_SOURCE
#include <immintrin.h>

#define ADV_AVX512 __attribute__((target("avx512f")))
#define ADV_INLINE static inline __attribute__((always_inline))

// One tile: C[r][16 v + lane] for r < MR, v < NV (lanes of the last vector under `last`).
// A(r, k) = a[r * ars + k * aks]; B row k starts at b + k * ldb.
ADV_INLINE ADV_AVX512 void tile(const int MR, const int NV, long K, float alpha,
                                const float *a, long ars, long aks, const float *b, long ldb,
                                float *c, long ldc, __mmask16 last, const float *d, long ldd,
                                const float *rs, adv_prefetch_cursor *pf) {
    __m512 acc[8][4];
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();
    for (long k = 0; k < K; k++) {
        const float *brow = b + k * ldb;
        __m512 bv[4];
        for (int v = 0; v < NV; v++)
            bv[v] = v == NV - 1 ? _mm512_maskz_loadu_ps(last, brow + 16 * v) : _mm512_loadu_ps(brow + 16 * v);
        const float *ak = a + k * aks;
        for (int r = 0; r < MR; r++) {
            __m512 av = _mm512_set1_ps(ak[r * ars]);
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
        }
    }
    if (pf) adv_prefetch_step(pf);
    __m512 al = _mm512_set1_ps(alpha);
    for (int r = 0; r < MR; r++) {
        float *crow = c + r * ldc;
        if (rs) al = _mm512_set1_ps(alpha * rs[r]);
        for (int v = 0; v < NV; v++) {
            __mmask16 m = v == NV - 1 ? last : (__mmask16)0xFFFF;
            __m512 x = _mm512_mul_ps(acc[r][v], al);
            if (d) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, d + r * ldd + 16 * v));
            _mm512_mask_storeu_ps(crow + 16 * v, m, x);
        }
    }
}

// Every (MR, NV) pair as its own fully unrolled function.
#define TILE_CASE(MR, NV) case (MR) * 8 + (NV): tile(MR, NV, K, alpha, a, ars, aks, b, ldb, c, ldc, last, dd, ldd, rs ? rs + i0 : NULL, pf); break;
#define TILE_ROW(MR) TILE_CASE(MR, 1) TILE_CASE(MR, 2) TILE_CASE(MR, 3) TILE_CASE(MR, 4)
#define TILE_ROW3(MR) TILE_CASE(MR, 1) TILE_CASE(MR, 2) TILE_CASE(MR, 3)

/// Row tiles for a strip of nv vectors: at most MR * NV accumulators + NV rows of B + 1
/// broadcast in 32 registers (8 rows up to 3 vectors, 6 for 4), and the rows spread evenly over
/// the fewest tiles, whose heights differ by at most one (49 rows: 7 tiles of 7, not 6 of 8 and
/// a 1-row tile that runs at the latency of its few accumulators). M >= 1.
static long row_tiles(long M, int nv) {
    long mrmax = nv <= 3 ? 8 : 6;
    return (M + mrmax - 1) / mrmax;
}

static ADV_AVX512 void run_tiles(long M, long N, long K, float alpha, const float *A, long ars, long aks,
                                 const float *B, long ldb, const float *D, long ldd, float *C, long ldc,
                                 const float *rs, adv_prefetch_cursor *pf) {
    for (long j0 = 0; j0 < N; j0 += 64) {
        long cols = N - j0 < 64 ? N - j0 : 64;
        int nv = (int)((cols + 15) / 16);
        int rem = (int)(cols % 16);
        __mmask16 last = rem == 0 ? (__mmask16)0xFFFF : (__mmask16)((1u << rem) - 1);
        const float *b = B + j0;
        // The first M % tiles tiles get one row more than the others.
        long tiles = row_tiles(M, nv), base = M / tiles, extra = M % tiles;
        long i0 = 0;
        for (long t = 0; t < tiles; t++) {
            int mr = (int)(base + (t < extra ? 1 : 0));
            const float *a = A + i0 * ars;
            float *c = C + i0 * ldc + j0;
            const float *dd = D ? D + i0 * ldd + j0 : NULL;
            switch (mr * 8 + nv) {
                TILE_ROW(1) TILE_ROW(2) TILE_ROW(3) TILE_ROW(4) TILE_ROW(5) TILE_ROW(6) TILE_ROW3(7) TILE_ROW3(8)
                default: break;
            }
            i0 += mr;
        }
    }
}

/// dst[j * ldd + i] = src[i * lds + j] for i < rows, j < cols (both at most 16): a 16 x 16 block
/// transposed in registers (unpack pairs of rows, then 2 x 2 blocks, then 128-bit lanes), with
/// masked loads and stores for partial blocks. 64 shuffles for 256 floats, where a scalar loop
/// moves one float per cycle at best. Moves bits only, so it transposes any 32-bit words (the bf16
/// kernel's packed pairs too).
ADV_AVX512 void adv_transpose16(const float *src, long lds, int rows, int cols, float *dst, long ldd) {
    __mmask16 cm = cols == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
    __mmask16 rm = rows == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << rows) - 1);
    __m512 r[16], t[16], u[16], o[16];
    for (int i = 0; i < 16; i++) r[i] = i < rows ? _mm512_maskz_loadu_ps(cm, src + i * lds) : _mm512_setzero_ps();
    // t[2p], t[2p+1]: rows 2p and 2p+1 interleaved (per 128-bit lane: columns 4L, 4L+1 / 4L+2, 4L+3).
    for (int p = 0; p < 8; p++) {
        t[2 * p] = _mm512_unpacklo_ps(r[2 * p], r[2 * p + 1]);
        t[2 * p + 1] = _mm512_unpackhi_ps(r[2 * p], r[2 * p + 1]);
    }
    // u[4g + c], lane L: rows 4g..4g+3 of column 4L + c.
    for (int g = 0; g < 4; g++) {
        u[4 * g + 0] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
        u[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
        u[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
        u[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
    }
    // o[4L + c] = lane L of u[c], u[4 + c], u[8 + c], u[12 + c]: column 4L + c, all 16 rows.
    for (int c = 0; c < 4; c++) {
        __m512 x = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x44), y = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x44);
        __m512 x2 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xEE), y2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xEE);
        o[c] = _mm512_shuffle_f32x4(x, y, 0x88);
        o[4 + c] = _mm512_shuffle_f32x4(x, y, 0xDD);
        o[8 + c] = _mm512_shuffle_f32x4(x2, y2, 0x88);
        o[12 + c] = _mm512_shuffle_f32x4(x2, y2, 0xDD);
    }
    for (int j = 0; j < cols; j++) _mm512_mask_storeu_ps(dst + j * ldd, rm, o[j]);
}

/// C[i][j] = alpha * (row i of A) . (row j of B) (+ D[i][j] when D is not NULL) for i < M and
/// j0 <= j < j1: A (M x K) and B (N x K) row-major.
static ADV_AVX512 void dot_columns(long M, long j0, long j1, long K, float alpha, const float *A, long lda,
                                   const float *B, long ldb, const float *D, long ldd, float *C, long ldc,
                                   const float *rs) {
    long full = K / 16 * 16;
    __mmask16 tm = (__mmask16)((1u << (K % 16)) - 1);
    for (long j = j0; j < j1; j++) {
        const float *brow = B + j * ldb;
        for (long i = 0; i < M; i++) {
            const float *arow = A + i * lda;
            __m512 acc = _mm512_setzero_ps();
            for (long k = 0; k < full; k += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(arow + k), _mm512_loadu_ps(brow + k), acc);
            if (tm) acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tm, arow + full), _mm512_maskz_loadu_ps(tm, brow + full), acc);
            float v = (rs ? alpha * rs[i] : alpha) * _mm512_reduce_add_ps(acc);
            C[i * ldc + j] = D ? D[i * ldd + j] + v : v;
        }
    }
}

/// Whether the last N % 16 columns go to dot_columns (see adv_sgemm_small_pf).
static int splits_dot_columns(int transA, int transB, long N) {
    return transB && !transA && N > 16 && N % 16 <= 2 && N % 16 != 0;
}

long adv_sgemm_small_tiles(int transB, long M, long N) {
    if (M <= 0 || N <= 0) return 0;
    if (splits_dot_columns(0, transB, N)) N = N / 16 * 16;
    long tiles = 0;
    for (long j0 = 0; j0 < N; j0 += 64) {
        long cols = N - j0 < 64 ? N - j0 : 64;
        tiles += row_tiles(M, (int)((cols + 15) / 16));
    }
    return tiles;
}

int adv_sgemm_small_add(int transA, int transB, long M, long N, long K, float alpha, const float *A, long lda,
                        const float *B, long ldb, const float *D, long ldd, float *C, long ldc) {
    return adv_sgemm_small_pf(transA, transB, M, N, K, alpha, A, lda, B, ldb, D, ldd, C, ldc, NULL, NULL);
}

int adv_sgemm_small_pf(int transA, int transB, long M, long N, long K, float alpha, const float *A, long lda,
                       const float *B, long ldb, const float *D, long ldd, float *C, long ldc,
                       const float *row_scale, adv_prefetch_cursor *pf) {
    if (M <= 0 || N <= 0 || K <= 0) return 0;
    if (!adv_has_avx512()) return 0;
    if (splits_dot_columns(transA, transB, N)) {
        // N = 16 n + 1 or 2 (Swin's 49 keys): the last vector of every tile would do 1 or 2 lanes'
        // work for a full vector's cost. The first 16 n columns go through the tiles, the last ones
        // are dot products of A's and B's rows (both contiguous along K here).
        long main = N / 16 * 16;
        if (!adv_sgemm_small_pf(transA, transB, M, main, K, alpha, A, lda, B, ldb, D, ldd, C, ldc, row_scale, pf)) return 0;
        dot_columns(M, main, N, K, alpha, A, lda, B, ldb, D, ldd, C, ldc, row_scale);
        return 1;
    }
    const float *b = B;
    long ldbb = ldb;
    if (transB) {
        // op(B) = B^T with B (N x K): copy it to a (K x N) row-major scratch.
        // Per-thread scratch (cpu.c), at most K x N floats of the largest product a thread has run.
        float *t = (float *)adv_thread_scratch(ADV_SCRATCH_SMALLGEMM, (size_t)(K * N) * sizeof(float));
        if (!t) return 0;
        for (long j0 = 0; j0 < N; j0 += 16)
            for (long k0 = 0; k0 < K; k0 += 16)
                adv_transpose16(B + j0 * ldb + k0, ldb, (int)(N - j0 < 16 ? N - j0 : 16), (int)(K - k0 < 16 ? K - k0 : 16),
                            t + k0 * N + j0, N);
        b = t;
        ldbb = N;
    }
    // op(A)(i, k) = A[i * lda + k], or A[k * lda + i] when transposed.
    long ars = transA ? 1 : lda, aks = transA ? lda : 1;
    run_tiles(M, N, K, alpha, A, ars, aks, b, ldbb, D, ldd, C, ldc, row_scale, pf);
    return 1;
}

int adv_sgemm_small(int transA, int transB, long M, long N, long K, float alpha,
                    const float *A, long lda, const float *B, long ldb, float beta, float *C, long ldc) {
    if (beta != 0.0f && beta != 1.0f) return 0;
    return adv_sgemm_small_add(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta != 0.0f ? C : NULL, ldc, C, ldc);
}

#else
int adv_sgemm_small_add(int transA, int transB, long M, long N, long K, float alpha, const float *A, long lda,
                        const float *B, long ldb, const float *D, long ldd, float *C, long ldc) {
    (void)transA; (void)transB; (void)M; (void)N; (void)K; (void)alpha; (void)A; (void)lda;
    (void)B; (void)ldb; (void)D; (void)ldd; (void)C; (void)ldc;
    return 0;
}
int adv_sgemm_small(int transA, int transB, long M, long N, long K, float alpha,
                    const float *A, long lda, const float *B, long ldb, float beta, float *C, long ldc) {
    (void)transA; (void)transB; (void)M; (void)N; (void)K; (void)alpha; (void)A; (void)lda;
    (void)B; (void)ldb; (void)beta; (void)C; (void)ldc;
    return 0;
}
#endif
