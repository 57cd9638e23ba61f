/*===- mfc_runtime.h - Runtime for mfc-compiled model libraries -*- C -*-===*\
 *
 * C99 API to load a model library produced by `mfc model.onnx -o model.so`
 * and run it on host buffers.
 *
 * A model library exports two symbols:
 *   const char mfc_signature[];   graph inputs/outputs: names, types, shapes
 *   void mfc_entry(void **args);  the compiled graph (memref-descriptor ABI)
 * The runtime hides that ABI: the caller hands it plain row-major buffers
 * (mfc_tensor) and gets plain row-major buffers back.
 *
 * The model-library ABI (what the runtime expects; version 1):
 * - mfc_signature: '\n'-separated lines; first `mfc-signature 1`, then one
 *   `input\t<name>\t<type>\t<rank>\t<dims>` line per graph input in order,
 *   then one `output\t...` line per graph output in order. <type> is the
 *   ONNX TensorProto.DataType number (see mfc_elem_type), <dims> is <rank>
 *   comma-separated integers, -1 for a dynamic dim (empty for rank 0). An
 *   optional 6th field `\t<names>` gives <rank> comma-separated symbolic dim
 *   names (ONNX dim_params, empty when unnamed): mfc_session_run rejects
 *   inputs that give one name two sizes, since the compiled code assumes
 *   they agree.
 * - mfc_entry(args): args[1 + i] points to input i's memref descriptor
 *   {void *allocated; void *aligned; int64_t offset; int64_t sizes[R];
 *   int64_t strides[R];} (8-byte fields); the runtime passes
 *   allocated = aligned = its buffer, offset 0, row-major strides, and the
 *   callee only reads it. args[0] points to a block that receives the output
 *   descriptors back to back in order (output k at byte offset
 *   sum_{j<k} (3 + 2*R_j) * 8); it is NULL when the model has no outputs.
 * - Output buffers are malloc()ed by the library; the runtime copies them
 *   (honouring offset and strides) and free()s each distinct `allocated`
 *   pointer once. It never frees a pointer it passed in as an input, nor the
 *   0xdeadbeef sentinel MLIR uses for memref.get_global.
 *
 * Typical use:
 *
 *   mfc_model *m;
 *   if (mfc_model_load("model.so", &m) != MFC_OK) {
 *     fprintf(stderr, "%s\n", mfc_model_last_error(m));
 *     mfc_model_free(m);
 *     return 1;
 *   }
 *   mfc_session *s;
 *   mfc_session_create(m, &s);
 *   mfc_tensor in = {x, 2, {n, 4}, n * 4 * sizeof(float)};
 *   mfc_tensor out = {y, 0, {0}, sizeof y};
 *   if (mfc_session_run(s, &in, 1, &out, 1) != MFC_OK)
 *     fprintf(stderr, "%s\n", mfc_session_last_error(s));
 *   mfc_session_free(s);
 *   mfc_model_free(m);
 *
 * Errors: every function that can fail returns an mfc_status; it never aborts
 * or prints. mfc_status_message() gives a fixed text for a status; the
 * detailed message of the last failure (naming the input, output or dim
 * involved) is kept per model for mfc_model_load() and per session for the
 * session functions. These messages stay valid until the next call on the
 * same object.
 *
 * Threads: there is no mutable global state. A loaded model is immutable and
 * may be shared by any number of sessions on any threads; each session must be
 * used by one thread at a time. Sessions are independent (each has its own
 * decode state and error message). Free every session of a model before the
 * model.
 *
 * Element data are in host byte order (little-endian on the supported hosts),
 * row-major (C order), densely packed; bool is one byte per element (0 or 1),
 * float16/bfloat16 are their 16-bit patterns.
\*===----------------------------------------------------------------------===*/

#ifndef MFC_RUNTIME_MFC_RUNTIME_H
#define MFC_RUNTIME_MFC_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define MFC_RUNTIME_API
#else
#define MFC_RUNTIME_API __attribute__((visibility("default")))
#endif

/** Version of this API; bumped on incompatible changes. */
#define MFC_RUNTIME_API_VERSION 1
/** The signature format version this runtime reads (`mfc-signature 1`). */
#define MFC_SIGNATURE_VERSION 1
/** Largest tensor rank the runtime handles. */
#define MFC_MAX_RANK 8

