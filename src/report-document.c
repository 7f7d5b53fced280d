/* report-document.c: the Markdown and HTML reports' shared half: the runbook's decision path,
 * the verdict and top findings, ladder steps, the spools, and the sections' content, which each
 * format writes through its own primitives (report-markdown.c, report-html.c).
 *
 * The decision path follows DOMAIN.md's runbook: inbound or outbound, TLS or plain HTTP, was a
 * certificate requested (RFC 5246 §7.4.4, RFC 8446 §4.3.2, or later: RFC 8446 §4.6.2, RFC 5746),
 * what did the client send (RFC 5246 §7.4.6, RFC 8446 §4.4.2), did the server accept it, and did
 * it reach the application across the hops.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "report-document.h"

/* Handshake messages kept per TLS connection for its ladder; later ones are not drawn. */
#define LADDER_MAX_EVENTS 14
/* Distinct finding codes listed at the top with their message; the rest by name only, except
 * that no error or warning is ever left to the names-only line. */
#define TOP_FINDINGS_SHOWN 12
/* Acceptable CA names shown per connection before "and N more". */
#define MAX_CAS_SHOWN 4

/* ---- The tree ----------------------------------------------------------------------------- */

typedef struct {
  guint depth;
  gboolean is_question;
  const char *label;
  const char *conclusion;
  const char *unit;
} TreeNode;

static const TreeNode tree_nodes[MTD_DOC_N_NODES] = {
  [MTD_DOC_Q_DIRECTION] = { 0, TRUE, "Inbound or outbound?", NULL, NULL },
  [MTD_DOC_A_INBOUND] = { 1, FALSE, "inbound: a caller reaches the application (--app is the "
                                    "server)",
                          NULL, "connection" },
  [MTD_DOC_A_OUTBOUND] = { 1, FALSE, "outbound: the application calls out (--app is the "
                                     "client); its certificate must be loaded "
                                     "(WEBSITE_LOAD_CERTIFICATES)",
                           NULL, "connection" },
  [MTD_DOC_A_DIRECTION_UNKNOWN] = { 1, FALSE, "unknown (give --app ADDRESS)", NULL,
                                    "connection" },
  [MTD_DOC_Q_TRANSPORT] = { 0, TRUE, "TLS or plain HTTP?", NULL, NULL },
  [MTD_DOC_A_PLAIN_HTTP] = { 1, FALSE, "plain HTTP, not redirected",
                             "a request over plain HTTP never carries a client certificate "
                             "(turn httpsOnly on)",
                             "connection" },
  [MTD_DOC_A_PLAIN_HTTP_REDIRECTED] = { 1, FALSE, "plain HTTP, redirected to https://",
                                        "the caller is sent to HTTPS, where a certificate can "
                                        "be asked for",
                                        "connection" },
  [MTD_DOC_A_FORWARDED_HTTP] = { 1, FALSE, "plain HTTP behind a front end, or carrying a "
                                           "certificate header",
                                 "the caller's own TLS is on another leg: see whether the "
                                 "certificate reached the app, below",
                                 "connection" },
  [MTD_DOC_A_TLS] = { 1, FALSE, "TLS", NULL, "connection" },
  [MTD_DOC_Q_REQUESTED] = { 2, TRUE, "Did the server request a client certificate?", NULL,
                            NULL },
  [MTD_DOC_A_REQUESTED_NO] = { 3, FALSE, "no",
                               "the server never asked: check clientCertEnabled and "
                               "clientCertMode; with TLS 1.3 or HTTP/2 a late request cannot "
                               "happen",
                               "connection" },
  [MTD_DOC_A_REQUESTED_UNKNOWN] = { 3, FALSE, "cannot tell from the capture",
                                    "TLS 1.3 encrypts the request: give the key log (--keylog) "
                                    "or capture the whole handshake",
                                    "connection" },
  [MTD_DOC_A_REQUESTED_LATE] = { 3, FALSE, "yes, after the handshake (renegotiation or "
                                           "post-handshake authentication)",
                                 "the questions below apply to the late request",
                                 "connection" },
  [MTD_DOC_A_REQUESTED_YES] = { 3, FALSE, "yes, in the handshake", NULL, "connection" },
  [MTD_DOC_Q_PRESENTED] = { 4, TRUE, "What did the client send?", NULL, NULL },
  [MTD_DOC_A_PRESENTED_NOT_SENT] = { 5, FALSE, "no Certificate message at all",
                                     "the client has no certificate to offer for this request",
                                     "connection" },
  [MTD_DOC_A_PRESENTED_EMPTY] = { 5, FALSE, "an empty certificate list",
                                  "the client has no certificate that matches the request (its "
                                  "CAs), or none is loaded",
                                  "connection" },
  [MTD_DOC_A_PRESENTED_UNKNOWN] = { 5, FALSE, "cannot tell",
                                    "the client's flight is encrypted or missing: give the key "
                                    "log (--keylog)",
                                    "connection" },
  [MTD_DOC_A_PRESENTED_YES] = { 5, FALSE, "a certificate", NULL, "connection" },
  [MTD_DOC_Q_ACCEPTED] = { 6, TRUE, "Did the server accept it?", NULL, NULL },
  [MTD_DOC_A_REJECTED] = { 7, FALSE, "no: an alert or the close ended the handshake",
                           "the server rejected the certificate (issuer, validity, usage)",
                           "connection" },
  [MTD_DOC_A_ACCEPTED_UNKNOWN] = { 7, FALSE, "not known: the capture ends first",
                                   "capture the whole connection", "connection" },
  [MTD_DOC_A_ACCEPTED] = { 7, FALSE, "yes, the handshake completed", NULL, "connection" },
  [MTD_DOC_Q_REACHED] = { 8, TRUE, "Did the certificate reach the application?", NULL, NULL },
  [MTD_DOC_A_DROPPED] = { 9, FALSE, "dropped at a hop",
                          "a front end ended TLS and forwarded the request without the "
                          "certificate header",
                          "chain" },
  [MTD_DOC_A_HEADER_MISMATCH] = { 9, FALSE, "a certificate header that differs, or that "
                                            "nobody proved",
                                  "the application must not trust that header", "chain" },
  [MTD_DOC_A_REACHED_UNKNOWN] = { 9, FALSE, "not followed: the next hop is not in the capture",
                                  "capture at the next hop too, and analyse both files "
                                  "together",
                                  "chain" },
  [MTD_DOC_A_DELIVERED] = { 9, FALSE, "delivered",
                            "the application received the certificate: its own checks decide",
                            "chain" },
};

/* ---- The document ------------------------------------------------------------------------- */

/* The worst connection or chain, and its worst finding's sentences (owned, --redact applied). */
typedef struct {
  gboolean has_path;      /* FALSE: nothing was analysed */
  gboolean has_finding;   /* FALSE: the worst had no finding at all */
  MtdSeverity severity;
  char *where;            /* "connection #3", "chain 1" */
  gboolean is_chain;
  guint64 id;
  char *code;
  char *message;
  char *cause;
  char *next_check;
  guint n_evidence;
  MtdEvidence evidence[MTD_MAX_FINDING_EVIDENCE];
  guint dropped_at_hop;   /* a chain dropped_at_hop: the hop; else 0 */
} DocWorst;

typedef struct {
  guint64 n_connections;
  guint64 n_connections_with_problem; /* an error finding: exit status 1 */
  guint64 n_chains;
  guint64 n_chains_with_problem;
  guint64 n_chains_shown;
  guint64 n_chains_hidden;  /* single-connection chains without a problem: not drawn */
} DocCounts;

typedef struct {
  char *code;
  MtdSeverity severity;
  guint64 count;
  guint64 order;   /* when first seen */
  char *where;
  char *message;
} DocFinding;

static void
doc_finding_free (DocFinding *finding)
{
  if (finding == NULL)
    return;
  g_free (finding->code);
  g_free (finding->where);
  g_free (finding->message);
  g_free (finding);
}

/* One ladder step as it waits in the ladder file: frames and numbers only. */
typedef struct {
  guint64 frame;
  guint8 kind;
  guint8 is_from_client;
  guint8 is_problem;
  guint8 is_encrypted;
  guint8 how;
  guint8 padding[3];
  guint16 count;
  guint16 detail;
  guint8 padding2[4];
} LadderEvent;

typedef struct {
  guint64 connection_id; /* 0: no record was written there */
  guint32 n_events;
  guint32 input_index;
  LadderEvent events[LADDER_MAX_EVENTS];
} LadderRecord;

struct _MtdDocument {
  MtdSpool *connection_spools[3]; /* errors, warnings, the rest */
  /* Fixed-size LadderRecords at (connection id - 1) * sizeof (LadderRecord): the file grows
   * with the capture, memory does not.  NULL until the first TLS connection, or when no
   * temporary file could be made. */
  FILE *ladder_file;
  gboolean has_ladder_failed;
  guint64 node_counts[MTD_DOC_N_NODES];
  DocCounts counts;
  /* code (owned) -> DocFinding (owned): one entry per distinct code, a bounded set */
  GHashTable *findings;
  GPtrArray *sorted_findings; /* DocFinding*, borrowed from findings; built at the finish */
  guint64 n_findings_seen;
  /* The worst connection or chain: its rank (-1: no finding), whether it is a chain of several
   * hops, the answers it took, and its worst finding's sentences (owned). */
  gint worst_rank;
  gboolean is_worst_multi_hop;
  gboolean worst_path[MTD_DOC_N_NODES];
  DocWorst worst;
  /* While mtd_report_document_finish writes to the report itself: the inputs, whose paths go
   * straight in instead of a stand-in (borrowed; NULL otherwise). */
  const MtdInputInfo *const *finish_inputs;
  guint n_finish_inputs;
};

MtdDocument *
mtd_document_new (void)
{
  MtdDocument *document = g_new0 (MtdDocument, 1);
  document->findings = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                              (GDestroyNotify) doc_finding_free);
  document->worst_rank = -2;
  return document;
}

static void
clear_worst (DocWorst *worst)
{
  g_free (worst->where);
  g_free (worst->code);
  g_free (worst->message);
  g_free (worst->cause);
  g_free (worst->next_check);
  memset (worst, 0, sizeof *worst);
}

void
mtd_document_free (MtdDocument *document)
{
  if (document == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (document->connection_spools); i++)
    mtd_spool_drain (document->connection_spools[i], NULL);
  if (document->ladder_file != NULL)
    fclose (document->ladder_file);
  if (document->sorted_findings != NULL)
    g_ptr_array_unref (document->sorted_findings);
  g_hash_table_unref (document->findings);
  clear_worst (&document->worst);
  g_free (document);
}

static const MtdDocWriter *
writer_of (const MtdReport *report)
{
  return report->format == MTD_REPORT_HTML ? &mtd_html_writer : &mtd_markdown_writer;
}

/* Free text as --redact lets it be kept: a new string, NULL for NULL. */
static char *
scrubbed_copy (MtdReport *report, const char *text)
{
  g_autofree char *owned = NULL;
  const char *shown = mtd_report_scrub (report, text, &owned);
  return owned != NULL ? g_steal_pointer (&owned) : g_strdup (shown);
}

static gint
rank_of (const MtdDiagnosis *diagnosis)
{
  if (diagnosis == NULL || diagnosis->findings == NULL || diagnosis->findings->len == 0)
    return -1;
  return (gint) diagnosis->worst;
}

static void
note_findings (MtdReport *report, MtdDocument *document, const MtdDiagnosis *diagnosis,
               const char *where)
{
  for (guint i = 0; diagnosis != NULL && diagnosis->findings != NULL
                    && i < diagnosis->findings->len;
       i++) {
    const MtdFinding *finding = g_ptr_array_index (diagnosis->findings, i);
    DocFinding *entry = g_hash_table_lookup (document->findings, finding->code);
    if (entry == NULL) {
      entry = g_new0 (DocFinding, 1);
      entry->code = g_strdup (finding->code);
      entry->severity = finding->severity;
      entry->order = document->n_findings_seen++;
      entry->where = g_strdup (where);
      entry->message = scrubbed_copy (report, finding->message != NULL ? finding->message : "");
      g_hash_table_insert (document->findings, entry->code, entry);
    }
    entry->severity = MAX (entry->severity, finding->severity);
    entry->count++;
  }
}

/* Keeps the path of the worst so far: a higher rank wins; at the same rank a chain of several
 * hops wins over what is not one, since it follows the certificate further. */
