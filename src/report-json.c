/* report-json.c: the JSON report (schema_version 1, docs/json-schema.md), written as it goes,
 * and its JSON Lines form for log pipelines (https://jsonlines.org: one object per line).
 *
 * Follows RFC 8259: strings escaped per §7, output always valid UTF-8 (§8.1; bytes of untrusted
 * text that are not UTF-8 become U+FFFD), 64-bit counters written as plain integers.  Each
 * connection is one line of the "connections" array (JSON Lines: one line of its own), written
 * when it finishes; nothing about it is kept, so memory does not grow with the capture.  Both
 * forms share the object writers: an object never holds a line break.
 */
#include <errno.h>
#include <string.h>

#include "report-private.h"

#define JSON_SCHEMA_VERSION 1
/* Objects and arrays nested inside one top-level value. */
#define JSON_MAX_DEPTH 12

/* Bytes gathered before one fwrite: a connection's object is a few kilobytes. */
#define JSON_BUFFER_LEN 8192

/* Writes one JSON value at a time and puts the commas in; lives for one top-level value.  A JSON
 * document is made of a great many small writes: they go into buf, and buf to out when it is
 * full and at json_flush, so stdio is called a few times per connection instead of a few hundred.
 * Nothing is written to out directly while a writer holds bytes. */
typedef struct {
  FILE *out;
  MtdReport *report;    /* borrowed: its redaction and pseudonyms */
  gboolean is_scrubbing; /* --redact: every string value goes through mtd_report_scrub */
  guint depth;
  gboolean has_items[JSON_MAX_DEPTH + 1];
  gsize buf_len;
  char buf[JSON_BUFFER_LEN];
} JsonWriter;

static void
json_init (JsonWriter *writer, MtdReport *report, FILE *out)
{
  writer->out = out;
  writer->report = report;
  writer->is_scrubbing = report->redaction != MTD_REDACT_NONE;
  writer->depth = 0;
  memset (writer->has_items, 0, sizeof writer->has_items);
  writer->buf_len = 0;
}

/* Hands the gathered bytes to stdio; write errors show in ferror (out) as before. */
static void
json_flush (JsonWriter *writer)
{
  if (writer->buf_len > 0)
    fwrite_unlocked (writer->buf, 1, writer->buf_len, writer->out);
  writer->buf_len = 0;
}

static inline void
json_putc (JsonWriter *writer, char c)
{
  if (G_UNLIKELY (writer->buf_len == sizeof writer->buf))
    json_flush (writer);
  writer->buf[writer->buf_len++] = c;
}

static inline void
json_write_bytes (JsonWriter *writer, const char *bytes, gsize bytes_len)
{
  if (G_UNLIKELY (bytes_len > sizeof writer->buf - writer->buf_len)) {
    json_flush (writer);
    if (bytes_len > sizeof writer->buf) {
      fwrite_unlocked (bytes, 1, bytes_len, writer->out);
      return;
    }
  }
  memcpy (writer->buf + writer->buf_len, bytes, bytes_len);
  writer->buf_len += bytes_len;
}

static void
json_puts (JsonWriter *writer, const char *text)
{
  json_write_bytes (writer, text, strlen (text));
}

/* Bytes that go out as they are: printable ASCII but the quotation mark and the reverse solidus.
 * NUL is not one, so the scan below also finds the end of the string. */
static const guint8 json_is_plain[256] = {
  [0x20] = 1, [0x21] = 1, [0x23 ... 0x5B] = 1, [0x5D ... 0x7E] = 1,
};

/* RFC 8259 §7: quotation mark, reverse solidus and the control characters must be escaped.
 * DEL, the C1 controls and U+2028/U+2029 are escaped too, although JSON allows them raw, so the
 * document is also safe to show on a terminal or to embed in JavaScript.  Most strings are plain
 * ASCII: they are scanned once through a table, and measured with strlen only when a byte needs
 * more than copying. */
static void
json_write_string (JsonWriter *writer, const char *text)
{
  json_putc (writer, '"');
  const char *p = text;
  while (json_is_plain[(guchar) *p])
    p++;
  json_write_bytes (writer, text, (gsize) (p - text));
  if (*p == '\0') {
    json_putc (writer, '"');
    return;
  }
  const char *end = p + strlen (p);
  while (p < end) {
    const char *span = p;
    while (p < end && json_is_plain[(guchar) *p])
      p++;
    if (p > span)
      json_write_bytes (writer, span, (gsize) (p - span));
    if (p >= end)
      break;
    const char *start = p;
    guint8 invalid_byte = 0;
    gunichar c = mtd_report_next_char (&p, end, &invalid_byte);
    switch (c) {
    case '"':
      json_puts (writer, "\\\"");
      break;
    case '\\':
      json_puts (writer, "\\\\");
      break;
    case '\b':
      json_puts (writer, "\\b");
      break;
    case '\f':
      json_puts (writer, "\\f");
      break;
    case '\n':
      json_puts (writer, "\\n");
      break;
    case '\r':
      json_puts (writer, "\\r");
      break;
    case '\t':
      json_puts (writer, "\\t");
      break;
    case MTD_REPORT_INVALID_CHAR:
      json_puts (writer, "\\ufffd");
      break;
    default:
      if (c < 0x20 || (c >= 0x7F && c < 0xA0) || c == 0x2028 || c == 0x2029) {
        char escape[8];
        g_snprintf (escape, sizeof escape, "\\u%04x", (guint) c);
        json_puts (writer, escape);
      } else
        json_write_bytes (writer, start, (gsize) (p - start));
      break;
    }
  }
  json_putc (writer, '"');
}

