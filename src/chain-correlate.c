/* chain-correlate.c: legs of finished connections linked into request chains, and each chain's
 * verdict on where the client certificate went.
 *
 * The rules: a front end that ends the caller's TLS either passes the certificate on in a
 * forwarding header (App Service's X-ARR-ClientCert, base64 of the DER; nginx, Envoy and others
 * with their own names, see mtd-certheader.h) or loses it.  A TLS hop in between hides its HTTP,
 * so a header carried inside it cannot be seen without keys: the verdict then only names a drop
 * where a later plain-HTTP hop proves the certificate absent.  Host and X-Forwarded-* semantics
 * follow RFC 9110 §7.2 and the de facto X-Forwarded-For list ("client, proxy1, proxy2").
 */
#include <string.h>

#include "mtd-chain.h"

/* Default tolerance between the clocks of captures taken on different hosts. */
#define DEFAULT_WINDOW_USEC (2 * G_USEC_PER_SEC)
#define DEFAULT_MAX_LEGS 200000
/* How long a leg waits, by default, for a connection still open that could join it: long enough
 * for a caller's keep-alive connection or a front end's pooled one to end around the requests it
 * carried, short enough that one connection open for hours on a shared address (loopback) does
 * not hold every leg after it. */
#define DEFAULT_HOLD_USEC (60 * G_USEC_PER_SEC)

/* Legs added between two attempts to settle, by default: settling sorts and links every leg
 * still held, so it runs when their number has grown by half or by this much. */
#define DEFAULT_SETTLE_MIN_GROWTH 1024

struct _MtdChainer {
  MtdChainOptions options;
  MtdChainSink sink;      /* borrowed */
  gpointer sink_data;     /* borrowed */
  GPtrArray *legs;        /* MtdLeg*, owned: the legs not yet handed over in a chain */
  GHashTable *by_tuple;   /* "cip|cport|sip|sport" (owned) -> MtdLeg* (borrowed from legs) */
  guint64 n_dropped;
  guint64 n_dropped_at_settle; /* n_dropped when settling last ran */
  guint64 n_released;     /* legs handed over by the hold window (mtd_chainer_n_released) */
  gint64 latest_end_usec; /* the newest connection end added: the chainer's clock */
  guint n_chains;         /* handed over so far: the next chain's id is one more */
  guint settle_at;        /* try to settle once legs->len reaches this */
  guint peak_held;        /* most legs held at once */
  gboolean is_finished;
};

/* ---- Legs --------------------------------------------------------------------------------- */

static void
leg_cert_header_free (MtdLegCertHeader *header)
{
  if (header == NULL)
    return;
  g_free (header->name);
  g_free (header->subject);
  g_free (header);
}

static void
leg_request_free (MtdLegRequest *request)
{
  if (request == NULL)
    return;
  g_free (request->method);
  g_free (request->host);
  g_free (request->path);
  g_free (request->x_forwarded_for);
  g_free (request->x_forwarded_host);
  g_free (request->x_original_url);
  for (guint i = 0; i < MTD_LEG_N_REQUEST_IDS; i++)
    g_free (request->request_ids[i]);
  leg_cert_header_free (request->cert_header);
  g_free (request);
}

static void
leg_free (MtdLeg *leg)
{
  if (leg == NULL)
    return;
  g_free (leg->sni);
  g_free (leg->requested.reason);
  g_free (leg->presented.reason);
  g_free (leg->client_subject);
  g_free (leg->client_issuer);
  g_free (leg->findings_label);
  if (leg->acceptable_cas != NULL)
    g_ptr_array_unref (leg->acceptable_cas);
  if (leg->requests != NULL)
    g_ptr_array_unref (leg->requests);
  g_free (leg);
}

static void
copy_verdict (MtdVerdict *to, const MtdVerdict *from)
{
  *to = *from;
  to->reason = g_strdup (from->reason);
}

static const char *
find_header (const MtdHttpExchange *exchange, const char *name)
{
  for (guint i = 0; exchange->request_headers != NULL && i < exchange->request_headers->len;
       i++) {
    const MtdHttpHeader *header = g_ptr_array_index (exchange->request_headers, i);
    if (g_ascii_strcasecmp (header->name, name) == 0)
      return header->value;
  }
  return NULL;
}

static MtdLegCertHeader *
leg_cert_header_new (const MtdConnCertHeader *entry)
{
  const MtdCertHeader *header = entry->header;
  MtdLegCertHeader *leg_header = g_new0 (MtdLegCertHeader, 1);
  leg_header->name = g_strdup (header->name);
  leg_header->encoding = header->encoding;
  leg_header->is_valid = header->is_valid;
  leg_header->is_convention_mismatch = header->is_convention_mismatch;
  leg_header->frame = entry->frame;
  if (header->cert != NULL) {
    g_strlcpy (leg_header->sha1_hex, header->cert->sha1_hex, sizeof leg_header->sha1_hex);
    leg_header->subject = g_strdup (header->cert->subject);
  }
  return leg_header;
}

/* The certificate header of one request: the first that decoded, else the first at all. */
static const MtdConnCertHeader *
request_cert_header (const MtdConnection *connection, guint exchange_index)
{
  const MtdConnCertHeader *first = NULL;
  for (guint i = 0; connection->cert_headers != NULL && i < connection->cert_headers->len; i++) {
    const MtdConnCertHeader *entry = g_ptr_array_index (connection->cert_headers, i);
    if (entry->exchange_index != exchange_index)
      continue;
    if (entry->header->cert != NULL)
      return entry;
    if (first == NULL)
      first = entry;
  }
  return first;
}

