/* mtd-chain.h: connections grouped into request chains across hops and inputs.
 *
 * Owns MtdLeg (the compact facts of one finished TLS or HTTP connection that correlation needs:
 * a connection is freed once reported, its leg stays), MtdChainer (collects legs, bounded by a
 * cap, and builds the chains at the end of the run) and MtdChain (hops in order, the evidence of
 * each link, the verdict).  It reads no bytes: everything comes from MtdConnection.
 *
 * A front end that ends the caller's TLS opens a new connection to the next hop and passes the
 * client certificate on in a forwarding header (App Service: X-ARR-ClientCert).  Leg N+1 is
 * linked to leg N when it starts at the host where leg N ends (the same address, or addresses
 * given the same name with --hop) while leg N is open (a proxy forwards before it answers; a
 * pooled connection opened earlier counts when one of its requests falls inside leg N), and the
 * link says which further facts agreed (Host vs SNI, X-Forwarded-For, X-Forwarded-Host,
 * X-Original-URL, request ids, the forwarded certificate's thumbprint), so a reader can judge the
 * grouping.  Legs from different inputs (captured on different hosts) are compared with a
 * tolerance for their clocks; when their times do not nest, a link needs a fact beyond address,
 * time and Host/SNI.
 */
#pragma once

#include <glib.h>

#include "mtd-certheader.h"
#include "mtd-conn.h"
#include "mtd-tls.h"

/* Requests of one leg kept for correlation; later ones are counted. */
#define MTD_LEG_MAX_REQUESTS 8
/* Acceptable CA names kept per leg, for comparing with a certificate seen elsewhere. */
#define MTD_LEG_MAX_ACCEPTABLE_CAS 16
/* Request id headers kept per request: X-ARR-LOG-ID, X-Request-ID, traceparent. */
#define MTD_LEG_N_REQUEST_IDS 3
#define MTD_LEG_ARR_LOG_ID 0
/* Hops followed in one chain (a loop guard as much as a cap). */
#define MTD_CHAIN_MAX_HOPS 8
/* Upstream candidates examined for one leg: a busy host has many. */
#define MTD_CHAIN_MAX_CANDIDATES 64

/* The certificate header of one request, reduced to what a chain needs. */
typedef struct {
  char *name;                 /* owned, as sent */
  MtdCertEncoding encoding;
  gboolean is_valid;
  gboolean is_convention_mismatch;
  char sha1_hex[41];          /* of the certificate it carries; "" when none decoded */
  char *subject;              /* owned, NULL when none decoded */
  guint64 frame;
} MtdLegCertHeader;

typedef struct {
  guint64 request_frame;
  char *method;               /* owned strings, NULL when absent */
  char *host;
  char *path;
  gint status;                /* 0: no response in the capture */
  guint64 status_frame;
  char *x_forwarded_for;
  char *x_forwarded_host;
  char *x_original_url;
  /* Request ids, owned, NULL when absent: X-ARR-LOG-ID, X-Request-ID, and the trace-id of a
   * W3C traceparent (each hop starts its own span, so only the trace-id travels).  A front end
   * may add one id while passing another on, so each is kept. */
  char *request_ids[MTD_LEG_N_REQUEST_IDS];
  MtdLegCertHeader *cert_header; /* owned, NULL when the request carried none */
} MtdLegRequest;

typedef struct {
  guint64 connection_id;
  guint input_index;
  guint64 seen_in_inputs;     /* bit i: the same connection is also in input i (i < 64) */
  MtdEndpoint client;
  MtdEndpoint server;
  gint64 start_usec;
  gint64 end_usec;
  guint64 first_frame;
  guint64 last_frame;
  MtdAppProtocol protocol;    /* MTD_APP_TLS or MTD_APP_HTTP */
  /* TLS (protocol TLS): copies of the connection's verdicts, reasons included. */
  guint16 tls_version;
  char *sni;                  /* owned, NULL when absent */
  MtdVerdict requested;
  MtdVerdict presented;
  char client_sha1_hex[41];   /* the presented leaf, "" when unknown (TLS 1.3, cut) */
  char *client_subject;       /* owned, NULL when unknown */
  char *client_issuer;        /* owned, NULL when unknown */
  guint64 client_cert_frame;  /* where the presented leaf was seen, 0 when unknown */
  /* The CAs the server named when it asked and got nothing (char* DNs, owned), NULL otherwise:
   * kept only for legs that may need them. */
  GPtrArray *acceptable_cas;
  /* HTTP in clear (protocol HTTP). */
  GPtrArray *requests;        /* MtdLegRequest*, owned, never NULL */
  guint n_requests_dropped;
  char *findings_label;       /* owned, NULL when none: the connection's own findings, as the
                               * caller summed them up when adding it */
} MtdLeg;