/* Starts a value: the comma before it and its key inside an object (key NULL in arrays). */
static void
json_value_start (JsonWriter *writer, const char *key)
{
  if (writer->has_items[writer->depth])
    json_putc (writer, ',');
  writer->has_items[writer->depth] = TRUE;
  if (key != NULL) {
    /* Keys are this program's own names (literals and enum name tables), never bytes from the
     * wire, and plain ASCII: they go out without the escaping scan. */
    json_putc (writer, '"');
    json_puts (writer, key);
    json_write_bytes (writer, "\":", 2);
  }
}

static void
json_open (JsonWriter *writer, const char *key, char bracket)
{
  json_value_start (writer, key);
  json_putc (writer, bracket);
  g_assert (writer->depth < JSON_MAX_DEPTH);
  writer->depth++;
  writer->has_items[writer->depth] = FALSE;
}

static void
json_close (JsonWriter *writer, char bracket)
{
  g_assert (writer->depth > 0);
  writer->depth--;
  json_putc (writer, bracket);
}

static void
json_begin_object (JsonWriter *writer, const char *key)
{
  json_open (writer, key, '{');
}

static void
json_end_object (JsonWriter *writer)
{
  json_close (writer, '}');
}

static void
json_begin_array (JsonWriter *writer, const char *key)
{
  json_open (writer, key, '[');
}

static void
json_end_array (JsonWriter *writer)
{
  json_close (writer, ']');
}

static void
json_null (JsonWriter *writer, const char *key)
{
  json_value_start (writer, key);
  json_puts (writer, "null");
}

/* A string, or null when text is NULL.  With --redact every string is scrubbed, not only those
 * known to hold addresses: any text from the wire may hold one. */
static void
json_string (JsonWriter *writer, const char *key, const char *text)
{
  if (text == NULL) {
    json_null (writer, key);
    return;
  }
  json_value_start (writer, key);
  if (G_UNLIKELY (writer->is_scrubbing)) {
    g_autofree char *owned = NULL;
    json_write_string (writer, mtd_report_scrub (writer->report, text, &owned));
    return;
  }
  json_write_string (writer, text);
}

static void
json_write_decimal (JsonWriter *writer, gboolean is_negative, guint64 magnitude)
{
  char buf[MTD_REPORT_DECIMAL_LEN];
  gsize n_digits = 0;
  const char *digits = mtd_report_decimal (magnitude, buf, &n_digits);
  if (is_negative)
    json_write_bytes (writer, "-", 1);
  json_write_bytes (writer, digits, n_digits);
}

static void
json_uint (JsonWriter *writer, const char *key, guint64 value)
{
  json_value_start (writer, key);
  json_write_decimal (writer, FALSE, value);
}

static void
json_int (JsonWriter *writer, const char *key, gint64 value)
{
  json_value_start (writer, key);
  /* The magnitude of G_MININT64 does not fit a gint64; compute it unsigned. */
  guint64 magnitude = value < 0 ? (guint64) 0 - (guint64) value : (guint64) value;
  json_write_decimal (writer, value < 0, magnitude);
}

static void
json_bool (JsonWriter *writer, const char *key, gboolean value)
{
  json_value_start (writer, key);
  json_puts (writer, value ? "true" : "false");
}

/* A frame number, null when 0 (frames are 1-based). */
static void
json_frame (JsonWriter *writer, const char *key, guint64 frame)
{
  if (frame == 0)
    json_null (writer, key);
  else
    json_uint (writer, key, frame);
}

static void
json_time_usec (JsonWriter *writer, const char *key, gint64 usec)
{
  char buf[MTD_REPORT_TIME_LEN];
  json_string (writer, key, mtd_report_format_usec (usec, buf, sizeof buf) ? buf : NULL);
}

static void
json_time_seconds (JsonWriter *writer, const char *key, gint64 seconds)
{
  char buf[MTD_REPORT_TIME_LEN];
  json_string (writer, key, mtd_report_format_seconds (seconds, buf, sizeof buf) ? buf : NULL);
}

static void
json_string_array (JsonWriter *writer, const char *key, const GPtrArray *strings)
{
  json_begin_array (writer, key);
  for (guint i = 0; strings != NULL && i < strings->len; i++)
    json_string (writer, NULL, g_ptr_array_index (strings, i));
  json_end_array (writer);
}

/* ---- Connections -------------------------------------------------------------------------- */

static void
write_endpoint (JsonWriter *writer, const char *key, const MtdEndpoint *endpoint)
{
  json_begin_object (writer, key);
  json_string (writer, "ip", mtd_report_ip (writer->report, endpoint->ip));
  json_uint (writer, "port", endpoint->port);
  json_end_object (writer);
}

static void
write_warnings (JsonWriter *writer, const MtdConnection *connection)
{
  json_begin_array (writer, "warnings");
  for (guint i = 0; connection->warnings != NULL && i < connection->warnings->len; i++)
    json_string (writer, NULL, g_ptr_array_index (connection->warnings, i));
  for (guint i = 0; i < MTD_ANOMALY_COUNT; i++) {
    guint32 count = connection->anomalies.counts[i];
    if (count == 0)
      continue;
    g_autofree char *text = g_strdup_printf ("%s (%u time%s)", mtd_anomaly_description (i), count,
                                             count == 1 ? "" : "s");
    json_string (writer, NULL, text);
  }
  json_end_array (writer);
}