static MtdLegRequest *
leg_request_new (const MtdConnection *connection, guint exchange_index)
{
  static const char *const request_id_names[MTD_LEG_N_REQUEST_IDS]
      = { "X-ARR-LOG-ID", "X-Request-ID", "traceparent" };
  const MtdHttpExchange *exchange = g_ptr_array_index (connection->http, exchange_index);
  MtdLegRequest *request = g_new0 (MtdLegRequest, 1);
  request->request_frame = exchange->request_frame;
  request->method = g_strdup (exchange->method);
  request->host = g_strdup (exchange->host);
  request->path = g_strdup (exchange->path);
  request->status = exchange->status;
  request->status_frame = exchange->status_frame;
  request->x_forwarded_for = g_strdup (find_header (exchange, "X-Forwarded-For"));
  request->x_forwarded_host = g_strdup (find_header (exchange, "X-Forwarded-Host"));
  request->x_original_url = g_strdup (find_header (exchange, "X-Original-URL"));
  for (guint i = 0; i < MTD_LEG_N_REQUEST_IDS; i++) {
    const char *value = find_header (exchange, request_id_names[i]);
    if (value == NULL)
      continue;
    if (i == MTD_LEG_N_REQUEST_IDS - 1) {
      /* traceparent: version "-" trace-id "-" parent-id "-" flags (W3C Trace Context §3.2). */
      g_auto (GStrv) fields = g_strsplit (value, "-", 4);
      if (g_strv_length (fields) == 4 && strlen (fields[1]) == 32)
        request->request_ids[i] = g_ascii_strdown (fields[1], -1);
      continue;
    }
    request->request_ids[i] = g_strstrip (g_strdup (value));
  }
  const MtdConnCertHeader *entry = request_cert_header (connection, exchange_index);
  if (entry != NULL)
    request->cert_header = leg_cert_header_new (entry);
  return request;
}

static MtdLeg *
leg_new (const MtdConnection *connection)
{
  MtdLeg *leg = g_new0 (MtdLeg, 1);
  leg->connection_id = connection->id;
  leg->input_index = connection->input_index;
  leg->client = connection->client;
  leg->server = connection->server;
  leg->start_usec = connection->start_usec;
  leg->end_usec = connection->end_usec;
  leg->first_frame = connection->first_frame;
  leg->last_frame = connection->last_frame;
  leg->protocol = connection->tls != NULL ? MTD_APP_TLS : MTD_APP_HTTP;
  leg->requests = g_ptr_array_new_with_free_func ((GDestroyNotify) leg_request_free);
  const MtdTlsFacts *tls = connection->tls;
  if (tls != NULL) {
    leg->tls_version = tls->version;
    leg->sni = g_strdup (tls->sni);
    copy_verdict (&leg->requested, &tls->requested);
    copy_verdict (&leg->presented, &tls->presented);
    if (tls->client_chain != NULL && tls->client_chain->len > 0) {
      const MtdCert *leaf = g_ptr_array_index (tls->client_chain, 0);
      g_strlcpy (leg->client_sha1_hex, leaf->sha1_hex, sizeof leg->client_sha1_hex);
      leg->client_subject = g_strdup (leaf->subject);
      leg->client_issuer = g_strdup (leaf->issuer);
      leg->client_cert_frame = tls->presented.n_frames > 0 ? tls->presented.frames[0] : 0;
    }
    gboolean is_refused = tls->requested.value == MTD_REQUESTED_YES
                          && (tls->presented.value == MTD_PRESENTED_EMPTY
                              || tls->presented.value == MTD_PRESENTED_NO);
    if (is_refused && tls->acceptable_cas != NULL && tls->acceptable_cas->len > 0) {
      guint n_kept = MIN (tls->acceptable_cas->len, MTD_LEG_MAX_ACCEPTABLE_CAS);
      leg->acceptable_cas = g_ptr_array_new_full (n_kept, g_free);
      for (guint i = 0; i < n_kept; i++)
        g_ptr_array_add (leg->acceptable_cas, g_strdup (g_ptr_array_index (tls->acceptable_cas, i)));
    }
  }
  if (connection->http != NULL) {
    guint n_kept = MIN (connection->http->len, MTD_LEG_MAX_REQUESTS);
    for (guint i = 0; i < n_kept; i++)
      g_ptr_array_add (leg->requests, leg_request_new (connection, i));
    leg->n_requests_dropped = connection->http->len - n_kept + connection->n_http_dropped;
  }
  return leg;
}

/* ---- The chainer -------------------------------------------------------------------------- */

void
mtd_chain_options_init_default (MtdChainOptions *options)
{
  memset (options, 0, sizeof *options);
  options->window_usec = DEFAULT_WINDOW_USEC;
  options->max_legs = DEFAULT_MAX_LEGS;
  options->hold_usec = DEFAULT_HOLD_USEC;
  options->settle_min_growth = DEFAULT_SETTLE_MIN_GROWTH;
}

MtdChainer *
mtd_chainer_new (const MtdChainOptions *options, MtdChainSink sink, gpointer sink_data)
{
  g_return_val_if_fail (sink != NULL, NULL);
  MtdChainer *chainer = g_new0 (MtdChainer, 1);
  chainer->options = *options;
  chainer->sink = sink;
  chainer->sink_data = sink_data;
  chainer->options.settle_min_growth = MAX (1, chainer->options.settle_min_growth);
  chainer->settle_at = chainer->options.settle_min_growth;
  chainer->latest_end_usec = G_MININT64;
  chainer->legs = g_ptr_array_new_with_free_func ((GDestroyNotify) leg_free);
  /* Keys are owned tuple strings; values are borrowed from legs. */
  chainer->by_tuple = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return chainer;
}

void
mtd_chainer_free (MtdChainer *chainer)
{
  if (chainer == NULL)
    return;
  g_hash_table_unref (chainer->by_tuple);
  g_ptr_array_unref (chainer->legs);
  g_free (chainer);
}

guint64
mtd_chainer_n_dropped (const MtdChainer *chainer)
{
  return chainer->n_dropped;
}

guint64
mtd_chainer_n_released (const MtdChainer *chainer)
{
  return chainer->n_released;
}

const char *
mtd_chainer_hop_name (const MtdChainer *chainer, const char *address)
{
  if (chainer->options.hop_names == NULL || address == NULL)
    return NULL;
  return g_hash_table_lookup (chainer->options.hop_names, address);
}

static char *
tuple_key (const MtdEndpoint *client, const MtdEndpoint *server)
{
  return g_strdup_printf ("%s|%u|%s|%u", client->ip, client->port, server->ip, server->port);
}

void
mtd_chainer_add_connection (MtdChainer *chainer, const MtdConnection *connection,
                            const char *findings_label)
{
  g_return_if_fail (!chainer->is_finished);
  chainer->latest_end_usec = MAX (chainer->latest_end_usec, connection->end_usec);
  if (connection->tls == NULL && (connection->http == NULL || connection->http->len == 0))
    return;
  /* The same connection captured at two vantage points is one leg: the first input's copy is
   * kept and the others are noted on it. */
  g_autofree char *key = tuple_key (&connection->client, &connection->server);
  MtdLeg *same = g_hash_table_lookup (chainer->by_tuple, key);
  if (same != NULL && same->input_index != connection->input_index
      && ABS (same->start_usec - connection->start_usec) <= chainer->options.window_usec) {
    if (connection->input_index < 64)
      same->seen_in_inputs |= G_GUINT64_CONSTANT (1) << connection->input_index;
    return;
  }
  if (chainer->legs->len >= chainer->options.max_legs) {
    chainer->n_dropped++;
    return;
  }
  MtdLeg *leg = leg_new (connection);
  leg->findings_label = g_strdup (findings_label);
  if (leg->input_index < 64)
    leg->seen_in_inputs = G_GUINT64_CONSTANT (1) << leg->input_index;
  g_ptr_array_add (chainer->legs, leg);
  chainer->peak_held = MAX (chainer->peak_held, chainer->legs->len);
  g_hash_table_replace (chainer->by_tuple, g_steal_pointer (&key), leg);
}

