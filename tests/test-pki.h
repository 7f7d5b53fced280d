/* test-pki.h: the unit tests' access to the throwaway test PKI in captures/pki. */
#pragma once

#include <glib.h>

/* Reads every certificate of a PEM file of captures/pki (found through G_TEST_SRCDIR) as DER
 * (GBytes*, owned by the returned array); when subjects is not NULL, also appends each
 * certificate's subject Name as DER.  Aborts the test when the file is missing or empty. */
GPtrArray *mtd_test_pki_read (const char *file_name, GPtrArray *subjects);

/* Lower-case hex of bytes, a new string; written here, independent of the code under test. */
char *mtd_test_hex (const guint8 *bytes, gsize len);
/* Decodes exactly 2 * len hex digits into out; FALSE on anything else. */
gboolean mtd_test_unhex (const char *text, guint8 *out, gsize len);
