/*===- session.c - Sessions and running a model ---------------------------===*\
 *
 * A session holds what changes between runs of one model: its state
 * bindings (state.c) and its last error. mfc_session_run validates the
 * inputs, packs them into MLIR memref descriptors, calls mfc_entry, then
 * decodes the output descriptors, copies (possibly strided) results into
 * the caller's buffers, commits bound outputs as the next state and frees
 * what the library allocated.
\*===----------------------------------------------------------------------===*/

#define _POSIX_C_SOURCE 200809L

#include "mfc_runtime_internal.h"

#include <stdlib.h>
#include <string.h>

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
  if (session->model->free_session_buffers)
    session->model->free_session_buffers(session->buffers);
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

/*===-------------------------------- Run --------------------------------===*/

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
            mfc_set_error(s->error,
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
  int bracketed = 0;

  if (!session)
    return MFC_ERR_INVALID_ARGUMENT;
  m = session->model;
  session->error[0] = '\0';
  n_unbound_in = m->n_in - session->n_states;
  n_unbound_out = m->n_out - session->n_states;

  if (n_inputs != n_unbound_in) {
    if (session->n_states)
      mfc_set_error(session->error,
                "run: expected %zu input tensors (the model's %zu inputs less "
                "%zu supplied from state), got %zu",
                n_unbound_in, m->n_in, session->n_states, n_inputs);
    else
      mfc_set_error(session->error, "run: expected %zu input tensors, got %zu",
                n_unbound_in, n_inputs);
    return MFC_ERR_SHAPE;
  }
  if (n_outputs == m->n_out)
    all_outputs = 1;
  else if (n_outputs == n_unbound_out)
    all_outputs = 0;
  else {
    if (session->n_states)
      mfc_set_error(session->error,
                "run: expected %zu output tensors (or %zu: all outputs, "
                "including the %zu bound to state), got %zu",
                n_unbound_out, m->n_out, session->n_states, n_outputs);
    else
      mfc_set_error(session->error, "run: expected %zu output tensors, got %zu",
                m->n_out, n_outputs);
    return MFC_ERR_SHAPE;
  }
  if ((n_inputs && !inputs) || (n_outputs && !outputs)) {
    mfc_set_error(session->error, "run: NULL inputs or outputs array");
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
      mfc_set_error(session->error,
                "run: input '%s' (tensor %zu) has rank %lld but the model "
                "expects rank %lld (shape %s)",
                p->name, t - 1, (long long)x->rank, (long long)p->rank,
                mfc_fmt_dims(b1, sizeof(b1), p->rank, p->dims));
      return MFC_ERR_SHAPE;
    }
    for (d = 0; d < p->rank; ++d) {
      if (x->dims[d] < 0) {
        mfc_set_error(session->error, "run: input '%s': dim %lld is negative (%lld)",
                  p->name, (long long)d, (long long)x->dims[d]);
        return MFC_ERR_SHAPE;
      }
      if (p->dims[d] >= 0 && x->dims[d] != p->dims[d]) {
        mfc_set_error(session->error,
                  "run: input '%s': dim %lld is %lld but the model expects "
                  "%lld (got shape %s, model shape %s)",
                  p->name, (long long)d, (long long)x->dims[d],
                  (long long)p->dims[d],
                  mfc_fmt_dims(b1, sizeof(b1), x->rank, x->dims),
                  mfc_fmt_dims(b2, sizeof(b2), p->rank, p->dims));
        return MFC_ERR_SHAPE;
      }
    }
    if (mfc_dense_bytes(p->type, p->rank, x->dims, &need) != 0) {
      mfc_set_error(session->error, "run: input '%s': size overflows", p->name);
      return MFC_ERR_SHAPE;
    }
    if (x->capacity_bytes && x->capacity_bytes < need) {
      mfc_set_error(session->error,
                "run: input '%s' of shape %s (%s) needs %zu bytes but its "
                "buffer holds %zu",
                p->name, mfc_fmt_dims(b1, sizeof(b1), x->rank, x->dims),
                mfc_elem_type_name(p->type), need, x->capacity_bytes);
      return MFC_ERR_CAPACITY;
    }
    if (need && !x->data) {
      mfc_set_error(session->error, "run: input '%s': NULL data", p->name);
      return MFC_ERR_INVALID_ARGUMENT;
    }
  }

  /* Inputs (bound states included) must give each symbolic dim one size. */
  rc = mfc_size_fresh_states(session, inputs);
  if (rc != MFC_OK)
    return rc;
  {
    const int64_t **dims_of = (const int64_t **)malloc((m->n_in ? m->n_in : 1) * sizeof(*dims_of));
    if (!dims_of) {
      mfc_set_error(session->error, "out of memory");
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
    mfc_set_error(session->error, "run: out of memory");
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

  /* Device libraries replay calls with the input dims they recorded; more inputs than
   * the key holds just run unbracketed. */
  if (m->call_begin) {
    int64_t dims[64 * MFC_MAX_RANK];
    size_t n_dims = 0;
    for (i = 0; i < m->n_in && n_dims + (size_t)m->in[i].rank <= 64 * MFC_MAX_RANK; ++i)
      for (d = 0; d < m->in[i].rank; ++d)
        dims[n_dims++] = ((const int64_t *)args[1 + i])[3 + d];
    bracketed = i == m->n_in;
    if (bracketed)
      m->call_begin((const void *)m, dims, n_dims);
  }
  if (m->run_in_session) {
    char reason[MFC_ERROR_SIZE - 8];
    if (m->run_in_session(m->entry, args, reason, sizeof(reason), &session->buffers)) {
      /* Abandoned by a check: no outputs, the run's buffers are freed already. */
      if (bracketed)
        m->call_end();
      mfc_set_error(session->error, "run: %s", reason);
      rc = MFC_ERR_INVALID_ARGUMENT;
      goto done;
    }
  } else {
    m->entry(args);
  }
  if (bracketed)
    m->call_end();

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
        mfc_set_error(session->error,
                  "run: the model returned output '%s' with dim %lld = %lld, "
                  "but its signature says %s",
                  p->name, (long long)d, (long long)v->sizes[d],
                  mfc_fmt_dims(b1, sizeof(b1), p->rank, p->dims));
        rc = MFC_ERR_MODEL;
        break;
      }
    }
    if (rc != MFC_OK)
      continue;
    if (mfc_dense_bytes(p->type, p->rank, v->sizes, &v->bytes) != 0) {
      mfc_set_error(session->error, "run: output '%s': size overflows", p->name);
      rc = MFC_ERR_MODEL;
      continue;
    }
    if (v->bytes && (!v->aligned || esize == 0)) {
      mfc_set_error(session->error, "run: the model returned output '%s' with a "
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
        mfc_set_error(session->error,
                  "run: output '%s' of shape %s (%s) needs %zu bytes but its "
                  "buffer holds %zu",
                  m->out[k].name, mfc_fmt_dims(b1, sizeof(b1), v->rank, v->sizes),
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
          mfc_set_error(session->error,
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
          mfc_set_error(session->error, "run: out of memory for state '%s'",
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
