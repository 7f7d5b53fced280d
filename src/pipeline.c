/* pipeline.c: from packets to finished connections (see mtd-pipeline.h).
 *
 * Each flow gets a small analysis state: its nDPI state (freed once nDPI has decided), and
 * the TLS or HTTP parser chosen from the first bytes each side sends.  TLS that starts inside a
 * plaintext session (STARTTLS, RFC 3207 for SMTP, RFC 2595 for IMAP and POP3, RFC 6120 §5 for
 * XMPP, RFC 4217 for FTP) is found because the TLS parser waits for a record header at the start
 * of a segment while the plaintext goes by.
 */
#include "mtd-pipeline.h"

#include <arpa/inet.h>
#include <string.h>

#include "mtd-certheader.h"
#include "mtd-classify.h"
#include "mtd-cursor.h"
#include "mtd-decode.h"
#include "mtd-http.h"
#include "mtd-x509.h"

/* Request fields that tie one leg of an ingress chain to the next (issue 3). */
static const char *const correlation_headers[] = {
  "X-Forwarded-For", "X-Forwarded-Host", "X-Original-URL", "X-ARR-LOG-ID", "X-Request-ID",
  "traceparent",
};

/* UDP port of QUIC, which is counted, not analysed. */
#define QUIC_PORT 443

typedef enum {
  APP_UNDECIDED,
  APP_TLS_OR_PLAINTEXT, /* TLS, or a plaintext protocol that may turn to TLS */
  APP_HTTP,
} AppMode;

/* Lives as long as its flow: flags are one-bit fields, and the parsers count their anomalies
 * in the flow's own counts. */
typedef struct {
  guint has_plaintext_before_tls : 1;
  guint has_irc_prefix : 1;      /* a plaintext line started with ':' (an IRC message prefix) */
  guint is_handshake_reported : 1;
  guint8 mode;                   /* AppMode */
  gint8 http_client_side;
  guint input_index;
  guint64 id;
  MtdClassifyFlow classify;
  MtdAnomalyCounts *anomalies;   /* borrowed: the flow's, where the parsers count theirs */
  MtdTls *tls;                   /* owned, created on first need */
  MtdHttp *http;                 /* owned, created on first need */
  const char *starttls_protocol; /* static */
  MtdPipeline *pipeline;         /* borrowed: for the plaintext sink */
  gpointer caller_data;          /* the caller's (on_flow_start), handed back at on_flow_end */
} FlowState;

struct _MtdPipeline {
  MtdPipelineOptions options;
  const MtdPipelineCallbacks *callbacks; /* borrowed */
  gpointer user_data;                    /* borrowed */
  MtdClassifier *classifier;
  MtdCertCache *cert_cache;
  MtdFlowTable *flows;
  MtdFlowCallbacks flow_callbacks;
  MtdSummary summary;
  guint64 next_connection_id;
  guint input_index;
  MtdInputInfo *input;                   /* borrowed, the current input */
  GPtrArray *kept_header_names;          /* char* (borrowed or owned below), NULL-terminated */
  gboolean has_warned_link_type;
  gboolean is_input_truncated;
};

void
mtd_pipeline_options_init_default (MtdPipelineOptions *options)
{
  mtd_flow_limits_init_default (&options->flow_limits);
  mtd_tls_limits_init_default (&options->tls_limits);
  options->max_http_exchanges = 256;
  options->max_cached_certs = 4096;
  options->extra_cert_headers = NULL;
  options->keylog = NULL;
}

/* ---- Flow callbacks ------------------------------------------------------------------------ */

static gpointer
on_flow_start (MtdFlow *flow, gpointer user_data)
{
  MtdPipeline *pipeline = user_data;
  FlowState *state = g_new0 (FlowState, 1);
  state->id = ++pipeline->next_connection_id;
  state->input_index = pipeline->input_index;
  state->http_client_side = -1;
  state->anomalies = mtd_flow_anomalies (flow);
  mtd_classify_flow_init (&state->classify);
  if (pipeline->callbacks->on_flow_start != NULL)
    state->caller_data = pipeline->callbacks->on_flow_start (state->id, pipeline->user_data);
  return state;
}