static void
write_anomalies (JsonWriter *writer, const char *key, const guint64 *counts)
{
  json_begin_object (writer, key);
  for (guint i = 0; i < MTD_ANOMALY_COUNT; i++)
    if (counts[i] > 0)
      json_uint (writer, mtd_anomaly_name (i), counts[i]);
  json_end_object (writer);
}

static void
write_findings (JsonWriter *writer, const MtdDiagnosis *diagnosis)
{
  json_begin_array (writer, "findings");
  for (guint i = 0; diagnosis != NULL && diagnosis->findings != NULL
                    && i < diagnosis->findings->len;
       i++) {
    const MtdFinding *finding = g_ptr_array_index (diagnosis->findings, i);
    json_begin_object (writer, NULL);
    json_string (writer, "code", finding->code);
    json_string (writer, "severity", mtd_severity_name (finding->severity));
    json_string (writer, "message", finding->message);
    json_string (writer, "cause", finding->cause);
    json_string (writer, "next_check", finding->next_check);
    json_frame (writer, "frame", finding->frame);
    json_begin_array (writer, "evidence");
    for (guint e = 0; e < finding->n_evidence; e++) {
      json_begin_object (writer, NULL);
      json_uint (writer, "input", finding->evidence[e].input_index);
      json_uint (writer, "frame", finding->evidence[e].frame);
      json_end_object (writer);
    }
    json_end_array (writer);
    json_end_object (writer);
  }
  json_end_array (writer);
}

static void
write_verdict (JsonWriter *writer, const char *key, const MtdVerdict *verdict,
               const char *value_name)
{
  json_begin_object (writer, key);
  json_string (writer, "value", value_name);
  json_string (writer, "how", mtd_how_name (verdict->how));
  json_begin_array (writer, "frames");
  for (guint i = 0; i < MIN (verdict->n_frames, MTD_MAX_EVIDENCE_FRAMES); i++)
    json_uint (writer, NULL, verdict->frames[i]);
  json_end_array (writer);
  json_string (writer, "reason", verdict->reason);
  json_end_object (writer);
}

/* One certificate as an object, under key (NULL inside arrays). */
static void
write_cert (JsonWriter *writer, const char *key, const MtdCert *cert,
            const MtdConnection *connection)
{
  json_begin_object (writer, key);
  json_string (writer, "subject", mtd_report_dn (writer->report, cert->subject));
  json_string (writer, "issuer", mtd_report_dn (writer->report, cert->issuer));
  gboolean shows_serials = mtd_report_shows_serials (writer->report);
  json_string (writer, "serial", shows_serials ? cert->serial_hex : NULL);
  json_begin_array (writer, "san");
  for (guint i = 0; cert->sans != NULL && i < cert->sans->len; i++) {
    const char *san = g_ptr_array_index (cert->sans, i);
    if (!shows_serials && g_str_has_prefix (san, "email:"))
      continue;
    json_string (writer, NULL, san);
  }
  json_end_array (writer);
  json_time_seconds (writer, "not_before", cert->not_before);
  json_time_seconds (writer, "not_after", cert->not_after);
  json_string (writer, "sha1", cert->sha1_hex);
  json_string (writer, "sha256", cert->sha256_hex);
  json_string (writer, "valid_at_capture",
               mtd_cert_validity_name (mtd_report_cert_validity (cert, connection)));
  json_end_object (writer);
}

static void
write_chain (JsonWriter *writer, const char *key, const GPtrArray *chain,
             const MtdConnection *connection)
{
  json_begin_array (writer, key);
  for (guint i = 0; chain != NULL && i < chain->len; i++)
    write_cert (writer, NULL, g_ptr_array_index (chain, i), connection);
  json_end_array (writer);
}

static void
write_alerts (JsonWriter *writer, const GArray *alerts)
{
  json_begin_array (writer, "alerts");
  for (guint i = 0; alerts != NULL && i < alerts->len; i++) {
    const MtdTlsAlert *alert = &g_array_index (alerts, MtdTlsAlert, i);
    json_begin_object (writer, NULL);
    json_frame (writer, "frame", alert->frame);
    json_string (writer, "from", alert->is_from_client ? "client" : "server");
    /* RFC 8446 §6: AlertLevel 1 warning, 2 fatal; anything else has no name. */
    const char *level = NULL;
    if (!alert->is_encrypted)
      level = alert->level == 1 ? "warning" : alert->level == 2 ? "fatal" : NULL;
    json_string (writer, "level", level);
    char buf[32];
    json_string (writer, "description",
                 alert->is_encrypted ? NULL
                                     : mtd_tls_alert_name (alert->description, buf, sizeof buf));
    json_bool (writer, "encrypted", alert->is_encrypted);
    json_bool (writer, "decrypted", alert->is_decrypted);
    json_end_object (writer);
  }
  json_end_array (writer);
}


