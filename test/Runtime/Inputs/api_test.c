/* Exercises the libmfc_runtime C API on the stand-in model libraries.
 * usage: api_test ADD_ONE.so DECODE.so
 * Prints one line per check for FileCheck; exits non-zero on a failed
 * CHECK-style expectation. */
#include "mfc/Runtime/mfc_runtime.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define EXPECT(cond)                                                           \
  do {                                                                         \
    if (!(cond)) {                                                             \
      printf("EXPECT FAILED line %d: %s\n", __LINE__, #cond);                  \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

static void print_dims(const int64_t *dims, int64_t rank) {
  int64_t i;
  printf("[");
  for (i = 0; i < rank; ++i)
    printf("%s%lld", i ? "," : "", (long long)dims[i]);
  printf("]");
}

static void print_floats(const char *name, const float *v, int64_t n) {
  int64_t i;
  printf("%s =", name);
  for (i = 0; i < n; ++i)
    printf(" %g", v[i]);
  printf("\n");
}

static mfc_tensor tensor(void *data, size_t cap, int64_t rank, int64_t d0,
                         int64_t d1) {
  mfc_tensor t;
  memset(&t, 0, sizeof(t));
  t.data = data;
  t.capacity_bytes = cap;
  t.rank = rank;
  t.dims[0] = d0;
  t.dims[1] = d1;
  return t;
}

static void test_load_errors(void) {
  mfc_model *m = NULL;
  mfc_session *s = (mfc_session *)1;
  mfc_status st = mfc_model_load("no_such_model.so", &m);
  printf("load missing: %s: %s\n", mfc_status_message(st),
         mfc_model_last_error(m));
  EXPECT(st == MFC_ERR_LOAD && m != NULL);
  EXPECT(mfc_model_num_inputs(m) == 0 && mfc_model_input_name(m, 0) == NULL);
  st = mfc_session_create(m, &s);
  EXPECT(st == MFC_ERR_INVALID_ARGUMENT && s == NULL);
  mfc_model_free(m);
  EXPECT(mfc_model_load("x.so", NULL) == MFC_ERR_INVALID_ARGUMENT);
  mfc_model_free(NULL);
  mfc_session_free(NULL);
}

static void test_add_one(const char *path) {
  mfc_model *m;
  mfc_session *s;
  mfc_status st;
  size_t i;
  float x[3 * 4], y[3 * 4];
  int64_t am[3];
  unsigned char pos[3 * 4];
  mfc_tensor in, out[3];

  st = mfc_model_load(path, &m);
  printf("load %s: %s\n", path, mfc_status_message(st));
  if (st != MFC_OK) {
    printf("  %s\n", mfc_model_last_error(m));
    mfc_model_free(m);
    ++failures;
    return;
  }
  printf("path %s\n", mfc_model_path(m));
  for (i = 0; i < mfc_model_num_inputs(m); ++i) {
    printf("input %zu %s %s rank %lld ", i, mfc_model_input_name(m, i),
           mfc_elem_type_name(mfc_model_input_type(m, i)),
           (long long)mfc_model_input_rank(m, i));
    print_dims(mfc_model_input_dims(m, i), mfc_model_input_rank(m, i));
    printf("\n");
  }
  for (i = 0; i < mfc_model_num_outputs(m); ++i) {
    printf("output %zu %s %s (%d, %zu bytes) rank %lld ", i,
           mfc_model_output_name(m, i),
           mfc_elem_type_name(mfc_model_output_type(m, i)),
           (int)mfc_model_output_type(m, i),
           mfc_elem_size(mfc_model_output_type(m, i)),
           (long long)mfc_model_output_rank(m, i));
    print_dims(mfc_model_output_dims(m, i), mfc_model_output_rank(m, i));
    printf("\n");
  }
  EXPECT(mfc_model_input_index(m, "x") == 0);
  EXPECT(mfc_model_input_index(m, "y") == -1);
  EXPECT(mfc_model_output_index(m, "positive") == 2);
  EXPECT(mfc_model_output_index(m, "nope") == -1);
  EXPECT(mfc_model_output_name(m, 3) == NULL);
  EXPECT(mfc_model_output_dims(m, 3) == NULL);
  EXPECT(mfc_model_output_rank(m, 3) == -1);
  EXPECT(mfc_model_output_type(m, 3) == MFC_ELEM_UNDEFINED);

  st = mfc_session_create(m, &s);
  EXPECT(st == MFC_OK);
  printf("fresh session error: '%s'\n", mfc_session_last_error(s));
  for (i = 0; i < 12; ++i)
    x[i] = (float)i - 5.5f;
  in = tensor(x, sizeof x, 2, 3, 4);
  out[0] = tensor(y, sizeof y, 0, 0, 0);
  out[1] = tensor(am, sizeof am, 0, 0, 0);
  out[2] = tensor(pos, sizeof pos, 0, 0, 0);
  st = mfc_session_run(s, &in, 1, out, 3);
  printf("run: %s\n", mfc_status_message(st));
  printf("y dims ");
  print_dims(out[0].dims, out[0].rank);
  printf("\n");
  print_floats("y", y, 12);
  printf("argmax = %lld %lld %lld\n", (long long)am[0], (long long)am[1],
         (long long)am[2]);
  printf("positive =");
  for (i = 0; i < 12; ++i)
    printf(" %d", pos[i]);
  printf("\n");

  /* Capacity: too small for y; every output still gets its dims. */
  out[0].capacity_bytes = 4 * sizeof(float);
  out[2].rank = 0;
  st = mfc_session_run(s, &in, 1, out, 3);
  printf("small y: %s: %s\n", mfc_status_message(st),
         mfc_session_last_error(s));
  printf("positive dims after capacity error ");
  print_dims(out[2].dims, out[2].rank);
  printf("\n");
  out[0].capacity_bytes = sizeof y;

  /* Input errors. */
  st = mfc_session_run(s, &in, 0, out, 3);
  printf("no inputs: %s: %s\n", mfc_status_message(st),
         mfc_session_last_error(s));
  st = mfc_session_run(s, &in, 1, out, 2);
  printf("two outputs: %s: %s\n", mfc_status_message(st),
         mfc_session_last_error(s));
  in.dims[1] = 3;
  st = mfc_session_run(s, &in, 1, out, 3);
  printf("bad dim: %s: %s\n", mfc_status_message(st),
         mfc_session_last_error(s));
  in.dims[1] = 4;
  in.capacity_bytes = 8;
  st = mfc_session_run(s, &in, 1, out, 3);
  printf("small input: %s: %s\n", mfc_status_message(st),
         mfc_session_last_error(s));
  in.capacity_bytes = 0; /* unchecked */
  in.dims[0] = 0;        /* an empty batch */
  st = mfc_session_run(s, &in, 1, out, 3);
  printf("empty batch: %s, y dims ", mfc_status_message(st));
  print_dims(out[0].dims, out[0].rank);
  printf("\n");
  st = mfc_session_bind_state(s, "y", "x");
  printf("bind y->x: %s\n", mfc_status_message(st));
  EXPECT(mfc_session_num_unbound_inputs(s) == 0);
  EXPECT(mfc_session_num_unbound_outputs(s) == 2);
  /* x starts as a [0,4] zero state; each run feeds y back into x. */
  st = mfc_session_run(s, NULL, 0, out + 1, 2);
  printf("bound run: %s, argmax dims ", mfc_status_message(st));
  print_dims(out[1].dims, out[1].rank);
  printf("\n");
  {
    float st4[4] = {1, 2, 3, 4};
    int64_t d[2] = {1, 4};
    float got[4];
    mfc_tensor g = tensor(got, sizeof got, 0, 0, 0);
    EXPECT(mfc_session_set_state_shaped(s, "x", 2, d, st4, sizeof st4) ==
           MFC_OK);
    EXPECT(mfc_session_run(s, NULL, 0, out + 1, 2) == MFC_OK);
    EXPECT(mfc_session_run(s, NULL, 0, out, 3) == MFC_OK);
    EXPECT(mfc_session_get_state(s, "x", &g) == MFC_OK);
    print_floats("x after 2 bound runs", got, 4);
    print_floats("y of the second", y, 4);
  }
  mfc_session_free(s);
  mfc_model_free(m);
}

typedef struct {
  const mfc_model *m;
  int64_t tok;
  int steps;
  float logits[3];
  mfc_status st;
} thread_job;

static void *decode_thread(void *arg) {
  thread_job *j = (thread_job *)arg;
  mfc_session *s;
  mfc_tensor in, out;
  int i;
  j->st = mfc_session_create(j->m, &s);
  if (j->st != MFC_OK)
    return NULL;
  if ((j->st = mfc_session_bind_state(s, "h_out", "h_in")) != MFC_OK ||
      (j->st = mfc_session_bind_state(s, "kv_out", "kv_in")) != MFC_OK) {
    mfc_session_free(s);
    return NULL;
  }
  in = tensor(&j->tok, sizeof j->tok, 1, 1, 0);
  out = tensor(j->logits, sizeof j->logits, 0, 0, 0);
  for (i = 0; i < j->steps && j->st == MFC_OK; ++i)
    j->st = mfc_session_run(s, &in, 1, &out, 1);
  mfc_session_free(s);
  return NULL;
}

static void test_decode(const char *path) {
  mfc_model *m;
  mfc_session *s;
  mfc_status st;
  int64_t tok = 1;
  float logits[3], h[2], kv[8], hout[2], kvout[8];
  mfc_tensor in, out[3], g;
  int i;

  st = mfc_model_load(path, &m);
  if (st != MFC_OK) {
    printf("load %s: %s\n", path, mfc_model_last_error(m));
    mfc_model_free(m);
    ++failures;
    return;
  }
  mfc_session_create(m, &s);
  st = mfc_session_bind_state(s, "h_out", "h_in");
  printf("bind h: %s\n", mfc_status_message(st));
  st = mfc_session_bind_state(s, "kv_out", "kv_in");
  printf("bind kv: %s\n", mfc_status_message(st));
  st = mfc_session_bind_state(s, "logits", "kv_in");
  printf("bind twice: %s: %s\n", mfc_status_message(st),
         mfc_session_last_error(s));
  st = mfc_session_bind_state(s, "kv_out", "tok");
  printf("bind output twice: %s: %s\n", mfc_status_message(st),
         mfc_session_last_error(s));
  st = mfc_session_bind_state(s, "nope", "tok");
  printf("bind unknown: %s: %s\n", mfc_status_message(st),
         mfc_session_last_error(s));
  printf("unbound inputs %zu outputs %zu; bound: tok %d h_in %d kv_in %d "
         "logits %d h_out %d kv_out %d\n",
         mfc_session_num_unbound_inputs(s), mfc_session_num_unbound_outputs(s),
         mfc_session_input_is_bound(s, 0), mfc_session_input_is_bound(s, 1),
         mfc_session_input_is_bound(s, 2), mfc_session_output_is_bound(s, 0),
         mfc_session_output_is_bound(s, 1), mfc_session_output_is_bound(s, 2));

  in = tensor(&tok, sizeof tok, 1, 1, 0);
  out[0] = tensor(logits, sizeof logits, 0, 0, 0);
  for (i = 0; i < 3; ++i) {
    st = mfc_session_run(s, &in, 1, out, 1);
    printf("step %d: %s: ", i, mfc_status_message(st));
    print_floats("logits", logits, 3);
  }
  g = tensor(h, sizeof h, 0, 0, 0);
  st = mfc_session_get_state(s, "h_in", &g);
  print_floats("h state", h, 2);
  g = tensor(kv, 2 * sizeof(float), 0, 0, 0);
  st = mfc_session_get_state(s, "kv_in", &g);
  printf("get kv small: %s: %s\n", mfc_status_message(st),
         mfc_session_last_error(s));
  g.capacity_bytes = sizeof kv;
  st = mfc_session_get_state(s, "kv_in", &g);
  printf("kv state dims ");
  print_dims(g.dims, g.rank);
  printf(" ");
  print_floats("values", kv, g.dims[0]);
  st = mfc_session_get_state(s, "tok", &g);
  printf("get unbound: %s: %s\n", mfc_status_message(st),
         mfc_session_last_error(s));

  /* A failed run leaves the state alone. */
  out[0].capacity_bytes = 4;
  st = mfc_session_run(s, &in, 1, out, 1);
  printf("small logits: %s: %s\n", mfc_status_message(st),
         mfc_session_last_error(s));
  out[0].capacity_bytes = sizeof logits;
  st = mfc_session_run(s, &in, 1, out, 1);
  printf("after failed run: %s: ", mfc_status_message(st));
  print_floats("logits", logits, 3);

  /* Caller-set state. */
  {
    float h0[2] = {2, 4}, kv0[2] = {5, 6};
    int64_t d = 2;
    st = mfc_session_set_state(s, "h_in", h0, 4);
    printf("set h wrong size: %s: %s\n", mfc_status_message(st),
           mfc_session_last_error(s));
    EXPECT(mfc_session_set_state(s, "h_in", h0, sizeof h0) == MFC_OK);
    d = 3;
    st = mfc_session_set_state_shaped(s, "h_in", 1, &d, h0, 12);
    printf("set h wrong dim: %s: %s\n", mfc_status_message(st),
           mfc_session_last_error(s));
    d = 2;
    EXPECT(mfc_session_set_state_shaped(s, "kv_in", 1, &d, kv0, sizeof kv0) ==
           MFC_OK);
  }
  /* All outputs: bound ones copied out too. */
  out[0] = tensor(logits, sizeof logits, 0, 0, 0);
  out[1] = tensor(hout, sizeof hout, 0, 0, 0);
  out[2] = tensor(kvout, sizeof kvout, 0, 0, 0);
  st = mfc_session_run(s, &in, 1, out, 3);
  printf("all outputs: %s\n", mfc_status_message(st));
  print_floats("logits", logits, 3);
  print_floats("h_out", hout, 2);
  print_floats("kv_out", kvout, out[2].dims[0]);

  EXPECT(mfc_session_reset_state(s, "kv_in") == MFC_OK);
  st = mfc_session_run(s, &in, 1, out, 1);
  printf("after kv reset: ");
  print_floats("logits", logits, 3);
  EXPECT(mfc_session_reset_state(s, NULL) == MFC_OK);
  st = mfc_session_run(s, &in, 1, out, 1);
  printf("after full reset: ");
  print_floats("logits", logits, 3);
  st = mfc_session_reset_state(s, "tok");
  printf("reset unbound: %s\n", mfc_status_message(st));

  st = mfc_session_run(s, &in, 1, out, 2);
  printf("wrong output count: %s: %s\n", mfc_status_message(st),
         mfc_session_last_error(s));
  st = mfc_session_run(s, &in, 3, out, 1);
  printf("passing bound inputs: %s: %s\n", mfc_status_message(st),
         mfc_session_last_error(s));

  mfc_session_clear_bindings(s);
  printf("after clear: unbound inputs %zu\n",
         mfc_session_num_unbound_inputs(s));
  mfc_session_free(s);

  /* Independent sessions on threads, sharing the model. */
  {
    thread_job jobs[4];
    pthread_t th[4];
    for (i = 0; i < 4; ++i) {
      jobs[i].m = m;
      jobs[i].tok = i + 1;
      jobs[i].steps = 50 + 10 * i;
      pthread_create(&th[i], NULL, decode_thread, &jobs[i]);
    }
    for (i = 0; i < 4; ++i) {
      pthread_join(th[i], NULL);
      printf("thread %d: %s h %g %g len %g\n", i,
             mfc_status_message(jobs[i].st), jobs[i].logits[0],
             jobs[i].logits[1], jobs[i].logits[2]);
    }
  }
  mfc_model_free(m);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: api_test ADD_ONE.so DECODE.so\n");
    return 2;
  }
  printf("api %d: %s / %s / %s\n", MFC_RUNTIME_API_VERSION,
         mfc_status_message(MFC_OK), mfc_status_message(MFC_ERR_CAPACITY),
         mfc_elem_type_name(MFC_ELEM_BFLOAT16));
  test_load_errors();
  test_add_one(argv[1]);
  test_decode(argv[2]);
  printf("failures: %d\n", failures);
  return failures != 0;
}
