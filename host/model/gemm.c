/* gemm.c - OpenBLAS wrapper and its naive reference. */
#include "model/gemm.h"

#include <cblas.h>

void mtx_gemm(int transa, int transb, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb,
              float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    cblas_sgemm(CblasRowMajor, transa ? CblasTrans : CblasNoTrans,
                transb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb,
                beta, C, ldc);
}

void mtx_gemm_ref(int transa, int transb, int M, int N, int K, float alpha,
                  const float *A, int lda, const float *B, int ldb,
                  float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double acc = 0.0;
            for (int p = 0; p < K; p++) {
                float a = transa ? A[(int64_t)p * lda + i] : A[(int64_t)i * lda + p];
                float b = transb ? B[(int64_t)j * ldb + p] : B[(int64_t)p * ldb + j];
                acc += (double)a * b;
            }
            float *c = &C[(int64_t)i * ldc + j];
            *c = (float)(alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * *c));
        }
    }
}

void mtx_linear(float *y, const float *x, const float *W, int N, int in, int out, int accumulate) {
    mtx_gemm(0, 1, N, out, in, 1.0f, x, in, W, in, accumulate ? 1.0f : 0.0f, y, out);
}

void mtx_linear_backward(float *dx, float *dW, const float *dy, const float *x, const float *W,
                         int N, int in, int out) {
    if (dx) mtx_gemm(0, 0, N, in, out, 1.0f, dy, out, W, in, 1.0f, dx, in);
    if (dW) mtx_gemm(1, 0, out, in, N, 1.0f, dy, out, x, in, 1.0f, dW, in);
}

void mtx_set_threads(int n) {
    if (n < 1) n = 1;
    openblas_set_num_threads(n);
}