static void
consider_worst (MtdReport *report, MtdDocument *document, const MtdDiagnosis *diagnosis,
                const gboolean *path, const char *where, gboolean is_chain, guint64 id,
                gboolean is_multi_hop, guint dropped_at_hop)
{
  gint rank = rank_of (diagnosis);
  if (rank < document->worst_rank)
    return;
  if (rank == document->worst_rank && (document->is_worst_multi_hop || !is_multi_hop))
    return;
  document->worst_rank = rank;
  document->is_worst_multi_hop = is_multi_hop;
  memcpy (document->worst_path, path, sizeof document->worst_path);
  DocWorst *worst = &document->worst;
  clear_worst (worst);
  worst->has_path = TRUE;
  worst->where = g_strdup (where);
  worst->is_chain = is_chain;
  worst->id = id;
  worst->dropped_at_hop = dropped_at_hop;
  if (rank < 0)
    return;
  const MtdFinding *finding = g_ptr_array_index (diagnosis->findings, 0);
  worst->has_finding = TRUE;
  worst->severity = finding->severity;
  worst->code = g_strdup (finding->code);
  worst->message = scrubbed_copy (report, finding->message);
  worst->cause = scrubbed_copy (report, finding->cause);
  worst->next_check = scrubbed_copy (report, finding->next_check);
  worst->n_evidence = MIN (finding->n_evidence, MTD_MAX_FINDING_EVIDENCE);
  memcpy (worst->evidence, finding->evidence, worst->n_evidence * sizeof (MtdEvidence));
}

static gboolean
has_code (const MtdDiagnosis *diagnosis, const char *code)
{
  for (guint i = 0; diagnosis != NULL && diagnosis->findings != NULL
                    && i < diagnosis->findings->len;
       i++) {
    const MtdFinding *finding = g_ptr_array_index (diagnosis->findings, i);
    if (g_strcmp0 (finding->code, code) == 0)
      return TRUE;
  }
  return FALSE;
}

/* Whether the certificate was asked for only after the first handshake: the connection's
 * verdict is then the first late request's (docs/json-schema.md, "late_auth"). */
static gboolean
is_requested_late (const MtdTlsFacts *tls)
{
  if (tls->late_auths == NULL || tls->late_auths->len == 0 || tls->requested.n_frames == 0)
    return FALSE;
  const MtdLateAuth *late = &g_array_index (tls->late_auths, MtdLateAuth, 0);
  return tls->requested.frames[0] >= late->frame;
}

/* requested and presented as the tree answers them; path[] gets the answers. */
static void
path_from_verdicts (gboolean *path, gint requested, gint presented, gboolean is_late,
                    gboolean is_rejected, gint handshake_state)
{
  path[MTD_DOC_A_TLS] = TRUE;
  if (requested == MTD_REQUESTED_NO) {
    path[MTD_DOC_A_REQUESTED_NO] = TRUE;
    return;
  }
  if (requested != MTD_REQUESTED_YES) {
    path[MTD_DOC_A_REQUESTED_UNKNOWN] = TRUE;
    return;
  }
  path[is_late ? MTD_DOC_A_REQUESTED_LATE : MTD_DOC_A_REQUESTED_YES] = TRUE;
  switch (presented) {
  case MTD_PRESENTED_NO:
    path[MTD_DOC_A_PRESENTED_NOT_SENT] = TRUE;
    return;
  case MTD_PRESENTED_EMPTY:
    path[MTD_DOC_A_PRESENTED_EMPTY] = TRUE;
    return;
  case MTD_PRESENTED_YES:
    path[MTD_DOC_A_PRESENTED_YES] = TRUE;
    break;
  default:
    path[MTD_DOC_A_PRESENTED_UNKNOWN] = TRUE;
    return;
  }
  if (is_rejected || handshake_state == 0)
    path[MTD_DOC_A_REJECTED] = TRUE;
  else if (handshake_state < 0)
    path[MTD_DOC_A_ACCEPTED_UNKNOWN] = TRUE;
  else
    path[MTD_DOC_A_ACCEPTED] = TRUE;
}

static void
connection_path (const MtdConnection *connection, const MtdDiagnosis *diagnosis, gboolean *path)
{
  switch (connection->direction) {
  case MTD_DIRECTION_INBOUND:
    path[MTD_DOC_A_INBOUND] = TRUE;
    break;
  case MTD_DIRECTION_OUTBOUND:
    path[MTD_DOC_A_OUTBOUND] = TRUE;
    break;
  case MTD_DIRECTION_UNKNOWN:
  default:
    path[MTD_DOC_A_DIRECTION_UNKNOWN] = TRUE;
    break;
  }
  const MtdTlsFacts *tls = connection->tls;
  if (tls == NULL) {
    if (connection->http == NULL && connection->app_protocol != MTD_APP_HTTP)
      return;
    if (has_code (diagnosis, "PLAIN_HTTP"))
      path[MTD_DOC_A_PLAIN_HTTP] = TRUE;
    else if (has_code (diagnosis, "HTTP_REDIRECTED_TO_HTTPS"))
      path[MTD_DOC_A_PLAIN_HTTP_REDIRECTED] = TRUE;
    else
      path[MTD_DOC_A_FORWARDED_HTTP] = TRUE;
    return;
  }
  gboolean is_rejected = has_code (diagnosis, "CERT_REJECTED")
                         || has_code (diagnosis, "HANDSHAKE_ALERT");
  path_from_verdicts (path, tls->requested.value, tls->presented.value, is_requested_late (tls),
                      is_rejected, mtd_report_handshake_state (connection));
}

static gboolean
label_has (const char *label, const char *code)
{
  return label != NULL && strstr (label, code) != NULL;
}

/* A chain's path from its first hop (what the caller did) and its verdict (how far the
 * certificate went).  The direction is left to the finish: legs do not carry it. */
static void
chain_path (const MtdChain *chain, gboolean *path)
{
  const MtdChainHop *first = &g_array_index (chain->hops, MtdChainHop, 0);
  const MtdLeg *leg = first->leg;
  if (leg->protocol == MTD_APP_TLS) {
    gboolean is_rejected = label_has (leg->findings_label, "CERT_REJECTED")
                           || label_has (leg->findings_label, "HANDSHAKE_ALERT");
    path_from_verdicts (path, leg->requested.value, leg->presented.value, FALSE, is_rejected, 1);
    if (!path[MTD_DOC_A_ACCEPTED])
      return;
  } else if (chain->verdict == MTD_CHAIN_PLAIN_HTTP) {
    const MtdLegRequest *request = first->first_request;
    gboolean is_redirect = request != NULL && request->status >= 300 && request->status < 400;
    path[is_redirect ? MTD_DOC_A_PLAIN_HTTP_REDIRECTED : MTD_DOC_A_PLAIN_HTTP] = TRUE;
    return;
  } else {
    path[MTD_DOC_A_FORWARDED_HTTP] = TRUE;
  }
  switch (chain->verdict) {
  case MTD_CHAIN_DELIVERED:
    path[MTD_DOC_A_DELIVERED] = TRUE;
    break;
  case MTD_CHAIN_DROPPED_AT_HOP:
    path[MTD_DOC_A_DROPPED] = TRUE;
    break;
  case MTD_CHAIN_HEADER_MISMATCH:
    path[MTD_DOC_A_HEADER_MISMATCH] = TRUE;
    break;
  default:
    path[MTD_DOC_A_REACHED_UNKNOWN] = TRUE;
    break;
  }
}

void
mtd_document_tree (const MtdDocument *document, MtdDocTreeItem *items)
{
  gboolean taken[MTD_DOC_N_NODES];
  memcpy (taken, document->worst_path, sizeof taken);
  /* A chain's path has no direction: when every connection had the same, it is that one. */
  static const MtdDocNode directions[] = { MTD_DOC_A_INBOUND, MTD_DOC_A_OUTBOUND,
                                           MTD_DOC_A_DIRECTION_UNKNOWN };
  guint n_directions = 0;
  gboolean has_direction = FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (directions); i++) {
    n_directions += document->node_counts[directions[i]] > 0 ? 1 : 0;
    has_direction |= taken[directions[i]];
  }
  if (!has_direction && document->worst.has_path && n_directions == 1)
    for (gsize i = 0; i < G_N_ELEMENTS (directions); i++)
      taken[directions[i]] = document->node_counts[directions[i]] > 0;
  for (guint node = 0; node < MTD_DOC_N_NODES; node++) {
    MtdDocTreeItem *item = &items[node];
    const TreeNode *definition = &tree_nodes[node];
    item->depth = definition->depth;
    item->is_question = definition->is_question;
    item->label = definition->label;
    item->conclusion = definition->conclusion;
    item->unit = definition->unit;
    item->count = document->node_counts[node];
    item->is_taken = taken[node];
  }
  /* A question is on the path when one of its answers is. */
  for (guint node = 0; node < MTD_DOC_N_NODES; node++) {
    if (!items[node].is_question)
      continue;
    for (guint answer = node + 1; answer < MTD_DOC_N_NODES && !items[answer].is_question;
         answer++)
      items[node].is_taken |= items[answer].is_taken;
  }
}

static gint
compare_findings (gconstpointer a, gconstpointer b)
{
  const DocFinding *x = *(const DocFinding *const *) a;
  const DocFinding *y = *(const DocFinding *const *) b;
  if (x->severity != y->severity)
    return x->severity > y->severity ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order ? 1 : 0;
}

static void
sort_findings (MtdDocument *document)
{
  if (document->sorted_findings != NULL)
    g_ptr_array_unref (document->sorted_findings);
  document->sorted_findings = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, document->findings);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (document->sorted_findings, value);
  g_ptr_array_sort (document->sorted_findings, compare_findings);
}

/* ---- Ladder records ----------------------------------------------------------------------- */

/* The event added, NULL when there is no frame or no room. */
static LadderEvent *
add_event (LadderRecord *record, MtdLadderKind kind, guint64 frame, gboolean is_from_client,
           gboolean is_problem, MtdHow how, guint count, guint detail)
{
  if (frame == 0 || record->n_events >= LADDER_MAX_EVENTS)
    return NULL;
  LadderEvent *event = &record->events[record->n_events++];
  event->frame = frame;
  event->kind = (guint8) kind;
  event->is_from_client = is_from_client ? 1 : 0;
  event->is_problem = is_problem ? 1 : 0;
  event->how = (guint8) how;
  event->count = (guint16) MIN (count, G_MAXUINT16);
  event->detail = (guint16) MIN (detail, G_MAXUINT16);
  return event;
}

static void
add_certificate_event (LadderRecord *record, MtdLadderKind kind, const MtdVerdict *requested,
                       const MtdVerdict *presented, guint n_certificates)
{
  if (requested->value != MTD_REQUESTED_YES || presented->n_frames == 0)
    return;
  guint64 frame = presented->frames[0];
  if (presented->value == MTD_PRESENTED_YES || presented->value == MTD_PRESENTED_EMPTY)
    add_event (record, kind, frame, TRUE, presented->value == MTD_PRESENTED_EMPTY,
               presented->how, presented->value == MTD_PRESENTED_YES ? n_certificates : 0,
               (guint) presented->value);
  else if (presented->value == MTD_PRESENTED_NO)
    add_event (record, MTD_LADDER_NO_CERTIFICATE, frame, TRUE, TRUE, presented->how, 0, 0);
}

static gint
compare_events (gconstpointer a, gconstpointer b)
{
  const LadderEvent *x = a;
  const LadderEvent *y = b;
  return x->frame < y->frame ? -1 : x->frame > y->frame ? 1 : 0;
}

