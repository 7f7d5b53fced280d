/* fuzz-tls.c: libFuzzer harness for the TLS handshake parser (mtd-tls.h).
 *
 * The input is cut into the two directions of one connection (fuzz-chunks.h) and fed with
 * mtd_tls_feed and mtd_tls_gap to one MtdTls; the facts are then concluded with each side as the
 * client, as src/pipeline.c does when a flow ends.  Flags byte: bit 0 the flow started before the
 * capture (mid-stream), bit 1 small limits so the caps are hit, bit 2 a one-entry certificate
 * cache so it is emptied and refilled.
 */
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "fuzz-chunks.h"
#include "mtd-tls.h"
#include "mtd-x509.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Reads every field the report writers read, so a bad pointer in the facts shows up here, and
 * checks that the lists keep to the caps. */
static void
touch_facts (const MtdTlsFacts *facts, const MtdTlsLimits *limits)
{
  char buf[64];
  mtd_tls_version_name (facts->version, buf, sizeof buf);
  mtd_tls_version_name (facts->client_max_version, buf, sizeof buf);
  mtd_tls_cipher_suite_name (facts->cipher_suite, buf, sizeof buf);
  mtd_requested_name ((MtdRequested) facts->requested.value);
  mtd_presented_name ((MtdPresented) facts->presented.value);
  mtd_how_name (facts->requested.how);
  mtd_how_name (facts->presented.how);
  gsize total = 0;
  const char *strings[] = { facts->sni, facts->alpn, facts->requested.reason,
                            facts->presented.reason };
  for (gsize i = 0; i < G_N_ELEMENTS (strings); i++)
    if (strings[i] != NULL)
      total += strlen (strings[i]);
  GPtrArray *string_lists[] = { facts->alpn_offered, facts->client_signature_algorithms,
                                facts->acceptable_cas, facts->cert_types,
                                facts->signature_algorithms_requested };
  for (gsize i = 0; i < G_N_ELEMENTS (string_lists); i++)
    for (guint j = 0; string_lists[i] != NULL && j < string_lists[i]->len; j++)
      total += strlen (g_ptr_array_index (string_lists[i], j));
  GPtrArray *chains[] = { facts->client_chain, facts->server_chain };
  for (gsize i = 0; i < G_N_ELEMENTS (chains); i++)
    for (guint j = 0; chains[i] != NULL && j < chains[i]->len; j++) {
      const MtdCert *cert = g_ptr_array_index (chains[i], j);
      total += strlen (cert->subject) + strlen (cert->issuer) + strlen (cert->serial_hex);
    }
  for (guint i = 0; facts->alerts != NULL && i < facts->alerts->len; i++) {
    const MtdTlsAlert *alert = &g_array_index (facts->alerts, MtdTlsAlert, i);
    mtd_tls_alert_name (alert->description, buf, sizeof buf);
  }
  (void) total;
  for (gsize i = 0; i < G_N_ELEMENTS (chains); i++)
    g_assert (chains[i] == NULL || chains[i]->len <= limits->max_certificates);
  g_assert (facts->acceptable_cas == NULL || facts->acceptable_cas->len <= limits->max_list_items);
  g_assert (facts->alpn_offered == NULL || facts->alpn_offered->len <= limits->max_list_items);
  g_assert (facts->alerts == NULL || facts->alerts->len <= limits->max_list_items);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  FuzzChunks chunks;
  uint8_t flags = fuzz_chunks_init (&chunks, data, size);
  MtdTlsLimits limits;
  mtd_tls_limits_init_default (&limits);
  if (flags & 0x02) {
    limits.max_handshake_message = 512;
    limits.max_certificates = 2;
    limits.max_list_items = 3;
  }
  g_autoptr (MtdCertCache) cache = mtd_cert_cache_new ((flags & 0x04) ? 1 : 64);
  MtdAnomalyCounts anomalies = { { 0 } };
  g_autoptr (MtdTls) tls = mtd_tls_new (&limits, cache, &anomalies);
  mtd_tls_set_midstream (tls, (flags & 0x01) != 0);

  guint64 frame = 0;
  for (FuzzChunk chunk = fuzz_chunks_next (&chunks); chunk.kind != FUZZ_CHUNK_END;
       chunk = fuzz_chunks_next (&chunks)) {
    if (chunk.kind == FUZZ_CHUNK_GAP) {
      mtd_tls_gap (tls, chunk.side, chunk.len);
      continue;
    }
    frame++;
    mtd_tls_looks_like_start (chunk.data, chunk.len);
    mtd_tls_feed (tls, chunk.side, chunk.data, chunk.len, frame, (gint64) frame * 1000);
    mtd_tls_is_side_quiet (tls, chunk.side);
    mtd_tls_is_handshake_over (tls);
    mtd_tls_has_seen_tls (tls);
    if (chunk.wants_snapshot) {
      gint client = mtd_tls_client_side (tls);
      g_autoptr (MtdTlsFacts) snapshot = mtd_tls_conclude (tls, client >= 0 ? (guint) client : 0);
      touch_facts (snapshot, &limits);
    }
  }
  mtd_tls_client_side (tls);
  for (guint client = 0; client < 2; client++) {
    g_autoptr (MtdTlsFacts) facts = mtd_tls_conclude (tls, client);
    touch_facts (facts, &limits);
  }
  return 0;
}
