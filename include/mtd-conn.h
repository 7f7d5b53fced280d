/* mtd-conn.h: the finished facts of one connection, of one input, and of the whole run.
 *
 * Owns MtdConnection (what the analysis concluded about one TCP connection, client/server
 * oriented), MtdInputInfo (one capture file) and MtdSummary (counters).  These are plain data
 * handed from the pipeline to diagnose and to the report writers; nothing here parses bytes.
 */
#pragma once

#include <glib.h>

#include "mtd-anomaly.h"
#include "mtd-certheader.h"
#include "mtd-http.h"
#include "mtd-tls.h"

typedef enum {
  MTD_APP_OTHER,
  MTD_APP_TLS,
  MTD_APP_HTTP,
} MtdAppProtocol;

const char *mtd_app_protocol_name (MtdAppProtocol protocol); /* "tls", "http", "other" */

typedef struct {
  char ip[48]; /* printable address */
  guint16 port;
} MtdEndpoint;

/* The runbook's first question, seen from the application (--app): callers reaching it are
 * inbound, connections it opens are outbound. */
typedef enum {
  MTD_DIRECTION_UNKNOWN, /* no --app address is an end of the connection */
  MTD_DIRECTION_INBOUND,
  MTD_DIRECTION_OUTBOUND,
} MtdDirection;

const char *mtd_direction_name (MtdDirection direction); /* "unknown", "inbound", "outbound" */

/* The client's chain checked against the --ca bundles with OpenSSL's verifier. */
typedef enum {
  MTD_CHAIN_NOT_CHECKED, /* no --ca, or no client certificate read */
  MTD_CHAIN_TRUSTED,
  MTD_CHAIN_UNTRUSTED,
} MtdChainCheck;

const char *mtd_chain_check_name (MtdChainCheck check); /* "not_checked", "trusted",
                                                         * "untrusted" */

/* A client-certificate forwarding header seen on one of the connection's HTTP requests. */
typedef struct {
  guint exchange_index;  /* into MtdConnection.http */
  guint64 frame;         /* the frame that completed the request head */
  MtdCertHeader *header; /* owned */
} MtdConnCertHeader;

void mtd_conn_cert_header_free (MtdConnCertHeader *cert_header); /* NULL-safe */

typedef struct {
  guint64 id;            /* 1-based, in order of each connection's first packet */
  guint input_index;     /* index into the run's inputs */
  MtdEndpoint client;
  MtdEndpoint server;
  gboolean is_role_guessed; /* neither a SYN nor a hello message said who the client was */
  guint64 first_frame;   /* 1-based, as Wireshark numbers frames in that input */
  guint64 last_frame;
  gint64 start_usec;     /* UTC, microseconds since the epoch */
  gint64 end_usec;
  guint64 n_packets;
  guint64 n_payload_bytes[2]; /* [0] client to server, [1] server to client */
  MtdAppProtocol app_protocol;
  char *ndpi_protocol;   /* owned, NULL when nDPI gave nothing */
  char *ja3_client;      /* owned, NULL when nDPI gave none */
  gboolean is_incomplete;/* bytes missing, capture started late or ended early */
  const char *end_reason;/* static: "fin", "rst", "idle", "evicted", "capture_end" */
  GPtrArray *warnings;   /* char*, owned, human sentences */
  MtdAnomalyCounts anomalies;
  MtdTlsFacts *tls;      /* owned, NULL when not TLS */
  GPtrArray *http;       /* MtdHttpExchange*, owned, NULL when no HTTP in clear */
  GPtrArray *cert_headers; /* MtdConnCertHeader*, owned, NULL when none */
  gboolean is_h2_prior_knowledge;
  guint n_http_dropped;
  gboolean has_starttls; /* TLS began inside a plaintext session */
  char *starttls_protocol; /* owned: "smtp", "imap", "pop3", "xmpp", "ftp" or NULL */
  MtdDirection direction;  /* from --app; UNKNOWN without it */
  MtdChainCheck client_chain_check;
  char *client_chain_error; /* owned: OpenSSL's reason when untrusted, with the depth and subject
                             * of the certificate it failed on; NULL otherwise */
  /* --expect-thumbprint: whether the client's leaf is one of the expected certificates */
  gboolean has_expected_thumbprints; /* thumbprints were given and the client's leaf was read */
  gboolean is_thumbprint_expected;
} MtdConnection;

