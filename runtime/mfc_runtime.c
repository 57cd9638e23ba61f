/*===- mfc_runtime.c - Runtime for mfc-compiled model libraries -----------===*\
 *
 * See include/mfc/Runtime/mfc_runtime.h for the API and
 * the model-library ABI (mfc_signature / mfc_entry).
 *
 * The runtime is split by concern; this file holds the helpers the others
 * share (mfc_runtime_internal.h) and the status and element-type functions.
 *   signature.c  parsing the mfc_signature text into ports
 *   model.c      loading a model library, the model accessors
 *   session.c    sessions and mfc_session_run
 *   state.c      recurrent state: binding, get/set/reset, fresh-state sizing
 *
 * No global mutable state: everything lives in mfc_model (immutable after
 * load) and mfc_session.
\*===----------------------------------------------------------------------===*/

#define _POSIX_C_SOURCE 200809L

#include "mfc_runtime_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*===----------------------------- Helpers -------------------------------===*/

void mfc_set_error(char *buf, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, MFC_ERROR_SIZE, fmt, ap);
  va_end(ap);
}

char *mfc_dup_str(const char *s, size_t n) {
  char *r = (char *)malloc(n + 1);
  if (!r)
    return NULL;
  memcpy(r, s, n);
  r[n] = '\0';
  return r;
}

/* Formats dims as "[a,b,c]" ("?" for -1) into buf. */
const char *mfc_fmt_dims(char *buf, size_t size, int64_t rank,
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
int mfc_dense_bytes(mfc_elem_type type, int64_t rank, const int64_t *dims,
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
