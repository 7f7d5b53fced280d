/* test-report.c: unit tests of diagnose.c, conn-facts.c and the report writers on hand-built facts.
 *
 * Checks the findings for each client-certificate situation (RFC 5246 §7.4.6, RFC 8446 §4.4.2),
 * that the JSON report is RFC 8259 JSON with the documented fields (parsed by python3's json
 * module, which rejects raw control characters and, reading the file as UTF-8, invalid bytes),
 * and that the text report lets no control character through to a terminal.  Certificates are
 * the test PKI's in captures/pki; their expected thumbprints are computed here with GLib's SHA-1,
 * not taken from the code under test.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "mtd-certheader.h"
#include "mtd-conn.h"
#include "mtd-diagnose.h"
#include "mtd-report.h"
#include "../src/report-private.h"

#define START_USEC G_GINT64_CONSTANT (1796113800123456) /* 2026-12-01T08:30:00.123456Z */
#define START_TEXT "2026-12-01T08:30:00.123456Z"
#define END_TEXT "2026-12-01T08:30:01.000001Z"

/* A path with a quote, a backslash, C0 controls, DEL, two invalid UTF-8 sequences (a lone 0xFF
 * and a lead byte followed by "("), then U+202E RIGHT-TO-LEFT OVERRIDE. */
#define HOSTILE_PATH "/a\"b\\c\n\r\t\x01\x7f\xff\xc3(end\xe2\x80\xae"
/* The same as JSON must decode it: each invalid byte becomes U+FFFD. */
#define HOSTILE_PATH_DECODED "/a\"b\\c\n\r\t\x01\x7f\xef\xbf\xbd\xef\xbf\xbd(end\xe2\x80\xae"
#define HOSTILE_HOST "evil\"host\\\x1b[31m"
#define HOSTILE_WARNING "bad\x1b]0;title\x07 warning"

/* ---- Building facts by hand ---------------------------------------------------------------- */

typedef struct {
  MtdCert *cert;
  char sha1_hex[41];
} TestCert;

/* Reads a PEM certificate of the test PKI and parses its DER. */
static TestCert
load_cert (const char *name)
{
  TestCert result = { 0 };
  g_autofree char *file_name = g_strconcat (name, ".pem", NULL);
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "captures", "pki", file_name,
                                                 NULL);
  g_autofree char *pem = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (path, &pem, NULL, &error));
  g_assert_no_error (error);
  const char *begin = strstr (pem, "-----BEGIN CERTIFICATE-----");
  g_assert_nonnull (begin);
  begin += strlen ("-----BEGIN CERTIFICATE-----");
  const char *end = strstr (begin, "-----END CERTIFICATE-----");
  g_assert_nonnull (end);
  g_autofree char *base64 = g_strndup (begin, (gsize) (end - begin));
  gsize der_len = 0;
  g_autofree guint8 *der = g_base64_decode (g_strstrip (base64), &der_len);
  g_assert_cmpuint (der_len, >, 100);
  g_autofree char *sha1 = g_compute_checksum_for_data (G_CHECKSUM_SHA1, der, der_len);
  g_autofree char *sha1_upper = g_ascii_strup (sha1, -1);
  g_strlcpy (result.sha1_hex, sha1_upper, sizeof result.sha1_hex);
  result.cert = mtd_cert_new_from_der (der, der_len, &error);
  g_assert_no_error (error);
  g_assert_nonnull (result.cert);
  return result;
}

static GPtrArray *
strings_new (const char *first, ...)
{
  GPtrArray *strings = g_ptr_array_new_with_free_func (g_free);
  va_list args;
  va_start (args, first);
  for (const char *s = first; s != NULL; s = va_arg (args, const char *))
    g_ptr_array_add (strings, g_strdup (s));
  va_end (args);
  return strings;
}

static MtdTlsFacts *
tls_new (guint16 version, guint16 cipher_suite)
{
  MtdTlsFacts *tls = g_new0 (MtdTlsFacts, 1);
  tls->version = version;
  tls->client_max_version = version;
  tls->cipher_suite = cipher_suite;
  tls->has_cipher_suite = TRUE;
  tls->sni = g_strdup ("app.example.com");
  tls->alpn_offered = strings_new ("h2", "http/1.1", NULL);
  tls->alpn = g_strdup ("http/1.1");
  tls->client_hello_frame = 4;
  tls->server_hello_frame = 6;
  tls->acceptable_cas = strings_new (NULL);
  /* Code names are static or kept for the process, not owned by their arrays (mtd-tls.h). */
  tls->cert_types = g_ptr_array_new ();
  tls->signature_algorithms_requested = g_ptr_array_new ();
  tls->client_chain = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_cert_unref);
  tls->server_chain = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_cert_unref);
  tls->alerts = g_array_new (FALSE, TRUE, sizeof (MtdTlsAlert));
  tls->is_handshake_complete = TRUE;
  return tls;
}

static void
verdict_set (MtdVerdict *verdict, gint value, MtdHow how, guint64 frame, const char *reason)
{
  verdict->value = value;
  verdict->how = how;
  verdict->n_frames = 0;
  if (frame != 0)
    verdict->frames[verdict->n_frames++] = frame;
  g_free (verdict->reason);
  verdict->reason = g_strdup (reason);
}

static void
add_alert (MtdTlsFacts *tls, guint64 frame, gboolean is_from_client, gboolean is_encrypted,
           guint8 level, guint8 description)
{
  MtdTlsAlert alert = { 0 };
  alert.frame = frame;
  alert.is_from_client = is_from_client;
  alert.is_encrypted = is_encrypted;
  alert.level = level;
  alert.description = description;
  g_array_append_val (tls->alerts, alert);
}

static MtdConnection *
connection_new (guint64 id, MtdAppProtocol protocol)
{
  MtdConnection *connection = mtd_connection_new ();
  connection->id = id;
  g_strlcpy (connection->client.ip, "10.0.0.5", sizeof connection->client.ip);
  connection->client.port = 51234;
  g_strlcpy (connection->server.ip, "10.0.0.9", sizeof connection->server.ip);
  connection->server.port = 443;
  connection->first_frame = 1;
  connection->last_frame = 14;
  connection->start_usec = START_USEC;
  connection->end_usec = START_USEC + 876545;
  connection->n_packets = 14;
  connection->n_payload_bytes[0] = 1200;
  connection->n_payload_bytes[1] = 4800;
  connection->app_protocol = protocol;
  connection->end_reason = "fin";
  return connection;
}

/* TLS 1.2: the server asks (frame 6, naming two CAs), the client sends an empty list (frame 8),
 * the server ends with a fatal handshake_failure (frame 9). */
static MtdConnection *
make_tls12_empty (const TestCert *server)
{
  MtdConnection *connection = connection_new (3, MTD_APP_TLS);
  connection->ndpi_protocol = g_strdup ("TLS");
  MtdTlsFacts *tls = tls_new (0x0303, 0xC02F);
  verdict_set (&tls->requested, MTD_REQUESTED_YES, MTD_HOW_OBSERVED, 6, NULL);
  verdict_set (&tls->presented, MTD_PRESENTED_EMPTY, MTD_HOW_OBSERVED, 8, NULL);
  g_ptr_array_add (tls->acceptable_cas, g_strdup ("CN=Root A"));
  g_ptr_array_add (tls->acceptable_cas, g_strdup ("CN=Root B"));
  g_ptr_array_add (tls->cert_types, (gpointer) "ecdsa_sign");
  g_ptr_array_add (tls->signature_algorithms_requested, (gpointer) "ecdsa_secp256r1_sha256");
  g_ptr_array_add (tls->server_chain, mtd_cert_ref (server->cert));
  add_alert (tls, 9, FALSE, FALSE, 2, 40);
  tls->is_handshake_complete = FALSE;
  connection->tls = tls;
  return connection;
}

/* TLS 1.3: request and certificate inferred from the client's 887-byte first record. */
static MtdConnection *
make_tls13_inferred (void)
{
  MtdConnection *connection = connection_new (4, MTD_APP_TLS);
  MtdTlsFacts *tls = tls_new (0x0304, 0x1302);
  const char *reason = "the client's first encrypted record is 887 bytes, far more than a "
                       "Finished (69 bytes with overhead)";
  verdict_set (&tls->requested, MTD_REQUESTED_YES, MTD_HOW_INFERRED, 8, reason);
  verdict_set (&tls->presented, MTD_PRESENTED_YES, MTD_HOW_INFERRED, 8, reason);
  connection->tls = tls;
  return connection;
}

static MtdHttpExchange *
exchange_new (const char *method, const char *host, const char *path, gint status,
              const char *location)
{
  MtdHttpExchange *exchange = g_new0 (MtdHttpExchange, 1);
  exchange->request_frame = 4;
  exchange->method = g_strdup (method);
  exchange->host = g_strdup (host);
  exchange->path = g_strdup (path);
  exchange->version = g_strdup ("HTTP/1.1");
  exchange->status = status;
  exchange->status_frame = status != 0 ? 6 : 0;
  exchange->location = g_strdup (location);
  return exchange;
}

/* Plain HTTP answered with 200; every string the wire gave is hostile. */
static MtdConnection *
make_http_hostile (void)
{
  MtdConnection *connection = connection_new (5, MTD_APP_HTTP);
  connection->server.port = 80;
  connection->ndpi_protocol = g_strdup ("HTTP\x1b[2J");
  connection->http = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_http_exchange_free);
  g_ptr_array_add (connection->http,
                   exchange_new ("GET", HOSTILE_HOST, HOSTILE_PATH, 200, NULL));
  mtd_connection_warn (connection, "%s", HOSTILE_WARNING);
  connection->anomalies.counts[MTD_ANOMALY_SNAPLEN_TRUNCATED] = 2;
  return connection;
}

static MtdConnection *
make_http_redirect (void)
{
  MtdConnection *connection = connection_new (6, MTD_APP_HTTP);
  connection->server.port = 80;
  connection->http = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_http_exchange_free);
  g_ptr_array_add (connection->http, exchange_new ("GET", "app.example.com", "/login", 301,
                                                   "https://app.example.com/login"));
  return connection;
}

static MtdConnection *
make_tls12_not_requested (void)
{
  MtdConnection *connection = connection_new (7, MTD_APP_TLS);
  MtdTlsFacts *tls = tls_new (0x0303, 0xC02F);
  verdict_set (&tls->requested, MTD_REQUESTED_NO, MTD_HOW_OBSERVED, 6, NULL);
  verdict_set (&tls->presented, MTD_PRESENTED_NO, MTD_HOW_OBSERVED, 0,
               "no certificate was requested, so none is sent");
  add_alert (tls, 12, FALSE, TRUE, 0, 0);
  add_alert (tls, 14, TRUE, TRUE, 0, 0);
  connection->tls = tls;
  return connection;
}

/* TLS 1.2: the client presents client.pem (frame 8), the server answers unknown_ca (frame 9). */
static MtdConnection *
make_tls12_unknown_ca (const TestCert *client, gint64 start_usec)
{
  MtdConnection *connection = connection_new (8, MTD_APP_TLS);
  connection->start_usec = start_usec;
  MtdTlsFacts *tls = tls_new (0x0303, 0xC02F);
  verdict_set (&tls->requested, MTD_REQUESTED_YES, MTD_HOW_OBSERVED, 6, NULL);
  verdict_set (&tls->presented, MTD_PRESENTED_YES, MTD_HOW_OBSERVED, 8, NULL);
  g_ptr_array_add (tls->client_chain, mtd_cert_ref (client->cert));
  tls->has_client_certificate_verify = TRUE;
  tls->client_certificate_verify_frame = 8;
  add_alert (tls, 9, FALSE, FALSE, 2, 48);
  tls->is_handshake_complete = FALSE;
  connection->tls = tls;
  return connection;
}

