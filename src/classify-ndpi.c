/* classify-ndpi.c: flow classification with nDPI 4.2 (see mtd-classify.h).
 *
 * The only file that includes nDPI's headers.  nDPI 4.2 takes packets from the IP header on and
 * tracks direction itself.
 */
#include "mtd-classify.h"

#include <string.h>

#include <ndpi_api.h>

/* nDPI needs a few packets after its decision to read the ClientHello for JA3 and the
 * certificate; past this many packets a flow has told it all it will. */
#define CLASSIFY_MAX_PACKETS 24

G_DEFINE_QUARK (mtd-classify-error-quark, mtd_classify_error)

struct _MtdClassifier {
  struct ndpi_detection_module_struct *ndpi;
  gsize flow_struct_len;
};

MtdClassifier *
mtd_classifier_new (GError **error)
{
  struct ndpi_detection_module_struct *ndpi = ndpi_init_detection_module (ndpi_no_prefs);
  if (ndpi == NULL) {
    g_set_error_literal (error, mtd_classify_error_quark (), 0,
                         "nDPI could not be initialised");
    return NULL;
  }
  NDPI_PROTOCOL_BITMASK all;
  NDPI_BITMASK_SET_ALL (all);
  ndpi_set_protocol_detection_bitmask2 (ndpi, &all);
  ndpi_finalize_initialization (ndpi);
  MtdClassifier *classifier = g_new0 (MtdClassifier, 1);
  classifier->ndpi = ndpi;
  classifier->flow_struct_len = ndpi_detection_get_sizeof_ndpi_flow_struct ();
  return classifier;
}

void
mtd_classifier_free (MtdClassifier *classifier)
{
  if (classifier == NULL)
    return;
  ndpi_exit_detection_module (classifier->ndpi);
  g_free (classifier);
}

void
mtd_classify_flow_init (MtdClassifyFlow *flow)
{
  memset (flow, 0, sizeof *flow);
}

static void
release_ndpi_flow (MtdClassifyFlow *flow)
{
  if (flow->ndpi_flow != NULL) {
    ndpi_free_flow_data (flow->ndpi_flow);
    g_free (flow->ndpi_flow);
    flow->ndpi_flow = NULL;
  }
}

void
mtd_classify_flow_clear (MtdClassifyFlow *flow)
{
  release_ndpi_flow (flow);
}

static gboolean
is_known (ndpi_protocol protocol)
{
  return protocol.app_protocol != NDPI_PROTOCOL_UNKNOWN
         || protocol.master_protocol != NDPI_PROTOCOL_UNKNOWN;
}

static void
keep_answer (MtdClassifier *classifier, MtdClassifyFlow *flow, ndpi_protocol protocol)
{
  struct ndpi_flow_struct *ndpi_flow = flow->ndpi_flow;
  if (is_known (protocol)) {
    char name[48];
    ndpi_protocol2name (classifier->ndpi, protocol, name, sizeof name);
    if (name[0] != '\0')
      flow->protocol_name = g_intern_string (name);
  }
  /* nDPI writes the JA3 MD5 as 32 hex digits. */
  const char *ja3 = ndpi_flow->protos.tls_quic.ja3_client;
  gsize ja3_len = strnlen (ja3, sizeof ndpi_flow->protos.tls_quic.ja3_client);
  if (ja3_len != 2 * sizeof flow->ja3_client)
    return;
  for (gsize i = 0; i < sizeof flow->ja3_client; i++) {
    gint high = g_ascii_xdigit_value (ja3[2 * i]), low = g_ascii_xdigit_value (ja3[2 * i + 1]);
    if (high < 0 || low < 0)
      return;
    flow->ja3_client[i] = (guint8) (high << 4 | low);
  }
  flow->has_ja3_client = TRUE;
}

char *
mtd_classify_flow_ja3 (const MtdClassifyFlow *flow)
{
  if (!flow->has_ja3_client)
    return NULL;
  /* Once per connection: a digit table rather than sixteen printf calls. */
  static const char digits[] = "0123456789abcdef";
  char *hex = g_malloc (2 * sizeof flow->ja3_client + 1);
  for (gsize i = 0; i < sizeof flow->ja3_client; i++) {
    hex[2 * i] = digits[flow->ja3_client[i] >> 4];
    hex[2 * i + 1] = digits[flow->ja3_client[i] & 0x0f];
  }
  hex[2 * sizeof flow->ja3_client] = '\0';
  return hex;
}

void
mtd_classify_packet (MtdClassifier *classifier, MtdClassifyFlow *flow, const guint8 *l3,
                     gsize l3_len, gint64 ts_usec)
{
  if (flow->is_done || l3 == NULL || l3_len == 0)
    return;
  if (flow->ndpi_flow == NULL)
    flow->ndpi_flow = g_malloc0 (classifier->flow_struct_len);
  flow->n_packets++;
  ndpi_protocol protocol = ndpi_detection_process_packet (
      classifier->ndpi, flow->ndpi_flow, l3, (unsigned short) MIN (l3_len, G_MAXUINT16),
      (u_int64_t) (ts_usec / 1000));
  /* nDPI would go on reading the server's certificate; we parse certificates ourselves and only
   * want its verdict and the client's JA3, which it has once it has seen the ClientHello. */
  struct ndpi_flow_struct *ndpi_flow = flow->ndpi_flow;
  gboolean has_ja3 = ndpi_flow->protos.tls_quic.ja3_client[0] != '\0';
  gboolean has_decided = is_known (protocol)
                         && (has_ja3
                             || !ndpi_extra_dissection_possible (classifier->ndpi, ndpi_flow));
  if (has_decided || flow->n_packets >= CLASSIFY_MAX_PACKETS) {
    if (!is_known (protocol)) {
      u_int8_t was_guessed = 0;
      protocol = ndpi_detection_giveup (classifier->ndpi, flow->ndpi_flow, 1, &was_guessed);
    }
    keep_answer (classifier, flow, protocol);
    release_ndpi_flow (flow);
    flow->is_done = TRUE;
  }
}

void
mtd_classify_finish (MtdClassifier *classifier, MtdClassifyFlow *flow)
{
  if (flow->is_done || flow->ndpi_flow == NULL)
    return;
  u_int8_t was_guessed = 0;
  ndpi_protocol protocol = ndpi_detection_giveup (classifier->ndpi, flow->ndpi_flow, 1,
                                                  &was_guessed);
  keep_answer (classifier, flow, protocol);
  release_ndpi_flow (flow);
  flow->is_done = TRUE;
}
