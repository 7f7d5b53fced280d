/* tls-handshake.c: TLS records and handshake messages of one connection (see mtd-tls.h).
 *
 * Specs: RFC 5246 §6.2 (records), §7.4 (handshake, TLS 1.2 and older), RFC 8446 §4 and §5
 * (TLS 1.3), RFC 6066 §3 (server_name), RFC 7301 §3.1 (ALPN), RFC 5246 Appendix E.2 (SSLv2
 * ClientHello).  Each side's stream is split into records; handshake bodies are gathered into a
 * capped buffer and cut into messages; every field is read through the cursor.  After a side's
 * handshake is over only record headers are followed, so a long connection costs nothing.
 *
 * With a key log (NSS format, secrets looked up by the ClientHello's random), encrypted records
 * are decrypted (mtd-tls-crypto.h) and their plaintext goes through the same message parser:
 * TLS 1.3 handshake and application traffic secrets (RFC 8446 §7.1, switching at each side's
 * Finished, §4.4.4), TLS 1.2 from the master secret at each side's ChangeCipherSpec (RFC 5246
 * §6.3, §7.1).  A record whose tag does not verify ends decryption for the connection.
 */
#include "mtd-tls.h"

#include <string.h>

#include "mtd-cursor.h"
#include "mtd-tls-crypto.h"

/* Record content types, RFC 8446 §5.1 */
enum {
  RECORD_CHANGE_CIPHER_SPEC = 20,
  RECORD_ALERT = 21,
  RECORD_HANDSHAKE = 22,
  RECORD_APPLICATION_DATA = 23,
  RECORD_HEARTBEAT = 24,
};

/* Handshake message types, RFC 8446 §4 and RFC 5246 §7.4 */
enum {
  HS_HELLO_REQUEST = 0,
  HS_CLIENT_HELLO = 1,
  HS_SERVER_HELLO = 2,
  HS_NEW_SESSION_TICKET = 4,
  HS_END_OF_EARLY_DATA = 5,
  HS_ENCRYPTED_EXTENSIONS = 8,
  HS_CERTIFICATE = 11,
  HS_SERVER_KEY_EXCHANGE = 12,
  HS_CERTIFICATE_REQUEST = 13,
  HS_SERVER_HELLO_DONE = 14,
  HS_CERTIFICATE_VERIFY = 15,
  HS_CLIENT_KEY_EXCHANGE = 16,
  HS_FINISHED = 20,
  HS_KEY_UPDATE = 24,
};

/* Extension types, IANA TLS ExtensionType registry */
enum {
  EXT_SERVER_NAME = 0,
  EXT_SIGNATURE_ALGORITHMS = 13,
  EXT_ALPN = 16,
  EXT_ENCRYPT_THEN_MAC = 22,
  EXT_CERTIFICATE_AUTHORITIES = 47,
  EXT_PRE_SHARED_KEY = 41,
  EXT_EARLY_DATA = 42,
  EXT_SUPPORTED_VERSIONS = 43,
  EXT_POST_HANDSHAKE_AUTH = 49,
};

enum {
  VERSION_SSL3 = 0x0300,
  VERSION_TLS12 = 0x0303,
  VERSION_TLS13 = 0x0304,
};

#define RECORD_HEADER_LEN 5
/* RFC 5246 §6.2.3: TLSCiphertext.length MUST NOT exceed 2^14 + 2048. */
#define MAX_RECORD_LEN (16384 + 2048)
/* Encrypted records remembered per side for TLS 1.3 size inference. */
#define MAX_RECORD_NOTES 8
/* Alert-sized encrypted records remembered after the notes are full (a late close_notify). */
#define MAX_LATE_ALERTS 4
/* Encrypted handshake records remembered after a side's first Finished (TLS 1.2): a
 * renegotiation's ClientHello or HelloRequest and the first record of the flight that follows
 * it, all that inference reads (the rest is counted). */
#define MAX_LATE_HANDSHAKE_NOTES 2
/* A minimal Certificate message holding one certificate is well above this: 4 + 1 + 3 + 3 bytes of
 * framing, a DER certificate of a few hundred bytes and 2 bytes of entry extensions. */
#define MIN_CERTIFICATE_RECORD_LEN 200

/* The ServerHello.random that marks a HelloRetryRequest, RFC 8446 §4.1.3 (SHA-256 of
 * "HelloRetryRequest"). */
static const guint8 hello_retry_request_random[32] = {
  0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
  0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
};

/* Codes from a hello or a CertificateRequest (signature schemes, certificate types), kept as
 * numbers and named only when the facts are concluded: two bytes an entry instead of a string. */
typedef struct {
  guint16 *codes; /* owned, NULL when empty */
  guint n_codes;
} CodeList;

/* 12 bytes: a flow keeps up to MAX_RECORD_NOTES of these per side for as long as it lives, and
 * MAX_LATE_HANDSHAKE_NOTES more (in TlsLate) once a side renegotiates.  The length (at most
 * MAX_RECORD_LEN, 15 bits) and the content type share 32 bits, and 4-byte alignment drops the
 * padding a 64-bit frame number would bring; fields are only read and written by value, never
 * through a pointer to a member. */
typedef struct __attribute__ ((packed, aligned (4))) {
  guint64 frame;
  guint32 len : 24;
  guint32 type : 8;
} RecordNote;

G_STATIC_ASSERT (sizeof (RecordNote) == 12);
G_STATIC_ASSERT (MAX_RECORD_LEN < (1 << 24));

/* A flow keeps this state for as long as it lives: flags are one-bit fields, grouped, and
 * small counts are small integers. */
typedef struct {
  /* Stream framing */
  guint is_tls : 1;              /* a TLS start was seen on this side */
  guint is_lost : 1;             /* framing lost after a gap; resynchronise at a record boundary */
  guint is_record_encrypted : 1;
  guint is_sslv2_record : 1;
  guint is_quiet : 1;
  /* What this side sent */
  guint is_encrypting : 1;       /* its records are encrypted from here on */
  guint has_ccs : 1;
  guint has_encrypted_handshake : 1; /* TLS 1.2: its Finished, after ChangeCipherSpec */
  guint has_application_data : 1;
  guint has_client_hello : 1;
  guint has_server_hello : 1;
  guint has_hello_retry : 1;
  guint has_certificate : 1;
  guint is_certificate_empty : 1;
  guint is_certificate_malformed : 1;
  guint has_certificate_request : 1;
  guint has_server_hello_done : 1;
  guint has_certificate_verify : 1;
  guint has_client_key_exchange : 1;
  guint has_late_ccs : 1;        /* a ChangeCipherSpec after its first Finished */
  /* Decryption (only with a key log) */
  guint has_application_keys : 1; /* TLS 1.3: the cipher uses the application traffic secret */
  guint has_finished : 1;        /* its Finished was read (TLS 1.3 keys change after it) */
  guint has_decrypted_handshake : 1;
  guint has_decrypted_finished : 1;
  guint is_key_update_pending : 1; /* a decrypted KeyUpdate: new keys after this record */
  guint is_record_decrypted : 1; /* the record just finished was read with the key log */

  /* Stream framing */
  guint8 probe[RECORD_HEADER_LEN]; /* a segment too short to tell whether TLS starts there */
  guint8 n_probe;
  guint8 header[RECORD_HEADER_LEN];
  guint8 header_len;
  guint8 record_type;
  guint8 alert_bytes[2];
  guint8 n_alert_bytes;
  guint32 record_len;            /* a record header's 16 bits, or SSLv2's 15 */
  guint32 record_remaining;
  guint32 n_skip_message;        /* bytes left of a message too large to buffer (24-bit length) */
  GByteArray *message_buffer;    /* a handshake message cut by a record or segment boundary;
                                  * NULL when none is pending */

  /* What this side sent */
  guint n_handshake_after_finished;
  guint16 record_version;        /* in what n_handshake_after_finished leaves of 8 bytes */
  guint8 n_notes;
  guint64 first_encrypted_handshake_frame;
  guint64 client_hello_frame;
  guint64 server_hello_frame;
  guint64 certificate_frame;
  GPtrArray *chain;              /* MtdCert refs, NULL until the first certificate */
  guint64 certificate_request_frame;
  guint64 server_hello_done_frame;
  guint64 certificate_verify_frame;
  guint64 client_key_exchange_frame;
  guint64 first_encrypted_record_frame;
  /* 4-byte aligned from here, so that nothing is padded before the notes */
  RecordNote notes[MAX_RECORD_NOTES]; /* encrypted records after the ServerHello */
} TlsSide;

/* One side's read state with a key log. */
typedef struct {
  MtdRecordCipher *cipher;       /* NULL when not decrypting */
  GByteArray *record_buffer;     /* the encrypted record being gathered */
  GByteArray *plain_buffer;      /* its plaintext, reused record after record */
} SideDecrypt;

/* What only decryption needs, allocated when a key log is set: a flow analysed without one
 * carries a NULL pointer instead of the randoms, the sink and two sides' buffers. */
typedef struct {
  const MtdKeyLog *keylog;       /* borrowed */
  MtdTlsPlaintextSink plaintext_sink; /* borrowed */
  gpointer plaintext_sink_data;
  guint8 client_random[32];
  guint8 server_random[32];
  SideDecrypt sides[2];
  guint64 n_records_decrypted;
  guint64 decrypt_failure_frame;
} TlsDecrypt;

/* What one side sent after its first handshake (TLS 1.2 renegotiation without keys, alerts past
 * the notes): kept in TlsLate, so that a flow without such records does not carry it. */
typedef struct {
  /* TLS 1.2 without keys: the encrypted handshake records after its first Finished */
  RecordNote late_handshake[MAX_LATE_HANDSHAKE_NOTES];
  guint8 n_late_handshake;       /* at most MAX_LATE_HANDSHAKE_NOTES */
  guint8 n_late_alerts;          /* at most MAX_LATE_ALERTS */
  guint n_late_ccs;              /* all of them: one per renegotiation the side completed */
  guint n_late_before_ccs;       /* late handshake records before that ChangeCipherSpec */
  guint64 late_alert_frames[MAX_LATE_ALERTS]; /* TLS 1.3 alert-sized records past the notes */
} TlsLateSide;

/* What happened after the first handshake, allocated at its first event: most flows have none. */
typedef struct {
  TlsLateSide sides[2];
  guint64 post_handshake_request_frame;
  GArray *late_auths;            /* MtdLateAuth, NULL until the first */
  GArray *key_updates;           /* MtdKeyUpdate, NULL until the first */
  guint n_key_updates;
} TlsLate;

struct _MtdTls {
  guint is_sslv2_client_hello : 1;
  guint has_cipher_suite : 1;
  guint has_psk : 1;             /* TLS 1.3 ServerHello pre_shared_key: resumption */
  guint has_early_data_offer : 1;
  guint has_pha_offer : 1;
  guint is_session_resumed : 1;  /* TLS 1.2 session id echoed */
  guint has_fatal_alert : 1;
  guint is_midstream : 1;        /* the flow started before the capture: any record may start */
  guint has_client_random : 1;
  guint has_server_random : 1;
  guint is_decrypting_message : 1; /* the bytes being parsed came out of a decrypted record */
  guint is_encrypt_then_mac : 1; /* the ServerHello accepted encrypt_then_mac (RFC 7366 §2) */
  guint has_post_handshake_request : 1;
  guint is_renegotiating : 1;    /* the last late_auths entry is a renegotiation still going on */
  guint has_late_client_hello : 1; /* ... whose ClientHello was seen */
  gint client_side;              /* from the hello messages, -1 unknown */
  guint16 client_legacy_version;
  guint16 client_max_version;
  guint16 server_version;        /* negotiated */
  guint16 partial_server_version; /* legacy_version of a ServerHello cut short */
  guint16 cipher_suite;
  guint8 client_session_id_len;
  MtdDecryptStatus decrypt_status; /* here, in what the small fields leave of 8 bytes */
  MtdTlsLimits limits;
  MtdCertCache *cache;           /* borrowed */
  MtdAnomalyCounts *anomalies;   /* borrowed */
  TlsSide sides[2];
  guint8 client_session_id[32];
  char *sni;
  /* Lists are NULL until their first item: most flows never fill most of them. */
  GPtrArray *alpn_offered;       /* char*, owned */
  CodeList client_signature_algorithms;
  char *alpn;
  GPtrArray *acceptable_cas;     /* char*, owned */
  CodeList cert_types;
  CodeList cr_signature_algorithms;
  GArray *alerts;                /* MtdTlsAlert, is_from_client holds the side until conclude */
  /* frame of the packet being fed */
  guint64 current_frame;
  /* Decryption */
  TlsDecrypt *decrypt;           /* owned, NULL without a key log */
  /* Certificates asked for after the first handshake, KeyUpdates */
  TlsLate *late;                 /* owned, NULL until the first such event */
};

void
mtd_tls_limits_init_default (MtdTlsLimits *limits)
{
  limits->max_handshake_message = 256 * 1024;
  limits->max_certificates = 16;
  limits->max_list_items = 64;
}

static void
side_init (TlsSide *side)
{
  memset (side, 0, sizeof *side);
}

static void
code_list_clear (CodeList *list)
{
  g_clear_pointer (&list->codes, g_free);
  list->n_codes = 0;
}

static void
side_decrypt_clear (SideDecrypt *side)
{
  mtd_record_cipher_free (side->cipher);
  if (side->record_buffer != NULL)
    g_byte_array_unref (side->record_buffer);
  if (side->plain_buffer != NULL)
    g_byte_array_unref (side->plain_buffer);
}

static void
decrypt_free (TlsDecrypt *decrypt)
{
  if (decrypt == NULL)
    return;
  side_decrypt_clear (&decrypt->sides[0]);
  side_decrypt_clear (&decrypt->sides[1]);
  g_free (decrypt);
}

/* A side's cipher, NULL when it is not being decrypted. */
static MtdRecordCipher *
side_cipher (const MtdTls *tls, guint side_index)
{
  return tls->decrypt != NULL ? tls->decrypt->sides[side_index].cipher : NULL;
}

/* Ends decryption of one side (missing bytes, a bad tag, new keys to come). */
static void
drop_cipher (MtdTls *tls, guint side_index)
{
  if (tls->decrypt != NULL)
    g_clear_pointer (&tls->decrypt->sides[side_index].cipher, mtd_record_cipher_free);
}

static void
side_clear (TlsSide *side)
{
  if (side->message_buffer != NULL)
    g_byte_array_unref (side->message_buffer);
  if (side->chain != NULL)
    g_ptr_array_unref (side->chain);
}