/* TLS 1.3: an empty Certificate inferred by size, then an encrypted alert from the server. */
static MtdConnection *
make_tls13_rejected (void)
{
  MtdConnection *connection = connection_new (9, MTD_APP_TLS);
  MtdTlsFacts *tls = tls_new (0x0304, 0x1302);
  const char *reason = "the client's first encrypted record is 25 bytes: an empty Certificate";
  verdict_set (&tls->requested, MTD_REQUESTED_YES, MTD_HOW_INFERRED, 8, reason);
  verdict_set (&tls->presented, MTD_PRESENTED_EMPTY, MTD_HOW_INFERRED, 8, reason);
  add_alert (tls, 9, FALSE, TRUE, 0, 0);
  tls->is_handshake_complete = FALSE;
  connection->tls = tls;
  return connection;
}

static MtdConnection *
make_tls_unknown (void)
{
  MtdConnection *connection = connection_new (10, MTD_APP_TLS);
  MtdTlsFacts *tls = tls_new (0, 0);
  tls->has_cipher_suite = FALSE;
  verdict_set (&tls->requested, MTD_REQUESTED_UNKNOWN, MTD_HOW_NONE, 0,
               "the server's handshake messages are not in the capture");
  verdict_set (&tls->presented, MTD_PRESENTED_UNKNOWN, MTD_HOW_NONE, 0,
               "the client's answer is not in the capture");
  tls->is_handshake_complete = FALSE;
  connection->tls = tls;
  return connection;
}

static MtdConnection *
make_other_incomplete (void)
{
  MtdConnection *connection = connection_new (11, MTD_APP_OTHER);
  connection->is_incomplete = TRUE;
  connection->end_reason = "capture_end";
  connection->anomalies.counts[MTD_ANOMALY_MIDSTREAM_START] = 1;
  return connection;
}

/* ---- Diagnosis ----------------------------------------------------------------------------- */

/* Checks the findings' codes and severities, in order: "code:severity" strings, NULL ended. */
static void
assert_findings (const MtdDiagnosis *diagnosis, ...)
{
  g_autoptr (GString) expected = g_string_new (NULL);
  va_list args;
  va_start (args, diagnosis);
  for (const char *s = va_arg (args, const char *); s != NULL; s = va_arg (args, const char *))
    g_string_append_printf (expected, "%s ", s);
  va_end (args);
  g_autoptr (GString) actual = g_string_new (NULL);
  for (guint i = 0; i < diagnosis->findings->len; i++) {
    const MtdFinding *finding = g_ptr_array_index (diagnosis->findings, i);
    g_string_append_printf (actual, "%s:%s ", finding->code,
                            mtd_severity_name (finding->severity));
    g_assert_nonnull (finding->message);
  }
  g_assert_cmpstr (actual->str, ==, expected->str);
}

static const MtdFinding *
find (const MtdDiagnosis *diagnosis, const char *code)
{
  for (guint i = 0; i < diagnosis->findings->len; i++) {
    const MtdFinding *finding = g_ptr_array_index (diagnosis->findings, i);
    if (g_strcmp0 (finding->code, code) == 0)
      return finding;
  }
  g_assert_not_reached ();
  return NULL;
}

static void
test_diagnose_empty_list (void)
{
  TestCert server = load_cert ("server");
  g_autoptr (MtdConnection) connection = make_tls12_empty (&server);
  g_autoptr (MtdDiagnosis) diagnosis = mtd_diagnose_connection (connection);
  assert_findings (diagnosis, "CERT_REQUESTED_EMPTY:error", "HANDSHAKE_ALERT:error", NULL);
  g_assert_cmpint (diagnosis->worst, ==, MTD_SEVERITY_ERROR);
  g_assert_true (mtd_diagnosis_has_problem (diagnosis));
  const MtdFinding *empty = find (diagnosis, "CERT_REQUESTED_EMPTY");
  g_assert_cmpuint (empty->frame, ==, 8);
  g_assert_nonnull (strstr (empty->message, "frame 6"));
  g_assert_nonnull (strstr (empty->message, "frame 8"));
  g_assert_nonnull (strstr (empty->cause, "CN=Root A; CN=Root B"));
  g_assert_nonnull (strstr (empty->cause, "WEBSITE_LOAD_CERTIFICATES"));
  g_assert_nonnull (empty->next_check);
  const MtdFinding *alert = find (diagnosis, "HANDSHAKE_ALERT");
  g_assert_cmpuint (alert->frame, ==, 9);
  g_assert_nonnull (strstr (alert->message, "handshake_failure"));
  g_assert_nonnull (strstr (alert->cause, "requires a client certificate"));
  mtd_cert_unref (server.cert);
}

/* A certificate asked for late, after GET /secure (frame 12): in a TLS 1.2 renegotiation from
 * frame 14 answered with an empty list (frame 18), or with TLS 1.3 post-handshake authentication;
 * the request is answered 403 (frame 21).  On HTTP/1.1 it is information; on HTTP/2, which
 * forbids both (RFC 7540 §9.2.1, RFC 8740 §3), an error. */
static MtdConnection *
make_late_auth (MtdLateAuthKind kind, const char *alpn)
{
  MtdConnection *connection = connection_new (7, MTD_APP_TLS);
  MtdTlsFacts *tls = tls_new (kind == MTD_LATE_AUTH_RENEGOTIATION ? 0x0303 : 0x0304, 0xC02F);
  g_free (tls->alpn);
  tls->alpn = g_strdup (alpn);
  verdict_set (&tls->requested, MTD_REQUESTED_YES, MTD_HOW_DECRYPTED, 17, NULL);
  verdict_set (&tls->presented, MTD_PRESENTED_EMPTY, MTD_HOW_DECRYPTED, 18, NULL);
  tls->late_auths = g_array_new (FALSE, TRUE, sizeof (MtdLateAuth));
  MtdLateAuth late = { 0 };
  late.kind = kind;
  late.frame = 14;
  late.how = MTD_HOW_DECRYPTED;
  late.requested.value = MTD_REQUESTED_YES;
  late.requested.frames[late.requested.n_frames++] = 17;
  late.presented.value = MTD_PRESENTED_EMPTY;
  late.presented.frames[late.presented.n_frames++] = 18;
  late.trigger_exchange = 1;
  g_array_append_val (tls->late_auths, late);
  connection->tls = tls;
  connection->http = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_http_exchange_free);
  MtdHttpExchange *first = exchange_new ("GET", "app.example.com", "/public", 200, NULL);
  first->request_frame = 10;
  first->status_frame = 11;
  g_ptr_array_add (connection->http, first);
  MtdHttpExchange *secure = exchange_new ("GET", "app.example.com", "/secure", 403, NULL);
  secure->request_frame = 12;
  secure->status_frame = 21;
  g_ptr_array_add (connection->http, secure);
  return connection;
}

