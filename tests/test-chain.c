/* test-chain.c: unit tests of chain-correlate.c (legs linked into request chains, and each
 * chain's verdict) and diagnose-chain.c (the chain's findings), on hand-built connections.
 *
 * The topology is the one of a front end that ends the caller's TLS and forwards in clear:
 * the caller 127.0.0.2 reaches the front end 127.0.0.3, which forwards to the app 127.0.0.5
 * (sometimes through 127.0.0.4).  Certificates are the test PKI's in captures/pki; their
 * thumbprints are computed here with GLib's SHA-1, not taken from the code under test.  Expected
 * values follow the linking and verdict rules of mtd-chain.h.
 */
#include <string.h>

#include "mtd-certheader.h"
#include "mtd-chain.h"
#include "mtd-conn.h"
#include "mtd-diagnose.h"
#include "test-pki.h"

/* 2026-12-01T08:30:00.123456Z: every leg's times are offsets in milliseconds from it. */
#define T0 G_GINT64_CONSTANT (1796113800123456)
#define MS(n) ((gint64) (n) * 1000)

#define CALLER "127.0.0.2"
#define FRONT_END "127.0.0.3"
#define MIDDLE "127.0.0.4"
#define APP "127.0.0.5"

#define SNI "app.example.com"
#define BACKEND_HOST "app-backend.internal"

#define ADDRESS_AND_TIME (MTD_MATCH_ADDRESS | MTD_MATCH_TIME_WINDOW)

/* ---- The test PKI ---------------------------------------------------------------------------- */

typedef struct {
  MtdCert *cert;
  char sha1_hex[41]; /* computed here, uppercase as MtdCert has it */
  char *base64;      /* of the DER: the value App Service puts in X-ARR-ClientCert */
} TestCert;

static TestCert client_cert;
static TestCert other_cert;

static void
test_cert_load (TestCert *test_cert, const char *file_name)
{
  g_autoptr (GPtrArray) ders = mtd_test_pki_read (file_name, NULL);
  g_assert_cmpuint (ders->len, ==, 1);
  GBytes *der = g_ptr_array_index (ders, 0);
  gsize der_len = 0;
  const guint8 *data = g_bytes_get_data (der, &der_len);
  g_autofree char *sha1 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA1, der);
  g_autofree char *sha1_upper = g_ascii_strup (sha1, -1);
  g_strlcpy (test_cert->sha1_hex, sha1_upper, sizeof test_cert->sha1_hex);
  test_cert->base64 = g_base64_encode (data, der_len);
  g_autoptr (GError) error = NULL;
  test_cert->cert = mtd_cert_new_from_der (data, der_len, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (test_cert->cert->sha1_hex, ==, test_cert->sha1_hex);
}

static void
test_cert_clear (TestCert *test_cert)
{
  g_clear_pointer (&test_cert->cert, mtd_cert_unref);
  g_clear_pointer (&test_cert->base64, g_free);
}

/* ---- Building connections by hand ------------------------------------------------------------ */

static void
endpoint_set (MtdEndpoint *endpoint, const char *ip_port)
{
  const char *colon = strrchr (ip_port, ':');
  g_assert_nonnull (colon);
  g_assert_cmpuint ((gsize) (colon - ip_port), <, sizeof endpoint->ip);
  memcpy (endpoint->ip, ip_port, (gsize) (colon - ip_port));
  endpoint->ip[colon - ip_port] = '\0';
  endpoint->port = (guint16) g_ascii_strtoull (colon + 1, NULL, 10);
}

/* A finished TCP connection of input 0 from client to server ("ip:port"), open from start_ms to
 * end_ms after T0, in frames first_frame to last_frame.  Neither TLS nor HTTP yet. */
static MtdConnection *
connection_new (guint64 id, const char *client, const char *server, gint start_ms, gint end_ms,
                guint64 first_frame, guint64 last_frame)
{
  MtdConnection *connection = mtd_connection_new ();
  connection->id = id;
  endpoint_set (&connection->client, client);
  endpoint_set (&connection->server, server);
  connection->start_usec = T0 + MS (start_ms);
  connection->end_usec = T0 + MS (end_ms);
  connection->first_frame = first_frame;
  connection->last_frame = last_frame;
  connection->n_packets = last_frame - first_frame + 1;
  connection->end_reason = "fin";
  return connection;
}

static MtdConnection *
in_input (MtdConnection *connection, guint input_index)
{
  connection->input_index = input_index;
  return connection;
}

static void
verdict_set (MtdVerdict *verdict, gint value, guint64 frame)
{
  verdict->value = value;
  verdict->how = MTD_HOW_OBSERVED;
  verdict->n_frames = 0;
  if (frame != 0)
    verdict->frames[verdict->n_frames++] = frame;
}

/* Makes the connection a TLS 1.2 leg with SNI app.example.com: the server asks (or not) in the
 * connection's 6th frame, the client answers in its 8th, presenting cert when given. */
static MtdConnection *
tls_leg (MtdConnection *connection, MtdRequested requested, MtdPresented presented,
         const TestCert *cert)
{
  g_assert_true ((presented == MTD_PRESENTED_YES) == (cert != NULL));
  MtdTlsFacts *tls = g_new0 (MtdTlsFacts, 1);
  tls->version = 0x0303;
  tls->client_max_version = 0x0303;
  tls->cipher_suite = 0xC02F;
  tls->has_cipher_suite = TRUE;
  tls->sni = g_strdup (SNI);
  tls->client_hello_frame = connection->first_frame + 3;
  tls->server_hello_frame = connection->first_frame + 5;
  verdict_set (&tls->requested, requested, connection->first_frame + 5);
  verdict_set (&tls->presented, presented,
               requested == MTD_REQUESTED_YES ? connection->first_frame + 7 : 0);
  tls->client_chain = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_cert_unref);
  if (cert != NULL)
    g_ptr_array_add (tls->client_chain, mtd_cert_ref (cert->cert));
  tls->is_handshake_complete = TRUE;
  connection->tls = tls;
  connection->app_protocol = MTD_APP_TLS;
  return connection;
}

static void
http_header_free (MtdHttpHeader *header)
{
  g_free (header->name);
  g_free (header->value);
  g_free (header);
}

/* Adds a request (and its response when status is not 0) with header name, value pairs ended by
 * NULL; a client-certificate header is also decoded into connection->cert_headers, as the
 * pipeline does. */
static void
add_request_va (MtdConnection *connection, const char *host, const char *path, gint status,
                guint64 request_frame, guint64 status_frame, va_list args)
{
  if (connection->http == NULL)
    connection->http
        = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_http_exchange_free);
  MtdHttpExchange *exchange = g_new0 (MtdHttpExchange, 1);
  exchange->request_frame = request_frame;
  exchange->method = g_strdup ("GET");
  exchange->host = g_strdup (host);
  exchange->path = g_strdup (path);
  exchange->version = g_strdup ("HTTP/1.1");
  exchange->status = status;
  exchange->status_frame = status != 0 ? status_frame : 0;
  g_ptr_array_add (connection->http, exchange);
  for (const char *name = va_arg (args, const char *); name != NULL;
       name = va_arg (args, const char *)) {
    const char *value = va_arg (args, const char *);
    if (exchange->request_headers == NULL)
      exchange->request_headers
          = g_ptr_array_new_with_free_func ((GDestroyNotify) http_header_free);
    MtdHttpHeader *header = g_new0 (MtdHttpHeader, 1);
    header->name = g_strdup (name);
    header->value = g_strdup (value);
    g_ptr_array_add (exchange->request_headers, header);
    if (!mtd_certheader_is_cert_header (name, NULL))
      continue;
    if (connection->cert_headers == NULL)
      connection->cert_headers
          = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_conn_cert_header_free);
    MtdConnCertHeader *entry = g_new0 (MtdConnCertHeader, 1);
    entry->exchange_index = connection->http->len - 1;
    entry->frame = request_frame;
    entry->header = mtd_certheader_decode (name, (const guint8 *) value, strlen (value), NULL);
    g_ptr_array_add (connection->cert_headers, entry);
  }
}

/* Makes the connection a clear HTTP leg with one GET: the request completes in the connection's
 * 4th frame, the response (when status is not 0) two frames before its last.  The varargs are
 * header name, value pairs ended by NULL. */
static MtdConnection *
http_leg (MtdConnection *connection, const char *host, const char *path, gint status, ...)
{
  connection->app_protocol = MTD_APP_HTTP;
  va_list args;
  va_start (args, status);
  add_request_va (connection, host, path, status, connection->first_frame + 3,
                  connection->last_frame - 2, args);
  va_end (args);
  return connection;
}

/* Hop 1 as the front end sees it: the caller's TLS, 0 to 200 ms, frames 1 to 40; the request
 * in frame 6, the client's answer in frame 8. */
static MtdConnection *
caller_tls (MtdRequested requested, MtdPresented presented, const TestCert *cert)
{
  return tls_leg (connection_new (1, CALLER ":51000", FRONT_END ":443", 0, 200, 1, 40),
                  requested, presented, cert);
}

static MtdConnection *
caller_presents (const TestCert *cert)
{
  return caller_tls (MTD_REQUESTED_YES, MTD_PRESENTED_YES, cert);
}

/* The front end's forwarded request to the app, inside hop 1: 20 to 150 ms, frames 12 to 30,
 * GET app.example.com/api/orders (frame 15) answered status (frame 28). */
static MtdConnection *
to_app (guint64 id, gint status, ...)
{
  MtdConnection *connection
      = connection_new (id, FRONT_END ":40000", APP ":8080", 20, 150, 12, 30);
  connection->app_protocol = MTD_APP_HTTP;
  va_list args;
  va_start (args, status);
  add_request_va (connection, SNI, "/api/orders", status, 15, 28, args);
  va_end (args);
  return connection;
}

