/* keylog-nss.c: NSS key log text (SSLKEYLOGFILE) to TLS secrets, kept by client random.
 *
 * Follows draft-ietf-tls-keylogfile: a line is a label, the 32-byte client random of the
 * connection's ClientHello and the secret, in that order, separated by spaces, both values in
 * hex; lines starting with '#' are comments; a reader skips labels it does not know.  Writers
 * end lines with LF (Windows ones with CR LF).  Secret lengths follow RFC 5246 §8.1 (a master
 * secret is 48 bytes) and RFC 8446 §7.1 (a TLS 1.3 secret is Hash.length bytes: 32 for the
 * SHA-256 suites, 48 for TLS_AES_256_GCM_SHA384).  Every byte of the text is read through
 * MtdCursor.
 *
 * Secrets live only in Entry structs and in stack buffers that are wiped after use; a warning
 * names the source, the line number, the label and lengths, never a byte of a random or a secret.
 */
#include "mtd-keylog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <openssl/crypto.h>

#include "mtd-cursor.h"

/* A label's entry in the table below: what a line with it holds. */
typedef struct {
  const char *label;
  gint kind; /* an MtdSecretKind, or LABEL_NOT_KEPT */
} Label;

#define LABEL_NOT_KEPT (-1)

/* The kept labels come first, in MtdSecretKind order (mtd_secret_kind_label indexes them). */
static const Label labels[] = {
  { "CLIENT_RANDOM", MTD_SECRET_CLIENT_RANDOM },
  { "CLIENT_HANDSHAKE_TRAFFIC_SECRET", MTD_SECRET_CLIENT_HANDSHAKE_TRAFFIC },
  { "SERVER_HANDSHAKE_TRAFFIC_SECRET", MTD_SECRET_SERVER_HANDSHAKE_TRAFFIC },
  { "CLIENT_TRAFFIC_SECRET_0", MTD_SECRET_CLIENT_TRAFFIC_0 },
  { "SERVER_TRAFFIC_SECRET_0", MTD_SECRET_SERVER_TRAFFIC_0 },
  /* Known, and of no use here: 0-RTT data and exporters (RFC 8446 §7.1, §7.5), ECH
   * (draft-ietf-tls-keylogfile §3), NSS's lines for RSA key exchange and pre-master secrets. */
  { "CLIENT_EARLY_TRAFFIC_SECRET", LABEL_NOT_KEPT },
  { "EARLY_EXPORTER_SECRET", LABEL_NOT_KEPT },
  { "EXPORTER_SECRET", LABEL_NOT_KEPT },
  { "ECH_SECRET", LABEL_NOT_KEPT },
  { "ECH_CONFIG", LABEL_NOT_KEPT },
  { "RSA", LABEL_NOT_KEPT },
  { "PMS_CLIENT_RANDOM", LABEL_NOT_KEPT },
};

G_STATIC_ASSERT (MTD_SECRET_KIND_COUNT == 5);

/* RFC 5246 §8.1: "The master secret is always exactly 48 bytes in length." */
#define MASTER_SECRET_LEN 48
/* RFC 8446 §7.1: secrets are Hash.length bytes; SHA-256 and SHA-384 are the hashes of the
 * cipher suites of RFC 8446 §B.4 (and SM3, RFC 8998, is 32 bytes too). */
#define TLS13_SHA256_SECRET_LEN 32
#define TLS13_SHA384_SECRET_LEN 48

/* The fields of a line: label, client random, secret.  More are counted, not kept. */
#define LINE_FIELDS 3

/* The secrets of one client random.  The table's key points at client_random, so the entry
 * owns its key. */
typedef struct {
  guint8 client_random[MTD_KEYLOG_CLIENT_RANDOM_LEN];
  guint8 secret_lens[MTD_SECRET_KIND_COUNT]; /* 0: no secret of that kind */
  guint8 secrets[MTD_SECRET_KIND_COUNT][MTD_KEYLOG_MAX_SECRET_LEN];
} Entry;

