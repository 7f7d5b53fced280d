/* pcapng-secrets.c: the TLS key logs in a pcapng file's Decryption Secrets Blocks.
 *
 * Follows draft-ietf-opsawg-pcapng: §3.1 (every block is type, total length, body, total length
 * again; "This value MUST be a multiple of 4", 12 octets at the least), §3.4 (the file begins
 * with a Section Header Block, and a reader that cannot read a section's version "MUST skip
 * everything until the next Section Header Block"), §3.6.1 and §4.1 (each section has the byte
 * order its SHB's Byte-Order Magic shows), §4.7 (Decryption Secrets Block: Secrets Type, Secrets
 * Length "without any padding octets", the data padded to 32 bits, options; type 0x544c534b is
 * a TLS key log whose lines end in CR LF or LF).
 *
 * One walker serves both a file in memory and a file read with stdio: it reads block headers,
 * skips every block but a Section Header Block or a Decryption Secrets Block, checks the trailing
 * length of each, and parses what it reads through MtdCursor.  A length that lies stops the walk
 * with a warning; what was found before it is kept.
 */
#include "mtd-pcapng-secrets.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <glib/gstdio.h>
#include <openssl/crypto.h>

#include "mtd-cursor.h"

/* Block types (§10.1) and magic numbers. */
enum {
  PCAPNG_BLOCK_SECTION_HEADER = 0x0A0D0D0A,     /* §4.1: "\n\r\r\n", the same in both orders */
  PCAPNG_BLOCK_DECRYPTION_SECRETS = 0x0000000A, /* §4.7 */
};
#define PCAPNG_BYTE_ORDER_MAGIC 0x1A2B3C4Du      /* §4.1 */
#define PCAPNG_BYTE_ORDER_MAGIC_SWAPPED 0x4D3C2B1Au
#define PCAPNG_SECRETS_TLS_KEY_LOG 0x544C534Bu   /* §4.7: "TLSK" */
#define PCAPNG_MAJOR_VERSION 1                   /* §4.1 */

enum {
  BLOCK_HEADER_LEN = 8,       /* §3.1: Block Type, Block Total Length */
  BLOCK_TRAILER_LEN = 4,      /* §3.1: Block Total Length again */
  BLOCK_MIN_LEN = 12,         /* §3.1: "the length of a block that does not have a body is 12" */
  SHB_MAGIC_LEN = 4,          /* §4.1: Byte-Order Magic */
  SHB_REST_LEN = 12,          /* §4.1: Major and Minor Version, Section Length */
  SHB_MIN_LEN = BLOCK_MIN_LEN + SHB_MAGIC_LEN + SHB_REST_LEN,
};

/* stdio's buffer, allocated here so that it can be wiped: it holds secrets for a while. */
#define STDIO_BUFFER_LEN (64 * 1024)

/* Where blocks come from: bytes in memory, or a file. */
typedef struct {
  MtdCursor bytes; /* in memory: the bytes not yet read */
  FILE *file;      /* NULL in memory */
  int read_errno;  /* not 0 when the file could not be read (which is not its end) */
} Reader;

/* One walk over a file. */
typedef struct {
  const char *source_name;
  MtdKeyLog *keylog;
  GPtrArray *warnings; /* borrowed, may be NULL */
  guint n_listed;
  guint n_unlisted;
  gboolean is_big_endian;       /* the current section's byte order */
  gboolean is_section_readable; /* FALSE in a section of a version other than 1.x (§3.4) */
  guint64 block_number;         /* of the block being read, from 1 */
  guint64 offset;               /* of the block being read */
  guint n_secrets_blocks;       /* Decryption Secrets Blocks, of any type */
  guint n_tls_blocks;           /* of those, TLS key logs handed to the key log */
} Walk;

/* ---- Reading ------------------------------------------------------------------------------ */

static void
reader_note_error (Reader *reader)
{
  if (ferror (reader->file) && reader->read_errno == 0)
    reader->read_errno = errno != 0 ? errno : EIO;
}