static void
on_flow_packet (MtdFlow *flow, gpointer state_pointer, guint side,
                const MtdDecodedPacket *decoded, const MtdPacket *packet, gpointer user_data)
{
  MtdPipeline *pipeline = user_data;
  FlowState *state = state_pointer;
  if (pipeline->callbacks->on_flow_packet != NULL)
    pipeline->callbacks->on_flow_packet (state->caller_data, packet, pipeline->user_data);
  if (!state->classify.is_done)
    mtd_classify_packet (pipeline->classifier, &state->classify, decoded->l3, decoded->l3_len,
                         packet->ts_usec);
}

static gboolean
contains_word (const guint8 *data, gsize len, const char *word)
{
  gsize word_len = strlen (word);
  /* Plaintext command lines are short; look only at the start of the segment. */
  gsize scan_len = MIN (len, 96);
  for (gsize i = 0; i + word_len <= scan_len; i++)
    if (g_ascii_strncasecmp ((const char *) data + i, word, word_len) == 0)
      return TRUE;
  return FALSE;
}

/* Names the plaintext protocol from the client's command that asked for TLS.  SMTP and IRC
 * (IRCv3 tls extension) both say "STARTTLS"; feed_tls tells them apart by IRC's ':' prefix. */
static const char *
starttls_command (const guint8 *data, gsize len)
{
  if (contains_word (data, len, "<starttls"))
    return "xmpp";
  if (contains_word (data, len, "AUTH TLS") || contains_word (data, len, "AUTH SSL"))
    return "ftp";
  if (len >= 4 && g_ascii_strncasecmp ((const char *) data, "STLS", 4) == 0)
    return "pop3";
  if (len >= 8 && g_ascii_strncasecmp ((const char *) data, "STARTTLS", 8) == 0)
    return "smtp";
  if (contains_word (data, len, " STARTTLS"))
    return "imap"; /* IMAP commands start with a tag: "a001 STARTTLS" */
  return NULL;
}

static MtdHttp *
new_http (MtdPipeline *pipeline, FlowState *state)
{
  MtdHttp *http = mtd_http_new (state->anomalies, pipeline->options.max_http_exchanges);
  mtd_http_keep_headers (http, (const char *const *) pipeline->kept_header_names->pdata);
  return http;
}

/* Decrypted application data: HTTP/1.x inside TLS goes to the same parser as HTTP in clear. */
static void
on_tls_plaintext (guint side, const guint8 *data, gsize len, guint64 frame, gpointer user_data)
{
  FlowState *state = user_data;
  gint client_side = mtd_tls_client_side (state->tls);
  if (client_side < 0)
    return;
  if (state->http == NULL) {
    /* Only HTTP is parsed: a client that starts with an HTTP/1.x request or the HTTP/2 preface,
     * or a server whose HTTP/2 SETTINGS come before the client's preface (RFC 9113 §3.4). */
    if (!mtd_http_looks_like_start (data, len, (gint) side == client_side))
      return;
    state->http = new_http (state->pipeline, state);
    state->http_client_side = client_side;
  }
  mtd_http_feed (state->http, (gint) side == client_side, data, len, frame);
}

static MtdTls *
ensure_tls (MtdPipeline *pipeline, MtdFlow *flow, FlowState *state)
{
  if (state->tls == NULL) {
    state->tls = mtd_tls_new (&pipeline->options.tls_limits, pipeline->cert_cache,
                              state->anomalies);
    mtd_tls_set_midstream (state->tls, mtd_flow_info (flow)->syn_client_side < 0);
    if (pipeline->options.keylog != NULL) {
      state->pipeline = pipeline;
      mtd_tls_set_keylog (state->tls, pipeline->options.keylog);
      mtd_tls_set_plaintext_sink (state->tls, on_tls_plaintext, state);
    }
  }
  return state->tls;
}

static MtdConnection *build_connection (MtdPipeline *pipeline, MtdFlow *flow, FlowState *state,
                                        const char *end_reason);