/* When no --app address decided the direction: the roles the connection itself shows, as a
 * sentence marked as a guess (a server that asked for a client certificate, in the handshake or
 * later, is the mTLS endpoint and the client its caller), or NULL when it shows none.  Static
 * text; the reports print it beside "direction unknown". */
const char *mtd_direction_guess (const MtdConnection *connection);

MtdConnection *mtd_connection_new (void);
void mtd_connection_free (MtdConnection *connection); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdConnection, mtd_connection_free)
/* Adds a warning sentence (printf-style) to the connection. */
void mtd_connection_warn (MtdConnection *connection, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* The HTTP request that triggered a late certificate request (borrowed from the connection's
 * exchanges), NULL when none is known. */
const MtdHttpExchange *mtd_connection_late_auth_trigger (const MtdConnection *connection,
                                                         const MtdLateAuth *late);

typedef struct {
  char *path;            /* owned, as given ("-" for standard input) */
  char sha256_hex[65];   /* of the bytes read; empty when not computable (live, stdin) */
  char *link_type;       /* owned, libpcap's DLT name */
  guint64 n_packets;
  gint64 first_usec;
  gint64 last_usec;
  GPtrArray *warnings;   /* char*, owned */
} MtdInputInfo;

MtdInputInfo *mtd_input_info_new (const char *path);
void mtd_input_info_free (MtdInputInfo *info); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdInputInfo, mtd_input_info_free)

typedef struct {
  guint64 n_packets;
  guint64 n_bytes;           /* wire bytes of all packets read */
  guint64 n_tcp_packets;
  guint64 n_udp_packets;
  guint64 n_quic_packets;    /* UDP 443 (counted, not analysed) */
  guint64 n_other_packets;   /* not IP, or unsupported link type */
  guint64 n_ip_fragments;
  guint64 n_snaplen_truncated;
  guint64 n_connections;
  guint64 n_tls_connections;
  guint64 n_http_connections;
  guint64 n_http_requests;
  guint64 n_by_version[6];   /* SSL 2.0/3.0, TLS 1.0, 1.1, 1.2, 1.3; see mtd_summary_version_index */
  guint64 n_version_unknown;
  guint64 matrix[3][4];      /* [MtdRequested][MtdPresented] */
  guint64 n_alerts;
  guint64 n_incomplete;
  guint64 n_flows_evicted;
  guint64 n_flows_idle_closed;
  guint64 n_connections_with_problem;
  guint64 anomalies[MTD_ANOMALY_COUNT];
  guint64 n_cert_cache_hits;
  guint64 n_cert_cache_misses;
  guint64 peak_live_flows;
  guint64 n_chains;             /* request chains (mtd-chain.h), single-connection ones included */
  guint64 n_chains_by_verdict[8]; /* indexed by MtdChainVerdict */
  guint64 n_chains_with_problem;
  guint64 n_legs_not_chained;   /* connections beyond the chainer's cap */
  guint64 peak_legs_held;       /* most connections held at once for chaining */
  guint64 n_legs_released;      /* handed over after --chain-hold with a joiner still open */
  guint64 n_decrypt_by_status[5]; /* TLS connections by MtdDecryptStatus */
  /* live --save-flagged: connections with a warning or error finding written to the file, those
   * of them whose first packets the per-flow ring had dropped, and their packets */
  gboolean is_saving_flagged;
  guint64 n_saved_connections;
  guint64 n_saved_cut_short;
  guint64 n_saved_packets;
} MtdSummary;

/* Index into n_by_version for a TLS version, -1 when it has no slot. */
gint mtd_summary_version_index (guint16 version);
/* Adds one finished connection's facts to the counters. */
void mtd_summary_add_connection (MtdSummary *summary, const MtdConnection *connection,
                                 gboolean has_problem);
