/* mtd-http.h: an incremental HTTP/1.x and HTTP/2 parser over the two byte streams of one
 * connection.
 *
 * Owns MtdHttp (per-connection parser state) and MtdHttpExchange (one request and, when seen,
 * its response).  It consumes bytes per direction, not packets, so the same parser serves clear
 * HTTP flows and decrypted TLS streams.  Follows RFC 9112: request and status lines, header
 * fields (case-insensitive names, obsolete line folding), bodies framed by Content-Length or
 * chunked transfer coding, responses without a length read until the close, 1xx interim
 * responses, pipelined requests paired with responses in order.  A client that starts with the
 * HTTP/2 connection preface (RFC 9113 §3.4: h2 over TLS, or h2c with prior knowledge) switches
 * the connection to HTTP/2, whose frames and header compression mtd-http2.h reads: exchanges
 * then follow the streams, in the order the requests were sent.
 */
#pragma once

#include <glib.h>

#include "mtd-anomaly.h"

/* A request header field kept because its name was asked for (mtd_http_keep_headers). */
typedef struct {
  char *name;  /* owned, as sent */
  char *value; /* owned, unfolded, UTF-8 made valid, at most MTD_HTTP_MAX_KEPT_VALUE_LEN bytes */
} MtdHttpHeader;

void mtd_http_header_free (MtdHttpHeader *header); /* NULL-safe */

#define MTD_HTTP_MAX_KEPT_VALUE_LEN (64 * 1024)
#define MTD_HTTP_MAX_KEPT_HEADERS 16
/* Bytes kept of one stored string (method, host, path, location, a kept header's name). */
#define MTD_HTTP_MAX_STRING_LEN (8 * 1024)

typedef struct {
  guint64 request_frame; /* frame that completed the request head (HTTP/2: its field block) */
  char *method;          /* owned; NULL-safe strings below may be NULL when absent */
  char *host;            /* the Host header field (HTTP/2: :authority, else host) */
  char *path;            /* request-target as sent (HTTP/2: :path) */
  char *version;         /* "HTTP/1.1", "HTTP/2" */
  gint status;           /* 0 until a final response is seen */
  guint64 status_frame;  /* frame that completed the response head */
  char *location;        /* the Location header of the response */
  GPtrArray *request_headers; /* MtdHttpHeader*, owned, NULL when none was kept */
} MtdHttpExchange;

void mtd_http_exchange_free (MtdHttpExchange *exchange); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdHttpExchange, mtd_http_exchange_free)

typedef struct _MtdHttp MtdHttp;

/* anomalies is borrowed and must outlive the parser; it may be NULL.  max_exchanges caps the
 * exchanges kept per connection (further ones are counted, not stored). */
MtdHttp *mtd_http_new (MtdAnomalyCounts *anomalies, guint max_exchanges);
void mtd_http_free (MtdHttp *http); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdHttp, mtd_http_free)

/* Request header fields to keep on each exchange, matched case-insensitively: a
 * NULL-terminated array, borrowed, that must outlive the parser.  At most
 * MTD_HTTP_MAX_KEPT_HEADERS are kept per request. */
void mtd_http_keep_headers (MtdHttp *http, const char *const *names);

/* Feeds stream bytes (borrowed) of one direction; frame is the frame that delivered them. */
void mtd_http_feed (MtdHttp *http, gboolean is_from_client, const guint8 *data, gsize len,
                    guint64 frame);
/* Bytes are missing from one direction: that direction's message is abandoned. */
void mtd_http_gap (MtdHttp *http, gboolean is_from_client);
/* The connection ended: a response read until close is complete now. */
void mtd_http_end (MtdHttp *http);

/* TRUE once the client's stream started with the HTTP/2 connection preface (RFC 9113 §3.4). */
gboolean mtd_http_is_h2_prior_knowledge (const MtdHttp *http);
/* TRUE when HTTP/2 frames are read: the client sent the preface, or the server's first bytes
 * were its SETTINGS frame while the client's could still be the preface. */
gboolean mtd_http_is_h2 (const MtdHttp *http);

/* The exchanges seen so far, in request order (MtdHttpExchange*, owned by the parser). */
const GPtrArray *mtd_http_exchanges (const MtdHttp *http);
/* Hands the exchanges over (MtdHttpExchange*, the caller owns the array) and ends parsing. */
GPtrArray *mtd_http_steal_exchanges (MtdHttp *http);
/* Requests beyond max_exchanges that were seen but not kept. */
guint mtd_http_n_dropped (const MtdHttp *http);

/* Does this look like the start of an HTTP/1.x request (a known method and a space)?  Used to
 * classify flows that nDPI has not decided yet. */
gboolean mtd_http_looks_like_request (const guint8 *data, gsize len);
/* Does a direction's first data look like the start of HTTP: from the client a request
 * (mtd_http_looks_like_request) or the HTTP/2 connection preface, whole or its first bytes; from
 * the server the SETTINGS frame header on stream 0 that starts its HTTP/2 preface, which may
 * come before the client's (RFC 9113 §3.4). */
gboolean mtd_http_looks_like_start (const guint8 *data, gsize len, gboolean is_from_client);