static void
feed_tls (MtdPipeline *pipeline, MtdFlow *flow, FlowState *state, guint side, const guint8 *data,
          gsize len, const MtdPacket *packet)
{
  MtdTls *tls = ensure_tls (pipeline, flow, state);
  gboolean had_tls = mtd_tls_has_seen_tls (tls);
  mtd_tls_feed (tls, side, data, len, packet->frame_number, packet->ts_usec);
  if (!mtd_tls_has_seen_tls (tls)) {
    state->has_plaintext_before_tls = TRUE;
    MtdCursor cursor = mtd_cursor_init (data, len);
    guint8 first = 0;
    if (mtd_cursor_read_u8 (&cursor, &first) && first == ':')
      state->has_irc_prefix = TRUE;
    const char *command = starttls_command (data, len);
    if (command != NULL)
      state->starttls_protocol = command;
    return;
  }
  if (!had_tls && state->has_plaintext_before_tls && state->starttls_protocol == NULL)
    state->starttls_protocol = "unknown";
  /* The IRC server's ':'-prefixed answer comes after the client's STARTTLS. */
  if (!had_tls && state->has_irc_prefix && g_strcmp0 (state->starttls_protocol, "smtp") == 0)
    state->starttls_protocol = "irc";
  /* A side whose records are being decrypted still needs its bytes. */
  if (mtd_tls_is_side_quiet (tls, side) && !mtd_tls_is_decrypting (tls, side))
    mtd_flow_set_side_buffering (flow, side, FALSE);
  if (!state->is_handshake_reported && mtd_tls_is_handshake_over (tls)) {
    state->is_handshake_reported = TRUE;
    if (pipeline->callbacks->on_handshake != NULL) {
      g_autoptr (MtdConnection) snapshot = build_connection (pipeline, flow, state, NULL);
      pipeline->callbacks->on_handshake (snapshot, pipeline->user_data);
    }
  }
}

static void
on_flow_data (MtdFlow *flow, gpointer state_pointer, guint side, const guint8 *data, gsize len,
              const MtdPacket *packet, gpointer user_data)
{
  MtdPipeline *pipeline = user_data;
  FlowState *state = state_pointer;
  if (state->mode == APP_UNDECIDED) {
    /* HTTP/1.x, or HTTP/2 in clear with prior knowledge (RFC 9113 §3.3): the client speaks
     * first. */
    if (mtd_http_looks_like_start (data, len, TRUE)) {
      state->mode = APP_HTTP;
      state->http_client_side = (gint) side;
      state->http = new_http (pipeline, state);
    } else {
      state->mode = APP_TLS_OR_PLAINTEXT;
    }
  }
  if (state->mode == APP_HTTP) {
    mtd_http_feed (state->http, (gint) side == state->http_client_side, data, len,
                   packet->frame_number);
    return;
  }
  feed_tls (pipeline, flow, state, side, data, len, packet);
}

static void
on_flow_gap (MtdFlow *flow, gpointer state_pointer, guint side, gsize len, gpointer user_data)
{
  FlowState *state = state_pointer;
  if (state->tls != NULL)
    mtd_tls_gap (state->tls, side, len);
  if (state->http != NULL)
    mtd_http_gap (state->http, (gint) side == state->http_client_side);
}

/* ---- Finished connections ------------------------------------------------------------------ */

/* Who is the client: the SYN says; else the hello messages; else the HTTP request; else a guess
 * that the lower (well-known) port is the server's. */
static guint
choose_client_side (const MtdFlowInfo *info, const FlowState *state, gboolean *is_guessed)
{
  *is_guessed = FALSE;
  if (info->syn_client_side >= 0)
    return (guint) info->syn_client_side;
  if (state->tls != NULL && mtd_tls_client_side (state->tls) >= 0)
    return (guint) mtd_tls_client_side (state->tls);
  if (state->http_client_side >= 0)
    return (guint) state->http_client_side;
  *is_guessed = TRUE;
  return info->port[0] < info->port[1] ? 1 : 0;
}

static void
fill_endpoint (MtdEndpoint *endpoint, const MtdFlowInfo *info, guint side)
{
  mtd_decode_format_address (info->ip_version, info->addr[side], endpoint->ip,
                             sizeof endpoint->ip);
  endpoint->port = info->port[side];
}