MtdTls *
mtd_tls_new (const MtdTlsLimits *limits, MtdCertCache *cache, MtdAnomalyCounts *anomalies)
{
  MtdTls *tls = g_new0 (MtdTls, 1);
  tls->limits = *limits;
  tls->cache = cache;
  tls->anomalies = anomalies;
  side_init (&tls->sides[0]);
  side_init (&tls->sides[1]);
  tls->client_side = -1;
  return tls;
}

void
mtd_tls_free (MtdTls *tls)
{
  if (tls == NULL)
    return;
  side_clear (&tls->sides[0]);
  side_clear (&tls->sides[1]);
  decrypt_free (tls->decrypt);
  g_free (tls->sni);
  if (tls->alpn_offered != NULL)
    g_ptr_array_unref (tls->alpn_offered);
  code_list_clear (&tls->client_signature_algorithms);
  g_free (tls->alpn);
  if (tls->acceptable_cas != NULL)
    g_ptr_array_unref (tls->acceptable_cas);
  code_list_clear (&tls->cert_types);
  code_list_clear (&tls->cr_signature_algorithms);
  if (tls->late != NULL) {
    if (tls->late->late_auths != NULL)
      g_array_unref (tls->late->late_auths);
    if (tls->late->key_updates != NULL)
      g_array_unref (tls->late->key_updates);
    g_free (tls->late);
  }
  if (tls->alerts != NULL)
    g_array_unref (tls->alerts);
  g_free (tls);
}

static void
note (MtdTls *tls, MtdAnomaly anomaly)
{
  mtd_anomaly_note (tls->anomalies, anomaly);
}

/* ---- Record framing ------------------------------------------------------------------------ */

static gboolean
is_record_header_valid (guint8 type, guint16 version, gsize len)
{
  if (type < RECORD_CHANGE_CIPHER_SPEC || type > RECORD_HEARTBEAT)
    return FALSE;
  /* Record-layer versions are 3.0 to 3.4 (TLS 1.3 keeps 0x0303 on the wire, RFC 8446 §5.1). */
  if ((version >> 8) != 3 || (version & 0xFF) > 4)
    return FALSE;
  return len > 0 && len <= MAX_RECORD_LEN;
}

/* An SSLv2-format ClientHello (RFC 5246 Appendix E.2): a two-byte header with the high bit set,
 * message type 1, then a version of SSL 2.0 or 3.x. */
static gboolean
looks_like_sslv2_client_hello (const guint8 *data, gsize len)
{
  MtdCursor cursor = mtd_cursor_init (data, len);
  guint8 first = 0, second = 0, message_type = 0, version_major = 0;
  if (!mtd_cursor_read_u8 (&cursor, &first) || !mtd_cursor_read_u8 (&cursor, &second)
      || !mtd_cursor_read_u8 (&cursor, &message_type)
      || !mtd_cursor_read_u8 (&cursor, &version_major))
    return FALSE;
  gsize record_len = ((gsize) (first & 0x7F) << 8) | second;
  return (first & 0x80) && message_type == 1 && (version_major == 0 || version_major == 3)
         && record_len >= 9;
}

gboolean
mtd_tls_looks_like_start (const guint8 *data, gsize len)
{
  MtdCursor cursor = mtd_cursor_init (data, len);
  guint8 type = 0;
  guint16 version = 0, record_len = 0;
  if (mtd_cursor_read_u8 (&cursor, &type) && mtd_cursor_read_u16 (&cursor, &version)
      && mtd_cursor_read_u16 (&cursor, &record_len) && type == RECORD_HANDSHAKE
      && is_record_header_valid (type, version, record_len))
    return TRUE;
  return looks_like_sslv2_client_hello (data, len);
}

/* Where a side may start (or resume) being parsed: any plausible record header. */
static gboolean
looks_like_record_boundary (const guint8 *data, gsize len)
{
  MtdCursor cursor = mtd_cursor_init (data, len);
  guint8 type = 0;
  guint16 version = 0, record_len = 0;
  return mtd_cursor_read_u8 (&cursor, &type) && mtd_cursor_read_u16 (&cursor, &version)
         && mtd_cursor_read_u16 (&cursor, &record_len)
         && is_record_header_valid (type, version, record_len);
}

static void
add_alert (MtdTls *tls, guint side_index, gboolean is_encrypted, guint8 level,
           guint8 description)
{
  if (tls->alerts == NULL)
    tls->alerts = g_array_new (FALSE, TRUE, sizeof (MtdTlsAlert));
  if (tls->alerts->len >= tls->limits.max_list_items) {
    note (tls, MTD_ANOMALY_TLS_TOO_MANY_ITEMS);
    return;
  }
  MtdTlsAlert alert = { 0 };
  alert.frame = tls->current_frame;
  alert.is_from_client = side_index; /* resolved to client/server in conclude */
  alert.is_encrypted = is_encrypted;
  alert.is_decrypted = tls->is_decrypting_message;
  alert.level = level;
  alert.description = description;
  g_array_append_val (tls->alerts, alert);
  if (!is_encrypted && level == 2)
    tls->has_fatal_alert = TRUE;
}

/* ---- Keys ---------------------------------------------------------------------------------- */

const char *
mtd_late_auth_kind_name (MtdLateAuthKind kind)
{
  return kind == MTD_LATE_AUTH_RENEGOTIATION ? "renegotiation" : "post_handshake";
}

static void
late_auth_clear (gpointer data)
{
  MtdLateAuth *late = data;
  g_free (late->requested.reason);
  g_free (late->presented.reason);
}

static GArray *
late_auths_new (void)
{
  GArray *late_auths = g_array_new (FALSE, TRUE, sizeof (MtdLateAuth));
  g_array_set_clear_func (late_auths, late_auth_clear);
  return late_auths;
}

const char *
mtd_decrypt_status_name (MtdDecryptStatus status)
{
  switch (status) {
  case MTD_DECRYPT_NO_KEYS:
    return "no_keys";
  case MTD_DECRYPT_UNSUPPORTED:
    return "unsupported";
  case MTD_DECRYPT_OK:
    return "ok";
  case MTD_DECRYPT_FAILED:
    return "failed";
  case MTD_DECRYPT_NOT_ATTEMPTED:
  default:
    return "not_attempted";
  }
}

void
mtd_tls_set_keylog (MtdTls *tls, const MtdKeyLog *keylog)
{
  if (keylog == NULL)
    return; /* without keys nothing is decrypted; the state is made only for a key log */
  if (tls->decrypt == NULL)
    tls->decrypt = g_new0 (TlsDecrypt, 1);
  tls->decrypt->keylog = keylog;
}

void
mtd_tls_set_plaintext_sink (MtdTls *tls, MtdTlsPlaintextSink sink, gpointer user_data)
{
  /* Plaintext only comes out of decryption: without a key log there is none to pass on. */
  if (tls->decrypt == NULL)
    return;
  tls->decrypt->plaintext_sink = sink;
  tls->decrypt->plaintext_sink_data = user_data;
}

/* The secret of kind for this connection, NULL when the key log has none. */
static const guint8 *
find_secret (const MtdTls *tls, MtdSecretKind kind, gsize *secret_len)
{
  if (tls->decrypt == NULL || !tls->has_client_random)
    return NULL;
  return mtd_keylog_lookup (tls->decrypt->keylog, tls->decrypt->client_random, kind, secret_len);
}

/* Records how far decryption got; a failure is final. */
static void
set_decrypt_status (MtdTls *tls, MtdDecryptStatus status)
{
  if (tls->decrypt_status == MTD_DECRYPT_FAILED)
    return;
  if (status == MTD_DECRYPT_OK && tls->decrypt_status != MTD_DECRYPT_NOT_ATTEMPTED
      && tls->decrypt_status != MTD_DECRYPT_OK)
    return; /* a side without keys stays reported */
  tls->decrypt_status = status;
}

/* Installs a TLS 1.3 traffic secret as a side's read keys. */
static void
use_tls13_secret (MtdTls *tls, guint side_index, MtdSecretKind kind)
{
  g_return_if_fail (tls->decrypt != NULL);
  SideDecrypt *side = &tls->decrypt->sides[side_index];
  g_clear_pointer (&side->cipher, mtd_record_cipher_free);
  gsize secret_len = 0;
  const guint8 *secret = find_secret (tls, kind, &secret_len);
  if (secret == NULL) {
    set_decrypt_status (tls, MTD_DECRYPT_NO_KEYS);
    return;
  }
  side->cipher = mtd_record_cipher_new_tls13 (tls->cipher_suite, secret, secret_len);
  if (side->cipher == NULL)
    set_decrypt_status (tls, MTD_DECRYPT_UNSUPPORTED);
}

/* RFC 8446 §7.1: after the ServerHello each side writes with its handshake traffic secret. */
static void
start_tls13_decryption (MtdTls *tls, guint server_index)
{
  if (tls->decrypt == NULL)
    return;
  use_tls13_secret (tls, server_index, MTD_SECRET_SERVER_HANDSHAKE_TRAFFIC);
  use_tls13_secret (tls, 1 - server_index, MTD_SECRET_CLIENT_HANDSHAKE_TRAFFIC);
}

/* RFC 5246 §7.1: a side's ChangeCipherSpec starts its encryption under the pending keys, made
 * from the master secret (§6.3, §8.1). */
static void
start_tls12_decryption (MtdTls *tls, guint side_index)
{
  if (tls->decrypt == NULL || tls->client_side < 0 || !tls->has_server_random)
    return;
  SideDecrypt *side = &tls->decrypt->sides[side_index];
  g_clear_pointer (&side->cipher, mtd_record_cipher_free);
  gsize master_len = 0;
  const guint8 *master = find_secret (tls, MTD_SECRET_CLIENT_RANDOM, &master_len);
  if (master == NULL) {
    set_decrypt_status (tls, MTD_DECRYPT_NO_KEYS);
    return;
  }
  side->cipher = mtd_record_cipher_new_tls12 (tls->cipher_suite, master, master_len,
                                              tls->decrypt->client_random,
                                              tls->decrypt->server_random,
                                              (gint) side_index == tls->client_side,
                                              tls->is_encrypt_then_mac);
  if (side->cipher == NULL)
    set_decrypt_status (tls, MTD_DECRYPT_UNSUPPORTED);
}

/* ---- Handshake messages -------------------------------------------------------------------- */

static void
verdict_set (MtdVerdict *verdict, gint value, MtdHow how, const char *reason)
{
  verdict->value = value;
  verdict->how = how;
  g_free (verdict->reason);
  verdict->reason = g_strdup (reason);
}

static void
verdict_add_frame (MtdVerdict *verdict, guint64 frame)
{
  if (frame == 0 || verdict->n_frames >= MTD_MAX_EVIDENCE_FRAMES)
    return;
  for (guint i = 0; i < verdict->n_frames; i++)
    if (verdict->frames[i] == frame)
      return;
  verdict->frames[verdict->n_frames++] = frame;
}


static gboolean
is_grease (guint16 value)
{
  /* RFC 8701 §2: 0x0A0A, 0x1A1A, ... 0xFAFA */
  return (value & 0x0F0F) == 0x0A0A && (value >> 8) == (value & 0xFF);
}

static char *
copy_printable (const guint8 *bytes, gsize len)
{
  g_autofree char *raw = g_strndup ((const char *) bytes, len);
  return g_utf8_make_valid (raw, -1);
}

static gboolean
parse_server_name (MtdTls *tls, MtdCursor *body)
{
  /* RFC 6066 §3: ServerNameList of (NameType, HostName<1..2^16-1>) */
  MtdCursor list;
  if (!mtd_cursor_read_prefixed16 (body, &list))
    return FALSE;
  while (!mtd_cursor_is_empty (&list)) {
    guint8 name_type = 0;
    MtdCursor name;
    if (!mtd_cursor_read_u8 (&list, &name_type) || !mtd_cursor_read_prefixed16 (&list, &name))
      return FALSE;
    if (name_type == 0 && tls->sni == NULL)
      tls->sni = copy_printable (mtd_cursor_peek_bytes (&name), mtd_cursor_remaining (&name));
  }
  return mtd_cursor_is_done (&list);
}

static gboolean
parse_alpn_list (MtdTls *tls, MtdCursor *body, gboolean is_server)
{
  /* RFC 7301 §3.1: ProtocolNameList of ProtocolName<1..2^8-1> */
  MtdCursor list;
  if (!mtd_cursor_read_prefixed16 (body, &list))
    return FALSE;
  while (!mtd_cursor_is_empty (&list)) {
    MtdCursor name;
    if (!mtd_cursor_read_prefixed8 (&list, &name))
      return FALSE;
    char *text = copy_printable (mtd_cursor_peek_bytes (&name), mtd_cursor_remaining (&name));
    if (is_server) {
      g_free (tls->alpn);
      tls->alpn = text;
    } else if (tls->alpn_offered == NULL || tls->alpn_offered->len < tls->limits.max_list_items) {
      if (tls->alpn_offered == NULL)
        tls->alpn_offered = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (tls->alpn_offered, text);
    } else {
      g_free (text);
      note (tls, MTD_ANOMALY_TLS_TOO_MANY_ITEMS);
    }
  }
  return mtd_cursor_is_done (&list);
}

/* TLS 1.3 EncryptedExtensions (RFC 8446 §4.3.1), read only when decrypted: the server's ALPN
 * choice lives here rather than in the ServerHello. */
static gboolean
parse_encrypted_extensions (MtdTls *tls, MtdCursor *body)
{
  MtdCursor extensions;
  if (!mtd_cursor_read_prefixed16 (body, &extensions) || !mtd_cursor_is_done (body))
    return FALSE;
  while (!mtd_cursor_is_empty (&extensions)) {
    guint16 type = 0;
    MtdCursor data;
    if (!mtd_cursor_read_u16 (&extensions, &type)
        || !mtd_cursor_read_prefixed16 (&extensions, &data))
      return FALSE;
    if (type == EXT_ALPN && !parse_alpn_list (tls, &data, TRUE))
      return FALSE;
  }
  return mtd_cursor_is_done (&extensions);
}

/* Appends codes of code_size bytes (1 or 2) from list to codes, up to the list cap; the array
 * grows once per call, by exactly what is kept. */
