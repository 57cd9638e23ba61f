/* Index errors that generated code reports while a model runs (tern-lower-checked-index):
 * the first one of a run, taken by the runtime (mfc_session_run) after mfc_entry returns.
 * Generated code runs on the calling thread (only the micro-kernels fork), so a
 * thread-local record keeps sessions running on different threads apart. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A memref<?xi8> descriptor: the NUL-terminated text of what was indexed. */
typedef struct {
  const char *allocated, *aligned;
  int64_t offset, size, stride;
} mfc_text;

static __thread int pending;
static __thread char message[512];

void _mlir_ciface_mfc_index_error(const mfc_text *what, int64_t value, int64_t size) {
  if (pending)
    return;
  pending = 1;
  snprintf(message, sizeof message,
           "%s: index %lld is out of range for a dim of size %lld (valid: %lld to %lld)",
           what->aligned + what->offset, (long long)value, (long long)size, -(long long)size,
           (long long)size - 1);
}

/* The pending error, if any, into buf (and cleared): 1 when there was one. */
int mfc_take_run_error(char *buf, size_t n) {
  if (!pending)
    return 0;
  pending = 0;
  snprintf(buf, n, "%s", message);
  return 1;
}
