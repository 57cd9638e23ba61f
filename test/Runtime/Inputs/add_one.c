/* Stand-in for a model library built by `mfc model.onnx -o model.so`, with
 * the same ABI (see include/mfc/Runtime/mfc_runtime.h):
 *   y        = x + 1                  returned with a padded, offset layout
 *   argmax   = argmax(x, axis=1)      int64, contiguous
 *   positive = x > 0                  bool, column-major strides
 * All three outputs are separate malloc blocks. */
#include <stdint.h>
#include <stdlib.h>

const char mfc_signature[] = "mfc-signature 1\n"
                             "input\tx\t1\t2\t-1,4\n"
                             "output\ty\t1\t2\t-1,4\n"
                             "output\targmax\t7\t1\t-1\n"
                             "output\tpositive\t9\t2\t-1,4\n";

typedef struct {
  void *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
} md2;
typedef struct {
  void *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
} md1;
typedef struct {
  md2 y;
  md1 argmax;
  md2 positive;
} outputs;

void mfc_entry(void **args) {
  outputs *out = (outputs *)args[0];
  const md2 *x = (const md2 *)args[1];
  int64_t n = x->sizes[0], i, j;
  const float *xd = (const float *)x->aligned + x->offset;
#define X(i, j) xd[(i) * x->strides[0] + (j) * x->strides[1]]

  /* y: rows padded to 5 floats, data 1 element past a 16-byte-shifted
   * aligned pointer. */
  char *ya = (char *)malloc(16 + (size_t)(1 + 5 * n) * sizeof(float));
  float *yd = (float *)(ya + 16);
  for (i = 0; i < n; ++i)
    for (j = 0; j < 4; ++j)
      yd[1 + i * 5 + j] = X(i, j) + 1.0f;
  out->y.allocated = ya;
  out->y.aligned = yd;
  out->y.offset = 1;
  out->y.sizes[0] = n;
  out->y.sizes[1] = 4;
  out->y.strides[0] = 5;
  out->y.strides[1] = 1;

  int64_t *am = (int64_t *)malloc((size_t)(n ? n : 1) * sizeof(int64_t));
  for (i = 0; i < n; ++i) {
    int64_t best = 0;
    for (j = 1; j < 4; ++j)
      if (X(i, j) > X(i, best))
        best = j;
    am[i] = best;
  }
  out->argmax.allocated = out->argmax.aligned = am;
  out->argmax.offset = 0;
  out->argmax.sizes[0] = n;
  out->argmax.strides[0] = 1;

  /* positive: column-major. */
  uint8_t *pd = (uint8_t *)malloc((size_t)(n ? n : 1) * 4);
  for (i = 0; i < n; ++i)
    for (j = 0; j < 4; ++j)
      pd[j * n + i] = X(i, j) > 0.0f;
  out->positive.allocated = out->positive.aligned = pd;
  out->positive.offset = 0;
  out->positive.sizes[0] = n;
  out->positive.sizes[1] = 4;
  out->positive.strides[0] = 1;
  out->positive.strides[1] = n;
}
