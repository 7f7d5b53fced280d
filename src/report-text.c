/* report-text.c: the report for people: one block per connection as it finishes, then the inputs
 * and a summary; and the one-line form of live mode.
 *
 * Every string that came from the wire is escaped for the terminal: C0 and C1 control characters
 * (ECMA-48 §5) and bytes that are not UTF-8 (RFC 3629) are shown as \xNN, and bidirectional
 * formatting characters (Unicode UAX #9) as \u{NNNN}, so a hostile SNI, DN or URL cannot move
 * the cursor, recolour the terminal or reorder what is shown.
 */
#include <errno.h>
#include <string.h>

#include "report-private.h"

/* Acceptable CAs shown on the "requested" line before "and N more". */
#define MAX_CAS_SHOWN 4

static gboolean
is_bidi_control (gunichar c)
{
  return c == 0x061C || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E)
         || (c >= 0x2066 && c <= 0x2069);
}

/* Writes untrusted text ("-" for NULL) so that it is safe to show on a terminal.  The backslash
 * is doubled so the escapes cannot be forged. */
static void
put_text (FILE *out, const char *text)
{
  if (text == NULL) {
    fputc ('-', out);
    return;
  }
  const char *p = text;
  const char *end = text + strlen (text);
  while (p < end) {
    const char *span = p;
    while (p < end && (guchar) *p >= 0x20 && (guchar) *p < 0x7F && *p != '\\')
      p++;
    if (p > span)
      fwrite (span, 1, (gsize) (p - span), out);
    if (p >= end)
      break;
    const char *start = p;
    guint8 invalid_byte = 0;
    gunichar c = mtd_report_next_char (&p, end, &invalid_byte);
    if (c == MTD_REPORT_INVALID_CHAR)
      fprintf (out, "\\x%02X", invalid_byte);
    else if (c == '\\')
      fputs ("\\\\", out);
    else if (c < 0x20 || (c >= 0x7F && c < 0xA0))
      fprintf (out, "\\x%02X", (guint) c);
    else if (is_bidi_control (c))
      fprintf (out, "\\u{%04X}", (guint) c);
    else
      fwrite (start, 1, (gsize) (p - start), out);
  }
}

/* "10.0.0.5:51234" or "[::1]:443" */
static void
put_endpoint (FILE *out, const MtdEndpoint *endpoint)
{
  gboolean is_ipv6 = strchr (endpoint->ip, ':') != NULL;
  if (is_ipv6)
    fputc ('[', out);
  put_text (out, endpoint->ip);
  if (is_ipv6)
    fputc (']', out);
  fprintf (out, ":%u", endpoint->port);
}

static void
put_frames (FILE *out, const MtdVerdict *verdict)
{
  guint n_frames = MIN (verdict->n_frames, MTD_MAX_EVIDENCE_FRAMES);
  if (n_frames == 0)
    return;
  fputs (n_frames == 1 ? ", frame " : ", frames ", out);
  for (guint i = 0; i < n_frames; i++)
    fprintf (out, "%s%" G_GUINT64_FORMAT, i > 0 ? ", " : "", verdict->frames[i]);
}

/* "(observed, frame 6)"; nothing when neither how nor frames are known. */
static void
put_evidence (FILE *out, const MtdVerdict *verdict)
{
  const char *how = mtd_how_name (verdict->how);
  if (how == NULL && verdict->n_frames == 0)
    return;
  fprintf (out, " (%s", how != NULL ? how : "evidence");
  put_frames (out, verdict);
  fputc (')', out);
}

static const char *
version_label (const MtdTlsFacts *tls, char *buf, gsize buf_len)
{
  if (tls->version == 0)
    return "TLS (version unknown)";
  return mtd_tls_version_name (tls->version, buf, buf_len);
}

