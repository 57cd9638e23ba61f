/* Run-time errors of compiled models (tern-lower-run-time-checks): an index out of range,
 * or shapes that do not agree. Continuing past one could read or write outside a
 * buffer, so the check's report function abandons the run: it longjmps back to
 * mfc_run_in_session, which frees what the run had allocated and returns the message.
 *
 * For that, the CPU pipeline lowers memref.alloc/dealloc to the _mlir_memref_to_llvm_*
 * functions below, which keep the run's live buffers in a thread-local list. Generated
 * code runs on the calling thread (only the micro-kernels fork, and they neither check
 * nor allocate through here), so thread-local state keeps concurrent sessions apart.
 *
 * The same functions keep a session's large buffers from one run for the next: a
 * decode step allocates the same buffers every token, and malloc maps blocks of its
 * mmap threshold (128 KiB) and more afresh each time, or trims the heap under them, so
 * that every token paid for their pages' faults and zeroing again (a fifth of a 370M
 * decode step on 2 threads).
 *
 * Built with -fvisibility=hidden: each model library binds to its own copy, whatever
 * else the process has loaded; the runtime looks up only the functions marked default. */
#define _POSIX_C_SOURCE 200112L
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A memref<?xi8> descriptor: the NUL-terminated text of what was checked. */
typedef struct {
  const char *allocated, *aligned;
  int64_t offset, size, stride;
} mfc_text;

typedef void (*mfc_entry_fn)(void **);

/* A buffer from the functions below; alignment 0 for malloc's own. */
typedef struct {
  void *p;
  size_t size, alignment;
} Buffer;

/* Buffers of at least kPooledBytes that a session's runs freed, for its later runs: at
   most what its largest run had allocated at once (a prompt's run frees hundreds of
   its buffers only at the end). */
enum { kPooledBytes = 16 * 1024 };
typedef struct {
  size_t count, capacity;
  Buffer *buffer;
} BufferPool;

static __thread jmp_buf *abandon;
static __thread char message[512];
static __thread Buffer *live;
static __thread size_t n_live, live_capacity;
static __thread BufferPool *pool; /* the running session's, NULL outside a run */

/* Defined when AddressSanitizer's runtime is in the process: then every buffer goes back
   to free(), so that a use after it is reported (a pooled one would stay addressable). */
extern void __asan_init(void) __attribute__((weak));

static void fail(void) {
  if (abandon)
    longjmp(*abandon, 1);
}

/* A buffer the run cannot have (sizes from hostile inputs: a Loop's trip count, a
 * Range, a shape) abandons it rather than handing NULL to code that writes through it. */
static void *track(void *p, size_t size, size_t alignment) {
  if (!abandon)
    return p; /* outside mfc_run_in_session nothing is tracked */
  if (!p) {
    snprintf(message, sizeof message, "out of memory: a buffer of %zu bytes", size);
    fail();
  }
  if (n_live == live_capacity) {
    size_t capacity = live_capacity ? 2 * live_capacity : 64;
    Buffer *grown = (Buffer *)realloc(live, capacity * sizeof(Buffer));
    if (!grown) {
      free(p);
      snprintf(message, sizeof message, "out of memory: %zu live buffers", n_live);
      fail();
    }
    live = grown, live_capacity = capacity;
  }
  live[n_live].p = p;
  live[n_live].size = size;
  live[n_live].alignment = alignment;
  ++n_live;
  return p;
}

/* A pooled buffer of exactly `size` bytes and `alignment`, taken out of the pool. */
static void *reuse(size_t size, size_t alignment) {
  size_t i;
  if (!pool || size < kPooledBytes)
    return NULL;
  for (i = pool->count; i-- > 0;)
    if (pool->buffer[i].size == size && pool->buffer[i].alignment == alignment) {
      void *p = pool->buffer[i].p;
      pool->buffer[i] = pool->buffer[--pool->count];
      return p;
    }
  return NULL;
}

/* Puts `dead` into the pool; false when the pool cannot grow. */
static int keep(Buffer dead) {
  if (pool->count == pool->capacity) {
    size_t capacity = pool->capacity ? 2 * pool->capacity : 64;
    Buffer *grown = (Buffer *)realloc(pool->buffer, capacity * sizeof(Buffer));
    if (!grown)
      return 0;
    pool->buffer = grown, pool->capacity = capacity;
  }
  pool->buffer[pool->count++] = dead;
  return 1;
}

void *_mlir_memref_to_llvm_alloc(size_t size) {
  void *p = reuse(size, 0);
  return track(p ? p : malloc(size ? size : 1), size, 0);
}

void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t size) {
  void *p = NULL;
  if (alignment < sizeof(void *))
    alignment = sizeof(void *);
  p = reuse(size, alignment);
  if (!p && posix_memalign(&p, alignment, size ? size : 1) != 0)
    p = NULL;
  return track(p, size, alignment);
}

void _mlir_memref_to_llvm_free(void *p) {
  size_t i;
  /* Buffers die mostly in reverse order of birth: search from the end. */
  for (i = n_live; i-- > 0;)
    if (live[i].p == p) {
      Buffer dead = live[i];
      live[i] = live[--n_live];
      if (pool && dead.size >= kPooledBytes && keep(dead))
        return;
      break;
    }
  free(p);
}

void _mlir_ciface_mfc_index_error(const mfc_text *what, int64_t value, int64_t size) {
  snprintf(message, sizeof message,
           "%s: index %lld is out of range for a dim of size %lld (valid: %lld to %lld)",
           what->aligned + what->offset, (long long)value, (long long)size, -(long long)size,
           (long long)size - 1);
  fail();
}

void _mlir_ciface_mfc_shape_error(const mfc_text *what, int64_t actual, int64_t expected) {
  snprintf(message, sizeof message, "%s: %lld, expected %lld", what->aligned + what->offset,
           (long long)actual, (long long)expected);
  fail();
}

/* Runs entry(args) for a session whose pooled buffers *buffers holds (NULL at first;
 * mfc_free_session_buffers releases them). Returns 0, or 1 with the check's message in
 * buf when the run was abandoned; its buffers are freed then, and on success the
 * results' buffers belong to the caller. */
__attribute__((visibility("default"))) int mfc_run_in_session(mfc_entry_fn entry, void **args,
                                                              char *buf, size_t n,
                                                              void **buffers) {
  jmp_buf here;
  size_t i;
  int abandoned = 0;
  if (!*buffers && !__asan_init)
    *buffers = calloc(1, sizeof(BufferPool)); /* NULL: runs without a pool */
  pool = (BufferPool *)*buffers;
  n_live = 0;
  abandon = &here;
  if (setjmp(here) == 0) {
    entry(args);
  } else {
    for (i = 0; i < n_live; ++i)
      free(live[i].p);
    snprintf(buf, n, "%s", message);
    abandoned = 1;
  }
  abandon = NULL;
  pool = NULL;
  /* The list lives for one run: kept per thread, it would outlive a session's thread. */
  free(live);
  live = NULL;
  n_live = live_capacity = 0;
  return abandoned;
}

__attribute__((visibility("default"))) void mfc_free_session_buffers(void *buffers) {
  BufferPool *pooled = (BufferPool *)buffers;
  size_t i;
  if (!pooled)
    return;
  for (i = 0; i < pooled->count; ++i)
    free(pooled->buffer[i].p);
  free(pooled->buffer);
  free(pooled);
}
