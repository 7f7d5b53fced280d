/* fuzz-x509.c: libFuzzer harness for certificate and distinguished-name parsing (mtd-x509.h).
 *
 * The whole input is tried as one DER certificate (mtd_cert_new_from_der, then through a
 * MtdCertCache for the hit path) and as one DER Name (mtd_dn_from_der, as CertificateRequest's
 * certificate_authorities are read).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "mtd-x509.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
touch_cert (const MtdCert *cert)
{
  gsize total = strlen (cert->subject) + strlen (cert->issuer) + strlen (cert->serial_hex);
  for (guint i = 0; cert->sans != NULL && i < cert->sans->len; i++)
    total += strlen (g_ptr_array_index (cert->sans, i));
  g_assert (strlen (cert->sha1_hex) == 40 && strlen (cert->sha256_hex) == 64);
  g_assert (g_utf8_validate (cert->subject, -1, NULL) && g_utf8_validate (cert->issuer, -1, NULL));
  mtd_cert_validity_name (mtd_cert_validity_at (cert, 1795000000));
  g_autofree char *not_before = mtd_format_utc (cert->not_before);
  g_autofree char *not_after = mtd_format_utc (cert->not_after);
  total += strlen (not_before) + strlen (not_after);
  (void) total;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MtdCert) cert = mtd_cert_new_from_der (data, size, &error);
  g_assert ((cert == NULL) == (error != NULL));
  if (cert != NULL) {
    touch_cert (cert);
    g_autoptr (MtdCertCache) cache = mtd_cert_cache_new (1);
    g_autoptr (MtdCert) first = mtd_cert_cache_get (cache, data, size, NULL);
    g_autoptr (MtdCert) second = mtd_cert_cache_get (cache, data, size, NULL);
    g_assert (first != NULL && first == second);
  }
  g_autofree char *dn = mtd_dn_from_der (data, size);
  if (dn != NULL)
    g_assert (g_utf8_validate (dn, -1, NULL));
  return 0;
}
