/* Run-time errors of compiled models (tern-lower-run-time-checks): an index out of range,
 * or shapes that do not agree. Continuing past one could read or write outside a
 * buffer, so the check's report function abandons the run: it longjmps back to
 * mfc_run_guarded, which frees what the run had allocated and returns the message.
 *
 * For that, the CPU pipeline lowers memref.alloc/dealloc to the _mlir_memref_to_llvm_*
 * functions below, which keep the run's live buffers in a thread-local list. Generated
 * code runs on the calling thread (only the micro-kernels fork, and they neither check
 * nor allocate through here), so thread-local state keeps concurrent sessions apart.
 * Built with -fvisibility=hidden: each model library binds to its own copy, whatever
 * else the process has loaded; only mfc_run_guarded is looked up by the runtime. */
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

static __thread jmp_buf *abandon;
static __thread char message[512];
static __thread void **live;
static __thread size_t n_live, live_capacity;

static void fail(void) {
  if (abandon)
    longjmp(*abandon, 1);
}

/* A buffer the run cannot have (sizes from hostile inputs: a Loop's trip count, a
 * Range, a shape) abandons it rather than handing NULL to code that writes through it. */
static void *track(void *p, size_t size) {
  if (!abandon)
    return p; /* outside mfc_run_guarded nothing is tracked */
  if (!p) {
    snprintf(message, sizeof message, "out of memory: a buffer of %zu bytes", size);
    fail();
  }
  if (n_live == live_capacity) {
    size_t capacity = live_capacity ? 2 * live_capacity : 64;
    void **grown = (void **)realloc(live, capacity * sizeof(void *));
    if (!grown) {
      free(p);
      snprintf(message, sizeof message, "out of memory: %zu live buffers", n_live);
      fail();
    }
    live = grown, live_capacity = capacity;
  }
  live[n_live++] = p;
  return p;
}

void *_mlir_memref_to_llvm_alloc(size_t size) { return track(malloc(size ? size : 1), size); }

void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t size) {
  void *p = NULL;
  if (alignment < sizeof(void *))
    alignment = sizeof(void *);
  if (posix_memalign(&p, alignment, size ? size : 1) != 0)
    p = NULL;
  return track(p, size);
}

void _mlir_memref_to_llvm_free(void *p) {
  size_t i;
  /* Buffers die mostly in reverse order of birth: search from the end. */
  for (i = n_live; i-- > 0;)
    if (live[i] == p) {
      live[i] = live[--n_live];
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

/* Runs entry(args). Returns 0, or 1 with the check's message in buf when the run was
 * abandoned; its buffers are freed then, and on success they belong to the caller. */
__attribute__((visibility("default"))) int mfc_run_guarded(mfc_entry_fn entry, void **args, char *buf, size_t n) {
  jmp_buf here;
  size_t i;
  int abandoned = 0;
  n_live = 0;
  abandon = &here;
  if (setjmp(here) == 0) {
    entry(args);
  } else {
    for (i = 0; i < n_live; ++i)
      free(live[i]);
    snprintf(buf, n, "%s", message);
    abandoned = 1;
  }
  abandon = NULL;
  /* The list lives for one run: kept per thread, it would outlive a session's thread. */
  free(live);
  live = NULL;
  n_live = live_capacity = 0;
  return abandoned;
}
