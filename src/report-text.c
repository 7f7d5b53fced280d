/* report-text.c: the report for people: one block per connection as it finishes, then the inputs
 * and a summary; the one-line form of live mode; and the progress line of analyze.
 *
 * Every string that came from the wire is escaped for the terminal: C0 and C1 control characters
 * (ECMA-48 §5) and bytes that are not UTF-8 (RFC 3629) are shown as \xNN, and bidirectional
 * formatting characters (Unicode UAX #9) as \u{NNNN}, so a hostile SNI, DN or URL cannot move
 * the cursor, recolour the terminal or reorder what is shown.  The only escape sequences written
 * are the writer's own SGR colours (ECMA-48 §8.3.117) around severity and verdict words, with
 * --color.
 */
#include <errno.h>
#include <string.h>

#include "report-private.h"

/* Acceptable CAs shown on the "requested" line before "and N more". */
#define MAX_CAS_SHOWN 4


/* Bytes shown as they are: printable ASCII but the backslash.  NUL is not one, so the scan below
 * also finds the end of the string. */
static const guint8 text_is_plain[256] = {
  [0x20 ... 0x5B] = 1, [0x5D ... 0x7E] = 1,
};

/* Writes untrusted text ("-" for NULL) so that it is safe to show on a terminal.  The backslash
 * is doubled so the escapes cannot be forged.  Most text is plain ASCII: one scan through a table
 * and one fwrite, with strlen only when some byte needs more than copying. */
static void
put_raw_text (FILE *out, const char *text)
{
  if (text == NULL) {
    fputc ('-', out);
    return;
  }
  const char *p = text;
  while (text_is_plain[(guchar) *p])
    p++;
  fwrite (text, 1, (gsize) (p - text), out);
  if (*p == '\0')
    return;
  const char *end = p + strlen (p);
  while (p < end) {
    const char *span = p;
    while (p < end && text_is_plain[(guchar) *p])
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
    else if (mtd_report_is_bidi_control (c))
      fprintf (out, "\\u{%04X}", (guint) c);
    else
      fwrite (start, 1, (gsize) (p - start), out);
  }
}

/* A connection's block holds a dozen numbers: see mtd_report_decimal. */
static void
put_uint (FILE *out, guint64 value)
{
  char buf[MTD_REPORT_DECIMAL_LEN];
  gsize n_digits = 0;
  const char *digits = mtd_report_decimal (value, buf, &n_digits);
  fwrite (digits, 1, n_digits, out);
}

/* Untrusted text as put_raw_text writes it, after --redact took out what it hides: any text from
 * the wire may hold an address. */
static void
put_text (MtdReport *report, FILE *out, const char *text)
{
  g_autofree char *owned = NULL;
  put_raw_text (out, mtd_report_scrub (report, text, &owned));
}

/* A subject, issuer or CA name: "(redacted)" when --redact=all hides it. */
static void
put_dn (MtdReport *report, FILE *out, const char *dn)
{
  const char *shown = mtd_report_dn (report, dn);
  if (dn != NULL && shown == NULL)
    fputs ("(redacted)", out);
  else
    put_text (report, out, shown);
}

/* ECMA-48 SGR parameters of the colours --color uses. */
#define SGR_ERROR "1;31"
#define SGR_WARNING "33"
#define SGR_INFO "36"
#define SGR_GOOD "32"
#define SGR_DIM "2"

/* A word of ours (never text from the wire), in colour when the report is coloured. */
static void
put_colored (MtdReport *report, FILE *out, const char *sgr, const char *word)
{
  if (report->is_color && sgr != NULL)
    fprintf (out, "\033[%sm%s\033[0m", sgr, word);
  else
    fputs (word, out);
}

