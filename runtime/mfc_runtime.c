/*===- mfc_runtime.c - Runtime for mfc-compiled model libraries -----------===*\
 *
 * See include/mfc/Runtime/mfc_runtime.h for the API and
 * the model-library ABI (mfc_signature / mfc_entry).
 *
 * No global mutable state: everything lives in mfc_model (immutable after
 * load) and mfc_session.
\*===----------------------------------------------------------------------===*/

#define _POSIX_C_SOURCE 200809L

#include "mfc/Runtime/mfc_runtime.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The descriptor layout packs pointers into 8-byte fields. */
typedef char mfc_assert_pointer_size[sizeof(void *) == 8 ? 1 : -1];

#define MFC_ERROR_SIZE 1024

/* memref.get_global lowers to descriptors whose allocated pointer is this
 * sentinel; such a buffer is not ours to free. */
#define MFC_MLIR_GLOBAL_SENTINEL ((uintptr_t)0xdeadbeef)

typedef void (*mfc_entry_fn)(void **);

typedef struct mfc_port {
  char *name;
  mfc_elem_type type;
  int64_t rank;
  int64_t dims[MFC_MAX_RANK];
  char *dim_names[MFC_MAX_RANK]; /* symbolic names; NULL when unnamed */
} mfc_port;

struct mfc_model {
  int ok;
  char *path;
  void *handle;
  mfc_entry_fn entry;
  size_t n_in, n_out;
  mfc_port *in, *out;
  char error[MFC_ERROR_SIZE];
};

/* The state of one binding (output -> input). */
typedef struct mfc_state {
  size_t input, output;
  void *alloc; /* what to free(); may differ from data */
  void *data;  /* dense row-major elements */
  int64_t dims[MFC_MAX_RANK];
  int fresh; /* still the zeros state_zero made: named dynamic dims may be resized */
} mfc_state;

struct mfc_session {
  const mfc_model *model;
  long *in_slot;  /* per input: state index or -1 */
  long *out_slot; /* per output: state index or -1 */
  mfc_state *states;
  size_t n_states;
  char error[MFC_ERROR_SIZE];
};

/*===----------------------------- Helpers -------------------------------===*/

static void set_error(char *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_error(char *buf, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, MFC_ERROR_SIZE, fmt, ap);
  va_end(ap);
}

static char *dup_str(const char *s, size_t n) {
  char *r = (char *)malloc(n + 1);
  if (!r)
    return NULL;
  memcpy(r, s, n);
  r[n] = '\0';
  return r;
}

/* Formats dims as "[a,b,c]" ("?" for -1) into buf. */
static const char *fmt_dims(char *buf, size_t size, int64_t rank,
                            const int64_t *dims) {
  size_t pos = 0;
  int64_t i;
  buf[0] = '\0';
  pos += (size_t)snprintf(buf + pos, size - pos, "[");
  for (i = 0; i < rank && pos < size; ++i) {
    if (dims[i] < 0)
      pos += (size_t)snprintf(buf + pos, size - pos, "%s?", i ? "," : "");
    else
      pos += (size_t)snprintf(buf + pos, size - pos, "%s%lld", i ? "," : "",
                              (long long)dims[i]);
  }
  if (pos < size)
    snprintf(buf + pos, size - pos, "]");
  return buf;
}

/* Number of bytes of a dense tensor; 0 on success, -1 on overflow. */
static int dense_bytes(mfc_elem_type type, int64_t rank, const int64_t *dims,
                       size_t *out) {
  size_t bytes = mfc_elem_size(type);
  int64_t i;
  for (i = 0; i < rank; ++i) {
    uint64_t d = (uint64_t)dims[i];
    if (dims[i] < 0)
      return -1;
    if (d != 0 && bytes > SIZE_MAX / d)
      return -1;
    bytes *= (size_t)d;
  }
  *out = bytes;
  return 0;
}

/*===------------------------- Status and types --------------------------===*/

const char *mfc_status_message(mfc_status status) {
  switch (status) {
  case MFC_OK:
    return "ok";
  case MFC_ERR_INVALID_ARGUMENT:
    return "invalid argument";
  case MFC_ERR_LOAD:
    return "cannot load model library";
  case MFC_ERR_SIGNATURE:
    return "malformed model signature";
  case MFC_ERR_NOT_FOUND:
    return "no such input, output or state";
  case MFC_ERR_SHAPE:
    return "tensor count or shape does not match the model";
  case MFC_ERR_CAPACITY:
    return "buffer too small";
  case MFC_ERR_OUT_OF_MEMORY:
    return "out of memory";
  case MFC_ERR_UNSUPPORTED:
    return "unsupported";
  case MFC_ERR_STATE:
    return "invalid state binding";
  case MFC_ERR_MODEL:
    return "model library returned an invalid result";
  }
  return "unknown status";
}

size_t mfc_elem_size(mfc_elem_type type) {
  switch (type) {
  case MFC_ELEM_UINT8:
  case MFC_ELEM_INT8:
  case MFC_ELEM_BOOL:
    return 1;
  case MFC_ELEM_INT16:
  case MFC_ELEM_UINT16:
  case MFC_ELEM_FLOAT16:
  case MFC_ELEM_BFLOAT16:
    return 2;
  case MFC_ELEM_FLOAT:
  case MFC_ELEM_INT32:
  case MFC_ELEM_UINT32:
    return 4;
  case MFC_ELEM_INT64:
  case MFC_ELEM_DOUBLE:
  case MFC_ELEM_UINT64:
    return 8;
  case MFC_ELEM_UNDEFINED:
    return 0;
  }
  return 0;
}

const char *mfc_elem_type_name(mfc_elem_type type) {
  switch (type) {
  case MFC_ELEM_FLOAT:
    return "float32";
  case MFC_ELEM_UINT8:
    return "uint8";
  case MFC_ELEM_INT8:
    return "int8";
  case MFC_ELEM_INT16:
    return "int16";
  case MFC_ELEM_UINT16:
    return "uint16";
  case MFC_ELEM_INT32:
    return "int32";
  case MFC_ELEM_INT64:
    return "int64";
  case MFC_ELEM_BOOL:
    return "bool";
  case MFC_ELEM_FLOAT16:
    return "float16";
  case MFC_ELEM_DOUBLE:
    return "float64";
  case MFC_ELEM_UINT32:
    return "uint32";
  case MFC_ELEM_UINT64:
    return "uint64";
  case MFC_ELEM_BFLOAT16:
    return "bfloat16";
  case MFC_ELEM_UNDEFINED:
    break;
  }
  return "unknown";
}

/*===------------------------- Signature parsing -------------------------===*/