static void
test_diagnose_late_auth (void)
{
  static const struct {
    MtdLateAuthKind kind;
    const char *alpn;
    const char *code;
  } cases[] = {
    { MTD_LATE_AUTH_RENEGOTIATION, "http/1.1", "CERT_REQUESTED_IN_RENEGOTIATION:info" },
    { MTD_LATE_AUTH_RENEGOTIATION, "h2", "RENEGOTIATION_WITH_H2:error" },
    { MTD_LATE_AUTH_POST_HANDSHAKE, "http/1.1", "CERT_REQUESTED_POST_HANDSHAKE:info" },
    { MTD_LATE_AUTH_POST_HANDSHAKE, "h2", "POST_HANDSHAKE_AUTH_WITH_H2:error" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (MtdConnection) connection = make_late_auth (cases[i].kind, cases[i].alpn);
    g_autoptr (MtdDiagnosis) diagnosis = mtd_diagnose_connection (connection);
    /* Worst first: errors, warnings, information. */
    if (g_str_has_suffix (cases[i].code, ":error"))
      assert_findings (diagnosis, "CERT_REQUESTED_EMPTY:error", cases[i].code,
                       "FORBIDDEN_WITHOUT_CERT:warning", NULL);
    else
      assert_findings (diagnosis, "CERT_REQUESTED_EMPTY:error", "FORBIDDEN_WITHOUT_CERT:warning",
                       cases[i].code, NULL);
    g_autofree char *code = g_strndup (cases[i].code, strcspn (cases[i].code, ":"));
    const MtdFinding *late = find (diagnosis, code);
    /* The triggering request and the client's answer, by frame. */
    g_assert_nonnull (strstr (late->message, "GET app.example.com/secure (frame 12)"));
    g_assert_nonnull (strstr (late->message, "from frame 14"));
    g_assert_nonnull (strstr (late->message, "empty certificate list (frame 18)"));
    const MtdFinding *forbidden = find (diagnosis, "FORBIDDEN_WITHOUT_CERT");
    g_assert_nonnull (strstr (forbidden->message, "/secure (frame 12)"));
    g_assert_nonnull (strstr (forbidden->message, "403 Forbidden (frame 21)"));
  }
}

static void
test_diagnose_not_sent (void)
{
  TestCert server = load_cert ("server");
  g_autoptr (MtdConnection) connection = make_tls12_empty (&server);
  verdict_set (&connection->tls->presented, MTD_PRESENTED_NO, MTD_HOW_OBSERVED, 8,
               "the client went on to its key exchange without a Certificate message");
  g_array_set_size (connection->tls->alerts, 0);
  connection->tls->is_handshake_complete = TRUE;
  g_autoptr (MtdDiagnosis) diagnosis = mtd_diagnose_connection (connection);
  assert_findings (diagnosis, "CERT_REQUESTED_NOT_SENT:error", NULL);
  g_assert_nonnull (strstr (find (diagnosis, "CERT_REQUESTED_NOT_SENT")->message,
                            "no Certificate message"));
  mtd_cert_unref (server.cert);
}

static void
test_diagnose_tls13_inferred (void)
{
  g_autoptr (MtdConnection) connection = make_tls13_inferred ();
  g_autoptr (MtdDiagnosis) diagnosis = mtd_diagnose_connection (connection);
  assert_findings (diagnosis, "CERT_PRESENTED:info", "TLS13_INFERRED:info", NULL);
  g_assert_false (mtd_diagnosis_has_problem (diagnosis));
  g_assert_cmpint (diagnosis->worst, ==, MTD_SEVERITY_INFO);
  g_assert_nonnull (strstr (find (diagnosis, "TLS13_INFERRED")->message, "887 bytes"));
  g_assert_nonnull (strstr (find (diagnosis, "CERT_PRESENTED")->message, "encrypted (TLS 1.3)"));

  /* TLS 1.2 whose certificates were cut by the snaplen: seen, but not readable. */
  connection->tls->version = 0x0303;
  g_autoptr (MtdDiagnosis) cut = mtd_diagnose_connection (connection);
  assert_findings (cut, "CERT_PRESENTED:info", NULL);
  g_assert_nonnull (strstr (find (cut, "CERT_PRESENTED")->message, "not in the capture"));
}

static void
test_diagnose_tls13_rejected (void)
{
  g_autoptr (MtdConnection) connection = make_tls13_rejected ();
  g_autoptr (MtdDiagnosis) diagnosis = mtd_diagnose_connection (connection);
  assert_findings (diagnosis, "CERT_REQUESTED_EMPTY:error", "HANDSHAKE_ALERT:error",
                   "TLS13_INFERRED:info", NULL);
  const MtdFinding *alert = find (diagnosis, "HANDSHAKE_ALERT");
  g_assert_cmpuint (alert->frame, ==, 9);
  g_assert_nonnull (strstr (alert->message, "encrypted alert"));
  g_assert_nonnull (strstr (alert->cause, "certificate_required"));
}

static void
test_diagnose_rejected (void)
{
  TestCert client = load_cert ("client");
  gint64 valid_usec = (client.cert->not_before + 86400) * G_USEC_PER_SEC;
  g_autoptr (MtdConnection) connection = make_tls12_unknown_ca (&client, valid_usec);
  g_autoptr (MtdDiagnosis) diagnosis = mtd_diagnose_connection (connection);
  assert_findings (diagnosis, "CERT_REJECTED:error", "CERT_PRESENTED:info", NULL);
  const MtdFinding *rejected = find (diagnosis, "CERT_REJECTED");
  g_assert_cmpuint (rejected->frame, ==, 9);
  g_assert_nonnull (strstr (rejected->message, "unknown_ca"));
  g_assert_nonnull (strstr (rejected->cause, "CN=mtlsdiag Test Intermediate CA"));
  const MtdFinding *presented = find (diagnosis, "CERT_PRESENTED");
  g_assert_nonnull (strstr (presented->message, "CN=mtlsdiag test client"));
  g_assert_nonnull (strstr (presented->message, client.sha1_hex));

  /* The same alert encrypted, as TLS 1.3 sends it: still a rejection of the certificate. */
  MtdTlsAlert *alert = &g_array_index (connection->tls->alerts, MtdTlsAlert, 0);
  alert->is_encrypted = TRUE;
  alert->level = 0;
  alert->description = 0;
  g_autoptr (MtdDiagnosis) encrypted = mtd_diagnose_connection (connection);
  assert_findings (encrypted, "CERT_REJECTED:error", "CERT_PRESENTED:info", NULL);
  g_assert_nonnull (strstr (find (encrypted, "CERT_REJECTED")->message, "encrypted alert"));
  mtd_cert_unref (client.cert);
}

static void
test_diagnose_validity (void)
{
  TestCert client = load_cert ("client");
  gint64 after_usec = (client.cert->not_after + 86400) * G_USEC_PER_SEC;
  g_autoptr (MtdConnection) late = make_tls12_unknown_ca (&client, after_usec);
  g_array_set_size (late->tls->alerts, 0);
  late->tls->is_handshake_complete = TRUE;
  g_autoptr (MtdDiagnosis) expired = mtd_diagnose_connection (late);
  assert_findings (expired, "CLIENT_CERT_EXPIRED:warning", "CERT_PRESENTED:info", NULL);
  g_assert_false (mtd_diagnosis_has_problem (expired));
  g_assert_cmpuint (find (expired, "CLIENT_CERT_EXPIRED")->frame, ==, 8);

  gint64 before_usec = (client.cert->not_before - 86400) * G_USEC_PER_SEC;
  g_autoptr (MtdConnection) early = make_tls12_unknown_ca (&client, before_usec);
  g_array_set_size (early->tls->alerts, 0);
  early->tls->is_handshake_complete = TRUE;
  g_autoptr (MtdDiagnosis) not_yet = mtd_diagnose_connection (early);
  assert_findings (not_yet, "CLIENT_CERT_NOT_YET_VALID:warning", "CERT_PRESENTED:info", NULL);
  mtd_cert_unref (client.cert);
}

static void
test_diagnose_not_requested (void)
{
  g_autoptr (MtdConnection) connection = make_tls12_not_requested ();
  g_autoptr (MtdDiagnosis) diagnosis = mtd_diagnose_connection (connection);
  /* The encrypted close_notify alerts after a complete handshake are no failure. */
  assert_findings (diagnosis, "CERT_NOT_REQUESTED:info", NULL);
  g_assert_false (mtd_diagnosis_has_problem (diagnosis));
  const MtdFinding *finding = find (diagnosis, "CERT_NOT_REQUESTED");
  g_assert_nonnull (strstr (finding->next_check, "clientCertEnabled:clientCertEnabled"));
  g_assert_null (strstr (finding->cause, "TLS 1.3"));

  /* Over TLS 1.3 with HTTP/2 the late request through renegotiation cannot come. */
  connection->tls->version = 0x0304;
  g_free (connection->tls->alpn);
  connection->tls->alpn = g_strdup ("h2");
  g_autoptr (MtdDiagnosis) tls13 = mtd_diagnose_connection (connection);
  g_assert_nonnull (strstr (find (tls13, "CERT_NOT_REQUESTED")->cause,
                            "neither TLS 1.3 nor HTTP/2"));
}

static void
test_diagnose_unknown (void)
{
  g_autoptr (MtdConnection) connection = make_tls_unknown ();
  g_autoptr (MtdDiagnosis) diagnosis = mtd_diagnose_connection (connection);
  assert_findings (diagnosis, "CERT_UNKNOWN:warning", NULL);
  g_assert_cmpint (diagnosis->worst, ==, MTD_SEVERITY_WARNING);
  g_assert_false (mtd_diagnosis_has_problem (diagnosis));
  g_assert_nonnull (strstr (find (diagnosis, "CERT_UNKNOWN")->message,
                            "the server's handshake messages are not in the capture"));
}

static void
test_diagnose_http (void)
{
  g_autoptr (MtdConnection) plain = make_http_hostile ();
  g_autoptr (MtdDiagnosis) plain_diagnosis = mtd_diagnose_connection (plain);
  assert_findings (plain_diagnosis, "PLAIN_HTTP:error", NULL);
  g_assert_true (mtd_diagnosis_has_problem (plain_diagnosis));
  g_assert_cmpuint (find (plain_diagnosis, "PLAIN_HTTP")->frame, ==, 4);

  g_autoptr (MtdConnection) redirect = make_http_redirect ();
  g_autoptr (MtdDiagnosis) redirect_diagnosis = mtd_diagnose_connection (redirect);
  assert_findings (redirect_diagnosis, "HTTP_REDIRECTED_TO_HTTPS:info", NULL);
  g_assert_false (mtd_diagnosis_has_problem (redirect_diagnosis));

  /* A redirect to plain http:// is no redirect to HTTPS. */
  MtdHttpExchange *exchange = g_ptr_array_index (redirect->http, 0);
  g_free (exchange->location);
  exchange->location = g_strdup ("http://app.example.com/login");
  g_autoptr (MtdDiagnosis) http_redirect = mtd_diagnose_connection (redirect);
  assert_findings (http_redirect, "PLAIN_HTTP:error", NULL);

  g_autoptr (MtdConnection) h2c = connection_new (12, MTD_APP_HTTP);
  h2c->http = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_http_exchange_free);
  h2c->is_h2_prior_knowledge = TRUE;
  g_autoptr (MtdDiagnosis) h2c_diagnosis = mtd_diagnose_connection (h2c);
  assert_findings (h2c_diagnosis, "H2_PRIOR_KNOWLEDGE:info", NULL);
}

static void
test_diagnose_incomplete (void)
{
  g_autoptr (MtdConnection) connection = make_other_incomplete ();
  g_autoptr (MtdDiagnosis) diagnosis = mtd_diagnose_connection (connection);
  assert_findings (diagnosis, "INCOMPLETE:warning", NULL);
  const MtdFinding *finding = find (diagnosis, "INCOMPLETE");
  g_assert_true (g_str_has_prefix (finding->message, "Facts may be missing: "));
  g_assert_nonnull (strstr (finding->message, "no SYN"));
  g_assert_nonnull (strstr (finding->message, "capture ended"));

  g_autoptr (MtdConnection) quiet = connection_new (13, MTD_APP_OTHER);
  g_autoptr (MtdDiagnosis) nothing = mtd_diagnose_connection (quiet);
  g_assert_cmpuint (nothing->findings->len, ==, 0);
  g_assert_false (mtd_diagnosis_has_problem (nothing));
  g_assert_false (mtd_diagnosis_has_problem (NULL));
}

/* Same facts, same findings, word for word. */
static void
test_diagnose_deterministic (void)
{
  TestCert server = load_cert ("server");
  g_autoptr (MtdConnection) connection = make_tls12_empty (&server);
  g_autoptr (MtdDiagnosis) first = mtd_diagnose_connection (connection);
  g_autoptr (MtdDiagnosis) second = mtd_diagnose_connection (connection);
  g_assert_cmpuint (first->findings->len, ==, second->findings->len);
  for (guint i = 0; i < first->findings->len; i++) {
    const MtdFinding *a = g_ptr_array_index (first->findings, i);
    const MtdFinding *b = g_ptr_array_index (second->findings, i);
    g_assert_cmpstr (a->code, ==, b->code);
    g_assert_cmpstr (a->message, ==, b->message);
    g_assert_cmpstr (a->cause, ==, b->cause);
    g_assert_cmpstr (a->next_check, ==, b->next_check);
  }
  mtd_cert_unref (server.cert);
}

/* ---- Counters ------------------------------------------------------------------------------ */

static void
test_summary (void)
{
  g_assert_cmpint (mtd_summary_version_index (0x0002), ==, 0);
  g_assert_cmpint (mtd_summary_version_index (0x0300), ==, 1);
  g_assert_cmpint (mtd_summary_version_index (0x0301), ==, 2);
  g_assert_cmpint (mtd_summary_version_index (0x0302), ==, 3);
  g_assert_cmpint (mtd_summary_version_index (0x0303), ==, 4);
  g_assert_cmpint (mtd_summary_version_index (0x0304), ==, 5);
  g_assert_cmpint (mtd_summary_version_index (0x0305), ==, -1);
  g_assert_cmpint (mtd_summary_version_index (0), ==, -1);

  MtdSummary summary = { 0 };
  TestCert server = load_cert ("server");
  g_autoptr (MtdConnection) empty = make_tls12_empty (&server);
  g_autoptr (MtdConnection) tls13 = make_tls13_inferred ();
  g_autoptr (MtdConnection) unknown = make_tls_unknown ();
  g_autoptr (MtdConnection) http = make_http_hostile ();
  g_autoptr (MtdConnection) other = make_other_incomplete ();
  http->n_http_dropped = 3;
  mtd_summary_add_connection (&summary, empty, TRUE);
  mtd_summary_add_connection (&summary, tls13, FALSE);
  mtd_summary_add_connection (&summary, unknown, FALSE);
  mtd_summary_add_connection (&summary, http, TRUE);
  mtd_summary_add_connection (&summary, other, FALSE);
  g_assert_cmpuint (summary.n_connections, ==, 5);
  g_assert_cmpuint (summary.n_tls_connections, ==, 3);
  g_assert_cmpuint (summary.n_http_connections, ==, 1);
  g_assert_cmpuint (summary.n_http_requests, ==, 4);
  g_assert_cmpuint (summary.n_by_version[4], ==, 1);
  g_assert_cmpuint (summary.n_by_version[5], ==, 1);
  g_assert_cmpuint (summary.n_version_unknown, ==, 1);
  g_assert_cmpuint (summary.matrix[MTD_REQUESTED_YES][MTD_PRESENTED_EMPTY], ==, 1);
  g_assert_cmpuint (summary.matrix[MTD_REQUESTED_YES][MTD_PRESENTED_YES], ==, 1);
  g_assert_cmpuint (summary.matrix[MTD_REQUESTED_UNKNOWN][MTD_PRESENTED_UNKNOWN], ==, 1);
  g_assert_cmpuint (summary.matrix[MTD_REQUESTED_NO][MTD_PRESENTED_NO], ==, 0);
  g_assert_cmpuint (summary.n_alerts, ==, 1);
  g_assert_cmpuint (summary.n_incomplete, ==, 1);
  g_assert_cmpuint (summary.n_connections_with_problem, ==, 2);
  g_assert_cmpuint (summary.anomalies[MTD_ANOMALY_SNAPLEN_TRUNCATED], ==, 2);
  g_assert_cmpuint (summary.anomalies[MTD_ANOMALY_MIDSTREAM_START], ==, 1);
  mtd_cert_unref (server.cert);
}