/* ---- Matching ----------------------------------------------------------------------------- */

guint
mtd_match_names (guint matched, const char **names)
{
  static const struct {
    MtdMatch bit;
    const char *name;
  } table[] = {
    { MTD_MATCH_ADDRESS, "address" },
    { MTD_MATCH_HOP_NAME, "hop_name" },
    { MTD_MATCH_TIME_WINDOW, "time_window" },
    { MTD_MATCH_HOST_SNI, "host_sni" },
    { MTD_MATCH_X_FORWARDED_FOR, "x_forwarded_for" },
    { MTD_MATCH_X_FORWARDED_HOST, "x_forwarded_host" },
    { MTD_MATCH_X_ORIGINAL_URL, "x_original_url" },
    { MTD_MATCH_REQUEST_ID, "request_id" },
    { MTD_MATCH_CERT_THUMBPRINT, "cert_thumbprint" },
    { MTD_MATCH_ONLY_CANDIDATE, "only_candidate" },
  };
  guint n = 0;
  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    if (matched & table[i].bit)
      names[n++] = table[i].name;
  return n;
}

/* The host an address belongs to: its --hop name, or the address itself. */
static const char *
host_of (const MtdChainer *chainer, const char *address)
{
  const char *name = mtd_chainer_hop_name (chainer, address);
  return name != NULL ? name : address;
}

/* A Host field or SNI without its port and trailing dot, lower-cased, for comparison. */
static char *
bare_host (const char *host)
{
  if (host == NULL || *host == '\0')
    return NULL;
  const char *end = host + strlen (host);
  if (*host == '[') {
    const char *close = strchr (host, ']');
    if (close != NULL)
      return g_ascii_strdown (host + 1, close - host - 1);
  } else {
    const char *colon = strrchr (host, ':');
    if (colon != NULL && strchr (host, ':') == colon)
      end = colon;
  }
  if (end > host && end[-1] == '.')
    end--;
  return g_ascii_strdown (host, end - host);
}

static gboolean
hosts_equal (const char *a, const char *b)
{
  g_autofree char *bare_a = bare_host (a);
  g_autofree char *bare_b = bare_host (b);
  return bare_a != NULL && bare_b != NULL && strcmp (bare_a, bare_b) == 0;
}

/* X-Forwarded-For: "client, proxy1, proxy2" (each may carry a port or brackets). */
static gboolean
list_holds_address (const char *list, const char *address)
{
  if (list == NULL)
    return FALSE;
  g_auto (GStrv) items = g_strsplit (list, ",", 32);
  for (guint i = 0; items[i] != NULL; i++) {
    g_autofree char *item = g_strstrip (g_strdup (items[i]));
    if (g_ascii_strcasecmp (item, address) == 0)
      return TRUE;
    g_autofree char *bare = bare_host (item);
    if (bare != NULL && g_ascii_strcasecmp (bare, address) == 0)
      return TRUE;
  }
  return FALSE;
}

/* The names leg `up` answers to: its SNI and the Host of each of its requests. */
static gboolean
leg_answers_to (const MtdLeg *up, const char *host)
{
  if (host == NULL)
    return FALSE;
  if (hosts_equal (up->sni, host))
    return TRUE;
  for (guint i = 0; i < up->requests->len; i++) {
    const MtdLegRequest *request = g_ptr_array_index (up->requests, i);
    if (hosts_equal (request->host, host))
      return TRUE;
  }
  return FALSE;
}

static gboolean
is_same_text (const char *a, const char *b)
{
  return a != NULL && b != NULL && *a != '\0' && strcmp (a, b) == 0;
}

/* The facts beyond address and time on which `down` agrees with `up` (MtdMatch bits). */
static guint
content_matches (const MtdLeg *up, const MtdLeg *down)
{
  guint matched = 0;
  if (leg_answers_to (up, down->sni))
    matched |= MTD_MATCH_HOST_SNI;
  for (guint i = 0; i < down->requests->len; i++) {
    const MtdLegRequest *request = g_ptr_array_index (down->requests, i);
    if (leg_answers_to (up, request->host))
      matched |= MTD_MATCH_HOST_SNI;
    if (list_holds_address (request->x_forwarded_for, up->client.ip))
      matched |= MTD_MATCH_X_FORWARDED_FOR;
    if (leg_answers_to (up, request->x_forwarded_host))
      matched |= MTD_MATCH_X_FORWARDED_HOST;
    if (request->cert_header != NULL && up->client_sha1_hex[0] != '\0'
        && strcmp (request->cert_header->sha1_hex, up->client_sha1_hex) == 0)
      matched |= MTD_MATCH_CERT_THUMBPRINT;
    for (guint j = 0; j < up->requests->len; j++) {
      const MtdLegRequest *upstream = g_ptr_array_index (up->requests, j);
      if (is_same_text (request->x_original_url, upstream->path))
        matched |= MTD_MATCH_X_ORIGINAL_URL;
      for (guint k = 0; k < MTD_LEG_N_REQUEST_IDS; k++)
        if (is_same_text (request->request_ids[k], upstream->request_ids[k]))
          matched |= MTD_MATCH_REQUEST_ID;
      if (request->cert_header != NULL && upstream->cert_header != NULL
          && upstream->cert_header->sha1_hex[0] != '\0'
          && strcmp (request->cert_header->sha1_hex, upstream->cert_header->sha1_hex) == 0)
        matched |= MTD_MATCH_CERT_THUMBPRINT;
    }
  }
  return matched;
}

/* A proxy forwards while the caller's connection is open: it must answer on it.  Within one
 * input the frames order everything, so a pooled connection opened earlier also fits when one of
 * its requests falls inside `up`. */