/* Certificates asked for after the first handshake, each with the request that triggered it. */
static void
write_late_auths (JsonWriter *writer, const MtdConnection *connection, const MtdTlsFacts *tls)
{
  json_begin_array (writer, "late_auth");
  for (guint i = 0; tls->late_auths != NULL && i < tls->late_auths->len; i++) {
    const MtdLateAuth *late = &g_array_index (tls->late_auths, MtdLateAuth, i);
    json_begin_object (writer, NULL);
    json_string (writer, "kind", mtd_late_auth_kind_name (late->kind));
    json_frame (writer, "frame", late->frame);
    json_string (writer, "how", mtd_how_name (late->how));
    json_string (writer, "cert_requested", mtd_requested_name (late->requested.value));
    json_frame (writer, "cert_requested_frame",
                late->requested.n_frames > 0 ? late->requested.frames[0] : 0);
    json_string (writer, "cert_presented", mtd_presented_name (late->presented.value));
    json_frame (writer, "cert_presented_frame",
                late->presented.n_frames > 0 ? late->presented.frames[0] : 0);
    json_string (writer, "reason",
                 late->presented.reason != NULL ? late->presented.reason : late->requested.reason);
    const MtdHttpExchange *trigger = mtd_connection_late_auth_trigger (connection, late);
    if (trigger != NULL) {
      json_begin_object (writer, "trigger");
      json_string (writer, "method", trigger->method);
      json_string (writer, "path", trigger->path);
      json_frame (writer, "frame", trigger->request_frame);
      json_end_object (writer);
    } else {
      json_null (writer, "trigger");
    }
    json_end_object (writer);
  }
  json_end_array (writer);
}

static void
write_tls (JsonWriter *writer, const MtdTlsFacts *tls, const MtdConnection *connection)
{
  char buf[64];
  json_begin_object (writer, "tls");
  json_string (writer, "version",
               tls->version != 0 ? mtd_tls_version_name (tls->version, buf, sizeof buf) : NULL);
  json_bool (writer, "sslv2_client_hello", tls->is_sslv2_client_hello);
  json_string (writer, "client_max_version",
               tls->client_max_version != 0
                   ? mtd_tls_version_name (tls->client_max_version, buf, sizeof buf)
                   : NULL);
  json_string (writer, "sni", tls->sni);
  json_string_array (writer, "alpn_offered", tls->alpn_offered);
  json_string_array (writer, "client_signature_algorithms", tls->client_signature_algorithms);
  json_string (writer, "alpn", tls->alpn);
  json_string (writer, "cipher_suite",
               tls->has_cipher_suite
                   ? mtd_tls_cipher_suite_name (tls->cipher_suite, buf, sizeof buf)
                   : NULL);
  json_bool (writer, "resumed", tls->is_resumed);
  gint handshake_state = mtd_report_handshake_state (connection);
  if (handshake_state < 0)
    json_null (writer, "handshake_complete");
  else
    json_bool (writer, "handshake_complete", handshake_state > 0);
  json_bool (writer, "renegotiation", tls->has_renegotiation);
  json_uint (writer, "renegotiations", tls->n_renegotiations);
  json_bool (writer, "post_handshake_auth_offered", tls->has_post_handshake_auth_offer);
  json_frame (writer, "client_hello_frame", tls->client_hello_frame);
  json_frame (writer, "server_hello_frame", tls->server_hello_frame);
  write_verdict (writer, "client_cert_requested", &tls->requested,
                 mtd_requested_name (tls->requested.value));
  write_verdict (writer, "client_cert_presented", &tls->presented,
                 mtd_presented_name (tls->presented.value));
  json_begin_array (writer, "acceptable_cas");
  for (guint i = 0; tls->acceptable_cas != NULL && i < tls->acceptable_cas->len; i++)
    json_string (writer, NULL,
                 mtd_report_dn (writer->report, g_ptr_array_index (tls->acceptable_cas, i)));
  json_end_array (writer);
  json_string_array (writer, "certificate_types", tls->cert_types);
  json_string_array (writer, "signature_algorithms", tls->signature_algorithms_requested);
  write_chain (writer, "client_chain", tls->client_chain, connection);
  write_chain (writer, "server_chain", tls->server_chain, connection);
  json_frame (writer, "client_certificate_verify_frame",
              tls->has_client_certificate_verify ? tls->client_certificate_verify_frame : 0);
  write_alerts (writer, tls->alerts);
  json_begin_object (writer, "decryption");
  json_string (writer, "status", mtd_decrypt_status_name (tls->decrypt_status));
  json_uint (writer, "records", tls->n_records_decrypted);
  json_frame (writer, "failure_frame", tls->decrypt_failure_frame);
  json_end_object (writer);
  json_frame (writer, "post_handshake_request_frame",
              tls->has_post_handshake_request ? tls->post_handshake_request_frame : 0);
  write_late_auths (writer, connection, tls);
  json_begin_array (writer, "key_updates");
  for (guint i = 0; tls->key_updates != NULL && i < tls->key_updates->len; i++) {
    const MtdKeyUpdate *update = &g_array_index (tls->key_updates, MtdKeyUpdate, i);
    json_begin_object (writer, NULL);
    json_uint (writer, "frame", update->frame);
    json_string (writer, "from", update->is_from_client ? "client" : "server");
    json_end_object (writer);
  }
  json_end_array (writer);
  json_uint (writer, "key_updates_total", tls->n_key_updates);
  json_end_object (writer);
}

static const char *
xfcc_hash_check_name (MtdXfccHashCheck check)
{
  switch (check) {
  case MTD_XFCC_HASH_MATCHES:
    return "matches";
  case MTD_XFCC_HASH_DIFFERS:
    return "differs";
  case MTD_XFCC_HASH_NOT_CHECKED:
  default:
    return NULL;
  }
}

static void
write_cert_or_null (JsonWriter *writer, const char *key, const MtdCert *cert,
                    const MtdConnection *connection)
{
  if (cert == NULL)
    json_null (writer, key);
  else
    write_cert (writer, key, cert, connection);
}