static void
code_list_read (MtdTls *tls, CodeList *codes, MtdCursor *list, gsize code_size)
{
  gsize n_offered = mtd_cursor_remaining (list) / code_size;
  gsize n_room = tls->limits.max_list_items > codes->n_codes
                     ? tls->limits.max_list_items - codes->n_codes
                     : 0;
  gsize n_keep = MIN (n_offered, n_room);
  if (n_keep < n_offered)
    note (tls, MTD_ANOMALY_TLS_TOO_MANY_ITEMS);
  if (n_keep == 0)
    return;
  codes->codes = g_renew (guint16, codes->codes, codes->n_codes + n_keep);
  for (gsize i = 0; i < n_keep; i++) {
    guint8 byte = 0;
    guint16 code = 0;
    gboolean is_read = code_size == 1 ? mtd_cursor_read_u8 (list, &byte)
                                      : mtd_cursor_read_u16 (list, &code);
    if (!is_read)
      break;
    codes->codes[codes->n_codes++] = code_size == 1 ? byte : code;
  }
}

/* RFC 8446 §4.2.3: supported_signature_algorithms<2..2^16-2> of SignatureScheme. */
static gboolean
parse_signature_algorithms (MtdTls *tls, MtdCursor *body, CodeList *schemes)
{
  MtdCursor list;
  if (!mtd_cursor_read_prefixed16 (body, &list) || (mtd_cursor_remaining (&list) & 1))
    return FALSE;
  code_list_read (tls, schemes, &list, 2);
  return TRUE;
}

static gboolean
parse_client_hello (MtdTls *tls, guint side_index, MtdCursor *body)
{
  guint16 legacy_version = 0;
  const guint8 *random = NULL;
  MtdCursor session_id, cipher_suites, compression;
  if (!mtd_cursor_read_u16 (body, &legacy_version) || !mtd_cursor_read_bytes (body, 32, &random)
      || !mtd_cursor_read_prefixed8 (body, &session_id)
      || !mtd_cursor_read_prefixed16 (body, &cipher_suites)
      || !mtd_cursor_read_prefixed8 (body, &compression))
    return FALSE;
  TlsSide *side = &tls->sides[side_index];
  gboolean is_retry = side->has_client_hello;
  side->has_client_hello = TRUE;
  side->client_hello_frame = tls->current_frame;
  tls->client_side = (gint) side_index;
  if (is_retry) {
    /* A renegotiation's ClientHello (TLS 1.2, after the first Finished) brings the random
     * under which the key log files the new master secret; after a HelloRetryRequest the
     * random stays the first one's (RFC 8446 §4.1.2). */
    if (side->has_finished && tls->server_version < VERSION_TLS13 && tls->decrypt != NULL)
      memcpy (tls->decrypt->client_random, random, sizeof tls->decrypt->client_random);
    return TRUE;
  }
  if (tls->decrypt != NULL)
    memcpy (tls->decrypt->client_random, random, sizeof tls->decrypt->client_random);
  tls->has_client_random = TRUE;
  tls->client_legacy_version = legacy_version;
  tls->client_max_version = legacy_version;
  tls->client_session_id_len = MIN (mtd_cursor_remaining (&session_id), 32);
  if (!mtd_cursor_copy_bytes (&session_id, tls->client_session_id, tls->client_session_id_len))
    return FALSE;
  /* Extensions are optional (RFC 5246 §7.4.1.2). */
  if (mtd_cursor_is_empty (body))
    return TRUE;
  MtdCursor extensions;
  if (!mtd_cursor_read_prefixed16 (body, &extensions))
    return FALSE;
  guint n_extensions = 0;
  while (!mtd_cursor_is_empty (&extensions)) {
    guint16 type = 0;
    MtdCursor data;
    if (!mtd_cursor_read_u16 (&extensions, &type)
        || !mtd_cursor_read_prefixed16 (&extensions, &data))
      return FALSE;
    if (++n_extensions == 1024)
      note (tls, MTD_ANOMALY_TLS_TOO_MANY_ITEMS);
    switch (type) {
    case EXT_SERVER_NAME:
      if (!parse_server_name (tls, &data))
        note (tls, MTD_ANOMALY_TLS_BAD_HANDSHAKE);
      break;
    case EXT_ALPN:
      if (!parse_alpn_list (tls, &data, FALSE))
        note (tls, MTD_ANOMALY_TLS_BAD_HANDSHAKE);
      break;
    case EXT_SUPPORTED_VERSIONS: {
      MtdCursor versions;
      if (!mtd_cursor_read_prefixed8 (&data, &versions))
        break;
      guint16 version = 0;
      while (mtd_cursor_read_u16 (&versions, &version))
        if (!is_grease (version) && version > tls->client_max_version && version <= 0x0304)
          tls->client_max_version = version;
      break;
    }
    case EXT_SIGNATURE_ALGORITHMS:
      if (!parse_signature_algorithms (tls, &data, &tls->client_signature_algorithms))
        note (tls, MTD_ANOMALY_TLS_BAD_HANDSHAKE);
      break;
    case EXT_POST_HANDSHAKE_AUTH:
      tls->has_pha_offer = TRUE;
      break;
    case EXT_EARLY_DATA:
      tls->has_early_data_offer = TRUE;
      break;
    default:
      break;
    }
  }
  return mtd_cursor_is_done (&extensions);
}

static gboolean
parse_server_hello (MtdTls *tls, guint side_index, MtdCursor *body)
{
  guint16 legacy_version = 0, cipher_suite = 0;
  const guint8 *random = NULL;
  MtdCursor session_id;
  guint8 compression = 0;
  if (!mtd_cursor_read_u16 (body, &legacy_version) || !mtd_cursor_read_bytes (body, 32, &random)
      || !mtd_cursor_read_prefixed8 (body, &session_id)
      || !mtd_cursor_read_u16 (body, &cipher_suite) || !mtd_cursor_read_u8 (body, &compression))
    return FALSE;
  TlsSide *side = &tls->sides[side_index];
  gboolean is_retry = memcmp (random, hello_retry_request_random, 32) == 0;
  tls->client_side = (gint) (1 - side_index);
  guint16 version = legacy_version;
  gboolean has_psk = FALSE;
  if (!mtd_cursor_is_empty (body)) {
    MtdCursor extensions;
    if (!mtd_cursor_read_prefixed16 (body, &extensions))
      return FALSE;
    while (!mtd_cursor_is_empty (&extensions)) {
      guint16 type = 0, selected = 0;
      MtdCursor data;
      if (!mtd_cursor_read_u16 (&extensions, &type)
          || !mtd_cursor_read_prefixed16 (&extensions, &data))
        return FALSE;
      if (type == EXT_SUPPORTED_VERSIONS && mtd_cursor_read_u16 (&data, &selected))
        version = selected; /* RFC 8446 §4.2.1: the negotiated version */
      else if (type == EXT_ALPN && !parse_alpn_list (tls, &data, TRUE))
        note (tls, MTD_ANOMALY_TLS_BAD_HANDSHAKE);
      else if (type == EXT_PRE_SHARED_KEY)
        has_psk = TRUE;
      else if (type == EXT_ENCRYPT_THEN_MAC)
        tls->is_encrypt_then_mac = TRUE;
    }
    if (!mtd_cursor_is_done (&extensions))
      return FALSE;
  }
  tls->cipher_suite = cipher_suite;
  tls->has_cipher_suite = TRUE;
  tls->server_version = version;
  if (is_retry) {
    side->has_hello_retry = TRUE;
    return TRUE;
  }
  side->has_server_hello = TRUE;
  side->server_hello_frame = tls->current_frame;
  if (tls->decrypt != NULL)
    memcpy (tls->decrypt->server_random, random, sizeof tls->decrypt->server_random);
  tls->has_server_random = TRUE;
  tls->has_psk = has_psk;
  gsize session_id_len = mtd_cursor_remaining (&session_id);
  if (version < VERSION_TLS13 && session_id_len > 0 && session_id_len == tls->client_session_id_len
      && memcmp (mtd_cursor_peek_bytes (&session_id), tls->client_session_id, session_id_len) == 0)
    tls->is_session_resumed = TRUE; /* RFC 5246 §7.4.1.3: echoed session id resumes */
  if (version == VERSION_TLS13 || (version >> 8) == 0x7F) {
    /* RFC 8446 §2: everything after ServerHello is encrypted, in both directions. */
    tls->sides[0].is_encrypting = TRUE;
    tls->sides[1].is_encrypting = TRUE;
    start_tls13_decryption (tls, side_index);
  }
  return TRUE;
}

static void
add_cert (MtdTls *tls, TlsSide *side, const guint8 *der, gsize der_len)
{
  if (side->chain == NULL)
    side->chain = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_cert_unref);
  if (side->chain->len >= tls->limits.max_certificates) {
    note (tls, MTD_ANOMALY_TLS_TOO_MANY_CERTS);
    return;
  }
  g_autoptr (GError) error = NULL;
  MtdCert *cert = mtd_cert_cache_get (tls->cache, der, der_len, &error);
  if (cert == NULL) {
    note (tls, MTD_ANOMALY_TLS_BAD_CERTIFICATE);
    return;
  }
  g_ptr_array_add (side->chain, cert);
}

/* Certificate, RFC 5246 §7.4.2: certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>. */
static gboolean
parse_certificate_tls12 (MtdTls *tls, TlsSide *side, MtdCursor body, guint *n_certs)
{
  MtdCursor list;
  if (!mtd_cursor_read_prefixed24 (&body, &list) || !mtd_cursor_is_done (&body))
    return FALSE;
  /* Validate the framing before keeping anything. */
  MtdCursor check = list;
  guint count = 0;
  while (!mtd_cursor_is_empty (&check)) {
    MtdCursor cert;
    if (!mtd_cursor_read_prefixed24 (&check, &cert) || mtd_cursor_remaining (&cert) == 0)
      return FALSE;
    count++;
  }
  if (!mtd_cursor_is_done (&check))
    return FALSE;
  while (!mtd_cursor_is_empty (&list)) {
    MtdCursor cert;
    if (!mtd_cursor_read_prefixed24 (&list, &cert))
      return FALSE;
    add_cert (tls, side, mtd_cursor_peek_bytes (&cert), mtd_cursor_remaining (&cert));
  }
  *n_certs = count;
  return TRUE;
}

/* Certificate, RFC 8446 §4.4.2: context<0..2^8-1>, CertificateEntry list<0..2^24-1>. */
static gboolean
parse_certificate_tls13 (MtdTls *tls, TlsSide *side, MtdCursor body, guint *n_certs)
{
  MtdCursor context, list;
  if (!mtd_cursor_read_prefixed8 (&body, &context) || !mtd_cursor_read_prefixed24 (&body, &list)
      || !mtd_cursor_is_done (&body))
    return FALSE;
  guint count = 0;
  while (!mtd_cursor_is_empty (&list)) {
    MtdCursor cert, extensions;
    if (!mtd_cursor_read_prefixed24 (&list, &cert)
        || !mtd_cursor_read_prefixed16 (&list, &extensions))
      return FALSE;
    add_cert (tls, side, mtd_cursor_peek_bytes (&cert), mtd_cursor_remaining (&cert));
    count++;
  }
  *n_certs = count;
  return mtd_cursor_is_done (&list);
}

static void
clear_chain (TlsSide *side)
{
  if (side->chain != NULL)
    g_ptr_array_set_size (side->chain, 0);
}

/* Replaces the side's chain with the Certificate message's; FALSE (and no chain) when its
 * lengths do not add up. */
static gboolean
read_certificate (MtdTls *tls, TlsSide *side, MtdCursor *body, guint *n_certs)
{
  clear_chain (side);
  *n_certs = 0;
  gboolean is_parsed = tls->server_version == VERSION_TLS13
                           ? parse_certificate_tls13 (tls, side, *body, n_certs)
                           : parse_certificate_tls12 (tls, side, *body, n_certs);
  if (!is_parsed && tls->server_version == 0) {
    /* The version is unknown (the ServerHello is not in the capture): try the other layout. */
    clear_chain (side);
    is_parsed = parse_certificate_tls13 (tls, side, *body, n_certs);
  }
  if (!is_parsed)
    clear_chain (side);
  return is_parsed;
}

static gboolean
parse_certificate (MtdTls *tls, guint side_index, MtdCursor *body)
{
  TlsSide *side = &tls->sides[side_index];
  guint n_certs = 0;
  gboolean is_parsed = read_certificate (tls, side, body, &n_certs);
  /* Even a Certificate we cannot decode was sent, and says a certificate was asked for. */
  side->has_certificate = TRUE;
  side->certificate_frame = tls->current_frame;
  side->is_certificate_malformed = !is_parsed;
  side->is_certificate_empty = is_parsed && n_certs == 0;
  return is_parsed;
}

/* Keeps the DNs of a DistinguishedName list (RFC 5246 §7.4.4, RFC 8446 §4.2.4), framing
 * already checked by the caller. */
static void
keep_authorities (MtdTls *tls, MtdCursor authorities)
{
  while (!mtd_cursor_is_empty (&authorities)) {
    MtdCursor name;
    if (!mtd_cursor_read_prefixed16 (&authorities, &name))
      break;
    if (tls->acceptable_cas == NULL)
      tls->acceptable_cas = g_ptr_array_new_with_free_func (g_free);
    if (tls->acceptable_cas->len >= tls->limits.max_list_items) {
      note (tls, MTD_ANOMALY_TLS_TOO_MANY_ITEMS);
      break;
    }
    char *dn = mtd_dn_from_der (mtd_cursor_peek_bytes (&name), mtd_cursor_remaining (&name));
    if (dn == NULL) {
      note (tls, MTD_ANOMALY_TLS_BAD_HANDSHAKE);
      dn = g_strdup ("(a name that is not a valid DER DistinguishedName)");
    }
    g_ptr_array_add (tls->acceptable_cas, dn);
  }
}

/* CertificateRequest, RFC 5246 §7.4.4 (TLS 1.2) or RFC 4346 §7.4.4 (TLS 1.0/1.1, without
 * supported_signature_algorithms). */
static gboolean
parse_certificate_request_fields (MtdTls *tls, MtdCursor body, gboolean has_signature_algorithms)
{
  MtdCursor types, algorithms = mtd_cursor_init (NULL, 0), authorities;
  if (!mtd_cursor_read_prefixed8 (&body, &types))
    return FALSE;
  if (has_signature_algorithms && !mtd_cursor_read_prefixed16 (&body, &algorithms))
    return FALSE;
  if (!mtd_cursor_read_prefixed16 (&body, &authorities) || !mtd_cursor_is_done (&body))
    return FALSE;
  /* Check the DN list's framing before keeping anything. */
  MtdCursor check = authorities;
  while (!mtd_cursor_is_empty (&check)) {
    MtdCursor name;
    if (!mtd_cursor_read_prefixed16 (&check, &name))
      return FALSE;
  }
  if (!mtd_cursor_is_done (&check) || (mtd_cursor_remaining (&algorithms) & 1))
    return FALSE;

  code_list_read (tls, &tls->cert_types, &types, 1);
  code_list_read (tls, &tls->cr_signature_algorithms, &algorithms, 2);
  keep_authorities (tls, authorities);
  return TRUE;
}