static gboolean
is_nested (const MtdLeg *up, const MtdLeg *down)
{
  if (down->start_usec >= up->start_usec && down->start_usec <= up->end_usec)
    return TRUE;
  if (up->input_index != down->input_index)
    return FALSE;
  for (guint i = 0; i < down->requests->len; i++) {
    const MtdLegRequest *request = g_ptr_array_index (down->requests, i);
    if (request->request_frame >= up->first_frame && request->request_frame <= up->last_frame)
      return TRUE;
  }
  return FALSE;
}

/* Could `down` be the leg that `up`'s server opened to forward it?  Address and time only. */
static gboolean
is_possible_next (const MtdChainer *chainer, const MtdLeg *up, const MtdLeg *down)
{
  if (up == down)
    return FALSE;
  /* A proxy forwards to another service, not to itself, and not back to its caller. */
  if (strcmp (up->server.ip, down->server.ip) == 0 && up->server.port == down->server.port)
    return FALSE;
  if (strcmp (up->client.ip, down->server.ip) == 0 && up->client.port == down->server.port)
    return FALSE;
  if (is_nested (up, down))
    return TRUE;
  /* Different capture hosts: their clocks may differ by up to the window. */
  gint64 window = chainer->options.window_usec;
  return up->input_index != down->input_index && down->start_usec + window >= up->start_usec
         && down->start_usec <= up->end_usec + window;
}

typedef struct {
  MtdLeg *up;
  guint matched;
} Candidate;

typedef struct {
  GArray *candidates;      /* Candidate, upstream legs that fit; NULL until one */
  guint n_downstream;      /* legs for which this one is a candidate upstream */
  MtdLeg *parent;          /* borrowed */
  guint matched;
  GPtrArray *children;     /* MtdLeg*, borrowed; NULL until one */
  gboolean is_walked;      /* part of a chain already */
  gboolean is_leg_settled; /* no connection still open can link to it */
  gboolean is_released;    /* settled by the hold window although one still could */
  gboolean is_settled;     /* its whole group of linked legs may be handed over */
} LegLinks;

/* Is `leg` among the parents of `start` (or `start` itself)? */
static gboolean
is_ancestor (GHashTable *links, const MtdLeg *leg, const MtdLeg *start)
{
  const MtdLeg *at = start;
  for (guint depth = 0; at != NULL && depth <= MTD_CHAIN_MAX_HOPS * 4; depth++) {
    if (at == leg)
      return TRUE;
    const LegLinks *at_links = g_hash_table_lookup (links, at);
    at = at_links != NULL ? at_links->parent : NULL;
  }
  return FALSE;
}

static gint
compare_leg_start (gconstpointer a, gconstpointer b)
{
  const MtdLeg *leg_a = *(MtdLeg *const *) a;
  const MtdLeg *leg_b = *(MtdLeg *const *) b;
  if (leg_a->start_usec != leg_b->start_usec)
    return leg_a->start_usec < leg_b->start_usec ? -1 : 1;
  if (leg_a->input_index != leg_b->input_index)
    return leg_a->input_index < leg_b->input_index ? -1 : 1;
  return leg_a->connection_id < leg_b->connection_id ? -1
         : leg_a->connection_id > leg_b->connection_id ? 1 : 0;
}

/* ---- Verdicts ----------------------------------------------------------------------------- */

const char *
mtd_chain_verdict_name (MtdChainVerdict verdict)
{
  switch (verdict) {
  case MTD_CHAIN_DELIVERED:
    return "delivered";
  case MTD_CHAIN_DROPPED_AT_HOP:
    return "dropped_at_hop";
  case MTD_CHAIN_NEVER_PRESENTED:
    return "never_presented";
  case MTD_CHAIN_NOT_REQUESTED:
    return "not_requested";
  case MTD_CHAIN_PLAIN_HTTP:
    return "plain_http";
  case MTD_CHAIN_HEADER_MISMATCH:
    return "header_mismatch";
  case MTD_CHAIN_UNKNOWN:
  default:
    return "unknown";
  }
}

void
mtd_chain_free (MtdChain *chain)
{
  if (chain == NULL)
    return;
  if (chain->hops != NULL)
    g_array_unref (chain->hops);
  g_free (chain->reason);
  g_free (chain);
}

static const MtdChainHop *
hop_at (const MtdChain *chain, guint hop)
{
  return &g_array_index (chain->hops, MtdChainHop, hop - 1);
}

/* A plain-HTTP leg that a proxy sent: the caller's own leg is further upstream. */
static gboolean
is_forwarded_leg (const MtdLeg *leg)
{
  for (guint i = 0; i < leg->requests->len; i++) {
    const MtdLegRequest *request = g_ptr_array_index (leg->requests, i);
    if (request->x_forwarded_for != NULL || request->x_forwarded_host != NULL
        || request->x_original_url != NULL
        || request->request_ids[MTD_LEG_ARR_LOG_ID] != NULL)
      return TRUE;
  }
  return FALSE;
}

/* The first hop from `from` on whose requests a certificate header arrives, 0 when none. */
static guint
first_header_hop (const MtdChain *chain, guint from)
{
  for (guint k = from; k <= chain->hops->len; k++)
    if (hop_at (chain, k)->cert_request != NULL)
      return k;
  return 0;
}

/* The last hop that carries a certificate header, 0 when none. */
static guint
last_header_hop (const MtdChain *chain)
{
  for (guint k = chain->hops->len; k > 0; k--)
    if (hop_at (chain, k)->cert_request != NULL)
      return k;
  return 0;
}

/* ", and it reaches hop 3" when the header travels on past `hop`, else "". */
static char *
reach_phrase (const MtdChain *chain, guint hop)
{
  guint last = last_header_hop (chain);
  return last > hop ? g_strdup_printf (", and it reaches hop %u", last) : g_strdup ("");
}

static void
set_verdict (MtdChain *chain, MtdChainVerdict verdict, char *reason)
{
  chain->verdict = verdict;
  g_free (chain->reason);
  chain->reason = reason;
}

/* "hop 2 (127.0.0.3 -> 127.0.0.5)" */
static char *
hop_phrase (const MtdChain *chain, guint hop)
{
  const MtdLeg *leg = hop_at (chain, hop)->leg;
  return g_strdup_printf ("hop %u (%s -> %s)", hop, leg->client.ip, leg->server.ip);
}