static void
put_header (FILE *out, const MtdConnection *connection)
{
  fprintf (out, "#%" G_GUINT64_FORMAT " ", connection->id);
  const MtdTlsFacts *tls = connection->tls;
  if (tls != NULL) {
    char buf[64];
    fputs (version_label (tls, buf, sizeof buf), out);
  } else if (connection->app_protocol == MTD_APP_HTTP || connection->http != NULL) {
    fputs (connection->is_h2_prior_knowledge ? "HTTP/2 (cleartext)" : "HTTP", out);
  } else {
    fputs ("other", out);
  }
  fputs ("  ", out);
  put_endpoint (out, &connection->client);
  fputs (connection->is_role_guessed ? " -> (guessed) " : " -> ", out);
  put_endpoint (out, &connection->server);
  fprintf (out, "  frames %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT, connection->first_frame,
           connection->last_frame);
  if (connection->input_index > 0)
    fprintf (out, " of input %u", connection->input_index + 1);

  gboolean has_details = FALSE;
  if (tls != NULL && tls->sni != NULL) {
    fputs ("  (sni ", out);
    put_text (out, tls->sni);
    has_details = TRUE;
  }
  if (tls != NULL && tls->alpn != NULL) {
    fputs (has_details ? ", alpn " : "  (alpn ", out);
    put_text (out, tls->alpn);
    has_details = TRUE;
  }
  if (connection->has_starttls) {
    fputs (has_details ? ", starttls " : "  (starttls ", out);
    put_text (out, connection->starttls_protocol != NULL ? connection->starttls_protocol
                                                         : "unknown");
    has_details = TRUE;
  }
  if (tls == NULL && connection->ndpi_protocol != NULL) {
    fputs (has_details ? ", nDPI " : "  (nDPI ", out);
    put_text (out, connection->ndpi_protocol);
    has_details = TRUE;
  }
  if (has_details)
    fputc (')', out);
  fputc ('\n', out);
}

static void
put_times (FILE *out, const MtdConnection *connection)
{
  char start[MTD_REPORT_TIME_LEN];
  char end[MTD_REPORT_TIME_LEN];
  if (!mtd_report_format_usec (connection->start_usec, start, sizeof start))
    g_strlcpy (start, "?", sizeof start);
  if (!mtd_report_format_usec (connection->end_usec, end, sizeof end))
    g_strlcpy (end, "?", sizeof end);
  fprintf (out,
           "   %s to %s, %" G_GUINT64_FORMAT " packets, %" G_GUINT64_FORMAT
           " bytes client to server, %" G_GUINT64_FORMAT " bytes server to client, end: ",
           start, end, connection->n_packets, connection->n_payload_bytes[0],
           connection->n_payload_bytes[1]);
  put_text (out, connection->end_reason);
  fputc ('\n', out);
}

/* The runbook's first question: inbound or outbound, from --app; without it, the roles that
 * the handshake shows. */
static void
put_direction (FILE *out, const MtdConnection *connection)
{
  if (connection->direction == MTD_DIRECTION_INBOUND)
    fputs ("   inbound: the server is the application (--app), the client its caller\n", out);
  else if (connection->direction == MTD_DIRECTION_OUTBOUND)
    fputs ("   outbound: the client is the application (--app), calling out\n", out);
  else if (connection->tls != NULL && connection->tls->requested.value == MTD_REQUESTED_YES)
    fputs ("   direction unknown (no --app address here): the server asked for a certificate, "
           "so it is the mTLS endpoint and the client its caller\n",
           out);
}

static void
put_chain_check (FILE *out, const MtdConnection *connection)
{
  if (connection->client_chain_check == MTD_CHAIN_NOT_CHECKED && !connection->has_expected_thumbprints)
    return;
  fputs ("      ", out);
  if (connection->client_chain_check != MTD_CHAIN_NOT_CHECKED) {
    fprintf (out, "chain against --ca: %s", mtd_chain_check_name (connection->client_chain_check));
    if (connection->client_chain_error != NULL) {
      fputs (" (", out);
      put_text (out, connection->client_chain_error);
      fputc (')', out);
    }
    if (connection->has_expected_thumbprints)
      fputs ("; ", out);
  }
  if (connection->has_expected_thumbprints)
    fputs (connection->is_thumbprint_expected ? "an expected thumbprint"
                                              : "not an expected thumbprint",
           out);
  fputc ('\n', out);
}

static void
put_cert_line (FILE *out, const char *label, const MtdCert *cert, const MtdConnection *connection,
               guint n_chain)
{
  char not_before[MTD_REPORT_TIME_LEN];
  char not_after[MTD_REPORT_TIME_LEN];
  if (!mtd_report_format_seconds (cert->not_before, not_before, sizeof not_before))
    g_strlcpy (not_before, "?", sizeof not_before);
  if (!mtd_report_format_seconds (cert->not_after, not_after, sizeof not_after))
    g_strlcpy (not_after, "?", sizeof not_after);
  fprintf (out, "   %s: ", label);
  put_text (out, cert->subject);
  fputs ("  issuer ", out);
  put_text (out, cert->issuer);
  fprintf (out, "\n      sha1 %s  valid %s to %s (%s at capture)", cert->sha1_hex, not_before,
           not_after, mtd_cert_validity_name (mtd_report_cert_validity (cert, connection)));
  if (n_chain > 1)
    fprintf (out, "  chain of %u", n_chain);
  fputc ('\n', out);
}