/* ---- Running the chainer --------------------------------------------------------------------- */

typedef struct {
  guint64 connection_id;
  guint input_index;
  guint64 seen_in_inputs;
  MtdAppProtocol protocol;
  guint matched_by;
  gboolean has_cert_request;
} HopSeen;

/* What the sink saw of one chain (the chain itself is freed when the sink returns). */
typedef struct {
  guint id;
  MtdChainVerdict verdict;
  guint dropped_at_hop;
  guint mismatch_hop;
  guint last_carried_hop;
  char *reason;
  guint n_hops;
  HopSeen hops[MTD_CHAIN_MAX_HOPS];
  MtdDiagnosis *diagnosis; /* mtd_diagnose_chain's, made while the chain was alive */
} ChainSeen;

static void
chain_seen_free (ChainSeen *seen)
{
  g_free (seen->reason);
  mtd_diagnosis_free (seen->diagnosis);
  g_free (seen);
}

typedef struct {
  GPtrArray *chains; /* ChainSeen*, owned, in the order handed over */
  guint64 n_dropped;
  guint n_held;      /* legs held after the last connection, before mtd_chainer_finish */
} Run;

static void
run_free (Run *run)
{
  g_ptr_array_unref (run->chains);
  g_free (run);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Run, run_free)

static gboolean
is_evidence_of (const MtdLeg *leg, const MtdEvidence *evidence)
{
  return leg != NULL && leg->input_index == evidence->input_index
         && evidence->frame >= leg->first_frame && evidence->frame <= leg->last_frame;
}

/* Copies the chain, diagnoses it, and checks what every chain must satisfy: ids 1, 2, ... in
 * handover order, a reason, hop 1 unmatched and every link made by address (or --hop name) and
 * time, and every finding proved by evidence frames of the legs of the chain, each named with the
 * input of the leg it came from. */
static void
collect_chain (const MtdChain *chain, gpointer user_data)
{
  Run *run = user_data;
  g_assert_cmpuint (chain->id, ==, run->chains->len + 1);
  g_assert_nonnull (chain->reason);
  g_assert_cmpuint (chain->hops->len, >=, 1);
  g_assert_cmpuint (chain->hops->len, <=, MTD_CHAIN_MAX_HOPS);
  ChainSeen *seen = g_new0 (ChainSeen, 1);
  seen->id = chain->id;
  seen->verdict = chain->verdict;
  seen->dropped_at_hop = chain->dropped_at_hop;
  seen->mismatch_hop = chain->mismatch_hop;
  seen->last_carried_hop = chain->last_carried_hop;
  seen->reason = g_strdup (chain->reason);
  seen->n_hops = chain->hops->len;
  for (guint i = 0; i < chain->hops->len; i++) {
    const MtdChainHop *hop = &g_array_index (chain->hops, MtdChainHop, i);
    seen->hops[i].connection_id = hop->leg->connection_id;
    seen->hops[i].input_index = hop->leg->input_index;
    seen->hops[i].seen_in_inputs = hop->leg->seen_in_inputs;
    seen->hops[i].protocol = hop->leg->protocol;
    seen->hops[i].matched_by = hop->matched_by;
    seen->hops[i].has_cert_request = hop->cert_request != NULL;
    if (i == 0) {
      g_assert_cmpuint (hop->matched_by, ==, 0);
      continue;
    }
    g_assert_true (hop->matched_by & MTD_MATCH_TIME_WINDOW);
    g_assert_true (!(hop->matched_by & MTD_MATCH_ADDRESS)
                   != !(hop->matched_by & MTD_MATCH_HOP_NAME));
  }
  seen->diagnosis = mtd_diagnose_chain (chain);
  g_assert_nonnull (seen->diagnosis);
  for (guint f = 0; f < seen->diagnosis->findings->len; f++) {
    const MtdFinding *finding = g_ptr_array_index (seen->diagnosis->findings, f);
    g_assert_nonnull (finding->message);
    if (finding->n_evidence == 0)
      g_error ("finding %s of chain %u has no evidence", finding->code, chain->id);
    for (guint e = 0; e < finding->n_evidence; e++) {
      const MtdEvidence *evidence = &finding->evidence[e];
      gboolean is_found = is_evidence_of (chain->held_elsewhere, evidence);
      for (guint i = 0; i < chain->hops->len && !is_found; i++)
        is_found = is_evidence_of (g_array_index (chain->hops, MtdChainHop, i).leg, evidence);
      if (!is_found)
        g_error ("evidence (input %u, frame %" G_GUINT64_FORMAT ") of %s is in no leg of "
                 "chain %u",
                 evidence->input_index, evidence->frame, finding->code, chain->id);
    }
  }
  g_ptr_array_add (run->chains, seen);
}

static MtdChainOptions
options_default (void)
{
  MtdChainOptions options;
  mtd_chain_options_init_default (&options);
  options.settle_min_growth = 1;
  return options;
}

/* Adds the connections (NULL-ended; each is freed right after it is added: the chainer keeps
 * copies) in the order given, finishes, and returns what the sink saw.  options NULL: the
 * defaults. */
static Run *
run_chainer (const MtdChainOptions *options, MtdConnection *first, ...)
{
  MtdChainOptions defaults = options_default ();
  Run *run = g_new0 (Run, 1);
  run->chains = g_ptr_array_new_with_free_func ((GDestroyNotify) chain_seen_free);
  g_autoptr (MtdChainer) chainer
      = mtd_chainer_new (options != NULL ? options : &defaults, collect_chain, run);
  va_list args;
  va_start (args, first);
  for (MtdConnection *connection = first; connection != NULL;
       connection = va_arg (args, MtdConnection *)) {
    mtd_chainer_add_connection (chainer, connection, NULL);
    mtd_connection_free (connection);
  }
  va_end (args);
  run->n_held = mtd_chainer_n_held (chainer);
  mtd_chainer_finish (chainer);
  g_assert_cmpuint (mtd_chainer_n_held (chainer), ==, 0);
  run->n_dropped = mtd_chainer_n_dropped (chainer);
  return run;
}

static const ChainSeen *
chain_at (const Run *run, guint position)
{
  g_assert_cmpuint (position, <, run->chains->len);
  return g_ptr_array_index (run->chains, position);
}

/* The one chain whose hop 1 is connection first_id. */
static const ChainSeen *
chain_from (const Run *run, guint64 first_id)
{
  const ChainSeen *found = NULL;
  for (guint i = 0; i < run->chains->len; i++) {
    const ChainSeen *seen = g_ptr_array_index (run->chains, i);
    if (seen->hops[0].connection_id != first_id)
      continue;
    g_assert_null (found);
    found = seen;
  }
  if (found == NULL)
    g_error ("no chain starts with connection %" G_GUINT64_FORMAT, first_id);
  return found;
}

/* The connection ids of the chain's hops, in order: "1 2 3". */
static char *
hop_ids (const ChainSeen *seen)
{
  GString *ids = g_string_new (NULL);
  for (guint i = 0; i < seen->n_hops; i++)
    g_string_append_printf (ids, "%s%" G_GUINT64_FORMAT, i > 0 ? " " : "",
                            seen->hops[i].connection_id);
  return g_string_free (ids, FALSE);
}

static void
assert_hops (const ChainSeen *seen, const char *expected)
{
  g_autofree char *ids = hop_ids (seen);
  g_assert_cmpstr (ids, ==, expected);
}

/* Every chain of the run as its hop ids, in handover order: "1 2 | 3". */
static void
assert_chains (const Run *run, const char *expected)
{
  g_autoptr (GString) all = g_string_new (NULL);
  for (guint i = 0; i < run->chains->len; i++) {
    g_autofree char *ids = hop_ids (g_ptr_array_index (run->chains, i));
    g_string_append_printf (all, "%s%s", i > 0 ? " | " : "", ids);
  }
  g_assert_cmpstr (all->str, ==, expected);
}

static void
assert_verdict (const ChainSeen *seen, MtdChainVerdict verdict, guint dropped_at_hop,
                guint mismatch_hop, guint last_carried_hop)
{
  g_assert_cmpstr (mtd_chain_verdict_name (seen->verdict), ==, mtd_chain_verdict_name (verdict));
  g_assert_cmpuint (seen->dropped_at_hop, ==, dropped_at_hop);
  g_assert_cmpuint (seen->mismatch_hop, ==, mismatch_hop);
  g_assert_cmpuint (seen->last_carried_hop, ==, last_carried_hop);
  g_assert_nonnull (seen->reason);
  g_assert_cmpstr (seen->reason, !=, "");
}

/* "address time_window host_sni" */
static char *
match_text (guint matched)
{
  const char *names[16] = { NULL };
  guint n = mtd_match_names (matched, names);
  g_assert_cmpuint (n, <=, 10);
  return g_strjoinv (" ", (char **) names);
}

/* Compares as names, so that a failure says which bits differ. */
static void
assert_matched (const ChainSeen *seen, guint hop, guint expected)
{
  g_assert_cmpuint (hop, >=, 2);
  g_assert_cmpuint (hop, <=, seen->n_hops);
  g_autofree char *actual_text = match_text (seen->hops[hop - 1].matched_by);
  g_autofree char *expected_text = match_text (expected);
  g_assert_cmpstr (actual_text, ==, expected_text);
}

