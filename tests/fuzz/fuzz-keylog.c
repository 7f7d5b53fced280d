/* fuzz-keylog.c: libFuzzer harness for the NSS key log reader (mtd-keylog.h).
 *
 * The whole input is one key log text, any bytes.  It is added to a key log whole, then again
 * (which must add nothing: every line is a repeat, a conflict or malformed), and to a second key
 * log in two pieces cut at a line end, which must end up with the same secrets.  No warning may
 * carry a run of hex long enough to be a piece of a secret or a client random.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "mtd-keylog.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* The longest run of hex digits a warning may hold: line numbers and lengths are decimal and
 * short; a client random is 64 digits and a secret at least 64. */
#define MAX_HEX_RUN 15

static void
check_warnings (GPtrArray *warnings)
{
  for (guint i = 0; i < warnings->len; i++) {
    const char *warning = g_ptr_array_index (warnings, i);
    g_assert (g_utf8_validate (warning, -1, NULL));
    gsize run = 0;
    for (const char *c = warning; *c != '\0'; c++) {
      run = g_ascii_isxdigit (*c) ? run + 1 : 0;
      g_assert (run <= MAX_HEX_RUN);
    }
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (MtdKeyLog) keylog = mtd_keylog_new ();
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  guint n_added = mtd_keylog_add_text (keylog, "fuzz", data, size, warnings);
  g_assert (n_added == mtd_keylog_n_secrets (keylog));
  g_assert (mtd_keylog_n_client_randoms (keylog) <= n_added);
  g_assert (warnings->len <= MTD_KEYLOG_MAX_WARNINGS + 1);
  check_warnings (warnings);

  g_assert (mtd_keylog_add_text (keylog, "fuzz", data, size, warnings) == 0);
  g_assert (mtd_keylog_n_secrets (keylog) == n_added);
  check_warnings (warnings);

  const uint8_t *newline = size > 0 ? memchr (data, '\n', size) : NULL;
  gsize first_len = newline != NULL ? (gsize) (newline - data) + 1 : size;
  g_autoptr (MtdKeyLog) pieces = mtd_keylog_new ();
  guint n_pieces = mtd_keylog_add_text (pieces, NULL, data, first_len, NULL);
  n_pieces += mtd_keylog_add_text (pieces, NULL, data + first_len, size - first_len, NULL);
  g_assert (n_pieces == n_added);
  g_assert (mtd_keylog_n_client_randoms (pieces) == mtd_keylog_n_client_randoms (keylog));

  /* A lookup with the input's first bytes as a client random, when there are enough. */
  if (size >= MTD_KEYLOG_CLIENT_RANDOM_LEN)
    for (int kind = 0; kind < MTD_SECRET_KIND_COUNT; kind++) {
      gsize secret_len = 0;
      const guint8 *secret = mtd_keylog_lookup (keylog, data, (MtdSecretKind) kind, &secret_len);
      g_assert ((secret == NULL) == (secret_len == 0));
      g_assert (secret_len <= MTD_KEYLOG_MAX_SECRET_LEN);
    }
  return 0;
}
