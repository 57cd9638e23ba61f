/* Stand-in for a decode-style model library (mfc ABI, see
 * include/mfc/Runtime/mfc_runtime.h):
 *   h_out  = 0.5 * h_in + tok                  recurrent state, [2]
 *   kv_out = concat(kv_in, [tok])              growing cache, [-1]
 *   logits = [h_out[0], h_out[1], len(kv_out)]
 * logits and h_out share one malloc block (h_out at offset 4), kv_out is a
 * block of its own. */
#include <stdint.h>
#include <stdlib.h>

const char mfc_signature[] = "mfc-signature 1\n"
                             "input\ttok\t7\t1\t1\n"
                             "input\th_in\t1\t1\t2\n"
                             "input\tkv_in\t1\t1\t-1\n"
                             "output\tlogits\t1\t1\t3\n"
                             "output\th_out\t1\t1\t2\n"
                             "output\tkv_out\t1\t1\t-1\n";

typedef struct {
  void *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
} md1;

void mfc_entry(void **args) {
  md1 *out = (md1 *)args[0];
  const md1 *tok = (const md1 *)args[1];
  const md1 *h = (const md1 *)args[2];
  const md1 *kv = (const md1 *)args[3];
  float t = (float)((const int64_t *)tok->aligned)[tok->offset];
  const float *hd = (const float *)h->aligned + h->offset;
  const float *kd = (const float *)kv->aligned + kv->offset;
  int64_t n = kv->sizes[0], i;

  float *block = (float *)malloc(6 * sizeof(float));
  block[4] = 0.5f * hd[0] + t;
  block[5] = 0.5f * hd[h->strides[0]] + t;
  block[0] = block[4];
  block[1] = block[5];
  block[2] = (float)(n + 1);
  out[0].allocated = out[0].aligned = block;
  out[0].offset = 0;
  out[0].sizes[0] = 3;
  out[0].strides[0] = 1;
  out[1].allocated = out[1].aligned = block;
  out[1].offset = 4;
  out[1].sizes[0] = 2;
  out[1].strides[0] = 1;

  float *k = (float *)malloc((size_t)(n + 1) * sizeof(float));
  for (i = 0; i < n; ++i)
    k[i] = kd[i * kv->strides[0]];
  k[n] = t;
  out[2].allocated = out[2].aligned = k;
  out[2].offset = 0;
  out[2].sizes[0] = n + 1;
  out[2].strides[0] = 1;
}