/* Writes the handshake messages of a TLS connection into the ladder file at its id's place. */
static void
store_ladder_record (MtdDocument *document, const MtdConnection *connection)
{
  const MtdTlsFacts *tls = connection->tls;
  if (tls == NULL || document->has_ladder_failed || connection->id == 0
      || connection->id - 1 > (guint64) G_MAXINT64 / sizeof (LadderRecord) - 1)
    return;
  if (document->ladder_file == NULL) {
    document->ladder_file = tmpfile ();
    if (document->ladder_file == NULL) {
      document->has_ladder_failed = TRUE;
      return;
    }
  }
  LadderRecord record;
  memset (&record, 0, sizeof record);
  record.connection_id = connection->id;
  record.input_index = connection->input_index;
  add_event (&record, MTD_LADDER_CLIENT_HELLO, tls->client_hello_frame, TRUE, FALSE,
             MTD_HOW_OBSERVED, 0, 0);
  add_event (&record, MTD_LADDER_SERVER_HELLO, tls->server_hello_frame, FALSE, FALSE,
             MTD_HOW_OBSERVED, 0, 0);
  guint n_client_certs = tls->client_chain != NULL ? tls->client_chain->len : 0;
  gboolean is_late = is_requested_late (tls);
  if (!is_late && tls->requested.value == MTD_REQUESTED_YES && tls->requested.n_frames > 0)
    add_event (&record, MTD_LADDER_CERT_REQUEST, tls->requested.frames[0], FALSE, FALSE,
               tls->requested.how, 0, 0);
  if (!is_late)
    add_certificate_event (&record, MTD_LADDER_CERTIFICATE, &tls->requested, &tls->presented,
                           n_client_certs);
  for (guint i = 0; tls->late_auths != NULL && i < tls->late_auths->len; i++) {
    const MtdLateAuth *late = &g_array_index (tls->late_auths, MtdLateAuth, i);
    guint64 frame = late->requested.n_frames > 0 ? late->requested.frames[0] : late->frame;
    add_event (&record, MTD_LADDER_LATE_REQUEST, frame, FALSE, FALSE, late->how, 0,
               (guint) late->kind);
    add_certificate_event (&record, MTD_LADDER_LATE_CERTIFICATE, &late->requested,
                           &late->presented, n_client_certs);
  }
  for (guint i = 0; tls->alerts != NULL && i < tls->alerts->len; i++) {
    const MtdTlsAlert *alert = &g_array_index (tls->alerts, MtdTlsAlert, i);
    /* close_notify (0) is how a connection ends, not a failure (RFC 8446 §6.1). */
    gboolean is_problem = alert->is_encrypted || alert->description != 0;
    LadderEvent *event
        = add_event (&record, MTD_LADDER_ALERT, alert->frame, alert->is_from_client, is_problem,
                     alert->is_decrypted ? MTD_HOW_DECRYPTED : MTD_HOW_OBSERVED, alert->level,
                     alert->description);
    if (event != NULL)
      event->is_encrypted = alert->is_encrypted && !alert->is_decrypted;
  }
  qsort (record.events, record.n_events, sizeof (LadderEvent), compare_events);
  off_t offset = (off_t) ((connection->id - 1) * sizeof (LadderRecord));
  if (pwrite (fileno (document->ladder_file), &record, sizeof record, offset)
      != (ssize_t) sizeof record)
    document->has_ladder_failed = TRUE;
}

static gboolean
load_ladder_record (const MtdDocument *document, guint64 connection_id, LadderRecord *record)
{
  if (document->ladder_file == NULL || document->has_ladder_failed || connection_id == 0
      || connection_id - 1 > (guint64) G_MAXINT64 / sizeof (LadderRecord) - 1)
    return FALSE;
  off_t offset = (off_t) ((connection_id - 1) * sizeof (LadderRecord));
  if (pread (fileno (document->ladder_file), record, sizeof *record, offset)
      != (ssize_t) sizeof *record)
    return FALSE;
  return record->connection_id == connection_id && record->n_events <= LADDER_MAX_EVENTS;
}

/* The step added (valid until the next one), NULL when there is no frame. */
static MtdLadderStep *
add_step (GArray *steps, guint hop, const MtdLeg *leg, MtdLadderKind kind, guint64 frame,
          gboolean is_from_client, gboolean is_problem, MtdHow how, guint count, guint detail)
{
  if (frame == 0)
    return NULL;
  MtdLadderStep step = {
    .hop = hop,
    .input_index = leg->input_index,
    .frame = frame,
    .kind = kind,
    .is_from_client = is_from_client,
    .is_problem = is_problem,
    .how = how,
    .count = count,
    .detail = detail,
  };
  g_array_append_val (steps, step);
  return &g_array_index (steps, MtdLadderStep, steps->len - 1);
}

static gint
compare_steps_by_frame (gconstpointer a, gconstpointer b)
{
  const MtdLadderStep *x = a;
  const MtdLadderStep *y = b;
  if (x->frame != y->frame)
    return x->frame < y->frame ? -1 : 1;
  if (x->hop != y->hop)
    return x->hop < y->hop ? -1 : 1;
  return x->kind < y->kind ? -1 : x->kind > y->kind ? 1 : 0;
}

static gint
compare_steps_by_hop (gconstpointer a, gconstpointer b)
{
  const MtdLadderStep *x = a;
  const MtdLadderStep *y = b;
  if (x->hop != y->hop)
    return x->hop < y->hop ? -1 : 1;
  return compare_steps_by_frame (a, b);
}

/* The steps of a chain's ladder, by frame when its hops are of one input, else hop by hop:
 * a new array of MtdLadderStep. */
static GArray *
chain_ladder (MtdReport *report, const MtdChain *chain)
{
  GArray *steps = g_array_new (FALSE, TRUE, sizeof (MtdLadderStep));
  gboolean is_one_input = TRUE;
  const MtdLeg *first_leg = g_array_index (chain->hops, MtdChainHop, 0).leg;
  for (guint k = 1; k <= chain->hops->len; k++) {
    const MtdChainHop *hop = &g_array_index (chain->hops, MtdChainHop, k - 1);
    const MtdLeg *leg = hop->leg;
    is_one_input &= leg->input_index == first_leg->input_index;
    LadderRecord record;
    if (leg->protocol == MTD_APP_TLS && load_ladder_record (report->document, leg->connection_id,
                                                            &record)) {
      for (guint i = 0; i < record.n_events; i++) {
        const LadderEvent *event = &record.events[i];
        MtdLadderStep *step = add_step (steps, k, leg, (MtdLadderKind) event->kind, event->frame,
                                        event->is_from_client, event->is_problem,
                                        (MtdHow) event->how, event->count, event->detail);
        if (step != NULL)
          step->is_encrypted = event->is_encrypted;
      }
    } else if (leg->protocol == MTD_APP_TLS) {
      /* No record (--summary-only never asks; a failed temporary file): what the leg keeps. */
      if (leg->requested.value == MTD_REQUESTED_YES && leg->requested.n_frames > 0)
        add_step (steps, k, leg, MTD_LADDER_CERT_REQUEST, leg->requested.frames[0], FALSE, FALSE,
                  leg->requested.how, 0, 0);
      if (leg->requested.value == MTD_REQUESTED_YES && leg->presented.n_frames > 0) {
        gint presented = leg->presented.value;
        add_step (steps, k, leg,
                  presented == MTD_PRESENTED_NO ? MTD_LADDER_NO_CERTIFICATE
                                                : MTD_LADDER_CERTIFICATE,
                  leg->presented.frames[0], TRUE, presented != MTD_PRESENTED_YES,
                  leg->presented.how, 0, (guint) presented);
      }
    }
    for (guint i = 0; i < leg->requests->len; i++) {
      const MtdLegRequest *request = g_ptr_array_index (leg->requests, i);
      MtdHow how = leg->protocol == MTD_APP_TLS ? MTD_HOW_DECRYPTED : MTD_HOW_OBSERVED;
      MtdLadderStep *step = add_step (steps, k, leg, MTD_LADDER_HTTP_REQUEST,
                                      request->request_frame, TRUE, FALSE, how, 0, 0);
      if (step != NULL)
        step->request = request;
      if (request->status == 0)
        continue;
      step = add_step (steps, k, leg, MTD_LADDER_HTTP_RESPONSE, request->status_frame, FALSE,
                       request->status >= 400, how, (guint) request->status, 0);
      if (step != NULL)
        step->request = request;
    }
  }
  /* Frame numbers order the steps only within one input. */
  g_array_sort (steps, is_one_input ? compare_steps_by_frame : compare_steps_by_hop);
  return steps;
}

const char *
mtd_document_ladder_label (const MtdLadderStep *step, char *buf, gsize buf_len)
{
  const char *how = step->how == MTD_HOW_INFERRED    ? " (inferred)"
                    : step->how == MTD_HOW_DECRYPTED ? " (decrypted)"
                                                     : "";
  char name[48];
  switch (step->kind) {
  case MTD_LADDER_CLIENT_HELLO:
    g_strlcpy (buf, "ClientHello", buf_len);
    break;
  case MTD_LADDER_SERVER_HELLO:
    g_strlcpy (buf, "ServerHello", buf_len);
    break;
  case MTD_LADDER_CERT_REQUEST:
    g_snprintf (buf, buf_len, "CertificateRequest%s", how);
    break;
  case MTD_LADDER_CERTIFICATE:
  case MTD_LADDER_LATE_CERTIFICATE: {
    const char *prefix = step->kind == MTD_LADDER_LATE_CERTIFICATE ? "late " : "";
    if (step->detail == MTD_PRESENTED_EMPTY)
      g_snprintf (buf, buf_len, "%sCertificate, empty list%s", prefix, how);
    else if (step->count == 1)
      g_snprintf (buf, buf_len, "%sCertificate, 1 certificate%s", prefix, how);
    else if (step->count > 1)
      g_snprintf (buf, buf_len, "%sCertificate, chain of %u%s", prefix, step->count, how);
    else
      g_snprintf (buf, buf_len, "%sCertificate%s", prefix, how);
    break;
  }
  case MTD_LADDER_NO_CERTIFICATE:
    g_snprintf (buf, buf_len, "client's flight without a Certificate%s", how);
    break;
  case MTD_LADDER_ALERT:
    if (step->is_encrypted)
      g_strlcpy (buf, "alert (encrypted)", buf_len);
    else
      g_snprintf (buf, buf_len, "%s alert %s%s",
                  step->count == 2   ? "fatal"
                  : step->count == 1 ? "warning"
                                     : "level?",
                  mtd_tls_alert_name ((guint8) step->detail, name, sizeof name), how);
    break;
  case MTD_LADDER_LATE_REQUEST:
    g_snprintf (buf, buf_len, "%s%s",
                step->detail == MTD_LATE_AUTH_RENEGOTIATION ? "renegotiation"
                                                            : "post-handshake CertificateRequest",
                how);
    break;
  case MTD_LADDER_HTTP_REQUEST:
    g_strlcpy (buf, "request", buf_len);
    break;
  case MTD_LADDER_HTTP_RESPONSE:
  default:
    g_snprintf (buf, buf_len, "%u", step->count);
    break;
  }
  return buf;
}

/* ---- Frames ------------------------------------------------------------------------------- */

static GArray *
frames_new (void)
{
  return g_array_new (FALSE, TRUE, sizeof (MtdEvidence));
}

static void
frames_add (GArray *frames, guint input_index, guint64 frame)
{
  if (frame == 0)
    return;
  MtdEvidence evidence = { input_index, frame };
  g_array_append_val (frames, evidence);
}

static void
frames_add_verdict (GArray *frames, guint input_index, const MtdVerdict *verdict)
{
  for (guint i = 0; i < MIN (verdict->n_frames, MTD_MAX_EVIDENCE_FRAMES); i++)
    frames_add (frames, input_index, verdict->frames[i]);
}

static void
frames_add_diagnosis (GArray *frames, const MtdDiagnosis *diagnosis)
{
  for (guint i = 0; diagnosis != NULL && diagnosis->findings != NULL
                    && i < diagnosis->findings->len;
       i++) {
    const MtdFinding *finding = g_ptr_array_index (diagnosis->findings, i);
    for (guint e = 0; e < MIN (finding->n_evidence, MTD_MAX_FINDING_EVIDENCE); e++)
      frames_add (frames, finding->evidence[e].input_index,
                               finding->evidence[e].frame);
  }
}

static gint
compare_evidence (gconstpointer a, gconstpointer b)
{
  const MtdEvidence *x = a;
  const MtdEvidence *y = b;
  if (x->input_index != y->input_index)
    return x->input_index < y->input_index ? -1 : 1;
  return x->frame < y->frame ? -1 : x->frame > y->frame ? 1 : 0;
}

static void
frames_sort (GArray *frames)
{
  g_array_sort (frames, compare_evidence);
  guint n_kept = 0;
  for (guint i = 0; i < frames->len; i++) {
    const MtdEvidence *evidence = &g_array_index (frames, MtdEvidence, i);
    if (n_kept > 0 && compare_evidence (evidence, &g_array_index (frames, MtdEvidence,
                                                                  n_kept - 1))
                          == 0)
      continue;
    g_array_index (frames, MtdEvidence, n_kept++) = *evidence;
  }
  g_array_set_size (frames, n_kept);
}

/* The stand-in for an input's path: bytes no writer lets through from any text (both escape
 * every control character), so they cannot be forged. */
#define INPUT_MARK_START '\001'
#define INPUT_MARK_END '\002'

