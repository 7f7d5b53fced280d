/* fuzz-pcapng-secrets.c: libFuzzer harness for the pcapng Decryption Secrets Block walker
 * (mtd-pcapng-secrets.h).
 *
 * The whole input is one pcapng file (or anything else).  It is walked twice into fresh key
 * logs, with and without a warnings array, and both walks must find the same; every warning is
 * plain text without a run of hex long enough to be a piece of a secret.
 */
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "mtd-keylog.h"
#include "mtd-pcapng-secrets.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define MAX_HEX_RUN 15

/* The shortest Decryption Secrets Block holding a key log: 12 bytes of framing, 8 of type and
 * length. */
#define MIN_SECRETS_BLOCK_LEN 20

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (MtdKeyLog) keylog = mtd_keylog_new ();
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  guint n_blocks = mtd_pcapng_secrets_from_bytes (data, size, "fuzz.pcapng", keylog, warnings);
  g_assert (n_blocks <= size / MIN_SECRETS_BLOCK_LEN);
  for (guint i = 0; i < warnings->len; i++) {
    const char *warning = g_ptr_array_index (warnings, i);
    g_assert (g_str_has_prefix (warning, "fuzz.pcapng"));
    g_assert (g_utf8_validate (warning, -1, NULL));
    gsize run = 0;
    for (const char *c = warning; *c != '\0'; c++) {
      run = g_ascii_isxdigit (*c) ? run + 1 : 0;
      g_assert (run <= MAX_HEX_RUN);
    }
  }
  /* The walk stops at the first lie, so few sentences come from the walk itself. */
  g_assert (warnings->len <= MTD_PCAPNG_SECRETS_MAX_WARNINGS + 1);

  g_autoptr (MtdKeyLog) quiet = mtd_keylog_new ();
  g_assert (mtd_pcapng_secrets_from_bytes (data, size, NULL, quiet, NULL) == n_blocks);
  g_assert (mtd_keylog_n_secrets (quiet) == mtd_keylog_n_secrets (keylog));
  g_assert (mtd_keylog_n_client_randoms (quiet) == mtd_keylog_n_client_randoms (keylog));
  return 0;
}