static void
test_connection_lifecycle (void)
{
  mtd_connection_free (NULL);
  mtd_input_info_free (NULL);
  mtd_tls_facts_free (NULL);
  mtd_diagnosis_free (NULL);
  mtd_report_free (NULL);
  g_autoptr (MtdConnection) connection = mtd_connection_new ();
  g_assert_cmpint (connection->app_protocol, ==, MTD_APP_OTHER);
  mtd_connection_warn (connection, "%d bytes missing at %s", 42, "frame 7");
  g_assert_cmpuint (connection->warnings->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (connection->warnings, 0), ==, "42 bytes missing at frame 7");
  g_assert_cmpstr (mtd_app_protocol_name (MTD_APP_TLS), ==, "tls");
  g_assert_cmpstr (mtd_app_protocol_name (MTD_APP_HTTP), ==, "http");
  g_assert_cmpstr (mtd_app_protocol_name (MTD_APP_OTHER), ==, "other");
  g_autoptr (MtdInputInfo) info = mtd_input_info_new ("a.pcap");
  g_assert_cmpstr (info->path, ==, "a.pcap");
  g_assert_nonnull (info->warnings);
}

/* ---- Reports ------------------------------------------------------------------------------- */

typedef struct {
  TestCert server;
  TestCert client;
  GPtrArray *connections; /* MtdConnection*, owned */
  MtdSummary summary;
  MtdInputInfo *input;
} Fixture;

static void
fixture_init (Fixture *fixture)
{
  memset (fixture, 0, sizeof *fixture);
  fixture->server = load_cert ("server");
  fixture->client = load_cert ("client");
  fixture->connections = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_connection_free);
  g_ptr_array_add (fixture->connections, make_tls12_empty (&fixture->server));
  g_ptr_array_add (fixture->connections, make_tls13_inferred ());
  g_ptr_array_add (fixture->connections, make_http_hostile ());
  g_ptr_array_add (fixture->connections, make_http_redirect ());
  g_ptr_array_add (fixture->connections,
                   make_tls12_unknown_ca (&fixture->client, START_USEC));
  for (guint i = 0; i < fixture->connections->len; i++) {
    MtdConnection *connection = g_ptr_array_index (fixture->connections, i);
    g_autoptr (MtdDiagnosis) diagnosis = mtd_diagnose_connection (connection);
    mtd_summary_add_connection (&fixture->summary, connection,
                                mtd_diagnosis_has_problem (diagnosis));
  }
  fixture->summary.n_packets = 42;
  fixture->summary.n_bytes = G_MAXUINT64 - 1;
  fixture->input = mtd_input_info_new ("capture\x1b.pcap");
  fixture->input->link_type = g_strdup ("EN10MB");
  fixture->input->n_packets = 42;
  fixture->input->first_usec = START_USEC;
  fixture->input->last_usec = START_USEC + 876545;
  g_ptr_array_add (fixture->input->warnings, g_strdup ("the file ends inside a packet"));
}

static void
fixture_clear (Fixture *fixture)
{
  g_ptr_array_unref (fixture->connections);
  mtd_input_info_free (fixture->input);
  mtd_cert_unref (fixture->server.cert);
  mtd_cert_unref (fixture->client.cert);
}

/* What the command line's --redact, --summary-only and --color set. */
typedef struct {
  MtdRedaction redaction;
  gboolean is_summary_only;
  MtdReportColor color;
} ReportSettings;

/* Writes the fixture's report in a format, with settings (NULL: none set), into memory. */
static char *
write_report_with (Fixture *fixture, MtdReportFormat format, const ReportSettings *settings,
                   gsize *out_len)
{
  char *buffer = NULL;
  size_t buffer_len = 0;
  FILE *out = open_memstream (&buffer, &buffer_len);
  g_assert_nonnull (out);
  g_autoptr (MtdReport) report = mtd_report_new (format, out, "9.9.9-test");
  if (settings != NULL) {
    mtd_report_set_redaction (report, settings->redaction);
    mtd_report_set_summary_only (report, settings->is_summary_only);
    mtd_report_set_color (report, settings->color);
  }
  for (guint i = 0; i < fixture->connections->len; i++) {
    MtdConnection *connection = g_ptr_array_index (fixture->connections, i);
    g_autoptr (MtdDiagnosis) diagnosis = mtd_diagnose_connection (connection);
    mtd_report_connection (report, connection, diagnosis);
  }
  const MtdInputInfo *inputs[] = { fixture->input };
  g_autoptr (GError) error = NULL;
  g_assert_true (mtd_report_finish (report, inputs, 1, &fixture->summary, &error));
  g_assert_no_error (error);
  g_assert_cmpint (fclose (out), ==, 0);
  *out_len = buffer_len;
  return buffer;
}

static char *
write_report (Fixture *fixture, MtdReportFormat format, gsize *out_len)
{
  return write_report_with (fixture, format, NULL, out_len);
}

/* No byte that a terminal or a JSON parser would take as a control: only '\n' below 0x20. */
static void
assert_no_raw_controls (const char *text, gsize text_len)
{
  for (gsize i = 0; i < text_len; i++) {
    guchar c = (guchar) text[i];
    if ((c < 0x20 && c != '\n') || c == 0x7F)
      g_error ("raw control byte 0x%02X at offset %" G_GSIZE_FORMAT, c, i);
  }
  g_assert_true (g_utf8_validate (text, (gssize) text_len, NULL));
}

/* Runs a python3 script on a JSON document: the script gets the document's path and extra_args
 * in sys.argv and must print "ok".  FALSE (test skipped) when python3 is missing. */
static gboolean
check_json_with_python (const char *json, gsize json_len, const char *script,
                        const char *const *extra_args)
{
  g_autofree char *python = g_find_program_in_path ("python3");
  if (python == NULL) {
    g_test_skip ("python3 is not installed");
    return FALSE;
  }
  g_autoptr (GError) error = NULL;
  g_autofree char *json_path = NULL;
  gint fd = g_file_open_tmp ("test-report-XXXXXX.json", &json_path, &error);
  g_assert_no_error (error);
  close (fd);
  g_assert_true (g_file_set_contents (json_path, json, (gssize) json_len, &error));
  g_assert_no_error (error);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, python);
  g_ptr_array_add (argv, (gpointer) "-c");
  g_ptr_array_add (argv, (gpointer) script);
  g_ptr_array_add (argv, json_path);
  for (gsize i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) extra_args[i]);
  g_ptr_array_add (argv, NULL);
  g_autofree char *child_out = NULL;
  g_autofree char *child_err = NULL;
  gint wait_status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &child_out, &child_err, &wait_status, &error));
  g_assert_no_error (error);
  g_unlink (json_path);
  if (!g_spawn_check_wait_status (wait_status, NULL))
    g_error ("the JSON check failed:\n%s\n%s\ndocument:\n%s", child_out, child_err, json);
  g_assert_cmpstr (child_out, ==, "ok\n");
  return TRUE;
}

/* python3's json module reads the file as strict UTF-8 and checks the document; the expected
 * values are asserted there, field by field. */
