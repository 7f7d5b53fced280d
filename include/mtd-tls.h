/* mtd-tls.h: the TLS handshake of one connection, from its two byte streams to typed facts.
 *
 * Owns MtdTls (incremental parser state for both directions) and MtdTlsFacts (what the handshake
 * says about client certificates, as the report shows it).  Follows RFC 5246 (TLS 1.2), RFC 8446
 * (TLS 1.3), RFC 6066 (SNI), RFC 7301 (ALPN) and the SSLv2-compatible ClientHello of RFC 5246
 * Appendix E.2.
 *
 * The parser is fed per side (side 0 and side 1 of the flow, whichever turns out to be the
 * client): roles come from the hello messages when the flow could not tell.  Handshake messages
 * are reassembled across records and segments into a capped per-direction buffer that is freed
 * once that direction's handshake is over; after that only record headers are followed.
 */
#pragma once

#include <glib.h>

#include "mtd-anomaly.h"
#include "mtd-keylog.h"
#include "mtd-x509.h"

#define MTD_MAX_EVIDENCE_FRAMES 4

typedef enum {
  MTD_HOW_NONE,
  MTD_HOW_OBSERVED,  /* the message was seen in clear */
  MTD_HOW_INFERRED,  /* from encrypted record sizes or from what the protocol implies */
  MTD_HOW_DECRYPTED, /* read after decryption with a key log (a later issue) */
} MtdHow;

typedef enum {
  MTD_REQUESTED_UNKNOWN,
  MTD_REQUESTED_NO,
  MTD_REQUESTED_YES,
} MtdRequested;

typedef enum {
  MTD_PRESENTED_UNKNOWN,
  MTD_PRESENTED_NO,    /* no Certificate message at all */
  MTD_PRESENTED_EMPTY, /* a Certificate message with an empty list */
  MTD_PRESENTED_YES,
} MtdPresented;

typedef struct {
  gint value; /* MtdRequested or MtdPresented */
  MtdHow how;
  guint n_frames;
  guint64 frames[MTD_MAX_EVIDENCE_FRAMES];
  char *reason; /* owned; why, when the value is unknown or inferred */
} MtdVerdict;

typedef struct {
  guint64 frame;
  gboolean is_from_client;
  gboolean is_encrypted; /* level and description unknown when encrypted */
  gboolean is_decrypted; /* sent encrypted, read with a key log */
  guint8 level;          /* 1 warning, 2 fatal (RFC 8446 §6) */
  guint8 description;
} MtdTlsAlert;

/* Whether the connection's encrypted records could be read with the key log. */
typedef enum {
  MTD_DECRYPT_NOT_ATTEMPTED, /* no key log given, or nothing encrypted */
  MTD_DECRYPT_NO_KEYS,       /* a key log was given, but holds nothing for this connection */
  MTD_DECRYPT_UNSUPPORTED,   /* keys found, but the cipher suite is not one this build reads */
  MTD_DECRYPT_OK,            /* records decrypted and authenticated */
  MTD_DECRYPT_FAILED,        /* keys found, but a record's tag did not verify: the keys belong to
                              * another connection, or records are missing */
} MtdDecryptStatus;

const char *mtd_decrypt_status_name (MtdDecryptStatus status); /* "not_attempted", "no_keys",
                                                                * "unsupported", "ok", "failed" */

/* A client certificate asked for after the first handshake: TLS 1.3 post-handshake
 * authentication (RFC 8446 §4.6.2) or a TLS 1.2 renegotiation (RFC 5246 §7.4.1.1, RFC 5746),
 * the way servers ask only once the request path says a certificate is needed. */
typedef enum {
  MTD_LATE_AUTH_POST_HANDSHAKE,
  MTD_LATE_AUTH_RENEGOTIATION,
} MtdLateAuthKind;

const char *mtd_late_auth_kind_name (MtdLateAuthKind kind); /* "post_handshake", "renegotiation" */

typedef struct {
  MtdLateAuthKind kind;
  guint64 frame;         /* its first message: CertificateRequest, HelloRequest or ClientHello */
  MtdHow how;            /* decrypted, or inferred from encrypted record sizes */
  MtdVerdict requested;  /* in this exchange */
  MtdVerdict presented;
  gint trigger_exchange; /* the HTTP exchange whose request came last before it (an index into
                          * the connection's exchanges, set by the pipeline), -1 when unknown */
} MtdLateAuth;

/* A TLS 1.3 KeyUpdate read with a key log (RFC 8446 §4.6.3). */
typedef struct {
  guint64 frame;
  gboolean is_from_client;
} MtdKeyUpdate;

#define MTD_MAX_LATE_AUTHS 16
#define MTD_MAX_KEY_UPDATES 16