/* The forwarding headers of one request (docs/json-schema.md, "cert_headers"). */
static void
write_cert_headers (JsonWriter *writer, const MtdConnection *connection, guint exchange_index)
{
  json_begin_array (writer, "cert_headers");
  for (guint i = 0; connection->cert_headers != NULL && i < connection->cert_headers->len; i++) {
    const MtdConnCertHeader *entry = g_ptr_array_index (connection->cert_headers, i);
    if (entry->exchange_index != exchange_index)
      continue;
    const MtdCertHeader *header = entry->header;
    json_begin_object (writer, NULL);
    json_string (writer, "name", header->name);
    json_string (writer, "front_end", mtd_certheader_front_end (header->name));
    json_string (writer, "encoding", mtd_cert_encoding_name (header->encoding));
    json_bool (writer, "valid", header->is_valid);
    json_string (writer, "problem", header->problem);
    json_bool (writer, "convention_mismatch", header->is_convention_mismatch);
    write_cert_or_null (writer, "cert", header->cert, connection);
    json_uint (writer, "chain_certs", header->n_chain_certs);
    json_frame (writer, "frame", entry->frame);
    if (header->xfcc_elements != NULL) {
      json_begin_array (writer, "xfcc");
      for (guint j = 0; j < header->xfcc_elements->len; j++) {
        const MtdXfccElement *element = g_ptr_array_index (header->xfcc_elements, j);
        json_begin_object (writer, NULL);
        json_string (writer, "by", element->by);
        json_string (writer, "hash", element->hash);
        json_string (writer, "hash_check", xfcc_hash_check_name (element->hash_check));
        json_string (writer, "subject", mtd_report_dn (writer->report, element->subject));
        json_string (writer, "uri", element->uri);
        json_string_array (writer, "dns", element->dns);
        json_string (writer, "cert_sha1", element->cert != NULL ? element->cert->sha1_hex : NULL);
        json_end_object (writer);
      }
      json_end_array (writer);
    }
    json_end_object (writer);
  }
  json_end_array (writer);
}

static void
write_http (JsonWriter *writer, const MtdConnection *connection)
{
  const GPtrArray *exchanges = connection->http;
  json_begin_array (writer, "http");
  for (guint i = 0; i < exchanges->len; i++) {
    const MtdHttpExchange *exchange = g_ptr_array_index (exchanges, i);
    json_begin_object (writer, NULL);
    json_frame (writer, "frame", exchange->request_frame);
    json_string (writer, "method", exchange->method);
    json_string (writer, "host", exchange->host);
    json_string (writer, "path", exchange->path);
    json_string (writer, "version", exchange->version);
    if (exchange->status != 0)
      json_int (writer, "status", exchange->status);
    else
      json_null (writer, "status");
    json_frame (writer, "status_frame", exchange->status_frame);
    json_string (writer, "location", exchange->location);
    write_cert_headers (writer, connection, i);
    json_end_object (writer);
  }
  json_end_array (writer);
}

/* The members that open the JSON document and the JSON Lines summary line: the schema, the
 * tool and what --redact hid.  None of them comes from the wire, so none is scrubbed. */
static void
write_document_head (JsonWriter *writer, MtdReport *report)
{
  gboolean is_scrubbing = writer->is_scrubbing;
  writer->is_scrubbing = FALSE;
  json_uint (writer, "schema_version", JSON_SCHEMA_VERSION);
  json_begin_object (writer, "tool");
  json_string (writer, "name", "mtlsdiag");
  json_string (writer, "version", report->tool_version);
  json_end_object (writer);
  json_string (writer, "redacted", mtd_report_redaction_name (report->redaction));
  writer->is_scrubbing = is_scrubbing;
}

void
mtd_report_json_begin (MtdReport *report)
{
  JsonWriter writer;
  json_init (&writer, report, report->out);
  json_putc (&writer, '{');
  writer.depth = 1;
  write_document_head (&writer, report);
  /* --summary-only: no "connections" and no "chains" at all, rather than empty arrays that
   * would say there were none. */
  json_puts (&writer, report->is_summary_only ? "," : ",\"connections\":[");
  json_flush (&writer);
}

/* One connection as one object on one line (no whitespace inside), to writer's stream; type,
 * when not NULL, is written first as "type" (JSON Lines). */
static void
write_connection (JsonWriter *writer, const char *type, const MtdConnection *connection,
                  const MtdDiagnosis *diagnosis)
{
  json_begin_object (writer, NULL);
  if (type != NULL)
    json_string (writer, "type", type);
  json_uint (writer, "id", connection->id);
  json_uint (writer, "input", connection->input_index);
  write_endpoint (writer, "client", &connection->client);
  write_endpoint (writer, "server", &connection->server);
  json_bool (writer, "role_guessed", connection->is_role_guessed);
  json_frame (writer, "first_frame", connection->first_frame);
  json_frame (writer, "last_frame", connection->last_frame);
  json_time_usec (writer, "start", connection->start_usec);
  json_time_usec (writer, "end", connection->end_usec);
  json_uint (writer, "packets", connection->n_packets);
  json_uint (writer, "bytes_client_to_server", connection->n_payload_bytes[0]);
  json_uint (writer, "bytes_server_to_client", connection->n_payload_bytes[1]);
  json_string (writer, "app_protocol", mtd_app_protocol_name (connection->app_protocol));
  json_string (writer, "ndpi_protocol", connection->ndpi_protocol);
  json_string (writer, "ja3", connection->ja3_client);
  json_bool (writer, "incomplete", connection->is_incomplete);
  json_string (writer, "end_reason", connection->end_reason);
  if (connection->has_starttls)
    json_string (writer, "starttls",
                 connection->starttls_protocol != NULL ? connection->starttls_protocol
                                                       : "unknown");
  else
    json_null (writer, "starttls");
  write_warnings (writer, connection);
  json_begin_object (writer, "anomalies");
  for (guint i = 0; i < MTD_ANOMALY_COUNT; i++)
    if (connection->anomalies.counts[i] > 0)
      json_uint (writer, mtd_anomaly_name (i), connection->anomalies.counts[i]);
  json_end_object (writer);
  write_findings (writer, diagnosis);
  if (connection->tls != NULL)
    write_tls (writer, connection->tls, connection);
  else
    json_null (writer, "tls");
  if (connection->http != NULL) {
    write_http (writer, connection);
    json_uint (writer, "http_dropped", connection->n_http_dropped);
  } else {
    json_null (writer, "http");
    json_uint (writer, "http_dropped", 0);
  }
  json_bool (writer, "h2_prior_knowledge", connection->is_h2_prior_knowledge);
  json_string (writer, "direction", mtd_direction_name (connection->direction));
  json_string (writer, "direction_guess", mtd_direction_guess (connection));
  json_begin_object (writer, "client_chain_check");
  json_string (writer, "status", mtd_chain_check_name (connection->client_chain_check));
  json_string (writer, "error", connection->client_chain_error);
  json_end_object (writer);
  if (connection->has_expected_thumbprints)
    json_bool (writer, "expected_thumbprint", connection->is_thumbprint_expected);
  else
    json_null (writer, "expected_thumbprint");
  json_end_object (writer);
}

