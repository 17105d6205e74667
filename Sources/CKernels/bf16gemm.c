// Matrix products in bf16 on the CPU's AVX512-BF16 instructions (vdpbf16ps), fp32 accumulation.
//
// C (M x N) = alpha * op(A) op(B) + beta * C, row-major, single-threaded (BLAS.gemm splits big
// products over the threads). The operands are converted to bf16 (round to nearest even) while
// they are packed: the engine's ops leave the rounding to this (BLAS.productRounding), and values
// that are already bf16 pass through exactly. One vdpbf16ps does 16 lanes x 2 multiply-adds in the time an
// fp32 FMA does 16 x 1, so the products run at up to twice the fp32 peak.
//
// Packing: op(A) and op(B) become pairs of bf16 along K (a 32-bit word (x[2p], x[2p + 1]), a zero
// pad when K is odd): op(B) pair-major, Bpk[p][j], so a vector load gives 16 columns' pairs; op(A)
// in whichever order its source has (row by row, or pair-major when transposed), since the
// microkernel only broadcasts one word of A per row. A tile of MR = 6 rows x 64 columns stays
// in 24 zmm accumulators over a block of KC pairs (one instantiation per row count and vector
// count, so the accumulators never leave the registers). K is blocked so a block of packed B stays
// in L2, and A is packed in chunks of rows, used by every column block while in L2;
// packing pads M and N with zeros to whole 16-blocks, and only C's real cells are written.
// The packing buffers are per-thread scratch (cpu.c).
//
// Batched images (adv_sgemm_bf16_images): op(B)'s and C's columns may run across a batch of
// images, column j being pixel j % hw of image j / hw with the images `img` floats apart, so a
// 1x1 convolution over several images reads x and writes its output in (N, C, H, W) directly,
// without gathering the images side by side and scattering the product back (Conv.swift). A
// group of 16 columns then spans at most two images (hw >= 16): two masked loads or stores.
// Every column's value is the same as in the gathered product (each lane's sum runs over the
// same pairs in the same order).
//
// The instructions treat bf16 denormals (|x| < 1.2e-38) as zero, as bf16 hardware generally
// does; the portable path (rounded fp32 through sgemm) keeps them.
#include "adv_kernels.h"
#include "dispatch.h"

#if ADV_HAVE_BF16_SOURCE
#include <immintrin.h>

#define ADV_BF16 __attribute__((target("avx512f,avx512bw,avx512bf16")))
#define ADV_INLINE static inline __attribute__((always_inline))

enum { MR = 6, NR = 64, KCP = 192 /* pairs per K block: 384 of K */, MC = 96 /* fewest rows of A packed at a time */ };

/// 16 words (x0[l], x1[l]) as bf16 pairs: x0 in the low half, x1 in the high half.
ADV_INLINE ADV_BF16 __m512i pairs(__m512 x0, __m512 x1) {
    __m512i lo = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(x0));
    __m512i hi = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(x1));
    return _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
}

/// 16 words of bf16 pairs from the next `avail` floats of a line (zeros past them; at most 32 read).
ADV_INLINE ADV_BF16 __m512i line_pairs(const float *line, long avail) {
    if (avail <= 0) return _mm512_setzero_si512();
    __mmask32 m = avail >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << avail) - 1);
    __m512 a = _mm512_maskz_loadu_ps((__mmask16)m, line);
    __m512 b = _mm512_maskz_loadu_ps((__mmask16)(m >> 16), line + 16);
    // cvtne2ps_pbh(b, a): a's 16 values in the low half, b's in the high half: in order.
    return (__m512i)_mm512_cvtne2ps_pbh(b, a);
}

