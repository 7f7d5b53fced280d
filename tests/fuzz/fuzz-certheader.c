/* fuzz-certheader.c: libFuzzer harness for the client-certificate forwarding header decoder
 * (mtd-certheader.h).
 *
 * Input: one byte that picks the header name (one of mtd_certheader_known_names, or a name
 * given at run time, whose value has no convention), then the header value, any bytes.  The
 * value is decoded twice, through a MtdCertCache and without one, and the results must agree.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "mtd-certheader.h"
#include "mtd-x509.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
touch_header (const MtdCertHeader *header)
{
  gsize total = strlen (header->name) + strlen (mtd_cert_encoding_name (header->encoding));
  if (header->problem != NULL)
    g_assert (g_utf8_validate (header->problem, -1, NULL));
  if (header->cert != NULL)
    total += strlen (header->cert->subject) + strlen (header->cert->sha256_hex);
  for (guint i = 0; header->xfcc_elements != NULL && i < header->xfcc_elements->len; i++) {
    const MtdXfccElement *element = g_ptr_array_index (header->xfcc_elements, i);
    const char *strings[] = { element->by, element->hash, element->subject, element->uri };
    for (gsize j = 0; j < G_N_ELEMENTS (strings); j++)
      if (strings[j] != NULL)
        g_assert (g_utf8_validate (strings[j], -1, NULL));
    g_assert (element->dns != NULL && element->dns->len <= MTD_CERTHEADER_MAX_XFCC_DNS);
    for (guint j = 0; j < element->dns->len; j++)
      g_assert (g_utf8_validate (g_ptr_array_index (element->dns, j), -1, NULL));
    mtd_cert_encoding_name (element->cert_encoding);
  }
  g_assert (header->xfcc_elements == NULL
            || header->xfcc_elements->len <= MTD_CERTHEADER_MAX_XFCC_ELEMENTS);
  (void) total;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *const extra_names[] = { "X-My-Client-Cert", NULL };
  const char *const *known = mtd_certheader_known_names ();
  guint n_known = g_strv_length ((char **) known);
  guint choice = size > 0 ? data[0] : 0;
  const char *name = choice % (n_known + 1) < n_known ? known[choice % (n_known + 1)]
                                                      : extra_names[0];
  const guint8 *value = size > 0 ? data + 1 : data;
  gsize value_len = size > 0 ? size - 1 : 0;

  g_assert (mtd_certheader_is_cert_header (name, extra_names));
  mtd_certheader_front_end (name);
  g_autoptr (MtdCertCache) cache = mtd_cert_cache_new (2);
  g_autoptr (MtdCertHeader) cached = mtd_certheader_decode (name, value, value_len, cache);
  g_autoptr (MtdCertHeader) uncached = mtd_certheader_decode (name, value, value_len, NULL);
  g_assert (cached != NULL && uncached != NULL);
  touch_header (cached);
  g_assert (cached->encoding == uncached->encoding && cached->is_valid == uncached->is_valid);
  g_assert ((cached->cert == NULL) == (uncached->cert == NULL));
  if (cached->cert != NULL)
    g_assert (strcmp (cached->cert->sha256_hex, uncached->cert->sha256_hex) == 0);
  return 0;
}