void
mtd_report_json_connection (MtdReport *report, const MtdConnection *connection,
                            const MtdDiagnosis *diagnosis)
{
  JsonWriter writer;
  json_init (&writer, report, report->out);
  /* One connection per line keeps the document easy to follow with line tools. */
  json_puts (&writer, report->n_connections > 0 ? ",\n" : "\n");
  write_connection (&writer, NULL, connection, diagnosis);
  json_flush (&writer);
}

void
mtd_report_jsonl_connection (MtdReport *report, const MtdConnection *connection,
                             const MtdDiagnosis *diagnosis)
{
  JsonWriter writer;
  json_init (&writer, report, report->out);
  write_connection (&writer, "connection", connection, diagnosis);
  json_putc (&writer, '\n');
  json_flush (&writer);
}

/* ---- Inputs and summary ------------------------------------------------------------------- */

static void
write_inputs (JsonWriter *writer, const MtdInputInfo *const *inputs, guint n_inputs)
{
  json_begin_array (writer, "inputs");
  for (guint i = 0; inputs != NULL && i < n_inputs; i++) {
    const MtdInputInfo *info = inputs[i];
    json_begin_object (writer, NULL);
    json_string (writer, "path", info->path);
    json_string (writer, "sha256", info->sha256_hex[0] != '\0' ? info->sha256_hex : NULL);
    json_string (writer, "link_type", info->link_type);
    json_uint (writer, "packets", info->n_packets);
    if (info->n_packets > 0) {
      json_time_usec (writer, "first_time", info->first_usec);
      json_time_usec (writer, "last_time", info->last_usec);
    } else {
      json_null (writer, "first_time");
      json_null (writer, "last_time");
    }
    json_string_array (writer, "warnings", info->warnings);
    json_end_object (writer);
  }
  json_end_array (writer);
}

static void
write_summary (JsonWriter *writer, const MtdSummary *summary)
{
  json_begin_object (writer, "summary");
  json_uint (writer, "packets", summary->n_packets);
  json_uint (writer, "bytes", summary->n_bytes);
  json_uint (writer, "tcp_packets", summary->n_tcp_packets);
  json_uint (writer, "udp_packets", summary->n_udp_packets);
  json_uint (writer, "quic_packets", summary->n_quic_packets);
  json_uint (writer, "other_packets", summary->n_other_packets);
  json_uint (writer, "ip_fragments", summary->n_ip_fragments);
  json_uint (writer, "snaplen_truncated_packets", summary->n_snaplen_truncated);
  json_uint (writer, "connections", summary->n_connections);
  json_uint (writer, "tls_connections", summary->n_tls_connections);
  json_uint (writer, "http_connections", summary->n_http_connections);
  json_uint (writer, "http_requests", summary->n_http_requests);

  json_begin_object (writer, "tls_versions");
  for (guint i = 0; i < G_N_ELEMENTS (summary->n_by_version); i++) {
    if (summary->n_by_version[i] == 0)
      continue;
    char buf[64];
    json_uint (writer, mtd_tls_version_name (mtd_report_version_of_index (i), buf, sizeof buf),
               summary->n_by_version[i]);
  }
  if (summary->n_version_unknown > 0)
    json_uint (writer, "unknown", summary->n_version_unknown);
  json_end_object (writer);

  static const MtdRequested rows[] = { MTD_REQUESTED_YES, MTD_REQUESTED_NO,
                                       MTD_REQUESTED_UNKNOWN };
  static const MtdPresented columns[] = { MTD_PRESENTED_YES, MTD_PRESENTED_EMPTY,
                                          MTD_PRESENTED_NO, MTD_PRESENTED_UNKNOWN };
  json_begin_object (writer, "requested_presented");
  for (gsize r = 0; r < G_N_ELEMENTS (rows); r++) {
    json_begin_object (writer, mtd_requested_name (rows[r]));
    for (gsize c = 0; c < G_N_ELEMENTS (columns); c++)
      json_uint (writer, mtd_presented_name (columns[c]), summary->matrix[rows[r]][columns[c]]);
    json_end_object (writer);
  }
  json_end_object (writer);

  json_uint (writer, "alerts", summary->n_alerts);
  json_uint (writer, "incomplete_connections", summary->n_incomplete);
  json_uint (writer, "flows_evicted", summary->n_flows_evicted);
  json_uint (writer, "flows_idle_closed", summary->n_flows_idle_closed);
  json_uint (writer, "connections_with_problem", summary->n_connections_with_problem);
  write_anomalies (writer, "anomalies", summary->anomalies);
  json_begin_object (writer, "cert_cache");
  json_uint (writer, "hits", summary->n_cert_cache_hits);
  json_uint (writer, "misses", summary->n_cert_cache_misses);
  json_end_object (writer);
  json_uint (writer, "peak_live_flows", summary->peak_live_flows);
  json_begin_object (writer, "decryption");
  for (guint s = MTD_DECRYPT_NOT_ATTEMPTED; s <= MTD_DECRYPT_FAILED; s++)
    json_uint (writer, mtd_decrypt_status_name (s), summary->n_decrypt_by_status[s]);
  json_end_object (writer);
  json_begin_object (writer, "chains");
  json_uint (writer, "total", summary->n_chains);
  for (guint v = MTD_CHAIN_UNKNOWN; v <= MTD_CHAIN_HEADER_MISMATCH; v++)
    json_uint (writer, mtd_chain_verdict_name (v), summary->n_chains_by_verdict[v]);
  json_uint (writer, "with_problem", summary->n_chains_with_problem);
  json_uint (writer, "connections_not_chained", summary->n_legs_not_chained);
  json_uint (writer, "peak_connections_held", summary->peak_legs_held);
  json_uint (writer, "connections_released_early", summary->n_legs_released);
  json_end_object (writer);
  if (summary->is_saving_flagged) {
    json_begin_object (writer, "saved_flagged");
    json_uint (writer, "connections", summary->n_saved_connections);
    json_uint (writer, "cut_short", summary->n_saved_cut_short);
    json_uint (writer, "packets", summary->n_saved_packets);
    json_end_object (writer);
  }
  json_end_object (writer);
}