static void
put_path_of_input (MtdReport *report, FILE *out, const MtdInputInfo *const *inputs,
                   guint n_inputs, guint64 input_index)
{
  const MtdDocWriter *writer = writer_of (report);
  if (inputs != NULL && input_index < n_inputs)
    writer->input_path (report, out, inputs[input_index]->path);
  else
    writer->input_path (report, out, "FILE");
}

void
mtd_document_put_input_path (MtdReport *report, FILE *out, guint input_index)
{
  const MtdDocument *document = report->document;
  if (document->finish_inputs != NULL)
    put_path_of_input (report, out, document->finish_inputs, document->n_finish_inputs,
                       input_index);
  else
    fprintf (out, "%c%u%c", INPUT_MARK_START, input_index, INPUT_MARK_END);
}

void
mtd_document_put_tshark_line (MtdReport *report, FILE *out, guint input_index, guint64 frame)
{
  fputs ("tshark -r ", out);
  mtd_document_put_input_path (report, out, input_index);
  fprintf (out, " -Y frame.number==%" G_GUINT64_FORMAT "\n", frame);
}

char *
mtd_document_shell_word (const char *path)
{
  g_autoptr (GString) cleaned = g_string_new (NULL);
  const char *p = path;
  const char *end = path + strlen (path);
  gboolean is_plain = p < end;
  while (p < end) {
    const char *start = p;
    guint8 invalid_byte = 0;
    gunichar c = mtd_report_next_char (&p, end, &invalid_byte);
    if (c == MTD_REPORT_INVALID_CHAR || c < 0x20 || (c >= 0x7F && c < 0xA0)) {
      g_string_append_c (cleaned, '?');
      is_plain = FALSE;
      continue;
    }
    is_plain &= c < 0x80 && (g_ascii_isalnum ((char) c) || strchr ("-_./,:=@%+", (int) c));
    g_string_append_len (cleaned, start, p - start);
  }
  if (is_plain)
    return g_string_free (g_steal_pointer (&cleaned), FALSE);
  return g_shell_quote (cleaned->str);
}

/* Copies a spool into the report with each input stand-in replaced by its path, and frees
 * the spool.  FALSE when the spool could not be read back. */
static gboolean
drain_spool (MtdReport *report, MtdSpool *spool, const MtdInputInfo *const *inputs,
             guint n_inputs)
{
  if (spool == NULL)
    return TRUE;
  FILE *out = report->out;
  gboolean is_ok = !ferror (spool->file);
  FILE *in = spool->file;
  if (spool->is_memory) {
    is_ok &= fclose (spool->file) == 0;
    in = fmemopen (spool->memory, spool->memory_len, "r");
    is_ok &= in != NULL || spool->memory_len == 0;
  } else {
    is_ok &= fflush (in) == 0 && fseek (in, 0, SEEK_SET) == 0;
  }
  gboolean is_in_mark = FALSE;
  guint64 index = 0;
  char buffer[16 * 1024];
  size_t n_read;
  while (is_ok && in != NULL && (n_read = fread (buffer, 1, sizeof buffer, in)) > 0) {
    const char *p = buffer;
    const char *end = buffer + n_read;
    while (p < end) {
      if (!is_in_mark) {
        const char *mark = memchr (p, INPUT_MARK_START, (size_t) (end - p));
        const char *span_end = mark != NULL ? mark : end;
        fwrite (p, 1, (size_t) (span_end - p), out);
        p = span_end;
        if (mark != NULL) {
          is_in_mark = TRUE;
          index = 0;
          p++;
        }
      } else if (*p == INPUT_MARK_END) {
        is_in_mark = FALSE;
        put_path_of_input (report, out, inputs, n_inputs, index);
        p++;
      } else {
        if (*p >= '0' && *p <= '9' && index < G_MAXUINT32)
          index = index * 10 + (guint64) (*p - '0');
        p++;
      }
    }
  }
  if (in != NULL)
    is_ok &= !ferror (in);
  if (in != NULL)
    fclose (in);
  free (spool->memory);
  g_free (spool->buffer); /* the temporary file's stdio buffer, free only once it is closed */
  g_free (spool);
  return is_ok;
}

/* ---- The sections' content ---------------------------------------------------------------- */

static void
put_text (MtdReport *report, FILE *out, const char *text)
{
  writer_of (report)->text (report, out, text);
}

static void
put_untrusted (MtdReport *report, FILE *out, const char *text)
{
  writer_of (report)->untrusted (report, out, text);
}

static void G_GNUC_PRINTF (3, 4)
put_textf (MtdReport *report, FILE *out, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *text = g_strdup_vprintf (format, args);
  va_end (args);
  put_text (report, out, text);
}

static void
put_code (MtdReport *report, FILE *out, const char *code)
{
  writer_of (report)->code (report, out, code);
}

static void
put_dn (MtdReport *report, FILE *out, const char *dn)
{
  const char *shown = mtd_report_dn (report, dn);
  if (dn != NULL && shown == NULL)
    put_text (report, out, "(redacted)");
  else
    put_untrusted (report, out, shown);
}

static void
put_endpoint (MtdReport *report, FILE *out, const MtdEndpoint *endpoint)
{
  const char *ip = mtd_report_ip (report, endpoint->ip);
  gboolean is_ipv6 = strchr (ip, ':') != NULL;
  if (is_ipv6)
    put_text (report, out, "[");
  put_untrusted (report, out, ip);
  put_textf (report, out, "%s:%u", is_ipv6 ? "]" : "", endpoint->port);
}

static void
put_hop_endpoint (MtdReport *report, FILE *out, const MtdEndpoint *endpoint,
                  GHashTable *hop_names)
{
  put_endpoint (report, out, endpoint);
  const char *name = hop_names != NULL ? g_hash_table_lookup (hop_names, endpoint->ip) : NULL;
  if (name != NULL) {
    put_text (report, out, " (");
    put_untrusted (report, out, name);
    put_text (report, out, ")");
  }
}

static const char *
severity_class (const MtdDiagnosis *diagnosis)
{
  if (rank_of (diagnosis) < 0)
    return "none";
  return mtd_severity_name (diagnosis->worst);
}

/* "yes (observed, frames 6, 8)" */
static void
put_verdict (MtdReport *report, FILE *out, const char *value, const MtdVerdict *verdict)
{
  put_code (report, out, value);
  const char *how = mtd_how_name (verdict->how);
  guint n_frames = MIN (verdict->n_frames, MTD_MAX_EVIDENCE_FRAMES);
  if (how == NULL && n_frames == 0)
    return;
  put_textf (report, out, " (%s", how != NULL ? how : "evidence");
  for (guint i = 0; i < n_frames; i++)
    put_textf (report, out, "%s%" G_GUINT64_FORMAT,
               i == 0 ? (n_frames == 1 ? ", frame " : ", frames ") : ", ", verdict->frames[i]);
  put_text (report, out, ")");
}

static void
row_begin (MtdReport *report, FILE *out, const char *label)
{
  const MtdDocWriter *writer = writer_of (report);
  writer->row_begin (report, out, NULL);
  writer->cell_begin (report, out, TRUE);
  put_text (report, out, label);
  writer->cell_end (report, out, TRUE);
  writer->cell_begin (report, out, FALSE);
}

static void
row_end (MtdReport *report, FILE *out)
{
  const MtdDocWriter *writer = writer_of (report);
  writer->cell_end (report, out, FALSE);
  writer->row_end (report, out);
}

static void
cell (MtdReport *report, FILE *out, gboolean is_first)
{
  const MtdDocWriter *writer = writer_of (report);
  if (!is_first)
    writer->cell_end (report, out, FALSE);
  writer->cell_begin (report, out, FALSE);
}

static void
put_direction_value (MtdReport *report, FILE *out, const MtdConnection *connection)
{
  const char *guess = mtd_direction_guess (connection);
  if (connection->direction != MTD_DIRECTION_UNKNOWN)
    put_text (report, out, mtd_direction_name (connection->direction));
  else if (guess != NULL)
    put_textf (report, out, "unknown (no --app address here), %s", guess);
  else
    put_text (report, out, "unknown (give --app ADDRESS)");
}

static void
put_connection_facts (MtdReport *report, FILE *out, const MtdConnection *connection)
{
  const MtdDocWriter *writer = writer_of (report);
  static const char *const headers[] = { "fact", "value" };
  writer->table_begin (report, out, "facts", headers, G_N_ELEMENTS (headers));
  row_begin (report, out, "endpoints");
  put_endpoint (report, out, &connection->client);
  put_text (report, out, connection->is_role_guessed ? " → (roles guessed) " : " → ");
  put_endpoint (report, out, &connection->server);
  row_end (report, out);

  row_begin (report, out, "frames");
  put_textf (report, out, "%" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT " of input %u",
             connection->first_frame, connection->last_frame, connection->input_index + 1);
  char start[MTD_REPORT_TIME_LEN];
  char end[MTD_REPORT_TIME_LEN];
  if (mtd_report_format_usec (connection->start_usec, start, sizeof start)
      && mtd_report_format_usec (connection->end_usec, end, sizeof end))
    put_textf (report, out, ", %s to %s", start, end);
  put_textf (report, out, ", %" G_GUINT64_FORMAT " packets, end: ", connection->n_packets);
  put_untrusted (report, out, connection->end_reason);
  if (connection->is_incomplete)
    put_text (report, out, " (incomplete: bytes are missing)");
  row_end (report, out);

  row_begin (report, out, "direction");
  put_direction_value (report, out, connection);
  row_end (report, out);

  const MtdTlsFacts *tls = connection->tls;
  row_begin (report, out, "protocol");
  char buf[64];
  if (tls != NULL)
    put_text (report, out,
              tls->version != 0 ? mtd_tls_version_name (tls->version, buf, sizeof buf)
                                : "TLS (version unknown)");
  else if (connection->http != NULL || connection->app_protocol == MTD_APP_HTTP)
    put_text (report, out,
              connection->is_h2_prior_knowledge ? "HTTP/2 in clear (prior knowledge)"
                                                : "plain HTTP");
  else
    put_text (report, out, "other");
  if (connection->ndpi_protocol != NULL) {
    put_text (report, out, " (nDPI: ");
    put_untrusted (report, out, connection->ndpi_protocol);
    put_text (report, out, ")");
  }
  if (connection->has_starttls) {
    put_text (report, out, ", STARTTLS in ");
    put_untrusted (report, out, connection->starttls_protocol != NULL
                                    ? connection->starttls_protocol
                                    : "unknown");
  }
  row_end (report, out);
  if (tls == NULL) {
    writer->table_end (report, out);
    return;
  }

  if (tls->sni != NULL) {
    row_begin (report, out, "SNI");
    put_untrusted (report, out, tls->sni);
    row_end (report, out);
  }
  if (tls->alpn != NULL) {
    row_begin (report, out, "ALPN");
    put_untrusted (report, out, tls->alpn);
    row_end (report, out);
  }
  row_begin (report, out, "handshake");
  static const char *const handshake_words[] = { "not complete", "complete",
                                                 "not complete when the capture stops" };
  gint state = mtd_report_handshake_state (connection);
  put_text (report, out, handshake_words[state < 0 ? 2 : state]);
  if (tls->has_cipher_suite)
    put_textf (report, out, ", %s", mtd_tls_cipher_suite_name (tls->cipher_suite, buf, sizeof buf));
  if (tls->is_resumed)
    put_text (report, out, ", resumed session");
  if (tls->has_post_handshake_auth_offer)
    put_text (report, out, ", client offered post-handshake authentication");
  if (tls->client_hello_frame != 0)
    put_textf (report, out, ", ClientHello frame %" G_GUINT64_FORMAT, tls->client_hello_frame);
  if (tls->server_hello_frame != 0)
    put_textf (report, out, ", ServerHello frame %" G_GUINT64_FORMAT, tls->server_hello_frame);
  row_end (report, out);
  if (tls->decrypt_status != MTD_DECRYPT_NOT_ATTEMPTED) {
    row_begin (report, out, "decryption");
    put_code (report, out, mtd_decrypt_status_name (tls->decrypt_status));
    put_textf (report, out, " (%" G_GUINT64_FORMAT " records)", tls->n_records_decrypted);
    if (tls->decrypt_failure_frame != 0)
      put_textf (report, out, ", frame %" G_GUINT64_FORMAT " did not decrypt",
                 tls->decrypt_failure_frame);
    row_end (report, out);
  }
  row_begin (report, out, "certificate requested");
  put_verdict (report, out, mtd_requested_name (tls->requested.value), &tls->requested);
  if (tls->requested.reason != NULL) {
    put_text (report, out, ": ");
    put_untrusted (report, out, tls->requested.reason);
  }
  row_end (report, out);
  row_begin (report, out, "certificate presented");
  put_verdict (report, out, mtd_presented_name (tls->presented.value), &tls->presented);
  if (tls->presented.value == MTD_PRESENTED_EMPTY)
    put_text (report, out, " (a Certificate message with an empty list)");
  else if (tls->presented.value == MTD_PRESENTED_NO)
    put_text (report, out, " (no Certificate message at all)");
  if (tls->presented.reason != NULL
      && g_strcmp0 (tls->presented.reason, tls->requested.reason) != 0) {
    put_text (report, out, ": ");
    put_untrusted (report, out, tls->presented.reason);
  }
  row_end (report, out);
  if (tls->acceptable_cas != NULL && tls->acceptable_cas->len > 0) {
    row_begin (report, out, "acceptable CAs");
    guint n_shown = MIN (tls->acceptable_cas->len, MAX_CAS_SHOWN);
    for (guint i = 0; i < n_shown; i++) {
      if (i > 0)
        put_text (report, out, "; ");
      put_dn (report, out, g_ptr_array_index (tls->acceptable_cas, i));
    }
    if (tls->acceptable_cas->len > n_shown)
      put_textf (report, out, " and %u more", tls->acceptable_cas->len - n_shown);
    row_end (report, out);
  }
  if (connection->client_chain_check != MTD_CHAIN_NOT_CHECKED) {
    row_begin (report, out, "client chain against --ca");
    put_code (report, out, mtd_chain_check_name (connection->client_chain_check));
    if (connection->client_chain_error != NULL) {
      put_text (report, out, ": ");
      put_untrusted (report, out, connection->client_chain_error);
    }
    row_end (report, out);
  }
  if (connection->has_expected_thumbprints) {
    row_begin (report, out, "--expect-thumbprint");
    put_text (report, out, connection->is_thumbprint_expected ? "an expected certificate"
                                                              : "not an expected certificate");
    row_end (report, out);
  }
  writer->table_end (report, out);
}