struct _MtdKeyLog {
  /* client random (Entry.client_random, owned by the value) -> Entry*, owned */
  GHashTable *entries;
  guint n_secrets;
  gboolean has_hit_cap; /* MTD_KEYLOG_MAX_CLIENT_RANDOMS was reached, and said so once */
};

/* What one pass over a text found, for the sentence mtd_keylog_add_file adds when a file yields
 * nothing. */
typedef struct {
  guint n_added;
  guint64 n_kept_lines;    /* well-formed lines with a kept label, repeats included */
  guint64 n_malformed;     /* lines with a kept label and something wrong */
  guint64 n_other_labels;  /* lines with a known label that is not kept */
  guint64 n_unknown;       /* lines that start with no known label */
} AddStats;

/* One call's warnings: its source and how many sentences it has given. */
typedef struct {
  const char *source_name;
  GPtrArray *warnings; /* borrowed, may be NULL */
  guint n_listed;
  guint64 n_unlisted;
} Warner;

const char *
mtd_secret_kind_label (MtdSecretKind kind)
{
  g_return_val_if_fail (kind < MTD_SECRET_KIND_COUNT, "?");
  return labels[kind].label;
}

static void
warn_line (Warner *warner, guint64 line_number, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
warn_line (Warner *warner, guint64 line_number, const char *format, ...)
{
  if (warner->warnings == NULL)
    return;
  if (warner->n_listed >= MTD_KEYLOG_MAX_WARNINGS) {
    warner->n_unlisted++;
    return;
  }
  va_list args;
  va_start (args, format);
  g_autofree char *reason = g_strdup_vprintf (format, args);
  va_end (args);
  g_ptr_array_add (warner->warnings, g_strdup_printf ("%s line %" G_GUINT64_FORMAT ": %s",
                                                      warner->source_name, line_number, reason));
  warner->n_listed++;
}

/* FNV-1a over the whole random: its first four bytes used to be the sender's clock (RFC 5246
 * §7.4.1.2), so no prefix alone spreads well. */
static guint
client_random_hash (gconstpointer key)
{
  const guint8 *bytes = key;
  guint32 hash = 2166136261u;
  for (gsize i = 0; i < MTD_KEYLOG_CLIENT_RANDOM_LEN; i++) {
    hash ^= bytes[i];
    hash *= 16777619u;
  }
  return hash;
}

static gboolean
client_random_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, MTD_KEYLOG_CLIENT_RANDOM_LEN) == 0;
}

static void
entry_free (gpointer data)
{
  Entry *entry = data;
  OPENSSL_cleanse (entry, sizeof *entry);
  g_free (entry);
}

MtdKeyLog *
mtd_keylog_new (void)
{
  MtdKeyLog *keylog = g_new0 (MtdKeyLog, 1);
  keylog->entries = g_hash_table_new_full (client_random_hash, client_random_equal, NULL,
                                           entry_free);
  return keylog;
}

void
mtd_keylog_free (MtdKeyLog *keylog)
{
  if (keylog == NULL)
    return;
  g_hash_table_destroy (keylog->entries);
  g_free (keylog);
}

guint
mtd_keylog_n_client_randoms (const MtdKeyLog *keylog)
{
  g_return_val_if_fail (keylog != NULL, 0);
  return g_hash_table_size (keylog->entries);
}

guint
mtd_keylog_n_secrets (const MtdKeyLog *keylog)
{
  g_return_val_if_fail (keylog != NULL, 0);
  return keylog->n_secrets;
}

const guint8 *
mtd_keylog_lookup (const MtdKeyLog *keylog, const guint8 *client_random, MtdSecretKind kind,
                   gsize *secret_len)
{
  g_return_val_if_fail (secret_len != NULL, NULL);
  *secret_len = 0;
  g_return_val_if_fail (keylog != NULL && client_random != NULL, NULL);
  g_return_val_if_fail (kind < MTD_SECRET_KIND_COUNT, NULL);
  const Entry *entry = g_hash_table_lookup (keylog->entries, client_random);
  if (entry == NULL || entry->secret_lens[kind] == 0)
    return NULL;
  *secret_len = entry->secret_lens[kind];
  return entry->secrets[kind];
}