static void
put_tls (FILE *out, const MtdConnection *connection, const MtdTlsFacts *tls)
{
  if (tls->decrypt_status != MTD_DECRYPT_NOT_ATTEMPTED) {
    fprintf (out, "   decryption with the key log: %s", mtd_decrypt_status_name (tls->decrypt_status));
    if (tls->n_records_decrypted > 0)
      fprintf (out, " (%" G_GUINT64_FORMAT " records)", tls->n_records_decrypted);
    if (tls->decrypt_failure_frame != 0)
      fprintf (out, ", frame %" G_GUINT64_FORMAT " did not decrypt", tls->decrypt_failure_frame);
    fputc ('\n', out);
  }
  fputs ("   client certificate requested: ", out);
  fputs (mtd_requested_name (tls->requested.value), out);
  put_evidence (out, &tls->requested);
  if (tls->acceptable_cas != NULL && tls->acceptable_cas->len > 0) {
    fputs ("  acceptable CAs: ", out);
    guint n_shown = MIN (tls->acceptable_cas->len, MAX_CAS_SHOWN);
    for (guint i = 0; i < n_shown; i++) {
      if (i > 0)
        fputs ("; ", out);
      put_text (out, g_ptr_array_index (tls->acceptable_cas, i));
    }
    if (tls->acceptable_cas->len > n_shown)
      fprintf (out, " and %u more", tls->acceptable_cas->len - n_shown);
  }
  fputc ('\n', out);
  if (tls->requested.reason != NULL) {
    fputs ("      reason: ", out);
    put_text (out, tls->requested.reason);
    fputc ('\n', out);
  }

  static const char *const presented_words[] = {
    [MTD_PRESENTED_UNKNOWN] = "unknown",
    [MTD_PRESENTED_NO] = "no",
    [MTD_PRESENTED_EMPTY] = "empty list",
    [MTD_PRESENTED_YES] = "yes",
  };
  gint presented = CLAMP (tls->presented.value, MTD_PRESENTED_UNKNOWN, MTD_PRESENTED_YES);
  fputs ("   client certificate presented: ", out);
  fputs (presented_words[presented], out);
  put_evidence (out, &tls->presented);
  fputc ('\n', out);
  if (tls->presented.reason != NULL
      && g_strcmp0 (tls->presented.reason, tls->requested.reason) != 0) {
    fputs ("      reason: ", out);
    put_text (out, tls->presented.reason);
    fputc ('\n', out);
  }

  for (guint i = 0; tls->late_auths != NULL && i < tls->late_auths->len; i++) {
    const MtdLateAuth *late = &g_array_index (tls->late_auths, MtdLateAuth, i);
    gint late_presented = CLAMP (late->presented.value, MTD_PRESENTED_UNKNOWN, MTD_PRESENTED_YES);
    fprintf (out, "   %s from frame %" G_GUINT64_FORMAT ": certificate requested %s",
             late->kind == MTD_LATE_AUTH_RENEGOTIATION ? "renegotiation"
                                                       : "post-handshake authentication",
             late->frame, mtd_requested_name (late->requested.value));
    put_evidence (out, &late->requested);
    fprintf (out, ", presented %s", presented_words[late_presented]);
    put_evidence (out, &late->presented);
    const MtdHttpExchange *trigger = mtd_connection_late_auth_trigger (connection, late);
    if (trigger != NULL) {
      fputs ("; after ", out);
      put_text (out, trigger->method);
      fputc (' ', out);
      put_text (out, trigger->path);
      fprintf (out, " (frame %" G_GUINT64_FORMAT ")", trigger->request_frame);
    }
    fputc ('\n', out);
  }
  if (tls->n_key_updates > 0) {
    fprintf (out, "   key updates: %u", tls->n_key_updates);
    for (guint i = 0; tls->key_updates != NULL && i < tls->key_updates->len; i++) {
      const MtdKeyUpdate *update = &g_array_index (tls->key_updates, MtdKeyUpdate, i);
      fprintf (out, "%s frame %" G_GUINT64_FORMAT " (%s)", i == 0 ? "," : ";", update->frame,
               update->is_from_client ? "client" : "server");
    }
    fputc ('\n', out);
  }

  if (tls->client_chain != NULL && tls->client_chain->len > 0)
    put_cert_line (out, "client certificate", g_ptr_array_index (tls->client_chain, 0),
                   connection, tls->client_chain->len);
  if (tls->client_chain != NULL && tls->client_chain->len > 0)
    put_chain_check (out, connection);
  if (tls->server_chain != NULL && tls->server_chain->len > 0)
    put_cert_line (out, "server certificate", g_ptr_array_index (tls->server_chain, 0),
                   connection, tls->server_chain->len);

  char buf[64];
  static const char *const handshake_words[] = {
    "not complete",
    "complete",
    "not complete when the capture stops",
  };
  gint handshake_state = mtd_report_handshake_state (connection);
  fputs ("   handshake ", out);
  fputs (handshake_words[handshake_state < 0 ? 2 : handshake_state], out);
  if (tls->has_cipher_suite)
    fprintf (out, ", %s", mtd_tls_cipher_suite_name (tls->cipher_suite, buf, sizeof buf));
  if (tls->is_resumed)
    fputs (", resumed session", out);
  if (tls->has_renegotiation)
    fputs (", renegotiated", out);
  if (tls->has_post_handshake_auth_offer)
    fputs (", client offered post-handshake auth", out);
  if (tls->is_sslv2_client_hello)
    fputs (", SSL 2.0 ClientHello", out);
  if (tls->client_max_version != 0 && tls->client_max_version != tls->version)
    fprintf (out, ", client offered up to %s",
             mtd_tls_version_name (tls->client_max_version, buf, sizeof buf));
  fputc ('\n', out);

  for (guint i = 0; tls->alerts != NULL && i < tls->alerts->len; i++) {
    const MtdTlsAlert *alert = &g_array_index (tls->alerts, MtdTlsAlert, i);
    const char *from = alert->is_from_client ? "client" : "server";
    if (alert->is_encrypted) {
      fprintf (out, "   alert: encrypted, from %s (frame %" G_GUINT64_FORMAT ")\n", from,
               alert->frame);
    } else {
      const char *level = alert->level == 2 ? "fatal" : alert->level == 1 ? "warning" : "level?";
      fprintf (out, "   alert: %s %s from %s (frame %" G_GUINT64_FORMAT ")\n", level,
               mtd_tls_alert_name (alert->description, buf, sizeof buf), from, alert->frame);
    }
  }
}