/* TRUE when nothing is left (or the file cannot be read: read_errno). */
static gboolean
reader_is_at_end (Reader *reader)
{
  if (reader->file == NULL)
    return mtd_cursor_is_empty (&reader->bytes);
  int byte = getc (reader->file);
  if (byte == EOF) {
    reader_note_error (reader);
    return TRUE;
  }
  ungetc (byte, reader->file);
  return FALSE;
}

/* Reads len bytes into out.  FALSE when the data ends first, or the file cannot be read. */
static gboolean
reader_read (Reader *reader, guint8 *out, gsize len)
{
  if (reader->file == NULL)
    return mtd_cursor_copy_bytes (&reader->bytes, out, len);
  if (len == 0)
    return TRUE;
  errno = 0;
  if (fread (out, 1, len, reader->file) == len)
    return TRUE;
  reader_note_error (reader);
  return FALSE;
}

/* Skips len bytes.  With a file, skipping past its end is only noticed at the next read. */
static gboolean
reader_skip (Reader *reader, guint64 len)
{
  if (reader->file == NULL)
    return len <= G_MAXSIZE && mtd_cursor_skip (&reader->bytes, (gsize) len);
  if (len == 0)
    return TRUE;
  errno = 0;
  if (len <= G_MAXINT64 && fseeko (reader->file, (off_t) len, SEEK_CUR) == 0)
    return TRUE;
  if (errno != ESPIPE) {
    reader->read_errno = errno != 0 ? errno : EIO;
    return FALSE;
  }
  /* A pipe: read through. */
  guint8 scratch[4096];
  gboolean is_read = TRUE;
  while (is_read && len > 0) {
    gsize n = (gsize) MIN (len, (guint64) sizeof scratch);
    is_read = reader_read (reader, scratch, n);
    len -= n;
  }
  OPENSSL_cleanse (scratch, sizeof scratch);
  return is_read;
}

/* A 32-bit field in the section's byte order. */
static gboolean
read_u32 (MtdCursor *cursor, gboolean is_big_endian, guint32 *out)
{
  guint32 value = 0;
  if (!mtd_cursor_read_u32 (cursor, &value))
    return FALSE;
  *out = is_big_endian ? value : GUINT32_SWAP_LE_BE (value);
  return TRUE;
}

static gboolean
read_u16 (MtdCursor *cursor, gboolean is_big_endian, guint16 *out)
{
  guint16 value = 0;
  if (!mtd_cursor_read_u16 (cursor, &value))
    return FALSE;
  *out = is_big_endian ? value : GUINT16_SWAP_LE_BE (value);
  return TRUE;
}

/* ---- Warnings ----------------------------------------------------------------------------- */

/* Takes sentence (owned). */
static void
walk_add_warning (Walk *walk, char *sentence)
{
  if (walk->warnings == NULL || walk->n_listed >= MTD_PCAPNG_SECRETS_MAX_WARNINGS) {
    if (walk->warnings != NULL)
      walk->n_unlisted++;
    g_free (sentence);
    return;
  }
  g_ptr_array_add (walk->warnings, sentence);
  walk->n_listed++;
}

