/*===- state.c - Recurrent state of a session -----------------------------===*\
 *
 * mfc_session_bind_state feeds an output back into an input on the next
 * run (a decoder's KV cache, an RNN's hidden state). Each binding owns a
 * dense buffer holding the input's current value: zeros after binding or
 * reset, the caller's after set_state, the bound output after each run.
 * A fresh (still zero) state takes its named dynamic dims from the run's
 * inputs (mfc_size_fresh_states).
\*===----------------------------------------------------------------------===*/

#define _POSIX_C_SOURCE 200809L

#include "mfc_runtime_internal.h"

#include <stdlib.h>
#include <string.h>

/* Sets state st to zeros with the input's initial shape. */
static mfc_status state_zero(mfc_session *s, mfc_state *st) {
  const mfc_port *in = &s->model->in[st->input];
  int64_t dims[MFC_MAX_RANK];
  size_t bytes;
  void *buf;
  int64_t d;
  for (d = 0; d < in->rank; ++d)
    dims[d] = in->dims[d] < 0 ? 0 : in->dims[d];
  if (mfc_dense_bytes(in->type, in->rank, dims, &bytes) != 0) {
    mfc_set_error(s->error, "state for input '%s': size overflows", in->name);
    return MFC_ERR_UNSUPPORTED;
  }
  buf = calloc(bytes ? bytes : 1, 1);
  if (!buf) {
    mfc_set_error(s->error, "state for input '%s': out of memory (%zu bytes)",
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
mfc_status mfc_size_fresh_states(mfc_session *s, const mfc_tensor *inputs) {
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
    if (mfc_dense_bytes(in->type, in->rank, dims, &bytes) != 0) {
      mfc_set_error(s->error, "state for input '%s': size overflows", in->name);
      return MFC_ERR_UNSUPPORTED;
    }
    buf = calloc(bytes ? bytes : 1, 1);
    if (!buf) {
      mfc_set_error(s->error, "state for input '%s': out of memory (%zu bytes)", in->name, bytes);
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
    mfc_set_error(session->error, "mfc_session_bind_state: NULL name");
    return MFC_ERR_INVALID_ARGUMENT;
  }
  oi = mfc_model_output_index(m, output_name);
  if (oi < 0) {
    mfc_set_error(session->error,
              "bind_state: the model has no output named '%s'", output_name);
    return MFC_ERR_NOT_FOUND;
  }
  ii = mfc_model_input_index(m, input_name);
  if (ii < 0) {
    mfc_set_error(session->error, "bind_state: the model has no input named '%s'",
              input_name);
    return MFC_ERR_NOT_FOUND;
  }
  in = &m->in[ii];
  out = &m->out[oi];
  if (session->in_slot[ii] >= 0) {
    mfc_set_error(session->error,
              "bind_state: input '%s' is already bound (to output '%s')",
              input_name,
              m->out[session->states[session->in_slot[ii]].output].name);
    return MFC_ERR_STATE;
  }
  if (session->out_slot[oi] >= 0) {
    mfc_set_error(session->error,
              "bind_state: output '%s' already feeds input '%s'", output_name,
              m->in[session->states[session->out_slot[oi]].input].name);
    return MFC_ERR_STATE;
  }
  if (in->type != out->type) {
    mfc_set_error(session->error,
              "bind_state: output '%s' is %s but input '%s' is %s",
              output_name, mfc_elem_type_name(out->type), input_name,
              mfc_elem_type_name(in->type));
    return MFC_ERR_STATE;
  }
  if (in->rank != out->rank) {
    mfc_set_error(session->error,
              "bind_state: output '%s' has rank %lld but input '%s' has rank "
              "%lld",
              output_name, (long long)out->rank, input_name,
              (long long)in->rank);
    return MFC_ERR_STATE;
  }
  for (d = 0; d < in->rank; ++d)
    if (in->dims[d] >= 0 && out->dims[d] >= 0 && in->dims[d] != out->dims[d]) {
      mfc_set_error(session->error,
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
    mfc_set_error(session->error, "bind_state: out of memory");
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
    mfc_set_error(s->error, "%s: NULL input name", what);
    return NULL;
  }
  ii = mfc_model_input_index(s->model, input_name);
  if (ii < 0) {
    mfc_set_error(s->error, "%s: the model has no input named '%s'", what,
              input_name);
    return NULL;
  }
  if (s->in_slot[ii] < 0) {
    mfc_set_error(s->error,
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
    mfc_set_error(session->error,
              "set_state: input '%s' has rank %lld, got rank %lld", in->name,
              (long long)in->rank, (long long)rank);
    return MFC_ERR_SHAPE;
  }
  for (d = 0; d < rank; ++d) {
    if (dims[d] < 0) {
      mfc_set_error(session->error, "set_state: input '%s': dim %lld is negative",
                in->name, (long long)d);
      return MFC_ERR_SHAPE;
    }
    if (in->dims[d] >= 0 && dims[d] != in->dims[d]) {
      mfc_set_error(session->error,
                "set_state: input '%s': dim %lld is %lld but the model "
                "expects %lld (shape %s)",
                in->name, (long long)d, (long long)dims[d],
                (long long)in->dims[d],
                mfc_fmt_dims(b1, sizeof(b1), in->rank, in->dims));
      return MFC_ERR_SHAPE;
    }
  }
  if (mfc_dense_bytes(in->type, rank, dims, &need) != 0) {
    mfc_set_error(session->error, "set_state: input '%s': size overflows",
              in->name);
    return MFC_ERR_SHAPE;
  }
  if (bytes != need) {
    mfc_set_error(session->error,
              "set_state: input '%s' of shape %s needs %zu bytes, got %zu",
              in->name, mfc_fmt_dims(b1, sizeof(b1), rank, dims), need, bytes);
    return MFC_ERR_CAPACITY;
  }
  if (need && !data) {
    mfc_set_error(session->error, "set_state: input '%s': NULL data", in->name);
    return MFC_ERR_INVALID_ARGUMENT;
  }
  buf = malloc(need ? need : 1);
  if (!buf) {
    mfc_set_error(session->error, "set_state: out of memory (%zu bytes)", need);
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
    mfc_set_error(session->error, "get_state: NULL output tensor");
    return MFC_ERR_INVALID_ARGUMENT;
  }
  st = find_state(session, input_name, "get_state");
  if (!st)
    return MFC_ERR_NOT_FOUND;
  in = &session->model->in[st->input];
  out->rank = in->rank;
  for (d = 0; d < MFC_MAX_RANK; ++d)
    out->dims[d] = d < in->rank ? st->dims[d] : 0;
  mfc_dense_bytes(in->type, in->rank, st->dims, &need);
  if (out->capacity_bytes < need || (need && !out->data)) {
    mfc_set_error(session->error,
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