/* The forwarding headers of one request, one line each. */
static void
put_cert_headers (FILE *out, const MtdConnection *connection, guint exchange_index)
{
  for (guint i = 0; connection->cert_headers != NULL && i < connection->cert_headers->len; i++) {
    const MtdConnCertHeader *entry = g_ptr_array_index (connection->cert_headers, i);
    if (entry->exchange_index != exchange_index)
      continue;
    const MtdCertHeader *header = entry->header;
    fputs ("      header ", out);
    put_text (out, header->name);
    fprintf (out, ": %s, %s", mtd_cert_encoding_name (header->encoding),
             header->is_valid ? "valid" : "not valid");
    if (header->cert != NULL) {
      fputs (", ", out);
      put_text (out, header->cert->subject);
      fprintf (out, " sha1 %s", header->cert->sha1_hex);
    }
    if (header->problem != NULL) {
      fputs (" (", out);
      put_text (out, header->problem);
      fputc (')', out);
    }
    fputc ('\n', out);
  }
}

static void
put_http (FILE *out, const MtdConnection *connection)
{
  for (guint i = 0; i < connection->http->len; i++) {
    const MtdHttpExchange *exchange = g_ptr_array_index (connection->http, i);
    fputs ("   ", out);
    put_text (out, exchange->method);
    fputc (' ', out);
    if (exchange->host != NULL)
      put_text (out, exchange->host);
    put_text (out, exchange->path);
    if (exchange->version != NULL) {
      fputc (' ', out);
      put_text (out, exchange->version);
    }
    if (exchange->status != 0) {
      fprintf (out, " -> %d", exchange->status);
      if (exchange->location != NULL) {
        fputs (" Location ", out);
        put_text (out, exchange->location);
      }
      fprintf (out, " (frames %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ")\n",
               exchange->request_frame, exchange->status_frame);
    } else {
      fprintf (out, " -> no response (frame %" G_GUINT64_FORMAT ")\n", exchange->request_frame);
    }
    put_cert_headers (out, connection, i);
  }
  if (connection->n_http_dropped > 0)
    fprintf (out, "   and %u more requests, counted but not kept\n", connection->n_http_dropped);
}