static const char *const json_check_script =
    "import json, sys\n"
    "path, client_sha1, server_sha1, hostile_path, hostile_host = sys.argv[1:6]\n"
    "with open(path, encoding='utf-8', errors='strict') as f:\n"
    "    doc = json.load(f)\n"
    "def eq(a, b):\n"
    "    assert a == b, (a, b)\n"
    "eq(doc['schema_version'], 1)\n"
    "eq(doc['tool'], {'name': 'mtlsdiag', 'version': '9.9.9-test'})\n"
    "c = {x['id']: x for x in doc['connections']}\n"
    "eq(sorted(c), [3, 4, 5, 6, 8])\n"
    "e = c[3]\n"
    "eq(e['client'], {'ip': '10.0.0.5', 'port': 51234})\n"
    "eq(e['server'], {'ip': '10.0.0.9', 'port': 443})\n"
    "eq(e['start'], '" START_TEXT "')\n"
    "eq(e['end'], '" END_TEXT "')\n"
    "eq((e['first_frame'], e['last_frame'], e['packets']), (1, 14, 14))\n"
    "eq((e['bytes_client_to_server'], e['bytes_server_to_client']), (1200, 4800))\n"
    "eq((e['app_protocol'], e['ndpi_protocol'], e['ja3']), ('tls', 'TLS', None))\n"
    "eq((e['incomplete'], e['end_reason'], e['starttls'], e['role_guessed']),"
    " (False, 'fin', None, False))\n"
    "eq((e['warnings'], e['anomalies'], e['http']), ([], {}, None))\n"
    "eq([(f['code'], f['severity'], f['frame']) for f in e['findings']],"
    " [('CERT_REQUESTED_EMPTY', 'error', 8), ('HANDSHAKE_ALERT', 'error', 9)])\n"
    "assert all(isinstance(f['message'], str) and f['cause'] and f['next_check']"
    " for f in e['findings'])\n"
    "t = e['tls']\n"
    "eq((t['version'], t['client_max_version'], t['sslv2_client_hello']),"
    " ('TLS 1.2', 'TLS 1.2', False))\n"
    "eq((t['sni'], t['alpn_offered'], t['alpn']),"
    " ('app.example.com', ['h2', 'http/1.1'], 'http/1.1'))\n"
    "eq(t['cipher_suite'], 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256')\n"
    "eq((t['resumed'], t['handshake_complete'], t['renegotiation'],"
    " t['post_handshake_auth_offered']), (False, False, False, False))\n"
    "eq((t['client_hello_frame'], t['server_hello_frame']), (4, 6))\n"
    "eq(t['client_cert_requested'],"
    " {'value': 'yes', 'how': 'observed', 'frames': [6], 'reason': None})\n"
    "eq(t['client_cert_presented'],"
    " {'value': 'empty', 'how': 'observed', 'frames': [8], 'reason': None})\n"
    "eq(t['acceptable_cas'], ['CN=Root A', 'CN=Root B'])\n"
    "eq((t['certificate_types'], t['signature_algorithms']),"
    " (['ecdsa_sign'], ['ecdsa_secp256r1_sha256']))\n"
    "eq((t['client_chain'], t['client_certificate_verify_frame']), ([], None))\n"
    "eq(t['alerts'], [{'frame': 9, 'from': 'server', 'level': 'fatal',"
    " 'description': 'handshake_failure', 'encrypted': False, 'decrypted': False}])\n"
    "s = t['server_chain'][0]\n"
    "eq((s['subject'], s['issuer']), ('CN=localhost', 'CN=mtlsdiag Test Intermediate CA'))\n"
    "eq(s['sha1'], server_sha1)\n"
    "assert len(s['sha256']) == 64 and s['serial']\n"
    "assert 'DNS:localhost' in s['san']\n"
    "assert s['not_before'].endswith('Z') and s['not_after'].endswith('Z')\n"
    "eq(s['valid_at_capture'],"
    " 'valid' if s['not_before'] <= e['start'] <= s['not_after'] else 'not_yet_valid')\n"
    "t = c[4]['tls']\n"
    "eq(t['version'], 'TLS 1.3')\n"
    "eq(t['cipher_suite'], 'TLS_AES_256_GCM_SHA384')\n"
    "eq((t['client_cert_requested']['how'], t['client_cert_presented']['value']),"
    " ('inferred', 'yes'))\n"
    "assert '887 bytes' in t['client_cert_requested']['reason']\n"
    "eq([f['code'] for f in c[4]['findings']], ['CERT_PRESENTED', 'TLS13_INFERRED'])\n"
    "h = c[5]\n"
    "eq((h['tls'], h['app_protocol'], h['h2_prior_knowledge'], h['http_dropped']),"
    " (None, 'http', False, 0))\n"
    "eq(h['ndpi_protocol'], 'HTTP\\x1b[2J')\n"
    "eq(h['http'], [{'frame': 4, 'method': 'GET', 'host': hostile_host, 'path': hostile_path,"
    " 'version': 'HTTP/1.1', 'status': 200, 'status_frame': 6, 'location': None, 'cert_headers': []}])\n"
    "eq(h['warnings'], ['bad\\x1b]0;title\\x07 warning',"
    " \"packets cut short by the capture's snaplen (2 times)\"])\n"
    "eq(h['anomalies'], {'snaplen_truncated': 2})\n"
    "eq([(f['code'], f['severity']) for f in h['findings']], [('PLAIN_HTTP', 'error')])\n"
    "r = c[6]\n"
    "eq(r['http'][0]['status'], 301)\n"
    "eq(r['http'][0]['location'], 'https://app.example.com/login')\n"
    "eq([(f['code'], f['severity']) for f in r['findings']],"
    " [('HTTP_REDIRECTED_TO_HTTPS', 'info')])\n"
    "u = c[8]['tls']\n"
    "eq(u['alerts'][0]['description'], 'unknown_ca')\n"
    "eq(u['client_certificate_verify_frame'], 8)\n"
    "eq(u['client_chain'][0]['sha1'], client_sha1)\n"
    "eq(u['client_chain'][0]['subject'], 'CN=mtlsdiag test client')\n"
    "eq([f['code'] for f in c[8]['findings']], ['CERT_REJECTED', 'CERT_PRESENTED'])\n"
    "i = doc['inputs']\n"
    "eq(i, [{'path': 'capture\\x1b.pcap', 'sha256': None, 'link_type': 'EN10MB',"
    " 'packets': 42, 'first_time': '" START_TEXT "', 'last_time': '" END_TEXT "',"
    " 'warnings': ['the file ends inside a packet']}])\n"
    "m = doc['summary']\n"
    "eq((m['packets'], m['bytes']), (42, 18446744073709551614))\n"
    "eq((m['connections'], m['tls_connections'], m['http_connections'], m['http_requests']),"
    " (5, 3, 2, 2))\n"
    "eq(m['tls_versions'], {'TLS 1.2': 2, 'TLS 1.3': 1})\n"
    "eq(m['requested_presented'], {'yes': {'yes': 2, 'empty': 1, 'no': 0, 'unknown': 0},"
    " 'no': {'yes': 0, 'empty': 0, 'no': 0, 'unknown': 0},"
    " 'unknown': {'yes': 0, 'empty': 0, 'no': 0, 'unknown': 0}})\n"
    "eq((m['alerts'], m['incomplete_connections'], m['connections_with_problem']), (2, 0, 3))\n"
    "eq(m['anomalies'], {'snaplen_truncated': 2})\n"
    "eq(m['cert_cache'], {'hits': 0, 'misses': 0})\n"
    "for k in ('tcp_packets', 'udp_packets', 'quic_packets', 'other_packets', 'ip_fragments',"
    " 'snaplen_truncated_packets', 'flows_evicted', 'flows_idle_closed', 'peak_live_flows'):\n"
    "    eq(m[k], 0)\n"
    "print('ok')\n";

static void
test_report_json (void)
{
  Fixture fixture;
  fixture_init (&fixture);
  gsize json_len = 0;
  g_autofree char *json = write_report (&fixture, MTD_REPORT_JSON, &json_len);
  assert_no_raw_controls (json, json_len);
  /* The hostile strings are escaped, never written raw. */
  g_assert_nonnull (strstr (json, "\\u001b[31m"));
  g_assert_nonnull (strstr (json, "\\\"b\\\\c\\n\\r\\t\\u0001\\u007f"));
  g_assert_nonnull (strstr (json, "\\ufffd\\ufffd(end\xe2\x80\xae\""));
  const char *const args[] = {
    fixture.client.sha1_hex, fixture.server.sha1_hex, HOSTILE_PATH_DECODED, HOSTILE_HOST, NULL,
  };
  check_json_with_python (json, json_len, json_check_script, args);
  fixture_clear (&fixture);
}

/* Writes one connection and an empty summary as JSON into memory. */
static char *
write_one_json (const MtdConnection *connection, gsize *out_len)
{
  char *buffer = NULL;
  size_t buffer_len = 0;
  FILE *out = open_memstream (&buffer, &buffer_len);
  g_autoptr (MtdReport) report = mtd_report_new (MTD_REPORT_JSON, out, "1");
  if (connection != NULL) {
    g_autoptr (MtdDiagnosis) diagnosis = mtd_diagnose_connection (connection);
    mtd_report_connection (report, connection, diagnosis);
  }
  MtdSummary summary = { 0 };
  g_assert_true (mtd_report_finish (report, NULL, 0, &summary, NULL));
  g_assert_cmpint (fclose (out), ==, 0);
  *out_len = buffer_len;
  return buffer;
}

static void
test_report_json_empty (void)
{
  gsize json_len = 0;
  g_autofree char *json = write_one_json (NULL, &json_len);
  check_json_with_python (json, json_len,
                          "import json, sys\n"
                          "d = json.load(open(sys.argv[1], encoding='utf-8'))\n"
                          "assert d['connections'] == [] and d['inputs'] == [], d\n"
                          "s = d['summary']\n"
                          "assert s['connections'] == 0 and s['tls_versions'] == {}, s\n"
                          "assert s['anomalies'] == {}, s\n"
                          "print('ok')\n",
                          NULL);
}

/* The JSON writer gathers a connection's bytes in a buffer of a few kilobytes: strings longer
 * than the buffer, and escapes that straddle its end, must come out whole and in order. */
static void
test_report_json_long_strings (void)
{
  g_autoptr (MtdConnection) connection = make_tls_unknown ();
  g_autoptr (GString) sni = g_string_new (NULL);
  for (guint i = 0; i < 8180; i++)
    g_string_append_c (sni, 'x');
  g_string_append (sni, "\"\\\x01");
  for (guint i = 0; i < 9000; i++)
    g_string_append_c (sni, 'y');
  g_string_append (sni, "\xe2\x80\xa8");
  for (guint i = 0; i < 30000; i++)
    g_string_append_c (sni, 'z');
  g_free (connection->tls->sni);
  connection->tls->sni = g_string_free (g_steal_pointer (&sni), FALSE);
  gsize json_len = 0;
  g_autofree char *json = write_one_json (connection, &json_len);
  g_assert_nonnull (strstr (json, "x\\\"\\\\\\u0001y"));
  check_json_with_python (json, json_len,
                          "import json, sys\n"
                          "d = json.load(open(sys.argv[1], encoding='utf-8'))\n"
                          "t = d['connections'][0]['tls']\n"
                          "want = 'x' * 8180 + '\"\\\\\\x01' + 'y' * 9000 + '\\u2028' + 'z' * 30000\n"
                          "assert t['sni'] == want, len(t['sni'])\n"
                          "assert d['summary']['connections'] == 0\n"
                          "print('ok')\n",
                          NULL);
}

/* handshake_complete is null when the capture stops before the handshake could end, false when
 * an alert or the close ended it; unknown verdicts carry their reasons. */
static void
test_report_json_handshake_state (void)
{
  g_autoptr (MtdConnection) closed = make_tls_unknown ();
  gsize json_len = 0;
  g_autofree char *json = write_one_json (closed, &json_len);
  check_json_with_python (json, json_len,
                          "import json, sys\n"
                          "c = json.load(open(sys.argv[1], encoding='utf-8'))['connections'][0]\n"
                          "t = c['tls']\n"
                          "assert t['handshake_complete'] is False, t\n"
                          "assert t['version'] is None and t['cipher_suite'] is None, t\n"
                          "r = t['client_cert_requested']\n"
                          "assert r == {'value': 'unknown', 'how': None, 'frames': [], 'reason':"
                          " \"the server's handshake messages are not in the capture\"}, r\n"
                          "assert [f['code'] for f in c['findings']] == ['CERT_UNKNOWN']\n"
                          "print('ok')\n",
                          NULL);

  g_autoptr (MtdConnection) cut = make_tls_unknown ();
  cut->is_incomplete = TRUE;
  cut->end_reason = "capture_end";
  g_autofree char *cut_json = write_one_json (cut, &json_len);
  check_json_with_python (cut_json, json_len,
                          "import json, sys\n"
                          "c = json.load(open(sys.argv[1], encoding='utf-8'))['connections'][0]\n"
                          "assert c['tls']['handshake_complete'] is None, c['tls']\n"
                          "assert (c['incomplete'], c['end_reason']) == (True, 'capture_end')\n"
                          "assert [f['code'] for f in c['findings']] =="
                          " ['CERT_UNKNOWN', 'INCOMPLETE'], c['findings']\n"
                          "print('ok')\n",
                          NULL);
}