/* ---- Chains ------------------------------------------------------------------------------ */

static void
write_hop_endpoint (JsonWriter *writer, const char *key, const MtdEndpoint *endpoint,
                    GHashTable *hop_names)
{
  json_begin_object (writer, key);
  json_string (writer, "ip", mtd_report_ip (writer->report, endpoint->ip));
  json_uint (writer, "port", endpoint->port);
  const char *name = hop_names != NULL ? g_hash_table_lookup (hop_names, endpoint->ip) : NULL;
  if (name != NULL)
    json_string (writer, "name", name);
  json_end_object (writer);
}

static void
write_leg_cert_header (JsonWriter *writer, const MtdLegRequest *request)
{
  if (request == NULL || request->cert_header == NULL) {
    json_null (writer, "cert_header");
    return;
  }
  const MtdLegCertHeader *header = request->cert_header;
  json_begin_object (writer, "cert_header");
  json_string (writer, "name", header->name);
  json_string (writer, "encoding", mtd_cert_encoding_name (header->encoding));
  json_bool (writer, "valid", header->is_valid);
  json_bool (writer, "convention_mismatch", header->is_convention_mismatch);
  json_string (writer, "sha1", header->sha1_hex[0] != '\0' ? header->sha1_hex : NULL);
  json_string (writer, "subject", mtd_report_dn (writer->report, header->subject));
  json_frame (writer, "frame", header->frame);
  json_end_object (writer);
}

static void
write_hop (JsonWriter *writer, const MtdChainHop *hop, guint number, GHashTable *hop_names)
{
  const MtdLeg *leg = hop->leg;
  json_begin_object (writer, NULL);
  json_uint (writer, "hop", number);
  json_uint (writer, "connection", leg->connection_id);
  json_uint (writer, "input", leg->input_index);
  json_begin_array (writer, "seen_in_inputs");
  for (guint i = 0; i < 64; i++)
    if (leg->seen_in_inputs & (G_GUINT64_CONSTANT (1) << i))
      json_uint (writer, NULL, i);
  json_end_array (writer);
  write_hop_endpoint (writer, "from", &leg->client, hop_names);
  write_hop_endpoint (writer, "to", &leg->server, hop_names);
  json_time_usec (writer, "start", leg->start_usec);
  json_string (writer, "protocol", leg->protocol == MTD_APP_TLS ? "tls" : "http");
  if (leg->protocol == MTD_APP_TLS) {
    char buf[64];
    json_string (writer, "tls_version",
                 leg->tls_version != 0 ? mtd_tls_version_name (leg->tls_version, buf, sizeof buf)
                                       : NULL);
    json_string (writer, "sni", leg->sni);
    write_verdict (writer, "client_cert_requested", &leg->requested,
                   mtd_requested_name (leg->requested.value));
    write_verdict (writer, "client_cert_presented", &leg->presented,
                   mtd_presented_name (leg->presented.value));
    json_string (writer, "client_leaf_sha1",
                 leg->client_sha1_hex[0] != '\0' ? leg->client_sha1_hex : NULL);
  } else {
    json_null (writer, "tls_version");
    json_null (writer, "sni");
    json_null (writer, "client_cert_requested");
    json_null (writer, "client_cert_presented");
    json_null (writer, "client_leaf_sha1");
  }
  const MtdLegRequest *request = hop->cert_request != NULL ? hop->cert_request
                                                           : hop->first_request;
  if (request != NULL) {
    json_begin_object (writer, "request");
    json_string (writer, "method", request->method);
    json_string (writer, "host", request->host);
    json_string (writer, "path", request->path);
    json_frame (writer, "frame", request->request_frame);
    if (request->status != 0)
      json_int (writer, "status", request->status);
    else
      json_null (writer, "status");
    json_frame (writer, "status_frame", request->status_frame);
    json_string (writer, "x_forwarded_for", request->x_forwarded_for);
    json_end_object (writer);
  } else {
    json_null (writer, "request");
  }
  write_leg_cert_header (writer, hop->cert_request);
  json_end_object (writer);
}