/* TLS 1.3 CertificateRequest (RFC 8446 §4.3.2): a request context and extensions, among them
 * signature_algorithms and certificate_authorities (§4.2.4); read only when decrypted. */
static gboolean
parse_certificate_request_tls13 (MtdTls *tls, MtdCursor body)
{
  MtdCursor context, extensions;
  if (!mtd_cursor_read_prefixed8 (&body, &context)
      || !mtd_cursor_read_prefixed16 (&body, &extensions) || !mtd_cursor_is_done (&body))
    return FALSE;
  while (!mtd_cursor_is_empty (&extensions)) {
    guint16 type = 0;
    MtdCursor data;
    if (!mtd_cursor_read_u16 (&extensions, &type)
        || !mtd_cursor_read_prefixed16 (&extensions, &data))
      return FALSE;
    if (type == EXT_SIGNATURE_ALGORITHMS) {
      if (!parse_signature_algorithms (tls, &data, &tls->cr_signature_algorithms))
        return FALSE;
    } else if (type == EXT_CERTIFICATE_AUTHORITIES) {
      MtdCursor authorities;
      if (!mtd_cursor_read_prefixed16 (&data, &authorities) || !mtd_cursor_is_done (&data))
        return FALSE;
      MtdCursor check = authorities;
      while (!mtd_cursor_is_empty (&check)) {
        MtdCursor name;
        if (!mtd_cursor_read_prefixed16 (&check, &name))
          return FALSE;
      }
      keep_authorities (tls, authorities);
    }
  }
  return mtd_cursor_is_done (&extensions);
}

/* Replaces the requested certificate types, signature algorithms and CAs with the request's. */
static gboolean
read_certificate_request (MtdTls *tls, MtdCursor *body)
{
  code_list_clear (&tls->cert_types);
  code_list_clear (&tls->cr_signature_algorithms);
  if (tls->acceptable_cas != NULL)
    g_ptr_array_set_size (tls->acceptable_cas, 0);
  if (tls->server_version == VERSION_TLS13)
    return parse_certificate_request_tls13 (tls, *body);
  gboolean has_algorithms = tls->server_version == 0 || tls->server_version >= VERSION_TLS12;
  return parse_certificate_request_fields (tls, *body, has_algorithms)
         || parse_certificate_request_fields (tls, *body, !has_algorithms);
}

static gboolean
parse_certificate_request (MtdTls *tls, guint side_index, MtdCursor *body)
{
  gboolean is_parsed = read_certificate_request (tls, body);
  TlsSide *side = &tls->sides[side_index];
  /* Even a request we cannot decode is a request. */
  side->has_certificate_request = TRUE;
  side->certificate_request_frame = tls->current_frame;
  return is_parsed;
}

/* ---- Certificates asked for after the first handshake ---------------------------------------- */

static TlsLate *
ensure_late (MtdTls *tls)
{
  if (tls->late == NULL)
    tls->late = g_new0 (TlsLate, 1);
  return tls->late;
}

/* A side's records after its first handshake, for writing: allocated with TlsLate. */
static TlsLateSide *
ensure_late_side (MtdTls *tls, guint side_index)
{
  return &ensure_late (tls)->sides[side_index];
}

/* A side's records after its first handshake, for reading: all zero when there were none. */
static const TlsLateSide *
late_side (const MtdTls *tls, guint side_index)
{
  static const TlsLateSide none;
  return tls->late != NULL ? &tls->late->sides[side_index] : &none;
}

/* Starts an entry for a post-handshake CertificateRequest or a renegotiation; NULL past the
 * cap, which is recorded. */
static MtdLateAuth *
open_late_auth (MtdTls *tls, MtdLateAuthKind kind)
{
  tls->is_renegotiating = FALSE;
  TlsLate *state = ensure_late (tls);
  if (state->late_auths == NULL)
    state->late_auths = late_auths_new ();
  if (state->late_auths->len >= MTD_MAX_LATE_AUTHS) {
    note (tls, MTD_ANOMALY_TLS_TOO_MANY_ITEMS);
    return NULL;
  }
  MtdLateAuth late = { 0 };
  late.kind = kind;
  late.frame = tls->current_frame;
  late.how = MTD_HOW_DECRYPTED;
  late.trigger_exchange = -1;
  const char *reason = "the rest of this exchange is not in the capture";
  verdict_set (&late.requested, MTD_REQUESTED_UNKNOWN, MTD_HOW_NONE, reason);
  verdict_set (&late.presented, MTD_PRESENTED_UNKNOWN, MTD_HOW_NONE, reason);
  g_array_append_val (state->late_auths, late);
  tls->is_renegotiating = kind == MTD_LATE_AUTH_RENEGOTIATION;
  tls->has_late_client_hello = FALSE;
  return &g_array_index (state->late_auths, MtdLateAuth, state->late_auths->len - 1);
}

static MtdLateAuth *
last_late_auth (MtdTls *tls, MtdLateAuthKind kind)
{
  if (tls->late == NULL || tls->late->late_auths == NULL || tls->late->late_auths->len == 0)
    return NULL;
  GArray *late_auths = tls->late->late_auths;
  MtdLateAuth *late = &g_array_index (late_auths, MtdLateAuth, late_auths->len - 1);
  return late->kind == kind ? late : NULL;
}

/* The client's Certificate in a late exchange: its chain replaces any earlier one. */
static void
read_late_certificate (MtdTls *tls, TlsSide *client, MtdLateAuth *late, MtdCursor body)
{
  guint n_certs = 0;
  if (!read_certificate (tls, client, &body, &n_certs)) {
    note (tls, MTD_ANOMALY_TLS_BAD_HANDSHAKE);
    verdict_set (&late->presented, MTD_PRESENTED_UNKNOWN, MTD_HOW_NONE,
                 "the client sent a Certificate message whose lengths do not add up");
  } else {
    verdict_set (&late->presented, n_certs == 0 ? MTD_PRESENTED_EMPTY : MTD_PRESENTED_YES,
                 MTD_HOW_DECRYPTED, NULL);
  }
  verdict_add_frame (&late->presented, tls->current_frame);
}

/* TLS 1.3 post-handshake authentication (RFC 8446 §4.6.2): a CertificateRequest after the
 * server's Finished, answered by the client's Certificate, CertificateVerify and Finished. */
static void
handle_post_handshake_request (MtdTls *tls, guint side_index, MtdCursor body)
{
  if (!tls->has_post_handshake_request) {
    tls->has_post_handshake_request = TRUE;
    ensure_late (tls)->post_handshake_request_frame = tls->current_frame;
  }
  /* Its CAs and algorithms are the ones that matter when the first handshake asked nothing. */
  if (!tls->sides[side_index].has_certificate_request && !read_certificate_request (tls, &body))
    note (tls, MTD_ANOMALY_TLS_BAD_HANDSHAKE);
  MtdLateAuth *late = open_late_auth (tls, MTD_LATE_AUTH_POST_HANDSHAKE);
  if (late == NULL)
    return;
  verdict_set (&late->requested, MTD_REQUESTED_YES, MTD_HOW_DECRYPTED, NULL);
  verdict_add_frame (&late->requested, tls->current_frame);
}

/* Messages of a TLS 1.2 renegotiation, read with a key log (RFC 5246 §7.4, RFC 5746): they
 * describe the new handshake, so they go to its entry instead of the first handshake's facts.
 * Returns FALSE for messages the first handshake's parser should read as usual. */
static gboolean
handle_renegotiation_message (MtdTls *tls, guint side_index, guint8 type, MtdCursor body)
{
  MtdLateAuth *late = last_late_auth (tls, MTD_LATE_AUTH_RENEGOTIATION);
  if (late == NULL)
    return FALSE;
  TlsSide *side = &tls->sides[side_index];
  gboolean is_client = (gint) side_index == tls->client_side;
  switch (type) {
  case HS_SERVER_HELLO: {
    /* Its random and cipher suite make the renegotiated keys; the first handshake's facts stay. */
    guint64 server_hello_frame = side->server_hello_frame;
    gboolean is_session_resumed = tls->is_session_resumed, has_psk = tls->has_psk;
    if (!parse_server_hello (tls, side_index, &body))
      note (tls, MTD_ANOMALY_TLS_BAD_HANDSHAKE);
    side->server_hello_frame = server_hello_frame;
    tls->is_session_resumed = is_session_resumed;
    tls->has_psk = has_psk;
    return TRUE;
  }
  case HS_CERTIFICATE_REQUEST:
    if (is_client)
      return TRUE;
    if (!side->has_certificate_request && !read_certificate_request (tls, &body))
      note (tls, MTD_ANOMALY_TLS_BAD_HANDSHAKE);
    verdict_set (&late->requested, MTD_REQUESTED_YES, MTD_HOW_DECRYPTED, NULL);
    verdict_add_frame (&late->requested, tls->current_frame);
    return TRUE;
  case HS_SERVER_HELLO_DONE:
    if (!is_client && late->requested.value == MTD_REQUESTED_UNKNOWN) {
      verdict_set (&late->requested, MTD_REQUESTED_NO, MTD_HOW_DECRYPTED,
                   "the server's renegotiation flight ended without a CertificateRequest");
      verdict_add_frame (&late->requested, tls->current_frame);
    }
    return TRUE;
  case HS_CERTIFICATE:
    if (is_client)
      read_late_certificate (tls, side, late, body);
    return TRUE;
  case HS_CLIENT_KEY_EXCHANGE:
    if (is_client && late->presented.value == MTD_PRESENTED_UNKNOWN) {
      verdict_set (&late->presented, MTD_PRESENTED_NO, MTD_HOW_DECRYPTED,
                   "the client went on to its key exchange without a Certificate message");
      verdict_add_frame (&late->presented, tls->current_frame);
    }
    return TRUE;
  case HS_FINISHED:
    if (!is_client && late->requested.value == MTD_REQUESTED_UNKNOWN) {
      /* A Finished straight after the ServerHello: an abbreviated handshake (RFC 5246 §7.3). */
      const char *reason = "the renegotiation resumed a session: no certificates are exchanged "
                           "in an abbreviated handshake (RFC 5246 §7.3)";
      verdict_set (&late->requested, MTD_REQUESTED_NO, MTD_HOW_DECRYPTED, reason);
      verdict_set (&late->presented, MTD_PRESENTED_NO, MTD_HOW_DECRYPTED, reason);
      verdict_add_frame (&late->requested, tls->current_frame);
    }
    return FALSE;
  case HS_CERTIFICATE_VERIFY:
  case HS_SERVER_KEY_EXCHANGE:
    return TRUE;
  default:
    return FALSE;
  }
}

/* RFC 8446 §4.6.3: a KeyUpdate changes the sender's keys after the record that carries it. */
static void
handle_key_update (MtdTls *tls, guint side_index)
{
  TlsSide *side = &tls->sides[side_index];
  side->is_key_update_pending = TRUE;
  TlsLate *late = ensure_late (tls);
  if (late->n_key_updates++ >= MTD_MAX_KEY_UPDATES)
    return;
  if (late->key_updates == NULL)
    late->key_updates = g_array_new (FALSE, TRUE, sizeof (MtdKeyUpdate));
  /* is_from_client holds the side until mtd_tls_conclude knows the roles. */
  MtdKeyUpdate update = { tls->current_frame, (gboolean) side_index };
  g_array_append_val (late->key_updates, update);
}

static void
handle_message (MtdTls *tls, guint side_index, guint8 type, MtdCursor body)
{
  TlsSide *side = &tls->sides[side_index];
  gboolean is_parsed = TRUE;
  gboolean is_tls12_late = tls->is_decrypting_message && side->has_finished
                           && tls->server_version != 0 && tls->server_version < VERSION_TLS13;
  if (is_tls12_late) {
    /* RFC 5246 §7.4.1.1: a HelloRequest, or a ClientHello after the handshake, renegotiates. */
    if (type == HS_HELLO_REQUEST && (gint) side_index != tls->client_side) {
      open_late_auth (tls, MTD_LATE_AUTH_RENEGOTIATION);
      return;
    }
    if (type == HS_CLIENT_HELLO && (gint) side_index == tls->client_side
        && (!tls->is_renegotiating || tls->has_late_client_hello)) {
      open_late_auth (tls, MTD_LATE_AUTH_RENEGOTIATION);
      tls->has_late_client_hello = TRUE;
    } else if (type == HS_CLIENT_HELLO) {
      tls->has_late_client_hello = TRUE;
    }
  }
  if (tls->is_renegotiating && tls->is_decrypting_message
      && handle_renegotiation_message (tls, side_index, type, body))
    return;
  if (type == HS_KEY_UPDATE && tls->is_decrypting_message && tls->server_version == VERSION_TLS13) {
    handle_key_update (tls, side_index);
    return;
  }
  if (type == HS_CERTIFICATE && tls->server_version == VERSION_TLS13 && side->has_finished
      && tls->is_decrypting_message && (gint) side_index == tls->client_side) {
    /* The client's answer to a post-handshake CertificateRequest (RFC 8446 §4.6.2). */
    MtdLateAuth *late = last_late_auth (tls, MTD_LATE_AUTH_POST_HANDSHAKE);
    if (late != NULL && late->presented.value == MTD_PRESENTED_UNKNOWN) {
      is_parsed = parse_certificate (tls, side_index, &body);
      verdict_set (&late->presented,
                   !is_parsed                  ? MTD_PRESENTED_UNKNOWN
                   : side->is_certificate_empty ? MTD_PRESENTED_EMPTY
                                                : MTD_PRESENTED_YES,
                   is_parsed ? MTD_HOW_DECRYPTED : MTD_HOW_NONE, NULL);
      verdict_add_frame (&late->presented, tls->current_frame);
      if (!is_parsed)
        note (tls, MTD_ANOMALY_TLS_BAD_HANDSHAKE);
      return;
    }
  }
  switch (type) {
  case HS_CLIENT_HELLO:
    is_parsed = parse_client_hello (tls, side_index, &body);
    break;
  case HS_SERVER_HELLO:
    is_parsed = parse_server_hello (tls, side_index, &body);
    break;
  case HS_CERTIFICATE:
    is_parsed = parse_certificate (tls, side_index, &body);
    break;
  case HS_ENCRYPTED_EXTENSIONS:
    if (tls->server_version == VERSION_TLS13 && (gint) side_index != tls->client_side)
      is_parsed = parse_encrypted_extensions (tls, &body);
    break;
  case HS_CERTIFICATE_REQUEST:
    if (tls->server_version == VERSION_TLS13 && side->has_finished) {
      /* RFC 8446 §4.6.2: after its Finished a server asks with post-handshake authentication. */
      handle_post_handshake_request (tls, side_index, body);
      break;
    }
    is_parsed = parse_certificate_request (tls, side_index, &body);
    break;
  case HS_FINISHED:
    side->has_finished = TRUE;
    if (tls->is_decrypting_message)
      side->has_decrypted_finished = TRUE;
    break;
  case HS_SERVER_HELLO_DONE:
    side->has_server_hello_done = TRUE;
    side->server_hello_done_frame = tls->current_frame;
    break;
  case HS_CERTIFICATE_VERIFY:
    side->has_certificate_verify = TRUE;
    side->certificate_verify_frame = tls->current_frame;
    break;
  case HS_CLIENT_KEY_EXCHANGE:
    side->has_client_key_exchange = TRUE;
    side->client_key_exchange_frame = tls->current_frame;
    if (tls->client_side < 0)
      tls->client_side = (gint) side_index;
    break;
  default:
    break;
  }
  if (!is_parsed)
    note (tls, MTD_ANOMALY_TLS_BAD_HANDSHAKE);
}