static void
test_report_text (void)
{
  Fixture fixture;
  fixture_init (&fixture);
  gsize text_len = 0;
  g_autofree char *text = write_report (&fixture, MTD_REPORT_TEXT, &text_len);
  assert_no_raw_controls (text, text_len);
  static const char *const expected[] = {
    "#3 TLS 1.2  10.0.0.5:51234 -> 10.0.0.9:443  frames 1-14  (sni app.example.com, alpn "
    "http/1.1)\n",
    "   client certificate requested: yes (observed, frame 6)  acceptable CAs: CN=Root A; "
    "CN=Root B\n",
    "   client certificate presented: empty list (observed, frame 8)\n",
    "   alert: fatal handshake_failure from server (frame 9)\n",
    "   ERROR CERT_REQUESTED_EMPTY: The server asked",
    "\n      cause: ",
    "\n      next: ",
    "   ERROR HANDSHAKE_ALERT: ",
    "#4 TLS 1.3  ",
    "   client certificate requested: yes (inferred, frame 8)\n",
    "   INFO TLS13_INFERRED: ",
    "#5 HTTP  10.0.0.5:51234 -> 10.0.0.9:80",
    /* The hostile strings, escaped for the terminal. */
    "(nDPI HTTP\\x1B[2J)",
    "   GET evil\"host\\\\\\x1B[31m/a\"b\\\\c\\x0A\\x0D\\x09\\x01\\x7F\\xFF\\xC3(end\\u{202E} "
    "HTTP/1.1 -> 200 (frames 4, 6)\n",
    "   warning: bad\\x1B]0;title\\x07 warning\n",
    "   anomaly: packets cut short by the capture's snaplen (2 times)\n",
    "   ERROR PLAIN_HTTP: ",
    "   GET app.example.com/login HTTP/1.1 -> 301 Location https://app.example.com/login",
    "   INFO HTTP_REDIRECTED_TO_HTTPS: ",
    "   client certificate: CN=mtlsdiag test client  issuer CN=mtlsdiag Test Intermediate CA\n",
    "   ERROR CERT_REJECTED: ",
    "Summary\n",
    "input 1: capture\\x1B.pcap  EN10MB  42 packets  " START_TEXT " to " END_TEXT "\n",
    "   warning: the file ends inside a packet\n",
    "packets read: 42 (18446744073709551614 bytes)",
    "connections: 5 (TLS 3, plain HTTP 2), with a client-certificate problem: 3\n",
    "TLS versions: TLS 1.2 2, TLS 1.3 1\n",
    "                   yes     empty        no   unknown\n",
    "   yes                2         1         0         0\n",
    "   no                 0         0         0         0\n",
    "plain-HTTP requests: 2\n",
    "anomalies:\n   snaplen_truncated: 2",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (expected); i++)
    if (strstr (text, expected[i]) == NULL)
      g_error ("the text report lacks \"%s\":\n%s", expected[i], text);
  /* The connection's client thumbprint is shown as the Azure portal shows it. */
  g_assert_nonnull (strstr (text, fixture.client.sha1_hex));
  fixture_clear (&fixture);
}

static void
test_report_live_line (void)
{
  Fixture fixture;
  fixture_init (&fixture);
  char *buffer = NULL;
  size_t buffer_len = 0;
  FILE *out = open_memstream (&buffer, &buffer_len);
  /* The report only lends its settings: nothing is written to it. */
  MtdReport *report = mtd_report_new (MTD_REPORT_TEXT, out, "1");
  for (guint i = 0; i < 3; i++) {
    MtdConnection *connection = g_ptr_array_index (fixture.connections, i);
    g_autoptr (MtdDiagnosis) diagnosis = mtd_diagnose_connection (connection);
    mtd_report_live_line (report, out, connection, diagnosis);
  }
  mtd_report_free (report);
  fclose (out);
  g_autofree char *text = buffer;
  assert_no_raw_controls (text, buffer_len);
  g_assert_cmpstr (text, ==,
                   "#3 10.0.0.5:51234 -> 10.0.0.9:443 TLS 1.2 requested yes (observed) presented "
                   "empty (observed): error CERT_REQUESTED_EMPTY\n"
                   "#4 10.0.0.5:51234 -> 10.0.0.9:443 TLS 1.3 requested yes (inferred) presented "
                   "yes (inferred): info CERT_PRESENTED\n"
                   "#5 10.0.0.5:51234 -> 10.0.0.9:80 http: error PLAIN_HTTP\n");
  fixture_clear (&fixture);
}

static void
test_report_ipv6_endpoint (void)
{
  g_autoptr (MtdConnection) connection = make_tls_unknown ();
  g_strlcpy (connection->client.ip, "::1", sizeof connection->client.ip);
  g_strlcpy (connection->server.ip, "2001:db8::9", sizeof connection->server.ip);
  char *buffer = NULL;
  size_t buffer_len = 0;
  FILE *out = open_memstream (&buffer, &buffer_len);
  MtdReport *report = mtd_report_new (MTD_REPORT_TEXT, out, "1");
  mtd_report_live_line (report, out, connection, NULL);
  mtd_report_free (report);
  fclose (out);
  g_autofree char *text = buffer;
  g_assert_cmpstr (text, ==, "#10 [::1]:51234 -> [2001:db8::9]:443 TLS (version unknown) "
                             "requested unknown presented unknown: ok\n");
}

static void
test_report_parse_format (void)
{
  MtdReportFormat format = MTD_REPORT_JSON;
  g_assert_true (mtd_report_parse_format ("text", &format));
  g_assert_cmpint (format, ==, MTD_REPORT_TEXT);
  g_assert_true (mtd_report_parse_format ("jsonl", &format));
  g_assert_cmpint (format, ==, MTD_REPORT_JSONL);
  g_assert_true (mtd_report_parse_format ("json", &format));
  g_assert_cmpint (format, ==, MTD_REPORT_JSON);
  g_assert_false (mtd_report_parse_format ("xml", &format));
  g_assert_false (mtd_report_parse_format ("JSON ", &format));
  g_assert_false (mtd_report_parse_format ("", &format));
  g_assert_false (mtd_report_parse_format (NULL, &format));
  g_assert_cmpint (format, ==, MTD_REPORT_JSON);

  MtdReportColor color = MTD_REPORT_COLOR_NEVER;
  g_assert_true (mtd_report_parse_color ("auto", &color));
  g_assert_cmpint (color, ==, MTD_REPORT_COLOR_AUTO);
  g_assert_true (mtd_report_parse_color ("always", &color));
  g_assert_cmpint (color, ==, MTD_REPORT_COLOR_ALWAYS);
  g_assert_true (mtd_report_parse_color ("never", &color));
  g_assert_cmpint (color, ==, MTD_REPORT_COLOR_NEVER);
  g_assert_false (mtd_report_parse_color ("yes", &color));
  g_assert_false (mtd_report_parse_color (NULL, &color));
  g_assert_cmpint (color, ==, MTD_REPORT_COLOR_NEVER);

  MtdRedaction redaction = MTD_REDACT_NONE;
  g_assert_true (mtd_report_parse_redaction (NULL, &redaction));
  g_assert_cmpint (redaction, ==, MTD_REDACT_DEFAULT);
  g_assert_true (mtd_report_parse_redaction ("all", &redaction));
  g_assert_cmpint (redaction, ==, MTD_REDACT_ALL);
  g_assert_true (mtd_report_parse_redaction ("default", &redaction));
  g_assert_cmpint (redaction, ==, MTD_REDACT_DEFAULT);
  g_assert_false (mtd_report_parse_redaction ("", &redaction));
  g_assert_false (mtd_report_parse_redaction ("ALL", &redaction));
  g_assert_false (mtd_report_parse_redaction ("capture.pcap", &redaction));
  g_assert_cmpint (redaction, ==, MTD_REDACT_DEFAULT);
}

/* A full disk is an error of mtd_report_finish, not a silent truncation. */
static void
test_report_write_error (void)
{
  FILE *out = fopen ("/dev/full", "w");
  if (out == NULL) {
    g_test_skip ("/dev/full is not available");
    return;
  }
  g_autoptr (MtdConnection) connection = make_tls13_inferred ();
  g_autoptr (MtdDiagnosis) diagnosis = mtd_diagnose_connection (connection);
  /* One connection fails when the buffer is flushed at the end, a hundred in the middle. */
  static const guint n_connections[] = { 1, 100 };
  for (gsize run = 0; run < G_N_ELEMENTS (n_connections) * 2; run++) {
    MtdReportFormat format = run % 2 == 0 ? MTD_REPORT_TEXT : MTD_REPORT_JSON;
    g_autoptr (MtdReport) report = mtd_report_new (format, out, "1");
    for (guint i = 0; i < n_connections[run / 2]; i++)
      mtd_report_connection (report, connection, diagnosis);
    MtdSummary summary = { 0 };
    g_autoptr (GError) error = NULL;
    g_assert_false (mtd_report_finish (report, NULL, 0, &summary, &error));
    g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOSPC);
    clearerr (out);
  }
  fclose (out);
}

/* ---- JSON Lines, --summary-only, --color ------------------------------------------------- */

/* Every line is one JSON object: a connection line per connection, equal to the JSON report's
 * object but for "type", then the summary line with the JSON report's inputs and summary. */
static const char *const jsonl_check_script =
    "import json, sys\n"
    "jsonl_path, json_path = sys.argv[1:3]\n"
    "doc = json.load(open(json_path, encoding='utf-8'))\n"
    "text = open(jsonl_path, encoding='utf-8').read()\n"
    "assert text.endswith('\\n') and '\\n\\n' not in text, repr(text[-200:])\n"
    "lines = [json.loads(l) for l in text.splitlines()]\n"
    "conns = [l for l in lines if l['type'] == 'connection']\n"
    "assert [l['type'] for l in lines] == ['connection'] * len(conns) + ['summary'], lines\n"
    "for l in conns:\n"
    "    del l['type']\n"
    "assert conns == doc['connections'], (conns, doc['connections'])\n"
    "s = lines[-1]\n"
    "for k in ('schema_version', 'tool', 'redacted', 'inputs', 'summary'):\n"
    "    assert s[k] == doc[k], (k, s[k], doc[k])\n"
    "assert sorted(s) == ['inputs', 'redacted', 'schema_version', 'summary', 'tool', 'type'], s\n"
    "print('ok')\n";

static void
test_report_jsonl (void)
{
  Fixture fixture;
  fixture_init (&fixture);
  gsize jsonl_len = 0, json_len = 0;
  g_autofree char *jsonl = write_report (&fixture, MTD_REPORT_JSONL, &jsonl_len);
  g_autofree char *json = write_report (&fixture, MTD_REPORT_JSON, &json_len);
  assert_no_raw_controls (jsonl, jsonl_len);
  /* The connection lines are the JSON report's lines: the same writer. */
  g_assert_cmpuint (jsonl_len, >, 0);
  g_autofree char *json_path = NULL;
  g_autoptr (GError) error = NULL;
  gint fd = g_file_open_tmp ("test-report-XXXXXX.json", &json_path, &error);
  g_assert_no_error (error);
  close (fd);
  g_assert_true (g_file_set_contents (json_path, json, (gssize) json_len, &error));
  const char *const args[] = { json_path, NULL };
  check_json_with_python (jsonl, jsonl_len, jsonl_check_script, args);
  g_unlink (json_path);
  fixture_clear (&fixture);
}

static void
test_report_summary_only (void)
{
  Fixture fixture;
  fixture_init (&fixture);
  ReportSettings settings = { MTD_REDACT_NONE, TRUE, MTD_REPORT_COLOR_NEVER };
  gsize len = 0;
  g_autofree char *text = write_report_with (&fixture, MTD_REPORT_TEXT, &settings, &len);
  /* The verdict line, its counts, then the summary: no connection or chain. */
  g_assert_true (g_str_has_prefix (text, "verdict: "));
  g_assert_nonnull (strstr (text, " request chains have a client-certificate problem "));
  g_assert_nonnull (strstr (text, ")\n\nSummary\ninput 1: "));
  g_assert_null (strstr (text, "#3 "));
  g_assert_null (strstr (text, "Request chains"));
  g_assert_nonnull (strstr (text, "connections: 5 (TLS 3, plain HTTP 2)"));
  g_autofree char *json = write_report_with (&fixture, MTD_REPORT_JSON, &settings, &len);
  check_json_with_python (json, len,
                          "import json, sys\n"
                          "d = json.load(open(sys.argv[1], encoding='utf-8'))\n"
                          "assert sorted(d) == ['inputs', 'redacted', 'schema_version', 'summary',"
                          " 'tool'], sorted(d)\n"
                          "assert d['summary']['connections'] == 5, d['summary']\n"
                          "print('ok')\n",
                          NULL);
  g_autofree char *jsonl = write_report_with (&fixture, MTD_REPORT_JSONL, &settings, &len);
  g_assert_true (g_str_has_prefix (jsonl, "{\"type\":\"summary\","));
  g_assert_cmpstr (strchr (jsonl, '\n'), ==, "\n");
  fixture_clear (&fixture);
}

