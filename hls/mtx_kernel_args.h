/* mtx_kernel_args.h - the kernel's argument list, in one place.
 *
 * The HLS top function's signature (hls/mtx_engine.c), its interface
 * pragmas, the XRT backend's argument indices and the xclbin metadata the
 * host writes (host/device/) are all generated from this X-macro, so they
 * cannot drift apart. Order = argument index.
 *
 * X(name, is_pointer, c_type, bundle, bytes)
 *   is_pointer: 1 = m_axi global-memory pointer, 0 = s_axilite scalar
 *   bundle:     m_axi bundle (memory port), "" for scalars
 *   bytes:      size of the scalar, or of the pointer (8) */
#ifndef MTX_KERNEL_ARGS_H
#define MTX_KERNEL_ARGS_H

#define MTX_KERNEL_NAME "mtx_engine"

#define MTX_KERNEL_ARGS(X)                                        \
    X(image, 1, const unsigned char *, "gmem0", 8)                \
    X(plan, 1, const unsigned char *, "gmem1", 8)                 \
    X(in, 1, const int *, "gmem2", 8)                             \
    X(out, 1, int *, "gmem3", 8)                                  \
    X(status, 1, int *, "gmem3", 8)                               \
    X(image_bytes, 0, unsigned long long, "", 8)                  \
    X(plan_bytes, 0, unsigned int, "", 4)                         \
    X(batch, 0, unsigned int, "", 4)

#endif