/* One chain as one object on one line; type as in write_connection. */
static void
write_request_chain (JsonWriter *writer, const char *type, const MtdChain *chain,
                     const MtdDiagnosis *diagnosis, GHashTable *hop_names)
{
  json_begin_object (writer, NULL);
  if (type != NULL)
    json_string (writer, "type", type);
  json_uint (writer, "id", chain->id);
  json_string (writer, "verdict", mtd_chain_verdict_name (chain->verdict));
  json_string (writer, "reason", chain->reason);
  if (chain->dropped_at_hop != 0) {
    const MtdChainHop *hop = &g_array_index (chain->hops, MtdChainHop, chain->dropped_at_hop - 1);
    json_begin_object (writer, "dropped_at");
    json_uint (writer, "hop", chain->dropped_at_hop);
    write_hop_endpoint (writer, "from", &hop->leg->client, hop_names);
    write_hop_endpoint (writer, "to", &hop->leg->server, hop_names);
    json_end_object (writer);
  } else {
    json_null (writer, "dropped_at");
  }
  if (chain->mismatch_hop != 0)
    json_uint (writer, "mismatch_hop", chain->mismatch_hop);
  else
    json_null (writer, "mismatch_hop");
  json_begin_array (writer, "hops");
  for (guint i = 0; i < chain->hops->len; i++)
    write_hop (writer, &g_array_index (chain->hops, MtdChainHop, i), i + 1, hop_names);
  json_end_array (writer);
  json_begin_array (writer, "links");
  for (guint i = 1; i < chain->hops->len; i++) {
    const MtdChainHop *hop = &g_array_index (chain->hops, MtdChainHop, i);
    const char *names[16];
    guint n_names = mtd_match_names (hop->matched_by, names);
    json_begin_object (writer, NULL);
    json_uint (writer, "from_hop", i);
    json_uint (writer, "to_hop", i + 1);
    json_begin_array (writer, "matched_by");
    for (guint n = 0; n < n_names; n++)
      json_string (writer, NULL, names[n]);
    json_end_array (writer);
    json_end_object (writer);
  }
  json_end_array (writer);
  write_findings (writer, diagnosis);
  json_end_object (writer);
}

void
mtd_report_json_chain (MtdReport *report, const MtdChain *chain, const MtdDiagnosis *diagnosis,
                       GHashTable *hop_names)
{
  if (report->chain_spools[0] == NULL) {
    report->chain_spools[0] = mtd_spool_new ();
    if (report->chain_spools[0] == NULL) {
      report->write_errno = report->write_errno != 0 ? report->write_errno : errno;
      return;
    }
  }
  JsonWriter writer;
  json_init (&writer, report, report->chain_spools[0]->file);
  json_puts (&writer, report->n_chains > 0 ? ",\n" : "\n");
  write_request_chain (&writer, NULL, chain, diagnosis, hop_names);
  json_flush (&writer);
}

/* JSON Lines: no spool; a chain is a line of its own as soon as it is final. */
void
mtd_report_jsonl_chain (MtdReport *report, const MtdChain *chain, const MtdDiagnosis *diagnosis,
                        GHashTable *hop_names)
{
  JsonWriter writer;
  json_init (&writer, report, report->out);
  write_request_chain (&writer, "chain", chain, diagnosis, hop_names);
  json_putc (&writer, '\n');
  json_flush (&writer);
}

void
mtd_report_json_chains (MtdReport *report)
{
  FILE *out = report->out;
  fputs (report->n_connections > 0 ? "\n],\n\"chains\":[" : "],\n\"chains\":[", out);
  if (!mtd_spool_drain (report->chain_spools[0], out))
    report->write_errno = report->write_errno != 0 ? report->write_errno : EIO;
  report->chain_spools[0] = NULL;
  fputs (report->n_chains > 0 ? "\n],\n" : "],\n", out);
}

void
mtd_report_json_finish (MtdReport *report, const MtdInputInfo *const *inputs, guint n_inputs,
                        const MtdSummary *summary)
{
  /* Continues the top-level object that mtd_report_json_begin opened; the commas between its
   * members are written here so that each starts a line. */
  JsonWriter writer;
  json_init (&writer, report, report->out);
  writer.depth = 1;
  if (report->is_summary_only)
    json_puts (&writer, "\n");
  write_inputs (&writer, inputs, n_inputs);
  json_puts (&writer, ",\n");
  writer.has_items[1] = FALSE;
  write_summary (&writer, summary);
  json_puts (&writer, "}\n");
  json_flush (&writer);
}

void
mtd_report_jsonl_finish (MtdReport *report, const MtdInputInfo *const *inputs, guint n_inputs,
                         const MtdSummary *summary)
{
  JsonWriter writer;
  json_init (&writer, report, report->out);
  json_begin_object (&writer, NULL);
  json_string (&writer, "type", "summary");
  write_document_head (&writer, report);
  write_inputs (&writer, inputs, n_inputs);
  write_summary (&writer, summary);
  json_end_object (&writer);
  json_putc (&writer, '\n');
  json_flush (&writer);
}
