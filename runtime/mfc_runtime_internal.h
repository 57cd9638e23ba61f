/*===- mfc_runtime_internal.h - Shared definitions of the runtime ---------===*\
 *
 * Private to the runtime's .c files: the layouts of mfc_model and
 * mfc_session and the helpers those files share. Nothing here is part of the
 * public API (include/mfc/Runtime/mfc_runtime.h): the helpers are hidden, so
 * the library exports exactly the MFC_RUNTIME_API functions.
 *
 * No global mutable state: everything lives in mfc_model (immutable after
 * load) and mfc_session.
\*===----------------------------------------------------------------------===*/

#ifndef MFC_RUNTIME_MFC_RUNTIME_INTERNAL_H
#define MFC_RUNTIME_MFC_RUNTIME_INTERNAL_H

#include "mfc/Runtime/mfc_runtime.h"

#include <stddef.h>
#include <stdint.h>

/* Internal to libmfc_runtime.so even without -fvisibility=hidden. */
#define MFC_INTERNAL __attribute__((visibility("hidden")))

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
  /* Device libraries: brackets around each call (the model and its input dims). */
  void (*call_begin)(const void *model, const int64_t *dims, size_t n_dims);
  void (*call_end)(void);
  /* Libraries whose code checks indices and shapes run through this, which returns 1
   * with the message when a check abandoned the run and keeps a session's large
   * buffers for its next run (runtime/kernels/run_errors.c); the other frees them. */
  int (*run_in_session)(mfc_entry_fn entry, void **args, char *buf, size_t n, void **buffers);
  void (*free_session_buffers)(void *buffers);
  /* CPU libraries whose kernels run on threads (runtime/kernels/thread_pool.c). */
  int (*set_threads)(int threads);
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
  void *buffers; /* the library's pool of this session's buffers (run_in_session) */
  char error[MFC_ERROR_SIZE];
};

/*===----------------------------- Helpers -------------------------------===*/

/* printf-formats an error message into buf (MFC_ERROR_SIZE bytes). */
MFC_INTERNAL void mfc_set_error(char *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A malloc'ed, NUL-terminated copy of s[0, n); NULL when out of memory. */
MFC_INTERNAL char *mfc_dup_str(const char *s, size_t n);

/* Formats dims as "[a,b,c]" ("?" for -1) into buf. */
MFC_INTERNAL const char *mfc_fmt_dims(char *buf, size_t size, int64_t rank,
                                      const int64_t *dims);

/* Number of bytes of a dense tensor; 0 on success, -1 on overflow. */
MFC_INTERNAL int mfc_dense_bytes(mfc_elem_type type, int64_t rank,
                                 const int64_t *dims, size_t *out);

/*===---------------------------- signature.c ----------------------------===*/

/* Parses the mfc_signature text into m->in / m->out; on failure sets
 * m->error (the caller frees the ports with mfc_free_ports). */
MFC_INTERNAL mfc_status mfc_parse_signature(mfc_model *m, const char *sig);

/* Frees the n ports of a signature, their names and dim names. */
MFC_INTERNAL void mfc_free_ports(mfc_port *ports, size_t n);

/*===------------------------------ state.c ------------------------------===*/

/* Resizes fresh states to the named dynamic dims of this run's unbound
 * inputs (see state.c). */
MFC_INTERNAL mfc_status mfc_size_fresh_states(mfc_session *s,
                                              const mfc_tensor *inputs);

#endif /* MFC_RUNTIME_MFC_RUNTIME_INTERNAL_H */
