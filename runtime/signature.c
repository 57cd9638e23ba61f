/*===- signature.c - Parsing the model signature --------------------------===*\
 *
 * A model library exports mfc_signature: a text header
 * "mfc-signature <version>" and one line per input, then per output
 * ("input|output\tname\ttype\trank\tdims[\tdim names]"). This turns it
 * into the model's ports, checking every field, so that the rest of the
 * runtime can trust them.
\*===----------------------------------------------------------------------===*/

#define _POSIX_C_SOURCE 200809L

#include "mfc_runtime_internal.h"

#include <stdlib.h>
#include <string.h>

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

void mfc_free_ports(mfc_port *ports, size_t n) {
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
    mfc_set_error(m->error,
              "model signature line %zu: expected 5 or 6 tab-separated fields "
              "(%s, name, type, rank, dims[, dim names])",
              line_no, kind);
    return MFC_ERR_SIGNATURE;
  }
  if (fields[1] == ends[1]) {
    mfc_set_error(m->error, "model signature line %zu: empty %s name", line_no,
              kind);
    return MFC_ERR_SIGNATURE;
  }
  port->name = mfc_dup_str(fields[1], (size_t)(ends[1] - fields[1]));
  if (!port->name) {
    mfc_set_error(m->error, "out of memory");
    return MFC_ERR_OUT_OF_MEMORY;
  }
  if (parse_int(fields[2], ends[2], 0, 1000, &v) != 0) {
    mfc_set_error(m->error, "model signature line %zu: %s '%s': bad element type",
              line_no, kind, port->name);
    return MFC_ERR_SIGNATURE;
  }
  port->type = (mfc_elem_type)v;
  if (mfc_elem_size(port->type) == 0) {
    mfc_set_error(m->error,
              "model signature line %zu: %s '%s': unsupported element type "
              "%lld (ONNX TensorProto.DataType)",
              line_no, kind, port->name, v);
    return MFC_ERR_UNSUPPORTED;
  }
  if (parse_int(fields[3], ends[3], 0, 1000000, &v) != 0) {
    mfc_set_error(m->error, "model signature line %zu: %s '%s': bad rank", line_no,
              kind, port->name);
    return MFC_ERR_SIGNATURE;
  }
  if (v > MFC_MAX_RANK) {
    mfc_set_error(m->error,
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
      mfc_set_error(m->error,
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
        mfc_set_error(m->error,
                  "model signature line %zu: %s '%s': %lld dims for rank %lld",
                  line_no, kind, port->name, (long long)d + 1,
                  (long long)port->rank);
        return MFC_ERR_SIGNATURE;
      }
      ++p;
    }
  }
  if (p != ends[4]) {
    mfc_set_error(m->error,
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
      if (t > p && !(port->dim_names[d] = mfc_dup_str(p, (size_t)(t - p)))) {
        mfc_set_error(m->error, "out of memory");
        return MFC_ERR_OUT_OF_MEMORY;
      }
      if (d + 1 < port->rank && t == ends[5]) {
        mfc_set_error(m->error, "model signature line %zu: %s '%s': fewer dim names than rank %lld",
                  line_no, kind, port->name, (long long)port->rank);
        return MFC_ERR_SIGNATURE;
      }
      p = t < ends[5] ? t + 1 : t;
    }
  }
  return MFC_OK;
}

mfc_status mfc_parse_signature(mfc_model *m, const char *sig) {
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
      mfc_set_error(m->error,
                "model signature: first line is not 'mfc-signature <version>'");
      return MFC_ERR_SIGNATURE;
    }
    if (v != MFC_SIGNATURE_VERSION) {
      mfc_set_error(m->error,
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
    mfc_set_error(m->error, "out of memory");
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
        mfc_set_error(m->error, "model signature line %zu: empty line", line_no);
        return MFC_ERR_SIGNATURE;
      }
    } else if (strncmp(p, "input\t", 6) == 0) {
      if (seen_output) {
        mfc_set_error(m->error,
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
      mfc_set_error(m->error,
                "model signature line %zu: expected 'input' or 'output'",
                line_no);
      return MFC_ERR_SIGNATURE;
    }
    p = *line_end ? line_end + 1 : line_end;
  }

  for (i = 0; i < m->n_in; ++i)
    for (j = i + 1; j < m->n_in; ++j)
      if (strcmp(m->in[i].name, m->in[j].name) == 0) {
        mfc_set_error(m->error, "model signature: duplicate input name '%s'",
                  m->in[i].name);
        return MFC_ERR_SIGNATURE;
      }
  for (i = 0; i < m->n_out; ++i)
    for (j = i + 1; j < m->n_out; ++j)
      if (strcmp(m->out[i].name, m->out[j].name) == 0) {
        mfc_set_error(m->error, "model signature: duplicate output name '%s'",
                  m->out[i].name);
        return MFC_ERR_SIGNATURE;
      }
  return MFC_OK;
}
