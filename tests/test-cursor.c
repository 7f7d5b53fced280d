/* test-cursor.c: unit tests of the bounds-checked reader (mtd-cursor.h).
 *
 * The reader's contract, from its header and STYLE.md: fixed-width big-endian reads that fail
 * instead of reading past the end; a failure is sticky and leaves nothing to read; length-prefixed
 * sub-cursors (the 8, 16 and 24-bit opaque vectors of RFC 8446 §3.4) that must be consumed
 * exactly; peeks that never move or fail the cursor.  Every read is tried at its exact length and
 * one byte short, from a table.
 */
#include <string.h>

#include "mtd-cursor.h"

/* Bytes with the high bit set in every position, so a sign-extension bug shows. */
static const guint8 sample[] = { 0xFF, 0xFE, 0xFD, 0xFC, 0x81, 0x82, 0x83, 0x84 };

typedef enum {
  READ_U8,
  READ_U16,
  READ_U24,
  READ_U32,
  READ_SKIP,
  READ_BYTES,
  READ_COPY,
  READ_SUB,
} ReadKind;

typedef struct {
  const char *name;
  ReadKind kind;
  gsize width;     /* bytes the read takes */
  guint64 value;   /* the big-endian value of sample[0..width) for the integer reads */
} ReadCase;

static const ReadCase read_cases[] = {
  { "u8", READ_U8, 1, 0xFF },
  { "u16", READ_U16, 2, 0xFFFE },
  { "u24", READ_U24, 3, 0xFFFEFD },
  { "u32", READ_U32, 4, 0xFFFEFDFC },
  { "skip-0", READ_SKIP, 0, 0 },
  { "skip-5", READ_SKIP, 5, 0 },
  { "bytes-0", READ_BYTES, 0, 0 },
  { "bytes-7", READ_BYTES, 7, 0 },
  { "copy-0", READ_COPY, 0, 0 },
  { "copy-8", READ_COPY, 8, 0 },
  { "sub-0", READ_SUB, 0, 0 },
  { "sub-6", READ_SUB, 6, 0 },
};

/* Does one read of the case's kind; *value gets integers, *bytes what the read exposed. */
static gboolean
do_read (const ReadCase *rc, MtdCursor *cursor, guint64 *value, guint8 *copy,
         const guint8 **bytes, MtdCursor *sub)
{
  gboolean is_ok = FALSE;
  switch (rc->kind) {
  case READ_U8: {
    guint8 v = 0xAA;
    is_ok = mtd_cursor_read_u8 (cursor, &v);
    *value = v;
    break;
  }
  case READ_U16: {
    guint16 v = 0xAAAA;
    is_ok = mtd_cursor_read_u16 (cursor, &v);
    *value = v;
    break;
  }
  case READ_U24: {
    guint32 v = 0xAAAAAAAA;
    is_ok = mtd_cursor_read_u24 (cursor, &v);
    *value = v;
    break;
  }
  case READ_U32: {
    guint32 v = 0xAAAAAAAA;
    is_ok = mtd_cursor_read_u32 (cursor, &v);
    *value = v;
    break;
  }
  case READ_SKIP:
    is_ok = mtd_cursor_skip (cursor, rc->width);
    break;
  case READ_BYTES:
    is_ok = mtd_cursor_read_bytes (cursor, rc->width, bytes);
    break;
  case READ_COPY:
    is_ok = mtd_cursor_copy_bytes (cursor, copy, rc->width);
    break;
  case READ_SUB:
    is_ok = mtd_cursor_read_sub (cursor, rc->width, sub);
    break;
  default:
    g_assert_not_reached ();
  }
  return is_ok;
}