/* The caller spoke plain HTTP on hop 1. */
static void
judge_plain_caller (MtdChain *chain)
{
  const MtdLeg *first = hop_at (chain, 1)->leg;
  guint header_hop = first_header_hop (chain, 1);
  if (is_forwarded_leg (first)) {
    /* Hop 1 came from a proxy: the caller's leg, where a certificate could have been presented,
     * is not in the capture. */
    if (header_hop != 0) {
      const MtdLegCertHeader *header = hop_at (chain, header_hop)->cert_request->cert_header;
      chain->last_carried_hop = header_hop;
      set_verdict (chain, MTD_CHAIN_UNKNOWN,
                   g_strdup_printf ("The caller's leg is not in the capture: hop 1 was "
                                    "forwarded by a proxy, and the %s header on hop %u %s; it "
                                    "cannot be compared with what the caller presented.",
                                    header->name, header_hop,
                                    header->sha1_hex[0] != '\0'
                                        ? "carries a certificate"
                                        : "holds no usable certificate"));
      return;
    }
    set_verdict (chain, MTD_CHAIN_UNKNOWN,
                 g_strdup ("Missing at the app: the requests arrive through a proxy "
                           "(X-Forwarded-* headers) without a client-certificate header, so the "
                           "front end did not forward one; the caller's own leg is not in the "
                           "capture, so whether it presented one cannot be told."));
    return;
  }
  if (header_hop != 0) {
    chain->mismatch_hop = header_hop;
    const MtdLegCertHeader *header = hop_at (chain, header_hop)->cert_request->cert_header;
    g_autofree char *reach = reach_phrase (chain, header_hop);
    set_verdict (chain, MTD_CHAIN_HEADER_MISMATCH,
                 header_hop == 1
                     ? g_strdup_printf ("The caller sent its own %s header over plain HTTP on "
                                        "hop 1%s: no handshake proved the certificate in it, and "
                                        "no X-Forwarded-* or X-ARR-LOG-ID header marks the "
                                        "request as forwarded by a front end.",
                                        header->name, reach)
                     : g_strdup_printf ("The %s header appears on hop %u%s although the caller "
                                        "spoke plain HTTP and presented no certificate in any "
                                        "handshake.",
                                        header->name, header_hop, reach));
    return;
  }
  set_verdict (chain, MTD_CHAIN_PLAIN_HTTP,
               g_strdup ("The caller spoke plain HTTP on hop 1: there was no handshake to carry "
                         "a client certificate."));
}

/* The caller presented nothing (or was not asked), yet a header arrives further on. */
static gboolean
judge_header_without_certificate (MtdChain *chain)
{
  guint header_hop = first_header_hop (chain, 2);
  if (header_hop == 0)
    return FALSE;
  chain->mismatch_hop = header_hop;
  const MtdLegCertHeader *header = hop_at (chain, header_hop)->cert_request->cert_header;
  g_autofree char *reach = reach_phrase (chain, header_hop);
  set_verdict (chain, MTD_CHAIN_HEADER_MISMATCH,
               g_strdup_printf ("The %s header appears on hop %u%s although the caller presented "
                                "no certificate on hop 1: a hop or the caller put it there.",
                                header->name, header_hop, reach));
  return TRUE;
}

/* The caller presented a certificate on hop 1: follow it. */
static void
follow_presented (MtdChain *chain)
{
  const MtdLeg *first = hop_at (chain, 1)->leg;
  const char *caller_sha1 = first->client_sha1_hex;
  guint n_hops = chain->hops->len;
  chain->last_carried_hop = 1;
  for (guint k = 2; k <= n_hops; k++) {
    const MtdChainHop *hop = hop_at (chain, k);
    const MtdLeg *leg = hop->leg;
    if (leg->protocol == MTD_APP_TLS && leg->requests->len == 0) {
      /* A TLS hop hides its HTTP (no key log for it): it carries the certificate only if its
       * handshake shows the same one again; otherwise it is open until a later hop in clear
       * settles it. */
      if (leg->presented.value == MTD_PRESENTED_YES && caller_sha1[0] != '\0'
          && strcmp (leg->client_sha1_hex, caller_sha1) == 0)
        chain->last_carried_hop = k;
      continue;
    }
    /* HTTP in clear, or read inside TLS with a key log: its headers settle it. */
    if (hop->cert_request == NULL) {
      chain->dropped_at_hop = chain->last_carried_hop + 1;
      g_autofree char *where = hop_phrase (chain, chain->dropped_at_hop);
      g_autofree char *proof = hop_phrase (chain, k);
      set_verdict (chain, MTD_CHAIN_DROPPED_AT_HOP,
                   k == chain->dropped_at_hop
                       ? g_strdup_printf ("The certificate the caller presented on hop 1 is not "
                                          "forwarded on %s: its requests carry no "
                                          "client-certificate header.",
                                          where)
                       : g_strdup_printf ("The certificate the caller presented on hop 1 is not "
                                          "carried on %s, a new TLS connection without it whose "
                                          "HTTP is encrypted, and %s carries no "
                                          "client-certificate header.",
                                          where, proof));
      return;
    }
    const MtdLegCertHeader *header = hop->cert_request->cert_header;
    if (!header->is_valid || header->sha1_hex[0] == '\0') {
      chain->mismatch_hop = k;
      set_verdict (chain, MTD_CHAIN_HEADER_MISMATCH,
                   g_strdup_printf ("The %s header on hop %u does not hold a usable "
                                    "certificate.",
                                    header->name, k));
      return;
    }
    if (caller_sha1[0] != '\0' && strcmp (header->sha1_hex, caller_sha1) != 0) {
      chain->mismatch_hop = k;
      set_verdict (chain, MTD_CHAIN_HEADER_MISMATCH,
                   g_strdup_printf ("The %s header on hop %u carries certificate %s, not the "
                                    "one the caller presented on hop 1 (%s).",
                                    header->name, k, header->sha1_hex, caller_sha1));
      return;
    }
    chain->last_carried_hop = k;
  }
  if (n_hops == 1) {
    set_verdict (chain, MTD_CHAIN_UNKNOWN,
                 g_strdup ("The caller presented a certificate on hop 1; the legs after it are "
                           "not in the capture, so whether it reached the app cannot be told "
                           "(analyse the capture of the next leg together with this one)."));
    return;
  }
  const MtdChainHop *last = hop_at (chain, n_hops);
  if (chain->last_carried_hop == n_hops && last->cert_request != NULL) {
    const MtdLegCertHeader *header = last->cert_request->cert_header;
    set_verdict (chain, MTD_CHAIN_DELIVERED,
                 caller_sha1[0] != '\0'
                     ? g_strdup_printf ("The certificate the caller presented on hop 1 reaches "
                                        "hop %u in %s, the same certificate (SHA-1 %s).",
                                        n_hops, header->name, caller_sha1)
                     : g_strdup_printf ("A certificate reaches hop %u in %s (SHA-1 %s); the "
                                        "caller's own is encrypted on hop 1 (TLS 1.3), so the "
                                        "two could not be compared without a key log.",
                                        n_hops, header->name, header->sha1_hex));
    return;
  }
  if (chain->last_carried_hop == n_hops) {
    /* Every TLS hop after the first showed the caller's certificate again in its own handshake
     * (the caller itself connected on each): there is no hop after the last to name. */
    set_verdict (chain, MTD_CHAIN_DELIVERED,
                 g_strdup_printf ("The certificate the caller presented on hop 1 (SHA-1 %s) is "
                                  "presented again in the TLS handshake of every hop up to hop "
                                  "%u.",
                                  caller_sha1, n_hops));
    return;
  }
  g_autofree char *open_hop = hop_phrase (chain, chain->last_carried_hop + 1);
  set_verdict (chain, MTD_CHAIN_UNKNOWN,
               g_strdup_printf ("The caller presented a certificate on hop 1; from %s on the "
                                "hops are TLS without it in their handshakes, and their HTTP, "
                                "where a forwarding header would be, is encrypted.",
                                open_hop));
}