/* Parses a decimal int64 in [lo, hi] spanning exactly [s, e). */
static int parse_int(const char *s, const char *e, long long lo, long long hi,
                     long long *out) {
  long long v = 0;
  int neg = 0;
  const char *p = s;
  if (p < e && *p == '-') {
    neg = 1;
    ++p;
  }
  if (p == e)
    return -1;
  for (; p < e; ++p) {
    if (*p < '0' || *p > '9')
      return -1;
    if (v > (999999999999999999LL - (*p - '0')) / 10)
      return -1;
    v = v * 10 + (*p - '0');
  }
  if (neg)
    v = -v;
  if (v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

static void free_ports(mfc_port *ports, size_t n) {
  size_t i;
  if (!ports)
    return;
  for (i = 0; i < n; ++i) {
    int64_t d;
    free(ports[i].name);
    for (d = 0; d < MFC_MAX_RANK; ++d)
      free(ports[i].dim_names[d]);
  }
  free(ports);
}

/* Parses one `input|output\tname\ttype\trank\tdims` line [s, e). */
static mfc_status parse_port(mfc_model *m, size_t line_no, const char *s,
                             const char *e, const char *kind, mfc_port *port) {
  const char *fields[6], *ends[6];
  const char *p = s;
  int n = 0;
  long long v;
  int64_t d;
  while (n < 6) {
    const char *t = p;
    while (t < e && *t != '\t')
      ++t;
    fields[n] = p;
    ends[n] = t;
    ++n;
    if (t == e)
      break;
    p = t + 1;
  }
  if (n < 5 || ends[n - 1] != e) {
    set_error(m->error,
              "model signature line %zu: expected 5 or 6 tab-separated fields "
              "(%s, name, type, rank, dims[, dim names])",
              line_no, kind);
    return MFC_ERR_SIGNATURE;
  }
  if (fields[1] == ends[1]) {
    set_error(m->error, "model signature line %zu: empty %s name", line_no,
              kind);
    return MFC_ERR_SIGNATURE;
  }
  port->name = dup_str(fields[1], (size_t)(ends[1] - fields[1]));
  if (!port->name) {
    set_error(m->error, "out of memory");
    return MFC_ERR_OUT_OF_MEMORY;
  }
  if (parse_int(fields[2], ends[2], 0, 1000, &v) != 0) {
    set_error(m->error, "model signature line %zu: %s '%s': bad element type",
              line_no, kind, port->name);
    return MFC_ERR_SIGNATURE;
  }
  port->type = (mfc_elem_type)v;
  if (mfc_elem_size(port->type) == 0) {
    set_error(m->error,
              "model signature line %zu: %s '%s': unsupported element type "
              "%lld (ONNX TensorProto.DataType)",
              line_no, kind, port->name, v);
    return MFC_ERR_UNSUPPORTED;
  }
  if (parse_int(fields[3], ends[3], 0, 1000000, &v) != 0) {
    set_error(m->error, "model signature line %zu: %s '%s': bad rank", line_no,
              kind, port->name);
    return MFC_ERR_SIGNATURE;
  }
  if (v > MFC_MAX_RANK) {
    set_error(m->error,
              "model signature line %zu: %s '%s' has rank %lld; the runtime "
              "handles at most %d",
              line_no, kind, port->name, v, MFC_MAX_RANK);
    return MFC_ERR_UNSUPPORTED;
  }
  port->rank = (int64_t)v;
  p = fields[4];
  for (d = 0; d < port->rank; ++d) {
    const char *t = p;
    while (t < ends[4] && *t != ',')
      ++t;
    if (parse_int(p, t, -1, INT64_MAX / 2, &v) != 0) {
      set_error(m->error,
                "model signature line %zu: %s '%s': bad dim %lld (expected "
                "%lld comma-separated integers, -1 for dynamic)",
                line_no, kind, port->name, (long long)d,
                (long long)port->rank);
      return MFC_ERR_SIGNATURE;
    }
    port->dims[d] = (int64_t)v;
    p = t;
    if (d + 1 < port->rank) {
      if (p == ends[4]) {
        set_error(m->error,
                  "model signature line %zu: %s '%s': %lld dims for rank %lld",
                  line_no, kind, port->name, (long long)d + 1,
                  (long long)port->rank);
        return MFC_ERR_SIGNATURE;
      }
      ++p;
    }
  }
  if (p != ends[4]) {
    set_error(m->error,
              "model signature line %zu: %s '%s': more dims than rank %lld",
              line_no, kind, port->name, (long long)port->rank);
    return MFC_ERR_SIGNATURE;
  }
  if (n == 6) {
    p = fields[5];
    for (d = 0; d < port->rank; ++d) {
      const char *t = p;
      while (t < ends[5] && *t != ',')
        ++t;
      if (t > p && !(port->dim_names[d] = dup_str(p, (size_t)(t - p)))) {
        set_error(m->error, "out of memory");
        return MFC_ERR_OUT_OF_MEMORY;
      }
      if (d + 1 < port->rank && t == ends[5]) {
        set_error(m->error, "model signature line %zu: %s '%s': fewer dim names than rank %lld",
                  line_no, kind, port->name, (long long)port->rank);
        return MFC_ERR_SIGNATURE;
      }
      p = t < ends[5] ? t + 1 : t;
    }
  }
  return MFC_OK;
}

/* The run's inputs must give each symbolic dim name one size. `dims_of(i)`
 * are input i's dims for this run. */
static mfc_status check_dim_names(mfc_session *s, const int64_t *const *dims_of) {
  const mfc_model *m = s->model;
  size_t i, j;
  int64_t d, e;
  for (i = 0; i < m->n_in; ++i)
    for (d = 0; d < m->in[i].rank; ++d) {
      const char *name = m->in[i].dim_names[d];
      if (!name)
        continue;
      for (j = 0; j <= i; ++j)
        for (e = 0; e < m->in[j].rank && (j < i || e < d); ++e)
          if (m->in[j].dim_names[e] && strcmp(m->in[j].dim_names[e], name) == 0 &&
              dims_of[j][e] != dims_of[i][d]) {
            set_error(s->error,
                      "run: input '%s' dim %lld ('%s') is %lld but input '%s' dim %lld "
                      "has it %lld%s",
                      m->in[i].name, (long long)d, name, (long long)dims_of[i][d],
                      m->in[j].name, (long long)e, (long long)dims_of[j][e],
                      s->in_slot[i] >= 0 || s->in_slot[j] >= 0
                          ? " (a state bound with dynamic dims starts empty: set "
                            "its first value)"
                          : "");
            return MFC_ERR_SHAPE;
          }
    }
  return MFC_OK;
}

static mfc_status parse_signature(mfc_model *m, const char *sig) {
  const char *p = sig, *line_end;
  size_t line_no = 0, n_lines = 0, cap_in = 0, cap_out = 0, i, j;
  int seen_output = 0;
  mfc_status st;

  /* Header. */
  line_end = strchr(p, '\n');
  if (!line_end)
    line_end = p + strlen(p);
  {
    const char *hdr = "mfc-signature ";
    size_t hl = strlen(hdr);
    long long v;
    if ((size_t)(line_end - p) <= hl || strncmp(p, hdr, hl) != 0 ||
        parse_int(p + hl, line_end, 0, 1000000, &v) != 0) {
      set_error(m->error,
                "model signature: first line is not 'mfc-signature <version>'");
      return MFC_ERR_SIGNATURE;
    }
    if (v != MFC_SIGNATURE_VERSION) {
      set_error(m->error,
                "model signature version %lld is not supported (this runtime "
                "reads version %d)",
                v, MFC_SIGNATURE_VERSION);
      return MFC_ERR_SIGNATURE;
    }
  }
  line_no = 1;
  p = *line_end ? line_end + 1 : line_end;

  /* Count lines for allocation. */
  {
    const char *q;
    for (q = p; *q; ++q)
      if (*q == '\n')
        ++n_lines;
    ++n_lines;
  }
  m->in = (mfc_port *)calloc(n_lines, sizeof(mfc_port));
  m->out = (mfc_port *)calloc(n_lines, sizeof(mfc_port));
  if (!m->in || !m->out) {
    set_error(m->error, "out of memory");
    return MFC_ERR_OUT_OF_MEMORY;
  }
  cap_in = cap_out = n_lines;
  (void)cap_in;
  (void)cap_out;

  while (*p) {
    ++line_no;
    line_end = strchr(p, '\n');
    if (!line_end)
      line_end = p + strlen(p);
    if (line_end == p) {
      /* Only a final empty line (trailing newline) is allowed. */
      if (*line_end == '\n' && line_end[1] != '\0') {
        set_error(m->error, "model signature line %zu: empty line", line_no);
        return MFC_ERR_SIGNATURE;
      }
    } else if (strncmp(p, "input\t", 6) == 0) {
      if (seen_output) {
        set_error(m->error,
                  "model signature line %zu: input after the outputs",
                  line_no);
        return MFC_ERR_SIGNATURE;
      }
      st = parse_port(m, line_no, p, line_end, "input", &m->in[m->n_in++]);
      if (st != MFC_OK)
        return st;
    } else if (strncmp(p, "output\t", 7) == 0) {
      seen_output = 1;
      st = parse_port(m, line_no, p, line_end, "output", &m->out[m->n_out++]);
      if (st != MFC_OK)
        return st;
    } else {
      set_error(m->error,
                "model signature line %zu: expected 'input' or 'output'",
                line_no);
      return MFC_ERR_SIGNATURE;
    }
    p = *line_end ? line_end + 1 : line_end;
  }

  for (i = 0; i < m->n_in; ++i)
    for (j = i + 1; j < m->n_in; ++j)
      if (strcmp(m->in[i].name, m->in[j].name) == 0) {
        set_error(m->error, "model signature: duplicate input name '%s'",
                  m->in[i].name);
        return MFC_ERR_SIGNATURE;
      }
  for (i = 0; i < m->n_out; ++i)
    for (j = i + 1; j < m->n_out; ++j)
      if (strcmp(m->out[i].name, m->out[j].name) == 0) {
        set_error(m->error, "model signature: duplicate output name '%s'",
                  m->out[i].name);
        return MFC_ERR_SIGNATURE;
      }
  return MFC_OK;
}

/*===------------------------------- Model -------------------------------===*/

static void model_release(mfc_model *m) {
  free_ports(m->in, m->n_in);
  free_ports(m->out, m->n_out);
  m->in = m->out = NULL;
  m->n_in = m->n_out = 0;
  if (m->handle)
    dlclose(m->handle);
  m->handle = NULL;
  m->entry = NULL;
}

mfc_status mfc_model_load(const char *path, mfc_model **model) {
  mfc_model *m;
  const char *err;
  const char *sig;
  void *sym;
  char *open_path;
  mfc_status st;

  if (!model)
    return MFC_ERR_INVALID_ARGUMENT;
  *model = m = (mfc_model *)calloc(1, sizeof(mfc_model));
  if (!m)
    return MFC_ERR_OUT_OF_MEMORY;
  if (!path || !*path) {
    set_error(m->error, "mfc_model_load: no path given");
    return MFC_ERR_INVALID_ARGUMENT;
  }
  m->path = dup_str(path, strlen(path));
  /* A bare file name means a file in the working directory, not a search. */
  open_path = (char *)malloc(strlen(path) + 3);
  if (!m->path || !open_path) {
    free(open_path);
    set_error(m->error, "out of memory");
    return MFC_ERR_OUT_OF_MEMORY;
  }
  if (strchr(path, '/'))
    strcpy(open_path, path);
  else {
    strcpy(open_path, "./");
    strcat(open_path, path);
  }

  dlerror();
  m->handle = dlopen(open_path, RTLD_NOW | RTLD_LOCAL);
  free(open_path);
  if (!m->handle) {
    err = dlerror();
    set_error(m->error, "cannot load model library '%s': %s", path,
              err ? err : "unknown dlopen error");
    return MFC_ERR_LOAD;
  }

  dlerror();
  sym = dlsym(m->handle, "mfc_signature");
  if (!sym) {
    set_error(m->error,
              "model library '%s' has no symbol 'mfc_signature' (not built by "
              "`mfc -o model.so`?)",
              path);
    model_release(m);
    return MFC_ERR_LOAD;
  }
  sig = (const char *)sym;
  dlerror();
  sym = dlsym(m->handle, "mfc_entry");
  if (!sym) {
    set_error(m->error,
              "model library '%s' has no symbol 'mfc_entry' (not built by "
              "`mfc -o model.so`?)",
              path);
    model_release(m);
    return MFC_ERR_LOAD;
  }
  /* Function pointers and object pointers share a representation on POSIX. */
  memcpy(&m->entry, &sym, sizeof(sym));

  st = parse_signature(m, sig);
  if (st != MFC_OK) {
    char tmp[MFC_ERROR_SIZE];
    memcpy(tmp, m->error, sizeof(tmp));
    set_error(m->error, "%s: %s", path, tmp);
    model_release(m);
    return st;
  }
  m->ok = 1;
  m->error[0] = '\0';
  return MFC_OK;
}

void mfc_model_free(mfc_model *model) {
  if (!model)
    return;
  model_release(model);
  free(model->path);
  free(model);
}

const char *mfc_model_last_error(const mfc_model *model) {
  if (!model)
    return "out of memory (no model handle)";
  return model->error;
}

const char *mfc_model_path(const mfc_model *model) {
  return model && model->path ? model->path : "";
}

size_t mfc_model_num_inputs(const mfc_model *model) {
  return model && model->ok ? model->n_in : 0;
}
size_t mfc_model_num_outputs(const mfc_model *model) {
  return model && model->ok ? model->n_out : 0;
}

static const mfc_port *in_port(const mfc_model *m, size_t i) {
  return m && m->ok && i < m->n_in ? &m->in[i] : NULL;
}
static const mfc_port *out_port(const mfc_model *m, size_t i) {
  return m && m->ok && i < m->n_out ? &m->out[i] : NULL;
}

const char *mfc_model_input_name(const mfc_model *model, size_t index) {
  const mfc_port *p = in_port(model, index);
  return p ? p->name : NULL;
}
const char *mfc_model_output_name(const mfc_model *model, size_t index) {
  const mfc_port *p = out_port(model, index);
  return p ? p->name : NULL;
}
mfc_elem_type mfc_model_input_type(const mfc_model *model, size_t index) {
  const mfc_port *p = in_port(model, index);
  return p ? p->type : MFC_ELEM_UNDEFINED;
}
mfc_elem_type mfc_model_output_type(const mfc_model *model, size_t index) {
  const mfc_port *p = out_port(model, index);
  return p ? p->type : MFC_ELEM_UNDEFINED;
}
int64_t mfc_model_input_rank(const mfc_model *model, size_t index) {
  const mfc_port *p = in_port(model, index);
  return p ? p->rank : -1;
}
int64_t mfc_model_output_rank(const mfc_model *model, size_t index) {
  const mfc_port *p = out_port(model, index);
  return p ? p->rank : -1;
}
const int64_t *mfc_model_input_dims(const mfc_model *model, size_t index) {
  const mfc_port *p = in_port(model, index);
  return p ? p->dims : NULL;
}
const int64_t *mfc_model_output_dims(const mfc_model *model, size_t index) {
  const mfc_port *p = out_port(model, index);
  return p ? p->dims : NULL;
}
/* Index of the port called `name` among `n` ports, or -1. */
static int64_t port_index(const mfc_port *ports, size_t n, const char *name) {
  size_t i;
  for (i = 0; i < n; ++i)
    if (strcmp(ports[i].name, name) == 0)
      return (int64_t)i;
  return -1;
}
int64_t mfc_model_input_index(const mfc_model *model, const char *name) {
  return model && model->ok && name ? port_index(model->in, model->n_in, name) : -1;
}
int64_t mfc_model_output_index(const mfc_model *model, const char *name) {
  return model && model->ok && name ? port_index(model->out, model->n_out, name) : -1;
}

/*===------------------------------ Session ------------------------------===*/

/* No input or output bound to a state. */
static void unbind_ports(mfc_session *s) {
  size_t i;
  for (i = 0; i < s->model->n_in; ++i)
    s->in_slot[i] = -1;
  for (i = 0; i < s->model->n_out; ++i)
    s->out_slot[i] = -1;
}

mfc_status mfc_session_create(const mfc_model *model, mfc_session **session) {
  mfc_session *s;
  if (!session)
    return MFC_ERR_INVALID_ARGUMENT;
  *session = NULL;
  if (!model || !model->ok)
    return MFC_ERR_INVALID_ARGUMENT;
  s = (mfc_session *)calloc(1, sizeof(mfc_session));
  if (!s)
    return MFC_ERR_OUT_OF_MEMORY;
  s->model = model;
  s->in_slot = (long *)malloc((model->n_in + 1) * sizeof(long));
  s->out_slot = (long *)malloc((model->n_out + 1) * sizeof(long));
  if (!s->in_slot || !s->out_slot) {
    free(s->in_slot);
    free(s->out_slot);
    free(s);
    return MFC_ERR_OUT_OF_MEMORY;
  }
  unbind_ports(s);
  *session = s;
  return MFC_OK;
}

void mfc_session_clear_bindings(mfc_session *session) {
  size_t i;
  if (!session)
    return;
  for (i = 0; i < session->n_states; ++i)
    free(session->states[i].alloc);
  free(session->states);
  session->states = NULL;
  session->n_states = 0;
  unbind_ports(session);
}

void mfc_session_free(mfc_session *session) {
  if (!session)
    return;
  mfc_session_clear_bindings(session);
  free(session->in_slot);
  free(session->out_slot);
  free(session);
}

const char *mfc_session_last_error(const mfc_session *session) {
  if (!session)
    return "no session (NULL handle)";
  return session->error;
}

size_t mfc_session_num_unbound_inputs(const mfc_session *session) {
  if (!session)
    return 0;
  return session->model->n_in - session->n_states;
}

size_t mfc_session_num_unbound_outputs(const mfc_session *session) {
  if (!session)
    return 0;
  return session->model->n_out - session->n_states;
}

int mfc_session_input_is_bound(const mfc_session *session, size_t index) {
  return session && index < session->model->n_in &&
         session->in_slot[index] >= 0;
}

int mfc_session_output_is_bound(const mfc_session *session, size_t index) {
  return session && index < session->model->n_out &&
         session->out_slot[index] >= 0;
}

/* Sets state st to zeros with the input's initial shape. */
static mfc_status state_zero(mfc_session *s, mfc_state *st) {
  const mfc_port *in = &s->model->in[st->input];
  int64_t dims[MFC_MAX_RANK];
  size_t bytes;
  void *buf;
  int64_t d;
  for (d = 0; d < in->rank; ++d)
    dims[d] = in->dims[d] < 0 ? 0 : in->dims[d];
  if (dense_bytes(in->type, in->rank, dims, &bytes) != 0) {
    set_error(s->error, "state for input '%s': size overflows", in->name);
    return MFC_ERR_UNSUPPORTED;
  }
  buf = calloc(bytes ? bytes : 1, 1);
  if (!buf) {
    set_error(s->error, "state for input '%s': out of memory (%zu bytes)",
              in->name, bytes);
    return MFC_ERR_OUT_OF_MEMORY;
  }
  free(st->alloc);
  st->alloc = st->data = buf;
  memcpy(st->dims, dims, sizeof(dims));
  st->fresh = 1;
  return MFC_OK;
}

/* A fresh (all-zero) state takes the sizes of its named dynamic dims from the
 * unbound inputs of this run, e.g. the batch of input_ids, so that a decode
 * session can start without setting its states. */
static mfc_status size_fresh_states(mfc_session *s, const mfc_tensor *inputs) {
  const mfc_model *m = s->model;
  size_t k, i, t;
  int64_t d, e;
  for (k = 0; k < s->n_states; ++k) {
    mfc_state *st = &s->states[k];
    const mfc_port *in = &m->in[st->input];
    int64_t dims[MFC_MAX_RANK];
    int changed = 0;
    size_t bytes;
    void *buf;
    if (!st->fresh)
      continue;
    memcpy(dims, st->dims, sizeof(dims));
    for (d = 0; d < in->rank; ++d) {
      if (in->dims[d] >= 0 || !in->dim_names[d])
        continue;
      for (i = 0, t = 0; i < m->n_in; ++i) {
        if (s->in_slot[i] >= 0)
          continue;
        for (e = 0; e < m->in[i].rank; ++e)
          if (m->in[i].dim_names[e] && strcmp(m->in[i].dim_names[e], in->dim_names[d]) == 0 &&
              inputs[t].dims[e] != dims[d]) {
            dims[d] = inputs[t].dims[e];
            changed = 1;
          }
        ++t;
      }
    }
    if (!changed)
      continue;
    if (dense_bytes(in->type, in->rank, dims, &bytes) != 0) {
      set_error(s->error, "state for input '%s': size overflows", in->name);
      return MFC_ERR_UNSUPPORTED;
    }
    buf = calloc(bytes ? bytes : 1, 1);
    if (!buf) {
      set_error(s->error, "state for input '%s': out of memory (%zu bytes)", in->name, bytes);
      return MFC_ERR_OUT_OF_MEMORY;
    }
    free(st->alloc);
    st->alloc = st->data = buf;
    memcpy(st->dims, dims, sizeof(dims));
  }
  return MFC_OK;
}

mfc_status mfc_session_bind_state(mfc_session *session,
                                  const char *output_name,
                                  const char *input_name) {
  const mfc_model *m;
  int64_t ii, oi, d;
  const mfc_port *in, *out;
  mfc_state *grown;
  mfc_state st;
  mfc_status rc;
  if (!session)
    return MFC_ERR_INVALID_ARGUMENT;
  m = session->model;
  if (!output_name || !input_name) {
    set_error(session->error, "mfc_session_bind_state: NULL name");
    return MFC_ERR_INVALID_ARGUMENT;
  }
  oi = mfc_model_output_index(m, output_name);
  if (oi < 0) {
    set_error(session->error,
              "bind_state: the model has no output named '%s'", output_name);
    return MFC_ERR_NOT_FOUND;
  }
  ii = mfc_model_input_index(m, input_name);
  if (ii < 0) {
    set_error(session->error, "bind_state: the model has no input named '%s'",
              input_name);
    return MFC_ERR_NOT_FOUND;
  }
  in = &m->in[ii];
  out = &m->out[oi];
  if (session->in_slot[ii] >= 0) {
    set_error(session->error,
              "bind_state: input '%s' is already bound (to output '%s')",
              input_name,
              m->out[session->states[session->in_slot[ii]].output].name);
    return MFC_ERR_STATE;
  }
  if (session->out_slot[oi] >= 0) {
    set_error(session->error,
              "bind_state: output '%s' already feeds input '%s'", output_name,
              m->in[session->states[session->out_slot[oi]].input].name);
    return MFC_ERR_STATE;
  }
  if (in->type != out->type) {
    set_error(session->error,
              "bind_state: output '%s' is %s but input '%s' is %s",
              output_name, mfc_elem_type_name(out->type), input_name,
              mfc_elem_type_name(in->type));
    return MFC_ERR_STATE;
  }
  if (in->rank != out->rank) {
    set_error(session->error,
              "bind_state: output '%s' has rank %lld but input '%s' has rank "
              "%lld",
              output_name, (long long)out->rank, input_name,
              (long long)in->rank);
    return MFC_ERR_STATE;
  }
  for (d = 0; d < in->rank; ++d)
    if (in->dims[d] >= 0 && out->dims[d] >= 0 && in->dims[d] != out->dims[d]) {
      set_error(session->error,
                "bind_state: dim %lld of output '%s' is %lld but of input "
                "'%s' is %lld",
                (long long)d, output_name, (long long)out->dims[d], input_name,
                (long long)in->dims[d]);
      return MFC_ERR_STATE;
    }
  memset(&st, 0, sizeof(st));
  st.input = (size_t)ii;
  st.output = (size_t)oi;
  rc = state_zero(session, &st);
  if (rc != MFC_OK)
    return rc;
  grown = (mfc_state *)realloc(session->states,
                               (session->n_states + 1) * sizeof(mfc_state));
  if (!grown) {
    free(st.alloc);
    set_error(session->error, "bind_state: out of memory");
    return MFC_ERR_OUT_OF_MEMORY;
  }
  session->states = grown;
  session->states[session->n_states] = st;
  session->in_slot[ii] = (long)session->n_states;
  session->out_slot[oi] = (long)session->n_states;
  ++session->n_states;
  return MFC_OK;
}

static mfc_state *find_state(mfc_session *s, const char *input_name,
                             const char *what) {
  int64_t ii;
  if (!input_name) {
    set_error(s->error, "%s: NULL input name", what);
    return NULL;
  }
  ii = mfc_model_input_index(s->model, input_name);
  if (ii < 0) {
    set_error(s->error, "%s: the model has no input named '%s'", what,
              input_name);
    return NULL;
  }
  if (s->in_slot[ii] < 0) {
    set_error(s->error,
              "%s: input '%s' is not bound to an output (see "
              "mfc_session_bind_state)",
              what, input_name);
    return NULL;
  }
  return &s->states[s->in_slot[ii]];
}

mfc_status mfc_session_set_state_shaped(mfc_session *session,
                                        const char *input_name, int64_t rank,
                                        const int64_t *dims, const void *data,
                                        size_t bytes) {
  mfc_state *st;
  const mfc_port *in;
  size_t need;
  void *buf;
  int64_t d;
  char b1[256];
  if (!session)
    return MFC_ERR_INVALID_ARGUMENT;
  st = find_state(session, input_name, "set_state");
  if (!st)
    return MFC_ERR_NOT_FOUND;
  in = &session->model->in[st->input];
  if (rank != in->rank || (rank > 0 && !dims)) {
    set_error(session->error,
              "set_state: input '%s' has rank %lld, got rank %lld", in->name,
              (long long)in->rank, (long long)rank);
    return MFC_ERR_SHAPE;
  }
  for (d = 0; d < rank; ++d) {
    if (dims[d] < 0) {
      set_error(session->error, "set_state: input '%s': dim %lld is negative",
                in->name, (long long)d);
      return MFC_ERR_SHAPE;
    }
    if (in->dims[d] >= 0 && dims[d] != in->dims[d]) {
      set_error(session->error,
                "set_state: input '%s': dim %lld is %lld but the model "
                "expects %lld (shape %s)",
                in->name, (long long)d, (long long)dims[d],
                (long long)in->dims[d],
                fmt_dims(b1, sizeof(b1), in->rank, in->dims));
      return MFC_ERR_SHAPE;
    }
  }
  if (dense_bytes(in->type, rank, dims, &need) != 0) {
    set_error(session->error, "set_state: input '%s': size overflows",
              in->name);
    return MFC_ERR_SHAPE;
  }
  if (bytes != need) {
    set_error(session->error,
              "set_state: input '%s' of shape %s needs %zu bytes, got %zu",
              in->name, fmt_dims(b1, sizeof(b1), rank, dims), need, bytes);
    return MFC_ERR_CAPACITY;
  }
  if (need && !data) {
    set_error(session->error, "set_state: input '%s': NULL data", in->name);
    return MFC_ERR_INVALID_ARGUMENT;
  }
  buf = malloc(need ? need : 1);
  if (!buf) {
    set_error(session->error, "set_state: out of memory (%zu bytes)", need);
    return MFC_ERR_OUT_OF_MEMORY;
  }
  if (need)
    memcpy(buf, data, need);
  free(st->alloc);
  st->alloc = st->data = buf;
  for (d = 0; d < rank; ++d)
    st->dims[d] = dims[d];
  st->fresh = 0;
  return MFC_OK;
}

mfc_status mfc_session_set_state(mfc_session *session, const char *input_name,
                                 const void *data, size_t bytes) {
  mfc_state *st;
  int64_t dims[MFC_MAX_RANK];
  if (!session)
    return MFC_ERR_INVALID_ARGUMENT;
  st = find_state(session, input_name, "set_state");
  if (!st)
    return MFC_ERR_NOT_FOUND;
  memcpy(dims, st->dims, sizeof(dims));
  return mfc_session_set_state_shaped(
      session, input_name, session->model->in[st->input].rank, dims, data,
      bytes);
}

mfc_status mfc_session_get_state(mfc_session *session, const char *input_name,
                                 mfc_tensor *out) {
  mfc_state *st;
  const mfc_port *in;
  size_t need;
  int64_t d;
  if (!session)
    return MFC_ERR_INVALID_ARGUMENT;
  if (!out) {
    set_error(session->error, "get_state: NULL output tensor");
    return MFC_ERR_INVALID_ARGUMENT;
  }
  st = find_state(session, input_name, "get_state");
  if (!st)
    return MFC_ERR_NOT_FOUND;
  in = &session->model->in[st->input];
  out->rank = in->rank;
  for (d = 0; d < MFC_MAX_RANK; ++d)
    out->dims[d] = d < in->rank ? st->dims[d] : 0;
  dense_bytes(in->type, in->rank, st->dims, &need);
  if (out->capacity_bytes < need || (need && !out->data)) {
    set_error(session->error,
              "get_state: state of input '%s' needs %zu bytes, buffer has %zu",
              in->name, need, out->data ? out->capacity_bytes : (size_t)0);
    return MFC_ERR_CAPACITY;
  }
  if (need)
    memcpy(out->data, st->data, need);
  return MFC_OK;
}

mfc_status mfc_session_reset_state(mfc_session *session,
                                   const char *input_name) {
  size_t i;
  mfc_status rc;
  if (!session)
    return MFC_ERR_INVALID_ARGUMENT;
  if (input_name) {
    mfc_state *st = find_state(session, input_name, "reset_state");
    if (!st)
      return MFC_ERR_NOT_FOUND;
    return state_zero(session, st);
  }
  for (i = 0; i < session->n_states; ++i) {
    rc = state_zero(session, &session->states[i]);
    if (rc != MFC_OK)
      return rc;
  }
  return MFC_OK;
}

/*===-------------------------------- Run --------------------------------===*/

/* A decoded output descriptor. */
typedef struct out_view {
  void *allocated;
  char *aligned;
  int64_t offset;
  int64_t rank;
  int64_t sizes[MFC_MAX_RANK];
  int64_t strides[MFC_MAX_RANK];
  size_t bytes; /* dense size */
  int dense;    /* row-major contiguous */
} out_view;

/* Copies an (arbitrarily strided) view into a dense row-major buffer. */
static void copy_strided(char *dst, const out_view *v, size_t esize) {
  int64_t idx[MFC_MAX_RANK];
  int64_t r = v->rank, d, total = 1, n;
  const char *base = v->aligned + v->offset * (int64_t)esize;
  if (v->bytes == 0)
    return;
  if (v->dense) {
    memcpy(dst, base, v->bytes);
    return;
  }
  for (d = 0; d < r; ++d) {
    idx[d] = 0;
    total *= v->sizes[d];
  }
  /* Inner loop over the last dim; odometer over the others. */
  {
    int64_t inner = r ? v->sizes[r - 1] : 1;
    int64_t istride = r ? v->strides[r - 1] : 0;
    for (n = 0; n < total; n += inner) {
      int64_t off = 0, k;
      for (d = 0; d + 1 < r; ++d)
        off += idx[d] * v->strides[d];
      if (istride == 1) {
        memcpy(dst, base + off * (int64_t)esize, (size_t)inner * esize);
        dst += (size_t)inner * esize;
      } else {
        for (k = 0; k < inner; ++k) {
          memcpy(dst, base + (off + k * istride) * (int64_t)esize, esize);
          dst += esize;
        }
      }
      for (d = r - 2; d >= 0; --d) {
        if (++idx[d] < v->sizes[d])
          break;
        idx[d] = 0;
      }
    }
  }
}

mfc_status mfc_session_run(mfc_session *session, const mfc_tensor *inputs,
                           size_t n_inputs, mfc_tensor *outputs,
                           size_t n_outputs) {
  const mfc_model *m;
  size_t n_unbound_in, n_unbound_out, i, k, t, total_words = 0, out_words = 0;
  int all_outputs;
  int64_t *words = NULL, *w;
  void **args = NULL;
  void **in_ptrs = NULL;
  out_view *views = NULL;
  void **new_alloc = NULL, **new_data = NULL;
  char *freed = NULL;
  mfc_status rc = MFC_OK;
  char b1[256], b2[256];
  int64_t d;

  if (!session)
    return MFC_ERR_INVALID_ARGUMENT;
  m = session->model;
  session->error[0] = '\0';
  n_unbound_in = m->n_in - session->n_states;
  n_unbound_out = m->n_out - session->n_states;

  if (n_inputs != n_unbound_in) {
    if (session->n_states)
      set_error(session->error,
                "run: expected %zu input tensors (the model's %zu inputs less "
                "%zu supplied from state), got %zu",
                n_unbound_in, m->n_in, session->n_states, n_inputs);
    else
      set_error(session->error, "run: expected %zu input tensors, got %zu",
                n_unbound_in, n_inputs);
    return MFC_ERR_SHAPE;
  }
  if (n_outputs == m->n_out)
    all_outputs = 1;
  else if (n_outputs == n_unbound_out)
    all_outputs = 0;
  else {
    if (session->n_states)
      set_error(session->error,
                "run: expected %zu output tensors (or %zu: all outputs, "
                "including the %zu bound to state), got %zu",
                n_unbound_out, m->n_out, session->n_states, n_outputs);
    else
      set_error(session->error, "run: expected %zu output tensors, got %zu",
                m->n_out, n_outputs);
    return MFC_ERR_SHAPE;
  }
  if ((n_inputs && !inputs) || (n_outputs && !outputs)) {
    set_error(session->error, "run: NULL inputs or outputs array");
    return MFC_ERR_INVALID_ARGUMENT;
  }

  /* Validate the caller's inputs. */
  for (i = 0, t = 0; i < m->n_in; ++i) {
    const mfc_port *p = &m->in[i];
    const mfc_tensor *x;
    size_t need;
    if (session->in_slot[i] >= 0)
      continue;
    x = &inputs[t++];
    if (x->rank != p->rank) {
      set_error(session->error,
                "run: input '%s' (tensor %zu) has rank %lld but the model "
                "expects rank %lld (shape %s)",
                p->name, t - 1, (long long)x->rank, (long long)p->rank,
                fmt_dims(b1, sizeof(b1), p->rank, p->dims));
      return MFC_ERR_SHAPE;
    }
    for (d = 0; d < p->rank; ++d) {
      if (x->dims[d] < 0) {
        set_error(session->error, "run: input '%s': dim %lld is negative (%lld)",
                  p->name, (long long)d, (long long)x->dims[d]);
        return MFC_ERR_SHAPE;
      }
      if (p->dims[d] >= 0 && x->dims[d] != p->dims[d]) {
        set_error(session->error,
                  "run: input '%s': dim %lld is %lld but the model expects "
                  "%lld (got shape %s, model shape %s)",
                  p->name, (long long)d, (long long)x->dims[d],
                  (long long)p->dims[d],
                  fmt_dims(b1, sizeof(b1), x->rank, x->dims),
                  fmt_dims(b2, sizeof(b2), p->rank, p->dims));
        return MFC_ERR_SHAPE;
      }
    }
    if (dense_bytes(p->type, p->rank, x->dims, &need) != 0) {
      set_error(session->error, "run: input '%s': size overflows", p->name);
      return MFC_ERR_SHAPE;
    }
    if (x->capacity_bytes && x->capacity_bytes < need) {
      set_error(session->error,
                "run: input '%s' of shape %s (%s) needs %zu bytes but its "
                "buffer holds %zu",
                p->name, fmt_dims(b1, sizeof(b1), x->rank, x->dims),
                mfc_elem_type_name(p->type), need, x->capacity_bytes);
      return MFC_ERR_CAPACITY;
    }
    if (need && !x->data) {
      set_error(session->error, "run: input '%s': NULL data", p->name);
      return MFC_ERR_INVALID_ARGUMENT;
    }
  }

  /* Inputs (bound states included) must give each symbolic dim one size. */
  rc = size_fresh_states(session, inputs);
  if (rc != MFC_OK)
    return rc;
  {
    const int64_t **dims_of = (const int64_t **)malloc((m->n_in ? m->n_in : 1) * sizeof(*dims_of));
    if (!dims_of) {
      set_error(session->error, "out of memory");
      return MFC_ERR_OUT_OF_MEMORY;
    }
    for (i = 0, t = 0; i < m->n_in; ++i)
      dims_of[i] = session->in_slot[i] >= 0 ? session->states[session->in_slot[i]].dims
                                            : inputs[t++].dims;
    rc = check_dim_names(session, dims_of);
    free(dims_of);
    if (rc != MFC_OK)
      return rc;
  }

  /* Descriptors: inputs, then the output block. */
  for (i = 0; i < m->n_in; ++i)
    total_words += 3 + 2 * (size_t)m->in[i].rank;
  for (k = 0; k < m->n_out; ++k)
    out_words += 3 + 2 * (size_t)m->out[k].rank;
  words = (int64_t *)calloc(total_words + out_words + 1, sizeof(int64_t));
  args = (void **)calloc(1 + m->n_in, sizeof(void *));
  in_ptrs = (void **)calloc(m->n_in + 1, sizeof(void *));
  views = (out_view *)calloc(m->n_out + 1, sizeof(out_view));
  new_alloc = (void **)calloc(session->n_states + 1, sizeof(void *));
  new_data = (void **)calloc(session->n_states + 1, sizeof(void *));
  freed = (char *)calloc(m->n_out + 1, 1);
  if (!words || !args || !in_ptrs || !views || !new_alloc || !new_data ||
      !freed) {
    set_error(session->error, "run: out of memory");
    rc = MFC_ERR_OUT_OF_MEMORY;
    goto done;
  }

  w = words;
  for (i = 0, t = 0; i < m->n_in; ++i) {
    const mfc_port *p = &m->in[i];
    const int64_t *dims;
    void *data;
    int64_t stride = 1;
    if (session->in_slot[i] >= 0) {
      mfc_state *st = &session->states[session->in_slot[i]];
      dims = st->dims;
      data = st->data;
    } else {
      dims = inputs[t].dims;
      data = inputs[t].data;
      ++t;
    }
    in_ptrs[i] = data;
    args[1 + i] = w;
    memcpy(&w[0], &data, sizeof(void *));
    memcpy(&w[1], &data, sizeof(void *));
    w[2] = 0;
    for (d = p->rank - 1; d >= 0; --d) {
      w[3 + d] = dims[d];
      w[3 + p->rank + d] = stride;
      stride *= dims[d] ? dims[d] : 1;
    }
    w += 3 + 2 * p->rank;
  }
  args[0] = m->n_out ? (void *)w : NULL;

  m->entry(args);

  /* Decode the output descriptors. */
  for (k = 0; k < m->n_out; ++k) {
    const mfc_port *p = &m->out[k];
    out_view *v = &views[k];
    int64_t expect = 1;
    size_t esize = mfc_elem_size(p->type);
    memcpy(&v->allocated, &w[0], sizeof(void *));
    memcpy(&v->aligned, &w[1], sizeof(void *));
    v->offset = w[2];
    v->rank = p->rank;
    for (d = 0; d < p->rank; ++d) {
      v->sizes[d] = w[3 + d];
      v->strides[d] = w[3 + p->rank + d];
    }
    w += 3 + 2 * p->rank;
    v->dense = v->offset >= 0;
    for (d = p->rank - 1; d >= 0; --d) {
      if (v->sizes[d] != 1 && v->strides[d] != expect)
        v->dense = 0;
      expect *= v->sizes[d];
    }
    if (rc != MFC_OK)
      continue; /* keep decoding so that every buffer gets freed */
    for (d = 0; d < p->rank; ++d) {
      if (v->sizes[d] < 0 || (p->dims[d] >= 0 && v->sizes[d] != p->dims[d])) {
        set_error(session->error,
                  "run: the model returned output '%s' with dim %lld = %lld, "
                  "but its signature says %s",
                  p->name, (long long)d, (long long)v->sizes[d],
                  fmt_dims(b1, sizeof(b1), p->rank, p->dims));
        rc = MFC_ERR_MODEL;
        break;
      }
    }
    if (rc != MFC_OK)
      continue;
    if (dense_bytes(p->type, p->rank, v->sizes, &v->bytes) != 0) {
      set_error(session->error, "run: output '%s': size overflows", p->name);
      rc = MFC_ERR_MODEL;
      continue;
    }
    if (v->bytes && (!v->aligned || esize == 0)) {
      set_error(session->error, "run: the model returned output '%s' with a "
                                "NULL data pointer",
                p->name);
      rc = MFC_ERR_MODEL;
    }
  }

  /* Report shapes and check capacities before writing anything. */
  if (rc == MFC_OK) {
    for (k = 0, t = 0; k < m->n_out; ++k) {
      const out_view *v = &views[k];
      mfc_tensor *y;
      if (!all_outputs && session->out_slot[k] >= 0)
        continue;
      y = &outputs[t++];
      y->rank = v->rank;
      for (d = 0; d < MFC_MAX_RANK; ++d)
        y->dims[d] = d < v->rank ? v->sizes[d] : 0;
    }
    for (k = 0, t = 0; k < m->n_out; ++k) {
      const out_view *v = &views[k];
      mfc_tensor *y;
      if (!all_outputs && session->out_slot[k] >= 0)
        continue;
      y = &outputs[t++];
      if (y->capacity_bytes < v->bytes || (v->bytes && !y->data)) {
        set_error(session->error,
                  "run: output '%s' of shape %s (%s) needs %zu bytes but its "
                  "buffer holds %zu",
                  m->out[k].name, fmt_dims(b1, sizeof(b1), v->rank, v->sizes),
                  mfc_elem_type_name(m->out[k].type), v->bytes,
                  y->data ? y->capacity_bytes : (size_t)0);
        rc = MFC_ERR_CAPACITY;
        break;
      }
    }
  }

  /* Check that each bound output fits its input. */
  if (rc == MFC_OK) {
    for (i = 0; i < session->n_states && rc == MFC_OK; ++i) {
      const mfc_state *st = &session->states[i];
      const mfc_port *in = &m->in[st->input];
      const out_view *v = &views[st->output];
      for (d = 0; d < in->rank; ++d)
        if (in->dims[d] >= 0 && v->sizes[d] != in->dims[d]) {
          set_error(session->error,
                    "run: output '%s' has dim %lld = %lld but the input '%s' "
                    "it is bound to expects %lld",
                    m->out[st->output].name, (long long)d,
                    (long long)v->sizes[d], in->name, (long long)in->dims[d]);
          rc = MFC_ERR_STATE;
          break;
        }
    }
  }

  /* Copy to the caller's buffers. */
  if (rc == MFC_OK) {
    for (k = 0, t = 0; k < m->n_out; ++k) {
      if (!all_outputs && session->out_slot[k] >= 0)
        continue;
      copy_strided((char *)outputs[t++].data, &views[k],
                   mfc_elem_size(m->out[k].type));
    }
  }

  /* Prepare the new state values: adopt the library's buffer when it is
   * dense and owned by that output alone, else copy. Nothing is committed
   * until every state is ready. */
  if (rc == MFC_OK) {
    for (i = 0; i < session->n_states; ++i) {
      const mfc_state *st = &session->states[i];
      const out_view *v = &views[st->output];
      int adopt = v->dense && v->allocated != NULL &&
                  (uintptr_t)v->allocated != MFC_MLIR_GLOBAL_SENTINEL &&
                  !freed[st->output];
      size_t j;
      for (j = 0; adopt && j < m->n_in; ++j)
        if (in_ptrs[j] == v->allocated)
          adopt = 0;
      for (j = 0; adopt && j < m->n_out; ++j)
        if (j != st->output && views[j].allocated == v->allocated)
          adopt = 0;
      if (adopt) {
        new_alloc[i] = v->allocated;
        new_data[i] = v->aligned +
                      v->offset * (int64_t)mfc_elem_size(m->out[st->output].type);
        freed[st->output] = 1; /* now owned by the state */
      } else {
        new_alloc[i] = malloc(v->bytes ? v->bytes : 1);
        if (!new_alloc[i]) {
          set_error(session->error, "run: out of memory for state '%s'",
                    m->in[st->input].name);
          rc = MFC_ERR_OUT_OF_MEMORY;
          break;
        }
        new_data[i] = new_alloc[i];
        copy_strided((char *)new_data[i], v,
                     mfc_elem_size(m->out[st->output].type));
      }
    }
    if (rc != MFC_OK) {
      /* Give adopted buffers back to the free list below; drop copies. */
      for (i = 0; i < session->n_states; ++i) {
        const mfc_state *st = &session->states[i];
        if (new_alloc[i] && new_alloc[i] == views[st->output].allocated)
          freed[st->output] = 0;
        else
          free(new_alloc[i]);
        new_alloc[i] = new_data[i] = NULL;
      }
    }
  }

  /* Commit the state. */
  if (rc == MFC_OK) {
    for (i = 0; i < session->n_states; ++i) {
      mfc_state *st = &session->states[i];
      free(st->alloc);
      st->alloc = new_alloc[i];
      st->data = new_data[i];
      st->fresh = 0;
      for (d = 0; d < m->out[st->output].rank; ++d)
        st->dims[d] = views[st->output].sizes[d];
    }
  }

  /* Free the library's buffers: once per distinct pointer, never one we
   * passed in (a model may hand an input back) nor an MLIR global. */
  if (views) {
    for (k = 0; k < m->n_out; ++k) {
      void *a = views[k].allocated;
      size_t j;
      int skip = freed[k] || a == NULL ||
                 (uintptr_t)a == MFC_MLIR_GLOBAL_SENTINEL;
      for (j = 0; !skip && j < m->n_in; ++j)
        if (in_ptrs[j] == a)
          skip = 1;
      /* Adopted by a state (freed[j]) or freed already by an earlier k. */
      for (j = 0; !skip && j < m->n_out; ++j)
        if (j != k && views[j].allocated == a && (freed[j] || j < k))
          skip = 1;
      if (!skip)
        free(a);
    }
  }

done:
  free(words);
  free(args);
  free(in_ptrs);
  free(views);
  free(new_alloc);
  free(new_data);
  free(freed);
  return rc;
}