static void
test_report_color (void)
{
  Fixture fixture;
  fixture_init (&fixture);
  ReportSettings always = { MTD_REDACT_NONE, FALSE, MTD_REPORT_COLOR_ALWAYS };
  gsize len = 0;
  g_autofree char *text = write_report_with (&fixture, MTD_REPORT_TEXT, &always, &len);
  g_assert_nonnull (strstr (text, "   \033[1;31mERROR\033[0m CERT_REQUESTED_EMPTY: "));
  g_assert_nonnull (strstr (text, "   \033[36mINFO\033[0m TLS13_INFERRED: "));
  g_assert_nonnull (strstr (text, "presented: \033[1;31mempty list\033[0m (observed, frame 8)"));
  /* Escapes come from the writer only: the hostile strings stay escaped. */
  g_assert_null (strstr (text, "\033[31m"));
  g_autofree char *json = write_report_with (&fixture, MTD_REPORT_JSON, &always, &len);
  g_assert_null (strchr (json, '\033'));
  g_autofree char *jsonl = write_report_with (&fixture, MTD_REPORT_JSONL, &always, &len);
  g_assert_null (strchr (jsonl, '\033'));
  /* Memory is not a terminal: auto colours nothing. */
  ReportSettings automatic = { MTD_REDACT_NONE, FALSE, MTD_REPORT_COLOR_AUTO };
  g_autofree char *plain = write_report_with (&fixture, MTD_REPORT_TEXT, &automatic, &len);
  g_assert_null (strchr (plain, '\033'));
  fixture_clear (&fixture);
}

/* ---- --redact ----------------------------------------------------------------------------- */

/* A TLS connection full of what --redact hides: endpoint and SAN addresses, a serial, SAN and
 * DN e-mail addresses, subjects in findings and in OpenSSL's chain error, an XFCC header, and
 * addresses in the warnings and HTTP fields. */
#define REDACT_WARNING                                                                         \
  "seen from 10.0.0.50 and ::ffff:10.0.0.5, sent on to [2001:db8::9]:443 and 10.0.0.9:8443."   \
  " Kept: OID 1.3.6.1.5.5.7.3.2, TLS 1.2, build 1.2.3.4.5, 2026-11-28T12:00:00.123456Z"
#define XFCC_VALUE                                                                             \
  "By=spiffe://cluster/proxy;Hash=0123;Subject=\"CN=mtlsdiag test client,"                    \
  "emailAddress=alice@example.com\";URI=spiffe://cluster/client;DNS=client.example.com"

static MtdConnection *
make_redaction_target (const TestCert *client, const TestCert *server)
{
  MtdConnection *connection = make_tls12_unknown_ca (client, START_USEC);
  connection->id = 20;
  g_ptr_array_add (connection->tls->server_chain, mtd_cert_ref (server->cert));
  g_ptr_array_add (connection->tls->acceptable_cas, g_strdup ("CN=mtlsdiag Test Root CA"));
  connection->client_chain_check = MTD_CHAIN_UNTRUSTED;
  connection->client_chain_error
      = g_strdup ("unable to get local issuer certificate (depth 0, CN=mtlsdiag test client)");
  mtd_connection_warn (connection, "%s", REDACT_WARNING);
  connection->http = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_http_exchange_free);
  g_ptr_array_add (connection->http, exchange_new ("GET", "10.0.0.9:8443",
                                                   "/users/alice@example.com", 302,
                                                   "https://10.0.0.9/login"));
  connection->cert_headers
      = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_conn_cert_header_free);
  MtdConnCertHeader *entry = g_new0 (MtdConnCertHeader, 1);
  entry->frame = 4;
  entry->header = mtd_certheader_decode ("X-Forwarded-Client-Cert", (const guint8 *) XFCC_VALUE,
                                         strlen (XFCC_VALUE), NULL);
  g_ptr_array_add (connection->cert_headers, entry);
  return connection;
}

static void
redaction_fixture_init (Fixture *fixture)
{
  memset (fixture, 0, sizeof *fixture);
  fixture->server = load_cert ("server");
  fixture->client = load_cert ("client");
  /* A SAN e-mail and two SAN addresses, one of them the client's own. */
  g_ptr_array_add (fixture->client.cert->sans, g_strdup ("email:alice@example.com"));
  g_ptr_array_add (fixture->client.cert->sans, g_strdup ("IP:10.0.0.5"));
  g_ptr_array_add (fixture->client.cert->sans, g_strdup ("IP:2001:db8:0:0:0:0:0:9"));
  fixture->connections = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_connection_free);
  g_ptr_array_add (fixture->connections,
                   make_redaction_target (&fixture->client, &fixture->server));
  MtdConnection *ipv6 = make_tls_unknown ();
  ipv6->id = 21;
  g_strlcpy (ipv6->client.ip, "2001:db8::5", sizeof ipv6->client.ip);
  g_strlcpy (ipv6->server.ip, "2001:db8::9", sizeof ipv6->server.ip);
  g_ptr_array_add (fixture->connections, ipv6);
  fixture->input = mtd_input_info_new ("capture-from-10.0.0.5.pcap");
  fixture->input->link_type = g_strdup ("EN10MB");
}

/* What no redacted document may hold, and what each must: the pseudonyms stand for the same
 * address everywhere. */
static const char *const redaction_check_script =
    "import json, sys\n"
    "path, mode = sys.argv[1:3]\n"
    "raw = open(path, encoding='utf-8').read()\n"
    "if raw.startswith('{\"type\"'):\n"
    "    lines = [json.loads(l) for l in raw.splitlines()]\n"
    "    doc = dict(lines[-1], connections=[l for l in lines if l['type'] == 'connection'])\n"
    "else:\n"
    "    doc = json.loads(raw)\n"
    "for gone in ('10.0.0.5', '10.0.0.9', '2001:db8', '::ffff', 'alice@example.com',"
    " '\"3001\"', 'email:'):\n"
    "    assert gone not in raw, gone\n"
    "assert doc['redacted'] == mode, doc['redacted']\n"
    "c = {x['id']: x for x in doc['connections']}\n"
    "a, b = c[20], c[21]\n"
    "ips = [a['client']['ip'], a['server']['ip'], b['client']['ip'], b['server']['ip']]\n"
    "assert all(ip.startswith('host-') for ip in ips), ips\n"
    "assert len(set(ips)) == 4, ips\n"
    "w = a['warnings'][0]\n"
    "assert ('[%s]:443' % b['server']['ip']) in w, w\n"
    "assert ('%s:8443' % a['server']['ip']) in w, w\n"
    "assert (' and %s, sent' % a['client']['ip']) in w, w\n"
    "assert ('OID 1.3.6.1.5.5.7.3.2, TLS 1.2, build 1.2.3.4.5, '\n"
    "        '2026-11-28T12:00:00.123456Z') in w, w\n"
    "t = a['tls']\n"
    "leaf = t['client_chain'][0]\n"
    "assert leaf['serial'] is None and t['server_chain'][0]['serial'] is None\n"
    "assert leaf['san'] == ['IP:' + a['client']['ip'], 'IP:' + b['server']['ip']], leaf['san']\n"
    "h = a['http'][0]\n"
    "assert h['host'] == a['server']['ip'] + ':8443', h\n"
    "assert h['path'] == '/users/[email]', h\n"
    "assert h['location'] == 'https://%s/login' % a['server']['ip'], h\n"
    "x = h['cert_headers'][0]['xfcc'][0]\n"
    "assert x['uri'] == 'spiffe://cluster/client' and x['dns'] == ['client.example.com'], x\n"
    "assert doc['inputs'][0]['path'] == 'capture-from-%s.pcap' % a['client']['ip']\n"
    "msgs = ' '.join(f['message'] for f in a['findings'])\n"
    "if mode == 'default':\n"
    "    assert leaf['subject'] == 'CN=mtlsdiag test client', leaf\n"
    "    assert t['acceptable_cas'] == ['CN=mtlsdiag Test Root CA'], t['acceptable_cas']\n"
    "    assert x['subject'] == 'CN=mtlsdiag test client,emailAddress=[email]', x\n"
    "    assert 'CN=mtlsdiag test client' in msgs, msgs\n"
    "else:\n"
    "    for gone in ('CN=', 'mtlsdiag test client', 'mtlsdiag Test'):\n"
    "        assert gone not in raw, gone\n"
    "    assert leaf['subject'] is None and leaf['issuer'] is None, leaf\n"
    "    assert t['acceptable_cas'] == [None], t['acceptable_cas']\n"
    "    assert x['subject'] is None, x\n"
    "    assert '[redacted]' in msgs, msgs\n"
    "    assert '[redacted]' in a['client_chain_check']['error'], a['client_chain_check']\n"
    "print('ok')\n";

static void
test_report_redact (void)
{
  static const struct {
    MtdRedaction redaction;
    const char *name;
  } modes[] = { { MTD_REDACT_DEFAULT, "default" }, { MTD_REDACT_ALL, "all" } };
  for (gsize m = 0; m < G_N_ELEMENTS (modes); m++) {
    Fixture fixture;
    redaction_fixture_init (&fixture);
    ReportSettings settings = { modes[m].redaction, FALSE, MTD_REPORT_COLOR_NEVER };
    const char *const args[] = { modes[m].name, NULL };
    static const MtdReportFormat json_formats[] = { MTD_REPORT_JSON, MTD_REPORT_JSONL };
    for (gsize f = 0; f < G_N_ELEMENTS (json_formats); f++) {
      gsize len = 0;
      g_autofree char *json = write_report_with (&fixture, json_formats[f], &settings, &len);
      assert_no_raw_controls (json, len);
      check_json_with_python (json, len, redaction_check_script, args);
    }
    gsize len = 0;
    g_autofree char *text = write_report_with (&fixture, MTD_REPORT_TEXT, &settings, &len);
    static const char *const gone[] = { "10.0.0.", "2001:db8", "alice@", "3001", "::ffff" };
    for (gsize i = 0; i < G_N_ELEMENTS (gone); i++)
      if (strstr (text, gone[i]) != NULL)
        g_error ("the redacted text report holds \"%s\":\n%s", gone[i], text);
    g_assert_nonnull (strstr (text, "#20 TLS 1.2  host-1:51234 -> host-2:443"));
    g_assert_nonnull (strstr (text, modes[m].redaction == MTD_REDACT_ALL
                                        ? "redacted (--redact=all): "
                                        : "redacted (--redact): "));
    if (modes[m].redaction == MTD_REDACT_ALL) {
      if (strstr (text, "CN=") != NULL)
        g_error ("the --redact=all text report holds a name:\n%s", text);
      g_assert_nonnull (strstr (text, "client certificate: (redacted)  issuer (redacted)"));
    } else {
      g_assert_nonnull (strstr (text, "client certificate: CN=mtlsdiag test client  issuer "));
    }
    /* Live lines share the report's pseudonyms. */
    char *buffer = NULL;
    size_t buffer_len = 0;
    FILE *out = open_memstream (&buffer, &buffer_len);
    g_autoptr (MtdReport) report = mtd_report_new (MTD_REPORT_TEXT, out, "1");
    mtd_report_set_redaction (report, modes[m].redaction);
    MtdConnection *target = g_ptr_array_index (fixture.connections, 0);
    g_autoptr (MtdDiagnosis) diagnosis = mtd_diagnose_connection (target);
    mtd_report_live_line (report, out, target, diagnosis);
    for (guint i = 0; i < diagnosis->findings->len; i++)
      mtd_report_live_finding_line (report, out, target,
                                    g_ptr_array_index (diagnosis->findings, i), START_USEC);
    fclose (out);
    g_autofree char *live = buffer;
    g_assert_true (g_str_has_prefix (live, "#20 host-1:51234 -> host-2:443 TLS 1.2 "));
    g_assert_nonnull (strstr (live, " #20 host-1:51234 -> host-2:443 error CERT_REJECTED: "));
    g_assert_null (strstr (live, "10.0.0."));
    if (modes[m].redaction == MTD_REDACT_ALL)
      g_assert_null (strstr (live, "CN="));
    fixture_clear (&fixture);
  }
}