static void
put_late_auths (MtdReport *report, FILE *out, const MtdConnection *connection)
{
  const MtdTlsFacts *tls = connection->tls;
  if (tls == NULL || tls->late_auths == NULL || tls->late_auths->len == 0)
    return;
  const MtdDocWriter *writer = writer_of (report);
  writer->heading_begin (report, out, 4, NULL, NULL);
  put_text (report, out, "Late certificate requests");
  writer->heading_end (report, out, 4);
  writer->list_begin (report, out, "late");
  for (guint i = 0; i < tls->late_auths->len; i++) {
    const MtdLateAuth *late = &g_array_index (tls->late_auths, MtdLateAuth, i);
    writer->item_begin (report, out, NULL);
    put_textf (report, out, "%s from frame %" G_GUINT64_FORMAT " (%s): requested ",
               late->kind == MTD_LATE_AUTH_RENEGOTIATION ? "renegotiation"
                                                         : "post-handshake authentication",
               late->frame, mtd_how_name (late->how) != NULL ? mtd_how_name (late->how) : "-");
    put_verdict (report, out, mtd_requested_name (late->requested.value), &late->requested);
    put_text (report, out, ", presented ");
    put_verdict (report, out, mtd_presented_name (late->presented.value), &late->presented);
    const MtdHttpExchange *trigger = mtd_connection_late_auth_trigger (connection, late);
    if (trigger != NULL) {
      put_text (report, out, "; triggered by ");
      put_untrusted (report, out, trigger->method);
      put_text (report, out, " ");
      put_untrusted (report, out, trigger->path);
      put_textf (report, out, " (frame %" G_GUINT64_FORMAT ")", trigger->request_frame);
    }
    const char *reason = late->presented.reason != NULL ? late->presented.reason
                                                        : late->requested.reason;
    if (reason != NULL) {
      put_text (report, out, ": ");
      put_untrusted (report, out, reason);
    }
    writer->item_end (report, out);
  }
  writer->list_end (report, out);
}

static void
put_alerts (MtdReport *report, FILE *out, const MtdConnection *connection)
{
  const MtdTlsFacts *tls = connection->tls;
  if (tls == NULL || tls->alerts == NULL || tls->alerts->len == 0)
    return;
  const MtdDocWriter *writer = writer_of (report);
  writer->heading_begin (report, out, 4, NULL, NULL);
  put_text (report, out, "Alerts");
  writer->heading_end (report, out, 4);
  writer->list_begin (report, out, "alerts");
  for (guint i = 0; i < tls->alerts->len; i++) {
    const MtdTlsAlert *alert = &g_array_index (tls->alerts, MtdTlsAlert, i);
    writer->item_begin (report, out, NULL);
    char buf[48];
    if (alert->is_encrypted && !alert->is_decrypted)
      put_textf (report, out, "encrypted alert from the %s, frame %" G_GUINT64_FORMAT,
                 alert->is_from_client ? "client" : "server", alert->frame);
    else
      put_textf (report, out, "%s %s from the %s, frame %" G_GUINT64_FORMAT "%s",
                 alert->level == 2   ? "fatal"
                 : alert->level == 1 ? "warning"
                                     : "level?",
                 mtd_tls_alert_name (alert->description, buf, sizeof buf),
                 alert->is_from_client ? "client" : "server", alert->frame,
                 alert->is_decrypted ? " (decrypted)" : "");
    writer->item_end (report, out);
  }
  writer->list_end (report, out);
}

static void
put_cert_row (MtdReport *report, FILE *out, const char *role, const MtdCert *cert,
              const MtdConnection *connection)
{
  const MtdDocWriter *writer = writer_of (report);
  writer->row_begin (report, out, NULL);
  cell (report, out, TRUE);
  put_text (report, out, role);
  cell (report, out, FALSE);
  put_dn (report, out, cert->subject);
  cell (report, out, FALSE);
  put_dn (report, out, cert->issuer);
  cell (report, out, FALSE);
  put_code (report, out, cert->sha1_hex);
  cell (report, out, FALSE);
  char not_before[MTD_REPORT_TIME_LEN];
  char not_after[MTD_REPORT_TIME_LEN];
  if (!mtd_report_format_seconds (cert->not_before, not_before, sizeof not_before))
    g_strlcpy (not_before, "?", sizeof not_before);
  if (!mtd_report_format_seconds (cert->not_after, not_after, sizeof not_after))
    g_strlcpy (not_after, "?", sizeof not_after);
  put_textf (report, out, "%s to %s (%s at capture)", not_before, not_after,
             mtd_cert_validity_name (mtd_report_cert_validity (cert, connection)));
  if (mtd_report_shows_serials (report)) {
    cell (report, out, FALSE);
    put_untrusted (report, out, cert->serial_hex);
  }
  cell (report, out, FALSE);
  gboolean shows_emails = mtd_report_shows_serials (report);
  guint n_shown = 0;
  for (guint i = 0; cert->sans != NULL && i < cert->sans->len; i++) {
    const char *san = g_ptr_array_index (cert->sans, i);
    if (!shows_emails && g_str_has_prefix (san, "email:"))
      continue;
    if (n_shown++ > 0)
      put_text (report, out, ", ");
    put_untrusted (report, out, san);
  }
  writer->cell_end (report, out, FALSE);
  writer->row_end (report, out);
}

static void
put_certificates (MtdReport *report, FILE *out, const MtdConnection *connection)
{
  const MtdTlsFacts *tls = connection->tls;
  guint n_client = tls != NULL && tls->client_chain != NULL ? tls->client_chain->len : 0;
  guint n_server = tls != NULL && tls->server_chain != NULL ? tls->server_chain->len : 0;
  if (n_client + n_server == 0)
    return;
  const MtdDocWriter *writer = writer_of (report);
  writer->heading_begin (report, out, 4, NULL, NULL);
  put_text (report, out, "Certificates");
  writer->heading_end (report, out, 4);
  static const char *const with_serials[] = { "role",     "subject", "issuer", "SHA-1",
                                              "validity", "serial",  "SAN" };
  static const char *const without_serials[] = { "role",     "subject", "issuer",
                                                 "SHA-1",    "validity", "SAN" };
  if (mtd_report_shows_serials (report))
    writer->table_begin (report, out, "certs", with_serials, G_N_ELEMENTS (with_serials));
  else
    writer->table_begin (report, out, "certs", without_serials, G_N_ELEMENTS (without_serials));
  for (guint i = 0; i < n_client; i++)
    put_cert_row (report, out, i == 0 ? "client leaf" : "client chain",
                  g_ptr_array_index (tls->client_chain, i), connection);
  for (guint i = 0; i < n_server; i++)
    put_cert_row (report, out, i == 0 ? "server leaf" : "server chain",
                  g_ptr_array_index (tls->server_chain, i), connection);
  writer->table_end (report, out);
}

static void
put_cert_headers (MtdReport *report, FILE *out, const MtdConnection *connection,
                  guint exchange_index)
{
  guint n_shown = 0;
  for (guint i = 0; connection->cert_headers != NULL && i < connection->cert_headers->len; i++) {
    const MtdConnCertHeader *entry = g_ptr_array_index (connection->cert_headers, i);
    if (entry->exchange_index != exchange_index)
      continue;
    const MtdCertHeader *header = entry->header;
    if (n_shown++ > 0)
      put_text (report, out, "; ");
    put_untrusted (report, out, header->name);
    put_textf (report, out, ": %s, %s", mtd_cert_encoding_name (header->encoding),
               header->is_valid ? "valid" : "not usable");
    if (header->cert != NULL) {
      put_text (report, out, ", ");
      put_dn (report, out, header->cert->subject);
      put_text (report, out, ", SHA-1 ");
      put_code (report, out, header->cert->sha1_hex);
    }
    if (header->problem != NULL) {
      put_text (report, out, " (");
      put_untrusted (report, out, header->problem);
      put_text (report, out, ")");
    }
  }
  if (n_shown == 0)
    put_text (report, out, "none");
}

static void
put_http (MtdReport *report, FILE *out, const MtdConnection *connection)
{
  if (connection->http == NULL || connection->http->len == 0)
    return;
  const MtdDocWriter *writer = writer_of (report);
  writer->heading_begin (report, out, 4, NULL, NULL);
  put_text (report, out, "HTTP exchanges");
  writer->heading_end (report, out, 4);
  static const char *const headers[] = { "frame", "request", "response", "certificate headers" };
  writer->table_begin (report, out, "http", headers, G_N_ELEMENTS (headers));
  for (guint i = 0; i < connection->http->len; i++) {
    const MtdHttpExchange *exchange = g_ptr_array_index (connection->http, i);
    writer->row_begin (report, out, exchange->status >= 400 ? "problem" : NULL);
    cell (report, out, TRUE);
    put_textf (report, out, "%" G_GUINT64_FORMAT, exchange->request_frame);
    cell (report, out, FALSE);
    put_untrusted (report, out, exchange->method);
    put_text (report, out, " ");
    if (exchange->host != NULL)
      put_untrusted (report, out, exchange->host);
    put_untrusted (report, out, exchange->path);
    if (exchange->version != NULL) {
      put_text (report, out, " ");
      put_untrusted (report, out, exchange->version);
    }
    cell (report, out, FALSE);
    if (exchange->status != 0) {
      put_textf (report, out, "%d (frame %" G_GUINT64_FORMAT ")", exchange->status,
                 exchange->status_frame);
      if (exchange->location != NULL) {
        put_text (report, out, " Location ");
        put_untrusted (report, out, exchange->location);
      }
    } else {
      put_text (report, out, "none in the capture");
    }
    cell (report, out, FALSE);
    put_cert_headers (report, out, connection, i);
    writer->cell_end (report, out, FALSE);
    writer->row_end (report, out);
  }
  writer->table_end (report, out);
  if (connection->n_http_dropped > 0) {
    writer->block_begin (report, out, NULL);
    put_textf (report, out, "And %u more requests, counted but not kept.",
               connection->n_http_dropped);
    writer->block_end (report, out);
  }
}