/// dst[p * ldd + c] = pair (src(2p, c), src(2p + 1, c)) for p < np, c < cols (<= 16) where
/// src(k, c) = s[k * lds + c] (the row pair is contiguous along c); rows past kmax and columns
/// past cols are zeros. Stores 16 words per p.
ADV_INLINE ADV_BF16 void pack_rows(const float *s, long lds, long k0, long kmax, long np, int cols, uint32_t *dst,
                                   long ldd) {
    __mmask16 cm = cols >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
    for (long p = 0; p < np; p++) {
        long k = k0 + 2 * p;
        __m512 x0 = k < kmax ? _mm512_maskz_loadu_ps(cm, s + k * lds) : _mm512_setzero_ps();
        __m512 x1 = k + 1 < kmax ? _mm512_maskz_loadu_ps(cm, s + (k + 1) * lds) : _mm512_setzero_ps();
        _mm512_storeu_si512(dst + p * ldd, pairs(x0, x1));
    }
}

/// Columns across images: column j (absolute) is element j % hw of image j / hw, images `img`
/// floats apart; hw == 0: plain columns (j itself). hw >= 16 otherwise.
typedef struct { long hw, img; } colmap;

/// For the 16 columns from absolute column j: the offsets of the first and (when the group runs
/// into the next image) second image's part, and the masks of their lanes within `m`; the second
/// offset is shifted back by the first part's lane count, so lane l of either is offset + l.
ADV_INLINE void col_split(colmap cm, long j, __mmask16 m, long *o1, __mmask16 *m1, long *o2, __mmask16 *m2) {
    if (cm.hw == 0) { *o1 = j; *m1 = m; *o2 = 0; *m2 = 0; return; }
    long img = j / cm.hw, off = j % cm.hw, n1 = cm.hw - off;
    *o1 = img * cm.img + off;
    if (n1 >= 16) { *m1 = m; *o2 = 0; *m2 = 0; return; }
    __mmask16 lo = (__mmask16)((1u << n1) - 1);
    *m1 = m & lo;
    *m2 = m & (__mmask16)~lo;
    *o2 = (img + 1) * cm.img - n1;
}

/// pack_rows over mapped columns: src(k, c) = s[k * lds + map(j0 + c)].
ADV_INLINE ADV_BF16 void pack_rows_map(const float *s, long lds, colmap cm, long j0, long k0, long kmax, long np,
                                       int cols, uint32_t *dst, long ldd) {
    __mmask16 cmk = cols >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
    long o1, o2;
    __mmask16 m1, m2;
    col_split(cm, j0, cmk, &o1, &m1, &o2, &m2);
    for (long p = 0; p < np; p++) {
        long k = k0 + 2 * p;
        __m512 x0 = _mm512_setzero_ps(), x1 = _mm512_setzero_ps();
        if (k < kmax) {
            x0 = _mm512_maskz_loadu_ps(m1, s + k * lds + o1);
            if (m2) x0 = _mm512_mask_loadu_ps(x0, m2, s + k * lds + o2);
        }
        if (k + 1 < kmax) {
            x1 = _mm512_maskz_loadu_ps(m1, s + (k + 1) * lds + o1);
            if (m2) x1 = _mm512_mask_loadu_ps(x1, m2, s + (k + 1) * lds + o2);
        }
        _mm512_storeu_si512(dst + p * ldd, pairs(x0, x1));
    }
}

/// The other orientation: src(k, c) = s[c * lds + k] (contiguous along k). Each of the (up to 16)
/// lines c gives np words (its pairs in order); each 16 x 16 block of words is then transposed in
/// registers (adv_transpose16) so that dst[p * ldd + c] holds them.
ADV_INLINE ADV_BF16 void pack_cols(const float *s, long lds, long k0, long kmax, long np, int cols, uint32_t *dst,
                                   long ldd) {
    uint32_t blk[16][16];
    for (long p0 = 0; p0 < np; p0 += 16) {
        int pn = np - p0 < 16 ? (int)(np - p0) : 16;
        for (int c = 0; c < 16; c++) {
            long k = k0 + 2 * p0;
            __m512i w = c < cols ? line_pairs(s + c * lds + k, kmax - k) : _mm512_setzero_si512();
            _mm512_storeu_si512(blk[c], w);
        }
        adv_transpose16((const float *)blk, 16, 16, pn, (float *)(dst + p0 * ldd), ldd);
    }
}