/* ---- Reading a line ----------------------------------------------------------------------- */

static gboolean
is_blank (guint8 byte)
{
  return byte == ' ' || byte == '\t';
}

/* Splits the next line (up to LF, or the end of the text) off text, the LF dropped.  FALSE at
 * the end of the text. */
static gboolean
next_line (MtdCursor *text, MtdCursor *line)
{
  if (mtd_cursor_is_empty (text))
    return FALSE;
  gsize remaining = mtd_cursor_remaining (text);
  const guint8 *start = mtd_cursor_peek_bytes (text);
  const guint8 *newline = memchr (start, '\n', remaining);
  gsize line_len = newline != NULL ? (gsize) (newline - start) : remaining;
  if (!mtd_cursor_read_sub (text, line_len, line))
    return FALSE;
  if (newline != NULL && !mtd_cursor_skip (text, 1))
    return FALSE;
  return TRUE;
}

/* The line without its trailing blanks and CR (a CR LF line end, or a stray one). */
static MtdCursor
trim_end (MtdCursor line)
{
  gsize len = mtd_cursor_remaining (&line);
  guint8 byte = 0;
  while (len > 0 && mtd_cursor_peek_u8 (&line, len - 1, &byte)
         && (is_blank (byte) || byte == '\r'))
    len--;
  MtdCursor trimmed = mtd_cursor_init (NULL, 0);
  if (!mtd_cursor_read_sub (&line, len, &trimmed))
    return mtd_cursor_init (NULL, 0);
  return trimmed;
}

/* Splits a line into fields separated by runs of spaces or tabs.  The first max_fields are put
 * in fields; returns how many there are in all.  Writers put one space between fields; more
 * blanks, or tabs from an editor, are read the same way, as Wireshark reads them. */
static guint
split_fields (MtdCursor line, MtdCursor *fields, guint max_fields)
{
  guint n_fields = 0;
  for (;;) {
    guint8 byte = 0;
    while (mtd_cursor_peek_u8 (&line, 0, &byte) && is_blank (byte))
      if (!mtd_cursor_skip (&line, 1))
        return n_fields;
    if (mtd_cursor_is_empty (&line))
      return n_fields;
    gsize field_len = 0;
    while (mtd_cursor_peek_u8 (&line, field_len, &byte) && !is_blank (byte))
      field_len++;
    MtdCursor field = mtd_cursor_init (NULL, 0);
    if (!mtd_cursor_read_sub (&line, field_len, &field))
      return n_fields;
    if (n_fields < max_fields)
      fields[n_fields] = field;
    n_fields++;
  }
}

static const Label *
find_label (MtdCursor field)
{
  gsize len = mtd_cursor_remaining (&field);
  const guint8 *bytes = NULL;
  if (!mtd_cursor_read_bytes (&field, len, &bytes))
    return NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (labels); i++)
    if (strlen (labels[i].label) == len && memcmp (labels[i].label, bytes, len) == 0)
      return &labels[i];
  return NULL;
}

static gboolean
is_hex (MtdCursor field)
{
  guint8 byte = 0;
  while (!mtd_cursor_is_empty (&field))
    if (!mtd_cursor_read_u8 (&field, &byte) || !g_ascii_isxdigit (byte))
      return FALSE;
  return TRUE;
}

/* Decodes a field that is_hex and has exactly 2 * out_len digits into out. */
static gboolean
hex_decode (MtdCursor field, guint8 *out, gsize out_len)
{
  for (gsize i = 0; i < out_len; i++) {
    guint8 high = 0;
    guint8 low = 0;
    if (!mtd_cursor_read_u8 (&field, &high) || !mtd_cursor_read_u8 (&field, &low))
      return FALSE;
    out[i] = (guint8) ((g_ascii_xdigit_value ((char) high) << 4)
                       | g_ascii_xdigit_value ((char) low));
  }
  return mtd_cursor_is_done (&field);
}

