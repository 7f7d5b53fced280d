/* anomaly.c: names and sentences for the anomaly codes of mtd-anomaly.h. */
#include "mtd-anomaly.h"

typedef struct {
  const char *name;
  const char *description;
} AnomalyText;

static const AnomalyText anomaly_texts[MTD_ANOMALY_COUNT] = {
  [MTD_ANOMALY_SNAPLEN_TRUNCATED] = { "snaplen_truncated",
                                      "packets cut short by the capture's snaplen" },
  [MTD_ANOMALY_STREAM_GAP] = { "stream_gap", "bytes missing from the TCP stream" },
  [MTD_ANOMALY_MIDSTREAM_START] = { "midstream_start",
                                    "capture starts inside the connection (no SYN)" },
  [MTD_ANOMALY_OOO_BUFFER_FULL] = { "ooo_buffer_full",
                                    "out-of-order data exceeded the buffer cap" },
  [MTD_ANOMALY_OVERLAP_CONFLICT] = { "overlap_conflict",
                                     "a retransmitted segment carried different bytes" },
  [MTD_ANOMALY_TLS_BAD_RECORD] = { "tls_bad_record", "a TLS record header that is not valid" },
  [MTD_ANOMALY_TLS_BAD_HANDSHAKE] = { "tls_bad_handshake",
                                      "a TLS handshake message whose lengths do not add up" },
  [MTD_ANOMALY_TLS_MESSAGE_TOO_LARGE] = { "tls_message_too_large",
                                          "a TLS handshake message larger than the buffer cap" },
  [MTD_ANOMALY_TLS_TOO_MANY_CERTS] = { "tls_too_many_certs",
                                       "a certificate chain longer than the cap" },
  [MTD_ANOMALY_TLS_TOO_MANY_ITEMS] = { "tls_too_many_items",
                                       "a TLS list (extensions, CAs, names) longer than the cap" },
  [MTD_ANOMALY_TLS_BAD_CERTIFICATE] = { "tls_bad_certificate",
                                        "a certificate that could not be parsed" },
  [MTD_ANOMALY_TLS_LOST_SYNC] = { "tls_lost_sync", "TLS record framing lost after missing bytes" },
  [MTD_ANOMALY_TLS_UNEXPECTED_MESSAGE] = { "tls_unexpected_message",
                                           "a TLS handshake message out of order" },
  [MTD_ANOMALY_HTTP_BAD_MESSAGE] = { "http_bad_message",
                                     "a request or response that is not valid HTTP" },
  [MTD_ANOMALY_HTTP_TOO_LARGE] = { "http_too_large",
                                   "an HTTP header block larger than the cap" },
  [MTD_ANOMALY_HTTP_TOO_MANY] = { "http_too_many",
                                  "more HTTP exchanges on one connection than the cap" },
  [MTD_ANOMALY_HTTP2_BAD_FRAME] = { "http2_bad_frame",
                                    "an HTTP/2 frame that breaks the framing rules; the rest of "
                                    "that direction is not read" },
  [MTD_ANOMALY_HTTP2_BAD_HPACK] = { "http2_bad_hpack",
                                    "an HTTP/2 header block that could not be decompressed; the "
                                    "rest of that direction is not read" },
};

const char *
mtd_anomaly_name (MtdAnomaly anomaly)
{
  g_return_val_if_fail (anomaly < MTD_ANOMALY_COUNT, "unknown");
  return anomaly_texts[anomaly].name;
}

const char *
mtd_anomaly_description (MtdAnomaly anomaly)
{
  g_return_val_if_fail (anomaly < MTD_ANOMALY_COUNT, "unknown");
  return anomaly_texts[anomaly].description;
}