/// Row i of a row-major (lines x K) matrix as np pairs per line: dst[i * np + p] (zeros past
/// kmax, and for lines in [lines, total)).
ADV_INLINE ADV_BF16 void pack_lines(const float *s, long lds, long k0, long kmax, long np, long lines, long total,
                                    uint32_t *dst) {
    for (long i = 0; i < total; i++) {
        uint32_t *d = dst + i * np;
        for (long p0 = 0; p0 < np; p0 += 16) {
            long k = k0 + 2 * p0;
            __m512i w = line_pairs(s + i * lds + k, i < lines ? kmax - k : 0);
            long pn = np - p0 < 16 ? np - p0 : 16;
            _mm512_mask_storeu_epi32(d + p0, (__mmask16)((1u << pn) - 1), w);
        }
    }
}

/// `tile`'s epilogue for mapped columns: `tile` wrote alpha * acc for the R x (16 NV) block to
/// `sums` (rows NR apart, first = 1, beta = 0); here C = sums + (first ? beta C : C), the plain
/// epilogue's arithmetic, each 16-column group stored to one image or split over two. (Mapping
/// inside `tile` made the compiler keep some instantiations' accumulators on the stack.)
static __attribute__((noinline)) ADV_BF16 void store_mapped(const float *sums, int R, int NV, float beta, int first,
                                                            float *c, long ldc, __mmask16 last, colmap cm, long j0) {
    __m512 be = _mm512_set1_ps(beta);
    for (int v = 0; v < NV; v++) {
        __mmask16 m = v == NV - 1 ? last : (__mmask16)0xFFFF, m1, m2;
        long o1, o2;
        col_split(cm, j0 + 16 * v, m, &o1, &m1, &o2, &m2);
        for (int r = 0; r < R; r++) {
            float *crow = c + r * ldc;
            __m512 x = _mm512_loadu_ps(sums + r * NR + 16 * v);
            if (!first || beta != 0.0f) {
                __m512 old = _mm512_maskz_loadu_ps(m1, crow + o1);
                if (m2) old = _mm512_mask_loadu_ps(old, m2, crow + o2);
                x = !first ? _mm512_add_ps(x, old) : _mm512_fmadd_ps(old, be, x);
            }
            _mm512_mask_storeu_ps(crow + o1, m1, x);
            if (m2) _mm512_mask_storeu_ps(crow + o2, m2, x);
        }
    }
}

/// acc[r][v] over np pairs for an R x (16 NV) tile (the last vector's lanes under `last`); then
/// C = alpha acc + (first ? beta C : C). R and NV are constants in every instantiation, so the
/// accumulators stay in registers (a run-time row count made the compiler keep them on the stack).
/// Pair p of row r of A is a[r * ars + p * aks]; B's pairs are pair-major with row length ldb_p.
ADV_INLINE ADV_BF16 void tile(const int R, const int NV, const uint32_t *a, long ars, long aks, const uint32_t *b,
                              long ldb_p, long np, float alpha, float beta, int first, float *c, long ldc,
                              __mmask16 last) {
    __m512 acc[MR][4];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();
    for (long p = 0; p < np; p++) {
        __m512bh bv[4];
        for (int v = 0; v < NV; v++) bv[v] = (__m512bh)_mm512_loadu_si512(b + p * ldb_p + 16 * v);
        const uint32_t *ap = a + p * aks;
        for (int r = 0; r < R; r++) {
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)ap[r * ars]);
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], av, bv[v]);
        }
    }
    __m512 al = _mm512_set1_ps(alpha), be = _mm512_set1_ps(beta);
    for (int r = 0; r < R; r++) {
        float *crow = c + r * ldc;
        for (int v = 0; v < NV; v++) {
            __mmask16 m = v == NV - 1 ? last : (__mmask16)0xFFFF;
            __m512 x = _mm512_mul_ps(acc[r][v], al);
            if (!first) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, crow + 16 * v));
            else if (beta != 0.0f) x = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, crow + 16 * v), be, x);
            _mm512_mask_storeu_ps(crow + 16 * v, m, x);
        }
    }
}