/*===------------------------------ Status -------------------------------===*/

typedef enum mfc_status {
  MFC_OK = 0,
  /** A NULL handle/pointer, an index out of range, a malformed argument. */
  MFC_ERR_INVALID_ARGUMENT = 1,
  /** The library could not be opened, or lacks mfc_signature / mfc_entry. */
  MFC_ERR_LOAD = 2,
  /** mfc_signature is malformed or of an unsupported version. */
  MFC_ERR_SIGNATURE = 3,
  /** No input/output/state of that name. */
  MFC_ERR_NOT_FOUND = 4,
  /** Wrong number of tensors, wrong rank, or a dim that contradicts the
   * signature (or, for state, the bound input). */
  MFC_ERR_SHAPE = 5,
  /** An output buffer (or set_state data) is smaller than needed. */
  MFC_ERR_CAPACITY = 6,
  MFC_ERR_OUT_OF_MEMORY = 7,
  /** Something valid but not handled (rank > MFC_MAX_RANK, unknown type). */
  MFC_ERR_UNSUPPORTED = 8,
  /** A state binding conflicts with an existing one or with the signature. */
  MFC_ERR_STATE = 9,
  /** The model library returned something the signature does not allow. */
  MFC_ERR_MODEL = 10
} mfc_status;

/** Fixed, static text for a status ("ok", "invalid argument", ...). Never
 * NULL. */
MFC_RUNTIME_API const char *mfc_status_message(mfc_status status);

/*===--------------------------- Element types ---------------------------===*/

/** Element types; the values are ONNX TensorProto.DataType. */
typedef enum mfc_elem_type {
  MFC_ELEM_UNDEFINED = 0,
  MFC_ELEM_FLOAT = 1,
  MFC_ELEM_UINT8 = 2,
  MFC_ELEM_INT8 = 3,
  MFC_ELEM_UINT16 = 4,
  MFC_ELEM_INT16 = 5,
  MFC_ELEM_INT32 = 6,
  MFC_ELEM_INT64 = 7,
  MFC_ELEM_BOOL = 9,
  MFC_ELEM_FLOAT16 = 10,
  MFC_ELEM_DOUBLE = 11,
  MFC_ELEM_UINT32 = 12,
  MFC_ELEM_UINT64 = 13,
  MFC_ELEM_BFLOAT16 = 16
} mfc_elem_type;

/** Bytes per element, or 0 for a type the runtime does not know. */
MFC_RUNTIME_API size_t mfc_elem_size(mfc_elem_type type);
/** Short name ("float32", "int64", "bool", "bfloat16", ...), or "unknown". */
MFC_RUNTIME_API const char *mfc_elem_type_name(mfc_elem_type type);

/*===------------------------------ Tensors ------------------------------===*/

/** A caller-owned host buffer with a shape.
 *
 * As a run input: `data` holds prod(dims[0..rank)) elements of the input's
 * element type; `capacity_bytes` is the size of `data` (checked to be at
 * least the bytes the dims imply; 0 skips that check). `data` may be NULL
 * only when the tensor has no elements.
 *
 * As a run output: the caller sets `data` and `capacity_bytes`; the runtime
 * sets `rank` and `dims` to the actual shape and writes the elements. */
typedef struct mfc_tensor {
  void *data;
  int64_t rank;
  int64_t dims[MFC_MAX_RANK];
  size_t capacity_bytes;
} mfc_tensor;

/*===------------------------------- Model -------------------------------===*/

typedef struct mfc_model mfc_model;

/** dlopen()s a model library, looks up mfc_signature and mfc_entry and parses
 * and validates the signature. A `path` without '/' is taken relative to the
 * working directory (not searched for like dlopen() would).
 *
 * On success returns MFC_OK and sets *model. On failure *model is still set,
 * to a handle that only serves mfc_model_last_error() and mfc_model_free()
 * (other functions reject it), or to NULL when even that could not be
 * allocated; free it with mfc_model_free(). */
MFC_RUNTIME_API mfc_status mfc_model_load(const char *path, mfc_model **model);
/** Closes the library. NULL is a no-op. Free the model's sessions first. */
MFC_RUNTIME_API void mfc_model_free(mfc_model *model);
/** Why mfc_model_load() failed ("" after success). Never NULL; for a NULL
 * model, says that memory ran out. */