/* Decodes the client-certificate forwarding headers of each request. */
static void
decode_cert_headers (MtdPipeline *pipeline, MtdConnection *connection)
{
  for (guint i = 0; i < connection->http->len; i++) {
    const MtdHttpExchange *exchange = g_ptr_array_index (connection->http, i);
    for (guint j = 0; exchange->request_headers != NULL && j < exchange->request_headers->len;
         j++) {
      const MtdHttpHeader *field = g_ptr_array_index (exchange->request_headers, j);
      if (!mtd_certheader_is_cert_header (field->name, pipeline->options.extra_cert_headers))
        continue;
      if (connection->cert_headers == NULL)
        connection->cert_headers
            = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_conn_cert_header_free);
      MtdConnCertHeader *cert_header = g_new0 (MtdConnCertHeader, 1);
      cert_header->exchange_index = i;
      cert_header->frame = exchange->request_frame;
      cert_header->header = mtd_certheader_decode (field->name, (const guint8 *) field->value,
                                                   strlen (field->value), pipeline->cert_cache);
      g_ptr_array_add (connection->cert_headers, cert_header);
    }
  }
}

/* The request that made the server ask for a certificate after the handshake is the last one
 * that arrived before it asked: servers decide from the request path (App Service exclusion
 * paths, Apache's per-directory SSLVerifyClient). */
static void
link_late_auths (MtdConnection *connection)
{
  GArray *late_auths = connection->tls->late_auths;
  for (guint i = 0; late_auths != NULL && i < late_auths->len; i++) {
    MtdLateAuth *late = &g_array_index (late_auths, MtdLateAuth, i);
    late->trigger_exchange = -1;
    for (guint j = 0; j < connection->http->len; j++) {
      const MtdHttpExchange *exchange = g_ptr_array_index (connection->http, j);
      if (exchange->request_frame != 0 && exchange->request_frame <= late->frame)
        late->trigger_exchange = (gint) j;
    }
  }
}

static MtdConnection *
build_connection (MtdPipeline *pipeline, MtdFlow *flow, FlowState *state, const char *end_reason)
{
  const MtdFlowInfo *info = mtd_flow_info (flow);
  MtdConnection *connection = mtd_connection_new ();
  connection->id = state->id;
  connection->input_index = state->input_index;
  guint client = choose_client_side (info, state, &connection->is_role_guessed);
  fill_endpoint (&connection->client, info, client);
  fill_endpoint (&connection->server, info, 1 - client);
  connection->first_frame = info->first_frame;
  connection->last_frame = info->last_frame;
  connection->start_usec = info->first_usec;
  connection->end_usec = info->last_usec;
  connection->n_packets = info->n_packets;
  connection->n_payload_bytes[0] = info->n_payload_bytes[client];
  connection->n_payload_bytes[1] = info->n_payload_bytes[1 - client];
  connection->end_reason = end_reason;
  connection->is_incomplete = info->is_incomplete;
  connection->anomalies = info->anomalies; /* the flow's and its parsers' */
  if (info->anomalies.counts[MTD_ANOMALY_TLS_LOST_SYNC] > 0)
    connection->is_incomplete = TRUE;
  connection->ndpi_protocol = g_strdup (state->classify.protocol_name);
  connection->ja3_client = mtd_classify_flow_ja3 (&state->classify);

  if (state->tls != NULL && mtd_tls_has_seen_tls (state->tls)) {
    connection->app_protocol = MTD_APP_TLS;
    connection->tls = mtd_tls_conclude (state->tls, client);
    /* HTTP read inside TLS with a key log. */
    if (state->http != NULL && end_reason != NULL) {
      connection->http = mtd_http_steal_exchanges (state->http);
      decode_cert_headers (pipeline, connection);
      connection->n_http_dropped = mtd_http_n_dropped (state->http);
      link_late_auths (connection);
    }
    if (state->starttls_protocol != NULL) {
      connection->has_starttls = TRUE;
      connection->starttls_protocol = g_strdup (state->starttls_protocol);
    }
  } else if (state->http != NULL) {
    connection->app_protocol = MTD_APP_HTTP;
    /* Only the final connection takes the exchanges; a live snapshot is about the handshake. */
    if (end_reason != NULL) {
      connection->http = mtd_http_steal_exchanges (state->http);
      decode_cert_headers (pipeline, connection);
    }
    connection->is_h2_prior_knowledge = mtd_http_is_h2_prior_knowledge (state->http);
    connection->n_http_dropped = mtd_http_n_dropped (state->http);
  } else {
    connection->app_protocol = MTD_APP_OTHER;
  }
  if (connection->is_role_guessed)
    mtd_connection_warn (connection, "no SYN and no hello message: the client is guessed to be "
                                     "the side with the higher port");
  if (info->anomalies.counts[MTD_ANOMALY_SNAPLEN_TRUNCATED] > 0)
    mtd_connection_warn (connection, "%u packets were cut short by the capture's snaplen, so "
                                     "handshake messages are missing: capture again with a "
                                     "larger snaplen (tcpdump -s 0)",
                         info->anomalies.counts[MTD_ANOMALY_SNAPLEN_TRUNCATED]);
  if (info->anomalies.counts[MTD_ANOMALY_MIDSTREAM_START] > 0)
    mtd_connection_warn (connection, "the capture starts inside this connection (no SYN): its "
                                     "beginning is missing");
  return connection;
}