static void
put_warnings (MtdReport *report, FILE *out, const MtdConnection *connection)
{
  gboolean has_anomaly = FALSE;
  for (guint i = 0; i < MTD_ANOMALY_COUNT; i++)
    has_anomaly |= connection->anomalies.counts[i] > 0;
  if ((connection->warnings == NULL || connection->warnings->len == 0) && !has_anomaly)
    return;
  const MtdDocWriter *writer = writer_of (report);
  writer->heading_begin (report, out, 4, NULL, NULL);
  put_text (report, out, "Warnings");
  writer->heading_end (report, out, 4);
  writer->list_begin (report, out, "warnings");
  for (guint i = 0; connection->warnings != NULL && i < connection->warnings->len; i++) {
    writer->item_begin (report, out, NULL);
    put_untrusted (report, out, g_ptr_array_index (connection->warnings, i));
    writer->item_end (report, out);
  }
  for (guint i = 0; i < MTD_ANOMALY_COUNT; i++) {
    guint32 count = connection->anomalies.counts[i];
    if (count == 0)
      continue;
    writer->item_begin (report, out, NULL);
    put_code (report, out, mtd_anomaly_name (i));
    put_textf (report, out, ": %s (%u time%s)", mtd_anomaly_description (i), count,
               count == 1 ? "" : "s");
    writer->item_end (report, out);
  }
  writer->list_end (report, out);
}

static void
put_severity_badge (MtdReport *report, FILE *out, MtdSeverity severity)
{
  const MtdDocWriter *writer = writer_of (report);
  const char *name = mtd_severity_name (severity);
  writer->strong_begin (report, out, name);
  put_text (report, out, severity == MTD_SEVERITY_ERROR     ? "ERROR"
                         : severity == MTD_SEVERITY_WARNING ? "WARNING"
                                                            : "INFO");
  writer->strong_end (report, out);
}

static void
put_findings (MtdReport *report, FILE *out, const MtdDiagnosis *diagnosis)
{
  if (diagnosis == NULL || diagnosis->findings == NULL || diagnosis->findings->len == 0)
    return;
  const MtdDocWriter *writer = writer_of (report);
  writer->heading_begin (report, out, 4, NULL, NULL);
  put_text (report, out, "Findings");
  writer->heading_end (report, out, 4);
  writer->list_begin (report, out, "findings");
  for (guint i = 0; i < diagnosis->findings->len; i++) {
    const MtdFinding *finding = g_ptr_array_index (diagnosis->findings, i);
    writer->item_begin (report, out, mtd_severity_name (finding->severity));
    put_severity_badge (report, out, finding->severity);
    put_text (report, out, " ");
    put_code (report, out, finding->code);
    put_text (report, out, ": ");
    put_untrusted (report, out, finding->message);
    if (finding->cause != NULL) {
      writer->line_break (report, out);
      put_text (report, out, "Cause: ");
      put_untrusted (report, out, finding->cause);
    }
    if (finding->next_check != NULL) {
      writer->line_break (report, out);
      put_text (report, out, "Next check: ");
      put_untrusted (report, out, finding->next_check);
    }
    guint n_evidence = MIN (finding->n_evidence, MTD_MAX_FINDING_EVIDENCE);
    if (n_evidence > 0) {
      writer->line_break (report, out);
      put_text (report, out, "Evidence: ");
      for (guint e = 0; e < n_evidence; e++)
        put_textf (report, out, "%sframe %" G_GUINT64_FORMAT " of input %u", e > 0 ? ", " : "",
                   finding->evidence[e].frame, finding->evidence[e].input_index + 1);
    }
    writer->item_end (report, out);
  }
  writer->list_end (report, out);
}

/* The tshark command that opens each cited frame. */
static void
put_frame_commands (MtdReport *report, FILE *out, GArray *frames)
{
  frames_sort (frames);
  if (frames->len == 0)
    return;
  const MtdDocWriter *writer = writer_of (report);
  writer->heading_begin (report, out, 4, NULL, NULL);
  put_text (report, out, "Open the cited frames");
  writer->heading_end (report, out, 4);
  writer->commands_begin (report, out);
  for (guint i = 0; i < frames->len; i++) {
    const MtdEvidence *evidence = &g_array_index (frames, MtdEvidence, i);
    writer->command (report, out, evidence->input_index, evidence->frame);
  }
  writer->commands_end (report, out);
}

static void
put_connection_section (MtdReport *report, FILE *out, const MtdConnection *connection,
                        const MtdDiagnosis *diagnosis)
{
  const MtdDocWriter *writer = writer_of (report);
  char anchor[48];
  g_snprintf (anchor, sizeof anchor, "connection-%" G_GUINT64_FORMAT, connection->id);
  writer->section_item_begin (report, out, anchor, severity_class (diagnosis));
  writer->heading_begin (report, out, 3, anchor, severity_class (diagnosis));
  put_textf (report, out, "Connection #%" G_GUINT64_FORMAT ": ", connection->id);
  put_endpoint (report, out, &connection->client);
  put_text (report, out, " → ");
  put_endpoint (report, out, &connection->server);
  if (rank_of (diagnosis) >= 0) {
    put_text (report, out, " — ");
    put_text (report, out, mtd_severity_name (diagnosis->worst));
  }
  writer->heading_end (report, out, 3);
  put_connection_facts (report, out, connection);
  put_late_auths (report, out, connection);
  put_alerts (report, out, connection);
  put_certificates (report, out, connection);
  put_http (report, out, connection);
  put_warnings (report, out, connection);
  put_findings (report, out, diagnosis);

  g_autoptr (GArray) frames = frames_new ();
  guint input = connection->input_index;
  const MtdTlsFacts *tls = connection->tls;
  if (tls != NULL) {
    frames_add (frames, input, tls->client_hello_frame);
    frames_add_verdict (frames, input, &tls->requested);
    frames_add_verdict (frames, input, &tls->presented);
    for (guint i = 0; tls->late_auths != NULL && i < tls->late_auths->len; i++) {
      const MtdLateAuth *late = &g_array_index (tls->late_auths, MtdLateAuth, i);
      frames_add (frames, input, late->frame);
      frames_add_verdict (frames, input, &late->requested);
      frames_add_verdict (frames, input, &late->presented);
      const MtdHttpExchange *trigger = mtd_connection_late_auth_trigger (connection, late);
      if (trigger != NULL)
        frames_add (frames, input, trigger->request_frame);
    }
    for (guint i = 0; tls->alerts != NULL && i < tls->alerts->len; i++)
      frames_add (frames, input, g_array_index (tls->alerts, MtdTlsAlert, i).frame);
    frames_add (frames, input, tls->decrypt_failure_frame);
  }
  for (guint i = 0; connection->http != NULL && i < connection->http->len; i++) {
    const MtdHttpExchange *exchange = g_ptr_array_index (connection->http, i);
    frames_add (frames, input, exchange->request_frame);
    frames_add (frames, input, exchange->status_frame);
  }
  frames_add_diagnosis (frames, diagnosis);
  put_frame_commands (report, out, frames);
  writer->section_item_end (report, out);
}

/* A request's method and path, cut for a ladder's label. */
static void
put_request_label (MtdReport *report, FILE *out, const MtdLegRequest *request)
{
  put_untrusted (report, out, request->method);
  put_text (report, out, " ");
  put_untrusted (report, out, request->path);
  if (request->cert_header != NULL) {
    put_text (report, out, " with ");
    put_untrusted (report, out, request->cert_header->name);
  }
}

/* A step's words: the request's method and path for a request, else our label. */
static void
put_step_label (MtdReport *report, FILE *out, const MtdLadderStep *step)
{
  char buf[96];
  if (step->kind == MTD_LADDER_HTTP_REQUEST && step->request != NULL)
    put_request_label (report, out, step->request);
  else
    put_text (report, out, mtd_document_ladder_label (step, buf, sizeof buf));
}

static void
put_ladder_table (MtdReport *report, FILE *out, const MtdChain *chain, GArray *steps,
                  GHashTable *hop_names)
{
  const MtdDocWriter *writer = writer_of (report);
  static const char *const headers[] = { "frame", "hop", "from", "to", "message" };
  writer->table_begin (report, out, "ladder", headers, G_N_ELEMENTS (headers));
  gboolean is_one_input = TRUE;
  for (guint i = 1; i < steps->len; i++)
    is_one_input &= g_array_index (steps, MtdLadderStep, i).input_index
                    == g_array_index (steps, MtdLadderStep, 0).input_index;
  for (guint i = 0; i < steps->len; i++) {
    const MtdLadderStep *step = &g_array_index (steps, MtdLadderStep, i);
    const MtdLeg *leg = g_array_index (chain->hops, MtdChainHop, step->hop - 1).leg;
    writer->row_begin (report, out, step->is_problem ? "problem" : NULL);
    cell (report, out, TRUE);
    put_textf (report, out, "%" G_GUINT64_FORMAT, step->frame);
    if (!is_one_input)
      put_textf (report, out, " (input %u)", step->input_index + 1);
    cell (report, out, FALSE);
    put_textf (report, out, "%u", step->hop);
    cell (report, out, FALSE);
    put_hop_endpoint (report, out, step->is_from_client ? &leg->client : &leg->server, hop_names);
    cell (report, out, FALSE);
    put_hop_endpoint (report, out, step->is_from_client ? &leg->server : &leg->client, hop_names);
    cell (report, out, FALSE);
    if (step->is_problem)
      writer->strong_begin (report, out, "problem");
    put_step_label (report, out, step);
    if (step->kind == MTD_LADDER_HTTP_RESPONSE && step->request != NULL) {
      put_text (report, out, " to ");
      put_untrusted (report, out, step->request->method);
      put_text (report, out, " ");
      put_untrusted (report, out, step->request->path);
    }
    if (step->is_problem)
      writer->strong_end (report, out);
    writer->cell_end (report, out, FALSE);
    writer->row_end (report, out);
  }
  writer->table_end (report, out);
}

static void
put_hops_table (MtdReport *report, FILE *out, const MtdChain *chain, GHashTable *hop_names)
{
  const MtdDocWriter *writer = writer_of (report);
  static const char *const headers[] = { "hop", "from → to", "connection", "client certificate",
                                         "request", "linked by" };
  writer->table_begin (report, out, "hops", headers, G_N_ELEMENTS (headers));
  char buf[64];
  for (guint k = 1; k <= chain->hops->len; k++) {
    const MtdChainHop *hop = &g_array_index (chain->hops, MtdChainHop, k - 1);
    const MtdLeg *leg = hop->leg;
    writer->row_begin (report, out, k == chain->dropped_at_hop ? "problem" : NULL);
    cell (report, out, TRUE);
    put_textf (report, out, "%u", k);
    cell (report, out, FALSE);
    put_hop_endpoint (report, out, &leg->client, hop_names);
    put_text (report, out, " → ");
    put_hop_endpoint (report, out, &leg->server, hop_names);
    cell (report, out, FALSE);
    put_textf (report, out, "#%" G_GUINT64_FORMAT ", input %u, ", leg->connection_id,
               leg->input_index + 1);
    if (leg->protocol == MTD_APP_TLS)
      put_text (report, out, leg->tls_version != 0
                                 ? mtd_tls_version_name (leg->tls_version, buf, sizeof buf)
                                 : "TLS (version unknown)");
    else
      put_text (report, out, "plain HTTP");
    cell (report, out, FALSE);
    if (leg->protocol == MTD_APP_TLS) {
      put_text (report, out, "requested ");
      put_verdict (report, out, mtd_requested_name (leg->requested.value), &leg->requested);
      put_text (report, out, ", presented ");
      put_verdict (report, out, mtd_presented_name (leg->presented.value), &leg->presented);
      if (leg->client_sha1_hex[0] != '\0') {
        put_text (report, out, ", SHA-1 ");
        put_code (report, out, leg->client_sha1_hex);
      }
    } else if (hop->cert_request != NULL) {
      const MtdLegCertHeader *header = hop->cert_request->cert_header;
      put_text (report, out, "header ");
      put_untrusted (report, out, header->name);
      put_textf (report, out, " (%s, %s", mtd_cert_encoding_name (header->encoding),
                 header->is_valid ? "valid" : "not usable");
      if (header->sha1_hex[0] != '\0') {
        put_text (report, out, ", SHA-1 ");
        put_code (report, out, header->sha1_hex);
      }
      put_textf (report, out, ", frame %" G_GUINT64_FORMAT ")", header->frame);
    } else {
      put_text (report, out, "no certificate header");
    }
    cell (report, out, FALSE);
    const MtdLegRequest *request = hop->cert_request != NULL ? hop->cert_request
                                                             : hop->first_request;
    if (request != NULL) {
      put_untrusted (report, out, request->method);
      put_text (report, out, " ");
      put_untrusted (report, out, request->path);
      put_textf (report, out, " (frame %" G_GUINT64_FORMAT ")", request->request_frame);
      if (request->status != 0)
        put_textf (report, out, " → %d (frame %" G_GUINT64_FORMAT ")", request->status,
                   request->status_frame);
    } else {
      put_text (report, out, "-");
    }
    cell (report, out, FALSE);
    if (k > 1) {
      const char *names[16];
      guint n_names = mtd_match_names (hop->matched_by, names);
      for (guint i = 0; i < n_names; i++)
        put_textf (report, out, "%s%s", i > 0 ? ", " : "", names[i]);
    } else {
      put_text (report, out, "-");
    }
    writer->cell_end (report, out, FALSE);
    writer->row_end (report, out);
  }
  writer->table_end (report, out);
}