/* Exactly width bytes: the read succeeds, returns the right value and leaves the cursor done. */
static void
test_read_exact (gconstpointer data)
{
  const ReadCase *rc = data;
  /* A copy on the heap, so ASan would catch any byte read past the end. */
  g_autofree guint8 *bytes = g_memdup2 (sample, MAX (rc->width, 1));
  MtdCursor cursor = mtd_cursor_init (bytes, rc->width);
  guint64 value = 0;
  guint8 copy[sizeof sample] = { 0 };
  const guint8 *exposed = NULL;
  MtdCursor sub = { 0 };
  g_assert_true (do_read (rc, &cursor, &value, copy, &exposed, &sub));
  g_assert_false (cursor.has_failed);
  g_assert_cmpuint (mtd_cursor_remaining (&cursor), ==, 0);
  g_assert_true (mtd_cursor_is_empty (&cursor));
  g_assert_true (mtd_cursor_is_done (&cursor));
  switch (rc->kind) {
  case READ_U8:
  case READ_U16:
  case READ_U24:
  case READ_U32:
    g_assert_cmphex (value, ==, rc->value);
    break;
  case READ_BYTES:
    if (rc->width > 0) {
      g_assert_true (exposed == bytes);
      g_assert_cmpmem (exposed, rc->width, sample, rc->width);
    }
    break;
  case READ_COPY:
    g_assert_cmpmem (copy, rc->width, sample, rc->width);
    break;
  case READ_SUB:
    g_assert_false (sub.has_failed);
    g_assert_cmpuint (mtd_cursor_remaining (&sub), ==, rc->width);
    if (rc->width > 0)
      g_assert_true (mtd_cursor_peek_bytes (&sub) == bytes);
    break;
  default:
    break;
  }
}

/* One byte short: the read fails, the failure is sticky and nothing is left to read. */
static void
test_read_short (gconstpointer data)
{
  const ReadCase *rc = data;
  if (rc->width == 0)
    return; /* a zero-width read cannot be short */
  g_autofree guint8 *bytes = g_memdup2 (sample, rc->width - 1 > 0 ? rc->width - 1 : 1);
  MtdCursor cursor = mtd_cursor_init (bytes, rc->width - 1);
  guint64 value = 0;
  guint8 copy[sizeof sample];
  memset (copy, 0x5A, sizeof copy);
  const guint8 *exposed = NULL;
  MtdCursor sub = { 0 };
  g_assert_false (do_read (rc, &cursor, &value, copy, &exposed, &sub));
  g_assert_true (cursor.has_failed);
  g_assert_cmpuint (mtd_cursor_remaining (&cursor), ==, 0);
  g_assert_true (mtd_cursor_is_empty (&cursor));
  g_assert_false (mtd_cursor_is_done (&cursor));
  if (rc->kind == READ_COPY)
    for (gsize i = 0; i < sizeof copy; i++)
      g_assert_cmphex (copy[i], ==, 0x5A); /* nothing copied on failure */
  if (rc->kind == READ_SUB) {
    g_assert_true (sub.has_failed);
    g_assert_cmpuint (mtd_cursor_remaining (&sub), ==, 0);
    g_assert_false (mtd_cursor_is_done (&sub));
  }
  /* Sticky: even reads that need no bytes fail now, and peeks see nothing. */
  guint8 byte = 0;
  guint16 word = 0;
  const guint8 *none = NULL;
  g_assert_false (mtd_cursor_skip (&cursor, 0));
  g_assert_false (mtd_cursor_read_bytes (&cursor, 0, &none));
  g_assert_false (mtd_cursor_read_u8 (&cursor, &byte));
  g_assert_false (mtd_cursor_peek_u8 (&cursor, 0, &byte));
  g_assert_false (mtd_cursor_peek_u16 (&cursor, 0, &word));
  g_assert_true (cursor.has_failed);
  g_assert_false (mtd_cursor_is_done (&cursor));
}

/* Reads in a run keep going forward, big-endian, and one check at the end is enough. */
static void
test_read_sequence (void)
{
  static const guint8 bytes[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A };
  MtdCursor cursor = mtd_cursor_init (bytes, sizeof bytes);
  guint8 a = 0;
  guint16 b = 0;
  guint32 c = 0, d = 0;
  g_assert_true (mtd_cursor_read_u8 (&cursor, &a));
  g_assert_true (mtd_cursor_read_u16 (&cursor, &b));
  g_assert_true (mtd_cursor_read_u24 (&cursor, &c));
  g_assert_true (mtd_cursor_read_u32 (&cursor, &d));
  g_assert_cmphex (a, ==, 0x01);
  g_assert_cmphex (b, ==, 0x0203);
  g_assert_cmphex (c, ==, 0x040506);
  g_assert_cmphex (d, ==, 0x0708090A);
  g_assert_true (mtd_cursor_is_done (&cursor));

  /* A failing read in the middle of a run: the later ones fail too, even those that would fit. */
  cursor = mtd_cursor_init (bytes, 3);
  gboolean is_ok = mtd_cursor_read_u16 (&cursor, &b);
  is_ok = mtd_cursor_read_u16 (&cursor, &b) && is_ok;
  g_assert_false (is_ok);
  g_assert_false (mtd_cursor_read_u8 (&cursor, &a));
  g_assert_false (mtd_cursor_is_done (&cursor));
}