static void
put_warnings (FILE *out, const MtdConnection *connection)
{
  for (guint i = 0; connection->warnings != NULL && i < connection->warnings->len; i++) {
    fputs ("   warning: ", out);
    put_text (out, g_ptr_array_index (connection->warnings, i));
    fputc ('\n', out);
  }
  for (guint i = 0; i < MTD_ANOMALY_COUNT; i++) {
    guint32 count = connection->anomalies.counts[i];
    if (count > 0)
      fprintf (out, "   anomaly: %s (%u time%s)\n", mtd_anomaly_description (i), count,
               count == 1 ? "" : "s");
  }
}

static const char *
severity_label (MtdSeverity severity)
{
  switch (severity) {
  case MTD_SEVERITY_ERROR:
    return "ERROR";
  case MTD_SEVERITY_WARNING:
    return "WARNING";
  case MTD_SEVERITY_INFO:
  default:
    return "INFO";
  }
}

static void
put_findings (FILE *out, const MtdDiagnosis *diagnosis)
{
  for (guint i = 0; diagnosis != NULL && diagnosis->findings != NULL
                    && i < diagnosis->findings->len;
       i++) {
    const MtdFinding *finding = g_ptr_array_index (diagnosis->findings, i);
    fprintf (out, "   %s %s: ", severity_label (finding->severity), finding->code);
    put_text (out, finding->message);
    fputc ('\n', out);
    if (finding->cause != NULL) {
      fputs ("      cause: ", out);
      put_text (out, finding->cause);
      fputc ('\n', out);
    }
    if (finding->next_check != NULL) {
      fputs ("      next: ", out);
      put_text (out, finding->next_check);
      fputc ('\n', out);
    }
  }
}

void
mtd_report_text_begin (MtdReport *report)
{
  fprintf (report->out, "mtlsdiag %s: client certificates, connection by connection\n\n",
           report->tool_version);
}

void
mtd_report_text_connection (MtdReport *report, const MtdConnection *connection,
                            const MtdDiagnosis *diagnosis)
{
  FILE *out = report->out;
  put_header (out, connection);
  put_times (out, connection);
  put_direction (out, connection);
  if (connection->tls != NULL)
    put_tls (out, connection, connection->tls);
  if (connection->http != NULL)
    put_http (out, connection);
  put_warnings (out, connection);
  put_findings (out, diagnosis);
  fputc ('\n', out);
}

/* ---- Chains ------------------------------------------------------------------------------ */

/* "127.0.0.3:8443 (gateway)" */
static void
put_hop_endpoint (FILE *out, const MtdEndpoint *endpoint, GHashTable *hop_names)
{
  put_endpoint (out, endpoint);
  const char *name = hop_names != NULL ? g_hash_table_lookup (hop_names, endpoint->ip) : NULL;
  if (name != NULL) {
    fputs (" (", out);
    put_text (out, name);
    fputc (')', out);
  }
}