static void
put_chain_section (MtdReport *report, FILE *out, const MtdChain *chain,
                   const MtdDiagnosis *diagnosis, GHashTable *hop_names)
{
  const MtdDocWriter *writer = writer_of (report);
  char anchor[32];
  g_snprintf (anchor, sizeof anchor, "chain-%u", chain->id);
  writer->section_item_begin (report, out, anchor, severity_class (diagnosis));
  writer->heading_begin (report, out, 3, anchor, severity_class (diagnosis));
  put_textf (report, out, "Chain %u: ", chain->id);
  put_code (report, out, mtd_chain_verdict_name (chain->verdict));
  if (chain->dropped_at_hop != 0)
    put_textf (report, out, " at hop %u", chain->dropped_at_hop);
  put_textf (report, out, " (%u hop%s)", chain->hops->len, chain->hops->len == 1 ? "" : "s");
  writer->heading_end (report, out, 3);
  writer->block_begin (report, out, NULL);
  put_untrusted (report, out, chain->reason);
  writer->block_end (report, out);

  g_autoptr (GArray) steps = chain_ladder (report, chain);
  writer->ladder (report, out, chain, steps, hop_names);
  put_ladder_table (report, out, chain, steps, hop_names);
  put_hops_table (report, out, chain, hop_names);
  put_findings (report, out, diagnosis);

  g_autoptr (GArray) frames = frames_new ();
  for (guint i = 0; i < steps->len; i++) {
    const MtdLadderStep *step = &g_array_index (steps, MtdLadderStep, i);
    frames_add (frames, step->input_index, step->frame);
  }
  for (guint k = 0; k < chain->hops->len; k++) {
    const MtdLeg *leg = g_array_index (chain->hops, MtdChainHop, k).leg;
    frames_add_verdict (frames, leg->input_index, &leg->requested);
    frames_add_verdict (frames, leg->input_index, &leg->presented);
  }
  frames_add_diagnosis (frames, diagnosis);
  put_frame_commands (report, out, frames);
  writer->section_item_end (report, out);
}

/* ---- The top ------------------------------------------------------------------------------ */

static void
put_verdict_sentence (MtdReport *report, FILE *out, const MtdDocument *document)
{
  const DocWorst *worst = &document->worst;
  const DocCounts *counts = &document->counts;
  if (!worst->has_path) {
    put_text (report, out, "Nothing to judge: the capture holds no TCP connection.");
    return;
  }
  if (worst->has_finding && worst->severity == MTD_SEVERITY_ERROR) {
    put_text (report, out, "Client-certificate problem: ");
    put_code (report, out, worst->code);
    put_textf (report, out, " in %s.", worst->where);
    return;
  }
  put_textf (report, out, "No client-certificate problem found in %" G_GUINT64_FORMAT
                          " connection%s",
             counts->n_connections, counts->n_connections == 1 ? "" : "s");
  if (worst->has_finding && worst->severity == MTD_SEVERITY_WARNING) {
    put_text (report, out, "; the worst finding is a warning: ");
    put_code (report, out, worst->code);
    put_textf (report, out, " in %s.", worst->where);
  } else {
    put_text (report, out, ".");
  }
}

static void
put_evidence_commands (MtdReport *report, FILE *out, const DocWorst *worst)
{
  g_autoptr (GArray) frames = frames_new ();
  for (guint e = 0; e < worst->n_evidence; e++)
    frames_add (frames, worst->evidence[e].input_index, worst->evidence[e].frame);
  frames_sort (frames);
  if (frames->len == 0)
    return;
  const MtdDocWriter *writer = writer_of (report);
  writer->commands_begin (report, out);
  for (guint i = 0; i < frames->len; i++) {
    const MtdEvidence *evidence = &g_array_index (frames, MtdEvidence, i);
    writer->command (report, out, evidence->input_index, evidence->frame);
  }
  writer->commands_end (report, out);
}

static void
put_top (MtdReport *report, FILE *out, const MtdInputInfo *const *inputs, guint n_inputs)
{
  MtdDocument *document = report->document;
  const MtdDocWriter *writer = writer_of (report);
  writer->heading_begin (report, out, 1, "top", NULL);
  put_text (report, out, "Client-certificate report");
  if (n_inputs > 0 && inputs != NULL) {
    put_text (report, out, ": ");
    g_autofree char *base = g_path_get_basename (inputs[0]->path);
    put_untrusted (report, out, base);
    if (n_inputs > 1)
      put_textf (report, out, " and %u more", n_inputs - 1);
  }
  writer->heading_end (report, out, 1);
  if (report->redaction != MTD_REDACT_NONE) {
    writer->block_begin (report, out, "redacted");
    writer->strong_begin (report, out, NULL);
    put_text (report, out, "This report is redacted");
    writer->strong_end (report, out);
    put_text (report, out, report->redaction == MTD_REDACT_ALL
                               ? " (--redact=all): addresses are pseudonyms (host-N); certificate "
                                 "serials, e-mail addresses, subjects and issuers are left out."
                               : " (--redact): addresses are pseudonyms (host-N); certificate "
                                 "serials and e-mail addresses are left out.");
    writer->block_end (report, out);
  }

  writer->heading_begin (report, out, 2, "verdict", NULL);
  put_text (report, out, "Verdict");
  writer->heading_end (report, out, 2);
  const DocWorst *worst = &document->worst;
  writer->block_begin (report, out,
                       worst->has_finding ? mtd_severity_name (worst->severity) : "none");
  writer->strong_begin (report, out, NULL);
  put_verdict_sentence (report, out, document);
  writer->strong_end (report, out);
  writer->block_end (report, out);
  const DocCounts *counts = &document->counts;
  writer->block_begin (report, out, NULL);
  put_textf (report, out,
             "%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " connections and %" G_GUINT64_FORMAT
             " of %" G_GUINT64_FORMAT " request chains have a client-certificate problem.",
             counts->n_connections_with_problem, counts->n_connections,
             counts->n_chains_with_problem, counts->n_chains);
  writer->block_end (report, out);

  sort_findings (document);
  const GPtrArray *sorted = document->sorted_findings;
  guint n_listed = sorted->len;
  if (n_listed > 0) {
    writer->heading_begin (report, out, 3, "top-findings", NULL);
    put_text (report, out, "Top findings");
    writer->heading_end (report, out, 3);
    writer->list_begin (report, out, "findings");
    guint n_shown = 0;
    for (; n_shown < n_listed; n_shown++) {
      const DocFinding *finding = g_ptr_array_index (sorted, n_shown);
      if (n_shown >= TOP_FINDINGS_SHOWN && finding->severity == MTD_SEVERITY_INFO)
        break;
      writer->item_begin (report, out, mtd_severity_name (finding->severity));
      put_severity_badge (report, out, finding->severity);
      put_text (report, out, " ");
      put_code (report, out, finding->code);
      put_textf (report, out, " (%" G_GUINT64_FORMAT "×, first in %s): ", finding->count,
                 finding->where);
      put_untrusted (report, out, finding->message);
      writer->item_end (report, out);
    }
    if (n_shown < n_listed) {
      writer->item_begin (report, out, "info");
      put_text (report, out, "Also (info): ");
      for (guint i = n_shown; i < n_listed; i++) {
        if (i > n_shown)
          put_text (report, out, ", ");
        put_code (report, out, ((const DocFinding *) g_ptr_array_index (sorted, i))->code);
      }
      writer->item_end (report, out);
    }
    writer->list_end (report, out);
  }

  writer->heading_begin (report, out, 2, "decision-path", NULL);
  put_text (report, out, "Decision path");
  writer->heading_end (report, out, 2);
  writer->block_begin (report, out, NULL);
  if (worst->has_path)
    put_textf (report, out,
               "The runbook's questions, with the answers of the worst %s (%s) marked. The "
               "counts say how many connections (for the last question: request chains) "
               "took each answer.",
               worst->is_chain ? "request chain" : "connection", worst->where);
  else
    put_text (report, out, "The runbook's questions; no connection took any of them.");
  writer->block_end (report, out);
  MtdDocTreeItem items[MTD_DOC_N_NODES];
  mtd_document_tree (document, items);
  writer->tree (report, out, items);
  if (worst->has_finding) {
    writer->block_begin (report, out, "cause");
    writer->strong_begin (report, out, NULL);
    put_text (report, out, "Cause");
    writer->strong_end (report, out);
    put_text (report, out, " (");
    put_code (report, out, worst->code);
    put_textf (report, out, " in %s", worst->where);
    if (worst->dropped_at_hop != 0)
      put_textf (report, out, ", dropped at hop %u", worst->dropped_at_hop);
    put_text (report, out, "): ");
    put_untrusted (report, out, worst->cause != NULL ? worst->cause : worst->message);
    if (worst->next_check != NULL) {
      writer->line_break (report, out);
      writer->strong_begin (report, out, NULL);
      put_text (report, out, "Next check");
      writer->strong_end (report, out);
      put_text (report, out, ": ");
      put_untrusted (report, out, worst->next_check);
    }
    writer->block_end (report, out);
    put_evidence_commands (report, out, worst);
  }
}

/* ---- The environment ---------------------------------------------------------------------- */

