/* conn-facts.c: life cycle of a connection's, an input's and a TLS handshake's facts, and the
 * run's counters (mtd-conn.h, mtd-tls.h's MtdTlsFacts).
 *
 * Versions follow the IANA TLS registry (RFC 8446 §4.2.1 and Appendix E.2 of RFC 5246 for the
 * SSL 2.0 ClientHello).
 */
#include <stdarg.h>

#include "mtd-conn.h"

const char *
mtd_app_protocol_name (MtdAppProtocol protocol)
{
  switch (protocol) {
  case MTD_APP_TLS:
    return "tls";
  case MTD_APP_HTTP:
    return "http";
  case MTD_APP_OTHER:
  default:
    return "other";
  }
}

void
mtd_conn_cert_header_free (MtdConnCertHeader *cert_header)
{
  if (cert_header == NULL)
    return;
  mtd_certheader_free (cert_header->header);
  g_free (cert_header);
}

MtdConnection *
mtd_connection_new (void)
{
  MtdConnection *connection = g_new0 (MtdConnection, 1);
  connection->app_protocol = MTD_APP_OTHER;
  connection->end_reason = "capture_end";
  connection->warnings = g_ptr_array_new_with_free_func (g_free);
  return connection;
}

/* Frees an owned array whose elements are owned too.  Setting the free function first makes
 * this right whether or not whoever built the array gave it one, and frees each element once. */
static void
free_owned_array (GPtrArray *array, GDestroyNotify element_free)
{
  if (array == NULL)
    return;
  g_ptr_array_set_free_func (array, element_free);
  g_ptr_array_unref (array);
}

void
mtd_connection_free (MtdConnection *connection)
{
  if (connection == NULL)
    return;
  g_free (connection->ndpi_protocol);
  g_free (connection->ja3_client);
  free_owned_array (connection->warnings, g_free);
  mtd_tls_facts_free (connection->tls);
  free_owned_array (connection->http, (GDestroyNotify) mtd_http_exchange_free);
  free_owned_array (connection->cert_headers, (GDestroyNotify) mtd_conn_cert_header_free);
  g_free (connection->starttls_protocol);
  g_free (connection->client_chain_error);
  g_free (connection);
}

void
mtd_connection_warn (MtdConnection *connection, const char *format, ...)
{
  g_return_if_fail (connection != NULL);
  if (connection->warnings == NULL)
    connection->warnings = g_ptr_array_new_with_free_func (g_free);
  va_list args;
  va_start (args, format);
  g_ptr_array_add (connection->warnings, g_strdup_vprintf (format, args));
  va_end (args);
}

void
mtd_tls_facts_free (MtdTlsFacts *facts)
{
  if (facts == NULL)
    return;
  g_free (facts->sni);
  free_owned_array (facts->alpn_offered, g_free);
  free_owned_array (facts->client_signature_algorithms, NULL); /* static or kept names */
  g_free (facts->alpn);
  g_free (facts->requested.reason);
  g_free (facts->presented.reason);
  free_owned_array (facts->acceptable_cas, g_free);
  free_owned_array (facts->cert_types, NULL);
  free_owned_array (facts->signature_algorithms_requested, NULL);
  free_owned_array (facts->client_chain, (GDestroyNotify) mtd_cert_unref);
  free_owned_array (facts->server_chain, (GDestroyNotify) mtd_cert_unref);
  if (facts->alerts != NULL)
    g_array_unref (facts->alerts);
  if (facts->late_auths != NULL)
    g_array_unref (facts->late_auths);
  if (facts->key_updates != NULL)
    g_array_unref (facts->key_updates);
  g_free (facts);
}

MtdInputInfo *
mtd_input_info_new (const char *path)
{
  MtdInputInfo *info = g_new0 (MtdInputInfo, 1);
  info->path = g_strdup (path);
  info->warnings = g_ptr_array_new_with_free_func (g_free);
  return info;
}

void
mtd_input_info_free (MtdInputInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->path);
  g_free (info->link_type);
  free_owned_array (info->warnings, g_free);
  g_free (info);
}