static void
put_hop (FILE *out, GHashTable *hop_names, const MtdChain *chain, guint number)
{
  const MtdChainHop *hop = &g_array_index (chain->hops, MtdChainHop, number - 1);
  const MtdLeg *leg = hop->leg;
  fprintf (out, "   hop %u  ", number);
  put_hop_endpoint (out, &leg->client, hop_names);
  fputs (" -> ", out);
  put_hop_endpoint (out, &leg->server, hop_names);
  fprintf (out, "  connection #%" G_GUINT64_FORMAT ", input %u\n", leg->connection_id,
           leg->input_index + 1);
  if (leg->protocol == MTD_APP_TLS) {
    char buf[64];
    fprintf (out, "          %s, client certificate requested %s",
             leg->tls_version != 0 ? mtd_tls_version_name (leg->tls_version, buf, sizeof buf)
                                   : "TLS (version unknown)",
             mtd_requested_name (leg->requested.value));
    put_evidence (out, &leg->requested);
    fprintf (out, ", presented %s", mtd_presented_name (leg->presented.value));
    put_evidence (out, &leg->presented);
    if (leg->client_sha1_hex[0] != '\0')
      fprintf (out, ", SHA-1 %s", leg->client_sha1_hex);
    fputc ('\n', out);
  } else {
    const MtdLegRequest *request = hop->cert_request != NULL ? hop->cert_request
                                                             : hop->first_request;
    fputs ("          plain HTTP", out);
    if (request != NULL) {
      fputs (", ", out);
      put_text (out, request->method);
      fputc (' ', out);
      put_text (out, request->path);
      fprintf (out, " (frame %" G_GUINT64_FORMAT ")", request->request_frame);
      if (request->status != 0)
        fprintf (out, " -> %d (frame %" G_GUINT64_FORMAT ")", request->status,
                 request->status_frame);
    }
    fputc ('\n', out);
    if (hop->cert_request != NULL) {
      const MtdLegCertHeader *header = hop->cert_request->cert_header;
      fputs ("          certificate header ", out);
      put_text (out, header->name);
      fprintf (out, " (%s, %s", mtd_cert_encoding_name (header->encoding),
               header->is_valid ? "valid" : "not usable");
      if (header->sha1_hex[0] != '\0')
        fprintf (out, ", SHA-1 %s", header->sha1_hex);
      fprintf (out, ", frame %" G_GUINT64_FORMAT ")\n", header->frame);
    } else {
      fputs ("          no client-certificate header\n", out);
    }
  }
  if (number > 1) {
    const char *names[16];
    guint n_names = mtd_match_names (hop->matched_by, names);
    fputs ("          linked to the previous hop by:", out);
    for (guint i = 0; i < n_names; i++)
      fprintf (out, "%s %s", i > 0 ? "," : "", names[i]);
    fputc ('\n', out);
  }
  if (leg->findings_label != NULL) {
    fputs ("          connection findings: ", out);
    put_text (out, leg->findings_label);
    fputc ('\n', out);
  }
}

/* Chains worth a reader's time: more than one hop, or a warning or error of their own. */
static gboolean
is_chain_shown (const MtdChain *chain, const MtdDiagnosis *diagnosis)
{
  return chain->hops->len > 1
         || (diagnosis != NULL && diagnosis->findings->len > 0
             && diagnosis->worst != MTD_SEVERITY_INFO);
}

/* The spool a chain waits in: errors first, then warnings, then the rest. */
static guint
chain_spool_index (const MtdDiagnosis *diagnosis)
{
  if (diagnosis == NULL || diagnosis->findings->len == 0)
    return 2;
  switch (diagnosis->worst) {
  case MTD_SEVERITY_ERROR:
    return 0;
  case MTD_SEVERITY_WARNING:
    return 1;
  case MTD_SEVERITY_INFO:
  default:
    return 2;
  }
}

void
mtd_report_text_chain (MtdReport *report, const MtdChain *chain, const MtdDiagnosis *diagnosis,
                       GHashTable *hop_names)
{
  if (!is_chain_shown (chain, diagnosis)) {
    report->n_chains_hidden++;
    return;
  }
  guint index = chain_spool_index (diagnosis);
  if (report->chain_spools[index] == NULL) {
    report->chain_spools[index] = mtd_spool_new ();
    if (report->chain_spools[index] == NULL) {
      report->write_errno = report->write_errno != 0 ? report->write_errno : errno;
      return;
    }
  }
  FILE *out = report->chain_spools[index]->file;
  fprintf (out, "chain %u: %s", chain->id, mtd_chain_verdict_name (chain->verdict));
  if (chain->dropped_at_hop != 0)
    fprintf (out, " %u", chain->dropped_at_hop);
  fputs (": ", out);
  put_text (out, chain->reason);
  fputc ('\n', out);
  for (guint k = 1; k <= chain->hops->len; k++)
    put_hop (out, hop_names, chain, k);
  put_findings (out, diagnosis);
  fputc ('\n', out);
}

void
mtd_report_text_chains (MtdReport *report)
{
  FILE *out = report->out;
  guint64 n_shown = report->n_chains - report->n_chains_hidden;
  fprintf (out, "Request chains: %" G_GUINT64_FORMAT " shown, worst first", n_shown);
  guint64 n_hidden = report->n_chains_hidden;
  if (n_hidden > 0)
    fprintf (out, " (%" G_GUINT64_FORMAT " more single-connection chain%s without a warning of "
                  "%s own, in the JSON report)",
             n_hidden, n_hidden == 1 ? "" : "s", n_hidden == 1 ? "its" : "their");
  fputs ("\n\n", out);
  for (guint i = 0; i < G_N_ELEMENTS (report->chain_spools); i++) {
    if (!mtd_spool_drain (report->chain_spools[i], out))
      report->write_errno = report->write_errno != 0 ? report->write_errno : EIO;
    report->chain_spools[i] = NULL;
  }
}

