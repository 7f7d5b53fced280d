/* mtd-anomaly.h: the one list of things that can be wrong with traffic.
 *
 * Malformed or unusual traffic is data, not an error: parsers record an anomaly code on the
 * connection, the summary counts them, and reports show them with the name and text below.
 */
#pragma once

#include <glib.h>

typedef enum {
  MTD_ANOMALY_SNAPLEN_TRUNCATED,    /* caplen < wire length: payload cut by the capture */
  MTD_ANOMALY_STREAM_GAP,           /* bytes missing from a TCP stream */
  MTD_ANOMALY_MIDSTREAM_START,      /* no SYN seen: the capture starts inside the connection */
  MTD_ANOMALY_OOO_BUFFER_FULL,      /* out-of-order data exceeded the per-direction cap */
  MTD_ANOMALY_OVERLAP_CONFLICT,     /* a retransmission carried different bytes */
  MTD_ANOMALY_TLS_BAD_RECORD,       /* a record header that cannot be TLS */
  MTD_ANOMALY_TLS_BAD_HANDSHAKE,    /* a handshake message whose lengths do not add up */
  MTD_ANOMALY_TLS_MESSAGE_TOO_LARGE,/* a handshake message larger than the buffering cap */
  MTD_ANOMALY_TLS_TOO_MANY_CERTS,   /* a Certificate list longer than the cap */
  MTD_ANOMALY_TLS_TOO_MANY_ITEMS,   /* extensions, CAs or other lists longer than a cap */
  MTD_ANOMALY_TLS_BAD_CERTIFICATE,  /* a certificate that OpenSSL cannot parse */
  MTD_ANOMALY_TLS_LOST_SYNC,        /* record framing lost after a gap */
  MTD_ANOMALY_TLS_UNEXPECTED_MESSAGE, /* a message out of the RFC's order */
  MTD_ANOMALY_HTTP_BAD_MESSAGE,     /* a request or response that is not valid HTTP */
  MTD_ANOMALY_HTTP_TOO_LARGE,       /* a header block or line larger than the cap */
  MTD_ANOMALY_HTTP_TOO_MANY,        /* more exchanges on one connection than the cap */
  MTD_ANOMALY_HTTP2_BAD_FRAME,      /* an HTTP/2 frame that breaks RFC 9113 framing */
  MTD_ANOMALY_HTTP2_BAD_HPACK,      /* an HTTP/2 field block that HPACK cannot decode */
  MTD_ANOMALY_COUNT
} MtdAnomaly;

/* Stable snake_case name for JSON and a short human sentence for text reports. */
const char *mtd_anomaly_name (MtdAnomaly anomaly);
const char *mtd_anomaly_description (MtdAnomaly anomaly);

/* Per-connection anomaly counters; parsers are handed a borrowed pointer to their connection's. */
typedef struct {
  guint32 counts[MTD_ANOMALY_COUNT];
} MtdAnomalyCounts;

static inline void
mtd_anomaly_note (MtdAnomalyCounts *counts, MtdAnomaly anomaly)
{
  if (counts != NULL && counts->counts[anomaly] < G_MAXUINT32)
    counts->counts[anomaly]++;
}