#define BF_CASE(R, NV) case (R) * 8 + (NV): tile(R, NV, a, ars, aks, b, Np, np, alpha, tbeta, tfirst, tc, tldc, last); break;
#define BF_ROW(R) BF_CASE(R, 1) BF_CASE(R, 2) BF_CASE(R, 3) BF_CASE(R, 4)

/// Rows of A packed at a time for a block of np pairs: about 256 KB of packed words, so they stay
/// in L2 while every column block uses them (at least MC rows; a multiple of 48: whole tiles of 6
/// rows and packing blocks of 16). Interleaved with the tiles, packing all of A first sent it
/// through memory twice more: 16384 x 192 by 64 columns went from 150 to 188 GFLOP/s.
static long chunk_rows(long np) {
    long rows = (256 * 1024) / (4 * np) / 48 * 48;
    return rows < MC ? MC : rows;
}

/// cmb, cmc: the column maps of op(B) (not transposed) and C; col0: the absolute column of j = 0
/// (B and C then point at column 0 of the map); plain products pass hw 0 and col0 0.
static ADV_BF16 void gemm_bf16(int transA, int transB, long M, long N, long K, float alpha, const float *A, long lda,
                               const float *B, long ldb, float beta, float *C, long ldc, uint32_t *apk, uint32_t *bpk,
                               long mcmax, long Np, colmap cmb, colmap cmc, long col0) {
    float sums[MR * NR];
    for (long k0 = 0; k0 < K; k0 += 2 * KCP) {
        long np = (K - k0 + 1) / 2 < KCP ? (K - k0 + 1) / 2 : KCP;
        int first = k0 == 0;
        // op(B) (K x N): row k, column j is B[k * ldb + j], or B[j * ldb + k] when transposed.
        for (long j0 = 0; j0 < Np; j0 += 16) {
            int cols = N - j0 >= 16 ? 16 : (int)(N - j0);
            if (transB) pack_cols(B + j0 * ldb, ldb, k0, K, np, cols, bpk + j0, Np);
            else if (cmb.hw) pack_rows_map(B, ldb, cmb, j0 + col0, k0, K, np, cols, bpk + j0, Np);
            else pack_rows(B + j0, ldb, k0, K, np, cols, bpk + j0, Np);
        }
        // op(A) (M x K), mcmax rows at a time (the same for every K block: apk is sized for the
        // first, largest one), each chunk used by every column block while it is in cache. Row i, column k is A[i * lda + k] (packed row by row, pairs in order),
        // or A[k * lda + i] when transposed (packed pair-major).
        for (long m0 = 0; m0 < M; m0 += mcmax) {
            long mc = M - m0 < mcmax ? M - m0 : mcmax, mcp = (mc + 15) / 16 * 16;
            if (transA) {
                for (long i0 = 0; i0 < mcp; i0 += 16) {
                    int rows = mc - i0 >= 16 ? 16 : (mc - i0 > 0 ? (int)(mc - i0) : 0);
                    pack_rows(A + m0 + i0, lda, k0, K, np, rows, apk + i0, mcp);
                }
            } else {
                pack_lines(A + m0 * lda, lda, k0, K, np, mc, mcp, apk);
            }
            long ars = transA ? 1 : np, aks = transA ? mcp : 1;
            for (long j0 = 0; j0 < N; j0 += NR) {
                int cols = N - j0 < NR ? (int)(N - j0) : NR;
                int nv = (cols + 15) / 16, rem = cols % 16;
                __mmask16 last = rem == 0 ? (__mmask16)0xFFFF : (__mmask16)((1u << rem) - 1);
                for (long i0 = 0; i0 < mc; i0 += MR) {
                    int rows = mc - i0 < MR ? (int)(mc - i0) : MR;
                    const uint32_t *a = apk + i0 * ars, *b = bpk + j0;
                    float *c = C + (m0 + i0) * ldc + (cmc.hw ? 0 : j0);
                    // Mapped C: the tile goes to `sums` first (store_mapped).
                    float *tc = cmc.hw ? sums : c;
                    long tldc = cmc.hw ? NR : ldc;
                    float tbeta = cmc.hw ? 0.0f : beta;
                    int tfirst = cmc.hw ? 1 : first;
                    switch (rows * 8 + nv) {
                        BF_ROW(1) BF_ROW(2) BF_ROW(3) BF_ROW(4) BF_ROW(5) BF_ROW(6)
                        default: break;
                    }
                    if (cmc.hw) store_mapped(sums, rows, nv, beta, first, c, ldc, last, cmc, j0 + col0);
                }
            }
        }
    }
}