/* Parses the complete messages at the front of data (len bytes); returns how many bytes they
 * took.  A message too large to buffer is skipped: all of data counts as taken, and
 * n_skip_message says how much of it is still to come. */
static gsize
parse_messages (MtdTls *tls, guint side_index, const guint8 *data, gsize len)
{
  TlsSide *side = &tls->sides[side_index];
  gsize consumed = 0;
  for (;;) {
    MtdCursor cursor = mtd_cursor_init (data + consumed, len - consumed);
    guint8 type = 0;
    guint32 body_len = 0;
    if (!mtd_cursor_read_u8 (&cursor, &type) || !mtd_cursor_read_u24 (&cursor, &body_len))
      break;
    if (body_len > tls->limits.max_handshake_message) {
      /* Skip it without buffering: a lying 16 MB length must not cost 16 MB. */
      note (tls, MTD_ANOMALY_TLS_MESSAGE_TOO_LARGE);
      if (type == HS_CERTIFICATE) {
        side->has_certificate = TRUE;
        side->certificate_frame = tls->current_frame;
      } else if (type == HS_CERTIFICATE_REQUEST) {
        side->has_certificate_request = TRUE;
        side->certificate_request_frame = tls->current_frame;
      }
      gsize available = mtd_cursor_remaining (&cursor);
      if (available >= body_len) {
        consumed += 4 + body_len;
        continue;
      }
      side->n_skip_message = body_len - available;
      consumed = len;
      break;
    }
    MtdCursor body;
    if (!mtd_cursor_read_sub (&cursor, body_len, &body))
      break;
    handle_message (tls, side_index, type, body);
    consumed += 4 + body_len;
  }
  return consumed;
}

static void
feed_handshake_bytes (MtdTls *tls, guint side_index, const guint8 *data, gsize len)
{
  TlsSide *side = &tls->sides[side_index];
  if (side->n_skip_message > 0) {
    gsize n_skip = MIN (side->n_skip_message, len);
    side->n_skip_message -= n_skip;
    data += n_skip;
    len -= n_skip;
    if (len == 0)
      return;
  }
  if (side->message_buffer == NULL) {
    /* Most messages arrive whole: they are read where they lie, and only a message cut by a
     * record or segment boundary is copied, until its end arrives. */
    gsize consumed = parse_messages (tls, side_index, data, len);
    if (consumed < len && !side->is_quiet) {
      side->message_buffer = g_byte_array_new ();
      g_byte_array_append (side->message_buffer, data + consumed, (guint) (len - consumed));
    }
    return;
  }
  GByteArray *buffer = side->message_buffer;
  g_byte_array_append (buffer, data, (guint) len);
  gsize consumed = parse_messages (tls, side_index, buffer->data, buffer->len);
  if (side->message_buffer != buffer)
    return; /* the side went quiet and let it go */
  if (consumed < buffer->len) {
    g_byte_array_remove_range (buffer, 0, (guint) consumed);
    return;
  }
  /* Nothing pending: a flow between handshake messages holds no buffer. */
  g_byte_array_unref (buffer);
  side->message_buffer = NULL;
}

/* ---- Records ------------------------------------------------------------------------------- */

static void
note_encrypted_record (MtdTls *tls, TlsSide *side, guint8 type, gsize len)
{
  if (side->first_encrypted_record_frame == 0)
    side->first_encrypted_record_frame = tls->current_frame;
  if (side->n_notes < MAX_RECORD_NOTES) {
    RecordNote *record = &side->notes[side->n_notes++];
    record->type = type;
    record->len = len;
    record->frame = tls->current_frame;
    return;
  }
  /* Past the handshake only alerts matter, and in TLS 1.3 they are known by size alone. */
  gsize hash_len = 0, tag_len = 0;
  guint side_index = (guint) (side - tls->sides);
  if (type == RECORD_APPLICATION_DATA
      && late_side (tls, side_index)->n_late_alerts < MAX_LATE_ALERTS
      && mtd_tls13_suite_lengths (tls->cipher_suite, &hash_len, &tag_len)
      && len == 2 + 1 + tag_len) {
    TlsLateSide *late = ensure_late_side (tls, side_index);
    late->late_alert_frames[late->n_late_alerts++] = tls->current_frame;
  }
}

/* Decrypts the record gathered in the side's record buffer and parses its plaintext: handshake
 * messages and alerts as if they had been in clear, application data to the plaintext sink. */
static void
decrypt_record (MtdTls *tls, guint side_index)
{
  TlsSide *side = &tls->sides[side_index];
  SideDecrypt *crypt = &tls->decrypt->sides[side_index];
  GByteArray *record = crypt->record_buffer;
  if (record == NULL || record->len != side->record_len)
    return; /* bytes were missing; the gap handling already stopped decryption */
  /* One buffer per side, grown to the largest record (at most MAX_RECORD_LEN): nothing is
   * allocated per record. */
  if (crypt->plain_buffer == NULL)
    crypt->plain_buffer = g_byte_array_sized_new (MAX (record->len, 1));
  g_byte_array_set_size (crypt->plain_buffer, MAX (record->len, 1));
  guint8 *plain = crypt->plain_buffer->data;
  gsize plain_len = 0;
  guint8 inner_type = 0;
  if (!mtd_record_cipher_decrypt (crypt->cipher, side->record_type, side->record_version,
                                  record->data, record->len, plain, record->len, &plain_len,
                                  &inner_type)) {
    /* The keys are not this connection's, or a record is missing: say so once, never guess. */
    if (tls->decrypt->decrypt_failure_frame == 0)
      tls->decrypt->decrypt_failure_frame = tls->current_frame;
    tls->decrypt_status = MTD_DECRYPT_FAILED;
    drop_cipher (tls, 0);
    drop_cipher (tls, 1);
    return;
  }
  tls->decrypt->n_records_decrypted++;
  side->is_record_decrypted = TRUE;
  set_decrypt_status (tls, MTD_DECRYPT_OK);
  tls->is_decrypting_message = TRUE;
  switch (inner_type) {
  case RECORD_HANDSHAKE:
    side->has_decrypted_handshake = TRUE;
    feed_handshake_bytes (tls, side_index, plain, plain_len);
    break;
  case RECORD_ALERT: {
    /* RFC 8446 §6: AlertLevel, AlertDescription, nothing else. */
    MtdCursor alert = mtd_cursor_init (plain, plain_len);
    guint8 level = 0, description = 0;
    if (mtd_cursor_read_u8 (&alert, &level) && mtd_cursor_read_u8 (&alert, &description)
        && mtd_cursor_is_done (&alert))
      add_alert (tls, side_index, FALSE, level, description);
    else
      note (tls, MTD_ANOMALY_TLS_BAD_RECORD);
    break;
  }
  case RECORD_APPLICATION_DATA:
    if (tls->decrypt->plaintext_sink != NULL && plain_len > 0)
      tls->decrypt->plaintext_sink (side_index, plain, plain_len, tls->current_frame,
                                    tls->decrypt->plaintext_sink_data);
    break;
  default:
    break;
  }
  tls->is_decrypting_message = FALSE;
  /* RFC 8446 §7.1: after its Finished a side writes with its application traffic secret. */
  if (tls->server_version == VERSION_TLS13 && side->has_finished && !side->has_application_keys
      && crypt->cipher != NULL) {
    side->has_application_keys = TRUE;
    gboolean is_client = (gint) side_index == tls->client_side;
    use_tls13_secret (tls, side_index,
                      is_client ? MTD_SECRET_CLIENT_TRAFFIC_0 : MTD_SECRET_SERVER_TRAFFIC_0);
  }
  /* RFC 8446 §4.6.3: the sender's next record uses application_traffic_secret_N+1.  A failed
   * derivation leaves a cipher that no record verifies against, which is reported then. */
  if (side->is_key_update_pending) {
    side->is_key_update_pending = FALSE;
    if (crypt->cipher != NULL)
      mtd_record_cipher_update_tls13 (crypt->cipher);
  }
}

/* Called when a record's last byte has arrived. */
static void
finish_record (MtdTls *tls, guint side_index)
{
  TlsSide *side = &tls->sides[side_index];
  side->is_record_decrypted = FALSE;
  if (side->is_record_encrypted && side_cipher (tls, side_index) != NULL)
    decrypt_record (tls, side_index);
  switch (side->record_type) {
  case RECORD_CHANGE_CIPHER_SPEC:
    if (side->has_encrypted_handshake) {
      TlsLateSide *late = ensure_late_side (tls, side_index);
      if (!side->has_late_ccs) {
        /* A renegotiation's ChangeCipherSpec ends the side's flight of that handshake. */
        side->has_late_ccs = TRUE;
        late->n_late_before_ccs = side->n_handshake_after_finished;
      }
      if (late->n_late_ccs++ == MTD_MAX_LATE_AUTHS)
        note (tls, MTD_ANOMALY_TLS_TOO_MANY_ITEMS); /* only the first renegotiations are read */
    }
    side->has_ccs = TRUE;
    /* In TLS 1.2 and older everything after ChangeCipherSpec is encrypted (RFC 5246 §7.1); in
     * TLS 1.3 it is a compatibility no-op (RFC 8446 Appendix D.4). */
    if (tls->server_version != VERSION_TLS13) {
      side->is_encrypting = TRUE;
      start_tls12_decryption (tls, side_index);
    }
    break;
  case RECORD_ALERT:
    if (side->is_record_decrypted) {
      /* decrypt_record read its level and description */
    } else if (side->is_record_encrypted) {
      add_alert (tls, side_index, TRUE, 0, 0);
      note_encrypted_record (tls, side, side->record_type, side->record_len);
    } else if (side->n_alert_bytes == 2) {
      add_alert (tls, side_index, FALSE, side->alert_bytes[0], side->alert_bytes[1]);
    } else {
      note (tls, MTD_ANOMALY_TLS_BAD_RECORD);
    }
    break;
  case RECORD_HANDSHAKE:
    if (side->is_record_encrypted) {
      if (!side->has_encrypted_handshake) {
        side->has_encrypted_handshake = TRUE; /* its Finished (RFC 5246 §7.4.9) */
        side->first_encrypted_handshake_frame = tls->current_frame;
      } else {
        /* A handshake after Finished: renegotiation or a HelloRequest (RFC 5246 §7.4.1.1). */
        side->n_handshake_after_finished++;
        TlsLateSide *late = ensure_late_side (tls, side_index);
        if (late->n_late_handshake < MAX_LATE_HANDSHAKE_NOTES) {
          RecordNote *record = &late->late_handshake[late->n_late_handshake++];
          record->type = side->record_type;
          record->len = side->record_len;
          record->frame = tls->current_frame;
        }
      }
    }
    break;
  case RECORD_APPLICATION_DATA:
    side->has_application_data = TRUE;
    note_encrypted_record (tls, side, side->record_type, side->record_len);
    break;
  default:
    break;
  }
}

static void
side_go_quiet (MtdTls *tls, guint side_index)
{
  TlsSide *side = &tls->sides[side_index];
  if (side->is_quiet)
    return;
  side->is_quiet = TRUE;
  if (side->message_buffer != NULL) {
    g_byte_array_unref (side->message_buffer);
    side->message_buffer = NULL;
  }
}

gboolean
mtd_tls_is_handshake_over (const MtdTls *tls)
{
  if (tls->has_fatal_alert)
    return TRUE;
  const TlsSide *a = &tls->sides[0], *b = &tls->sides[1];
  if (tls->server_version == VERSION_TLS13) {
    if (tls->client_side < 0)
      return FALSE;
    const TlsSide *client = &tls->sides[tls->client_side];
    const TlsSide *server = &tls->sides[1 - tls->client_side];
    gsize hash_len = 0, tag_len = 0;
    if (server->n_notes == 0 || !mtd_tls13_suite_lengths (tls->cipher_suite, &hash_len, &tag_len))
      return FALSE;
    /* The client's flight ends with its Finished: a record of exactly that size, an empty
     * Certificate coalesced with it, or a third record; and the server only writes again (tickets,
     * data, an alert) once it has read that Finished. */
    gsize finished_record_len = 4 + hash_len + 1 + tag_len;
    gsize coalesced_empty_len = 8 + 4 + hash_len + 1 + tag_len;
    guint64 flight_frame = 0;
    guint n_flight = 0;
    for (guint i = 0; i < client->n_notes; i++) {
      const RecordNote *record = &client->notes[i];
      if (record->frame < server->first_encrypted_record_frame)
        continue;
      if (n_flight++ == 0)
        flight_frame = record->frame;
      if (record->len == finished_record_len || record->len == coalesced_empty_len || n_flight >= 3)
        return TRUE;
    }
    for (guint i = 0; flight_frame != 0 && i < server->n_notes; i++)
      if (server->notes[i].frame > flight_frame)
        return TRUE;
    return FALSE;
  }
  /* TLS 1.2 and older: each side's Finished, or its application data, which may only follow its
   * Finished (RFC 5246 §7.4.9); the latter survives a snaplen that cut the Finished. */
  return (a->has_encrypted_handshake || a->has_application_data)
         && (b->has_encrypted_handshake || b->has_application_data);
}