static const MtdFinding *
find_finding (const ChainSeen *seen, const char *code)
{
  for (guint i = 0; i < seen->diagnosis->findings->len; i++) {
    const MtdFinding *finding = g_ptr_array_index (seen->diagnosis->findings, i);
    if (g_strcmp0 (finding->code, code) == 0)
      return finding;
  }
  return NULL;
}

static const MtdFinding *
assert_finding (const ChainSeen *seen, const char *code, MtdSeverity severity)
{
  const MtdFinding *finding = find_finding (seen, code);
  if (finding == NULL)
    g_error ("chain %u (%s) has no finding %s", seen->id, mtd_chain_verdict_name (seen->verdict),
             code);
  g_assert_cmpstr (mtd_severity_name (finding->severity), ==, mtd_severity_name (severity));
  return finding;
}

static void
assert_no_error (const ChainSeen *seen)
{
  for (guint i = 0; i < seen->diagnosis->findings->len; i++) {
    const MtdFinding *finding = g_ptr_array_index (seen->diagnosis->findings, i);
    if (finding->severity == MTD_SEVERITY_ERROR)
      g_error ("chain %u has the error %s", seen->id, finding->code);
  }
  g_assert_false (mtd_diagnosis_has_problem (seen->diagnosis));
}

static gboolean
has_evidence (const MtdFinding *finding, guint input_index, guint64 frame)
{
  for (guint i = 0; i < finding->n_evidence; i++)
    if (finding->evidence[i].input_index == input_index && finding->evidence[i].frame == frame)
      return TRUE;
  return FALSE;
}

/* ---- Which connections become legs ----------------------------------------------------------- */

static void
test_ignored (void)
{
  MtdConnection *other = connection_new (1, CALLER ":51000", FRONT_END ":22", 0, 200, 1, 40);
  MtdConnection *empty_http = connection_new (2, CALLER ":51001", FRONT_END ":80", 10, 20, 41, 44);
  empty_http->app_protocol = MTD_APP_HTTP;
  empty_http->http = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_http_exchange_free);
  /* nDPI said TLS, but no handshake was parsed. */
  MtdConnection *tls_by_name
      = connection_new (3, CALLER ":51002", FRONT_END ":443", 30, 40, 45, 50);
  tls_by_name->app_protocol = MTD_APP_TLS;
  MtdConnection *tls = caller_presents (&client_cert);
  tls->id = 4;
  MtdConnection *http
      = http_leg (connection_new (5, CALLER ":51003", MIDDLE ":80", 300, 400, 60, 70), SNI,
                  "/", 200, NULL);
  g_autoptr (Run) run = run_chainer (NULL, other, empty_http, tls_by_name, tls, http, NULL);
  assert_chains (run, "4 | 5");
  g_assert_cmpuint (run->n_held, ==, 2);
  g_assert_cmpuint (run->n_dropped, ==, 0);
  g_assert_cmpint (chain_at (run, 0)->hops[0].protocol, ==, MTD_APP_TLS);
  g_assert_cmpint (chain_at (run, 1)->hops[0].protocol, ==, MTD_APP_HTTP);
}

/* The same 4-tuple in two inputs, within the window, is one leg: the first added. */
static void
test_duplicates (void)
{
  MtdChainOptions options = options_default ();
  options.window_usec = MS (500);
  {
    MtdConnection *at_front_end = caller_presents (&client_cert);
    MtdConnection *at_caller = in_input (caller_presents (&client_cert), 1);
    at_caller->id = 7;
    at_caller->start_usec += MS (300); /* the other host's clock */
    at_caller->end_usec += MS (300);
    g_autoptr (Run) run = run_chainer (&options, at_front_end, at_caller, NULL);
    assert_chains (run, "1");
    g_assert_cmpuint (chain_at (run, 0)->hops[0].input_index, ==, 0);
    g_assert_cmpuint (chain_at (run, 0)->hops[0].seen_in_inputs, ==, 0x3);
  }
  {
    /* The first added is kept, whichever input it came from. */
    MtdConnection *at_caller = in_input (caller_presents (&client_cert), 1);
    at_caller->id = 7;
    at_caller->start_usec -= MS (300);
    MtdConnection *at_front_end = caller_presents (&client_cert);
    g_autoptr (Run) run = run_chainer (&options, at_caller, at_front_end, NULL);
    assert_chains (run, "7");
    g_assert_cmpuint (chain_at (run, 0)->hops[0].input_index, ==, 1);
    g_assert_cmpuint (chain_at (run, 0)->hops[0].seen_in_inputs, ==, 0x3);
  }
  {
    /* Further apart than the window: a later connection that reused the port. */
    MtdConnection *first = caller_presents (&client_cert);
    MtdConnection *later = in_input (caller_presents (&client_cert), 1);
    later->id = 7;
    later->start_usec += MS (600);
    later->end_usec += MS (600);
    g_autoptr (Run) run = run_chainer (&options, first, later, NULL);
    assert_chains (run, "1 | 7");
    g_assert_cmpuint (chain_from (run, 1)->hops[0].seen_in_inputs, ==, 0x1);
    g_assert_cmpuint (chain_from (run, 7)->hops[0].seen_in_inputs, ==, 0x2);
  }
  {
    /* The same tuple twice in one input is two connections. */
    MtdConnection *first = caller_presents (&client_cert);
    MtdConnection *again
        = tls_leg (connection_new (7, CALLER ":51000", FRONT_END ":443", 250, 450, 41, 80),
                   MTD_REQUESTED_YES, MTD_PRESENTED_YES, &client_cert);
    g_autoptr (Run) run = run_chainer (&options, first, again, NULL);
    assert_chains (run, "1 | 7");
  }
}

static void
test_max_legs (void)
{
  MtdChainOptions options = options_default ();
  options.max_legs = 2;
  MtdConnection *first = caller_presents (&client_cert);
  MtdConnection *second
      = tls_leg (connection_new (2, CALLER ":51001", FRONT_END ":443", 300, 400, 41, 60),
                 MTD_REQUESTED_YES, MTD_PRESENTED_YES, &client_cert);
  MtdConnection *third
      = tls_leg (connection_new (3, CALLER ":51002", FRONT_END ":443", 500, 600, 61, 80),
                 MTD_REQUESTED_YES, MTD_PRESENTED_YES, &client_cert);
  /* Neither is a new leg: one is ignored, the other is the first leg seen from input 1. */
  MtdConnection *other = connection_new (4, CALLER ":51003", FRONT_END ":22", 700, 800, 81, 90);
  MtdConnection *first_again = in_input (caller_presents (&client_cert), 1);
  first_again->id = 5;
  g_autoptr (Run) run = run_chainer (&options, first, second, third, other, first_again, NULL);
  assert_chains (run, "1 | 2");
  g_assert_cmpuint (run->n_dropped, ==, 1);
  g_assert_cmpuint (chain_from (run, 1)->hops[0].seen_in_inputs, ==, 0x3);
}

/* ---- Linking ----------------------------------------------------------------------------------- */

/* Nothing but address and time, and neither side has another choice. */
static void
test_only_candidate (void)
{
  g_autoptr (Run) run
      = run_chainer (NULL, caller_presents (&client_cert),
                     http_leg (connection_new (2, FRONT_END ":40000", APP ":8080", 20, 150, 12, 30),
                               BACKEND_HOST, "/api/orders", 200, NULL),
                     NULL);
  assert_chains (run, "1 2");
  assert_matched (chain_at (run, 0), 2, ADDRESS_AND_TIME | MTD_MATCH_ONLY_CANDIDATE);
}

static MtdConnection *
backend_leg (guint64 id, const char *client, const char *server, gint start_ms, guint64 first_frame)
{
  return http_leg (connection_new (id, client, server, start_ms, start_ms + 100, first_frame,
                                   first_frame + 10),
                   BACKEND_HOST, "/api/orders", 200, NULL);
}

static void
test_ambiguous (void)
{
  {
    /* Two legs leave the front end while hop 1 is open: either could be its. */
    g_autoptr (Run) run
        = run_chainer (NULL, caller_presents (&client_cert),
                       backend_leg (2, FRONT_END ":40000", APP ":8080", 20, 12),
                       backend_leg (3, FRONT_END ":40001", MIDDLE ":8080", 30, 14), NULL);
    assert_chains (run, "1 | 2 | 3");
  }
  {
    /* Two callers' legs are open when the front end forwards one request. */
    MtdConnection *second_caller
        = tls_leg (connection_new (2, CALLER ":51001", FRONT_END ":443", 5, 190, 3, 38),
                   MTD_REQUESTED_YES, MTD_PRESENTED_YES, &client_cert);
    g_autoptr (Run) run
        = run_chainer (NULL, caller_presents (&client_cert), second_caller,
                       backend_leg (3, FRONT_END ":40000", APP ":8080", 20, 12), NULL);
    assert_chains (run, "1 | 2 | 3");
  }
}

/* Hop 2 must start at the address hop 1 was sent to. */
static void
test_address (void)
{
  g_autoptr (Run) run = run_chainer (NULL, caller_presents (&client_cert),
                                     backend_leg (2, MIDDLE ":40000", APP ":8080", 20, 12), NULL);
  assert_chains (run, "1 | 2");
}