/* The secret lengths a kind may have, in bytes; the reason when secret_len is not one. */
static const char *
secret_len_problem (MtdSecretKind kind, gsize secret_len)
{
  if (kind == MTD_SECRET_CLIENT_RANDOM)
    return secret_len == MASTER_SECRET_LEN ? NULL : "a TLS 1.2 master secret is 48 bytes";
  return secret_len == TLS13_SHA256_SECRET_LEN || secret_len == TLS13_SHA384_SECRET_LEN
             ? NULL
             : "a TLS 1.3 secret is 32 or 48 bytes (a SHA-256 or SHA-384 hash)";
}

/* Keeps one secret.  Returns TRUE when it is new. */
static gboolean
keep_secret (MtdKeyLog *keylog, Warner *warner, guint64 line_number, MtdSecretKind kind,
             const guint8 *client_random, const guint8 *secret, gsize secret_len)
{
  Entry *entry = g_hash_table_lookup (keylog->entries, client_random);
  if (entry == NULL) {
    if (g_hash_table_size (keylog->entries) >= MTD_KEYLOG_MAX_CLIENT_RANDOMS) {
      if (!keylog->has_hit_cap)
        warn_line (warner, line_number,
                   "more than %u client randoms; the secrets of further connections are not "
                   "kept", MTD_KEYLOG_MAX_CLIENT_RANDOMS);
      keylog->has_hit_cap = TRUE;
      return FALSE;
    }
    entry = g_new0 (Entry, 1);
    memcpy (entry->client_random, client_random, MTD_KEYLOG_CLIENT_RANDOM_LEN);
    g_hash_table_insert (keylog->entries, entry->client_random, entry);
  }
  if (entry->secret_lens[kind] == 0) {
    memcpy (entry->secrets[kind], secret, secret_len);
    entry->secret_lens[kind] = (guint8) secret_len;
    keylog->n_secrets++;
    return TRUE;
  }
  /* The same line twice is normal: Python's ssl module writes each secret once per end when
   * both ends of a connection share a file. */
  if (entry->secret_lens[kind] != secret_len
      || CRYPTO_memcmp (entry->secrets[kind], secret, secret_len) != 0)
    warn_line (warner, line_number,
               "a different %s for a client random given one before; the first one is kept",
               labels[kind].label);
  return FALSE;
}