/* Feeds bytes of one record body. */
static void
feed_record_body (MtdTls *tls, guint side_index, const guint8 *data, gsize len)
{
  TlsSide *side = &tls->sides[side_index];
  if (side->is_record_encrypted) {
    if (side_cipher (tls, side_index) != NULL) {
      GByteArray *record = tls->decrypt->sides[side_index].record_buffer;
      if (record != NULL)
        g_byte_array_append (record, data, (guint) len);
    }
    return;
  }
  if (side->record_type == RECORD_ALERT) {
    /* Alerts are collected even on a quiet side: a late alert still explains a failure. */
    MtdCursor cursor = mtd_cursor_init (data, len);
    guint8 byte = 0;
    while (side->n_alert_bytes < 2 && mtd_cursor_read_u8 (&cursor, &byte))
      side->alert_bytes[side->n_alert_bytes++] = byte;
  } else if (side->record_type == RECORD_HANDSHAKE && !side->is_quiet) {
    feed_handshake_bytes (tls, side_index, data, len);
  }
}

static void
start_record (MtdTls *tls, guint side_index)
{
  TlsSide *side = &tls->sides[side_index];
  MtdCursor cursor = mtd_cursor_init (side->header, RECORD_HEADER_LEN);
  guint8 type = 0;
  guint16 version = 0, record_len = 0;
  if (!mtd_cursor_read_u8 (&cursor, &type) || !mtd_cursor_read_u16 (&cursor, &version)
      || !mtd_cursor_read_u16 (&cursor, &record_len)
      || !is_record_header_valid (type, version, record_len)) {
    note (tls, MTD_ANOMALY_TLS_BAD_RECORD);
    side->is_lost = TRUE;
    side->header_len = 0;
    return;
  }
  side->record_type = type;
  side->record_len = record_len;
  side->record_remaining = record_len;
  side->n_alert_bytes = 0;
  /* TLS 1.3 ChangeCipherSpec records stay in clear (RFC 8446 §5).  A plaintext alert is exactly
   * two bytes (RFC 5246 §7.2), so a longer one is encrypted even when we missed the
   * ChangeCipherSpec that started encryption. */
  side->is_record_encrypted = (side->is_encrypting && type != RECORD_CHANGE_CIPHER_SPEC)
                              || (type == RECORD_ALERT && record_len > 2);
  side->record_version = version;
  if (side->is_record_encrypted && side_cipher (tls, side_index) != NULL) {
    /* Records are at most 2^14 + 256 bytes of ciphertext (RFC 8446 §5.2), which
     * is_record_header_valid has checked: the buffer is bounded. */
    SideDecrypt *crypt = &tls->decrypt->sides[side_index];
    if (crypt->record_buffer == NULL)
      crypt->record_buffer = g_byte_array_sized_new (record_len);
    g_byte_array_set_size (crypt->record_buffer, 0);
  }
}

/* An SSLv2 ClientHello is one record; it only tells us who the client is and what it offers. */
static gboolean
consume_sslv2_hello (MtdTls *tls, guint side_index, MtdCursor *stream)
{
  TlsSide *side = &tls->sides[side_index];
  guint8 first = 0, second = 0, message_type = 0;
  guint16 version = 0;
  MtdCursor peek = *stream;
  if (!mtd_cursor_read_u8 (&peek, &first) || !mtd_cursor_read_u8 (&peek, &second)
      || !mtd_cursor_read_u8 (&peek, &message_type) || !mtd_cursor_read_u16 (&peek, &version))
    return FALSE;
  gsize record_len = ((gsize) (first & 0x7F) << 8) | second;
  tls->is_sslv2_client_hello = TRUE;
  tls->client_side = (gint) side_index;
  tls->client_legacy_version = version;
  tls->client_max_version = version;
  side->has_client_hello = TRUE;
  side->client_hello_frame = tls->current_frame;
  /* The rest of the record is skipped as a record body of an unparsed type. */
  if (!mtd_cursor_skip (stream, 2))
    return FALSE;
  side->record_type = 0;
  side->record_len = record_len;
  side->record_remaining = record_len;
  side->is_record_encrypted = FALSE;
  side->header_len = RECORD_HEADER_LEN;
  return TRUE;
}

static void
feed_stream (MtdTls *tls, guint side_index, const guint8 *data, gsize len)
{
  TlsSide *side = &tls->sides[side_index];
  MtdCursor stream = mtd_cursor_init (data, len);
  if (!side->is_tls || side->is_lost) {
    /* Start, or resynchronise after a gap, only where a record plainly begins: at the start of
     * a delivered segment. */
    gboolean may_start_anywhere = side->is_tls || tls->is_midstream
                                  || tls->sides[1 - side_index].is_tls;
    gboolean is_start = may_start_anywhere ? looks_like_record_boundary (data, len)
                                           : mtd_tls_looks_like_start (data, len);
    if (!is_start)
      return;
    side->is_tls = TRUE;
    side->is_lost = FALSE;
    side->header_len = 0;
    side->record_remaining = 0;
    if (looks_like_sslv2_client_hello (data, len) && !side->has_client_hello
        && !consume_sslv2_hello (tls, side_index, &stream))
      return;
  }
  while (!mtd_cursor_is_empty (&stream)) {
    if (side->header_len < RECORD_HEADER_LEN) {
      gsize n_take = MIN ((gsize) (RECORD_HEADER_LEN - side->header_len),
                          mtd_cursor_remaining (&stream));
      if (!mtd_cursor_copy_bytes (&stream, side->header + side->header_len, n_take))
        return;
      side->header_len += (guint) n_take;
      if (side->header_len < RECORD_HEADER_LEN)
        return;
      start_record (tls, side_index);
      if (side->is_lost) {
        note (tls, MTD_ANOMALY_TLS_LOST_SYNC);
        return;
      }
    }
    gsize n_body = MIN (side->record_remaining, mtd_cursor_remaining (&stream));
    const guint8 *body = NULL;
    if (!mtd_cursor_read_bytes (&stream, n_body, &body))
      return;
    if (n_body > 0)
      feed_record_body (tls, side_index, body, n_body);
    side->record_remaining -= n_body;
    if (side->record_remaining == 0) {
      finish_record (tls, side_index);
      side->header_len = 0;
    }
  }
}

void
mtd_tls_feed (MtdTls *tls, guint side_index, const guint8 *data, gsize len, guint64 frame,
              gint64 ts_usec)
{
  g_return_if_fail (side_index < 2);
  TlsSide *side = &tls->sides[side_index];
  tls->current_frame = frame;
  gboolean is_searching = !side->is_tls || side->is_lost;
  if (is_searching && (side->n_probe > 0 || len < RECORD_HEADER_LEN)) {
    /* Whether TLS starts here takes a whole record header; keep a short segment's bytes until
     * it is there. */
    MtdCursor cursor = mtd_cursor_init (data, len);
    if (side->n_probe + len < RECORD_HEADER_LEN) {
      if (mtd_cursor_copy_bytes (&cursor, side->probe + side->n_probe, len))
        side->n_probe += (guint) len;
      return;
    }
    g_autofree guint8 *joined = g_malloc (side->n_probe + len);
    memcpy (joined, side->probe, side->n_probe);
    if (!mtd_cursor_copy_bytes (&cursor, joined + side->n_probe, len))
      return;
    gsize joined_len = side->n_probe + len;
    side->n_probe = 0;
    feed_stream (tls, side_index, joined, joined_len);
  } else {
    feed_stream (tls, side_index, data, len);
  }
  if (mtd_tls_is_handshake_over (tls)) {
    side_go_quiet (tls, 0);
    side_go_quiet (tls, 1);
  }
}

/* Bytes are missing inside a cleartext handshake message (a snaplen cut it, say): its header
 * still says which message it was, and a TLS 1.2 Certificate's first three body bytes say whether
 * its list is empty (RFC 5246 §7.4.2).  That is enough for the verdicts. */
static void
salvage_partial_message (MtdTls *tls, guint side_index)
{
  TlsSide *side = &tls->sides[side_index];
  if (side->message_buffer == NULL || side->n_skip_message > 0)
    return;
  MtdCursor cursor = mtd_cursor_init (side->message_buffer->data, side->message_buffer->len);
  guint8 type = 0;
  guint32 body_len = 0, list_len = 0;
  if (!mtd_cursor_read_u8 (&cursor, &type) || !mtd_cursor_read_u24 (&cursor, &body_len))
    return;
  switch (type) {
  case HS_SERVER_HELLO:
    if (mtd_cursor_read_u16 (&cursor, &tls->partial_server_version))
      tls->client_side = (gint) (1 - side_index);
    break;
  case HS_CERTIFICATE:
    if (tls->server_version == VERSION_TLS13 || !mtd_cursor_read_u24 (&cursor, &list_len)
        || list_len + 3 != body_len)
      return;
    side->has_certificate = TRUE;
    side->certificate_frame = tls->current_frame;
    side->is_certificate_empty = list_len == 0;
    break;
  case HS_CERTIFICATE_REQUEST:
    side->has_certificate_request = TRUE;
    side->certificate_request_frame = tls->current_frame;
    break;
  case HS_CLIENT_KEY_EXCHANGE:
    side->has_client_key_exchange = TRUE;
    side->client_key_exchange_frame = tls->current_frame;
    break;
  default:
    break;
  }
}

void
mtd_tls_gap (MtdTls *tls, guint side_index, gsize len)
{
  g_return_if_fail (side_index < 2);
  TlsSide *side = &tls->sides[side_index];
  side->n_probe = 0;
  /* A lost record takes its sequence number with it (RFC 8446 §5.3): later records of this side
   * cannot be decrypted, which is missing data, not wrong keys. */
  drop_cipher (tls, side_index);
  if (!side->is_tls || side->is_lost)
    return;
  /* Inside a record body we are only skipping, so a known-length hole that ends inside the same
   * body costs nothing (a snaplen that cut the packet, say); anywhere else the framing is gone. */
  if (len > 0 && side->header_len == RECORD_HEADER_LEN && len <= side->record_remaining
      && (side->is_record_encrypted || side->record_type == RECORD_APPLICATION_DATA)) {
    side->record_remaining -= len;
    if (side->record_remaining == 0) {
      finish_record (tls, side_index);
      side->header_len = 0;
    }
    return;
  }
  if (side->header_len == RECORD_HEADER_LEN && side->record_type == RECORD_HANDSHAKE
      && !side->is_record_encrypted)
    salvage_partial_message (tls, side_index);
  side->is_lost = TRUE;
  side->header_len = 0;
  side->record_remaining = 0;
  side->n_skip_message = 0;
  g_clear_pointer (&side->message_buffer, g_byte_array_unref);
  note (tls, MTD_ANOMALY_TLS_LOST_SYNC);
}

void
mtd_tls_set_midstream (MtdTls *tls, gboolean is_midstream)
{
  tls->is_midstream = is_midstream != FALSE;
}

gint
mtd_tls_client_side (const MtdTls *tls)
{
  return tls->client_side;
}

gboolean
mtd_tls_has_seen_tls (const MtdTls *tls)
{
  return tls->sides[0].is_tls || tls->sides[1].is_tls;
}

gboolean
mtd_tls_is_decrypting (const MtdTls *tls, guint side_index)
{
  g_return_val_if_fail (side_index < 2, FALSE);
  return side_cipher (tls, side_index) != NULL;
}

gboolean
mtd_tls_is_side_quiet (const MtdTls *tls, guint side_index)
{
  g_return_val_if_fail (side_index < 2, FALSE);
  return tls->sides[side_index].is_quiet;
}

/* ---- Conclusions --------------------------------------------------------------------------- */

/* strings may be NULL (empty); the copy never is. */
static GPtrArray *
copy_strings (const GPtrArray *strings)
{
  guint n_strings = strings != NULL ? strings->len : 0;
  GPtrArray *copy = g_ptr_array_new_full (n_strings, g_free);
  for (guint i = 0; i < n_strings; i++)
    g_ptr_array_add (copy, g_strdup (g_ptr_array_index (strings, i)));
  return copy;
}

/* The names of the codes: signature schemes, or certificate types when is_cert_type.  Known
 * codes have static names; the others are kept once each (mtd_tls_keep_name), bounded by the
 * code space (65,536 signature schemes, 256 certificate types), so no connection copies a name. */
static GPtrArray *
name_codes (const CodeList *codes, gboolean is_cert_type)
{
  GPtrArray *names = g_ptr_array_new_full (codes->n_codes, NULL);
  char buf[32];
  for (guint i = 0; i < codes->n_codes; i++) {
    const char *name
        = is_cert_type ? mtd_tls_cert_type_name ((guint8) codes->codes[i], buf, sizeof buf)
                       : mtd_tls_signature_scheme_name (codes->codes[i], buf, sizeof buf);
    g_ptr_array_add (names, (gpointer) (name == buf ? mtd_tls_keep_name (buf) : name));
  }
  return names;
}

/* chain may be NULL (empty); the copy never is. */
static GPtrArray *
copy_chain (const GPtrArray *chain)
{
  guint n_certs = chain != NULL ? chain->len : 0;
  GPtrArray *copy = g_ptr_array_new_full (n_certs, (GDestroyNotify) mtd_cert_unref);
  for (guint i = 0; i < n_certs; i++)
    g_ptr_array_add (copy, mtd_cert_ref (g_ptr_array_index (chain, i)));
  return copy;
}

/* The server's CertificateRequest, read in clear or decrypted (how): TRUE when there was one. */
static gboolean
verdict_from_request (MtdVerdict *requested, const TlsSide *server, MtdHow how)
{
  if (!server->has_certificate_request)
    return FALSE;
  verdict_set (requested, MTD_REQUESTED_YES, how, NULL);
  verdict_add_frame (requested, server->certificate_request_frame);
  return TRUE;
}

/* The client's Certificate message, read in clear or decrypted (how): TRUE when there was one.
 * A malformed one leaves the answer unknown (RFC 5246 §7.4.2, RFC 8446 §4.4.2). */
static gboolean
verdict_from_certificate (MtdVerdict *presented, const TlsSide *client, MtdHow how)
{
  if (!client->has_certificate)
    return FALSE;
  if (client->is_certificate_malformed)
    verdict_set (presented, MTD_PRESENTED_UNKNOWN, MTD_HOW_NONE,
                 "the client sent a Certificate message whose lengths do not add up, so whether "
                 "its list was empty cannot be said");
  else
    verdict_set (presented, client->is_certificate_empty ? MTD_PRESENTED_EMPTY : MTD_PRESENTED_YES,
                 how, NULL);
  verdict_add_frame (presented, client->certificate_frame);
  return TRUE;
}