static void
test_hop_name (void)
{
  g_autoptr (GHashTable) hop_names = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (hop_names, FRONT_END, "frontend");
  g_hash_table_insert (hop_names, MIDDLE, "frontend");
  MtdChainOptions options = options_default ();
  options.hop_names = hop_names;
  {
    /* The front end answers on 127.0.0.3 and forwards from 127.0.0.4. */
    g_autoptr (Run) run
        = run_chainer (&options, caller_presents (&client_cert),
                       backend_leg (2, MIDDLE ":40000", APP ":8080", 20, 12), NULL);
    assert_chains (run, "1 2");
    assert_matched (chain_at (run, 0), 2,
                    MTD_MATCH_HOP_NAME | MTD_MATCH_TIME_WINDOW | MTD_MATCH_ONLY_CANDIDATE);
  }
  {
    /* Another name: another host. */
    g_hash_table_insert (hop_names, MIDDLE, "backend");
    g_autoptr (Run) run
        = run_chainer (&options, caller_presents (&client_cert),
                       backend_leg (2, MIDDLE ":40000", APP ":8080", 20, 12), NULL);
    assert_chains (run, "1 | 2");
  }
  g_autoptr (MtdChainer) chainer = mtd_chainer_new (&options, collect_chain, NULL);
  g_assert_cmpstr (mtd_chainer_hop_name (chainer, FRONT_END), ==, "frontend");
  g_assert_cmpstr (mtd_chainer_hop_name (chainer, MIDDLE), ==, "backend");
  g_assert_null (mtd_chainer_hop_name (chainer, APP));
}

/* A hop does not forward to the service it is, nor back to its caller. */
static void
test_not_same_server_nor_back (void)
{
  {
    g_autoptr (Run) run
        = run_chainer (NULL, caller_presents (&client_cert),
                       backend_leg (2, FRONT_END ":40000", FRONT_END ":443", 20, 12), NULL);
    assert_chains (run, "1 | 2");
  }
  {
    g_autoptr (Run) run
        = run_chainer (NULL, caller_presents (&client_cert),
                       backend_leg (2, FRONT_END ":40000", CALLER ":51000", 20, 12), NULL);
    assert_chains (run, "1 | 2");
  }
  {
    /* The caller's address on another port is another service. */
    g_autoptr (Run) run
        = run_chainer (NULL, caller_presents (&client_cert),
                       backend_leg (2, FRONT_END ":40000", CALLER ":8080", 20, 12), NULL);
    assert_chains (run, "1 2");
  }
}

/* Hop 1: 0 to 200 ms in frames 11 to 50 of input 0; hop 2 from the front end, forwarded for the
 * caller (X-Forwarded-For) when is_forwarded, starting at start_ms, in input. */
static Run *
run_window (gint start_ms, guint input, gboolean is_forwarded)
{
  MtdChainOptions options = options_default ();
  options.window_usec = MS (500);
  MtdConnection *caller
      = tls_leg (connection_new (1, CALLER ":51000", FRONT_END ":443", 0, 200, 11, 50),
                 MTD_REQUESTED_YES, MTD_PRESENTED_YES, &client_cert);
  /* Frames follow time within an input: before hop 1, inside it or after it. */
  guint64 first_frame = start_ms < 0 ? 1 : start_ms <= 200 ? 20 : 60;
  MtdConnection *forwarded = in_input (
      http_leg (connection_new (2, FRONT_END ":40000", APP ":8080", start_ms, start_ms + 100,
                                first_frame, first_frame + 8),
                BACKEND_HOST, "/api/orders", 200,
                is_forwarded ? "X-Forwarded-For" : NULL, CALLER, NULL),
      input);
  return run_chainer (&options, caller, forwarded, NULL);
}

static void
test_time_window (void)
{
  struct {
    gint start_ms;
    guint input;
    gboolean is_forwarded;
    gboolean is_linked;
  } const cases[] = {
    /* One input: hop 2 starts while hop 1 is open. */
    { 50, 0, FALSE, TRUE },
    { 0, 0, FALSE, TRUE },
    { -1, 0, FALSE, FALSE },
    { -1, 0, TRUE, FALSE },
    { 701, 0, TRUE, FALSE },
    /* Two inputs: their clocks may differ by up to the window (500 ms). */
    { 50, 1, FALSE, TRUE },
    { -300, 1, TRUE, TRUE },
    { -501, 1, TRUE, FALSE },
    { 500, 1, TRUE, TRUE },
    { 701, 1, TRUE, FALSE },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_test_message ("hop 2 at %+d ms in input %u%s", cases[i].start_ms, cases[i].input,
                    cases[i].is_forwarded ? " with X-Forwarded-For" : "");
    g_autoptr (Run) run = run_window (cases[i].start_ms, cases[i].input, cases[i].is_forwarded);
    assert_chains (run, cases[i].is_linked ? "1 2" : cases[i].start_ms < 0 ? "2 | 1" : "1 | 2");
    if (cases[i].is_linked)
      assert_matched (chain_at (run, 0), 2,
                      ADDRESS_AND_TIME
                          | (cases[i].is_forwarded ? MTD_MATCH_X_FORWARDED_FOR
                                                   : MTD_MATCH_ONLY_CANDIDATE));
  }
}

/* mtd-chain.h: a proxy forwards while it still has to answer on the caller's connection, so in
 * one input a leg that starts after its previous leg ended is not its next hop, whatever the
 * window (the window is a tolerance between the clocks of different inputs). */
static void
test_time_window_after_end (void)
{
  g_autoptr (Run) run = run_window (300, 0, TRUE);
  assert_chains (run, "1 | 2");
}

/* mtd-chain.h: across inputs, times that only meet through the clock tolerance need a fact that
 * names the request or the certificate; address and time alone, even as the only candidate, do
 * not link (two captures of one host taken a moment apart would otherwise chain). */
static void
test_time_window_early_only_candidate (void)
{
  g_autoptr (Run) run = run_window (-300, 1, FALSE);
  assert_chains (run, "2 | 1");
}

/* ---- What agrees beyond address and time ----------------------------------------------------- */

/* upstream, then `forwarded` (the front end's leg to the app, which should follow it on its
 * content alone) and a decoy that leaves the front end at the same time for another service, so
 * that hop 1 is a candidate for two legs and "only candidate" cannot link them. */
static Run *
run_with_decoy (MtdConnection *upstream, MtdConnection *forwarded)
{
  MtdConnection *decoy
      = http_leg (connection_new (9, FRONT_END ":40001", MIDDLE ":8080", 25, 140, 14, 32),
                  "inventory.internal", "/stock", 200, NULL);
  return run_chainer (NULL, upstream, forwarded, decoy, NULL);
}

/* Asserts chains "upstream forwarded | 9" with the given bits on the link. */
static void
assert_linked_by (const Run *run, guint64 upstream_id, guint64 forwarded_id, guint content)
{
  g_autofree char *expected
      = g_strdup_printf ("%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " | 9", upstream_id,
                         forwarded_id);
  assert_chains (run, expected);
  assert_matched (chain_at (run, 0), 2, ADDRESS_AND_TIME | content);
}

/* A plain-HTTP caller's leg to the front end, 0 to 200 ms, GET path (frame 4). */
static MtdConnection *
caller_http (const char *host, const char *path, ...)
{
  MtdConnection *connection
      = connection_new (1, CALLER ":51000", FRONT_END ":80", 0, 200, 1, 40);
  connection->app_protocol = MTD_APP_HTTP;
  va_list args;
  va_start (args, path);
  add_request_va (connection, host, path, 200, 4, 38, args);
  va_end (args);
  return connection;
}

static MtdConnection *
forwarded_with (const char *host, const char *name, const char *value)
{
  return http_leg (connection_new (2, FRONT_END ":40000", APP ":8080", 20, 150, 12, 30), host,
                   "/api/orders", 200, name, value, NULL);
}

static void
test_match_host_sni (void)
{
  {
    /* The Host of hop 2, port and case aside, is hop 1's SNI. */
    g_autoptr (Run) run = run_with_decoy (caller_presents (&client_cert),
                                          forwarded_with ("APP.Example.com:8080", NULL, NULL));
    assert_linked_by (run, 1, 2, MTD_MATCH_HOST_SNI);
  }
  {
    /* The SNI of hop 2 is the Host of hop 1. */
    MtdConnection *forwarded
        = tls_leg (connection_new (2, FRONT_END ":40000", APP ":443", 20, 150, 12, 30),
                   MTD_REQUESTED_NO, MTD_PRESENTED_NO, NULL);
    g_autoptr (Run) run
        = run_with_decoy (caller_http ("App.Example.COM:80", "/api/orders", NULL), forwarded);
    assert_linked_by (run, 1, 2, MTD_MATCH_HOST_SNI);
  }
  {
    /* Another name is no match. */
    g_autoptr (Run) run = run_with_decoy (caller_presents (&client_cert),
                                          forwarded_with ("api.example.com", NULL, NULL));
    assert_chains (run, "1 | 2 | 9");
  }
}

static void
test_match_x_forwarded_for (void)
{
  {
    g_autoptr (Run) run = run_with_decoy (
        caller_presents (&client_cert),
        forwarded_with (BACKEND_HOST, "X-Forwarded-For", "203.0.113.7, 127.0.0.2:51000"));
    assert_linked_by (run, 1, 2, MTD_MATCH_X_FORWARDED_FOR);
  }
  {
    g_autoptr (Run) run = run_with_decoy (
        caller_presents (&client_cert),
        forwarded_with (BACKEND_HOST, "X-Forwarded-For", "203.0.113.7, 127.0.0.20"));
    assert_chains (run, "1 | 2 | 9");
  }
}

static void
test_match_x_forwarded_host (void)
{
  g_autoptr (Run) run = run_with_decoy (
      caller_presents (&client_cert), forwarded_with (BACKEND_HOST, "X-Forwarded-Host", SNI));
  assert_linked_by (run, 1, 2, MTD_MATCH_X_FORWARDED_HOST);
}