static void
warn (Walk *walk, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
warn (Walk *walk, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *text = g_strdup_vprintf (format, args);
  va_end (args);
  walk_add_warning (walk, g_strdup_printf ("%s: %s", walk->source_name, text));
}

/* The sentence that ends a walk at a block whose length cannot be believed. */
static void
warn_block (Walk *walk, const char *problem)
{
  warn (walk, "block %" G_GUINT64_FORMAT " (at byte %" G_GUINT64_FORMAT ") %s; no secrets are "
        "looked for after it", walk->block_number, walk->offset, problem);
}

static void
warn_secrets_block (Walk *walk, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
warn_secrets_block (Walk *walk, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *text = g_strdup_vprintf (format, args);
  va_end (args);
  walk_add_warning (walk, g_strdup_printf ("%s (Decryption Secrets Block %u): %s",
                                           walk->source_name, walk->n_secrets_blocks, text));
}

/* ---- Blocks ------------------------------------------------------------------------------- */

/* The body of a Decryption Secrets Block (§4.7), after the block's lengths were checked. */
static void
read_secrets_block (Walk *walk, const guint8 *body, gsize body_len)
{
  MtdCursor cursor = mtd_cursor_init (body, body_len);
  guint32 secrets_type = 0;
  guint32 secrets_len = 0;
  if (!read_u32 (&cursor, walk->is_big_endian, &secrets_type)
      || !read_u32 (&cursor, walk->is_big_endian, &secrets_len)) {
    warn_secrets_block (walk, "%" G_GSIZE_FORMAT " bytes, too short for a secrets type and "
                        "length; skipped", body_len);
    return;
  }
  /* WireGuard, SSH, ZigBee and OPC UA secrets are of no use here. */
  if (secrets_type != PCAPNG_SECRETS_TLS_KEY_LOG)
    return;
  const guint8 *secrets = NULL;
  gsize available = mtd_cursor_remaining (&cursor);
  /* The padding after the data is not required: a writer that left it out lost nothing. */
  if (!mtd_cursor_read_bytes (&cursor, secrets_len, &secrets)) {
    warn_secrets_block (walk, "its secrets length (%u bytes) is more than the %" G_GSIZE_FORMAT
                        " bytes left in the block; skipped", secrets_len, available);
    return;
  }
  walk->n_tls_blocks++;
  g_autofree char *name = g_strdup_printf ("%s (Decryption Secrets Block %u)", walk->source_name,
                                           walk->n_secrets_blocks);
  g_autoptr (GPtrArray) keylog_warnings = g_ptr_array_new_with_free_func (g_free);
  mtd_keylog_add_text (walk->keylog, name, secrets, secrets_len,
                       walk->warnings != NULL ? keylog_warnings : NULL);
  for (guint i = 0; i < keylog_warnings->len; i++)
    walk_add_warning (walk, g_steal_pointer (&keylog_warnings->pdata[i]));
}

/* Reads a Section Header Block's fixed fields after its magic (§4.1); FALSE when the data ends. */
static gboolean
read_section_header (Walk *walk, Reader *reader, guint64 rest_len, guint16 *major,
                     guint16 *minor)
{
  guint8 fixed[SHB_REST_LEN];
  if (!reader_read (reader, fixed, sizeof fixed) || !reader_skip (reader, rest_len - sizeof fixed))
    return FALSE;
  MtdCursor cursor = mtd_cursor_init (fixed, sizeof fixed);
  return read_u16 (&cursor, walk->is_big_endian, major)
         && read_u16 (&cursor, walk->is_big_endian, minor);
}

/* Reads one block.  FALSE ends the walk: the end of the data, damage (warned), or a read
 * error (reader->read_errno). */
static gboolean
walk_block (Walk *walk, Reader *reader)
{
  if (reader_is_at_end (reader))
    return FALSE;
  gboolean is_first = walk->block_number == 0;
  walk->block_number++;

  guint8 header[BLOCK_HEADER_LEN + SHB_MAGIC_LEN];
  if (!reader_read (reader, header, BLOCK_HEADER_LEN)) {
    if (reader->read_errno == 0 && !is_first)
      warn (walk, "the file ends inside the header of block %" G_GUINT64_FORMAT " (at byte %"
            G_GUINT64_FORMAT "); no secrets are looked for after it", walk->block_number,
            walk->offset);
    return FALSE;
  }
  MtdCursor cursor = mtd_cursor_init (header, BLOCK_HEADER_LEN);
  guint32 type = 0;
  if (!mtd_cursor_read_u32 (&cursor, &type))
    return FALSE;
  gboolean is_section_header = type == PCAPNG_BLOCK_SECTION_HEADER;
  gboolean is_big_endian = walk->is_big_endian;
  if (is_section_header) {
    /* §4.1: the byte order of the new section is that of its magic. */
    if (!reader_read (reader, header + BLOCK_HEADER_LEN, SHB_MAGIC_LEN)) {
      if (reader->read_errno == 0 && !is_first)
        warn (walk, "the file ends inside the section header of block %" G_GUINT64_FORMAT
              " (at byte %" G_GUINT64_FORMAT "); no secrets are looked for after it",
              walk->block_number, walk->offset);
      return FALSE;
    }
    MtdCursor magic_cursor = mtd_cursor_init (header + BLOCK_HEADER_LEN, SHB_MAGIC_LEN);
    guint32 magic = 0;
    if (!mtd_cursor_read_u32 (&magic_cursor, &magic))
      return FALSE;
    if (magic != PCAPNG_BYTE_ORDER_MAGIC && magic != PCAPNG_BYTE_ORDER_MAGIC_SWAPPED) {
      /* At the start, this is not pcapng: nothing to say. */
      if (!is_first)
        warn_block (walk, "is a section header without the byte-order magic");
      return FALSE;
    }
    is_big_endian = magic == PCAPNG_BYTE_ORDER_MAGIC;
  } else if (is_first) {
    /* §3.4: "The file MUST begin with a Section Header Block."  Not pcapng. */
    return FALSE;
  } else {
    type = is_big_endian ? type : GUINT32_SWAP_LE_BE (type);
  }
  guint32 total_len = 0;
  if (!read_u32 (&cursor, is_big_endian, &total_len))
    return FALSE;

  g_autofree char *problem = NULL;
  if (total_len < BLOCK_MIN_LEN)
    problem = g_strdup_printf ("gives its length as %u bytes, less than the 12 of an empty "
                               "block", total_len);
  else if (total_len % 4 != 0)
    problem = g_strdup_printf ("gives its length as %u bytes, not a multiple of 4", total_len);
  else if (is_section_header && total_len < SHB_MIN_LEN)
    problem = g_strdup_printf ("is a section header of %u bytes, less than the %d its fixed "
                               "fields take", total_len, SHB_MIN_LEN);
  if (problem != NULL) {
    warn_block (walk, problem);
    return FALSE;
  }

  /* The body: read what is needed, skip the rest. */
  guint64 body_len = total_len - BLOCK_MIN_LEN;
  gboolean is_secrets = !is_section_header && type == PCAPNG_BLOCK_DECRYPTION_SECRETS;
  gboolean is_over_cap = is_secrets && body_len > MTD_PCAPNG_SECRETS_MAX_BLOCK_LEN;
  guint16 major = 0;
  guint16 minor = 0;
  guint8 *body = NULL;
  gboolean has_body;
  if (is_section_header) {
    walk->is_big_endian = is_big_endian;
    has_body = read_section_header (walk, reader, body_len - SHB_MAGIC_LEN, &major, &minor);
  } else if (is_secrets && walk->is_section_readable && !is_over_cap) {
    body = g_malloc (MAX (body_len, 1));
    has_body = reader_read (reader, body, (gsize) body_len);
  } else {
    has_body = reader_skip (reader, body_len);
  }

  guint8 trailer[BLOCK_TRAILER_LEN];
  guint32 trailing_len = 0;
  gboolean is_whole = has_body && reader_read (reader, trailer, sizeof trailer);
  if (is_whole) {
    MtdCursor trailer_cursor = mtd_cursor_init (trailer, sizeof trailer);
    is_whole = read_u32 (&trailer_cursor, is_big_endian, &trailing_len);
  }
  gboolean is_consistent = is_whole && trailing_len == total_len;
  if (is_consistent && is_secrets) {
    walk->n_secrets_blocks++;
    /* In a section of another version the block is skipped with the rest of the section (§3.4),
     * as the warning about its header said. */
    if (walk->is_section_readable && is_over_cap)
      warn_secrets_block (walk, "%" G_GUINT64_FORMAT " bytes, more than the %d MiB read from "
                          "one block; skipped", body_len,
                          MTD_PCAPNG_SECRETS_MAX_BLOCK_LEN / (1024 * 1024));
    else if (walk->is_section_readable)
      read_secrets_block (walk, body, (gsize) body_len);
  }
  if (body != NULL) {
    OPENSSL_cleanse (body, MAX (body_len, 1));
    g_free (body);
  }
  if (!is_whole) {
    if (reader->read_errno == 0)
      warn (walk, "the file ends inside block %" G_GUINT64_FORMAT " (at byte %" G_GUINT64_FORMAT
            "), whose length is %u bytes; no secrets are looked for after it",
            walk->block_number, walk->offset, total_len);
    return FALSE;
  }
  if (!is_consistent) {
    g_autofree char *lie = g_strdup_printf ("gives its length as %u bytes at its start and %u "
                                            "at its end", total_len, trailing_len);
    warn_block (walk, lie);
    return FALSE;
  }
  if (is_section_header) {
    /* §4.1: readers treat minor version 2 as 0, and no 1.x minor changes the block layout. */
    walk->is_section_readable = major == PCAPNG_MAJOR_VERSION;
    if (!walk->is_section_readable)
      warn (walk, "the section at block %" G_GUINT64_FORMAT " (at byte %" G_GUINT64_FORMAT
            ") is pcapng version %u.%u; its blocks are skipped", walk->block_number,
            walk->offset, major, minor);
  }
  walk->offset += total_len;
  return TRUE;
}

static void
walk_init (Walk *walk, const char *source_name, MtdKeyLog *keylog, GPtrArray *warnings)
{
  memset (walk, 0, sizeof *walk);
  walk->source_name = source_name != NULL ? source_name : "capture";
  walk->keylog = keylog;
  walk->warnings = warnings;
  walk->is_big_endian = TRUE;
  walk->is_section_readable = TRUE;
}

static void
walk_all (Walk *walk, Reader *reader)
{
  while (walk_block (walk, reader))
    ;
  if (walk->n_unlisted > 0)
    g_ptr_array_add (walk->warnings, g_strdup_printf ("%s: %u more warnings about its "
                                                      "Decryption Secrets Blocks not listed",
                                                      walk->source_name, walk->n_unlisted));
}

guint
mtd_pcapng_secrets_from_bytes (const guint8 *bytes, gsize len, const char *source_name,
                               MtdKeyLog *keylog, GPtrArray *warnings)
{
  g_return_val_if_fail (keylog != NULL, 0);
  g_return_val_if_fail (bytes != NULL || len == 0, 0);
  Walk walk;
  walk_init (&walk, source_name, keylog, warnings);
  Reader reader = { mtd_cursor_init (bytes, len), NULL, 0 };
  walk_all (&walk, &reader);
  return walk.n_tls_blocks;
}

static gboolean
set_errno_error (GError **error, const char *path, int saved_errno)
{
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno), "%s: %s", path,
               g_strerror (saved_errno));
  return FALSE;
}