/* Why leg N+1 was linked to leg N: a bit set. */
typedef enum {
  MTD_MATCH_ADDRESS = 1 << 0,           /* leg N+1 starts at the address leg N was sent to */
  MTD_MATCH_HOP_NAME = 1 << 1,          /* ... at another address of the same --hop NAME */
  MTD_MATCH_TIME_WINDOW = 1 << 2,       /* always set on a link: it began (or, pooled, carried
                                         * a request) while leg N was open */
  MTD_MATCH_HOST_SNI = 1 << 3,          /* Host (or SNI) of leg N+1 equals SNI (or Host) of N */
  MTD_MATCH_X_FORWARDED_FOR = 1 << 4,   /* X-Forwarded-For holds leg N's client address */
  MTD_MATCH_X_FORWARDED_HOST = 1 << 5,  /* X-Forwarded-Host equals leg N's Host or SNI */
  MTD_MATCH_X_ORIGINAL_URL = 1 << 6,    /* X-Original-URL equals leg N's request path */
  MTD_MATCH_REQUEST_ID = 1 << 7,        /* the same X-ARR-LOG-ID, X-Request-ID or traceparent */
  MTD_MATCH_CERT_THUMBPRINT = 1 << 8,   /* the forwarded certificate is the one presented */
  MTD_MATCH_ONLY_CANDIDATE = 1 << 9,    /* nothing else but address and time: the only leg
                                         * that fits on both sides */
} MtdMatch;

/* The names of the bits set in matched, in a fixed order, into names (at least 10 slots);
 * returns how many.  Names: "address", "hop_name", "time_window", "host_sni",
 * "x_forwarded_for", "x_forwarded_host", "x_original_url", "request_id", "cert_thumbprint",
 * "only_candidate". */
guint mtd_match_names (guint matched, const char **names);

typedef enum {
  MTD_CHAIN_UNKNOWN,
  MTD_CHAIN_DELIVERED,
  MTD_CHAIN_DROPPED_AT_HOP,
  MTD_CHAIN_NEVER_PRESENTED,
  MTD_CHAIN_NOT_REQUESTED,
  MTD_CHAIN_PLAIN_HTTP,
  MTD_CHAIN_HEADER_MISMATCH,
} MtdChainVerdict;

/* "unknown", "delivered", "dropped_at_hop", "never_presented", "not_requested", "plain_http",
 * "header_mismatch": part of the JSON contract. */
const char *mtd_chain_verdict_name (MtdChainVerdict verdict);

typedef struct {
  const MtdLeg *leg;                  /* borrowed from the chainer */
  const MtdLegRequest *cert_request;  /* borrowed: the request whose forwarding header carried
                                       * a certificate on this hop, NULL when none did */
  const MtdLegRequest *first_request; /* borrowed: the first request seen on this hop (HTTP in
                                       * clear), NULL when none */
  guint matched_by;                   /* MtdMatch bits of the link from the previous hop; 0 on
                                       * hop 1 */
} MtdChainHop;

typedef struct {
  guint id;                   /* 1-based, in the order chains are handed over (by the first
                               * hop's start within one handover) */
  GArray *hops;               /* MtdChainHop, in order; hop K is index K-1 */
  MtdChainVerdict verdict;
  guint dropped_at_hop;       /* 1-based, the first hop that no longer carries the certificate;
                               * 0 unless the verdict is dropped_at_hop */
  guint mismatch_hop;         /* 1-based hop of the header that differs; 0 when none */
  guint last_carried_hop;     /* the last hop known to carry the certificate; 0 when none */
  char *reason;               /* owned: the verdict in one sentence, always set */
  /* never_presented: a leg of the same caller (same client address) that did present a
   * readable certificate, the nearest in time; borrowed from the chainer, NULL when none. */
  const MtdLeg *held_elsewhere;
} MtdChain;