static void
test_match_x_original_url (void)
{
  {
    g_autoptr (Run) run = run_with_decoy (
        caller_http (SNI, "/api/orders?id=7", NULL),
        forwarded_with (BACKEND_HOST, "X-Original-URL", "/api/orders?id=7"));
    assert_linked_by (run, 1, 2, MTD_MATCH_X_ORIGINAL_URL);
  }
  {
    g_autoptr (Run) run = run_with_decoy (
        caller_http (SNI, "/api/orders?id=7", NULL),
        forwarded_with (BACKEND_HOST, "X-Original-URL", "/api/orders?id=8"));
    assert_chains (run, "1 | 2 | 9");
  }
}

static void
test_match_request_id (void)
{
  static const char *const names[] = { "X-ARR-LOG-ID", "X-Request-ID", "traceparent" };
  static const char *const values[] = {
    "6b9f2c1e-4d7a-4f3b-9e21-5c8d0a7b3f10",
    "req-20261201-083000-0042",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++) {
    g_test_message ("%s", names[i]);
    g_autoptr (Run) run
        = run_with_decoy (caller_http (SNI, "/api/orders", names[i], values[i], NULL),
                          forwarded_with (BACKEND_HOST, names[i], values[i]));
    assert_linked_by (run, 1, 2, MTD_MATCH_REQUEST_ID);
  }
  {
    /* Each hop starts its own span: only the trace-id travels (W3C Trace Context). */
    g_autoptr (Run) run = run_with_decoy (
        caller_http (SNI, "/api/orders", "traceparent",
                     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", NULL),
        forwarded_with (BACKEND_HOST, "traceparent",
                        "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01"));
    assert_linked_by (run, 1, 2, MTD_MATCH_REQUEST_ID);
  }
  {
    /* Another trace is another request. */
    g_autoptr (Run) run = run_with_decoy (
        caller_http (SNI, "/api/orders", "traceparent",
                     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", NULL),
        forwarded_with (BACKEND_HOST, "traceparent",
                        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
    assert_chains (run, "1 | 2 | 9");
  }
}

/* A front end adds its own X-ARR-LOG-ID and passes the caller's X-Request-ID on. */
static void
test_match_request_id_among_others (void)
{
  MtdConnection *forwarded
      = http_leg (connection_new (2, FRONT_END ":40000", APP ":8080", 20, 150, 12, 30),
                  BACKEND_HOST, "/api/orders", 200, "X-ARR-LOG-ID",
                  "6b9f2c1e-4d7a-4f3b-9e21-5c8d0a7b3f10", "X-Request-ID",
                  "req-20261201-083000-0042", NULL);
  g_autoptr (Run) run = run_with_decoy (
      caller_http (SNI, "/api/orders", "X-Request-ID", "req-20261201-083000-0042", NULL),
      forwarded);
  assert_linked_by (run, 1, 2, MTD_MATCH_REQUEST_ID);
}

static void
test_match_cert_thumbprint (void)
{
  {
    g_autoptr (Run) run
        = run_with_decoy (caller_presents (&client_cert),
                          forwarded_with (BACKEND_HOST, "X-ARR-ClientCert", client_cert.base64));
    assert_linked_by (run, 1, 2, MTD_MATCH_CERT_THUMBPRINT);
  }
  {
    g_autoptr (Run) run
        = run_with_decoy (caller_presents (&client_cert),
                          forwarded_with (BACKEND_HOST, "X-ARR-ClientCert", other_cert.base64));
    assert_chains (run, "1 | 2 | 9");
  }
}

/* Hop 2 follows the candidate with the most agreeing facts, not the newest. */
static void
test_most_content (void)
{
  MtdConnection *older = caller_presents (&client_cert);
  MtdConnection *newer
      = tls_leg (connection_new (2, CALLER ":51001", FRONT_END ":443", 5, 190, 3, 38),
                 MTD_REQUESTED_YES, MTD_PRESENTED_YES, &other_cert);
  MtdConnection *forwarded = to_app (3, 200, "X-ARR-ClientCert", client_cert.base64, NULL);
  g_autoptr (Run) run = run_chainer (NULL, newer, forwarded, older, NULL);
  assert_chains (run, "1 3 | 2");
  assert_matched (chain_at (run, 0), 2,
                  ADDRESS_AND_TIME | MTD_MATCH_HOST_SNI | MTD_MATCH_CERT_THUMBPRINT);
}

/* Chains are the root-to-leaf paths; ids follow the first hop's start, whatever the order the
 * connections were added in. */
static void
test_paths_and_ids (void)
{
  MtdConnection *caller = caller_presents (&client_cert);
  MtdConnection *to_orders = to_app (2, 200, "X-ARR-ClientCert", client_cert.base64, NULL);
  MtdConnection *to_stock
      = http_leg (connection_new (3, FRONT_END ":40001", MIDDLE ":8080", 40, 160, 16, 34), SNI,
                  "/api/stock", 200, "X-ARR-ClientCert", client_cert.base64, NULL);
  MtdConnection *late
      = tls_leg (connection_new (4, CALLER ":51100", FRONT_END ":443", 5000, 5200, 100, 140),
                 MTD_REQUESTED_NO, MTD_PRESENTED_NO, NULL);
  MtdConnection *early
      = tls_leg (connection_new (5, CALLER ":50900", FRONT_END ":443", -3000, -2800, 1, 9),
                 MTD_REQUESTED_NO, MTD_PRESENTED_NO, NULL);
  early->input_index = 1;
  g_autoptr (Run) run = run_chainer (NULL, late, to_stock, caller, early, to_orders, NULL);
  g_assert_cmpuint (run->chains->len, ==, 4);
  assert_hops (chain_at (run, 0), "5");
  assert_hops (chain_at (run, 3), "4");
  /* Both paths from the caller's leg, in either order. */
  g_autofree char *second = hop_ids (chain_at (run, 1));
  g_autofree char *third = hop_ids (chain_at (run, 2));
  g_autofree char *both = g_strdup_printf ("%s | %s", second, third);
  if (g_strcmp0 (both, "1 2 | 1 3") != 0 && g_strcmp0 (both, "1 3 | 1 2") != 0)
    g_error ("the caller's paths are %s", both);
  for (guint i = 1; i <= 2; i++) {
    assert_verdict (chain_at (run, i), MTD_CHAIN_DELIVERED, 0, 0, 2);
    assert_matched (chain_at (run, i), 2,
                    ADDRESS_AND_TIME | MTD_MATCH_HOST_SNI | MTD_MATCH_CERT_THUMBPRINT);
  }
}

/* ---- Verdicts and findings ------------------------------------------------------------------- */

static void
test_delivered (void)
{
  g_autoptr (Run) run
      = run_chainer (NULL, caller_presents (&client_cert),
                     to_app (2, 200, "X-ARR-ClientCert", client_cert.base64, NULL), NULL);
  assert_chains (run, "1 2");
  const ChainSeen *seen = chain_at (run, 0);
  assert_verdict (seen, MTD_CHAIN_DELIVERED, 0, 0, 2);
  g_assert_true (seen->hops[1].has_cert_request);
  assert_matched (seen, 2, ADDRESS_AND_TIME | MTD_MATCH_HOST_SNI | MTD_MATCH_CERT_THUMBPRINT);
  assert_finding (seen, "CERT_DELIVERED", MTD_SEVERITY_INFO);
  assert_no_error (seen);
  g_assert_nonnull (strstr (seen->reason, client_cert.sha1_hex));
}

static void
test_mismatch_other_cert (void)
{
  g_autoptr (Run) run
      = run_chainer (NULL, caller_presents (&client_cert),
                     to_app (2, 200, "X-ARR-ClientCert", other_cert.base64, NULL), NULL);
  assert_chains (run, "1 2");
  const ChainSeen *seen = chain_at (run, 0);
  assert_verdict (seen, MTD_CHAIN_HEADER_MISMATCH, 0, 2, 1);
  const MtdFinding *finding = assert_finding (seen, "CERT_HEADER_MISMATCH", MTD_SEVERITY_ERROR);
  g_assert_true (has_evidence (finding, 0, 8));  /* the caller's certificate */
  g_assert_true (has_evidence (finding, 0, 15)); /* the header */
  g_assert_nonnull (strstr (seen->reason, other_cert.sha1_hex));
  g_assert_nonnull (strstr (seen->reason, client_cert.sha1_hex));
}

static void
test_mismatch_garbage (void)
{
  static const char garbage[] = "not a certificate, only some bytes";
  g_autofree char *value = g_base64_encode ((const guint8 *) garbage, sizeof garbage - 1);
  g_autoptr (Run) run = run_chainer (NULL, caller_presents (&client_cert),
                                     to_app (2, 200, "X-ARR-ClientCert", value, NULL), NULL);
  assert_chains (run, "1 2");
  const ChainSeen *seen = chain_at (run, 0);
  assert_verdict (seen, MTD_CHAIN_HEADER_MISMATCH, 0, 2, 1);
  assert_finding (seen, "CERT_HEADER_MISMATCH", MTD_SEVERITY_ERROR);
}

static void
test_dropped (void)
{
  g_autoptr (Run) run
      = run_chainer (NULL, caller_presents (&client_cert), to_app (2, 200, NULL), NULL);
  assert_chains (run, "1 2");
  const ChainSeen *seen = chain_at (run, 0);
  assert_verdict (seen, MTD_CHAIN_DROPPED_AT_HOP, 2, 0, 1);
  g_assert_false (seen->hops[1].has_cert_request);
  const MtdFinding *finding = assert_finding (seen, "CERT_DROPPED_AT_HOP", MTD_SEVERITY_ERROR);
  g_assert_true (has_evidence (finding, 0, 8));
  g_assert_true (has_evidence (finding, 0, 15));
  g_assert_null (find_finding (seen, "FORBIDDEN_WITHOUT_CERT"));
}

static void
test_dropped_forbidden (void)
{
  g_autoptr (Run) run
      = run_chainer (NULL, caller_presents (&client_cert), to_app (2, 403, NULL), NULL);
  assert_chains (run, "1 2");
  const ChainSeen *seen = chain_at (run, 0);
  assert_verdict (seen, MTD_CHAIN_DROPPED_AT_HOP, 2, 0, 1);
  assert_finding (seen, "CERT_DROPPED_AT_HOP", MTD_SEVERITY_ERROR);
  const MtdFinding *forbidden
      = assert_finding (seen, "FORBIDDEN_WITHOUT_CERT", MTD_SEVERITY_WARNING);
  g_assert_true (has_evidence (forbidden, 0, 28));
}

/* Hop 2 is a new TLS connection from the front end (127.0.0.3 -> 127.0.0.4) with an empty
 * certificate list; hop 3, in clear from there to the app, shows no header. */
static MtdConnection *
tls_second_hop (void)
{
  return tls_leg (connection_new (2, FRONT_END ":40000", MIDDLE ":443", 20, 180, 8, 38),
                  MTD_REQUESTED_YES, MTD_PRESENTED_EMPTY, NULL);
}

static void
test_dropped_behind_tls (void)
{
  MtdConnection *third
      = http_leg (connection_new (3, MIDDLE ":40100", APP ":8080", 40, 160, 20, 36), SNI,
                  "/api/orders", 200, NULL);
  g_autoptr (Run) run
      = run_chainer (NULL, caller_presents (&client_cert), tls_second_hop (), third, NULL);
  assert_chains (run, "1 2 3");
  const ChainSeen *seen = chain_at (run, 0);
  assert_verdict (seen, MTD_CHAIN_DROPPED_AT_HOP, 2, 0, 1);
  assert_finding (seen, "CERT_DROPPED_AT_HOP", MTD_SEVERITY_ERROR);
}

static void
test_unknown_behind_tls (void)
{
  g_autoptr (Run) run
      = run_chainer (NULL, caller_presents (&client_cert), tls_second_hop (), NULL);
  assert_chains (run, "1 2");
  const ChainSeen *seen = chain_at (run, 0);
  assert_verdict (seen, MTD_CHAIN_UNKNOWN, 0, 0, 1);
  assert_no_error (seen);
}

/* Hop 2 is TLS again and shows the caller's own certificate in its handshake, as when one
 * client's connections to one address are linked: the certificate is carried to the last hop,
 * and there is no hop after it to name (the verdict's sentence once read past the hops). */
static void
test_presented_on_every_hop (void)
{
  MtdConnection *second
      = tls_leg (connection_new (2, FRONT_END ":40000", MIDDLE ":443", 20, 180, 8, 38),
                 MTD_REQUESTED_YES, MTD_PRESENTED_YES, &client_cert);
  g_autoptr (Run) run = run_chainer (NULL, caller_presents (&client_cert), second, NULL);
  assert_chains (run, "1 2");
  const ChainSeen *seen = chain_at (run, 0);
  assert_verdict (seen, MTD_CHAIN_DELIVERED, 0, 0, 2);
  assert_no_error (seen);
}

static void
test_incomplete (void)
{
  g_autoptr (Run) run = run_chainer (NULL, caller_presents (&client_cert), NULL);
  assert_chains (run, "1");
  const ChainSeen *seen = chain_at (run, 0);
  assert_verdict (seen, MTD_CHAIN_UNKNOWN, 0, 0, 1);
  const MtdFinding *finding = assert_finding (seen, "CHAIN_INCOMPLETE", MTD_SEVERITY_INFO);
  g_assert_true (has_evidence (finding, 0, 8));
  assert_no_error (seen);
}

static void
test_not_requested (void)
{
  {
    g_autoptr (Run) run
        = run_chainer (NULL, caller_tls (MTD_REQUESTED_NO, MTD_PRESENTED_NO, NULL), NULL);
    assert_verdict (chain_at (run, 0), MTD_CHAIN_NOT_REQUESTED, 0, 0, 0);
  }
  {
    g_autoptr (Run) run = run_chainer (NULL, caller_tls (MTD_REQUESTED_NO, MTD_PRESENTED_NO, NULL),
                                       to_app (2, 200, NULL), NULL);
    assert_chains (run, "1 2");
    assert_verdict (chain_at (run, 0), MTD_CHAIN_NOT_REQUESTED, 0, 0, 0);
  }
  {
    /* Nobody presented a certificate, yet one arrives at the app. */
    g_autoptr (Run) run
        = run_chainer (NULL, caller_tls (MTD_REQUESTED_NO, MTD_PRESENTED_NO, NULL),
                       to_app (2, 200, "X-ARR-ClientCert", client_cert.base64, NULL), NULL);
    assert_chains (run, "1 2");
    assert_verdict (chain_at (run, 0), MTD_CHAIN_HEADER_MISMATCH, 0, 2, 0);
  }
}

static void
test_never_presented (void)
{
  static const MtdPresented answers[] = { MTD_PRESENTED_EMPTY, MTD_PRESENTED_NO };
  for (gsize i = 0; i < G_N_ELEMENTS (answers); i++) {
    g_test_message ("presented %s", mtd_presented_name (answers[i]));
    {
      g_autoptr (Run) run
          = run_chainer (NULL, caller_tls (MTD_REQUESTED_YES, answers[i], NULL), NULL);
      assert_verdict (chain_at (run, 0), MTD_CHAIN_NEVER_PRESENTED, 0, 0, 0);
    }
    {
      g_autoptr (Run) run = run_chainer (NULL, caller_tls (MTD_REQUESTED_YES, answers[i], NULL),
                                         to_app (2, 200, NULL), NULL);
      assert_chains (run, "1 2");
      assert_verdict (chain_at (run, 0), MTD_CHAIN_NEVER_PRESENTED, 0, 0, 0);
    }
    {
      g_autoptr (Run) run
          = run_chainer (NULL, caller_tls (MTD_REQUESTED_YES, answers[i], NULL),
                         to_app (2, 200, "X-ARR-ClientCert", client_cert.base64, NULL), NULL);
      assert_chains (run, "1 2");
      const ChainSeen *seen = chain_at (run, 0);
      assert_verdict (seen, MTD_CHAIN_HEADER_MISMATCH, 0, 2, 0);
      g_assert_true (mtd_diagnosis_has_problem (seen->diagnosis));
    }
  }
}

static void
test_plain_http (void)
{
  {
    g_autoptr (Run) run = run_chainer (NULL, caller_http (SNI, "/api/orders", NULL), NULL);
    assert_verdict (chain_at (run, 0), MTD_CHAIN_PLAIN_HTTP, 0, 0, 0);
  }
  {
    /* The front end marks what it forwards; the caller's own leg has no such mark. */
    g_autoptr (Run) run
        = run_chainer (NULL, caller_http (SNI, "/api/orders", NULL),
                       to_app (2, 200, "X-Forwarded-For", CALLER, NULL), NULL);
    assert_chains (run, "1 2");
    assert_verdict (chain_at (run, 0), MTD_CHAIN_PLAIN_HTTP, 0, 0, 0);
  }
  {
    /* A request id alone does not say a proxy sent the request. */
    g_autoptr (Run) run = run_chainer (
        NULL, caller_http (SNI, "/api/orders", "X-Request-ID", "req-20261201-083000-0042", NULL),
        NULL);
    assert_verdict (chain_at (run, 0), MTD_CHAIN_PLAIN_HTTP, 0, 0, 0);
  }
}

/* The caller writes its own certificate header over plain HTTP. */
static void
test_spoofable (void)
{
  g_autoptr (Run) run = run_chainer (
      NULL, caller_http (SNI, "/api/orders", "X-ARR-ClientCert", client_cert.base64, NULL),
      NULL);
  const ChainSeen *seen = chain_at (run, 0);
  assert_verdict (seen, MTD_CHAIN_HEADER_MISMATCH, 0, 1, 0);
  const MtdFinding *finding = assert_finding (seen, "CERT_HEADER_SPOOFABLE", MTD_SEVERITY_ERROR);
  g_assert_true (has_evidence (finding, 0, 4));
}

/* Only the app's capture: hop 1 is the front end's forwarded request. */
static void
test_missing_at_app (void)
{
  static const char *const headers[][2] = {
    { "X-Forwarded-For", "127.0.0.2:51000" },
    { "X-Forwarded-Host", SNI },
    { "X-Original-URL", "/api/orders" },
    { "X-ARR-LOG-ID", "6b9f2c1e-4d7a-4f3b-9e21-5c8d0a7b3f10" },
    { "x-arr-log-id", "6b9f2c1e-4d7a-4f3b-9e21-5c8d0a7b3f10" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (headers); i++) {
    g_test_message ("%s", headers[i][0]);
    g_autoptr (Run) run
        = run_chainer (NULL, to_app (1, 403, headers[i][0], headers[i][1], NULL), NULL);
    const ChainSeen *seen = chain_at (run, 0);
    assert_verdict (seen, MTD_CHAIN_UNKNOWN, 0, 0, 0);
    const MtdFinding *finding
        = assert_finding (seen, "CERT_HEADER_MISSING_AT_APP", MTD_SEVERITY_ERROR);
    g_assert_true (has_evidence (finding, 0, 15));
  }
}

static void
test_forwarded_with_header (void)
{
  g_autoptr (Run) run
      = run_chainer (NULL,
                     to_app (1, 200, "X-Forwarded-For", "127.0.0.2:51000", "X-ARR-ClientCert",
                             client_cert.base64, NULL),
                     NULL);
  const ChainSeen *seen = chain_at (run, 0);
  assert_verdict (seen, MTD_CHAIN_UNKNOWN, 0, 0, 1);
  g_assert_null (find_finding (seen, "CERT_HEADER_MISSING_AT_APP"));
  assert_no_error (seen);
}

/* Hop 1 captured on the front end (input 0), hop 2 on the app (input 1, its own frames). */
static void
test_evidence_two_inputs (void)
{
  struct {
    const char *header_value; /* NULL: no header */
    const char *code;
  } const cases[] = {
    { NULL, "CERT_DROPPED_AT_HOP" },
    { client_cert.base64, "CERT_DELIVERED" },
    { other_cert.base64, "CERT_HEADER_MISMATCH" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_test_message ("%s", cases[i].code);
    MtdConnection *at_app = in_input (
        http_leg (connection_new (2, FRONT_END ":40000", APP ":8080", 20, 150, 101, 130), SNI,
                  "/api/orders", 200, cases[i].header_value != NULL ? "X-ARR-ClientCert" : NULL,
                  cases[i].header_value, NULL),
        1);
    g_autoptr (Run) run = run_chainer (NULL, caller_presents (&client_cert), at_app, NULL);
    assert_chains (run, "1 2");
    const ChainSeen *seen = chain_at (run, 0);
    g_assert_cmpuint (seen->hops[0].input_index, ==, 0);
    g_assert_cmpuint (seen->hops[1].input_index, ==, 1);
    const MtdFinding *finding = find_finding (seen, cases[i].code);
    g_assert_nonnull (finding);
    g_assert_true (has_evidence (finding, 0, 8));   /* the caller's Certificate */
    g_assert_true (has_evidence (finding, 1, 104)); /* the request at the app */
    /* No frame of one input is named with the other's index. */
    g_assert_false (has_evidence (finding, 1, 8));
    g_assert_false (has_evidence (finding, 0, 104));
  }
}

static void
test_names (void)
{
  static const struct {
    MtdChainVerdict verdict;
    const char *name;
  } verdicts[] = {
    { MTD_CHAIN_UNKNOWN, "unknown" },
    { MTD_CHAIN_DELIVERED, "delivered" },
    { MTD_CHAIN_DROPPED_AT_HOP, "dropped_at_hop" },
    { MTD_CHAIN_NEVER_PRESENTED, "never_presented" },
    { MTD_CHAIN_NOT_REQUESTED, "not_requested" },
    { MTD_CHAIN_PLAIN_HTTP, "plain_http" },
    { MTD_CHAIN_HEADER_MISMATCH, "header_mismatch" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (verdicts); i++)
    g_assert_cmpstr (mtd_chain_verdict_name (verdicts[i].verdict), ==, verdicts[i].name);

  const char *names[10] = { NULL };
  guint all = MTD_MATCH_ADDRESS | MTD_MATCH_HOP_NAME | MTD_MATCH_TIME_WINDOW
              | MTD_MATCH_HOST_SNI | MTD_MATCH_X_FORWARDED_FOR | MTD_MATCH_X_FORWARDED_HOST
              | MTD_MATCH_X_ORIGINAL_URL | MTD_MATCH_REQUEST_ID | MTD_MATCH_CERT_THUMBPRINT
              | MTD_MATCH_ONLY_CANDIDATE;
  static const char *const expected[] = {
    "address",          "hop_name",       "time_window", "host_sni",        "x_forwarded_for",
    "x_forwarded_host", "x_original_url", "request_id",  "cert_thumbprint", "only_candidate",
  };
  g_assert_cmpuint (mtd_match_names (all, names), ==, G_N_ELEMENTS (expected));
  for (gsize i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_cmpstr (names[i], ==, expected[i]);
  g_assert_cmpuint (mtd_match_names (MTD_MATCH_ONLY_CANDIDATE | MTD_MATCH_ADDRESS, names), ==, 2);
  g_assert_cmpstr (names[0], ==, "address");
  g_assert_cmpstr (names[1], ==, "only_candidate");
  g_assert_cmpuint (mtd_match_names (0, names), ==, 0);
}

/* ---- Streaming (mtd_chainer_settle) ------------------------------------------------------------ */

typedef struct {
  const char *ip;    /* the one address with a connection still open, NULL for none */
  gboolean is_server;
  gint64 since_usec;
} OpenConnection;

static gint64
open_since (const char *ip, gboolean is_server, gpointer user_data)
{
  const OpenConnection *still_open = user_data;
  if (still_open->ip != NULL && strcmp (still_open->ip, ip) == 0
      && still_open->is_server == is_server)
    return still_open->since_usec;
  return G_MAXINT64;
}

static void
test_settle (void)
{
  MtdChainOptions options = options_default ();
  options.is_streaming = TRUE;
  {
    /* Nothing is open any more: the chain is handed over at once. */
    g_autoptr (Run) run = g_new0 (Run, 1);
    run->chains = g_ptr_array_new_with_free_func ((GDestroyNotify) chain_seen_free);
    g_autoptr (MtdChainer) chainer = mtd_chainer_new (&options, collect_chain, run);
    g_autoptr (MtdConnection) caller = caller_presents (&client_cert);
    g_autoptr (MtdConnection) forwarded
        = to_app (2, 200, "X-ARR-ClientCert", client_cert.base64, NULL);
    mtd_chainer_add_connection (chainer, caller, NULL);
    mtd_chainer_add_connection (chainer, forwarded, NULL);
    OpenConnection none = { NULL, FALSE, 0 };
    mtd_chainer_settle (chainer, open_since, &none);
    assert_chains (run, "1 2");
    g_assert_cmpuint (mtd_chainer_n_held (chainer), ==, 0);
    g_assert_cmpuint (mtd_chainer_peak_held (chainer), ==, 2);
    mtd_chainer_finish (chainer);
    g_assert_cmpuint (run->chains->len, ==, 1);
  }
  {
    /* The app opened a connection onward before hop 2 ended: it may be hop 3. */
    g_autoptr (Run) run = g_new0 (Run, 1);
    run->chains = g_ptr_array_new_with_free_func ((GDestroyNotify) chain_seen_free);
    g_autoptr (MtdChainer) chainer = mtd_chainer_new (&options, collect_chain, run);
    g_autoptr (MtdConnection) caller = caller_presents (&client_cert);
    g_autoptr (MtdConnection) forwarded
        = to_app (2, 200, "X-ARR-ClientCert", client_cert.base64, NULL);
    mtd_chainer_add_connection (chainer, caller, NULL);
    mtd_chainer_add_connection (chainer, forwarded, NULL);
    OpenConnection onward = { APP, FALSE, T0 + MS (100) };
    mtd_chainer_settle (chainer, open_since, &onward);
    g_assert_cmpuint (run->chains->len, ==, 0);
    g_assert_cmpuint (mtd_chainer_n_held (chainer), ==, 2);
    mtd_chainer_finish (chainer);
    assert_chains (run, "1 2");
    assert_verdict (chain_at (run, 0), MTD_CHAIN_DELIVERED, 0, 0, 2);
  }
}

/* One connection that stays open on an address every leg uses, as on loopback where client and
 * server are both 127.0.0.1: roles unknown (its SYN was not seen), so it counts as a client and
 * as a server there. */
typedef struct {
  const char *ip;
  gint64 since_usec;
  gboolean is_open;
} LongLived;

static gint64
long_lived_since (const char *ip, gboolean is_server, gpointer user_data)
{
  const LongLived *long_lived = user_data;
  (void) is_server;
  if (long_lived->is_open && strcmp (long_lived->ip, ip) == 0)
    return long_lived->since_usec;
  return G_MAXINT64;
}

#define LOOPBACK "127.0.0.1"

/* Connection i of a steady stream on loopback: one GET, started i seconds after T0, 100 ms long,
 * 10 frames each. */
static MtdConnection *
loopback_leg (guint i)
{
  g_autofree char *client = g_strdup_printf (LOOPBACK ":%u", 20000 + i % 40000);
  MtdConnection *connection = connection_new (i + 1, client, LOOPBACK ":8080", (gint) i * 1000,
                                              (gint) i * 1000 + 100, (guint64) i * 10 + 1,
                                              (guint64) i * 10 + 10);
  return http_leg (connection, "app.example", "/", 200, NULL);
}

/* A steady stream of connections on one address while one connection stays open there from
 * before the first to after the last: each leg is held only for the hold window (60 s by
 * default), not for the whole capture (the defect: every leg was held to the end, memory grew
 * with the capture, on loopback in live mode for hours). */
static void
test_settle_shared_address (void)
{
  const guint n_legs = 2000;
  MtdChainOptions options = options_default ();
  options.is_streaming = TRUE;
  g_autoptr (Run) run = g_new0 (Run, 1);
  run->chains = g_ptr_array_new_with_free_func ((GDestroyNotify) chain_seen_free);
  g_autoptr (MtdChainer) chainer = mtd_chainer_new (&options, collect_chain, run);
  LongLived long_lived = { LOOPBACK, T0 - MS (1000), TRUE };
  guint max_held = 0;
  for (guint i = 0; i < n_legs; i++) {
    g_autoptr (MtdConnection) connection = loopback_leg (i);
    mtd_chainer_add_connection (chainer, connection, NULL);
    max_held = MAX (max_held, mtd_chainer_n_held (chainer));
    mtd_chainer_settle (chainer, long_lived_since, &long_lived);
  }
  /* The legs of the last 60 s (one a second), and half as many again: settling waits until
   * the legs held have grown by half (settle_min_growth). */
  const guint n_in_window = 61;
  g_assert_cmpuint (max_held, >=, n_in_window);
  g_assert_cmpuint (max_held, <=, n_in_window + n_in_window / 2 + 1);
  g_assert_cmpuint (mtd_chainer_peak_held (chainer), ==, max_held);
  g_assert_cmpuint (mtd_chainer_n_dropped (chainer), ==, 0);
  g_assert_cmpuint (mtd_chainer_n_released (chainer) + mtd_chainer_n_held (chainer), ==, n_legs);
  mtd_chainer_finish (chainer);
  g_assert_cmpuint (run->chains->len, ==, n_legs);
  for (guint i = 0; i < run->chains->len; i++)
    g_assert_cmpuint (chain_at (run, i)->n_hops, ==, 1);
}

/* The cap: a chainer full of legs that cannot settle yet drops new ones, counted, and keeps
 * trying, so that it takes legs again once the connection that held them ended (the defect: it
 * waited for legs to grow past the cap, which they never do, and chained nothing more). */
static void
test_settle_full (void)
{
  MtdChainOptions options = options_default ();
  options.is_streaming = TRUE;
  options.max_legs = 50;
  g_autoptr (Run) run = g_new0 (Run, 1);
  run->chains = g_ptr_array_new_with_free_func ((GDestroyNotify) chain_seen_free);
  g_autoptr (MtdChainer) chainer = mtd_chainer_new (&options, collect_chain, run);
  LongLived long_lived = { LOOPBACK, T0 - MS (1000), TRUE };
  for (guint i = 0; i < 200; i++) {
    long_lived.is_open = i < 55;
    g_autoptr (MtdConnection) connection = loopback_leg (i);
    mtd_chainer_add_connection (chainer, connection, NULL);
    mtd_chainer_settle (chainer, long_lived_since, &long_lived);
    g_assert_cmpuint (mtd_chainer_n_held (chainer), <=, 50);
  }
  /* Dropped: from the 51st connection until the chainer tried again after the connection
   * ended, at most one settling period (half the cap) later. */
  g_assert_cmpuint (mtd_chainer_n_dropped (chainer), >=, 5);
  g_assert_cmpuint (mtd_chainer_n_dropped (chainer), <=, 5 + 25);
  mtd_chainer_finish (chainer);
  g_assert_cmpuint (run->chains->len, ==, 200 - mtd_chainer_n_dropped (chainer));
}

/* The hold window on loopback: the caller's connection to the front end (1: 127.0.0.1:45000 ->
 * :443, presenting the certificate) is still open when the front end's forwarded request (2:
 * :40000 -> :8080, in X-ARR-ClientCert) ends.  The caller's connection ends `caller_end_ms`
 * after T0; before that, an unrelated one between two other hosts (3) ends at other_end_ms,
 * moving the chainer's clock on.  Returns the chains as "1 2 | ...". */
static char *
run_hold (gint64 hold_usec, gint other_end_ms, gint caller_end_ms, guint64 *n_released)
{
  MtdChainOptions options = options_default ();
  options.is_streaming = TRUE;
  options.hold_usec = hold_usec;
  g_autoptr (Run) run = g_new0 (Run, 1);
  run->chains = g_ptr_array_new_with_free_func ((GDestroyNotify) chain_seen_free);
  g_autoptr (MtdChainer) chainer = mtd_chainer_new (&options, collect_chain, run);
  LongLived caller_open = { LOOPBACK, T0, TRUE };
  g_autoptr (MtdConnection) caller
      = tls_leg (connection_new (1, LOOPBACK ":45000", LOOPBACK ":443", 0, caller_end_ms, 1,
                                 40),
                 MTD_REQUESTED_YES, MTD_PRESENTED_YES, &client_cert);
  g_autoptr (MtdConnection) forwarded
      = connection_new (2, LOOPBACK ":40000", LOOPBACK ":8080", 20, 150, 12, 30);
  forwarded->app_protocol = MTD_APP_HTTP;
  http_leg (forwarded, SNI, "/api/orders", 200, "X-ARR-ClientCert", client_cert.base64, NULL);
  g_autoptr (MtdConnection) unrelated = http_leg (
      connection_new (3, "127.0.0.9:41000", "127.0.0.8:80", other_end_ms - 1000, other_end_ms,
                      31, 38),
      "other.example", "/", 200, NULL);
  mtd_chainer_add_connection (chainer, forwarded, NULL);
  mtd_chainer_settle (chainer, long_lived_since, &caller_open);
  mtd_chainer_add_connection (chainer, unrelated, NULL);
  mtd_chainer_settle (chainer, long_lived_since, &caller_open);
  caller_open.is_open = FALSE;
  mtd_chainer_add_connection (chainer, caller, NULL);
  mtd_chainer_settle (chainer, long_lived_since, &caller_open);
  mtd_chainer_finish (chainer);
  *n_released = mtd_chainer_n_released (chainer);
  g_autoptr (GString) all = g_string_new (NULL);
  for (guint i = 0; i < run->chains->len; i++) {
    g_autofree char *ids = hop_ids (chain_at (run, i));
    g_string_append_printf (all, "%s%s", i > 0 ? " | " : "", ids);
  }
  return g_strdup (all->str);
}

static void
test_settle_hold (void)
{
  guint64 n_released = 0;
  /* The caller's connection ends within the hold window (60 s) of the forwarded one: linked. */
  g_autofree char *within = run_hold (60 * G_USEC_PER_SEC, 25000, 30000, &n_released);
  g_assert_cmpstr (within, ==, "3 | 1 2");
  g_assert_cmpuint (n_released, ==, 0);
  /* Still open 60 s after the forwarded one ended: that one is handed over alone, counted. */
  g_autofree char *past = run_hold (60 * G_USEC_PER_SEC, 70000, 90000, &n_released);
  g_assert_cmpstr (past, ==, "2 | 3 | 1");
  g_assert_cmpuint (n_released, ==, 1);
  /* hold_usec 0: a leg waits as long as such a connection is open. */
  g_autofree char *unbounded = run_hold (0, 70000, 90000, &n_released);
  g_assert_cmpstr (unbounded, ==, "3 | 1 2");
  g_assert_cmpuint (n_released, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  test_cert_load (&client_cert, "client.pem");
  test_cert_load (&other_cert, "other-client.pem");
  g_assert_cmpstr (client_cert.sha1_hex, !=, other_cert.sha1_hex);

  g_test_add_func ("/chain/ignored", test_ignored);
  g_test_add_func ("/chain/duplicates", test_duplicates);
  g_test_add_func ("/chain/max-legs", test_max_legs);
  g_test_add_func ("/chain/link/only-candidate", test_only_candidate);
  g_test_add_func ("/chain/link/ambiguous", test_ambiguous);
  g_test_add_func ("/chain/link/address", test_address);
  g_test_add_func ("/chain/link/hop-name", test_hop_name);
  g_test_add_func ("/chain/link/not-same-server-nor-back", test_not_same_server_nor_back);
  g_test_add_func ("/chain/link/time-window", test_time_window);
  g_test_add_func ("/chain/link/time-window-after-end", test_time_window_after_end);
  g_test_add_func ("/chain/link/time-window-early-only-candidate",
                   test_time_window_early_only_candidate);
  g_test_add_func ("/chain/link/most-content", test_most_content);
  g_test_add_func ("/chain/match/host-sni", test_match_host_sni);
  g_test_add_func ("/chain/match/x-forwarded-for", test_match_x_forwarded_for);
  g_test_add_func ("/chain/match/x-forwarded-host", test_match_x_forwarded_host);
  g_test_add_func ("/chain/match/x-original-url", test_match_x_original_url);
  g_test_add_func ("/chain/match/request-id", test_match_request_id);
  g_test_add_func ("/chain/match/request-id-among-others", test_match_request_id_among_others);
  g_test_add_func ("/chain/match/cert-thumbprint", test_match_cert_thumbprint);
  g_test_add_func ("/chain/paths-and-ids", test_paths_and_ids);
  g_test_add_func ("/chain/delivered", test_delivered);
  g_test_add_func ("/chain/header-mismatch/other-cert", test_mismatch_other_cert);
  g_test_add_func ("/chain/header-mismatch/garbage", test_mismatch_garbage);
  g_test_add_func ("/chain/dropped", test_dropped);
  g_test_add_func ("/chain/dropped-forbidden", test_dropped_forbidden);
  g_test_add_func ("/chain/dropped-behind-tls", test_dropped_behind_tls);
  g_test_add_func ("/chain/unknown-behind-tls", test_unknown_behind_tls);
  g_test_add_func ("/chain/presented-on-every-hop", test_presented_on_every_hop);
  g_test_add_func ("/chain/incomplete", test_incomplete);
  g_test_add_func ("/chain/not-requested", test_not_requested);
  g_test_add_func ("/chain/never-presented", test_never_presented);
  g_test_add_func ("/chain/plain-http", test_plain_http);
  g_test_add_func ("/chain/spoofable", test_spoofable);
  g_test_add_func ("/chain/missing-at-app", test_missing_at_app);
  g_test_add_func ("/chain/forwarded-with-header", test_forwarded_with_header);
  g_test_add_func ("/chain/evidence-two-inputs", test_evidence_two_inputs);
  g_test_add_func ("/chain/names", test_names);
  g_test_add_func ("/chain/settle", test_settle);
  g_test_add_func ("/chain/settle/shared-address", test_settle_shared_address);
  g_test_add_func ("/chain/settle/full", test_settle_full);
  g_test_add_func ("/chain/settle/hold", test_settle_hold);

  int status = g_test_run ();
  test_cert_clear (&client_cert);
  test_cert_clear (&other_cert);
  return status;
}