int adv_sgemm_bf16(int transA, int transB, long M, long N, long K, float alpha, const float *A, long lda,
                   const float *B, long ldb, float beta, float *C, long ldc) {
    if (M <= 0 || N <= 0 || K <= 0 || !adv_has_bf16()) return 0;
    // Padded sizes: whole 16-row / 16-column packing blocks (packing writes the padding as zeros;
    // the tiles read only real rows). A is packed MC rows at a time.
    long np = (K + 1) / 2 < KCP ? (K + 1) / 2 : KCP;
    long mcmax = chunk_rows(np);
    long Mp = M < mcmax ? (M + 15) / 16 * 16 : mcmax, Np = (N + 15) / 16 * 16;
    uint32_t *buf = (uint32_t *)adv_thread_scratch(ADV_SCRATCH_BF16, (size_t)(np * (Mp + Np)) * sizeof(uint32_t));
    if (!buf) return 0;
    colmap plain = {0, 0};
    gemm_bf16(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, buf, buf + np * Mp, mcmax, Np, plain, plain, 0);
    return 1;
}

int adv_sgemm_bf16_images(int transA, long M, long N, long K, float alpha, const float *A, long lda, const float *B,
                          long ldb, long bhw, long bimg, float beta, float *C, long ldc, long chw, long cimg, long col0) {
    if (M <= 0 || N <= 0 || K <= 0 || !adv_has_bf16()) return 0;
    if ((bhw != 0 && bhw < 16) || (chw != 0 && chw < 16)) return 0;
    long np = (K + 1) / 2 < KCP ? (K + 1) / 2 : KCP;
    long mcmax = chunk_rows(np);
    long Mp = M < mcmax ? (M + 15) / 16 * 16 : mcmax, Np = (N + 15) / 16 * 16;
    uint32_t *buf = (uint32_t *)adv_thread_scratch(ADV_SCRATCH_BF16, (size_t)(np * (Mp + Np)) * sizeof(uint32_t));
    if (!buf) return 0;
    colmap cmb = {bhw, bimg}, cmc = {chw, cimg};
    // Plain operands point at their first column; mapped ones at column 0 of the map.
    const float *b = bhw ? B : B + col0;
    float *c = chw ? C : C + col0;
    gemm_bf16(transA, 0, M, N, K, alpha, A, lda, b, ldb, beta, c, ldc, buf, buf + np * Mp, mcmax, Np, cmb, cmc, col0);
    return 1;
}

#else
int adv_sgemm_bf16(int transA, int transB, long M, long N, long K, float alpha, const float *A, long lda,
                   const float *B, long ldb, float beta, float *C, long ldc) {
    (void)transA; (void)transB; (void)M; (void)N; (void)K; (void)alpha; (void)A; (void)lda;
    (void)B; (void)ldb; (void)beta; (void)C; (void)ldc;
    return 0;
}
int adv_sgemm_bf16_images(int transA, long M, long N, long K, float alpha, const float *A, long lda, const float *B,
                          long ldb, long bhw, long bimg, float beta, float *C, long ldc, long chw, long cimg, long col0) {
    (void)transA; (void)M; (void)N; (void)K; (void)alpha; (void)A; (void)lda; (void)B; (void)ldb; (void)bhw;
    (void)bimg; (void)beta; (void)C; (void)ldc; (void)chw; (void)cimg; (void)col0;
    return 0;
}
#endif