void mtd_chain_free (MtdChain *chain); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdChain, mtd_chain_free)

typedef struct {
  gint64 window_usec;         /* clock tolerance between legs of different inputs */
  /* Legs held at once (--chain-max-held); beyond it connections are counted, not chained. */
  guint max_legs;
  GHashTable *hop_names;      /* borrowed, may be NULL: address string -> host name (--hop) */
  /* One input (or live): chains are handed over as soon as no connection still open can join
   * them, so memory follows the live connections.  With several inputs a leg of one may link
   * to a leg of any other, so every leg is held to the end (up to max_legs). */
  gboolean is_streaming;
  /* Streaming only (--chain-hold): how long a leg waits for a connection still open that could
   * join it, counted from the leg's end to the newest end seen.  On one address (loopback, a
   * host that is client and server) one connection open for hours could join every leg; past
   * this the leg is handed over without it, so memory is bounded by the legs of the last
   * hold_usec.  0: wait as long as the connection is open. */
  gint64 hold_usec;
  /* Settling links every leg held, so it is tried only once this many legs were added since the
   * last time (or half as many as are held, if more).  Tests and fuzzing set 1. */
  guint settle_min_growth;
} MtdChainOptions;

void mtd_chain_options_init_default (MtdChainOptions *options);

typedef struct _MtdChainer MtdChainer;

/* Receives each chain once it is final.  The chain and the legs it points to are borrowed and
 * freed when the sink returns: write it, do not keep it. */
typedef void (*MtdChainSink) (const MtdChain *chain, gpointer user_data);

/* options (and the hop_names it points to), sink and sink_data are borrowed and must outlive
 * the chainer. */
MtdChainer *mtd_chainer_new (const MtdChainOptions *options, MtdChainSink sink,
                             gpointer sink_data);
void mtd_chainer_free (MtdChainer *chainer); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdChainer, mtd_chainer_free)

/* Keeps what correlation needs of a finished connection (borrowed; TLS and clear HTTP only,
 * others are ignored).  findings_label (borrowed, may be NULL) is kept with the leg for the
 * reports: a short summary of the connection's own findings. */
void mtd_chainer_add_connection (MtdChainer *chainer, const MtdConnection *connection,
                                 const char *findings_label);
/* Connections not kept because max_legs was reached. */
guint64 mtd_chainer_n_dropped (const MtdChainer *chainer);
/* Legs handed over in a chain because they ended more than hold_usec ago while a connection
 * that could still have joined them was open. */
guint64 mtd_chainer_n_released (const MtdChainer *chainer);

/* The first packet time of the oldest connection still open whose server (is_server) or client
 * has the address ip, G_MAXINT64 when none is. */
typedef gint64 (*MtdOpenSince) (const char *ip, gboolean is_server, gpointer user_data);

/* Hands over what can no longer change.  A leg can only gain a neighbour from a connection still
 * open that started before the leg ended (a next hop starts, or carries a request, while its
 * previous hop is open): a previous hop served at the leg's client address, or a next hop
 * leaving from its server address (or another address of the same --hop name).  Legs without
 * such a connection, and legs that ended more than hold_usec before the newest end seen, are
 * settled; groups of linked legs that are all settled become
 * chains, handed to the sink, and their legs are freed.  Does nothing unless
 * options.is_streaming; the work is done only once enough legs were added since the last time,
 * so calling it after every connection is cheap. */
void mtd_chainer_settle (MtdChainer *chainer, MtdOpenSince open_since, gpointer user_data);
/* Hands over every chain still held.  Call once, after the last connection. */
void mtd_chainer_finish (MtdChainer *chainer);
/* Legs held now, and the most held at once (the memory the chainer needed). */
guint mtd_chainer_n_held (const MtdChainer *chainer);
guint mtd_chainer_peak_held (const MtdChainer *chainer);

/* The name a --hop option gave an address, or NULL. */
const char *mtd_chainer_hop_name (const MtdChainer *chainer, const char *address);
