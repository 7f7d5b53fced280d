/* test-pki.c: reads the test PKI for the unit tests (see test-pki.h). */
#include <string.h>

#include "test-pki.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

GPtrArray *
mtd_test_pki_read (const char *file_name, GPtrArray *subjects)
{
  g_autofree char *path
      = g_test_build_filename (G_TEST_DIST, "..", "captures", "pki", file_name, NULL);
  BIO *bio = BIO_new_file (path, "r");
  if (bio == NULL)
    g_error ("cannot open the test PKI file %s", path);
  GPtrArray *ders = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  X509 *x509 = NULL;
  while ((x509 = PEM_read_bio_X509 (bio, NULL, NULL, NULL)) != NULL) {
    unsigned char *der = NULL;
    int der_len = i2d_X509 (x509, &der);
    g_assert_cmpint (der_len, >, 0);
    g_ptr_array_add (ders, g_bytes_new (der, (gsize) der_len));
    OPENSSL_free (der);
    if (subjects != NULL) {
      der = NULL;
      der_len = i2d_X509_NAME (X509_get_subject_name (x509), &der);
      g_assert_cmpint (der_len, >, 0);
      g_ptr_array_add (subjects, g_bytes_new (der, (gsize) der_len));
      OPENSSL_free (der);
    }
    X509_free (x509);
  }
  ERR_clear_error ();
  BIO_free (bio);
  if (ders->len == 0)
    g_error ("no certificate in %s", path);
  return ders;
}

char *
mtd_test_hex (const guint8 *bytes, gsize len)
{
  GString *out = g_string_sized_new (2 * len);
  for (gsize i = 0; i < len; i++)
    g_string_append_printf (out, "%02x", bytes[i]);
  return g_string_free (out, FALSE);
}

gboolean
mtd_test_unhex (const char *text, guint8 *out, gsize len)
{
  if (strlen (text) != 2 * len)
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    int high = g_ascii_xdigit_value (text[2 * i]);
    int low = g_ascii_xdigit_value (text[2 * i + 1]);
    if (high < 0 || low < 0)
      return FALSE;
    out[i] = (guint8) (high << 4 | low);
  }
  return TRUE;
}