gboolean
mtd_pcapng_secrets_from_file (const char *path, MtdKeyLog *keylog, guint *n_blocks,
                              GPtrArray *warnings, GError **error)
{
  g_return_val_if_fail (path != NULL && keylog != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  if (n_blocks != NULL)
    *n_blocks = 0;

  FILE *file = g_fopen (path, "rbe");
  if (file == NULL)
    return set_errno_error (error, path, errno);
  struct stat info;
  if (fstat (fileno (file), &info) != 0) {
    int saved_errno = errno;
    fclose (file);
    return set_errno_error (error, path, saved_errno);
  }
  if (S_ISDIR (info.st_mode)) {
    fclose (file);
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_ISDIR, "%s: a directory, not a capture file",
                 path);
    return FALSE;
  }
  guint8 *stdio_buffer = g_malloc (STDIO_BUFFER_LEN);
  setvbuf (file, (char *) stdio_buffer, _IOFBF, STDIO_BUFFER_LEN);

  Walk walk;
  walk_init (&walk, path, keylog, warnings);
  Reader reader = { mtd_cursor_init (NULL, 0), file, 0 };
  walk_all (&walk, &reader);
  fclose (file);
  OPENSSL_cleanse (stdio_buffer, STDIO_BUFFER_LEN);
  g_free (stdio_buffer);

  if (n_blocks != NULL)
    *n_blocks = walk.n_tls_blocks;
  if (reader.read_errno != 0)
    return set_errno_error (error, path, reader.read_errno);
  return TRUE;
}