MFC_RUNTIME_API const char *mfc_model_last_error(const mfc_model *model);
/** The path the model was loaded from. */
MFC_RUNTIME_API const char *mfc_model_path(const mfc_model *model);

/* Queries on the signature. Indices are in signature (graph) order. An index
 * out of range (or a failed model) gives NULL / MFC_ELEM_UNDEFINED / -1. */
MFC_RUNTIME_API size_t mfc_model_num_inputs(const mfc_model *model);
MFC_RUNTIME_API size_t mfc_model_num_outputs(const mfc_model *model);
MFC_RUNTIME_API const char *mfc_model_input_name(const mfc_model *model,
                                                 size_t index);
MFC_RUNTIME_API const char *mfc_model_output_name(const mfc_model *model,
                                                  size_t index);
MFC_RUNTIME_API mfc_elem_type mfc_model_input_type(const mfc_model *model,
                                                   size_t index);
MFC_RUNTIME_API mfc_elem_type mfc_model_output_type(const mfc_model *model,
                                                    size_t index);
MFC_RUNTIME_API int64_t mfc_model_input_rank(const mfc_model *model,
                                             size_t index);
MFC_RUNTIME_API int64_t mfc_model_output_rank(const mfc_model *model,
                                              size_t index);
/** The signature dims (rank of them), -1 for a dynamic dim. Valid as long as
 * the model; NULL when the index is out of range. */
MFC_RUNTIME_API const int64_t *mfc_model_input_dims(const mfc_model *model,
                                                    size_t index);
MFC_RUNTIME_API const int64_t *mfc_model_output_dims(const mfc_model *model,
                                                     size_t index);
/** Threads the model's kernels use (at least 1). The threads belong to the library
 * and serve all of its sessions; by default as many as the process may run on
 * (MFC_NUM_THREADS, else OMP_NUM_THREADS, overrides that). Set before the first run, this
 * also sets how many are started; afterwards it can only lower the number used. A
 * library without threaded kernels (a GPU library, a model with no ternary product)
 * ignores it. MFC_ERR_INVALID_ARGUMENT for a NULL/failed model or 0. */
MFC_RUNTIME_API mfc_status mfc_model_set_num_threads(mfc_model *model,
                                                     size_t threads);
/** Index of the input/output called `name`, or -1. */
MFC_RUNTIME_API int64_t mfc_model_input_index(const mfc_model *model,
                                              const char *name);
MFC_RUNTIME_API int64_t mfc_model_output_index(const mfc_model *model,
                                               const char *name);

/*===------------------------------ Session ------------------------------===*/

typedef struct mfc_session mfc_session;

/** Creates a session on a loaded model. On failure *session is NULL
 * (MFC_ERR_INVALID_ARGUMENT for a NULL/failed model, MFC_ERR_OUT_OF_MEMORY).
 */
MFC_RUNTIME_API mfc_status mfc_session_create(const mfc_model *model,
                                              mfc_session **session);
/** Frees the session and its state buffers. NULL is a no-op. */
MFC_RUNTIME_API void mfc_session_free(mfc_session *session);
/** Message of the session's last failed call ("" if none failed yet). Never
 * NULL. */
MFC_RUNTIME_API const char *mfc_session_last_error(const mfc_session *session);

/** Runs the model once.
 *
 * Inputs: `inputs` holds one tensor per *unbound* input (every input that is
 * not the target of mfc_session_bind_state), in signature order; so
 * `n_inputs` must equal mfc_session_num_unbound_inputs(). Each must have the
 * input's rank and, where the signature has a static dim, that dim; the
 * element type is the input's (mfc_model_input_type), not checked (the
 * runtime cannot see it). Bound inputs are supplied from the session state.
 * Inputs are only read.
 *
 * Outputs: `n_outputs` is either mfc_session_num_unbound_outputs() -- then
 * `outputs` holds one tensor per output that is not the source of a state
 * binding, in signature order, and bound outputs go only to the state -- or
 * mfc_model_num_outputs() -- then `outputs` holds every output in signature
 * order, and bound outputs are copied out as well as kept as state. (When
 * nothing is bound, the two numbers agree.) The runtime writes each output's
 * rank and dims, checks the capacities of all outputs, and only then copies
 * the data.
 *
 * On MFC_ERR_CAPACITY the rank and dims of every output are nevertheless
 * filled in, so the caller can grow its buffers and run again; the message
 * names the output and the bytes it needs. A value that indexes out of range
 * (a token id past the vocabulary, read by a Gather) fails the run with
 * MFC_ERR_INVALID_ARGUMENT, naming the node, its input and the value; no
 * access leaves a buffer (unless compiled with `mfc --unchecked-indices`).
 * On any failure, the session state is left as it was before the call (a
 * decode step is not half-taken). */