static void
judge_chain (MtdChain *chain)
{
  const MtdLeg *first = hop_at (chain, 1)->leg;
  if (first->protocol == MTD_APP_HTTP) {
    judge_plain_caller (chain);
    return;
  }
  gint requested = first->requested.value;
  gint presented = first->presented.value;
  if (presented == MTD_PRESENTED_YES) {
    follow_presented (chain);
    return;
  }
  if (requested == MTD_REQUESTED_NO) {
    if (!judge_header_without_certificate (chain))
      set_verdict (chain, MTD_CHAIN_NOT_REQUESTED,
                   g_strdup ("The TLS endpoint the caller reached on hop 1 never asked for a "
                             "client certificate."));
    return;
  }
  if (requested == MTD_REQUESTED_YES
      && (presented == MTD_PRESENTED_EMPTY || presented == MTD_PRESENTED_NO)) {
    if (!judge_header_without_certificate (chain))
      set_verdict (chain, MTD_CHAIN_NEVER_PRESENTED,
                   g_strdup_printf ("The server asked on hop 1 and the caller %s.",
                                    presented == MTD_PRESENTED_EMPTY
                                        ? "answered with an empty certificate list"
                                        : "sent no certificate at all"));
    return;
  }
  const char *why = first->presented.reason != NULL ? first->presented.reason
                                                    : first->requested.reason;
  set_verdict (chain, MTD_CHAIN_UNKNOWN,
               g_strdup_printf ("Whether a certificate was requested and presented on hop 1 is "
                                "not known%s%s.",
                                why != NULL ? ": " : "", why != NULL ? why : ""));
}

/* ---- Building ----------------------------------------------------------------------------- */

static const MtdLegRequest *
first_cert_request (const MtdLeg *leg)
{
  const MtdLegRequest *first = NULL;
  for (guint i = 0; i < leg->requests->len; i++) {
    const MtdLegRequest *request = g_ptr_array_index (leg->requests, i);
    if (request->cert_header == NULL)
      continue;
    if (request->cert_header->is_valid)
      return request;
    if (first == NULL)
      first = request;
  }
  return first;
}

static void
add_chain (GPtrArray *chains, MtdLeg *const *path, const guint *matched, guint n_hops)
{
  MtdChain *chain = g_new0 (MtdChain, 1);
  chain->hops = g_array_sized_new (FALSE, TRUE, sizeof (MtdChainHop), n_hops);
  for (guint i = 0; i < n_hops; i++) {
    MtdChainHop hop = { 0 };
    hop.leg = path[i];
    hop.cert_request = first_cert_request (path[i]);
    hop.first_request = path[i]->requests->len > 0 ? g_ptr_array_index (path[i]->requests, 0)
                                                   : NULL;
    hop.matched_by = matched[i];
    g_array_append_val (chain->hops, hop);
  }
  judge_chain (chain);
  g_ptr_array_add (chains, chain);
}

/* Every path from `leg` down to a leaf becomes a chain. */
static void
walk (GPtrArray *chains, GHashTable *links, MtdLeg *leg, MtdLeg **path, guint *matched,
      guint depth)
{
  LegLinks *leg_links = g_hash_table_lookup (links, leg);
  leg_links->is_walked = TRUE;
  path[depth] = leg;
  matched[depth] = depth == 0 ? 0 : leg_links->matched;
  if (leg_links->children == NULL || depth + 1 >= MTD_CHAIN_MAX_HOPS) {
    add_chain (chains, path, matched, depth + 1);
    return;
  }
  for (guint i = 0; i < leg_links->children->len; i++)
    walk (chains, links, g_ptr_array_index (leg_links->children, i), path, matched, depth + 1);
}

/* The leg of the same caller address that presented a readable certificate nearest in time to
 * `leg`, or NULL. */
static const MtdLeg *
nearest_presenter (GHashTable *presenters, const MtdLeg *leg)
{
  GPtrArray *list = g_hash_table_lookup (presenters, leg->client.ip);
  const MtdLeg *nearest = NULL;
  gint64 nearest_distance = G_MAXINT64;
  for (guint i = 0; list != NULL && i < list->len; i++) {
    const MtdLeg *candidate = g_ptr_array_index (list, i);
    gint64 distance = ABS (candidate->start_usec - leg->start_usec);
    if (distance < nearest_distance) {
      nearest = candidate;
      nearest_distance = distance;
    }
  }
  return nearest;
}

/* Did a connection still open with `ip` (or another address of its --hop name) as its server
 * (is_server) or client start before `before`? */
static gboolean
is_open_at (const MtdChainer *chainer, const char *ip, gboolean is_server, gint64 before,
            MtdOpenSince open_since, gpointer user_data)
{
  if (open_since (ip, is_server, user_data) <= before)
    return TRUE;
  const char *name = mtd_chainer_hop_name (chainer, ip);
  if (name == NULL)
    return FALSE;
  GHashTableIter iter;
  gpointer address, address_name;
  g_hash_table_iter_init (&iter, chainer->options.hop_names);
  while (g_hash_table_iter_next (&iter, &address, &address_name))
    if (strcmp (address_name, name) == 0 && open_since (address, is_server, user_data) <= before)
      return TRUE;
  return FALSE;
}