/* ---- Inputs and summary ------------------------------------------------------------------- */

static void
put_inputs (FILE *out, const MtdInputInfo *const *inputs, guint n_inputs)
{
  for (guint i = 0; inputs != NULL && i < n_inputs; i++) {
    const MtdInputInfo *info = inputs[i];
    fprintf (out, "input %u: ", i + 1);
    put_text (out, info->path);
    fputs ("  ", out);
    put_text (out, info->link_type);
    fprintf (out, "  %" G_GUINT64_FORMAT " packets", info->n_packets);
    char first[MTD_REPORT_TIME_LEN];
    char last[MTD_REPORT_TIME_LEN];
    if (info->n_packets > 0 && mtd_report_format_usec (info->first_usec, first, sizeof first)
        && mtd_report_format_usec (info->last_usec, last, sizeof last))
      fprintf (out, "  %s to %s", first, last);
    fputc ('\n', out);
    if (info->sha256_hex[0] != '\0')
      fprintf (out, "   sha256 %s\n", info->sha256_hex);
    for (guint w = 0; info->warnings != NULL && w < info->warnings->len; w++) {
      fputs ("   warning: ", out);
      put_text (out, g_ptr_array_index (info->warnings, w));
      fputc ('\n', out);
    }
  }
}

static void
put_matrix (FILE *out, const MtdSummary *summary)
{
  static const MtdRequested rows[] = { MTD_REQUESTED_YES, MTD_REQUESTED_NO,
                                       MTD_REQUESTED_UNKNOWN };
  static const MtdPresented columns[] = { MTD_PRESENTED_YES, MTD_PRESENTED_EMPTY,
                                          MTD_PRESENTED_NO, MTD_PRESENTED_UNKNOWN };
  fputs ("client certificate, requested (rows) by presented (columns):\n", out);
  fprintf (out, "   %-10s", "");
  for (gsize c = 0; c < G_N_ELEMENTS (columns); c++)
    fprintf (out, " %9s", mtd_presented_name (columns[c]));
  fputc ('\n', out);
  for (gsize r = 0; r < G_N_ELEMENTS (rows); r++) {
    fprintf (out, "   %-10s", mtd_requested_name (rows[r]));
    for (gsize c = 0; c < G_N_ELEMENTS (columns); c++)
      fprintf (out, " %9" G_GUINT64_FORMAT, summary->matrix[rows[r]][columns[c]]);
    fputc ('\n', out);
  }
}