MFC_RUNTIME_API mfc_status mfc_session_run(mfc_session *session,
                                           const mfc_tensor *inputs,
                                           size_t n_inputs,
                                           mfc_tensor *outputs,
                                           size_t n_outputs);

/*===------------------------ Persistent (decode) state ------------------===*/
/* A binding (output X -> input Y) makes the session feed the value that X
 * had at the end of run k into Y at run k+1, without the caller seeing it:
 * the usual KV-cache / recurrent-state loop of decoding.
 *
 * - X and Y must have the same element type and rank, and no dim that is
 *   static in both may differ. An input can be the target of one binding
 *   only, an output the source of one binding only.
 * - Once bound, Y is no longer passed to mfc_session_run (see there).
 * - Before the first run (and after mfc_session_reset_state), the state of Y
 *   is all zeros, with Y's static dims; a dynamic dim takes the size that the
 *   run's unbound inputs give the same dim name (e.g. the batch of input_ids),
 *   else 0 (an empty cache). mfc_session_set_state /
 *   mfc_session_set_state_shaped replace it.
 * - After each successful run, the state of Y is the value of X.
 * - Bindings are set up before running; bind_state after a run is allowed
 *   and starts Y from the zero state.
 */

/** Declares that output `output_name` feeds input `input_name` on the next
 * run. Errors: MFC_ERR_NOT_FOUND, MFC_ERR_STATE (already bound, or type/rank/
 * dim mismatch). */
MFC_RUNTIME_API mfc_status mfc_session_bind_state(mfc_session *session,
                                                  const char *output_name,
                                                  const char *input_name);
/** Replaces the state of bound input `input_name` with `bytes` bytes from
 * `data`, keeping the state's current shape (initially: static dims, 0 for
 * dynamic ones). `bytes` must be exactly the size of that shape (else
 * MFC_ERR_CAPACITY, naming the size needed). */
MFC_RUNTIME_API mfc_status mfc_session_set_state(mfc_session *session,
                                                 const char *input_name,
                                                 const void *data,
                                                 size_t bytes);
/** Like mfc_session_set_state, with a new shape: `rank` must be the input's
 * rank and `dims` must agree with its static dims. */
MFC_RUNTIME_API mfc_status mfc_session_set_state_shaped(
    mfc_session *session, const char *input_name, int64_t rank,
    const int64_t *dims, const void *data, size_t bytes);
/** Copies the current state of bound input `input_name` into `out` (as for a
 * run output: sets rank and dims, checks out->capacity_bytes). */
MFC_RUNTIME_API mfc_status mfc_session_get_state(mfc_session *session,
                                                 const char *input_name,
                                                 mfc_tensor *out);
/** Resets the state of bound input `input_name` (all bound inputs if NULL)
 * to zeros with the initial shape. Bindings are kept. */
MFC_RUNTIME_API mfc_status mfc_session_reset_state(mfc_session *session,
                                                   const char *input_name);
/** Removes every binding (and the state buffers). */
MFC_RUNTIME_API void mfc_session_clear_bindings(mfc_session *session);

/** Number of inputs the caller passes to mfc_session_run (inputs not bound). */
MFC_RUNTIME_API size_t mfc_session_num_unbound_inputs(
    const mfc_session *session);
/** Number of outputs that are not the source of a state binding. */
MFC_RUNTIME_API size_t mfc_session_num_unbound_outputs(
    const mfc_session *session);
/** 1 if input `index` is bound (supplied from state), 0 otherwise. */
MFC_RUNTIME_API int mfc_session_input_is_bound(const mfc_session *session,
                                               size_t index);
/** 1 if output `index` feeds a state binding, 0 otherwise. */
MFC_RUNTIME_API int mfc_session_output_is_bound(const mfc_session *session,
                                                size_t index);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MFC_RUNTIME_MFC_RUNTIME_H */