/* A leg is settled when no connection still open can become its previous hop (one served at
 * its client's address) or its next hop (one leaving from its server's address): such a
 * connection would have started before the leg ended.  Where clients and servers share an
 * address (loopback) one connection open for hours is such a connection for every leg after it
 * began, so a leg waits for it only hold_usec after its own end (*is_released then). */
static gboolean
is_leg_settled (const MtdChainer *chainer, const MtdLeg *leg, MtdOpenSince open_since,
                gpointer user_data, gboolean *is_released)
{
  *is_released = FALSE;
  if (!is_open_at (chainer, leg->client.ip, TRUE, leg->end_usec, open_since, user_data)
      && !is_open_at (chainer, leg->server.ip, FALSE, leg->end_usec, open_since, user_data))
    return TRUE;
  gint64 hold = chainer->options.hold_usec;
  *is_released = hold > 0 && chainer->latest_end_usec - leg->end_usec > hold;
  return *is_released;
}

/* Is every leg from `leg` down settled? */
static gboolean
is_subtree_settled (GHashTable *links, const MtdLeg *leg, guint depth)
{
  const LegLinks *leg_links = g_hash_table_lookup (links, leg);
  if (!leg_links->is_leg_settled)
    return FALSE;
  for (guint i = 0; leg_links->children != NULL && depth < MTD_CHAIN_MAX_HOPS * 4
                    && i < leg_links->children->len;
       i++)
    if (!is_subtree_settled (links, g_ptr_array_index (leg_links->children, i), depth + 1))
      return FALSE;
  return TRUE;
}

static void
mark_settled (GHashTable *links, const MtdLeg *leg, gboolean is_settled, guint depth)
{
  LegLinks *leg_links = g_hash_table_lookup (links, leg);
  leg_links->is_settled = is_settled;
  for (guint i = 0; leg_links->children != NULL && depth < MTD_CHAIN_MAX_HOPS * 4
                    && i < leg_links->children->len;
       i++)
    mark_settled (links, g_ptr_array_index (leg_links->children, i), is_settled, depth + 1);
}

static void
leg_links_free (LegLinks *leg_links)
{
  if (leg_links->candidates != NULL)
    g_array_unref (leg_links->candidates);
  if (leg_links->children != NULL)
    g_ptr_array_unref (leg_links->children);
  g_free (leg_links);
}

/* Links the legs held, hands over the chains of every group of linked legs that are all
 * settled (open_since NULL: all of them, the run is over), and frees those legs. */
