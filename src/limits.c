/* limits.c: --limit NAME=N, the named caps of MtdPipelineOptions (see mtd-limits.h). */

#include "mtd-limits.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>


typedef enum {
  FIELD_UINT,  /* guint */
  FIELD_SIZE,  /* gsize */
} FieldType;

typedef struct {
  const char *name;
  gsize offset; /* in MtdPipelineOptions */
  FieldType type;
  guint64 min;
  guint64 max;
  const char *what;
} LimitSpec;

#define UINT_FIELD(member) offsetof (MtdPipelineOptions, member), FIELD_UINT
#define SIZE_FIELD(member) offsetof (MtdPipelineOptions, member), FIELD_SIZE

/* The minimums keep a cap from making analysis impossible (a TLS record is up to 2^14 bytes
 * plus its expansion, RFC 8446 §5.2; a handshake needs its server's and client's chains); the
 * maximums keep a typo from asking for terabytes. */
static const LimitSpec limit_specs[] = {
  { "flows", UINT_FIELD (flow_limits.max_flows), 1, 100000000,
    "live flows at once; beyond it the idlest is evicted (same as --max-flows)" },
  { "closed-flows", UINT_FIELD (flow_limits.max_closed), 0, 10000000,
    "closed flows remembered for a few seconds so that their late packets open nothing" },
  { "reorder-bytes", SIZE_FIELD (flow_limits.max_ooo_bytes), 16 * 1024, G_GUINT64_CONSTANT (1) << 30,
    "out-of-order TCP bytes held per direction while a gap is open" },
  { "handshake-message", SIZE_FIELD (tls_limits.max_handshake_message), 17 * 1024,
    G_GUINT64_CONSTANT (1) << 24,
    "bytes buffered for one TLS handshake message (a longer one is cut and recorded)" },
  { "certificates", UINT_FIELD (tls_limits.max_certificates), 1, 1024,
    "certificates kept per chain" },
  { "list-items", UINT_FIELD (tls_limits.max_list_items), 1, 65536,
    "items kept per list: extensions, acceptable CAs, ALPN names, alerts" },
  { "http-exchanges", UINT_FIELD (max_http_exchanges), 1, 1000000,
    "HTTP requests kept per connection (the others are counted)" },
  { "cached-certificates", UINT_FIELD (max_cached_certs), 1, 10000000,
    "distinct parsed certificates cached by their DER" },
};

static guint64
read_field (const MtdPipelineOptions *options, const LimitSpec *spec)
{
  const char *base = (const char *) options + spec->offset;
  return spec->type == FIELD_UINT ? *(const guint *) base : *(const gsize *) base;
}

static void
write_field (MtdPipelineOptions *options, const LimitSpec *spec, guint64 value)
{
  char *base = (char *) options + spec->offset;
  if (spec->type == FIELD_UINT)
    *(guint *) base = (guint) value;
  else
    *(gsize *) base = (gsize) value;
}

/* "123", "64k", "16M": FALSE for anything else or an overflow. */
static gboolean
parse_count (const char *text, guint64 *value)
{
  if (text == NULL || !g_ascii_isdigit (text[0]))
    return FALSE;
  errno = 0;
  char *end = NULL;
  guint64 number = g_ascii_strtoull (text, &end, 10);
  if (errno != 0)
    return FALSE;
  guint64 unit = 1;
  if (*end == 'k' || *end == 'K')
    unit = 1024;
  else if (*end == 'M')
    unit = 1024 * 1024;
  if (unit != 1)
    end++;
  if (*end != '\0' || number > G_MAXUINT64 / unit)
    return FALSE;
  *value = number * unit;
  return TRUE;
}

gboolean
mtd_limits_set (MtdPipelineOptions *options, const char *assignment, GError **error)
{
  g_return_val_if_fail (options != NULL && assignment != NULL, FALSE);
  const char *equals = strchr (assignment, '=');
  g_autofree char *name = equals != NULL ? g_strndup (assignment, equals - assignment)
                                         : g_strdup (assignment);
  const LimitSpec *spec = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (limit_specs) && spec == NULL; i++)
    if (g_strcmp0 (limit_specs[i].name, name) == 0)
      spec = &limit_specs[i];
  if (spec == NULL) {
    g_autoptr (GString) names = g_string_new (NULL);
    for (gsize i = 0; i < G_N_ELEMENTS (limit_specs); i++)
      g_string_append_printf (names, "%s%s", i > 0 ? ", " : "", limit_specs[i].name);
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "--limit %s: unknown limit \"%s\" (one of %s)", assignment, name, names->str);
    return FALSE;
  }
  guint64 value = 0;
  if (equals == NULL || !parse_count (equals + 1, &value)) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "--limit %s: give NAME=N, N a whole number (64k and 16M are allowed)",
                 assignment);
    return FALSE;
  }
  if (value < spec->min || value > spec->max) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "--limit %s: %s must be between %" G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT,
                 assignment, spec->name, spec->min, spec->max);
    return FALSE;
  }
  write_field (options, spec, value);
  return TRUE;
}

char *
mtd_limits_describe (void)
{
  MtdPipelineOptions defaults;
  mtd_pipeline_options_init_default (&defaults);
  GString *text = g_string_new (NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (limit_specs); i++) {
    const LimitSpec *spec = &limit_specs[i];
    g_string_append_printf (text, "  %-20s default %" G_GUINT64_FORMAT ": %s\n", spec->name,
                            read_field (&defaults, spec), spec->what);
  }
  return g_string_free (text, FALSE);
}
