/* mtd-classify.h: what protocol a flow speaks, according to nDPI.
 *
 * Owns MtdClassifier (the nDPI detection module) and MtdClassifyFlow (one flow's nDPI state).
 * classify-ndpi.c is the only file that includes nDPI's headers.  nDPI sees a flow's packets only
 * until it has decided and extracted what it can (the JA3 fingerprint); then its per-flow state,
 * which is large, is freed and only the protocol name and JA3 are kept.
 */
#pragma once

#include <glib.h>

typedef struct _MtdClassifier MtdClassifier;

GQuark mtd_classify_error_quark (void);
MtdClassifier *mtd_classifier_new (GError **error);
void mtd_classifier_free (MtdClassifier *classifier); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdClassifier, mtd_classifier_free)

typedef struct {
  gpointer ndpi_flow;     /* owned nDPI state, NULL once done */
  guint n_packets;
  gboolean is_done;
  char protocol_name[48]; /* "TLS", "HTTP", "TLS.Google", "" when undecided */
  char ja3_client[33];    /* hex MD5, "" when none */
} MtdClassifyFlow;

void mtd_classify_flow_init (MtdClassifyFlow *flow);
void mtd_classify_flow_clear (MtdClassifyFlow *flow);

/* Offers one packet (borrowed IP header and the bytes after it) to nDPI unless the flow is
 * already done. */
void mtd_classify_packet (MtdClassifier *classifier, MtdClassifyFlow *flow, const guint8 *l3,
                          gsize l3_len, gint64 ts_usec);
/* The flow ends: let nDPI guess if it has not decided, and keep its answer. */
void mtd_classify_finish (MtdClassifier *classifier, MtdClassifyFlow *flow);