static void
on_flow_end (MtdFlow *flow, gpointer state_pointer, MtdFlowEndReason reason, gpointer user_data)
{
  MtdPipeline *pipeline = user_data;
  FlowState *state = state_pointer;
  mtd_classify_finish (pipeline->classifier, &state->classify);
  if (state->http != NULL)
    mtd_http_end (state->http);
  MtdConnection *connection = build_connection (pipeline, flow, state,
                                                mtd_flow_end_reason_name (reason));
  if (reason == MTD_FLOW_END_CAPTURE_END && pipeline->is_input_truncated) {
    connection->is_incomplete = TRUE;
    mtd_connection_warn (connection, "the capture file ends in the middle of a packet while this "
                                     "connection was open: its last bytes are missing");
  }
  mtd_classify_flow_clear (&state->classify);
  mtd_tls_free (state->tls);
  mtd_http_free (state->http);
  guint64 id = state->id;
  gpointer caller_data = state->caller_data;
  g_free (state);
  pipeline->callbacks->on_connection (connection, pipeline->user_data);
  if (pipeline->callbacks->on_flow_end != NULL)
    pipeline->callbacks->on_flow_end (caller_data, id, pipeline->user_data);
}

/* ---- Pipeline ------------------------------------------------------------------------------ */

MtdPipeline *
mtd_pipeline_new (const MtdPipelineOptions *options, const MtdPipelineCallbacks *callbacks,
                  gpointer user_data, GError **error)
{
  g_autoptr (MtdClassifier) classifier = mtd_classifier_new (error);
  if (classifier == NULL)
    return NULL;
  MtdPipeline *pipeline = g_new0 (MtdPipeline, 1);
  pipeline->options = *options;
  pipeline->callbacks = callbacks;
  pipeline->user_data = user_data;
  pipeline->classifier = g_steal_pointer (&classifier);
  pipeline->cert_cache = mtd_cert_cache_new (options->max_cached_certs);
  /* The names the HTTP parser keeps: forwarding headers, correlation headers, --cert-header. */
  pipeline->kept_header_names = g_ptr_array_new ();
  for (const char *const *name = mtd_certheader_known_names (); *name != NULL; name++)
    g_ptr_array_add (pipeline->kept_header_names, (gpointer) *name);
  for (const char *const *name = options->extra_cert_headers; name != NULL && *name != NULL;
       name++)
    g_ptr_array_add (pipeline->kept_header_names, (gpointer) *name);
  for (gsize i = 0; i < G_N_ELEMENTS (correlation_headers); i++)
    g_ptr_array_add (pipeline->kept_header_names, (gpointer) correlation_headers[i]);
  g_ptr_array_add (pipeline->kept_header_names, NULL);
  pipeline->flow_callbacks.on_start = on_flow_start;
  pipeline->flow_callbacks.on_packet = on_flow_packet;
  pipeline->flow_callbacks.on_data = on_flow_data;
  pipeline->flow_callbacks.on_gap = on_flow_gap;
  pipeline->flow_callbacks.on_end = on_flow_end;
  pipeline->flows = mtd_flow_table_new (&options->flow_limits, &pipeline->flow_callbacks,
                                        pipeline);
  return pipeline;
}

void
mtd_pipeline_free (MtdPipeline *pipeline)
{
  if (pipeline == NULL)
    return;
  mtd_flow_table_free (pipeline->flows);
  g_ptr_array_unref (pipeline->kept_header_names);
  mtd_cert_cache_free (pipeline->cert_cache);
  mtd_classifier_free (pipeline->classifier);
  g_free (pipeline);
}

