/*===- model.c - Loading a model library and its accessors ----------------===*\
 *
 * mfc_model_load dlopens a library built by `mfc -o model.so`, finds
 * mfc_signature and mfc_entry and parses the signature; the mfc_model_*
 * accessors read the parsed ports. A model is immutable after load.
\*===----------------------------------------------------------------------===*/

#define _POSIX_C_SOURCE 200809L

#include "mfc_runtime_internal.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

/*===------------------------------- Model -------------------------------===*/

/* Stores the library's function `name` through `function` (a pointer to a function
 * pointer; function and object pointers share a representation on POSIX) when the
 * library defines it; returns whether it does. */
static int optional_function(void *handle, const char *name, void *function) {
  void *sym = dlsym(handle, name);
  if (sym)
    memcpy(function, &sym, sizeof(sym));
  return sym != NULL;
}

static void model_release(mfc_model *m) {
  mfc_free_ports(m->in, m->n_in);
  mfc_free_ports(m->out, m->n_out);
  m->in = m->out = NULL;
  m->n_in = m->n_out = 0;
  if (m->handle)
    dlclose(m->handle);
  m->handle = NULL;
  m->entry = NULL;
  m->run_in_session = NULL;
  m->free_session_buffers = NULL;
  m->set_threads = NULL;
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
    mfc_set_error(m->error, "mfc_model_load: no path given");
    return MFC_ERR_INVALID_ARGUMENT;
  }
  m->path = mfc_dup_str(path, strlen(path));
  /* A bare file name means a file in the working directory, not a search. */
  open_path = (char *)malloc(strlen(path) + 3);
  if (!m->path || !open_path) {
    free(open_path);
    mfc_set_error(m->error, "out of memory");
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
    mfc_set_error(m->error, "cannot load model library '%s': %s%s", path,
                  err ? err : "unknown dlopen error",
                  err && strstr(err, "symbol: __asan_")
                      ? " (compiled with `mfc --sanitize=address`: the process needs the "
                        "ASan runtime, e.g. LD_PRELOAD=$(clang -print-file-name="
                        "libclang_rt.asan-x86_64.so))"
                      : "");
    return MFC_ERR_LOAD;
  }
  dlerror();
  sym = dlsym(m->handle, "mfc_signature");
  if (!sym) {
    mfc_set_error(m->error,
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
    mfc_set_error(m->error,
              "model library '%s' has no symbol 'mfc_entry' (not built by "
              "`mfc -o model.so`?)",
              path);
    model_release(m);
    return MFC_ERR_LOAD;
  }
  /* Function pointers and object pointers share a representation on POSIX. */
  memcpy(&m->entry, &sym, sizeof(sym));

  /* Libraries that run on a device (--target=cuda) open it now, so that a missing
   * driver or GPU is a load error rather than a failure inside mfc_entry. */
  dlerror();
  sym = dlsym(m->handle, "mfc_device_init");
  if (sym) {
    int (*device_init)(char *, size_t);
    char reason[MFC_ERROR_SIZE];
    memcpy(&device_init, &sym, sizeof(sym));
    if (device_init(reason, sizeof(reason)) != 0) {
      mfc_set_error(m->error, "model library '%s' needs a GPU: %s", path, reason);
      model_release(m);
      return MFC_ERR_LOAD;
    }
  }

  if (!optional_function(m->handle, "mfc_run_in_session", &m->run_in_session) &&
      dlsym(m->handle, "mfc_run_guarded")) {
    /* Its checks would not stop a run: they report through a function this runtime
       does not call. */
    mfc_set_error(m->error, "model library '%s' was compiled by an older mfc: compile it again",
                  path);
    model_release(m);
    return MFC_ERR_LOAD;
  }
  optional_function(m->handle, "mfc_free_session_buffers", &m->free_session_buffers);
  optional_function(m->handle, "mfc_kernel_set_threads", &m->set_threads);

  /* ... and may replay calls with the same input shapes (CUDA graphs). */
  optional_function(m->handle, "mfc_device_call_begin", &m->call_begin);
  optional_function(m->handle, "mfc_device_call_end", &m->call_end);
  if (!m->call_begin || !m->call_end)
    m->call_begin = NULL, m->call_end = NULL;

  st = mfc_parse_signature(m, sig);
  if (st != MFC_OK) {
    char tmp[MFC_ERROR_SIZE];
    memcpy(tmp, m->error, sizeof(tmp));
    mfc_set_error(m->error, "%s: %s", path, tmp);
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

mfc_status mfc_model_set_num_threads(mfc_model *model, size_t threads) {
  if (!model || !model->ok || threads == 0)
    return MFC_ERR_INVALID_ARGUMENT;
  if (model->set_threads)
    model->set_threads(threads > 4096 ? 4096 : (int)threads);
  return MFC_OK;
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