/* ---- Length-prefixed sub-cursors ----------------------------------------------------------- */

typedef struct {
  const char *name;
  guint prefix_bits;          /* 8, 16 or 24 */
  guint8 bytes[12];
  gsize len;
  gboolean is_ok;
  gsize sub_len;              /* when is_ok */
  gsize parent_remaining;     /* when is_ok */
} PrefixCase;

static const PrefixCase prefix_cases[] = {
  /* exact: the prefix and its bytes are the whole input */
  { "p8-exact", 8, { 0x03, 'a', 'b', 'c' }, 4, TRUE, 3, 0 },
  { "p16-exact", 16, { 0x00, 0x03, 'a', 'b', 'c' }, 5, TRUE, 3, 0 },
  { "p24-exact", 24, { 0x00, 0x00, 0x03, 'a', 'b', 'c' }, 6, TRUE, 3, 0 },
  /* bytes after the block stay in the parent */
  { "p8-trailing", 8, { 0x02, 'a', 'b', 'c', 'd' }, 5, TRUE, 2, 2 },
  { "p16-trailing", 16, { 0x00, 0x01, 'a', 'b' }, 4, TRUE, 1, 1 },
  { "p24-trailing", 24, { 0x00, 0x00, 0x01, 'a', 'b', 'c' }, 6, TRUE, 1, 2 },
  /* zero length: an empty sub-cursor that is done at once */
  { "p8-zero", 8, { 0x00 }, 1, TRUE, 0, 0 },
  { "p16-zero", 16, { 0x00, 0x00, 'x' }, 3, TRUE, 0, 1 },
  { "p24-zero", 24, { 0x00, 0x00, 0x00 }, 3, TRUE, 0, 0 },
  /* the length runs past the end by one byte */
  { "p8-past-end", 8, { 0x04, 'a', 'b', 'c' }, 4, FALSE, 0, 0 },
  { "p16-past-end", 16, { 0x00, 0x04, 'a', 'b', 'c' }, 5, FALSE, 0, 0 },
  { "p24-past-end", 24, { 0x00, 0x00, 0x04, 'a', 'b', 'c' }, 6, FALSE, 0, 0 },
  /* high length bytes are not sign-extended or dropped */
  { "p16-huge", 16, { 0xFF, 0xFF, 'a' }, 3, FALSE, 0, 0 },
  { "p24-huge", 24, { 0x80, 0x00, 0x01, 'a' }, 4, FALSE, 0, 0 },
  /* the prefix itself is cut */
  { "p8-no-prefix", 8, { 0 }, 0, FALSE, 0, 0 },
  { "p16-short-prefix", 16, { 0x00 }, 1, FALSE, 0, 0 },
  { "p24-short-prefix", 24, { 0x00, 0x00 }, 2, FALSE, 0, 0 },
};

static gboolean
read_prefixed (guint bits, MtdCursor *cursor, MtdCursor *sub)
{
  switch (bits) {
  case 8:
    return mtd_cursor_read_prefixed8 (cursor, sub);
  case 16:
    return mtd_cursor_read_prefixed16 (cursor, sub);
  case 24:
    return mtd_cursor_read_prefixed24 (cursor, sub);
  default:
    g_assert_not_reached ();
  }
}