static void
put_environment (MtdReport *report, FILE *out, const MtdInputInfo *const *inputs,
                 guint n_inputs, const MtdSummary *summary)
{
  const MtdDocWriter *writer = writer_of (report);
  writer->heading_begin (report, out, 2, "environment", NULL);
  put_text (report, out, "Environment");
  writer->heading_end (report, out, 2);
  static const char *const input_headers[] = { "input", "path", "SHA-256", "packets",
                                               "time range", "link type" };
  writer->table_begin (report, out, "inputs", input_headers, G_N_ELEMENTS (input_headers));
  for (guint i = 0; inputs != NULL && i < n_inputs; i++) {
    const MtdInputInfo *info = inputs[i];
    writer->row_begin (report, out, NULL);
    cell (report, out, TRUE);
    put_textf (report, out, "%u", i + 1);
    cell (report, out, FALSE);
    put_untrusted (report, out, info->path);
    cell (report, out, FALSE);
    if (info->sha256_hex[0] != '\0')
      put_code (report, out, info->sha256_hex);
    else
      put_text (report, out, "-");
    cell (report, out, FALSE);
    put_textf (report, out, "%" G_GUINT64_FORMAT, info->n_packets);
    cell (report, out, FALSE);
    char first[MTD_REPORT_TIME_LEN];
    char last[MTD_REPORT_TIME_LEN];
    if (info->n_packets > 0 && mtd_report_format_usec (info->first_usec, first, sizeof first)
        && mtd_report_format_usec (info->last_usec, last, sizeof last))
      put_textf (report, out, "%s to %s", first, last);
    else
      put_text (report, out, "-");
    cell (report, out, FALSE);
    put_untrusted (report, out, info->link_type);
    writer->cell_end (report, out, FALSE);
    writer->row_end (report, out);
  }
  writer->table_end (report, out);
  gboolean has_input_warning = FALSE;
  for (guint i = 0; inputs != NULL && i < n_inputs; i++)
    has_input_warning |= inputs[i]->warnings != NULL && inputs[i]->warnings->len > 0;
  if (has_input_warning) {
    writer->list_begin (report, out, "warnings");
    for (guint i = 0; i < n_inputs; i++) {
      for (guint w = 0; inputs[i]->warnings != NULL && w < inputs[i]->warnings->len; w++) {
        writer->item_begin (report, out, "warning");
        put_textf (report, out, "input %u: ", i + 1);
        put_untrusted (report, out, g_ptr_array_index (inputs[i]->warnings, w));
        writer->item_end (report, out);
      }
    }
    writer->list_end (report, out);
  }

  static const char *const headers[] = { "fact", "value" };
  writer->table_begin (report, out, "facts", headers, G_N_ELEMENTS (headers));
  row_begin (report, out, "mtlsdiag version");
  put_untrusted (report, out, report->tool_version);
  row_end (report, out);
  row_begin (report, out, "command line");
  if (report->command_line != NULL)
    put_untrusted (report, out, report->command_line);
  else
    put_text (report, out, "-");
  row_end (report, out);
  row_begin (report, out, "redaction");
  put_code (report, out, mtd_report_redaction_name (report->redaction));
  row_end (report, out);
  row_begin (report, out, "packets");
  put_textf (report, out,
             "%" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " bytes): TCP %" G_GUINT64_FORMAT
             ", UDP %" G_GUINT64_FORMAT " (QUIC %" G_GUINT64_FORMAT "), other %" G_GUINT64_FORMAT
             ", cut by the snaplen %" G_GUINT64_FORMAT,
             summary->n_packets, summary->n_bytes, summary->n_tcp_packets,
             summary->n_udp_packets, summary->n_quic_packets, summary->n_other_packets,
             summary->n_snaplen_truncated);
  row_end (report, out);
  row_begin (report, out, "connections");
  put_textf (report, out,
             "%" G_GUINT64_FORMAT " (TLS %" G_GUINT64_FORMAT ", plain HTTP %" G_GUINT64_FORMAT
             "), incomplete %" G_GUINT64_FORMAT ", with a client-certificate problem %"
             G_GUINT64_FORMAT,
             summary->n_connections, summary->n_tls_connections, summary->n_http_connections,
             summary->n_incomplete, summary->n_connections_with_problem);
  row_end (report, out);
  row_begin (report, out, "TLS versions");
  gboolean has_version = FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (summary->n_by_version); i++) {
    if (summary->n_by_version[i] == 0)
      continue;
    char buf[64];
    put_textf (report, out, "%s%s %" G_GUINT64_FORMAT, has_version ? ", " : "",
               mtd_tls_version_name (mtd_report_version_of_index (i), buf, sizeof buf),
               summary->n_by_version[i]);
    has_version = TRUE;
  }
  if (summary->n_version_unknown > 0) {
    put_textf (report, out, "%sunknown %" G_GUINT64_FORMAT, has_version ? ", " : "",
               summary->n_version_unknown);
    has_version = TRUE;
  }
  if (!has_version)
    put_text (report, out, "none");
  row_end (report, out);
  row_begin (report, out, "request chains");
  put_textf (report, out, "%" G_GUINT64_FORMAT, summary->n_chains);
  for (guint v = MTD_CHAIN_UNKNOWN; v <= MTD_CHAIN_HEADER_MISMATCH; v++) {
    if (summary->n_chains_by_verdict[v] == 0)
      continue;
    put_text (report, out, ", ");
    put_code (report, out, mtd_chain_verdict_name (v));
    put_textf (report, out, " %" G_GUINT64_FORMAT, summary->n_chains_by_verdict[v]);
  }
  put_textf (report, out, "; with a problem %" G_GUINT64_FORMAT, summary->n_chains_with_problem);
  const DocCounts *counts = &report->document->counts;
  if (counts->n_chains_hidden > 0)
    put_textf (report, out,
               "; %" G_GUINT64_FORMAT " single-connection chains without a problem are not "
               "drawn",
               counts->n_chains_hidden);
  row_end (report, out);
  row_begin (report, out, "TLS alerts");
  put_textf (report, out, "%" G_GUINT64_FORMAT, summary->n_alerts);
  row_end (report, out);
  guint64 n_attempted = 0;
  for (guint s = MTD_DECRYPT_NO_KEYS; s <= MTD_DECRYPT_FAILED; s++)
    n_attempted += summary->n_decrypt_by_status[s];
  if (n_attempted > 0) {
    row_begin (report, out, "decryption with the key log");
    for (guint s = MTD_DECRYPT_NO_KEYS; s <= MTD_DECRYPT_FAILED; s++) {
      if (s > MTD_DECRYPT_NO_KEYS)
        put_text (report, out, ", ");
      put_code (report, out, mtd_decrypt_status_name (s));
      put_textf (report, out, " %" G_GUINT64_FORMAT, summary->n_decrypt_by_status[s]);
    }
    row_end (report, out);
  }
  row_begin (report, out, "flows");
  put_textf (report, out,
             "evicted %" G_GUINT64_FORMAT ", closed when idle %" G_GUINT64_FORMAT
             ", most live at once %" G_GUINT64_FORMAT,
             summary->n_flows_evicted, summary->n_flows_idle_closed, summary->peak_live_flows);
  row_end (report, out);
  row_begin (report, out, "anomalies");
  gboolean has_anomaly = FALSE;
  for (guint i = 0; i < MTD_ANOMALY_COUNT; i++) {
    if (summary->anomalies[i] == 0)
      continue;
    if (has_anomaly)
      put_text (report, out, ", ");
    put_code (report, out, mtd_anomaly_name (i));
    put_textf (report, out, " %" G_GUINT64_FORMAT, summary->anomalies[i]);
    has_anomaly = TRUE;
  }
  if (!has_anomaly)
    put_text (report, out, "none");
  row_end (report, out);
  writer->table_end (report, out);

  static const MtdRequested rows[] = { MTD_REQUESTED_YES, MTD_REQUESTED_NO,
                                       MTD_REQUESTED_UNKNOWN };
  static const MtdPresented columns[] = { MTD_PRESENTED_YES, MTD_PRESENTED_EMPTY,
                                          MTD_PRESENTED_NO, MTD_PRESENTED_UNKNOWN };
  static const char *const matrix_headers[] = { "requested", "yes", "empty", "no",
                                                "unknown" };
  writer->block_begin (report, out, NULL);
  put_text (report, out, "TLS connections by client certificate requested (rows) and presented "
                         "(columns):");
  writer->block_end (report, out);
  writer->table_begin (report, out, "matrix", matrix_headers, G_N_ELEMENTS (matrix_headers));
  for (gsize r = 0; r < G_N_ELEMENTS (rows); r++) {
    writer->row_begin (report, out, NULL);
    cell (report, out, TRUE);
    put_text (report, out, mtd_requested_name (rows[r]));
    for (gsize c = 0; c < G_N_ELEMENTS (columns); c++) {
      cell (report, out, FALSE);
      put_textf (report, out, "%" G_GUINT64_FORMAT, summary->matrix[rows[r]][columns[c]]);
    }
    writer->cell_end (report, out, FALSE);
    writer->row_end (report, out);
  }
  writer->table_end (report, out);
}

/* ---- Entry points ------------------------------------------------------------------------- */

void
mtd_report_document_connection (MtdReport *report, const MtdConnection *connection,
                                const MtdDiagnosis *diagnosis)
{
  MtdDocument *document = report->document;
  g_autofree char *where = g_strdup_printf ("connection #%" G_GUINT64_FORMAT, connection->id);
  document->counts.n_connections++;
  if (diagnosis != NULL && mtd_diagnosis_has_problem (diagnosis))
    document->counts.n_connections_with_problem++;
  note_findings (report, document, diagnosis, where);
  gboolean path[MTD_DOC_N_NODES] = { FALSE };
  connection_path (connection, diagnosis, path);
  for (guint node = 0; node < MTD_DOC_Q_REACHED; node++)
    document->node_counts[node] += path[node] ? 1 : 0;
  consider_worst (report, document, diagnosis, path, where, FALSE, connection->id, FALSE, 0);
  if (report->is_summary_only)
    return;
  store_ladder_record (document, connection);
  FILE *out = mtd_report_spool_file (report, document->connection_spools,
                                     mtd_report_spool_index (diagnosis));
  if (out != NULL)
    put_connection_section (report, out, connection, diagnosis);
}

/* Chains drawn: several hops, a warning or error of their own, or a verdict that says the
 * certificate did not arrive.  A single connection that went well is in the connections. */
static gboolean
is_chain_drawn (const MtdChain *chain, const MtdDiagnosis *diagnosis)
{
  if (chain->hops->len > 1 || rank_of (diagnosis) >= MTD_SEVERITY_WARNING)
    return TRUE;
  switch (chain->verdict) {
  case MTD_CHAIN_DROPPED_AT_HOP:
  case MTD_CHAIN_NEVER_PRESENTED:
  case MTD_CHAIN_PLAIN_HTTP:
  case MTD_CHAIN_HEADER_MISMATCH:
    return TRUE;
  default:
    return FALSE;
  }
}

void
mtd_report_document_chain (MtdReport *report, const MtdChain *chain,
                           const MtdDiagnosis *diagnosis, GHashTable *hop_names)
{
  MtdDocument *document = report->document;
  if (chain->hops == NULL || chain->hops->len == 0)
    return;
  g_autofree char *where = g_strdup_printf ("chain %u", chain->id);
  document->counts.n_chains++;
  if (diagnosis != NULL && mtd_diagnosis_has_problem (diagnosis))
    document->counts.n_chains_with_problem++;
  note_findings (report, document, diagnosis, where);
  gboolean path[MTD_DOC_N_NODES] = { FALSE };
  chain_path (chain, path);
  for (guint node = MTD_DOC_Q_REACHED; node < MTD_DOC_N_NODES; node++)
    document->node_counts[node] += path[node] ? 1 : 0;
  consider_worst (report, document, diagnosis, path, where, TRUE, chain->id,
                  chain->hops->len > 1, chain->dropped_at_hop);
  if (!is_chain_drawn (chain, diagnosis)) {
    document->counts.n_chains_hidden++;
    return;
  }
  document->counts.n_chains_shown++;
  if (report->is_summary_only)
    return;
  FILE *out = mtd_report_spool_file (report, report->chain_spools,
                                     mtd_report_spool_index (diagnosis));
  if (out != NULL)
    put_chain_section (report, out, chain, diagnosis, hop_names);
}

static void
drain_spools (MtdReport *report, MtdSpool **spools, guint n_spools,
              const MtdInputInfo *const *inputs, guint n_inputs)
{
  for (guint i = 0; i < n_spools; i++) {
    if (!drain_spool (report, spools[i], inputs, n_inputs))
      report->write_errno = report->write_errno != 0 ? report->write_errno : EIO;
    spools[i] = NULL;
  }
}

void
mtd_report_document_finish (MtdReport *report, const MtdInputInfo *const *inputs,
                            guint n_inputs, const MtdSummary *summary)
{
  MtdDocument *document = report->document;
  const MtdDocWriter *writer = writer_of (report);
  FILE *out = report->out;
  g_autofree char *title = NULL;
  if (n_inputs > 0 && inputs != NULL)
    title = g_path_get_basename (inputs[0]->path);
  writer->begin (report, out, title);
  document->finish_inputs = inputs;
  document->n_finish_inputs = inputs != NULL ? n_inputs : 0;
  put_top (report, out, inputs, n_inputs);
  if (!report->is_summary_only) {
    writer->section_begin (report, out, MTD_DOC_SECTION_CHAINS);
    writer->heading_begin (report, out, 2, "chains", NULL);
    put_text (report, out, "Request chains");
    writer->heading_end (report, out, 2);
    writer->block_begin (report, out, NULL);
    put_textf (report, out,
               "%" G_GUINT64_FORMAT " drawn, worst first: each hop's handshake messages and "
               "requests with their frame numbers.",
               document->counts.n_chains_shown);
    if (document->counts.n_chains_hidden > 0)
      put_textf (report, out,
                 " %" G_GUINT64_FORMAT " more single-connection chain%s without a problem %s "
                 "not drawn.",
                 document->counts.n_chains_hidden,
                 document->counts.n_chains_hidden == 1 ? "" : "s",
                 document->counts.n_chains_hidden == 1 ? "is" : "are");
    writer->block_end (report, out);
    drain_spools (report, report->chain_spools, G_N_ELEMENTS (report->chain_spools), inputs,
                  n_inputs);
    writer->section_end (report, out, MTD_DOC_SECTION_CHAINS);

    writer->section_begin (report, out, MTD_DOC_SECTION_CONNECTIONS);
    writer->heading_begin (report, out, 2, "connections", NULL);
    put_text (report, out, "Connections");
    writer->heading_end (report, out, 2);
    writer->block_begin (report, out, NULL);
    put_textf (report, out, "%" G_GUINT64_FORMAT " connection%s, worst first.",
               document->counts.n_connections, document->counts.n_connections == 1 ? "" : "s");
    writer->block_end (report, out);
    drain_spools (report, document->connection_spools,
                  G_N_ELEMENTS (document->connection_spools), inputs, n_inputs);
    writer->section_end (report, out, MTD_DOC_SECTION_CONNECTIONS);
  }
  writer->section_begin (report, out, MTD_DOC_SECTION_ENVIRONMENT);
  put_environment (report, out, inputs, n_inputs, summary);
  writer->section_end (report, out, MTD_DOC_SECTION_ENVIRONMENT);
  writer->end (report, out);
  document->finish_inputs = NULL;
}
