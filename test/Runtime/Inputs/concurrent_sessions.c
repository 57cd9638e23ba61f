/* Sessions of one compiled decode model (examples/shakespeare/decode.onnx) on several
 * threads at once: each thread decodes its own token sequence, with its state bound
 * (h_i -> h_prev_i), and every few steps runs an out-of-range token, which must fail with
 * its own message without disturbing the other threads or its own state. The logits of
 * every thread must equal those of the same sequence decoded alone, first. */
#include "mfc/Runtime/mfc_runtime.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

enum { THREADS = 4, STEPS = 40, VOCAB = 256, LAYERS = 4 };

typedef struct {
  const mfc_model *model;
  int seed;
  float logits[STEPS][VOCAB];
  int failures;
} job;

static void *decode(void *arg) {
  job *j = (job *)arg;
  mfc_session *s;
  char state_out[8], state_in[16];
  int step, layer;
  if (mfc_session_create(j->model, &s) != MFC_OK) {
    ++j->failures;
    return NULL;
  }
  for (layer = 0; layer < LAYERS; ++layer) {
    snprintf(state_out, sizeof state_out, "h_%d", layer);
    snprintf(state_in, sizeof state_in, "h_prev_%d", layer);
    if (mfc_session_bind_state(s, state_out, state_in) != MFC_OK)
      ++j->failures;
  }
  for (step = 0; step < STEPS; ++step) {
    int64_t token = (j->seed * 37 + step * 11) % VOCAB;
    mfc_tensor in = {&token, 2, {1, 1}, sizeof token};
    mfc_tensor out = {j->logits[step], 3, {1, 1, VOCAB}, sizeof j->logits[step]};
    if (step % 5 == 4) {
      int64_t bad = 1000000000 + j->seed;
      mfc_tensor bad_in = {&bad, 2, {1, 1}, sizeof bad};
      char expected[96];
      snprintf(expected, sizeof expected, "index %lld is out of range", (long long)bad);
      if (mfc_session_run(s, &bad_in, 1, &out, 1) != MFC_ERR_INVALID_ARGUMENT ||
          !strstr(mfc_session_last_error(s), expected)) {
        fprintf(stderr, "thread %d: expected an index error, got '%s'\n", j->seed,
                mfc_session_last_error(s));
        ++j->failures;
      }
    }
    if (mfc_session_run(s, &in, 1, &out, 1) != MFC_OK) {
      fprintf(stderr, "thread %d step %d: %s\n", j->seed, step, mfc_session_last_error(s));
      ++j->failures;
    }
  }
  mfc_session_free(s);
  return NULL;
}

int main(int argc, char **argv) {
  static job alone[THREADS], together[THREADS];
  pthread_t threads[THREADS];
  mfc_model *model;
  int i, failures = 0;
  if (argc != 2 || mfc_model_load(argv[1], &model) != MFC_OK) {
    fprintf(stderr, "usage: concurrent_sessions model.so\n");
    return 2;
  }
  for (i = 0; i < THREADS; ++i) {
    alone[i].model = together[i].model = model;
    alone[i].seed = together[i].seed = i;
    decode(&alone[i]);
  }
  for (i = 0; i < THREADS; ++i)
    pthread_create(&threads[i], NULL, decode, &together[i]);
  for (i = 0; i < THREADS; ++i)
    pthread_join(threads[i], NULL);
  for (i = 0; i < THREADS; ++i) {
    int same = memcmp(alone[i].logits, together[i].logits, sizeof alone[i].logits) == 0;
    printf("thread %d: %s, %d failures\n", i, same ? "same logits" : "DIFFERENT logits",
           alone[i].failures + together[i].failures);
    failures += !same + alone[i].failures + together[i].failures;
  }
  mfc_model_free(model);
  printf("failures: %d\n", failures);
  return failures != 0;
}