static void
test_prefixed (gconstpointer data)
{
  const PrefixCase *pc = data;
  g_autofree guint8 *bytes = g_memdup2 (pc->bytes, MAX (pc->len, 1));
  MtdCursor cursor = mtd_cursor_init (bytes, pc->len);
  MtdCursor sub = { NULL, 12345, FALSE };
  gboolean is_ok = read_prefixed (pc->prefix_bits, &cursor, &sub);
  g_assert_cmpint (is_ok, ==, pc->is_ok);
  if (!pc->is_ok) {
    g_assert_true (cursor.has_failed);
    g_assert_cmpuint (mtd_cursor_remaining (&cursor), ==, 0);
    g_assert_true (sub.has_failed);
    g_assert_cmpuint (mtd_cursor_remaining (&sub), ==, 0);
    g_assert_false (mtd_cursor_is_done (&sub));
    return;
  }
  gsize prefix_len = pc->prefix_bits / 8;
  g_assert_false (cursor.has_failed);
  g_assert_cmpuint (mtd_cursor_remaining (&sub), ==, pc->sub_len);
  g_assert_cmpuint (mtd_cursor_remaining (&cursor), ==, pc->parent_remaining);
  g_assert_true (mtd_cursor_peek_bytes (&sub) == bytes + prefix_len || pc->sub_len == 0);
  g_assert_true (mtd_cursor_peek_bytes (&cursor) == bytes + prefix_len + pc->sub_len);
  if (pc->sub_len == 0) {
    g_assert_true (mtd_cursor_is_done (&sub));
    return;
  }
  /* Not consumed: not done.  Read all but one byte: still not done.  Then exactly done. */
  g_assert_false (mtd_cursor_is_done (&sub));
  g_assert_true (mtd_cursor_skip (&sub, pc->sub_len - 1));
  g_assert_false (mtd_cursor_is_done (&sub));
  guint8 last = 0;
  g_assert_true (mtd_cursor_read_u8 (&sub, &last));
  g_assert_cmpint (last, ==, pc->bytes[prefix_len + pc->sub_len - 1]);
  g_assert_true (mtd_cursor_is_done (&sub));
  /* The sub-cursor is bounded by its block, not by the parent's bytes after it. */
  g_assert_false (mtd_cursor_read_u8 (&sub, &last));
  g_assert_true (sub.has_failed);
  g_assert_false (mtd_cursor_is_done (&sub));
  /* Failing the sub-cursor does not fail the parent. */
  g_assert_false (cursor.has_failed);
  g_assert_cmpuint (mtd_cursor_remaining (&cursor), ==, pc->parent_remaining);
}

/* A sub-cursor of a sub-cursor: the TLS nesting of extensions inside a ClientHello. */
static void
test_prefixed_nested (void)
{
  static const guint8 bytes[] = {
    0x00, 0x07,             /* outer block, 7 bytes */
    0x00, 0x00, 0x03,       /* inner block, 3 bytes */
    'x', 'y', 'z', 0x01,    /* and one byte after it, inside the outer block */
    0xEE,                   /* after the outer block */
  };
  MtdCursor cursor = mtd_cursor_init (bytes, sizeof bytes);
  MtdCursor outer, inner;
  g_assert_true (mtd_cursor_read_prefixed16 (&cursor, &outer));
  g_assert_true (mtd_cursor_read_prefixed24 (&outer, &inner));
  const guint8 *name = NULL;
  g_assert_true (mtd_cursor_read_bytes (&inner, 3, &name));
  g_assert_cmpmem (name, 3, "xyz", 3);
  g_assert_true (mtd_cursor_is_done (&inner));
  g_assert_false (mtd_cursor_is_done (&outer)); /* one byte left in the outer block */
  guint8 byte = 0;
  g_assert_true (mtd_cursor_read_u8 (&outer, &byte));
  g_assert_true (mtd_cursor_is_done (&outer));
  g_assert_true (mtd_cursor_read_u8 (&cursor, &byte));
  g_assert_cmphex (byte, ==, 0xEE);
  g_assert_true (mtd_cursor_is_done (&cursor));

  /* An inner length that claims more than the outer block holds fails, even though the parent
   * has the bytes. */
  static const guint8 lying[] = { 0x02, 0x05, 'a', 'b', 'c', 'd', 'e', 'f' };
  cursor = mtd_cursor_init (lying, sizeof lying);
  g_assert_true (mtd_cursor_read_prefixed8 (&cursor, &outer));
  g_assert_false (mtd_cursor_read_prefixed8 (&outer, &inner));
  g_assert_true (outer.has_failed);
  g_assert_true (inner.has_failed);
  g_assert_false (cursor.has_failed);
  g_assert_cmpuint (mtd_cursor_remaining (&cursor), ==, 5);
}

/* ---- is_done, peeks, copies, skips --------------------------------------------------------- */

