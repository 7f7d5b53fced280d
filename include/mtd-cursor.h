/* mtd-cursor.h: the one bounds-checked reader for untrusted bytes.
 *
 * Every packet and stream byte that mtlsdiag interprets is read through an MtdCursor: fixed-width
 * big-endian reads that fail instead of reading past the end, and length-prefixed sub-cursors
 * (8, 16, 24-bit, as TLS's opaque<..> vectors of RFC 8446 §3.4 are encoded).  A failed read sets
 * a sticky flag, so a parser may do a run of reads and check once; results are marked
 * warn-unused so a forgotten check is a compiler warning.
 *
 * The cursor never owns its bytes: it borrows them for the duration of a parse.
 */
#pragma once

#include <glib.h>

typedef struct {
  const guint8 *data; /* borrowed */
  gsize len;          /* bytes left */
  gboolean has_failed;
} MtdCursor;

#define MTD_WARN_UNUSED __attribute__((warn_unused_result))

static inline MtdCursor
mtd_cursor_init (const guint8 *data, gsize len)
{
  MtdCursor cursor = { data, len, FALSE };
  return cursor;
}

static inline gsize
mtd_cursor_remaining (const MtdCursor *cursor)
{
  return cursor->has_failed ? 0 : cursor->len;
}

static inline gboolean
mtd_cursor_is_empty (const MtdCursor *cursor)
{
  return cursor->has_failed || cursor->len == 0;
}

/* A borrowed pointer to the bytes not yet read; only valid with mtd_cursor_remaining(). */
static inline const guint8 *
mtd_cursor_peek_bytes (const MtdCursor *cursor)
{
  return cursor->data;
}

gboolean mtd_cursor_read_u8 (MtdCursor *cursor, guint8 *out) MTD_WARN_UNUSED;
gboolean mtd_cursor_read_u16 (MtdCursor *cursor, guint16 *out) MTD_WARN_UNUSED;
gboolean mtd_cursor_read_u24 (MtdCursor *cursor, guint32 *out) MTD_WARN_UNUSED;
gboolean mtd_cursor_read_u32 (MtdCursor *cursor, guint32 *out) MTD_WARN_UNUSED;
gboolean mtd_cursor_peek_u8 (const MtdCursor *cursor, gsize offset, guint8 *out) MTD_WARN_UNUSED;
gboolean mtd_cursor_peek_u16 (const MtdCursor *cursor, gsize offset, guint16 *out) MTD_WARN_UNUSED;

/* Skips len bytes; fails (sticky) when fewer remain. */
gboolean mtd_cursor_skip (MtdCursor *cursor, gsize len) MTD_WARN_UNUSED;

/* Borrows the next len bytes into *out and advances past them. */
gboolean mtd_cursor_read_bytes (MtdCursor *cursor, gsize len, const guint8 **out) MTD_WARN_UNUSED;

/* Copies the next len bytes into out (which has room for len) and advances. */
gboolean mtd_cursor_copy_bytes (MtdCursor *cursor, guint8 *out, gsize len) MTD_WARN_UNUSED;

/* Splits off the next len bytes as a sub-cursor and advances the parent past them. */
gboolean mtd_cursor_read_sub (MtdCursor *cursor, gsize len, MtdCursor *sub) MTD_WARN_UNUSED;

/* Reads an 8/16/24-bit length prefix, then that many bytes as a sub-cursor. */
gboolean mtd_cursor_read_prefixed8 (MtdCursor *cursor, MtdCursor *sub) MTD_WARN_UNUSED;
gboolean mtd_cursor_read_prefixed16 (MtdCursor *cursor, MtdCursor *sub) MTD_WARN_UNUSED;
gboolean mtd_cursor_read_prefixed24 (MtdCursor *cursor, MtdCursor *sub) MTD_WARN_UNUSED;

/* TRUE when the cursor never failed and every byte was read: the check that a length-prefixed
 * block was consumed exactly. */
gboolean mtd_cursor_is_done (const MtdCursor *cursor) MTD_WARN_UNUSED;
