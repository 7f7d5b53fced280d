/* mtd-keylog.h: TLS secrets from NSS key log files (SSLKEYLOGFILE).
 *
 * Browsers, curl, OpenSSL, Go, .NET and Python write the secrets of each TLS connection they make
 * to the file SSLKEYLOGFILE names, one line per secret: "LABEL CLIENT_RANDOM SECRET", the client
 * random and the secret in hex.  This module reads such text, keeps the secrets mtlsdiag can
 * decrypt with, and hands them out by client random, which the TLS parser reads from each
 * ClientHello.  Lines with other labels are skipped without a word; a malformed line is a
 * warning naming the source and the line, never an error.
 *
 * Specs followed: draft-ietf-tls-keylogfile (the NSS key log format), RFC 5246 §8.1 (the TLS 1.2
 * master secret is 48 bytes), RFC 8446 §7.1 (TLS 1.3 traffic secrets are as long as the
 * cipher suite's hash: 32 bytes for SHA-256, 48 for SHA-384).
 *
 * Secrets are key material: they are wiped with OPENSSL_cleanse when freed, and never printed,
 * logged or put into a warning or an error.
 */
#pragma once

#include <glib.h>

/* The client random of a ClientHello (RFC 8446 §4.1.2). */
#define MTD_KEYLOG_CLIENT_RANDOM_LEN 32
/* The longest secret kept: a master secret, or a TLS 1.3 secret with SHA-384. */
#define MTD_KEYLOG_MAX_SECRET_LEN 48
/* Key log files larger than this are refused (a key log of 64 MiB holds some 300 000 lines). */
#define MTD_KEYLOG_MAX_FILE_LEN (64 * 1024 * 1024)
/* Client randoms kept in one MtdKeyLog; secrets for further ones are dropped with a warning. */
#define MTD_KEYLOG_MAX_CLIENT_RANDOMS (1024 * 1024)
/* Malformed lines given a sentence of their own per mtd_keylog_add_text; one more sentence
 * counts the rest. */
#define MTD_KEYLOG_MAX_WARNINGS 20

/* The secrets kept, by their key log label. */
typedef enum {
  MTD_SECRET_CLIENT_RANDOM,             /* CLIENT_RANDOM: the TLS 1.2 (and older) master secret */
  MTD_SECRET_CLIENT_HANDSHAKE_TRAFFIC,  /* CLIENT_HANDSHAKE_TRAFFIC_SECRET */
  MTD_SECRET_SERVER_HANDSHAKE_TRAFFIC,  /* SERVER_HANDSHAKE_TRAFFIC_SECRET */
  MTD_SECRET_CLIENT_TRAFFIC_0,          /* CLIENT_TRAFFIC_SECRET_0 */
  MTD_SECRET_SERVER_TRAFFIC_0,          /* SERVER_TRAFFIC_SECRET_0 */
  MTD_SECRET_KIND_COUNT
} MtdSecretKind;

/* The key log label of kind ("CLIENT_RANDOM", "SERVER_TRAFFIC_SECRET_0", ...), static. */
const char *mtd_secret_kind_label (MtdSecretKind kind);

typedef struct _MtdKeyLog MtdKeyLog;

MtdKeyLog *mtd_keylog_new (void);
/* NULL-safe; every secret is wiped with OPENSSL_cleanse. */
void mtd_keylog_free (MtdKeyLog *keylog);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdKeyLog, mtd_keylog_free)

/* Adds the lines of key log text: borrowed, any bytes, need not be NUL-terminated; lines end in
 * LF or CR LF.  source_name (borrowed; NULL reads "key log") names the text in warnings.
 * warnings (char*, owned by the array, which should free them with g_free; may be NULL) gets one
 * sentence per malformed line, "SOURCE line N: reason", at most MTD_KEYLOG_MAX_WARNINGS and then
 * one that counts the rest.  A line is malformed when its label is one of MtdSecretKind's and the
 * rest is wrong: not three fields, a client random that is not 64 hex digits, a secret that is
 * not hex or has a length no TLS version uses; also when it gives a secret different from the
 * one already kept for its client random and kind (the first is kept).  Comments ('#'), empty
 * lines and other labels (EXPORTER_SECRET, CLIENT_EARLY_TRAFFIC_SECRET, RSA, ...) are skipped
 * silently.
 * Returns the number of secrets added; a line repeating a secret already kept adds none. */
guint mtd_keylog_add_text (MtdKeyLog *keylog, const char *source_name, const guint8 *text,
                           gsize text_len, GPtrArray *warnings);

/* Reads a key log file (or a pipe) and adds its lines as mtd_keylog_add_text does, with path as
 * the source name.  FALSE, with error (G_FILE_ERROR, naming the file and the reason), when it
 * cannot be read: missing, a directory, unreadable, or larger than MTD_KEYLOG_MAX_FILE_LEN.
 * A file with no usable line is not an error: TRUE, and warnings (may be NULL) say why. */
gboolean mtd_keylog_add_file (MtdKeyLog *keylog, const char *path, GPtrArray *warnings,
                              GError **error);

/* The secret of kind for a client random (MTD_KEYLOG_CLIENT_RANDOM_LEN bytes, borrowed), or NULL
 * when absent.  The secret is borrowed from keylog (valid until it is freed) and is
 * *secret_len bytes long (set to 0 when absent).  Does not allocate. */
const guint8 *mtd_keylog_lookup (const MtdKeyLog *keylog, const guint8 *client_random,
                                 MtdSecretKind kind, gsize *secret_len);

/* How many client randoms have at least one secret, and how many secrets there are in all. */
guint mtd_keylog_n_client_randoms (const MtdKeyLog *keylog);
guint mtd_keylog_n_secrets (const MtdKeyLog *keylog);