/* "10.0.0.5:51234" or "[::1]:443"; "host-1:51234" with --redact */
static void
put_endpoint (MtdReport *report, FILE *out, const MtdEndpoint *endpoint)
{
  const char *ip = mtd_report_ip (report, endpoint->ip);
  gboolean is_ipv6 = strchr (ip, ':') != NULL;
  if (is_ipv6)
    fputc ('[', out);
  put_raw_text (out, ip);
  if (is_ipv6)
    fputc (']', out);
  fputc (':', out);
  put_uint (out, endpoint->port);
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
put_header (MtdReport *report, FILE *out, const MtdConnection *connection)
{
  fputc ('#', out);
  put_uint (out, connection->id);
  fputc (' ', out);
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
  put_endpoint (report, out, &connection->client);
  fputs (connection->is_role_guessed ? " -> (guessed) " : " -> ", out);
  put_endpoint (report, out, &connection->server);
  fputs ("  frames ", out);
  put_uint (out, connection->first_frame);
  fputc ('-', out);
  put_uint (out, connection->last_frame);
  if (connection->input_index > 0)
    fprintf (out, " of input %u", connection->input_index + 1);

  gboolean has_details = FALSE;
  if (tls != NULL && tls->sni != NULL) {
    fputs ("  (sni ", out);
    put_text (report, out, tls->sni);
    has_details = TRUE;
  }
  if (tls != NULL && tls->alpn != NULL) {
    fputs (has_details ? ", alpn " : "  (alpn ", out);
    put_text (report, out, tls->alpn);
    has_details = TRUE;
  }
  if (connection->has_starttls) {
    fputs (has_details ? ", starttls " : "  (starttls ", out);
    put_text (report, out, connection->starttls_protocol != NULL ? connection->starttls_protocol
                                                         : "unknown");
    has_details = TRUE;
  }
  if (tls == NULL && connection->ndpi_protocol != NULL) {
    fputs (has_details ? ", nDPI " : "  (nDPI ", out);
    put_text (report, out, connection->ndpi_protocol);
    has_details = TRUE;
  }
  if (has_details)
    fputc (')', out);
  fputc ('\n', out);
}

static void
put_times (MtdReport *report, FILE *out, const MtdConnection *connection)
{
  char start[MTD_REPORT_TIME_LEN];
  char end[MTD_REPORT_TIME_LEN];
  if (!mtd_report_format_usec (connection->start_usec, start, sizeof start))
    g_strlcpy (start, "?", sizeof start);
  if (!mtd_report_format_usec (connection->end_usec, end, sizeof end))
    g_strlcpy (end, "?", sizeof end);
  fputs ("   ", out);
  fputs (start, out);
  fputs (" to ", out);
  fputs (end, out);
  fputs (", ", out);
  put_uint (out, connection->n_packets);
  fputs (" packets, ", out);
  put_uint (out, connection->n_payload_bytes[0]);
  fputs (" bytes client to server, ", out);
  put_uint (out, connection->n_payload_bytes[1]);
  fputs (" bytes server to client, end: ", out);
  put_text (report, out, connection->end_reason);
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
  else if (mtd_direction_guess (connection) != NULL)
    fprintf (out, "   direction unknown (no --app address here), %s\n",
             mtd_direction_guess (connection));
}

static void
put_chain_check (MtdReport *report, FILE *out, const MtdConnection *connection)
{
  if (connection->client_chain_check == MTD_CHAIN_NOT_CHECKED && !connection->has_expected_thumbprints)
    return;
  fputs ("      ", out);
  if (connection->client_chain_check != MTD_CHAIN_NOT_CHECKED) {
    fprintf (out, "chain against --ca: %s", mtd_chain_check_name (connection->client_chain_check));
    if (connection->client_chain_error != NULL) {
      fputs (" (", out);
      put_text (report, out, connection->client_chain_error);
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
put_cert_line (MtdReport *report, FILE *out, const char *label, const MtdCert *cert,
               const MtdConnection *connection, guint n_chain)
{
  char not_before[MTD_REPORT_TIME_LEN];
  char not_after[MTD_REPORT_TIME_LEN];
  if (!mtd_report_format_seconds (cert->not_before, not_before, sizeof not_before))
    g_strlcpy (not_before, "?", sizeof not_before);
  if (!mtd_report_format_seconds (cert->not_after, not_after, sizeof not_after))
    g_strlcpy (not_after, "?", sizeof not_after);
  fprintf (out, "   %s: ", label);
  put_dn (report, out, cert->subject);
  fputs ("  issuer ", out);
  put_dn (report, out, cert->issuer);
  fprintf (out, "\n      sha1 %s  valid %s to %s (%s at capture)", cert->sha1_hex, not_before,
           not_after, mtd_cert_validity_name (mtd_report_cert_validity (cert, connection)));
  if (n_chain > 1)
    fprintf (out, "  chain of %u", n_chain);
  fputc ('\n', out);
}

/* The colour of the answer to "presented?": what the reader looks for first. */
static const char *
presented_color (const MtdTlsFacts *tls, gint presented)
{
  switch (presented) {
  case MTD_PRESENTED_YES:
    return SGR_GOOD;
  case MTD_PRESENTED_EMPTY:
  case MTD_PRESENTED_NO:
    return tls->requested.value == MTD_REQUESTED_YES ? SGR_ERROR : NULL;
  case MTD_PRESENTED_UNKNOWN:
  default:
    return SGR_WARNING;
  }
}

static void
put_tls (MtdReport *report, FILE *out, const MtdConnection *connection, const MtdTlsFacts *tls)
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
      put_dn (report, out, g_ptr_array_index (tls->acceptable_cas, i));
    }
    if (tls->acceptable_cas->len > n_shown)
      fprintf (out, " and %u more", tls->acceptable_cas->len - n_shown);
  }
  fputc ('\n', out);
  if (tls->requested.reason != NULL) {
    fputs ("      reason: ", out);
    put_text (report, out, tls->requested.reason);
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
  put_colored (report, out, presented_color (tls, presented), presented_words[presented]);
  put_evidence (out, &tls->presented);
  fputc ('\n', out);
  if (tls->presented.reason != NULL
      && g_strcmp0 (tls->presented.reason, tls->requested.reason) != 0) {
    fputs ("      reason: ", out);
    put_text (report, out, tls->presented.reason);
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
      put_text (report, out, trigger->method);
      fputc (' ', out);
      put_text (report, out, trigger->path);
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
    put_cert_line (report, out, "client certificate", g_ptr_array_index (tls->client_chain, 0),
                   connection, tls->client_chain->len);
  if (tls->client_chain != NULL && tls->client_chain->len > 0)
    put_chain_check (report, out, connection);
  if (tls->server_chain != NULL && tls->server_chain->len > 0)
    put_cert_line (report, out, "server certificate", g_ptr_array_index (tls->server_chain, 0),
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
put_cert_headers (MtdReport *report, FILE *out, const MtdConnection *connection,
                  guint exchange_index)
{
  for (guint i = 0; connection->cert_headers != NULL && i < connection->cert_headers->len; i++) {
    const MtdConnCertHeader *entry = g_ptr_array_index (connection->cert_headers, i);
    if (entry->exchange_index != exchange_index)
      continue;
    const MtdCertHeader *header = entry->header;
    fputs ("      header ", out);
    put_text (report, out, header->name);
    fprintf (out, ": %s, %s", mtd_cert_encoding_name (header->encoding),
             header->is_valid ? "valid" : "not valid");
    if (header->cert != NULL) {
      fputs (", ", out);
      put_dn (report, out, header->cert->subject);
      fprintf (out, " sha1 %s", header->cert->sha1_hex);
    }
    if (header->problem != NULL) {
      fputs (" (", out);
      put_text (report, out, header->problem);
      fputc (')', out);
    }
    fputc ('\n', out);
  }
}

static void
put_http (MtdReport *report, FILE *out, const MtdConnection *connection)
{
  for (guint i = 0; i < connection->http->len; i++) {
    const MtdHttpExchange *exchange = g_ptr_array_index (connection->http, i);
    fputs ("   ", out);
    put_text (report, out, exchange->method);
    fputc (' ', out);
    if (exchange->host != NULL)
      put_text (report, out, exchange->host);
    put_text (report, out, exchange->path);
    if (exchange->version != NULL) {
      fputc (' ', out);
      put_text (report, out, exchange->version);
    }
    if (exchange->status != 0) {
      fprintf (out, " -> %d", exchange->status);
      if (exchange->location != NULL) {
        fputs (" Location ", out);
        put_text (report, out, exchange->location);
      }
      fprintf (out, " (frames %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ")\n",
               exchange->request_frame, exchange->status_frame);
    } else {
      fprintf (out, " -> no response (frame %" G_GUINT64_FORMAT ")\n", exchange->request_frame);
    }
    put_cert_headers (report, out, connection, i);
  }
  if (connection->n_http_dropped > 0)
    fprintf (out, "   and %u more requests, counted but not kept\n", connection->n_http_dropped);
}

static void
put_warnings (MtdReport *report, FILE *out, const MtdConnection *connection)
{
  for (guint i = 0; connection->warnings != NULL && i < connection->warnings->len; i++) {
    fputs ("   warning: ", out);
    put_text (report, out, g_ptr_array_index (connection->warnings, i));
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

static const char *
severity_color (MtdSeverity severity)
{
  switch (severity) {
  case MTD_SEVERITY_ERROR:
    return SGR_ERROR;
  case MTD_SEVERITY_WARNING:
    return SGR_WARNING;
  case MTD_SEVERITY_INFO:
  default:
    return SGR_INFO;
  }
}

static void
put_findings (MtdReport *report, FILE *out, const MtdDiagnosis *diagnosis)
{
  for (guint i = 0; diagnosis != NULL && diagnosis->findings != NULL
                    && i < diagnosis->findings->len;
       i++) {
    const MtdFinding *finding = g_ptr_array_index (diagnosis->findings, i);
    fputs ("   ", out);
    put_colored (report, out, severity_color (finding->severity),
                 severity_label (finding->severity));
    fprintf (out, " %s: ", finding->code);
    put_text (report, out, finding->message);
    fputc ('\n', out);
    if (finding->cause != NULL) {
      fputs ("      cause: ", out);
      put_text (report, out, finding->cause);
      fputc ('\n', out);
    }
    if (finding->next_check != NULL) {
      fputs ("      next: ", out);
      put_text (report, out, finding->next_check);
      fputc ('\n', out);
    }
  }
}

/* Keeps the worst warning or error finding for the verdict line: the more severe wins; at the
 * same severity a chain's (it follows the certificate across hops) over a connection's, else
 * the first seen.  Called while the report's --redact context is set, so the message is
 * scrubbed now. */
static void
note_worst (MtdReport *report, const MtdDiagnosis *diagnosis, gboolean is_chain, guint64 id)
{
  if (diagnosis == NULL || diagnosis->findings == NULL || diagnosis->findings->len == 0
      || diagnosis->worst < MTD_SEVERITY_WARNING)
    return;
  if (report->has_text_worst
      && (diagnosis->worst < report->text_worst_severity
          || (diagnosis->worst == report->text_worst_severity
              && (report->is_text_worst_in_chain || !is_chain))))
    return;
  const MtdFinding *worst = NULL;
  for (guint i = 0; i < diagnosis->findings->len && worst == NULL; i++) {
    const MtdFinding *finding = g_ptr_array_index (diagnosis->findings, i);
    if (finding->severity == diagnosis->worst)
      worst = finding;
  }
  if (worst == NULL)
    return;
  report->has_text_worst = TRUE;
  report->is_text_worst_in_chain = is_chain;
  report->text_worst_severity = worst->severity;
  g_free (report->text_worst_code);
  report->text_worst_code = g_strdup (worst->code);
  g_free (report->text_worst_where);
  report->text_worst_where = is_chain ? g_strdup_printf ("chain %" G_GUINT64_FORMAT, id)
                                      : g_strdup_printf ("connection #%" G_GUINT64_FORMAT, id);
  g_autofree char *scrubbed = NULL;
  const char *message = mtd_report_scrub (report, worst->message, &scrubbed);
  g_free (report->text_worst_message);
  report->text_worst_message = g_strdup (message);
}

/* Nothing is written before the finish, where the verdict is known: see put_top. */
void
mtd_report_text_begin (MtdReport *report)
{
}

/* The first lines: the verdict (the worst finding, or that there is none), the counts behind
 * it, and whether the report is redacted. */
static void
put_top (MtdReport *report, FILE *out, const MtdSummary *summary)
{
  if (report->redaction == MTD_REDACT_DEFAULT)
    fputs ("redacted (--redact): addresses are pseudonyms (host-N), certificate serials and "
           "e-mail addresses are left out\n",
           out);
  else if (report->redaction == MTD_REDACT_ALL)
    fputs ("redacted (--redact=all): addresses are pseudonyms (host-N), certificate serials, "
           "e-mail addresses, subjects and issuers are left out\n",
           out);
  fputs ("verdict: ", out);
  gboolean is_problem = report->has_text_worst
                        && report->text_worst_severity == MTD_SEVERITY_ERROR;
  if (!is_problem) {
    if (summary->n_connections == 0)
      fputs ("nothing to judge: the capture holds no TCP connection", out);
    else
      fprintf (out, "no client-certificate problem found in %" G_GUINT64_FORMAT " connection%s",
               summary->n_connections, summary->n_connections == 1 ? "" : "s");
    if (report->has_text_worst)
      fputs ("; the worst finding is a warning: ", out);
  }
  if (report->has_text_worst) {
    put_colored (report, out, severity_color (report->text_worst_severity),
                 severity_label (report->text_worst_severity));
    fprintf (out, " %s in %s: ", report->text_worst_code, report->text_worst_where);
    put_text (report, out, report->text_worst_message);
  }
  fputc ('\n', out);
  fprintf (out,
           "   %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " connections and %" G_GUINT64_FORMAT
           " of %" G_GUINT64_FORMAT " request chains have a client-certificate problem "
           "(mtlsdiag %s)\n\n",
           summary->n_connections_with_problem, summary->n_connections,
           summary->n_chains_with_problem, summary->n_chains, report->tool_version);
}

void
mtd_report_text_connection (MtdReport *report, const MtdConnection *connection,
                            const MtdDiagnosis *diagnosis)
{
  note_worst (report, diagnosis, FALSE, connection->id);
  if (report->is_summary_only)
    return;
  FILE *out = mtd_report_spool_file (report, report->connection_spools,
                                     mtd_report_spool_index (diagnosis));
  if (out == NULL)
    return;
  put_header (report, out, connection);
  put_times (report, out, connection);
  put_direction (out, connection);
  if (connection->tls != NULL)
    put_tls (report, out, connection, connection->tls);
  if (connection->http != NULL)
    put_http (report, out, connection);
  put_warnings (report, out, connection);
  put_findings (report, out, diagnosis);
  fputc ('\n', out);
}

/* ---- Chains ------------------------------------------------------------------------------ */

/* "127.0.0.3:8443 (gateway)" */
static void
put_hop_endpoint (MtdReport *report, FILE *out, const MtdEndpoint *endpoint,
                  GHashTable *hop_names)
{
  put_endpoint (report, out, endpoint);
  const char *name = hop_names != NULL ? g_hash_table_lookup (hop_names, endpoint->ip) : NULL;
  if (name != NULL) {
    fputs (" (", out);
    put_text (report, out, name);
    fputc (')', out);
  }
}

static void
put_hop (MtdReport *report, FILE *out, GHashTable *hop_names, const MtdChain *chain, guint number)
{
  const MtdChainHop *hop = &g_array_index (chain->hops, MtdChainHop, number - 1);
  const MtdLeg *leg = hop->leg;
  fprintf (out, "   hop %u  ", number);
  put_hop_endpoint (report, out, &leg->client, hop_names);
  fputs (" -> ", out);
  put_hop_endpoint (report, out, &leg->server, hop_names);
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
      put_text (report, out, request->method);
      fputc (' ', out);
      put_text (report, out, request->path);
      fprintf (out, " (frame %" G_GUINT64_FORMAT ")", request->request_frame);
      if (request->status != 0)
        fprintf (out, " -> %d (frame %" G_GUINT64_FORMAT ")", request->status,
                 request->status_frame);
    }
    fputc ('\n', out);
    if (hop->cert_request != NULL) {
      const MtdLegCertHeader *header = hop->cert_request->cert_header;
      fputs ("          certificate header ", out);
      put_text (report, out, header->name);
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
    put_text (report, out, leg->findings_label);
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

static const char *
verdict_color (MtdChainVerdict verdict)
{
  switch (verdict) {
  case MTD_CHAIN_DELIVERED:
    return SGR_GOOD;
  case MTD_CHAIN_DROPPED_AT_HOP:
  case MTD_CHAIN_NEVER_PRESENTED:
  case MTD_CHAIN_PLAIN_HTTP:
  case MTD_CHAIN_HEADER_MISMATCH:
    return SGR_ERROR;
  case MTD_CHAIN_NOT_REQUESTED:
    return SGR_WARNING;
  case MTD_CHAIN_UNKNOWN:
  default:
    return SGR_DIM;
  }
}

void
mtd_report_text_chain (MtdReport *report, const MtdChain *chain, const MtdDiagnosis *diagnosis,
                       GHashTable *hop_names)
{
  note_worst (report, diagnosis, TRUE, chain->id);
  if (report->is_summary_only)
    return;
  if (!is_chain_shown (chain, diagnosis)) {
    report->n_chains_hidden++;
    return;
  }
  FILE *out = mtd_report_spool_file (report, report->chain_spools,
                                     mtd_report_spool_index (diagnosis));
  if (out == NULL)
    return;
  fprintf (out, "chain %u: ", chain->id);
  put_colored (report, out, verdict_color (chain->verdict),
               mtd_chain_verdict_name (chain->verdict));
  if (chain->dropped_at_hop != 0)
    fprintf (out, " %u", chain->dropped_at_hop);
  fputs (": ", out);
  put_text (report, out, chain->reason);
  fputc ('\n', out);
  for (guint k = 1; k <= chain->hops->len; k++)
    put_hop (report, out, hop_names, chain, k);
  put_findings (report, out, diagnosis);
  fputc ('\n', out);
}

static void
put_chains (MtdReport *report)
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

static void
put_connections (MtdReport *report)
{
  FILE *out = report->out;
  fprintf (out, "Connections: %" G_GUINT64_FORMAT ", worst first\n\n", report->n_connections);
  for (guint i = 0; i < G_N_ELEMENTS (report->connection_spools); i++) {
    if (!mtd_spool_drain (report->connection_spools[i], out))
      report->write_errno = report->write_errno != 0 ? report->write_errno : EIO;
    report->connection_spools[i] = NULL;
  }
}

/* ---- Inputs and summary ------------------------------------------------------------------- */

static void
put_inputs (MtdReport *report, FILE *out, const MtdInputInfo *const *inputs, guint n_inputs)
{
  for (guint i = 0; inputs != NULL && i < n_inputs; i++) {
    const MtdInputInfo *info = inputs[i];
    fprintf (out, "input %u: ", i + 1);
    put_text (report, out, info->path);
    fputs ("  ", out);
    put_text (report, out, info->link_type);
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
      put_text (report, out, g_ptr_array_index (info->warnings, w));
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
  put_top (report, out, summary);
  if (!report->is_summary_only) {
    put_chains (report);
    put_connections (report);
  }
  fputs ("Summary\n", out);
  put_inputs (report, out, inputs, n_inputs);
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
  if (summary->n_legs_released > 0)
    fprintf (out, "connections chained without waiting longer for one still open (--chain-hold): "
                  "%" G_GUINT64_FORMAT "\n",
             summary->n_legs_released);
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
  if (summary->is_saving_flagged)
    fprintf (out,
             "saved connections with a warning or error: %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT
             " packets); cut short by --save-ring-bytes (first packets lost): %" G_GUINT64_FORMAT
             "\n",
             summary->n_saved_connections, summary->n_saved_packets, summary->n_saved_cut_short);
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
mtd_report_live_line (MtdReport *report, FILE *out, const MtdConnection *connection,
                      const MtdDiagnosis *diagnosis)
{
  g_return_if_fail (report != NULL && out != NULL && connection != NULL);
  fprintf (out, "#%" G_GUINT64_FORMAT " ", connection->id);
  put_endpoint (report, out, &connection->client);
  fputs (" -> ", out);
  put_endpoint (report, out, &connection->server);
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

void
mtd_report_live_finding_line (MtdReport *report, FILE *out, const MtdConnection *connection,
                              const MtdFinding *finding, gint64 time_usec)
{
  g_return_if_fail (report != NULL && out != NULL && connection != NULL && finding != NULL);
  char when[40];
  if (!mtd_report_format_usec (time_usec, when, sizeof when))
    g_strlcpy (when, "-", sizeof when);
  fprintf (out, "%s #%" G_GUINT64_FORMAT " ", when, connection->id);
  put_endpoint (report, out, &connection->client);
  fputs (" -> ", out);
  put_endpoint (report, out, &connection->server);
  fprintf (out, " %s %s: ", mtd_severity_name (finding->severity), finding->code);
  /* The message may name the certificate's subject: --redact=all takes the connection's names
   * out of it, as in the report. */
  mtd_report_context_connection (report, connection);
  put_text (report, out, finding->message);
  mtd_report_context_clear (report);
  fputc ('\n', out);
}

void
mtd_report_live_stats_line (FILE *out, const MtdLiveStats *stats)
{
  g_return_if_fail (out != NULL && stats != NULL);
  char when[40];
  if (!mtd_report_format_usec (stats->time_usec, when, sizeof when))
    g_strlcpy (when, "-", sizeof when);
  fprintf (out,
           "mtlsdiag: stats %s packets=%" G_GUINT64_FORMAT " live_flows=%u flows_evicted=%"
           G_GUINT64_FORMAT " flows_idle_closed=%" G_GUINT64_FORMAT,
           when, stats->n_packets, stats->n_live_flows, stats->n_flows_evicted,
           stats->n_flows_idle_closed);
  if (stats->has_pcap_stats)
    fprintf (out, " pcap_received=%" G_GUINT64_FORMAT " pcap_dropped=%" G_GUINT64_FORMAT,
             stats->n_pcap_received, stats->n_pcap_dropped);
  else
    fputs (" pcap_received=- pcap_dropped=-", out);
  fprintf (out,
           " connections=%" G_GUINT64_FORMAT " findings_error=%" G_GUINT64_FORMAT
           " findings_warning=%" G_GUINT64_FORMAT " findings_info=%" G_GUINT64_FORMAT,
           stats->n_connections, stats->n_findings[MTD_SEVERITY_ERROR],
           stats->n_findings[MTD_SEVERITY_WARNING], stats->n_findings[MTD_SEVERITY_INFO]);
  if (stats->is_saving_flagged)
    fprintf (out, " saved=%" G_GUINT64_FORMAT " saved_cut_short=%" G_GUINT64_FORMAT,
             stats->n_saved_connections, stats->n_saved_cut_short);
  fputc ('\n', out);
}

/* Sizes in MB (10^6 bytes, as transfer rates are given), with one decimal. */
#define PROGRESS_MB 1e6

void
mtd_report_format_progress (const MtdProgress *progress, char *buf, gsize buf_len)
{
  g_return_if_fail (progress != NULL && buf != NULL && buf_len > 0);
  g_autoptr (GString) line = g_string_new (NULL);
  if (progress->n_inputs > 1)
    g_string_append_printf (line, "input %u of %u: ", progress->input_number,
                            progress->n_inputs);
  guint64 total = MAX (progress->n_bytes_total, 1);
  guint64 n_read = MIN (progress->n_bytes_read, progress->n_bytes_total);
  g_string_append_printf (line, "%.1f of %.1f MB (%u%%), %" G_GUINT64_FORMAT " packets, %"
                          G_GUINT64_FORMAT " flows",
                          (double) n_read / PROGRESS_MB,
                          (double) progress->n_bytes_total / PROGRESS_MB,
                          (guint) (n_read * 100 / total), progress->n_packets, progress->n_flows);
  /* A rate and an estimate only once there is something to measure. */
  if (progress->elapsed_usec > 0 && n_read > 0) {
    double seconds = (double) progress->elapsed_usec / G_USEC_PER_SEC;
    double rate = (double) n_read / seconds;
    guint64 seconds_left = (guint64) ((double) (progress->n_bytes_total - n_read) / rate + 0.5);
    g_string_append_printf (line, ", %.1f MB/s, ", rate / PROGRESS_MB);
    if (seconds_left >= 3600)
      g_string_append_printf (line, "%" G_GUINT64_FORMAT ":%02u:%02u left", seconds_left / 3600,
                              (guint) (seconds_left / 60 % 60), (guint) (seconds_left % 60));
    else
      g_string_append_printf (line, "%u:%02u left", (guint) (seconds_left / 60),
                              (guint) (seconds_left % 60));
  }
  g_strlcpy (buf, line->str, buf_len);
}
