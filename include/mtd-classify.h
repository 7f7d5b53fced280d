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

/* Kept for as long as the flow lives, so the answer is compact: the name is interned (nDPI's
 * protocol names are a fixed set) and the JA3 hash is kept as its 16 bytes. */
typedef struct {
  gpointer ndpi_flow;        /* owned nDPI state, NULL once done */
  const char *protocol_name; /* interned: "TLS", "HTTP", "TLS.Google"; NULL when undecided */
  guint8 n_packets;
  guint is_done : 1;
  guint has_ja3_client : 1;
  guint8 ja3_client[16];     /* the client's JA3 MD5 when has_ja3_client */
} MtdClassifyFlow;

void mtd_classify_flow_init (MtdClassifyFlow *flow);
void mtd_classify_flow_clear (MtdClassifyFlow *flow);

/* Offers one packet (borrowed IP header and the bytes after it) to nDPI unless the flow is
 * already done. */
void mtd_classify_packet (MtdClassifier *classifier, MtdClassifyFlow *flow, const guint8 *l3,
                          gsize l3_len, gint64 ts_usec);
/* The client's JA3 as lowercase hex, newly allocated; NULL when nDPI gave none. */
char *mtd_classify_flow_ja3 (const MtdClassifyFlow *flow);
/* The flow ends: let nDPI guess if it has not decided, and keep its answer. */
void mtd_classify_finish (MtdClassifier *classifier, MtdClassifyFlow *flow);