/* Free text, one warning at a time: what is an address and what is not.  Each case is its own
 * report, in which the connection's ends, written first, are host-1 (10.0.0.5) and host-2
 * (10.0.0.9). */
static void
test_report_redact_text (void)
{
  static const struct {
    const char *text;
    const char *expected;
  } cases[] = {
    { "10.0.0.5:51234 -> 10.0.0.9:443", "host-1:51234 -> host-2:443" },
    { "from 10.0.0.9.", "from host-2." },
    { "10.0.0.50 is not 10.0.0.5", "host-3 is not host-1" },
    { "1.10.0.0.5 and 10.0.0.5.7 are no addresses", "1.10.0.0.5 and 10.0.0.5.7 are no addresses" },
    { "[2001:db8::9]:443, 2001:DB8:0:0:0:0:0:9", "[host-3]:443, host-3" },
    { "::1 and 0:0:0:0:0:0:0:1 and ::ffff:10.0.0.9", "host-3 and host-3 and host-2" },
    { "IP:127.0.0.1 IP:::1", "IP:host-3 IP:host-4" },
    { "X-Forwarded-For: 10.0.0.5, 192.0.2.7", "X-Forwarded-For: host-1, host-3" },
    { "at 2026-11-28T12:00:00.123456Z, TLS 1.2, std::string, fe80",
      "at 2026-11-28T12:00:00.123456Z, TLS 1.2, std::string, fe80" },
    { "SHA-1 A6A4173F9FFA741311C87440E231DCF6259F101B, frames 6, 8",
      "SHA-1 A6A4173F9FFA741311C87440E231DCF6259F101B, frames 6, 8" },
    { "mail alice.b+x@mail.example.com. Or bob@host.", "mail [email]. Or [email]." },
    { "@scope/pkg and a@ and @", "@scope/pkg and a@ and @" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (MtdConnection) connection = make_other_incomplete ();
    connection->anomalies.counts[MTD_ANOMALY_MIDSTREAM_START] = 0;
    mtd_connection_warn (connection, "%s", cases[i].text);
    char *buffer = NULL;
    size_t buffer_len = 0;
    FILE *out = open_memstream (&buffer, &buffer_len);
    g_autoptr (MtdReport) report = mtd_report_new (MTD_REPORT_TEXT, out, "1");
    mtd_report_set_redaction (report, MTD_REDACT_DEFAULT);
    mtd_report_connection (report, connection, NULL);
    /* The text report writes its connections at the finish, after the verdict. */
    MtdSummary summary = { 0 };
    g_assert_true (mtd_report_finish (report, NULL, 0, &summary, NULL));
    g_clear_pointer (&report, mtd_report_free);
    fclose (out);
    g_autofree char *text = buffer;
    const char *line = strstr (text, "   warning: ");
    g_assert_nonnull (line);
    line += strlen ("   warning: ");
    g_autofree char *warning = g_strndup (line, strcspn (line, "\n"));
    g_assert_cmpstr (warning, ==, cases[i].expected);
  }
}

/* ---- Progress line ------------------------------------------------------------------------ */

static void
test_report_progress (void)
{
  char buf[160];
  MtdProgress progress = {
    .input_number = 1,
    .n_inputs = 1,
    .n_bytes_read = 150000000,
    .n_bytes_total = 600000000,
    .n_packets = 1234567,
    .n_flows = 4321,
    .elapsed_usec = 2 * G_USEC_PER_SEC,
  };
  mtd_report_format_progress (&progress, buf, sizeof buf);
  g_assert_cmpstr (buf, ==, "150.0 of 600.0 MB (25%), 1234567 packets, 4321 flows, 75.0 MB/s, "
                            "0:06 left");
  progress.input_number = 2;
  progress.n_inputs = 3;
  progress.elapsed_usec = 0;
  mtd_report_format_progress (&progress, buf, sizeof buf);
  g_assert_cmpstr (buf, ==, "input 2 of 3: 150.0 of 600.0 MB (25%), 1234567 packets, 4321 flows");
  /* Slow: hours left. */
  progress.n_inputs = 1;
  progress.n_bytes_read = 1000000;
  progress.elapsed_usec = 10 * G_USEC_PER_SEC;
  mtd_report_format_progress (&progress, buf, sizeof buf);
  g_assert_true (g_str_has_suffix (buf, ", 0.1 MB/s, 1:39:50 left"));
  /* An empty file, and a file that grew past its size: no division by zero, never over 100%. */
  MtdProgress empty = { .input_number = 1, .n_inputs = 1, .elapsed_usec = 1 };
  mtd_report_format_progress (&empty, buf, sizeof buf);
  g_assert_cmpstr (buf, ==, "0.0 of 0.0 MB (0%), 0 packets, 0 flows");
  MtdProgress grown = { .input_number = 1, .n_inputs = 1, .n_bytes_read = 2000000,
                        .n_bytes_total = 1000000, .elapsed_usec = G_USEC_PER_SEC };
  mtd_report_format_progress (&grown, buf, sizeof buf);
  g_assert_cmpstr (buf, ==, "1.0 of 1.0 MB (100%), 0 packets, 0 flows, 1.0 MB/s, 0:00 left");
  /* A short buffer gets the start of the line. */
  char small[8];
  mtd_report_format_progress (&progress, small, sizeof small);
  g_assert_cmpstr (small, ==, "1.0 of ");
}

/* The reference for the report's timestamps: what gmtime_r and printf make of the same instant. */
static gboolean
reference_utc (gint64 seconds, gint64 micros, gboolean has_micros, char *buf, gsize buf_len)
{
  buf[0] = '\0';
  time_t as_time = (time_t) seconds;
  struct tm tm;
  if (gmtime_r (&as_time, &tm) == NULL || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
    return FALSE;
  if (has_micros)
    g_snprintf (buf, buf_len, "%04d-%02d-%02dT%02d:%02d:%02d.%06" G_GINT64_FORMAT "Z",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                micros);
  else
    g_snprintf (buf, buf_len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return TRUE;
}

static void
check_utc (gint64 seconds)
{
  char expected[MTD_REPORT_TIME_LEN];
  char got[MTD_REPORT_TIME_LEN];
  gboolean is_expected = reference_utc (seconds, 0, FALSE, expected, sizeof expected);
  g_assert_cmpint (mtd_report_format_seconds (seconds, got, sizeof got), ==, is_expected);
  g_assert_cmpstr (got, ==, expected);
  gint64 micros = (seconds & 0xFFFFF) % G_USEC_PER_SEC;
  if (seconds > G_MININT64 / G_USEC_PER_SEC + 1 && seconds < G_MAXINT64 / G_USEC_PER_SEC - 1) {
    is_expected = reference_utc (seconds, micros, TRUE, expected, sizeof expected);
    g_assert_cmpint (mtd_report_format_usec (seconds * G_USEC_PER_SEC + micros, got, sizeof got),
                     ==, is_expected);
    g_assert_cmpstr (got, ==, expected);
  }
}

/* Timestamps are computed by calendar arithmetic: they must agree with gmtime_r on every day of
 * the years 1900 to 2200 and on a sample of days and edges across years 0 to 9999. */
static void
test_format_utc (void)
{
  const gint64 edges[] = {
    0, -1, 1, 59, 60, 86399, 86400, -86400, -86401,
    951782400,            /* 2000-02-29 */
    4107542400,           /* 2100-03-01, after a century that is not a leap year */
    253402300799,         /* 9999-12-31T23:59:59Z, the last time with four digits */
    253402300800,         /* 10000-01-01: out of range */
    -62167219200,         /* 0000-01-01 */
    -62167219201,         /* year -1: out of range */
    G_MAXINT64, G_MININT64,
  };
  for (gsize i = 0; i < G_N_ELEMENTS (edges); i++)
    check_utc (edges[i]);
  for (gint64 day = -25567; day < 84000; day++)
    check_utc (day * 86400 + (day * 7919) % 86400);
  for (gint64 day = -719528; day < 2932897; day += 97)
    check_utc (day * 86400 + (day * 104729) % 86400);

  char small[8];
  g_assert_true (mtd_report_format_seconds (0, small, sizeof small));
  g_assert_cmpstr (small, ==, "1970-01");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/report/format-utc", test_format_utc);
  g_test_add_func ("/diagnose/empty-list", test_diagnose_empty_list);
  g_test_add_func ("/diagnose/not-sent", test_diagnose_not_sent);
  g_test_add_func ("/diagnose/late-auth", test_diagnose_late_auth);
  g_test_add_func ("/diagnose/tls13-inferred", test_diagnose_tls13_inferred);
  g_test_add_func ("/diagnose/tls13-rejected", test_diagnose_tls13_rejected);
  g_test_add_func ("/diagnose/rejected", test_diagnose_rejected);
  g_test_add_func ("/diagnose/validity", test_diagnose_validity);
  g_test_add_func ("/diagnose/not-requested", test_diagnose_not_requested);
  g_test_add_func ("/diagnose/unknown", test_diagnose_unknown);
  g_test_add_func ("/diagnose/http", test_diagnose_http);
  g_test_add_func ("/diagnose/incomplete", test_diagnose_incomplete);
  g_test_add_func ("/diagnose/deterministic", test_diagnose_deterministic);
  g_test_add_func ("/conn/summary", test_summary);
  g_test_add_func ("/conn/lifecycle", test_connection_lifecycle);
  g_test_add_func ("/report/json", test_report_json);
  g_test_add_func ("/report/json-empty", test_report_json_empty);
  g_test_add_func ("/report/json-long-strings", test_report_json_long_strings);
  g_test_add_func ("/report/json-handshake-state", test_report_json_handshake_state);
  g_test_add_func ("/report/text", test_report_text);
  g_test_add_func ("/report/live-line", test_report_live_line);
  g_test_add_func ("/report/ipv6-endpoint", test_report_ipv6_endpoint);
  g_test_add_func ("/report/parse-format", test_report_parse_format);
  g_test_add_func ("/report/write-error", test_report_write_error);
  g_test_add_func ("/report/jsonl", test_report_jsonl);
  g_test_add_func ("/report/summary-only", test_report_summary_only);
  g_test_add_func ("/report/color", test_report_color);
  g_test_add_func ("/report/redact", test_report_redact);
  g_test_add_func ("/report/redact-text", test_report_redact_text);
  g_test_add_func ("/report/progress", test_report_progress);
  return g_test_run ();
}