static void
test_is_done (void)
{
  MtdCursor empty = mtd_cursor_init (NULL, 0);
  g_assert_true (mtd_cursor_is_done (&empty));
  g_assert_true (mtd_cursor_is_empty (&empty));
  guint8 byte = 0;
  g_assert_false (mtd_cursor_read_u8 (&empty, &byte));
  g_assert_false (mtd_cursor_is_done (&empty)); /* failed, so not a clean end */
  g_assert_true (mtd_cursor_is_empty (&empty));

  MtdCursor cursor = mtd_cursor_init (sample, 2);
  g_assert_false (mtd_cursor_is_done (&cursor));
  g_assert_false (mtd_cursor_is_empty (&cursor));
  g_assert_true (mtd_cursor_skip (&cursor, 1));
  g_assert_false (mtd_cursor_is_done (&cursor));
  g_assert_true (mtd_cursor_skip (&cursor, 1));
  g_assert_true (mtd_cursor_is_done (&cursor));
  /* A zero-length skip at the end is fine and keeps the cursor done. */
  g_assert_true (mtd_cursor_skip (&cursor, 0));
  g_assert_true (mtd_cursor_is_done (&cursor));
}

typedef struct {
  const char *name;
  gsize len;        /* bytes of sample in the cursor */
  gsize offset;
  gboolean is_u8_ok;
  gboolean is_u16_ok;
} PeekCase;

static const PeekCase peek_cases[] = {
  { "empty", 0, 0, FALSE, FALSE },
  { "one-at-0", 1, 0, TRUE, FALSE },
  { "one-at-1", 1, 1, FALSE, FALSE },
  { "two-at-0", 2, 0, TRUE, TRUE },
  { "two-at-1", 2, 1, TRUE, FALSE },
  { "eight-at-6", 8, 6, TRUE, TRUE },
  { "eight-at-7", 8, 7, TRUE, FALSE },
  { "eight-at-8", 8, 8, FALSE, FALSE },
  { "eight-at-huge", 8, G_MAXSIZE, FALSE, FALSE },
  { "eight-at-huge-1", 8, G_MAXSIZE - 1, FALSE, FALSE },
};

static void
test_peek (gconstpointer data)
{
  const PeekCase *pc = data;
  g_autofree guint8 *bytes = g_memdup2 (sample, MAX (pc->len, 1));
  MtdCursor cursor = mtd_cursor_init (bytes, pc->len);
  guint8 byte = 0x11;
  guint16 word = 0x1111;
  g_assert_cmpint (mtd_cursor_peek_u8 (&cursor, pc->offset, &byte), ==, pc->is_u8_ok);
  g_assert_cmpint (mtd_cursor_peek_u16 (&cursor, pc->offset, &word), ==, pc->is_u16_ok);
  if (pc->is_u8_ok)
    g_assert_cmphex (byte, ==, sample[pc->offset]);
  else
    g_assert_cmphex (byte, ==, 0x11);
  if (pc->is_u16_ok)
    g_assert_cmphex (word, ==, (guint16) ((sample[pc->offset] << 8) | sample[pc->offset + 1]));
  else
    g_assert_cmphex (word, ==, 0x1111);
  /* Peeks never move the cursor nor fail it. */
  g_assert_false (cursor.has_failed);
  g_assert_cmpuint (mtd_cursor_remaining (&cursor), ==, pc->len);
  g_assert_true (mtd_cursor_peek_bytes (&cursor) == bytes);
}

static void
test_peek_after_reads (void)
{
  MtdCursor cursor = mtd_cursor_init (sample, sizeof sample);
  g_assert_true (mtd_cursor_skip (&cursor, 3));
  g_assert_true (mtd_cursor_peek_bytes (&cursor) == sample + 3);
  guint8 byte = 0;
  guint16 word = 0;
  g_assert_true (mtd_cursor_peek_u8 (&cursor, 0, &byte));
  g_assert_cmphex (byte, ==, 0xFC);
  g_assert_true (mtd_cursor_peek_u16 (&cursor, 3, &word));
  g_assert_cmphex (word, ==, 0x8384);
  g_assert_false (mtd_cursor_peek_u16 (&cursor, 4, &word));
  g_assert_cmpuint (mtd_cursor_remaining (&cursor), ==, 5);
}

