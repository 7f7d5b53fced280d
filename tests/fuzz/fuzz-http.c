/* fuzz-http.c: libFuzzer harness for the HTTP/1.x and HTTP/2 parser (mtd-http.h, mtd-http2.h).
 *
 * The input is cut into the two directions of one connection (fuzz-chunks.h): side 0 is the
 * client.  Chunks go to mtd_http_feed, gaps to mtd_http_gap, then the connection ends with
 * mtd_http_end and the exchanges are handed over, as src/pipeline.c does.  Flags byte: bit 0
 * keep some request header fields (mtd_http_keep_headers), bits 1-3 the cap on exchanges
 * (0 means none kept), bit 4 hand the exchanges over without calling mtd_http_end first,
 * bit 5 the client's HTTP/2 preface (RFC 9113 §3.4) and an empty SETTINGS frame come first, so
 * the chunks are HTTP/2 frames without the fuzzer having to find the preface, bit 6 the
 * server's empty SETTINGS frame comes before anything.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "fuzz-chunks.h"
#include "mtd-http.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* RFC 9113 §3.4: the client preface and an empty SETTINGS frame (§6.5). */
static const uint8_t client_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                                        "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
static const uint8_t empty_settings[] = { 0, 0, 0, 0x04, 0, 0, 0, 0, 0 };

static const char *const kept_names[] = { "X-ARR-ClientCert", "Host", "X-Forwarded-Client-Cert",
                                          "ssl-client-cert", NULL };

static void
touch_exchanges (const GPtrArray *exchanges)
{
  gsize total = 0;
  for (guint i = 0; exchanges != NULL && i < exchanges->len; i++) {
    const MtdHttpExchange *exchange = g_ptr_array_index (exchanges, i);
    const char *strings[] = { exchange->method, exchange->host, exchange->path,
                              exchange->version, exchange->location };
    for (gsize j = 0; j < G_N_ELEMENTS (strings); j++)
      if (strings[j] != NULL)
        total += strlen (strings[j]);
    for (guint j = 0; exchange->request_headers != NULL && j < exchange->request_headers->len;
         j++) {
      const MtdHttpHeader *header = g_ptr_array_index (exchange->request_headers, j);
      total += strlen (header->name) + strlen (header->value);
      g_assert (g_utf8_validate (header->value, -1, NULL));
      g_assert (strlen (header->value) <= MTD_HTTP_MAX_KEPT_VALUE_LEN);
    }
  }
  (void) total;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  FuzzChunks chunks;
  uint8_t flags = fuzz_chunks_init (&chunks, data, size);
  MtdAnomalyCounts anomalies = { { 0 } };
  g_autoptr (MtdHttp) http = mtd_http_new (&anomalies, (flags >> 1) & 0x07);
  if (flags & 0x01)
    mtd_http_keep_headers (http, kept_names);

  guint64 frame = 0;
  if (flags & 0x40)
    mtd_http_feed (http, FALSE, empty_settings, sizeof empty_settings, ++frame);
  if (flags & 0x20)
    mtd_http_feed (http, TRUE, client_preface, sizeof client_preface - 1, ++frame);
  for (FuzzChunk chunk = fuzz_chunks_next (&chunks); chunk.kind != FUZZ_CHUNK_END;
       chunk = fuzz_chunks_next (&chunks)) {
    gboolean is_from_client = chunk.side == 0;
    if (chunk.kind == FUZZ_CHUNK_GAP) {
      mtd_http_gap (http, is_from_client);
      continue;
    }
    frame++;
    mtd_http_looks_like_request (chunk.data, chunk.len);
    mtd_http_feed (http, is_from_client, chunk.data, chunk.len, frame);
    if (chunk.wants_snapshot)
      touch_exchanges (mtd_http_exchanges (http));
  }
  if (!(flags & 0x10))
    mtd_http_end (http);
  mtd_http_is_h2_prior_knowledge (http);
  mtd_http_is_h2 (http);
  mtd_http_n_dropped (http);
  touch_exchanges (mtd_http_exchanges (http));
  GPtrArray *exchanges = mtd_http_steal_exchanges (http);
  touch_exchanges (exchanges);
  g_ptr_array_unref (exchanges);
  return 0;
}