void
mtd_pipeline_begin_input (MtdPipeline *pipeline, guint input_index, MtdInputInfo *info)
{
  pipeline->input_index = input_index;
  pipeline->input = info;
  pipeline->has_warned_link_type = FALSE;
  pipeline->is_input_truncated = FALSE;
}

void
mtd_pipeline_mark_input_truncated (MtdPipeline *pipeline)
{
  pipeline->is_input_truncated = TRUE;
}

void
mtd_pipeline_add_packet (MtdPipeline *pipeline, const MtdPacket *packet)
{
  MtdSummary *summary = &pipeline->summary;
  summary->n_packets++;
  summary->n_bytes += packet->wire_len;
  if (pipeline->input != NULL) {
    MtdInputInfo *input = pipeline->input;
    if (input->n_packets == 0)
      input->first_usec = packet->ts_usec;
    input->n_packets++;
    input->last_usec = packet->ts_usec;
  }
  MtdDecodedPacket decoded;
  MtdDecodeStatus status = mtd_decode_packet (packet->link_type, packet->bytes, packet->caplen,
                                              &decoded);
  switch (status) {
  case MTD_DECODE_TCP:
    summary->n_tcp_packets++;
    if (decoded.payload_len < decoded.payload_wire_len)
      summary->n_snaplen_truncated++;
    mtd_flow_table_add_segment (pipeline->flows, &decoded, packet);
    break;
  case MTD_DECODE_UDP:
    summary->n_udp_packets++;
    if (decoded.src_port == QUIC_PORT || decoded.dst_port == QUIC_PORT)
      summary->n_quic_packets++;
    break;
  case MTD_DECODE_FRAGMENT:
    summary->n_ip_fragments++;
    break;
  case MTD_DECODE_TRUNCATED:
    summary->n_snaplen_truncated++;
    summary->n_other_packets++;
    break;
  case MTD_DECODE_UNSUPPORTED_LINK:
    summary->n_other_packets++;
    if (!pipeline->has_warned_link_type && pipeline->input != NULL) {
      pipeline->has_warned_link_type = TRUE;
      char buf[32];
      g_ptr_array_add (pipeline->input->warnings,
                       g_strdup_printf ("link type %s is not supported: its packets are counted, "
                                        "not analysed",
                                        mtd_source_link_type_name (packet->link_type, buf,
                                                                   sizeof buf)));
    }
    break;
  case MTD_DECODE_OTHER_IP:
  case MTD_DECODE_NOT_IP:
  case MTD_DECODE_MALFORMED:
  default:
    summary->n_other_packets++;
    break;
  }
}

void
mtd_pipeline_tick (MtdPipeline *pipeline, gint64 now_usec)
{
  mtd_flow_table_expire (pipeline->flows, now_usec);
}

void
mtd_pipeline_end_input (MtdPipeline *pipeline)
{
  mtd_flow_table_end_all (pipeline->flows);
  pipeline->input = NULL;
}

gint64
mtd_pipeline_oldest_live_at (const MtdPipeline *pipeline, const char *ip, gboolean is_server)
{
  MtdFlowRole role = is_server ? MTD_FLOW_ROLE_SERVER : MTD_FLOW_ROLE_CLIENT;
  guint8 addr[16];
  if (strchr (ip, ':') != NULL) {
    if (inet_pton (AF_INET6, ip, addr) == 1)
      return mtd_flow_table_oldest_live_at (pipeline->flows, role, 6, addr);
  } else if (inet_pton (AF_INET, ip, addr) == 1) {
    return mtd_flow_table_oldest_live_at (pipeline->flows, role, 4, addr);
  }
  return G_MAXINT64;
}

guint
mtd_pipeline_n_live_flows (const MtdPipeline *pipeline)
{
  return mtd_flow_table_n_live (pipeline->flows);
}

MtdSummary *
mtd_pipeline_summary (MtdPipeline *pipeline)
{
  MtdSummary *summary = &pipeline->summary;
  summary->n_flows_evicted = mtd_flow_table_n_evicted (pipeline->flows);
  summary->n_flows_idle_closed = mtd_flow_table_n_idle_closed (pipeline->flows);
  summary->peak_live_flows = mtd_flow_table_peak_live (pipeline->flows);
  summary->n_cert_cache_hits = mtd_cert_cache_hits (pipeline->cert_cache);
  summary->n_cert_cache_misses = mtd_cert_cache_misses (pipeline->cert_cache);
  return summary;
}