static void
add_line (MtdKeyLog *keylog, Warner *warner, MtdCursor line, guint64 line_number,
          AddStats *stats)
{
  MtdCursor fields[LINE_FIELDS];
  guint n_fields = split_fields (trim_end (line), fields, LINE_FIELDS);
  if (n_fields == 0)
    return;
  guint8 first = 0;
  if (mtd_cursor_peek_u8 (&fields[0], 0, &first) && first == '#')
    return;

  const Label *label = find_label (fields[0]);
  if (label == NULL) {
    stats->n_unknown++;
    return;
  }
  if (label->kind == LABEL_NOT_KEPT) {
    stats->n_other_labels++;
    return;
  }
  MtdSecretKind kind = (MtdSecretKind) label->kind;
  if (n_fields != LINE_FIELDS) {
    stats->n_malformed++;
    warn_line (warner, line_number, "%s with %u field%s, not 3 (label, client random, secret)",
               label->label, n_fields, n_fields == 1 ? "" : "s");
    return;
  }
  gsize random_digits = mtd_cursor_remaining (&fields[1]);
  if (random_digits != 2 * MTD_KEYLOG_CLIENT_RANDOM_LEN) {
    stats->n_malformed++;
    warn_line (warner, line_number,
               "the client random of %s is %" G_GSIZE_FORMAT " characters long, not 64 hex "
               "digits", label->label, random_digits);
    return;
  }
  if (!is_hex (fields[1])) {
    stats->n_malformed++;
    warn_line (warner, line_number, "the client random of %s is not hex", label->label);
    return;
  }
  gsize secret_digits = mtd_cursor_remaining (&fields[2]);
  if (!is_hex (fields[2])) {
    stats->n_malformed++;
    warn_line (warner, line_number, "the secret of %s is not hex", label->label);
    return;
  }
  if (secret_digits % 2 != 0) {
    stats->n_malformed++;
    warn_line (warner, line_number, "the secret of %s has an odd number of hex digits (%"
               G_GSIZE_FORMAT ")", label->label, secret_digits);
    return;
  }
  gsize secret_len = secret_digits / 2;
  const char *problem = secret_len_problem (kind, secret_len);
  if (problem != NULL) {
    stats->n_malformed++;
    warn_line (warner, line_number, "the secret of %s is %" G_GSIZE_FORMAT " bytes long; %s",
               label->label, secret_len, problem);
    return;
  }

  guint8 client_random[MTD_KEYLOG_CLIENT_RANDOM_LEN];
  guint8 secret[MTD_KEYLOG_MAX_SECRET_LEN];
  G_STATIC_ASSERT (MASTER_SECRET_LEN <= MTD_KEYLOG_MAX_SECRET_LEN
                   && TLS13_SHA384_SECRET_LEN <= MTD_KEYLOG_MAX_SECRET_LEN);
  if (hex_decode (fields[1], client_random, sizeof client_random)
      && hex_decode (fields[2], secret, secret_len)) {
    stats->n_kept_lines++;
    if (keep_secret (keylog, warner, line_number, kind, client_random, secret, secret_len))
      stats->n_added++;
  }
  OPENSSL_cleanse (secret, sizeof secret);
}

static void
add_text (MtdKeyLog *keylog, const char *source_name, const guint8 *text, gsize text_len,
          GPtrArray *warnings, AddStats *stats)
{
  Warner warner = { source_name != NULL ? source_name : "key log", warnings, 0, 0 };
  MtdCursor cursor = mtd_cursor_init (text, text_len);
  MtdCursor line = mtd_cursor_init (NULL, 0);
  guint64 line_number = 0;
  while (next_line (&cursor, &line))
    add_line (keylog, &warner, line, ++line_number, stats);
  if (warner.n_unlisted > 0)
    g_ptr_array_add (warnings, g_strdup_printf ("%s: %" G_GUINT64_FORMAT " more malformed lines "
                                                "not listed", warner.source_name,
                                                warner.n_unlisted));
}

guint
mtd_keylog_add_text (MtdKeyLog *keylog, const char *source_name, const guint8 *text,
                     gsize text_len, GPtrArray *warnings)
{
  g_return_val_if_fail (keylog != NULL, 0);
  g_return_val_if_fail (text != NULL || text_len == 0, 0);
  AddStats stats = { 0 };
  add_text (keylog, source_name, text, text_len, warnings, &stats);
  return stats.n_added;
}

/* ---- Reading a file ----------------------------------------------------------------------- */

/* Frees a buffer that held key log text, wiping all of it first. */
static void
wipe_free (guint8 *buffer, gsize capacity)
{
  if (buffer == NULL)
    return;
  OPENSSL_cleanse (buffer, capacity);
  g_free (buffer);
}

static gboolean
set_errno_error (GError **error, const char *path, int saved_errno)
{
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno), "%s: %s", path,
               g_strerror (saved_errno));
  return FALSE;
}

static gboolean
set_too_large_error (GError **error, const char *path)
{
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
               "%s: larger than %d MiB, too large for a key log file", path,
               MTD_KEYLOG_MAX_FILE_LEN / (1024 * 1024));
  return FALSE;
}

/* Reads all of fd into a new buffer of *capacity bytes (wiped as it grows: it holds secrets),
 * at most MTD_KEYLOG_MAX_FILE_LEN. */
