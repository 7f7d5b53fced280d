/* mtd-http2.h: the HTTP/2 side of the HTTP parser: frames and header compression of one
 * connection.
 *
 * Owns MtdHttp2: a frame reader per direction (RFC 9113 §4 framing, §6 frame definitions) and
 * an HPACK inflater per direction (RFC 7541, through nghttp2, which only src/http2-frames.c
 * includes).  It starts after the client connection preface (RFC 9113 §3.4), which the HTTP
 * parser (mtd-http.h) matches, and turns each request's header block into an MtdHttpExchange
 * and each final response's into its status.  Field blocks are decompressed as their bytes
 * arrive, so nothing of a frame is buffered but its 9-octet header; DATA and other payloads
 * are skipped by their lengths.
 */
#pragma once

#include <glib.h>

#include "mtd-anomaly.h"
#include "mtd-cursor.h"
#include "mtd-http.h"

/* RFC 9113 §4.1: "All frames begin with a fixed 9-octet header". */
#define MTD_HTTP2_FRAME_HEADER_LEN 9
/* RFC 9113 §6.5.2: SETTINGS_MAX_FRAME_SIZE "The initial value is 2^14 (16,384) octets". */
#define MTD_HTTP2_INITIAL_MAX_FRAME_SIZE 16384
/* Compressed bytes of one field block (HEADERS or PUSH_PROMISE and its CONTINUATION frames)
 * whose fields are kept; a longer block is still decompressed, its fields are not kept. */
#define MTD_HTTP2_MAX_BLOCK_LEN (64 * 1024)
/* The largest HPACK dynamic table an inflater may hold (RFC 7541 §4.2; an endpoint announces
 * its own with SETTINGS_HEADER_TABLE_SIZE, RFC 9113 §6.5.2). */
#define MTD_HTTP2_MAX_TABLE_SIZE (64 * 1024)
/* Requests still waiting for their final response. */
#define MTD_HTTP2_MAX_OPEN_STREAMS 1024

typedef struct _MtdHttp2 MtdHttp2;

/* Asked for a new exchange each time a request's field block is complete, so in request order.
 * Returns an exchange the caller owns and keeps until mtd_http2_end (the reader fills in the
 * response as it comes), or NULL when the request is not kept. */
typedef MtdHttpExchange *(*MtdHttp2NewExchange) (gpointer user_data);

/* anomalies (may be NULL) and user_data are borrowed and must outlive the reader. */
MtdHttp2 *mtd_http2_new (MtdAnomalyCounts *anomalies, MtdHttp2NewExchange new_exchange,
                         gpointer user_data);
void mtd_http2_free (MtdHttp2 *h2); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdHttp2, mtd_http2_free)

/* Request fields to keep, as mtd_http_keep_headers: borrowed, NULL-terminated, may be NULL. */
void mtd_http2_keep_headers (MtdHttp2 *h2, const char *const *names);

/* Feeds the frames of one direction, from the first octet after the client preface (client) or
 * the first octet (server); reads all of in.  frame is the frame that delivered the bytes.  The
 * client's first frame must be its SETTINGS; the server's may be any frame, since its SETTINGS
 * can precede the client's preface and so be missing when parsing starts at the preface. */
void mtd_http2_feed (MtdHttp2 *h2, gboolean is_from_client, MtdCursor *in, guint64 frame);
/* Bytes are missing from one direction: frames and header compression state are lost, so
 * nothing more is read from it. */
void mtd_http2_gap (MtdHttp2 *h2, gboolean is_from_client);
/* Nothing more is read; the exchanges handed out are not touched again. */
void mtd_http2_end (MtdHttp2 *h2);