typedef struct {
  guint16 version;          /* negotiated (0x0303 = TLS 1.2, 0x0304 = TLS 1.3), 0 unknown */
  guint16 client_max_version;
  gboolean is_sslv2_client_hello;
  char *sni;                /* owned, NULL when absent */
  GPtrArray *alpn_offered;  /* char*, owned */
  /* Code names: static strings or kept ones (mtd_tls_keep_name), not owned by the array. */
  GPtrArray *client_signature_algorithms; /* names from the ClientHello */
  char *alpn;               /* owned, the server's choice */
  guint16 cipher_suite;
  gboolean has_cipher_suite;
  gboolean has_post_handshake_auth_offer;
  gboolean is_resumed;      /* abbreviated handshake: no certificates exchanged */
  gboolean is_handshake_complete;
  gboolean has_renegotiation; /* handshake records after the first Finished (TLS 1.2) */
  guint n_renegotiations;     /* completed ones: ChangeCipherSpec records after the first Finished */
  guint64 client_hello_frame;
  guint64 server_hello_frame;
  MtdVerdict requested;
  MtdVerdict presented;
  GPtrArray *acceptable_cas;   /* char* DN strings, from CertificateRequest */
  GPtrArray *cert_types;       /* code names (rsa_sign, ecdsa_sign, ...) */
  GPtrArray *signature_algorithms_requested; /* code names from CertificateRequest */
  GPtrArray *client_chain;     /* MtdCert*, refs */
  GPtrArray *server_chain;     /* MtdCert*, refs */
  gboolean has_client_certificate_verify;
  guint64 client_certificate_verify_frame;
  GArray *alerts;              /* MtdTlsAlert */
  MtdDecryptStatus decrypt_status;
  guint64 n_records_decrypted;
  guint64 decrypt_failure_frame; /* the record that did not verify, 0 when none */
  gboolean has_post_handshake_request; /* TLS 1.3: a CertificateRequest after the handshake */
  guint64 post_handshake_request_frame;
  GArray *late_auths;          /* MtdLateAuth, in order; NULL or empty when none */
  GArray *key_updates;         /* MtdKeyUpdate, at most MTD_MAX_KEY_UPDATES; NULL when none */
  guint n_key_updates;         /* all of them, also those past the cap */
} MtdTlsFacts;

void mtd_tls_facts_free (MtdTlsFacts *facts); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdTlsFacts, mtd_tls_facts_free)

typedef struct {
  gsize max_handshake_message; /* bytes buffered for one handshake message */
  guint max_certificates;      /* certificates kept per chain */
  guint max_list_items;        /* extensions, CAs, ALPN names, alerts kept */
} MtdTlsLimits;

void mtd_tls_limits_init_default (MtdTlsLimits *limits);

typedef struct _MtdTls MtdTls;

/* cache and anomalies are borrowed and must outlive the parser. */
MtdTls *mtd_tls_new (const MtdTlsLimits *limits, MtdCertCache *cache, MtdAnomalyCounts *anomalies);
void mtd_tls_free (MtdTls *tls); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdTls, mtd_tls_free)

/* Does this look like the first bytes of a TLS handshake record or an SSLv2 ClientHello? */
gboolean mtd_tls_looks_like_start (const guint8 *data, gsize len);

/* Feeds in-order stream bytes (borrowed) of one side.  frame and ts_usec identify the packet that
 * delivered them. */
void mtd_tls_feed (MtdTls *tls, guint side, const guint8 *data, gsize len, guint64 frame,
                   gint64 ts_usec);
/* len bytes are missing from a side's stream (len 0: unknown). */
void mtd_tls_gap (MtdTls *tls, guint side, gsize len);

/* The flow started before the capture: any record header may begin a side's stream. */
void mtd_tls_set_midstream (MtdTls *tls, gboolean is_midstream);

/* Secrets to decrypt with (borrowed, must outlive the parser; NULL: none).  With them the
 * encrypted handshake messages and alerts are read as if in clear (how "decrypted"), and the
 * application data goes to the plaintext sink. */
void mtd_tls_set_keylog (MtdTls *tls, const MtdKeyLog *keylog);

/* Receives decrypted application data of one side, in order (borrowed bytes). */
typedef void (*MtdTlsPlaintextSink) (guint side, const guint8 *data, gsize len, guint64 frame,
                                     gpointer user_data);
void mtd_tls_set_plaintext_sink (MtdTls *tls, MtdTlsPlaintextSink sink, gpointer user_data);

/* Which side sent the ClientHello, or ServerHello's peer; -1 when the handshake did not say. */
gint mtd_tls_client_side (const MtdTls *tls);
/* TRUE once both Finished messages (or a fatal alert) were seen: the first handshake is over. */
gboolean mtd_tls_is_handshake_over (const MtdTls *tls);
/* TRUE once the parser saw anything it recognised as TLS. */
gboolean mtd_tls_has_seen_tls (const MtdTls *tls);
/* TRUE when the side only follows record headers now (no payload is buffered). */
gboolean mtd_tls_is_side_quiet (const MtdTls *tls, guint side);
/* TRUE while the side's records are decrypted: its bytes are still needed. */
gboolean mtd_tls_is_decrypting (const MtdTls *tls, guint side);

/* Works out the connection's facts, with client_side being the client.  The result is a new,
 * owned snapshot; the parser may go on. */
MtdTlsFacts *mtd_tls_conclude (const MtdTls *tls, guint client_side);

/* Names from the IANA registries; "unknown (0x1234)"-style strings are written into buf. */
const char *mtd_tls_version_name (guint16 version, char *buf, gsize buf_len);
const char *mtd_tls_cipher_suite_name (guint16 suite, char *buf, gsize buf_len);
const char *mtd_tls_alert_name (guint8 description, char *buf, gsize buf_len);
const char *mtd_tls_signature_scheme_name (guint16 scheme, char *buf, gsize buf_len);
const char *mtd_tls_cert_type_name (guint8 cert_type, char *buf, gsize buf_len);
/* One copy of name per distinct name, kept (and reachable) for the life of the process.  Only for
 * names from a bounded set, such as the names of a 16-bit code space. */
const char *mtd_tls_keep_name (const char *name);
/* Hash length of a TLS 1.3 cipher suite's HKDF hash and its AEAD tag length; FALSE when the
 * suite is not a TLS 1.3 suite this build knows (RFC 8446 §B.4). */
gboolean mtd_tls13_suite_lengths (guint16 suite, gsize *hash_len, gsize *tag_len);
const char *mtd_requested_name (MtdRequested value);   /* "yes", "no", "unknown" */
const char *mtd_presented_name (MtdPresented value);   /* "yes", "empty", "no", "unknown" */
const char *mtd_how_name (MtdHow how);                 /* "observed", ... or NULL for none */
