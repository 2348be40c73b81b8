/* gemm.h - the one matrix-multiply entry point of modtx.
 *
 * Every GEMM in training and decoding goes through mtx_gemm, a thin wrapper
 * over OpenBLAS cblas_sgemm on row-major operands; mtx_gemm_ref is a naive
 * triple loop used only as the test oracle. */
#ifndef MTX_GEMM_H
#define MTX_GEMM_H

#include <stdint.h>

/* C(M,N) = alpha * op(A)(M,K) * op(B)(K,N) + beta * C, all row-major.
 * transa/transb non-zero means the stored matrix is the transpose. */
void mtx_gemm(int transa, int transb, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb,
              float beta, float *C, int ldc);

void mtx_gemm_ref(int transa, int transb, int M, int N, int K, float alpha,
                  const float *A, int lda, const float *B, int ldb,
                  float beta, float *C, int ldc);

/* y(N,out) = x(N,in) * W(out,in)^T (+ y if accumulate): a bias-free linear layer
 * with Hugging Face [out, in] weight layout. */
void mtx_linear(float *y, const float *x, const float *W, int N, int in, int out, int accumulate);

/* Backward of mtx_linear: dx(N,in) += dy * W; dW(out,in) += dy^T * x. Either output may be NULL. */
void mtx_linear_backward(float *dx, float *dW, const float *dy, const float *x, const float *W,
                         int N, int in, int out);

/* Sets the OpenBLAS thread count (explicit, never left to the environment). */
void mtx_set_threads(int n);

#endif