static void
emit_settled (MtdChainer *chainer, MtdOpenSince open_since, gpointer user_data)
{
  gboolean is_final = open_since == NULL;
  guint n_legs = chainer->legs->len;
  if (n_legs == 0)
    return;
  g_ptr_array_sort (chainer->legs, compare_leg_start);

  /* Keys and values: MtdLeg* (borrowed) -> LegLinks (owned). */
  g_autoptr (GHashTable) links = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                                        (GDestroyNotify) leg_links_free);
  /* The legs each host serves, in start order: host (borrowed) -> GPtrArray of MtdLeg*. */
  g_autoptr (GHashTable) served = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                         (GDestroyNotify) g_ptr_array_unref);
  for (guint i = 0; i < n_legs; i++) {
    MtdLeg *leg = g_ptr_array_index (chainer->legs, i);
    /* candidates is made at the first one: most legs have none (no leg ends where they
     * start), and settling runs over every held leg each time. */
    LegLinks *leg_links = g_new0 (LegLinks, 1);
    g_hash_table_insert (links, leg, leg_links);
    const char *host = host_of (chainer, leg->server.ip);
    GPtrArray *list = g_hash_table_lookup (served, host);
    if (list == NULL) {
      list = g_ptr_array_new ();
      g_hash_table_insert (served, (gpointer) host, list);
    }
    g_ptr_array_add (list, leg);
  }

  /* Candidates: upstream legs served at the host where each leg starts, newest first. */
  for (guint i = 0; i < n_legs; i++) {
    MtdLeg *down = g_ptr_array_index (chainer->legs, i);
    const char *host = host_of (chainer, down->client.ip);
    GPtrArray *list = g_hash_table_lookup (served, host);
    if (list == NULL)
      continue;
    LegLinks *down_links = g_hash_table_lookup (links, down);
    /* An upstream leg starts before its downstream one (give or take the clocks of two inputs),
     * or, for a pooled downstream connection, before one of its requests. */
    gint64 latest_start = MAX (down->start_usec, down->end_usec) + chainer->options.window_usec;
    /* Binary search: the last leg that started no later than latest_start. */
    guint lo = 0, hi = list->len;
    while (lo < hi) {
      guint mid = lo + (hi - lo) / 2;
      const MtdLeg *leg = g_ptr_array_index (list, mid);
      if (leg->start_usec <= latest_start)
        lo = mid + 1;
      else
        hi = mid;
    }
    const guint strong_bits = MTD_MATCH_X_FORWARDED_FOR | MTD_MATCH_X_FORWARDED_HOST
                              | MTD_MATCH_X_ORIGINAL_URL | MTD_MATCH_REQUEST_ID
                              | MTD_MATCH_CERT_THUMBPRINT;
    guint n_examined = 0;
    for (guint j = lo; j > 0 && n_examined < MTD_CHAIN_MAX_CANDIDATES; j--) {
      MtdLeg *up = g_ptr_array_index (list, j - 1);
      n_examined++;
      if (!is_possible_next (chainer, up, down))
        continue;
      Candidate candidate = { up, MTD_MATCH_TIME_WINDOW };
      candidate.matched |= strcmp (up->server.ip, down->client.ip) == 0 ? MTD_MATCH_ADDRESS
                                                                        : MTD_MATCH_HOP_NAME;
      candidate.matched |= content_matches (up, down);
      /* Times that only meet through the clock tolerance need a fact that names this request
       * or this certificate. */
      if (!is_nested (up, down) && (candidate.matched & strong_bits) == 0)
        continue;
      if (down_links->candidates == NULL)
        down_links->candidates = g_array_new (FALSE, FALSE, sizeof (Candidate));
      g_array_append_val (down_links->candidates, candidate);
      LegLinks *up_links = g_hash_table_lookup (links, up);
      up_links->n_downstream++;
    }
  }

  /* Each leg takes the candidate with the most agreeing facts (the newest on a tie); address
   * and time alone are enough only when neither side has another choice. */
  const guint address_bits = MTD_MATCH_ADDRESS | MTD_MATCH_HOP_NAME | MTD_MATCH_TIME_WINDOW;
  for (guint i = 0; i < n_legs; i++) {
    MtdLeg *down = g_ptr_array_index (chainer->legs, i);
    LegLinks *down_links = g_hash_table_lookup (links, down);
    if (down_links->candidates == NULL)
      continue;
    const Candidate *best = NULL;
    guint best_score = 0;
    for (guint c = 0; c < down_links->candidates->len; c++) {
      const Candidate *candidate = &g_array_index (down_links->candidates, Candidate, c);
      guint score = (guint) __builtin_popcount (candidate->matched & ~address_bits);
      if (best == NULL || score > best_score) {
        best = candidate;
        best_score = score;
      }
    }
    if (best == NULL)
      continue;
    guint matched = best->matched;
    if ((matched & ~address_bits) == 0) {
      LegLinks *up_links = g_hash_table_lookup (links, best->up);
      if (down_links->candidates->len != 1 || up_links->n_downstream != 1)
        continue;
      matched |= MTD_MATCH_ONLY_CANDIDATE;
    }
    if (is_ancestor (links, down, best->up))
      continue; /* clocks of two inputs made each look like the other's next hop */
    down_links->parent = best->up;
    down_links->matched = matched;
    LegLinks *up_links = g_hash_table_lookup (links, best->up);
    if (up_links->children == NULL)
      up_links->children = g_ptr_array_new ();
    g_ptr_array_add (up_links->children, down);
  }

  /* The legs on which each caller address presented a readable certificate, in start order:
   * address (borrowed) -> GPtrArray of MtdLeg* (borrowed). */
  g_autoptr (GHashTable) presenters = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                             (GDestroyNotify) g_ptr_array_unref);
  for (guint i = 0; i < n_legs; i++) {
    MtdLeg *leg = g_ptr_array_index (chainer->legs, i);
    if (leg->client_sha1_hex[0] == '\0')
      continue;
    GPtrArray *list = g_hash_table_lookup (presenters, leg->client.ip);
    if (list == NULL) {
      list = g_ptr_array_new ();
      g_hash_table_insert (presenters, leg->client.ip, list);
    }
    g_ptr_array_add (list, leg);
  }

  /* A group of linked legs is settled when every leg in it is (mtd_chainer_settle). */
  for (guint i = 0; i < n_legs; i++) {
    MtdLeg *leg = g_ptr_array_index (chainer->legs, i);
    LegLinks *leg_links = g_hash_table_lookup (links, leg);
    leg_links->is_leg_settled
        = is_final
          || is_leg_settled (chainer, leg, open_since, user_data, &leg_links->is_released);
  }
  for (guint i = 0; i < n_legs; i++) {
    MtdLeg *leg = g_ptr_array_index (chainer->legs, i);
    LegLinks *leg_links = g_hash_table_lookup (links, leg);
    if (leg_links->parent == NULL)
      mark_settled (links, leg, is_subtree_settled (links, leg, 0), 0);
  }

  g_autoptr (GPtrArray) chains = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_chain_free);
  MtdLeg *path[MTD_CHAIN_MAX_HOPS];
  guint matched[MTD_CHAIN_MAX_HOPS];
  for (guint i = 0; i < n_legs; i++) {
    MtdLeg *leg = g_ptr_array_index (chainer->legs, i);
    LegLinks *leg_links = g_hash_table_lookup (links, leg);
    if (leg_links->parent == NULL && leg_links->is_settled)
      walk (chains, links, leg, path, matched, 0);
  }
  /* Legs whose links form a loop have no root (is_ancestor prevents it; this is the belt to
   * its braces): at the end each still gets a chain rather than vanishing. */
  for (guint i = 0; is_final && i < n_legs; i++) {
    MtdLeg *leg = g_ptr_array_index (chainer->legs, i);
    LegLinks *leg_links = g_hash_table_lookup (links, leg);
    if (!leg_links->is_walked)
      walk (chains, links, leg, path, matched, 0);
  }
  for (guint i = 0; i < chains->len; i++) {
    MtdChain *chain = g_ptr_array_index (chains, i);
    chain->id = ++chainer->n_chains;
    if (chain->verdict == MTD_CHAIN_NEVER_PRESENTED)
      chain->held_elsewhere = nearest_presenter (presenters, hop_at (chain, 1)->leg);
    chainer->sink (chain, chainer->sink_data);
  }
  g_clear_pointer (&chains, g_ptr_array_unref);

  /* The legs handed over go; the others wait for the next settling. */
  GPtrArray *kept = g_ptr_array_new_with_free_func ((GDestroyNotify) leg_free);
  for (guint i = 0; i < n_legs; i++) {
    MtdLeg *leg = g_ptr_array_index (chainer->legs, i);
    LegLinks *leg_links = g_hash_table_lookup (links, leg);
    chainer->legs->pdata[i] = NULL;
    if (!leg_links->is_walked) {
      g_ptr_array_add (kept, leg);
      continue;
    }
    chainer->n_released += leg_links->is_released ? 1 : 0;
    g_autofree char *key = tuple_key (&leg->client, &leg->server);
    if (g_hash_table_lookup (chainer->by_tuple, key) == leg)
      g_hash_table_remove (chainer->by_tuple, key);
    leg_free (leg);
  }
  g_ptr_array_unref (chainer->legs);
  chainer->legs = kept;
}

void
mtd_chainer_settle (MtdChainer *chainer, MtdOpenSince open_since, gpointer user_data)
{
  g_return_if_fail (!chainer->is_finished);
  /* Connections dropped at the cap count as growth: a chainer full of legs that could not
   * settle yet must go on trying, or every later connection would be dropped. */
  guint64 n_offered = chainer->legs->len + (chainer->n_dropped - chainer->n_dropped_at_settle);
  if (!chainer->options.is_streaming || n_offered < chainer->settle_at)
    return;
  emit_settled (chainer, open_since, user_data);
  guint n_held = chainer->legs->len;
  chainer->settle_at = n_held + MAX (chainer->options.settle_min_growth, n_held / 2);
  chainer->n_dropped_at_settle = chainer->n_dropped;
}

void
mtd_chainer_finish (MtdChainer *chainer)
{
  g_return_if_fail (!chainer->is_finished);
  emit_settled (chainer, NULL, NULL);
  chainer->is_finished = TRUE;
}

guint
mtd_chainer_n_held (const MtdChainer *chainer)
{
  return chainer->legs->len;
}

guint
mtd_chainer_peak_held (const MtdChainer *chainer)
{
  return chainer->peak_held;
}
