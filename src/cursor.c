/* cursor.c: the bounds-checked reader for untrusted bytes (see mtd-cursor.h). */
#include "mtd-cursor.h"

#include <string.h>

static gboolean
cursor_fail (MtdCursor *cursor)
{
  cursor->has_failed = TRUE;
  cursor->len = 0;
  return FALSE;
}

static gboolean
cursor_take (MtdCursor *cursor, gsize len, const guint8 **out)
{
  if (cursor->has_failed || cursor->len < len)
    return cursor_fail (cursor);
  *out = cursor->data;
  /* An empty cursor may have a NULL start (an empty GByteArray, mtd_cursor_init (NULL, 0)), and
   * NULL + 0 is undefined in C: taking nothing moves nothing (found by fuzz-certheader, an empty
   * XFCC Cert field). */
  if (len > 0)
    cursor->data += len;
  cursor->len -= len;
  return TRUE;
}

gboolean
mtd_cursor_read_u8 (MtdCursor *cursor, guint8 *out)
{
  const guint8 *bytes = NULL;
  if (!cursor_take (cursor, 1, &bytes))
    return FALSE;
  *out = bytes[0];
  return TRUE;
}

gboolean
mtd_cursor_read_u16 (MtdCursor *cursor, guint16 *out)
{
  const guint8 *bytes = NULL;
  if (!cursor_take (cursor, 2, &bytes))
    return FALSE;
  *out = (guint16) ((bytes[0] << 8) | bytes[1]);
  return TRUE;
}

gboolean
mtd_cursor_read_u24 (MtdCursor *cursor, guint32 *out)
{
  const guint8 *bytes = NULL;
  if (!cursor_take (cursor, 3, &bytes))
    return FALSE;
  *out = ((guint32) bytes[0] << 16) | ((guint32) bytes[1] << 8) | bytes[2];
  return TRUE;
}

gboolean
mtd_cursor_read_u32 (MtdCursor *cursor, guint32 *out)
{
  const guint8 *bytes = NULL;
  if (!cursor_take (cursor, 4, &bytes))
    return FALSE;
  *out = ((guint32) bytes[0] << 24) | ((guint32) bytes[1] << 16) | ((guint32) bytes[2] << 8)
         | bytes[3];
  return TRUE;
}

gboolean
mtd_cursor_peek_u8 (const MtdCursor *cursor, gsize offset, guint8 *out)
{
  if (cursor->has_failed || offset >= cursor->len)
    return FALSE;
  *out = cursor->data[offset];
  return TRUE;
}

gboolean
mtd_cursor_peek_u16 (const MtdCursor *cursor, gsize offset, guint16 *out)
{
  if (cursor->has_failed || cursor->len < 2 || offset > cursor->len - 2)
    return FALSE;
  *out = (guint16) ((cursor->data[offset] << 8) | cursor->data[offset + 1]);
  return TRUE;
}

gboolean
mtd_cursor_skip (MtdCursor *cursor, gsize len)
{
  const guint8 *ignored = NULL;
  return cursor_take (cursor, len, &ignored);
}

gboolean
mtd_cursor_read_bytes (MtdCursor *cursor, gsize len, const guint8 **out)
{
  return cursor_take (cursor, len, out);
}

gboolean
mtd_cursor_copy_bytes (MtdCursor *cursor, guint8 *out, gsize len)
{
  const guint8 *bytes = NULL;
  if (!cursor_take (cursor, len, &bytes))
    return FALSE;
  if (len > 0)
    memcpy (out, bytes, len);
  return TRUE;
}

gboolean
mtd_cursor_read_sub (MtdCursor *cursor, gsize len, MtdCursor *sub)
{
  const guint8 *bytes = NULL;
  if (!cursor_take (cursor, len, &bytes)) {
    *sub = mtd_cursor_init (NULL, 0);
    sub->has_failed = TRUE;
    return FALSE;
  }
  *sub = mtd_cursor_init (bytes, len);
  return TRUE;
}

gboolean
mtd_cursor_read_prefixed8 (MtdCursor *cursor, MtdCursor *sub)
{
  guint8 len = 0;
  if (!mtd_cursor_read_u8 (cursor, &len)) {
    *sub = mtd_cursor_init (NULL, 0);
    sub->has_failed = TRUE;
    return FALSE;
  }
  return mtd_cursor_read_sub (cursor, len, sub);
}

gboolean
mtd_cursor_read_prefixed16 (MtdCursor *cursor, MtdCursor *sub)
{
  guint16 len = 0;
  if (!mtd_cursor_read_u16 (cursor, &len)) {
    *sub = mtd_cursor_init (NULL, 0);
    sub->has_failed = TRUE;
    return FALSE;
  }
  return mtd_cursor_read_sub (cursor, len, sub);
}

gboolean
mtd_cursor_read_prefixed24 (MtdCursor *cursor, MtdCursor *sub)
{
  guint32 len = 0;
  if (!mtd_cursor_read_u24 (cursor, &len)) {
    *sub = mtd_cursor_init (NULL, 0);
    sub->has_failed = TRUE;
    return FALSE;
  }
  return mtd_cursor_read_sub (cursor, len, sub);
}

gboolean
mtd_cursor_is_done (const MtdCursor *cursor)
{
  return !cursor->has_failed && cursor->len == 0;
}