static gboolean
read_all (int fd, const char *path, gsize size_hint, guint8 **out, gsize *out_len,
          gsize *out_capacity, GError **error)
{
  /* One more byte than the file's size, so that the end is seen without growing. */
  gsize capacity = MIN (MAX (size_hint, 4096) + 1, (gsize) MTD_KEYLOG_MAX_FILE_LEN + 1);
  guint8 *buffer = g_malloc (capacity);
  gsize len = 0;
  for (;;) {
    if (len == capacity) {
      if (capacity > MTD_KEYLOG_MAX_FILE_LEN) {
        wipe_free (buffer, capacity);
        return set_too_large_error (error, path);
      }
      gsize grown = MIN (capacity * 2, (gsize) MTD_KEYLOG_MAX_FILE_LEN + 1);
      guint8 *bigger = g_malloc (grown);
      memcpy (bigger, buffer, len);
      wipe_free (buffer, capacity);
      buffer = bigger;
      capacity = grown;
    }
    gssize n_read = read (fd, buffer + len, capacity - len);
    if (n_read < 0 && errno == EINTR)
      continue;
    if (n_read < 0) {
      int saved_errno = errno;
      wipe_free (buffer, capacity);
      return set_errno_error (error, path, saved_errno);
    }
    if (n_read == 0)
      break;
    len += (gsize) n_read;
  }
  if (len > MTD_KEYLOG_MAX_FILE_LEN) {
    wipe_free (buffer, capacity);
    return set_too_large_error (error, path);
  }
  *out = buffer;
  *out_len = len;
  *out_capacity = capacity;
  return TRUE;
}

/* The one sentence that says why a file gave no secret. */
static char *
nothing_used_sentence (const char *path, const AddStats *stats)
{
  if (stats->n_malformed > 0)
    return g_strdup_printf ("%s: no secrets read: every line with a label mtlsdiag uses is "
                            "malformed", path);
  if (stats->n_other_labels > 0)
    return g_strdup_printf ("%s: no secrets read: its %" G_GUINT64_FORMAT " key log lines carry "
                            "none of the labels mtlsdiag uses (CLIENT_RANDOM and the TLS 1.3 "
                            "handshake and application traffic secrets)",
                            path, stats->n_other_labels);
  if (stats->n_unknown > 0)
    return g_strdup_printf ("%s: no secrets read: not a key log file (no line starts with a "
                            "key log label)", path);
  return g_strdup_printf ("%s: no secrets read: the file is empty or holds only comments", path);
}

gboolean
mtd_keylog_add_file (MtdKeyLog *keylog, const char *path, GPtrArray *warnings, GError **error)
{
  g_return_val_if_fail (keylog != NULL && path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    return set_errno_error (error, path, errno);
  struct stat info;
  if (fstat (fd, &info) != 0) {
    int saved_errno = errno;
    close (fd);
    return set_errno_error (error, path, saved_errno);
  }
  if (S_ISDIR (info.st_mode)) {
    close (fd);
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_ISDIR, "%s: a directory, not a key log file",
                 path);
    return FALSE;
  }
  if (S_ISREG (info.st_mode) && info.st_size > MTD_KEYLOG_MAX_FILE_LEN) {
    close (fd);
    return set_too_large_error (error, path);
  }
  guint8 *text = NULL;
  gsize text_len = 0;
  gsize capacity = 0;
  gboolean is_read = read_all (fd, path, S_ISREG (info.st_mode) ? (gsize) info.st_size : 0,
                               &text, &text_len, &capacity, error);
  close (fd);
  if (!is_read)
    return FALSE;

  AddStats stats = { 0 };
  add_text (keylog, path, text, text_len, warnings, &stats);
  wipe_free (text, capacity);
  if (stats.n_kept_lines == 0 && warnings != NULL)
    g_ptr_array_add (warnings, nothing_used_sentence (path, &stats));
  return TRUE;
}