gint
mtd_summary_version_index (guint16 version)
{
  switch (version) {
  case 0x0002: /* the SSL 2.0 ClientHello's version field */
    return 0;
  case 0x0300:
    return 1;
  case 0x0301:
    return 2;
  case 0x0302:
    return 3;
  case 0x0303:
    return 4;
  case 0x0304:
    return 5;
  default:
    /* draft-ietf-tls-tls13-NN (0x7F00 + NN) from old captures counts as TLS 1.3, as the
     * handshake parser treats it. */
    if ((version & 0xFF00) == 0x7F00)
      return 5;
    return -1;
  }
}

void
mtd_summary_add_connection (MtdSummary *summary, const MtdConnection *connection,
                            gboolean has_problem)
{
  g_return_if_fail (summary != NULL && connection != NULL);
  summary->n_connections++;
  const MtdTlsFacts *tls = connection->tls;
  if (tls != NULL) {
    summary->n_tls_connections++;
    gint index = mtd_summary_version_index (tls->version);
    if (tls->version != 0 && index >= 0)
      summary->n_by_version[index]++;
    else
      summary->n_version_unknown++;
    gint requested = CLAMP (tls->requested.value, MTD_REQUESTED_UNKNOWN, MTD_REQUESTED_YES);
    gint presented = CLAMP (tls->presented.value, MTD_PRESENTED_UNKNOWN, MTD_PRESENTED_YES);
    summary->matrix[requested][presented]++;
    if (tls->alerts != NULL)
      summary->n_alerts += tls->alerts->len;
    summary->n_decrypt_by_status[CLAMP (tls->decrypt_status, MTD_DECRYPT_NOT_ATTEMPTED,
                                        MTD_DECRYPT_FAILED)]++;
  }
  /* HTTP read inside TLS with a key log is counted with its TLS connection. */
  if (connection->app_protocol == MTD_APP_HTTP) {
    summary->n_http_connections++;
    if (connection->http != NULL)
      summary->n_http_requests += connection->http->len;
    summary->n_http_requests += connection->n_http_dropped;
  }
  if (connection->is_incomplete)
    summary->n_incomplete++;
  for (guint i = 0; i < MTD_ANOMALY_COUNT; i++)
    summary->anomalies[i] += connection->anomalies.counts[i];
  if (has_problem)
    summary->n_connections_with_problem++;
}

const MtdHttpExchange *
mtd_connection_late_auth_trigger (const MtdConnection *connection, const MtdLateAuth *late)
{
  if (connection->http == NULL || late->trigger_exchange < 0
      || (guint) late->trigger_exchange >= connection->http->len)
    return NULL;
  return g_ptr_array_index (connection->http, (guint) late->trigger_exchange);
}

const char *
mtd_direction_name (MtdDirection direction)
{
  switch (direction) {
  case MTD_DIRECTION_INBOUND:
    return "inbound";
  case MTD_DIRECTION_OUTBOUND:
    return "outbound";
  case MTD_DIRECTION_UNKNOWN:
  default:
    return "unknown";
  }
}

const char *
mtd_chain_check_name (MtdChainCheck check)
{
  switch (check) {
  case MTD_CHAIN_TRUSTED:
    return "trusted";
  case MTD_CHAIN_UNTRUSTED:
    return "untrusted";
  case MTD_CHAIN_NOT_CHECKED:
  default:
    return "not_checked";
  }
}

const char *
mtd_direction_guess (const MtdConnection *connection)
{
  if (connection->direction != MTD_DIRECTION_UNKNOWN || connection->tls == NULL)
    return NULL;
  const MtdTlsFacts *tls = connection->tls;
  gboolean is_requested_late = FALSE;
  for (guint i = 0; tls->late_auths != NULL && i < tls->late_auths->len; i++)
    is_requested_late |= g_array_index (tls->late_auths, MtdLateAuth, i).requested.value
                         == MTD_REQUESTED_YES;
  if (tls->requested.value == MTD_REQUESTED_YES || is_requested_late)
    return "guessed from the handshake: the server asked for a client certificate, so it is the "
           "mTLS endpoint and the client its caller (inbound if the server is the application; "
           "give --app ADDRESS to be sure)";
  return NULL;
}