/* TLS 1.2 and older: CertificateRequest and the client's Certificate are in clear
 * (RFC 5246 §7.4.4, §7.4.6). */
static void
conclude_clear (const MtdTls *tls, const TlsSide *client, const TlsSide *server,
                MtdTlsFacts *facts)
{
  MtdVerdict *requested = &facts->requested;
  MtdVerdict *presented = &facts->presented;
  if (verdict_from_request (requested, server, MTD_HOW_OBSERVED)) {
    /* read in clear */
  } else if (client->has_certificate) {
    verdict_set (requested, MTD_REQUESTED_YES, MTD_HOW_INFERRED,
                 "the client sent a Certificate message, which a client only sends when the "
                 "server asks for one (RFC 5246 §7.4.6); the request itself is not in the "
                 "capture");
    verdict_add_frame (requested, client->certificate_frame);
  } else if (server->has_server_hello_done) {
    verdict_set (requested, MTD_REQUESTED_NO, MTD_HOW_OBSERVED, NULL);
    verdict_add_frame (requested, server->server_hello_done_frame);
  } else if (tls->is_session_resumed || (server->has_server_hello && server->has_ccs)) {
    verdict_set (requested, MTD_REQUESTED_NO, MTD_HOW_OBSERVED,
                 "an abbreviated handshake resumed an earlier session: no certificates are "
                 "exchanged in it (RFC 5246 §7.3)");
    verdict_add_frame (requested, server->server_hello_frame);
  } else if (!server->has_server_hello) {
    verdict_set (requested, MTD_REQUESTED_UNKNOWN, MTD_HOW_NONE,
                 "the server's handshake messages are not in the capture");
  } else {
    verdict_set (requested, MTD_REQUESTED_UNKNOWN, MTD_HOW_NONE,
                 "the server's flight ended before its ServerHelloDone");
  }

  if (verdict_from_certificate (presented, client, MTD_HOW_OBSERVED)) {
    /* read in clear */
  } else if (client->has_client_key_exchange) {
    /* RFC 5246 §7.4.6: the client's Certificate comes before its ClientKeyExchange. */
    verdict_set (presented, MTD_PRESENTED_NO, MTD_HOW_OBSERVED,
                 "the client went on to its key exchange without a Certificate message");
    verdict_add_frame (presented, client->client_key_exchange_frame);
  } else if (requested->value == MTD_REQUESTED_NO) {
    verdict_set (presented, MTD_PRESENTED_NO, requested->how,
                 "no certificate was requested, so none is sent");
  } else if (client->has_ccs && server->has_server_hello && tls->server_version < VERSION_TLS13) {
    /* Only in TLS 1.2 and older does ChangeCipherSpec end the client's flight; a TLS 1.3 client
     * sends one for middlebox compatibility before its encrypted flight (RFC 8446 D.4). */
    verdict_set (presented, MTD_PRESENTED_NO, MTD_HOW_OBSERVED,
                 "the client finished its handshake without a Certificate message");
  } else {
    verdict_set (presented, MTD_PRESENTED_UNKNOWN, MTD_HOW_NONE,
                 client->is_tls ? "the client's answer is not in the capture"
                                : "the client's side of the handshake is not in the capture");
  }
  /* SSL 3.0 clients may answer with a no_certificate alert instead (RFC 6101 §5.4.2). */
  for (guint i = 0; tls->alerts != NULL && i < tls->alerts->len; i++) {
    const MtdTlsAlert *alert = &g_array_index (tls->alerts, MtdTlsAlert, i);
    if (!alert->is_encrypted && alert->description == 41 && presented->value != MTD_PRESENTED_YES
        && &tls->sides[(guint) alert->is_from_client] == client) {
      verdict_set (presented, MTD_PRESENTED_NO, MTD_HOW_OBSERVED,
                   "the client answered with a no_certificate alert (SSL 3.0)");
      verdict_add_frame (presented, alert->frame);
    }
  }
}

static void
verdict_copy (MtdVerdict *to, const MtdVerdict *from)
{
  *to = *from;
  to->reason = g_strdup (from->reason);
}

/* Sets to from's value, how and frames, with reason. */
static void
verdict_copy_into (MtdVerdict *to, const MtdVerdict *from, const char *reason)
{
  g_free (to->reason);
  *to = *from;
  to->reason = g_strdup (reason);
}

/* TLS 1.2 renegotiation without keys (RFC 5246 §7.4): between the client's renegotiation
 * ClientHello and its next ChangeCipherSpec come its Certificate (when asked; empty when it has
 * none, §7.4.6), ClientKeyExchange and CertificateVerify (only after a non-empty Certificate,
 * §7.4.8), each in its own record as OpenSSL writes them; a certificate makes its record far
 * larger than any ClientKeyExchange. */
static void
infer_renegotiation (const MtdTls *tls, guint client_index, MtdLateAuth *late)
{
  const TlsSide *client_side = &tls->sides[client_index];
  const TlsLateSide *client = late_side (tls, client_index);
  const TlsLateSide *server = late_side (tls, 1 - client_index);
  late->kind = MTD_LATE_AUTH_RENEGOTIATION;
  late->how = MTD_HOW_INFERRED;
  late->trigger_exchange = -1;
  late->frame = client->n_late_handshake > 0 ? client->late_handshake[0].frame : 0;
  if (server->n_late_handshake > 0
      && (late->frame == 0 || server->late_handshake[0].frame < late->frame))
    late->frame = server->late_handshake[0].frame;
  MtdVerdict *requested = &late->requested, *presented = &late->presented;
  const char *unknown_reason = NULL;
  if (client->n_late_handshake == 0)
    unknown_reason = "the client's part of the renegotiation is not in the capture";
  else if (!client_side->has_late_ccs)
    unknown_reason = "the client's renegotiation flight does not end in the capture";
  else if (tls->server_version <= VERSION_SSL3)
    unknown_reason = "an SSL 3.0 client without a certificate sends no Certificate message "
                     "(RFC 6101 §5.6.6), so record counts do not tell";
  if (unknown_reason != NULL) {
    g_autofree char *reason = g_strdup_printf (
        "the connection renegotiated (encrypted handshake records from frame %" G_GUINT64_FORMAT
        ") and %s; a certificate may have been requested and sent inside it, which a key log "
        "would show",
        late->frame, unknown_reason);
    verdict_set (requested, MTD_REQUESTED_UNKNOWN, MTD_HOW_NONE, reason);
    verdict_set (presented, MTD_PRESENTED_UNKNOWN, MTD_HOW_NONE, reason);
    verdict_add_frame (requested, late->frame);
    return;
  }
  /* The first late record is the client's ClientHello; its flight follows. */
  guint n_flight = client->n_late_before_ccs > 0 ? client->n_late_before_ccs - 1 : 0;
  const RecordNote *first = n_flight > 0 && client->n_late_handshake > 1
                                ? &client->late_handshake[1]
                                : NULL;
  g_autofree char *reason = NULL;
  if (n_flight == 0) {
    reason = g_strdup ("the client's renegotiation went from its ClientHello straight to its "
                       "ChangeCipherSpec: an abbreviated handshake, in which no certificates are "
                       "exchanged (RFC 5246 §7.3)");
    verdict_set (requested, MTD_REQUESTED_NO, MTD_HOW_INFERRED, reason);
    verdict_set (presented, MTD_PRESENTED_NO, MTD_HOW_INFERRED, reason);
    verdict_add_frame (requested, late->frame);
    verdict_add_frame (presented, late->frame);
    return;
  }
  guint64 frame = first != NULL ? first->frame : late->frame;
  gsize first_len = first != NULL ? first->len : 0;
  if (first_len >= MIN_CERTIFICATE_RECORD_LEN || n_flight >= 3) {
    reason = g_strdup_printf (
        "in the renegotiation the client sent %u encrypted handshake records before its "
        "ChangeCipherSpec, the first of %zu bytes: a Certificate with at least one certificate "
        "(then ClientKeyExchange and CertificateVerify, which follows only a non-empty "
        "Certificate, RFC 5246 §7.4.8), sent only when asked",
        n_flight, first_len);
    verdict_set (requested, MTD_REQUESTED_YES, MTD_HOW_INFERRED, reason);
    verdict_set (presented, MTD_PRESENTED_YES, MTD_HOW_INFERRED, reason);
  } else if (n_flight == 2) {
    reason = g_strdup_printf (
        "in the renegotiation the client sent two encrypted handshake records before its "
        "ChangeCipherSpec, the first of %zu bytes, too small for a certificate: an empty "
        "Certificate, which a client without a suitable certificate must send when asked "
        "(RFC 5246 §7.4.6), and its ClientKeyExchange",
        first_len);
    verdict_set (requested, MTD_REQUESTED_YES, MTD_HOW_INFERRED, reason);
    verdict_set (presented, MTD_PRESENTED_EMPTY, MTD_HOW_INFERRED, reason);
  } else {
    reason = g_strdup_printf (
        "in the renegotiation the client sent one encrypted handshake record (%zu bytes) "
        "before its ChangeCipherSpec: its ClientKeyExchange alone, and a client that is asked "
        "answers with a Certificate message, even an empty one (RFC 5246 §7.4.6)",
        first_len);
    verdict_set (requested, MTD_REQUESTED_NO, MTD_HOW_INFERRED, reason);
    verdict_set (presented, MTD_PRESENTED_NO, MTD_HOW_INFERRED, reason);
  }
  verdict_add_frame (requested, frame);
  verdict_add_frame (presented, frame);
}

/* A certificate asked for after the first handshake answers for the connection when the first
 * handshake did not ask, or asked and got nothing. */
static void
apply_late_auths (MtdTlsFacts *facts)
{
  for (guint i = 0; i < facts->late_auths->len; i++) {
    const MtdLateAuth *late = &g_array_index (facts->late_auths, MtdLateAuth, i);
    const char *what = late->kind == MTD_LATE_AUTH_RENEGOTIATION
                           ? "in a renegotiation"
                           : "with post-handshake authentication (RFC 8446 §4.6.2)";
    g_autofree char *reason = NULL;
    if (late->requested.value == MTD_REQUESTED_YES) {
      reason = g_strdup_printf ("asked %s from frame %" G_GUINT64_FORMAT ", after the first "
                                "handshake%s%s",
                                what, late->frame, late->requested.reason != NULL ? ": " : "",
                                late->requested.reason != NULL ? late->requested.reason : "");
      if (facts->requested.value != MTD_REQUESTED_YES) {
        verdict_copy_into (&facts->requested, &late->requested, reason);
      }
      if (facts->presented.value != MTD_PRESENTED_YES) {
        g_autofree char *presented_reason = g_strdup_printf (
            "answered %s from frame %" G_GUINT64_FORMAT "%s%s", what, late->frame,
            late->presented.reason != NULL ? ": " : "",
            late->presented.reason != NULL ? late->presented.reason : "");
        verdict_copy_into (&facts->presented, &late->presented, presented_reason);
      }
    } else if (late->requested.value == MTD_REQUESTED_UNKNOWN) {
      if (facts->requested.value != MTD_REQUESTED_YES)
        verdict_copy_into (&facts->requested, &late->requested, late->requested.reason);
      if (facts->presented.value != MTD_PRESENTED_YES)
        verdict_copy_into (&facts->presented, &late->presented, late->presented.reason);
    }
  }
}

/* TLS 1.3 without keys: the client's first encrypted flight is Finished alone when no
 * certificate was requested, an empty Certificate and Finished when one was requested and none
 * given, and Certificate, CertificateVerify and Finished when one was sent (RFC 8446 §4.4).
 * Each record adds one content-type byte and the AEAD tag (§5.2). */
