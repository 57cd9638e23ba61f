/*===- thread_pool.h - the kernels' persistent worker threads -------------===*
 *
 * One pool per model library: worker threads that stay alive across the many small
 * matrix products of a decode step and wait by spinning, so that a product is split
 * across cores for the cost of a few cache-line transfers instead of a fork/join
 * (a futex wake-up costs tens of microseconds in a VM; a 1024 x 1024 ternary GEMV
 * takes about as long).
 *
 * Threads: mfc_kernel_set_threads() before the first product, else MFC_NUM_THREADS,
 * else OMP_NUM_THREADS, else the CPUs this process may run on. Workers spin for
 * MFC_SPIN_US microseconds (default 2000) after their last slice, then sleep until the
 * next one. MFC_PIN_THREADS=1 pins each worker to one CPU of the process's (off by
 * default: no gain measured on a 2-vCPU VM, whose vCPUs float).
 *===----------------------------------------------------------------------===*/
#ifndef MFC_KERNELS_THREAD_POOL_H
#define MFC_KERNELS_THREAD_POOL_H

#include <stdint.h>

/* Runs slice(context, begin, end) over [0, n) split into contiguous ranges (a few per
 * thread of the pool, taken in turn by the caller and the workers); returns when all
 * are done. Runs it on the caller alone when the pool has one thread or is busy with
 * another caller's work (sessions on several threads share the pool). */
typedef void (*mfc_slice_fn)(void *context, int64_t begin, int64_t end);
void mfc_parallel_for(int64_t n, mfc_slice_fn slice, void *context);

/* Products use at most `threads` threads from now on (at least 1). Called before the
 * pool's first use, it also sets how many it starts (else MFC_NUM_THREADS & co. do); a
 * started pool does not grow. Returns the threads products will use. Exported from the
 * model library for mfc_model_set_num_threads(). */
__attribute__((visibility("default"))) int mfc_kernel_set_threads(int threads);

#endif /* MFC_KERNELS_THREAD_POOL_H */