void
mtd_report_text_finish (MtdReport *report, const MtdInputInfo *const *inputs, guint n_inputs,
                        const MtdSummary *summary)
{
  FILE *out = report->out;
  fputs ("Summary\n", out);
  put_inputs (out, inputs, n_inputs);
  fprintf (out,
           "packets read: %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " bytes): TCP %"
           G_GUINT64_FORMAT ", UDP %" G_GUINT64_FORMAT " (QUIC %" G_GUINT64_FORMAT "), other %"
           G_GUINT64_FORMAT ", IP fragments %" G_GUINT64_FORMAT ", cut by the snaplen %"
           G_GUINT64_FORMAT "\n",
           summary->n_packets, summary->n_bytes, summary->n_tcp_packets, summary->n_udp_packets,
           summary->n_quic_packets, summary->n_other_packets, summary->n_ip_fragments,
           summary->n_snaplen_truncated);
  fprintf (out,
           "connections: %" G_GUINT64_FORMAT " (TLS %" G_GUINT64_FORMAT ", plain HTTP %"
           G_GUINT64_FORMAT "), with a client-certificate problem: %" G_GUINT64_FORMAT "\n",
           summary->n_connections, summary->n_tls_connections, summary->n_http_connections,
           summary->n_connections_with_problem);

  fputs ("TLS versions:", out);
  gboolean has_version = FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (summary->n_by_version); i++) {
    if (summary->n_by_version[i] == 0)
      continue;
    char buf[64];
    fprintf (out, "%s %s %" G_GUINT64_FORMAT, has_version ? "," : "",
             mtd_tls_version_name (mtd_report_version_of_index (i), buf, sizeof buf),
             summary->n_by_version[i]);
    has_version = TRUE;
  }
  if (summary->n_version_unknown > 0) {
    fprintf (out, "%s unknown %" G_GUINT64_FORMAT, has_version ? "," : "",
             summary->n_version_unknown);
    has_version = TRUE;
  }
  fputs (has_version ? "\n" : " none\n", out);
  put_matrix (out, summary);
  fprintf (out, "plain-HTTP requests: %" G_GUINT64_FORMAT "\n", summary->n_http_requests);
  fprintf (out, "request chains: %" G_GUINT64_FORMAT, summary->n_chains);
  for (guint v = MTD_CHAIN_UNKNOWN; v <= MTD_CHAIN_HEADER_MISMATCH; v++)
    if (summary->n_chains_by_verdict[v] > 0)
      fprintf (out, ", %s %" G_GUINT64_FORMAT, mtd_chain_verdict_name (v),
               summary->n_chains_by_verdict[v]);
  fprintf (out, "; with a problem: %" G_GUINT64_FORMAT "\n", summary->n_chains_with_problem);
  if (summary->n_legs_not_chained > 0)
    fprintf (out, "connections not chained (over the cap): %" G_GUINT64_FORMAT "\n",
             summary->n_legs_not_chained);
  fprintf (out, "TLS alerts: %" G_GUINT64_FORMAT "\n", summary->n_alerts);
  guint64 n_attempted = 0;
  for (guint s = MTD_DECRYPT_NO_KEYS; s <= MTD_DECRYPT_FAILED; s++)
    n_attempted += summary->n_decrypt_by_status[s];
  if (n_attempted > 0) {
    fputs ("decryption with the key log:", out);
    for (guint s = MTD_DECRYPT_NO_KEYS; s <= MTD_DECRYPT_FAILED; s++)
      fprintf (out, "%s %s %" G_GUINT64_FORMAT, s > MTD_DECRYPT_NO_KEYS ? "," : "",
               mtd_decrypt_status_name (s), summary->n_decrypt_by_status[s]);
    fputc ('\n', out);
  }
  fprintf (out, "incomplete connections: %" G_GUINT64_FORMAT "\n", summary->n_incomplete);
  fprintf (out,
           "flows evicted: %" G_GUINT64_FORMAT ", closed when idle: %" G_GUINT64_FORMAT
           ", most live at once: %" G_GUINT64_FORMAT "\n",
           summary->n_flows_evicted, summary->n_flows_idle_closed, summary->peak_live_flows);
  fprintf (out, "certificate cache: %" G_GUINT64_FORMAT " hits, %" G_GUINT64_FORMAT " misses\n",
           summary->n_cert_cache_hits, summary->n_cert_cache_misses);
  fputs ("anomalies:", out);
  gboolean has_anomaly = FALSE;
  for (guint i = 0; i < MTD_ANOMALY_COUNT; i++) {
    if (summary->anomalies[i] == 0)
      continue;
    fprintf (out, "\n   %s: %" G_GUINT64_FORMAT " (%s)", mtd_anomaly_name (i),
             summary->anomalies[i], mtd_anomaly_description (i));
    has_anomaly = TRUE;
  }
  fputs (has_anomaly ? "\n" : " none\n", out);
}

void
mtd_report_live_line (FILE *out, const MtdConnection *connection, const MtdDiagnosis *diagnosis)
{
  g_return_if_fail (out != NULL && connection != NULL);
  fprintf (out, "#%" G_GUINT64_FORMAT " ", connection->id);
  put_endpoint (out, &connection->client);
  fputs (" -> ", out);
  put_endpoint (out, &connection->server);
  const MtdTlsFacts *tls = connection->tls;
  if (tls != NULL) {
    char buf[64];
    fprintf (out, " %s requested %s", version_label (tls, buf, sizeof buf),
             mtd_requested_name (tls->requested.value));
    const char *how = mtd_how_name (tls->requested.how);
    if (how != NULL)
      fprintf (out, " (%s)", how);
    fprintf (out, " presented %s", mtd_presented_name (tls->presented.value));
    how = mtd_how_name (tls->presented.how);
    if (how != NULL)
      fprintf (out, " (%s)", how);
  } else {
    fprintf (out, " %s", mtd_app_protocol_name (connection->app_protocol));
  }
  if (diagnosis != NULL && diagnosis->findings != NULL && diagnosis->findings->len > 0) {
    const MtdFinding *worst = g_ptr_array_index (diagnosis->findings, 0);
    fprintf (out, ": %s %s", mtd_severity_name (worst->severity), worst->code);
  } else {
    fputs (": ok", out);
  }
  fputc ('\n', out);
}