static void
test_copy_bytes (void)
{
  guint8 out[sizeof sample + 2];
  memset (out, 0x5A, sizeof out);
  MtdCursor cursor = mtd_cursor_init (sample, sizeof sample);
  g_assert_true (mtd_cursor_copy_bytes (&cursor, out, 3));
  g_assert_cmpmem (out, 3, sample, 3);
  g_assert_cmphex (out[3], ==, 0x5A); /* nothing past len written */
  g_assert_true (mtd_cursor_copy_bytes (&cursor, out + 3, 5));
  g_assert_cmpmem (out, sizeof sample, sample, sizeof sample);
  g_assert_cmphex (out[sizeof sample], ==, 0x5A);
  g_assert_true (mtd_cursor_is_done (&cursor));
  /* A zero-length copy needs no buffer. */
  g_assert_true (mtd_cursor_copy_bytes (&cursor, NULL, 0));
  g_assert_true (mtd_cursor_is_done (&cursor));
  /* A copy past the end writes nothing. */
  memset (out, 0x5A, sizeof out);
  cursor = mtd_cursor_init (sample, 4);
  g_assert_false (mtd_cursor_copy_bytes (&cursor, out, 5));
  for (gsize i = 0; i < sizeof out; i++)
    g_assert_cmphex (out[i], ==, 0x5A);
  g_assert_true (cursor.has_failed);
}

typedef struct {
  const char *name;
  gsize len;
  gsize skip;
  gboolean is_ok;
} SkipCase;

static const SkipCase skip_cases[] = {
  { "zero-of-zero", 0, 0, TRUE },
  { "one-of-zero", 0, 1, FALSE },
  { "all", 8, 8, TRUE },
  { "one-past", 8, 9, FALSE },
  { "huge", 8, G_MAXSIZE, FALSE },
};

static void
test_skip (gconstpointer data)
{
  const SkipCase *sc = data;
  MtdCursor cursor = mtd_cursor_init (sc->len > 0 ? sample : NULL, sc->len);
  g_assert_cmpint (mtd_cursor_skip (&cursor, sc->skip), ==, sc->is_ok);
  g_assert_cmpint (cursor.has_failed, ==, !sc->is_ok);
  g_assert_cmpuint (mtd_cursor_remaining (&cursor), ==, sc->is_ok ? sc->len - sc->skip : 0);
  g_assert_cmpint (mtd_cursor_is_done (&cursor), ==, sc->is_ok && sc->skip == sc->len);
}

/* A huge length must not wrap a pointer or size and read anywhere. */
static void
test_huge_lengths (void)
{
  MtdCursor cursor = mtd_cursor_init (sample, sizeof sample);
  const guint8 *bytes = NULL;
  g_assert_false (mtd_cursor_read_bytes (&cursor, G_MAXSIZE, &bytes));
  g_assert_true (cursor.has_failed);
  cursor = mtd_cursor_init (sample, sizeof sample);
  MtdCursor sub;
  g_assert_false (mtd_cursor_read_sub (&cursor, G_MAXSIZE - 2, &sub));
  g_assert_true (sub.has_failed);
  g_assert_cmpuint (mtd_cursor_remaining (&sub), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (read_cases); i++) {
    g_autofree char *exact = g_strdup_printf ("/cursor/read/exact/%s", read_cases[i].name);
    g_autofree char *shortp = g_strdup_printf ("/cursor/read/short/%s", read_cases[i].name);
    g_test_add_data_func (exact, &read_cases[i], test_read_exact);
    if (read_cases[i].width > 0)
      g_test_add_data_func (shortp, &read_cases[i], test_read_short);
  }
  g_test_add_func ("/cursor/read/sequence", test_read_sequence);
  for (gsize i = 0; i < G_N_ELEMENTS (prefix_cases); i++) {
    g_autofree char *path = g_strdup_printf ("/cursor/prefixed/%s", prefix_cases[i].name);
    g_test_add_data_func (path, &prefix_cases[i], test_prefixed);
  }
  g_test_add_func ("/cursor/prefixed/nested", test_prefixed_nested);
  g_test_add_func ("/cursor/is-done", test_is_done);
  for (gsize i = 0; i < G_N_ELEMENTS (peek_cases); i++) {
    g_autofree char *path = g_strdup_printf ("/cursor/peek/%s", peek_cases[i].name);
    g_test_add_data_func (path, &peek_cases[i], test_peek);
  }
  g_test_add_func ("/cursor/peek/after-reads", test_peek_after_reads);
  g_test_add_func ("/cursor/copy-bytes", test_copy_bytes);
  for (gsize i = 0; i < G_N_ELEMENTS (skip_cases); i++) {
    g_autofree char *path = g_strdup_printf ("/cursor/skip/%s", skip_cases[i].name);
    g_test_add_data_func (path, &skip_cases[i], test_skip);
  }
  g_test_add_func ("/cursor/huge-lengths", test_huge_lengths);
  return g_test_run ();
}