static void
conclude_tls13 (const MtdTls *tls, const TlsSide *client, const TlsSide *server,
                MtdTlsFacts *facts)
{
  MtdVerdict *requested = &facts->requested;
  MtdVerdict *presented = &facts->presented;
  gsize hash_len = 0, tag_len = 0;
  if (!mtd_tls13_suite_lengths (tls->cipher_suite, &hash_len, &tag_len)) {
    const char *reason = "the cipher suite is not one whose record sizes this version knows";
    verdict_set (requested, MTD_REQUESTED_UNKNOWN, MTD_HOW_NONE, reason);
    verdict_set (presented, MTD_PRESENTED_UNKNOWN, MTD_HOW_NONE, reason);
    return;
  }
  const gsize finished_len = 4 + hash_len;
  /* Certificate with an empty context and an empty list: 4 + 1 + 3 bytes. */
  const gsize empty_certificate_len = 8;
  const gsize overhead = 1 + tag_len;
  /* The client's flight is what it encrypts after the server's first encrypted record. */
  const RecordNote *flight[MAX_RECORD_NOTES];
  guint n_flight = 0;
  for (guint i = 0; i < client->n_notes; i++)
    if (client->notes[i].type == RECORD_APPLICATION_DATA
        && client->notes[i].frame >= server->first_encrypted_record_frame
        && server->first_encrypted_record_frame != 0)
      flight[n_flight++] = &client->notes[i];

  if (tls->has_early_data_offer && client->n_notes > n_flight) {
    const char *reason = "the client sent 0-RTT early data, whose records cannot be told apart "
                         "from its handshake flight by size";
    verdict_set (requested, MTD_REQUESTED_UNKNOWN, MTD_HOW_NONE, reason);
    verdict_set (presented, MTD_PRESENTED_UNKNOWN, MTD_HOW_NONE, reason);
    return;
  }
  if (n_flight == 0) {
    const char *reason = server->first_encrypted_record_frame == 0
                             ? "the server's encrypted flight is not in the capture"
                             : "the client's encrypted flight is not in the capture";
    verdict_set (requested, MTD_REQUESTED_UNKNOWN, MTD_HOW_NONE, reason);
    verdict_set (presented, MTD_PRESENTED_UNKNOWN, MTD_HOW_NONE, reason);
    return;
  }
  gsize first_len = flight[0]->len;
  gsize second_len = n_flight > 1 ? flight[1]->len : 0;
  if (first_len == finished_len + overhead) {
    g_autofree char *reason = g_strdup_printf (
        "the client's first encrypted record is %zu bytes: exactly a Finished message "
        "(%zu bytes, + 1 content-type byte + %zu-byte tag), so it sent no Certificate, which it "
        "must when asked (RFC 8446 §4.4.2)",
        first_len, finished_len, tag_len);
    verdict_set (requested, MTD_REQUESTED_NO, MTD_HOW_INFERRED, reason);
    verdict_set (presented, MTD_PRESENTED_NO, MTD_HOW_INFERRED, reason);
    verdict_add_frame (requested, flight[0]->frame);
    verdict_add_frame (presented, flight[0]->frame);
    if (tls->has_psk) {
      verdict_set (requested, MTD_REQUESTED_NO, MTD_HOW_INFERRED,
                   "the session was resumed with a pre-shared key, and a server that "
                   "authenticates with a PSK must not request a certificate (RFC 8446 §4.3.2)");
    }
  } else if ((first_len == empty_certificate_len + overhead
              && (second_len == 0 || second_len == finished_len + overhead))
             || first_len == empty_certificate_len + finished_len + overhead) {
    g_autofree char *reason = g_strdup_printf (
        "the client's first encrypted record is %zu bytes: a Certificate message with an empty "
        "list (%zu bytes + 1 content-type byte + %zu-byte tag)%s; a client sends a Certificate "
        "only when asked (RFC 8446 §4.4.2)",
        first_len, empty_certificate_len, tag_len,
        first_len == empty_certificate_len + overhead ? ", then a Finished record"
                                                      : " together with its Finished");
    verdict_set (requested, MTD_REQUESTED_YES, MTD_HOW_INFERRED, reason);
    verdict_set (presented, MTD_PRESENTED_EMPTY, MTD_HOW_INFERRED, reason);
    verdict_add_frame (requested, flight[0]->frame);
    verdict_add_frame (presented, flight[0]->frame);
  } else if (first_len >= MIN_CERTIFICATE_RECORD_LEN) {
    g_autofree char *reason = g_strdup_printf (
        "the client's first encrypted record is %zu bytes, far more than a Finished "
        "(%zu bytes with overhead): it carries a Certificate with at least one certificate, "
        "which a client sends only when asked (RFC 8446 §4.4.2)",
        first_len, finished_len + overhead);
    verdict_set (requested, MTD_REQUESTED_YES, MTD_HOW_INFERRED, reason);
    verdict_set (presented, MTD_PRESENTED_YES, MTD_HOW_INFERRED, reason);
    verdict_add_frame (requested, flight[0]->frame);
    verdict_add_frame (presented, flight[0]->frame);
    if (n_flight > 1)
      verdict_add_frame (presented, flight[1]->frame);
  } else {
    g_autofree char *reason = g_strdup_printf (
        "the client's first encrypted record is %zu bytes, which matches no unpadded flight "
        "(Finished alone would be %zu, an empty Certificate %zu): padding or coalesced "
        "records; a key log would settle it",
        first_len, finished_len + overhead, empty_certificate_len + overhead);
    verdict_set (requested, MTD_REQUESTED_UNKNOWN, MTD_HOW_NONE, reason);
    verdict_set (presented, MTD_PRESENTED_UNKNOWN, MTD_HOW_NONE, reason);
    verdict_add_frame (requested, flight[0]->frame);
  }
  if (requested->value == MTD_REQUESTED_NO && tls->has_pha_offer) {
    const char *reason = "the first handshake requested no certificate, but the client offered "
                         "post_handshake_auth (RFC 8446 §4.6.2), so the server may ask later "
                         "inside encrypted records, which only a key log can show";
    verdict_set (requested, MTD_REQUESTED_UNKNOWN, MTD_HOW_NONE, reason);
    verdict_set (presented, MTD_PRESENTED_UNKNOWN, MTD_HOW_NONE, reason);
  }
}

/* TLS 1.3 read with a key log: the CertificateRequest, the client's Certificate and the
 * Finished messages themselves (RFC 8446 §4.3.2, §4.4.2, §4.4.4, §4.6.2). */
static void
conclude_tls13_decrypted (const MtdTls *tls, const TlsSide *client, const TlsSide *server,
                          MtdTlsFacts *facts)
{
  MtdVerdict *requested = &facts->requested;
  MtdVerdict *presented = &facts->presented;
  if (verdict_from_request (requested, server, MTD_HOW_DECRYPTED)) {
    /* read after decryption */
  } else if (tls->has_post_handshake_request) {
    verdict_set (requested, MTD_REQUESTED_YES, MTD_HOW_DECRYPTED,
                 "after the handshake, with post-handshake authentication (RFC 8446 §4.6.2)");
    verdict_add_frame (requested, tls->late->post_handshake_request_frame);
  } else if (server->has_decrypted_finished) {
    verdict_set (requested, MTD_REQUESTED_NO, MTD_HOW_DECRYPTED,
                 "the server's encrypted flight ended with its Finished and held no "
                 "CertificateRequest");
    verdict_add_frame (requested, server->first_encrypted_record_frame);
  } else {
    verdict_set (requested, MTD_REQUESTED_UNKNOWN, MTD_HOW_NONE,
                 "the server's encrypted flight is not complete in the capture");
  }
  if (verdict_from_certificate (presented, client, MTD_HOW_DECRYPTED)) {
    /* read after decryption */
  } else if (requested->value == MTD_REQUESTED_NO) {
    verdict_set (presented, MTD_PRESENTED_NO, MTD_HOW_DECRYPTED,
                 "no certificate was requested, so none is sent");
  } else if (client->has_decrypted_finished && requested->value == MTD_REQUESTED_YES) {
    verdict_set (presented, MTD_PRESENTED_NO, MTD_HOW_DECRYPTED,
                 "the client answered without a Certificate message");
    verdict_add_frame (presented, client->first_encrypted_record_frame);
  } else {
    verdict_set (presented, MTD_PRESENTED_UNKNOWN, MTD_HOW_NONE,
                 "the client's encrypted flight is not complete in the capture");
  }
}

/* Encrypted alerts are known only by size: in TLS 1.3 an alert record carries 2 bytes, one
 * content-type byte and the tag, and its outer type is application_data (RFC 8446 §5.2).
 * Returns TRUE when the server's first record after the client's flight is such an alert: the
 * server rejected the flight instead of sending tickets or data. */
static gboolean
add_inferred_tls13_alerts (const MtdTls *tls, guint client_index, MtdTlsFacts *facts)
{
  gsize hash_len = 0, tag_len = 0;
  if (!mtd_tls13_suite_lengths (tls->cipher_suite, &hash_len, &tag_len))
    return FALSE;
  const TlsSide *client = &tls->sides[client_index];
  const TlsSide *server = &tls->sides[1 - client_index];
  /* The client's flight starts with its first record after the server's encrypted flight. */
  guint64 flight_frame = 0;
  for (guint i = 0; i < client->n_notes && flight_frame == 0; i++)
    if (server->first_encrypted_record_frame != 0
        && client->notes[i].frame >= server->first_encrypted_record_frame)
      flight_frame = client->notes[i].frame;
  if (flight_frame == 0)
    return FALSE;
  const gsize alert_record_len = 2 + 1 + tag_len;
  gboolean is_rejected = FALSE;
  gboolean is_first_server_record = TRUE;
  for (guint side_index = 0; side_index < 2; side_index++) {
    const TlsSide *side = &tls->sides[side_index];
    gboolean is_client = side_index == client_index;
    for (guint i = 0; i < side->n_notes; i++) {
      const RecordNote *record = &side->notes[i];
      /* Only records after the client's flight began: the server's own handshake flight has
       * no message of alert size that stands alone. */
      if (record->type != RECORD_APPLICATION_DATA || record->frame < flight_frame)
        continue;
      gboolean is_alert = record->len == alert_record_len;
      if (!is_client && record->frame > flight_frame) {
        if (is_first_server_record && is_alert)
          is_rejected = TRUE;
        is_first_server_record = FALSE;
      }
      if (!is_alert)
        continue;
      MtdTlsAlert alert = { 0 };
      alert.frame = record->frame;
      alert.is_from_client = is_client;
      alert.is_encrypted = TRUE;
      if (facts->alerts->len < tls->limits.max_list_items)
        g_array_append_val (facts->alerts, alert);
    }
    const TlsLateSide *late = late_side (tls, side_index);
    for (guint i = 0; i < late->n_late_alerts; i++) {
      if (facts->alerts->len >= tls->limits.max_list_items)
        break; /* the same cap as alerts read in clear (add_alert) */
      MtdTlsAlert alert = { 0 };
      alert.frame = late->late_alert_frames[i];
      alert.is_from_client = is_client;
      alert.is_encrypted = TRUE;
      g_array_append_val (facts->alerts, alert);
    }
  }
  return is_rejected;
}

static gint
compare_alert_frames (gconstpointer a, gconstpointer b)
{
  const MtdTlsAlert *x = a, *y = b;
  return x->frame < y->frame ? -1 : x->frame > y->frame ? 1 : 0;
}

MtdTlsFacts *
mtd_tls_conclude (const MtdTls *tls, guint client_index)
{
  g_return_val_if_fail (client_index < 2, NULL);
  const TlsSide *client = &tls->sides[client_index];
  const TlsSide *server = &tls->sides[1 - client_index];
  MtdTlsFacts *facts = g_new0 (MtdTlsFacts, 1);
  facts->version = server->has_server_hello ? tls->server_version : 0;
  /* A ServerHello cut short still shows its legacy_version.  TLS 1.3 servers always put 1.2 there
   * (RFC 8446 §4.1.3), so it is the negotiated version when lower, and 1.2 when handshake
   * messages in clear follow it (in TLS 1.3 they are encrypted). */
  if (facts->version == 0 && tls->partial_server_version != 0) {
    gboolean has_clear_messages = client->has_certificate || client->has_client_key_exchange
                                  || server->has_certificate || server->has_server_hello_done
                                  || server->has_certificate_request;
    if (tls->partial_server_version < VERSION_TLS12
        || (tls->partial_server_version == VERSION_TLS12 && has_clear_messages))
      facts->version = tls->partial_server_version;
  }
  facts->client_max_version = tls->client_max_version;
  facts->is_sslv2_client_hello = tls->is_sslv2_client_hello;
  facts->sni = g_strdup (tls->sni);
  facts->alpn_offered = copy_strings (tls->alpn_offered);
  facts->client_signature_algorithms = name_codes (&tls->client_signature_algorithms, FALSE);
  facts->alpn = g_strdup (tls->alpn);
  facts->cipher_suite = tls->cipher_suite;
  facts->has_cipher_suite = tls->has_cipher_suite && server->has_server_hello;
  facts->has_post_handshake_auth_offer = tls->has_pha_offer;
  facts->is_resumed = tls->is_session_resumed || tls->has_psk;
  facts->is_handshake_complete = mtd_tls_is_handshake_over (tls) && !tls->has_fatal_alert;
  facts->has_renegotiation = client->n_handshake_after_finished > 0
                             || server->n_handshake_after_finished > 0;
  facts->n_renegotiations = MAX (late_side (tls, client_index)->n_late_ccs,
                                 late_side (tls, 1 - client_index)->n_late_ccs);
  facts->client_hello_frame = client->client_hello_frame;
  facts->server_hello_frame = server->server_hello_frame;
  facts->acceptable_cas = copy_strings (tls->acceptable_cas);
  facts->cert_types = name_codes (&tls->cert_types, TRUE);
  facts->signature_algorithms_requested = name_codes (&tls->cr_signature_algorithms, FALSE);
  facts->client_chain = copy_chain (client->chain);
  facts->server_chain = copy_chain (server->chain);
  facts->has_client_certificate_verify = client->has_certificate_verify;
  facts->client_certificate_verify_frame = client->certificate_verify_frame;
  facts->alerts = g_array_new (FALSE, TRUE, sizeof (MtdTlsAlert));
  for (guint i = 0; tls->alerts != NULL && i < tls->alerts->len; i++) {
    MtdTlsAlert alert = g_array_index (tls->alerts, MtdTlsAlert, i);
    /* In TLS 1.3 encrypted alerts ride in application_data records and are inferred below. */
    alert.is_from_client = (guint) alert.is_from_client == client_index;
    g_array_append_val (facts->alerts, alert);
  }

  facts->decrypt_status = tls->decrypt_status;
  if (tls->decrypt != NULL) {
    facts->n_records_decrypted = tls->decrypt->n_records_decrypted;
    facts->decrypt_failure_frame = tls->decrypt->decrypt_failure_frame;
  }
  facts->has_post_handshake_request = tls->has_post_handshake_request;
  if (tls->late != NULL)
    facts->post_handshake_request_frame = tls->late->post_handshake_request_frame;

  gboolean is_tls13 = facts->version == VERSION_TLS13 || (facts->version >> 8) == 0x7F;
  if (is_tls13 && server->has_decrypted_handshake
      && (client->has_decrypted_handshake || !client->is_tls)) {
    conclude_tls13_decrypted (tls, client, server, facts);
  } else if (is_tls13 && !client->has_certificate) {
    conclude_tls13 (tls, client, server, facts);
    if (add_inferred_tls13_alerts (tls, client_index, facts))
      facts->is_handshake_complete = FALSE;
  } else {
    conclude_clear (tls, client, server, facts);
  }

  facts->late_auths = late_auths_new ();
  GArray *late_auths = tls->late != NULL ? tls->late->late_auths : NULL;
  for (guint i = 0; late_auths != NULL && i < late_auths->len; i++) {
    const MtdLateAuth *late = &g_array_index (late_auths, MtdLateAuth, i);
    MtdLateAuth copy = *late;
    verdict_copy (&copy.requested, &late->requested);
    verdict_copy (&copy.presented, &late->presented);
    g_array_append_val (facts->late_auths, copy);
  }
  if (facts->has_renegotiation && facts->late_auths->len == 0 && !is_tls13) {
    MtdLateAuth late = { 0 };
    infer_renegotiation (tls, client_index, &late);
    g_array_append_val (facts->late_auths, late);
  }
  apply_late_auths (facts);
  if (tls->late != NULL && tls->late->key_updates != NULL) {
    facts->key_updates = g_array_copy (tls->late->key_updates);
    for (guint i = 0; i < facts->key_updates->len; i++) {
      MtdKeyUpdate *update = &g_array_index (facts->key_updates, MtdKeyUpdate, i);
      update->is_from_client = (guint) update->is_from_client == client_index;
    }
  }
  facts->n_key_updates = tls->late != NULL ? tls->late->n_key_updates : 0;
  g_array_sort (facts->alerts, compare_alert_frames);
  return facts;
}
