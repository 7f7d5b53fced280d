/* test-certheader.c: unit tests of certheader-decode.c (client-certificate forwarding headers).
 *
 * The certificates are the test PKI's client leaf and intermediate (captures/pki/client.pem,
 * client-chain.pem), read at test time through OpenSSL's PEM reader.  Every header value below is
 * built here from their DER by means independent of the code under test (GLib's base64 encoder,
 * g_uri_escape_string, PEM lines wrapped by hand), and every expected thumbprint is a GChecksum
 * digest of the DER, never what the decoder reports.  What each front end sends follows
 * /work/shared/DOMAIN.md ("Front ends that forward a client certificate"), Envoy's XFCC syntax
 * (';'-separated key=value pairs, ','-separated elements, '"' quoting with '\"' inside),
 * nginx's ngx_escape_uri component table ('+', '/', '=' become %2B, %2F, %3D), AWS ALB's
 * "URL-encoded PEM with +=/ as safe characters", Traefik's unescaped comma-joined bodies (2.9.4
 * and later) and url.QueryEscape'd ones (before), and RFC 9440 §2.1 / RFC 8941 §3.3.5.
 */
#include "mtd-certheader.h"
#include "test-pki.h"

#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* ---- The test PKI ------------------------------------------------------------------------- */

typedef struct {
  GBytes *der;
  char *sha1_hex;       /* uppercase, GChecksum of the DER */
  char *sha256_hex;     /* uppercase */
  char *sha256_lower;   /* lowercase, as Envoy writes Hash */
} TestCert;

static TestCert leaf;         /* CN=mtlsdiag test client */
static TestCert intermediate; /* CN=mtlsdiag Test Intermediate CA */


static void
test_cert_init (TestCert *cert, GBytes *der)
{
  g_autofree char *sha1 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA1, der);
  cert->der = g_bytes_ref (der);
  cert->sha1_hex = g_ascii_strup (sha1, -1);
  cert->sha256_lower = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, der);
  cert->sha256_hex = g_ascii_strup (cert->sha256_lower, -1);
}

static void
test_cert_clear (TestCert *cert)
{
  g_clear_pointer (&cert->der, g_bytes_unref);
  g_clear_pointer (&cert->sha1_hex, g_free);
  g_clear_pointer (&cert->sha256_hex, g_free);
  g_clear_pointer (&cert->sha256_lower, g_free);
}

static void
load_pki (void)
{
  g_autoptr (GPtrArray) client = mtd_test_pki_read ("client.pem", NULL);
  g_autoptr (GPtrArray) chain = mtd_test_pki_read ("client-chain.pem", NULL);
  g_assert_cmpuint (client->len, ==, 1);
  g_assert_cmpuint (chain->len, ==, 2);
  g_assert_true (g_bytes_equal (g_ptr_array_index (client, 0), g_ptr_array_index (chain, 0)));
  test_cert_init (&leaf, g_ptr_array_index (client, 0));
  test_cert_init (&intermediate, g_ptr_array_index (chain, 1));
}

/* ---- Encoders, independent of the decoder ------------------------------------------------- */

static char *
b64 (const TestCert *cert)
{
  gsize der_len = 0;
  const guint8 *der = g_bytes_get_data (cert->der, &der_len);
  return g_base64_encode (der, der_len);
}

/* base64 with sep inserted every width characters. */
static char *
b64_wrapped (const TestCert *cert, gsize width, const char *sep)
{
  g_autofree char *flat = b64 (cert);
  gsize flat_len = strlen (flat);
  GString *out = g_string_new (NULL);
  for (gsize i = 0; i < flat_len; i += width)
    {
      if (i > 0)
        g_string_append (out, sep);
      g_string_append_len (out, flat + i, (gssize) MIN (width, flat_len - i));
    }
  return g_string_free (out, FALSE);
}

/* PEM (RFC 7468 §2: 64-character lines) with sep for every line break; a final sep if
 * is_terminated, as PEM files and nginx's $ssl_client_escaped_cert have. */
static char *
pem_with (const TestCert *cert, const char *sep, gboolean is_terminated)
{
  g_autofree char *body = b64_wrapped (cert, 64, sep);
  return g_strconcat ("-----BEGIN CERTIFICATE-----", sep, body, sep, "-----END CERTIFICATE-----",
                      is_terminated ? sep : "", NULL);
}

static char *
pem (const TestCert *cert)
{
  return pem_with (cert, "\n", TRUE);
}

/* nginx's $ssl_client_escaped_cert: everything but unreserved characters escaped. */
static char *
url_escape (const char *text)
{
  return g_uri_escape_string (text, NULL, FALSE);
}

/* AWS ALB: URL-encoded with '+', '=' and '/' left as they are. */
static char *
alb_escape (const char *text)
{
  return g_uri_escape_string (text, "+=/", FALSE);
}

/* An application/x-www-form-urlencoded encoder: a space becomes '+'. */
static char *
form_escape (const char *text)
{
  g_autofree char *escaped = url_escape (text);
  g_auto (GStrv) parts = g_strsplit (escaped, "%20", -1);
  return g_strjoinv ("+", parts);
}

static char *
replace_all (const char *text, const char *from, const char *to)
{
  g_auto (GStrv) parts = g_strsplit (text, from, -1);
  return g_strjoinv (to, parts);
}

/* ---- Checks ------------------------------------------------------------------------------- */

static MtdCertCache *cache;

/* Decodes an exact-size heap copy, so AddressSanitizer sees any read past the end. */
static MtdCertHeader *
decode_len (const char *name, const char *value, gsize value_len)
{
  g_autofree guint8 *copy = value_len > 0 ? g_memdup2 (value, value_len) : NULL;
  MtdCertHeader *header = mtd_certheader_decode (name, copy, value_len, cache);
  g_assert_nonnull (header);
  g_assert_cmpstr (header->name, ==, name);
  /* Whatever the input, the result is self-consistent and safe to print. */
  g_assert_nonnull (mtd_cert_encoding_name (header->encoding));
  if (!header->is_valid || header->is_convention_mismatch || header->is_over_cap)
    g_assert_nonnull (header->problem);
  if (header->problem != NULL)
    g_assert_true (g_utf8_validate (header->problem, -1, NULL));
  g_assert_true ((header->xfcc_elements != NULL) == (header->encoding == MTD_CERT_ENCODING_XFCC));
  return header;
}

static MtdCertHeader *
decode (const char *name, const char *value)
{
  return decode_len (name, value, strlen (value));
}

/* The cache hands out one object per certificate, so a forwarded certificate is the very
 * MtdCert the TLS parser holds for the same DER. */
static MtdCert *
cached (const TestCert *cert)
{
  gsize der_len = 0;
  const guint8 *der = g_bytes_get_data (cert->der, &der_len);
  MtdCert *parsed = mtd_cert_cache_get (cache, der, der_len, NULL);
  g_assert_nonnull (parsed);
  return parsed;
}

static void
assert_cert_is (const MtdCert *cert, const TestCert *want)
{
  g_assert_nonnull (cert);
  g_assert_cmpstr (cert->sha1_hex, ==, want->sha1_hex);
  g_autoptr (MtdCert) same = cached (want);
  g_assert_true (cert == same);
}

static void
assert_problem_has (const MtdCertHeader *header, const char *part)
{
  g_assert_nonnull (header->problem);
  if (strstr (header->problem, part) == NULL)
    g_error ("problem \"%s\" does not say \"%s\"", header->problem, part);
}

/* ---- Valid values, one per encoding and known name ---------------------------------------- */

typedef struct {
  char *label;
  const char *name;
  char *value;
  MtdCertEncoding encoding;
  guint n_chain_certs;
  const char *mismatch; /* NULL, or a part of the problem sentence */
} ValidCase;

static void
valid_case_free (ValidCase *vc)
{
  g_free (vc->label);
  g_free (vc->value);
  g_free (vc);
}

static void
add_valid (GPtrArray *cases, const char *label, const char *name, char *value,
           MtdCertEncoding encoding, guint n_chain_certs, const char *mismatch)
{
  ValidCase *vc = g_new0 (ValidCase, 1);
  vc->label = g_strdup (label);
  vc->name = name;
  vc->value = value;
  vc->encoding = encoding;
  vc->n_chain_certs = n_chain_certs;
  vc->mismatch = mismatch;
  g_ptr_array_add (cases, vc);
}

/* Envoy-style element: By, Hash, quoted Cert (URL-encoded PEM), a Subject with a quote and a
 * comma inside (quoted, '\"' escaped), URI, two DNS. */
static char *
xfcc_element (const TestCert *cert, const char *by, const char *hash)
{
  g_autofree char *cert_pem = pem (cert);
  g_autofree char *cert_escaped = url_escape (cert_pem);
  return g_strdup_printf ("By=%s;Hash=%s;Cert=\"%s\";Subject=\"CN=client,O=Contoso\\\", Ltd\";"
                          "URI=spiffe://test/client;DNS=a.example;DNS=b.example",
                          by, hash, cert_escaped);
}

static GPtrArray *
valid_cases (void)
{
  GPtrArray *cases = g_ptr_array_new_with_free_func ((GDestroyNotify) valid_case_free);
  g_autofree char *leaf_b64 = b64 (&leaf);
  g_autofree char *leaf_pem = pem (&leaf);
  g_autofree char *inter_pem = pem (&intermediate);
  g_autofree char *inter_b64 = b64 (&intermediate);
  g_autofree char *chain_pem = g_strconcat (leaf_pem, inter_pem, NULL);
  g_autofree char *leaf_unpadded = replace_all (leaf_b64, "=", "");
  g_autofree char *leaf_url = url_escape (leaf_pem);
  g_autofree char *leaf_pem_crlf = pem_with (&leaf, "\r\n", TRUE);

  add_valid (cases, "App Service base64", "X-ARR-ClientCert", g_strdup (leaf_b64),
             MTD_CERT_ENCODING_BASE64_DER, 0, NULL);
  add_valid (cases, "base64, lowercase name, surrounding spaces", "x-arr-clientcert",
             g_strconcat ("  ", leaf_b64, "\t", NULL), MTD_CERT_ENCODING_BASE64_DER, 0, NULL);
  add_valid (cases, "base64 with spaces", "X-ARR-CLIENTCERT", b64_wrapped (&leaf, 64, " "),
             MTD_CERT_ENCODING_BASE64_DER, 0, NULL);
  add_valid (cases, "base64 with CRLF every 76", "X-SSL-Client-Cert",
             b64_wrapped (&leaf, 76, "\r\n"), MTD_CERT_ENCODING_BASE64_DER, 0, NULL);
  add_valid (cases, "HAProxy base64", "X-SSL-Client-Cert", g_strdup (leaf_b64),
             MTD_CERT_ENCODING_BASE64_DER, 0, NULL);
  add_valid (cases, "App Service with PEM", "X-ARR-ClientCert",
             pem_with (&leaf, " ", FALSE), MTD_CERT_ENCODING_PEM_SPACES, 0,
             "PEM in a header whose convention is bare base64 (App Service)");
  add_valid (cases, "App Service with raw PEM", "X-ARR-ClientCert", g_strdup (leaf_pem),
             MTD_CERT_ENCODING_PEM, 0,
             "PEM in a header whose convention is bare base64 (App Service)");
  add_valid (cases, "App Service with URL-encoded PEM", "X-Arr-ClientCert",
             url_escape (leaf_pem), MTD_CERT_ENCODING_URL_PEM, 0,
             "URL-encoded PEM in a header whose convention is bare base64 (App Service)");
  add_valid (cases, "PEM file", "X-Client-Cert", g_strdup (leaf_pem), MTD_CERT_ENCODING_PEM, 0,
             NULL);
  add_valid (cases, "PEM with CRLF and text around", "X-Client-Cert",
             g_strconcat ("subject=CN = mtlsdiag test client\r\n", leaf_pem_crlf, "trailer", NULL),
             MTD_CERT_ENCODING_PEM, 0, NULL);
  /* nginx's $ssl_client_cert folds lines with a tab; unfolded they become one space each. */
  add_valid (cases, "nginx $ssl_client_cert unfolded", "X-Client-Cert",
             pem_with (&leaf, " ", FALSE), MTD_CERT_ENCODING_PEM_SPACES, 0, NULL);
  add_valid (cases, "PEM with tabs", "X-SSL-Client-Cert", pem_with (&leaf, "\t", FALSE),
             MTD_CERT_ENCODING_PEM_SPACES, 0, NULL);
  add_valid (cases, "PEM with line breaks dropped", "X-SSL-Client-Cert",
             pem_with (&leaf, "", FALSE), MTD_CERT_ENCODING_PEM_SPACES, 0, NULL);
  add_valid (cases, "nginx $ssl_client_escaped_cert", "X-SSL-Client-Cert", url_escape (leaf_pem),
             MTD_CERT_ENCODING_URL_PEM, 0, NULL);
  add_valid (cases, "lowercase percent-escapes", "X-SSL-Client-Cert",
             replace_all (leaf_url, "%0A", "%0a"), MTD_CERT_ENCODING_URL_PEM, 0, NULL);
  add_valid (cases, "form-encoded PEM", "X-Client-Cert", form_escape (leaf_pem),
             MTD_CERT_ENCODING_URL_PEM, 0, NULL);
  add_valid (cases, "ingress-nginx", "ssl-client-cert", url_escape (leaf_pem),
             MTD_CERT_ENCODING_URL_PEM, 0, NULL);
  add_valid (cases, "ingress-nginx, capitalised", "SSL-Client-Cert", url_escape (leaf_pem),
             MTD_CERT_ENCODING_URL_PEM, 0, NULL);
  add_valid (cases, "ALB passthrough chain", "X-Amzn-Mtls-Clientcert", alb_escape (chain_pem),
             MTD_CERT_ENCODING_URL_PEM, 1, NULL);
  add_valid (cases, "ALB verify leaf", "x-amzn-mtls-clientcert-leaf", alb_escape (leaf_pem),
             MTD_CERT_ENCODING_URL_PEM, 0, NULL);
  add_valid (cases, "CloudFront", "CloudFront-Viewer-Cert-Pem", url_escape (leaf_pem),
             MTD_CERT_ENCODING_URL_PEM, 0, NULL);
  add_valid (cases, "ALB with base64", "X-Amzn-Mtls-Clientcert-Leaf", g_strdup (leaf_b64),
             MTD_CERT_ENCODING_BASE64_DER, 0,
             "bare base64 in a header whose convention is URL-encoded PEM (AWS ALB)");
  add_valid (cases, "PEM chain file", "X-Client-Cert", g_strdup (chain_pem),
             MTD_CERT_ENCODING_PEM, 1, NULL);
  add_valid (cases, "Traefik 2.9.4+", "X-Forwarded-Tls-Client-Cert", g_strdup (leaf_b64),
             MTD_CERT_ENCODING_BASE64_DER, 0, NULL);
  add_valid (cases, "Traefik chain", "X-Forwarded-TLS-Client-Cert",
             g_strconcat (leaf_b64, ",", inter_b64, NULL), MTD_CERT_ENCODING_PEM_NO_MARKERS, 1,
             NULL);
  add_valid (cases, "Traefik before 2.9.4 (QueryEscape)", "X-Forwarded-Tls-Client-Cert",
             url_escape (leaf_b64), MTD_CERT_ENCODING_PEM_NO_MARKERS, 0, NULL);
  add_valid (cases, "Traefik with PEM markers", "X-Forwarded-Tls-Client-Cert",
             url_escape (leaf_pem), MTD_CERT_ENCODING_URL_PEM, 0,
             "URL-encoded PEM in a header whose convention is PEM bodies without markers "
             "(Traefik)");
  add_valid (cases, "RFC 9440", "Client-Cert", g_strconcat (":", leaf_b64, ":", NULL),
             MTD_CERT_ENCODING_RFC9440, 0, NULL);
  add_valid (cases, "RFC 9440 without padding", "client-cert",
             g_strconcat (":", leaf_unpadded, ":", NULL), MTD_CERT_ENCODING_RFC9440, 0, NULL);
  add_valid (cases, "RFC 9440 list under another name", "Client-Cert-Chain",
             g_strconcat (":", leaf_b64, ":, :", inter_b64, ":", NULL),
             MTD_CERT_ENCODING_RFC9440, 1, NULL);
  add_valid (cases, "Client-Cert with PEM", "Client-Cert", url_escape (leaf_pem),
             MTD_CERT_ENCODING_URL_PEM, 0,
             "URL-encoded PEM in a header whose convention is an RFC 9440 byte sequence "
             "(RFC 9440)");
  add_valid (cases, "Envoy XFCC", "X-Forwarded-Client-Cert",
             xfcc_element (&leaf, "spiffe://test/front", leaf.sha256_lower),
             MTD_CERT_ENCODING_XFCC, 0, NULL);
  add_valid (cases, "XFCC with base64", "X-Forwarded-Client-Cert", g_strdup (leaf_b64),
             MTD_CERT_ENCODING_BASE64_DER, 0,
             "bare base64 in a header whose convention is an XFCC element list (Envoy)");
  add_valid (cases, "extra name", "X-My-Client-Cert", url_escape (leaf_pem),
             MTD_CERT_ENCODING_URL_PEM, 0, NULL);
  return cases;
}

static void
check_valid (const ValidCase *vc, const MtdCertHeader *header)
{
  if (header->problem != NULL && vc->mismatch == NULL)
    g_test_message ("%s: %s", vc->label, header->problem);
  g_assert_cmpstr (mtd_cert_encoding_name (header->encoding), ==,
                   mtd_cert_encoding_name (vc->encoding));
  if (!header->is_valid)
    g_error ("%s: not valid: %s", vc->label, header->problem);
  assert_cert_is (header->cert, &leaf);
  g_assert_cmpuint (header->n_chain_certs, ==, vc->n_chain_certs);
  g_assert_cmpuint (header->n_dropped, ==, 0);
  g_assert_false (header->is_over_cap);
  g_assert_cmpint (header->is_convention_mismatch, ==, vc->mismatch != NULL);
  if (vc->mismatch != NULL)
    g_assert_cmpstr (header->problem, ==, vc->mismatch);
  else
    g_assert_null (header->problem);
}

static void
test_valid (void)
{
  g_autoptr (GPtrArray) cases = valid_cases ();
  for (guint i = 0; i < cases->len; i++)
    {
      const ValidCase *vc = g_ptr_array_index (cases, i);
      g_test_message ("valid: %s (%s)", vc->label, vc->name);
      g_autoptr (MtdCertHeader) header = decode (vc->name, vc->value);
      check_valid (vc, header);
    }
}

/* Decoding without a cache parses the certificate on its own. */
static void
test_without_cache (void)
{
  g_autofree char *value = b64 (&leaf);
  g_autoptr (MtdCertHeader) header
      = mtd_certheader_decode ("X-ARR-ClientCert", (const guint8 *) value, strlen (value), NULL);
  g_assert_true (header->is_valid);
  g_assert_cmpstr (header->cert->sha1_hex, ==, leaf.sha1_hex);
  g_assert_cmpint (header->cert->ref_count, ==, 1);
}

/* Every prefix of every valid value: never a crash, never a wrong certificate; either invalid
 * with a reason, or valid with the right leaf (a PEM cut after its END line, an XFCC element cut
 * before its Cert). */
static void
test_truncated_prefixes (void)
{
  g_autoptr (GPtrArray) cases = valid_cases ();
  for (guint i = 0; i < cases->len; i++)
    {
      const ValidCase *vc = g_ptr_array_index (cases, i);
      gsize value_len = strlen (vc->value);
      guint n_valid = 0;
      for (gsize len = 0; len < value_len; len++)
        {
          g_autoptr (MtdCertHeader) header = decode_len (vc->name, vc->value, len);
          if (!header->is_valid)
            continue;
          n_valid++;
          if (header->cert != NULL)
            assert_cert_is (header->cert, &leaf);
          else
            g_assert_cmpint (header->encoding, ==, MTD_CERT_ENCODING_XFCC);
        }
      g_test_message ("prefixes of %s: %u of %" G_GSIZE_FORMAT " valid", vc->label, n_valid,
                      value_len);
    }
}

/* ---- Malformed values ----------------------------------------------------------------------- */

typedef struct {
  const char *label;
  const char *name;
  char *value; /* owned */
  gsize value_len;
  MtdCertEncoding encoding;
  const char *problem; /* a part of the problem sentence */
} BadCase;

static void
bad_case_free (BadCase *bc)
{
  g_free (bc->value);
  g_free (bc);
}

static void
add_bad_len (GPtrArray *cases, const char *label, const char *name, char *value, gsize value_len,
             MtdCertEncoding encoding, const char *problem)
{
  BadCase *bc = g_new0 (BadCase, 1);
  bc->label = label;
  bc->name = name;
  bc->value = value;
  bc->value_len = value_len;
  bc->encoding = encoding;
  bc->problem = problem;
  g_ptr_array_add (cases, bc);
}

static void
add_bad (GPtrArray *cases, const char *label, const char *name, char *value,
         MtdCertEncoding encoding, const char *problem)
{
  add_bad_len (cases, label, name, value, strlen (value), encoding, problem);
}

static char *
b64_of (const void *bytes, gsize bytes_len)
{
  return g_base64_encode (bytes, bytes_len);
}

static GPtrArray *
bad_cases (void)
{
  GPtrArray *cases = g_ptr_array_new_with_free_func ((GDestroyNotify) bad_case_free);
  gsize der_len = 0;
  const guint8 *der = g_bytes_get_data (leaf.der, &der_len);
  g_autofree char *leaf_b64 = b64 (&leaf);
  g_autofree char *leaf_pem = pem (&leaf);
  g_autofree char *leaf_url = url_escape (leaf_pem);
  static const guint8 not_a_cert[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
  static const guint8 octet_string[] = { 0x04, 0x02, 0xAB, 0xCD };
  static const guint8 indefinite[] = { 0x30, 0x80, 0x00, 0x00 };
  static const char nul_and_high[] = { 'M', 'I', '\0', '\xff', 'B', 'B' };
  g_autofree guint8 *longer = g_malloc (der_len + 1);
  memcpy (longer, der, der_len);
  longer[der_len] = 0x00;
  g_autofree char *leaf_spaced = b64_wrapped (&leaf, 64, " ");

  /* The base64url case below needs a '/' to turn into '_'. */
  g_assert_nonnull (strchr (leaf_b64, '/'));

  add_bad (cases, "empty", "X-ARR-ClientCert", g_strdup (""), MTD_CERT_ENCODING_UNKNOWN,
           "empty value");
  add_bad (cases, "only whitespace", "X-ARR-ClientCert", g_strdup (" \t "),
           MTD_CERT_ENCODING_UNKNOWN, "empty value");
  add_bad (cases, "text", "X-ARR-ClientCert", g_strdup ("hello world!"),
           MTD_CERT_ENCODING_UNKNOWN, "not base64: it holds byte 0x21");
  add_bad (cases, "JSON", "X-Client-Cert", g_strdup ("{\"cert\": null}"),
           MTD_CERT_ENCODING_UNKNOWN, "not base64: it holds byte 0x7B");
  add_bad_len (cases, "NUL and 0xFF", "X-Client-Cert", g_memdup2 (nul_and_high,
               sizeof nul_and_high), sizeof nul_and_high, MTD_CERT_ENCODING_UNKNOWN,
               "not base64: it holds byte 0x00");
  add_bad (cases, "base64url alphabet", "X-ARR-ClientCert",
           replace_all (leaf_b64, "/", "_"), MTD_CERT_ENCODING_UNKNOWN,
           "not base64: it holds byte 0x5F");
  add_bad (cases, "truncated base64 (4k+1 characters)", "X-ARR-ClientCert",
           g_strndup (leaf_b64, 101), MTD_CERT_ENCODING_BASE64_DER,
           "truncated base64: 101 characters do not make whole bytes");
  add_bad (cases, "base64 cut at a group", "X-ARR-ClientCert", g_strndup (leaf_b64, 100),
           MTD_CERT_ENCODING_BASE64_DER, "truncated DER: the certificate declares");
  add_bad (cases, "data after padding", "X-ARR-ClientCert",
           g_strconcat ("QQ==", leaf_b64, NULL), MTD_CERT_ENCODING_UNKNOWN,
           "not base64: data after '=' padding");
  add_bad (cases, "three padding characters", "X-ARR-ClientCert", g_strdup ("QUJD==="),
           MTD_CERT_ENCODING_BASE64_DER, "padding does not end a group of four");
  add_bad (cases, "base64 of text", "X-ARR-ClientCert", b64_of ("hello world", 11),
           MTD_CERT_ENCODING_BASE64_DER,
           "not DER: a certificate starts with a SEQUENCE (0x30), this with 0x68");
  add_bad (cases, "base64 of an OCTET STRING", "X-ARR-ClientCert",
           b64_of (octet_string, sizeof octet_string), MTD_CERT_ENCODING_BASE64_DER,
           "not DER: a certificate starts with a SEQUENCE (0x30), this with 0x04");
  add_bad (cases, "base64 of a SEQUENCE that is no certificate", "X-ARR-ClientCert",
           b64_of (not_a_cert, sizeof not_a_cert), MTD_CERT_ENCODING_BASE64_DER,
           "not a DER certificate");
  add_bad (cases, "base64 of BER indefinite length", "X-ARR-ClientCert",
           b64_of (indefinite, sizeof indefinite), MTD_CERT_ENCODING_BASE64_DER,
           "not DER: an indefinite length");
  add_bad (cases, "base64 of truncated DER", "X-ARR-ClientCert", b64_of (der, der_len - 1),
           MTD_CERT_ENCODING_BASE64_DER, "truncated DER: the certificate declares");
  add_bad (cases, "base64 of DER and one more byte", "X-ARR-ClientCert",
           b64_of (longer, der_len + 1), MTD_CERT_ENCODING_BASE64_DER,
           "not a DER certificate: 1 bytes follow its end");
  add_bad (cases, "PEM private key", "X-Client-Cert",
           g_strdup ("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n"
                     "-----END PRIVATE KEY-----\n"),
           MTD_CERT_ENCODING_PEM, "a PEM block labelled \"PRIVATE KEY\", not CERTIFICATE");
  add_bad (cases, "PEM certificate then a private key", "X-Client-Cert",
           g_strconcat (leaf_pem, "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n"
                        "-----END PRIVATE KEY-----\n", NULL),
           MTD_CERT_ENCODING_PEM, "labelled \"PRIVATE KEY\"");
  add_bad (cases, "PEM without END", "X-Client-Cert", g_strndup (leaf_pem, strlen (leaf_pem) - 30),
           MTD_CERT_ENCODING_PEM, "PEM block without its END line");
  add_bad (cases, "PEM with a broken body", "X-Client-Cert", replace_all (leaf_pem, "M", "*"),
           MTD_CERT_ENCODING_PEM, "not base64: it holds byte 0x2A");
  add_bad (cases, "PEM chain with a broken second block", "X-Client-Cert",
           g_strconcat (leaf_pem, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
                        NULL),
           MTD_CERT_ENCODING_PEM, "certificate 2 of the chain: truncated DER");
  add_bad (cases, "PEM BEGIN without dashes", "X-Client-Cert",
           g_strdup ("-----BEGIN CERTIFICATE\nMIIB"), MTD_CERT_ENCODING_PEM,
           "PEM BEGIN line without its closing dashes");
  add_bad (cases, "percent sign at the end", "X-SSL-Client-Cert",
           g_strconcat (leaf_url, "%", NULL), MTD_CERT_ENCODING_URL_PEM,
           "invalid percent-escape at offset");
  add_bad (cases, "one hex digit at the end", "X-SSL-Client-Cert",
           g_strconcat (leaf_url, "%0", NULL), MTD_CERT_ENCODING_URL_PEM,
           "invalid percent-escape at offset");
  /* "-----BEGIN" (10) "%20" (3) "CERTIFICATE" (11) "-----" (5): the first %0A is at 29. */
  add_bad (cases, "non-hex escape", "X-SSL-Client-Cert", replace_all (leaf_url, "%0A", "%G0"),
           MTD_CERT_ENCODING_URL_PEM, "invalid percent-escape at offset 29");
  add_bad (cases, "escape of garbage", "X-SSL-Client-Cert", g_strdup ("%zz%"),
           MTD_CERT_ENCODING_UNKNOWN, "invalid percent-escape at offset 0");
  add_bad (cases, "percent-encoded twice", "ssl-client-cert", url_escape (leaf_url),
           MTD_CERT_ENCODING_UNKNOWN, "percent-encoded twice");
  add_bad (cases, "escaped NUL inside PEM", "ssl-client-cert",
           replace_all (leaf_url, "%0A", "%00"), MTD_CERT_ENCODING_URL_PEM,
           "not base64: it holds byte 0x00");
  add_bad (cases, "Traefik list with an empty item", "X-Forwarded-Tls-Client-Cert",
           g_strconcat (leaf_b64, ",", NULL), MTD_CERT_ENCODING_PEM_NO_MARKERS,
           "an empty certificate in a comma-separated list");
  add_bad (cases, "RFC 9440 without closing colon", "Client-Cert",
           g_strconcat (":", leaf_b64, NULL), MTD_CERT_ENCODING_RFC9440,
           "RFC 9440 byte sequence without its closing ':'");
  add_bad (cases, "RFC 9440 with whitespace inside", "Client-Cert",
           g_strconcat (":", leaf_spaced, ":", NULL), MTD_CERT_ENCODING_RFC9440,
           "not base64: it holds byte 0x20");
  add_bad (cases, "RFC 9440 empty", "Client-Cert", g_strdup ("::"), MTD_CERT_ENCODING_RFC9440,
           "no base64 data");
  add_bad (cases, "RFC 9440 list in Client-Cert", "Client-Cert",
           g_strconcat (":", leaf_b64, ":,:", leaf_b64, ":", NULL), MTD_CERT_ENCODING_RFC9440,
           "Client-Cert holds 2 byte sequences; RFC 9440 \xc2\xa7" "2.2 allows one");
  add_bad (cases, "RFC 9440 with a parameter", "Client-Cert",
           g_strconcat (":", leaf_b64, ":;a=1", NULL), MTD_CERT_ENCODING_RFC9440,
           "text after an RFC 9440 byte sequence");
  add_bad (cases, "RFC 9440 trailing comma", "Client-Cert",
           g_strconcat (":", leaf_b64, ":,", NULL), MTD_CERT_ENCODING_RFC9440,
           "does not start with ':'");
  add_bad (cases, "XFCC unterminated quote", "X-Forwarded-Client-Cert",
           g_strdup ("By=spiffe://a;Subject=\"CN=x"), MTD_CERT_ENCODING_XFCC,
           "XFCC element 1: a quoted value without its closing quote");
  add_bad (cases, "XFCC text after a quote", "X-Forwarded-Client-Cert",
           g_strdup ("By=a;Subject=\"CN=x\"y;URI=u"), MTD_CERT_ENCODING_XFCC,
           "XFCC element 1: text after a closing quote");
  add_bad (cases, "XFCC field without =", "X-Forwarded-Client-Cert",
           g_strdup ("By=a;Subject"), MTD_CERT_ENCODING_XFCC,
           "XFCC element 1: field Subject without '='");
  add_bad (cases, "XFCC field without a name", "X-Forwarded-Client-Cert",
           g_strdup ("By=a;=b"), MTD_CERT_ENCODING_XFCC,
           "XFCC element 1: a field without a name");
  add_bad (cases, "XFCC unknown fields only", "X-Forwarded-Client-Cert", g_strdup ("Foo=bar"),
           MTD_CERT_ENCODING_XFCC, "XFCC element 1 has none of the fields By, Hash");
  add_bad (cases, "XFCC empty element", "X-Forwarded-Client-Cert", g_strdup ("By=a,,By=b"),
           MTD_CERT_ENCODING_XFCC, "XFCC element 2 is empty");
  add_bad (cases, "XFCC trailing comma", "X-Forwarded-Client-Cert", g_strdup ("By=a,"),
           MTD_CERT_ENCODING_XFCC, "XFCC element 2 is empty");
  add_bad (cases, "XFCC Cert twice", "X-Forwarded-Client-Cert",
           g_strdup_printf ("Cert=\"%s\";Cert=\"%s\"", leaf_url, leaf_url),
           MTD_CERT_ENCODING_XFCC, "XFCC element 1: Cert appears twice");
  add_bad (cases, "XFCC Hash twice", "X-Forwarded-Client-Cert",
           g_strdup_printf ("Hash=%s;Hash=%s", leaf.sha256_lower, leaf.sha256_lower),
           MTD_CERT_ENCODING_XFCC, "XFCC element 1: Hash appears twice");
  add_bad (cases, "XFCC Cert not a certificate", "X-Forwarded-Client-Cert",
           g_strdup ("By=a;Cert=\"-----BEGIN%20CERTIFICATE-----%0AMIIB%0A-----END%20"
                     "CERTIFICATE-----%0A\""),
           MTD_CERT_ENCODING_XFCC, "XFCC element 1: Cert: truncated DER");
  add_bad (cases, "XFCC Cert with a bad escape", "X-Forwarded-Client-Cert",
           g_strdup ("By=a;Cert=\"%4\""), MTD_CERT_ENCODING_XFCC,
           "XFCC element 1: Cert: invalid percent-escape at offset 0");
  add_bad (cases, "XFCC Hash not hex", "X-Forwarded-Client-Cert",
           g_strdup_printf ("Hash=xyz;Cert=\"%s\"", leaf_url), MTD_CERT_ENCODING_XFCC,
           "XFCC element 1: Hash is not a SHA-256 in hex");
  /* A quote inside a bare value must not hide a forged Cert behind it. */
  add_bad (cases, "XFCC forged Cert behind a quote", "X-Forwarded-Client-Cert",
           g_strdup_printf ("Subject=x\";Cert=\"%s\";URI=\";Cert=\"%s\"", leaf_url, leaf_url),
           MTD_CERT_ENCODING_XFCC, "XFCC element 1: ");
  return cases;
}

static void
test_malformed (void)
{
  g_autoptr (GPtrArray) cases = bad_cases ();
  for (guint i = 0; i < cases->len; i++)
    {
      const BadCase *bc = g_ptr_array_index (cases, i);
      g_test_message ("malformed: %s", bc->label);
      g_autoptr (MtdCertHeader) header = decode_len (bc->name, bc->value, bc->value_len);
      g_assert_false (header->is_valid);
      g_assert_cmpstr (mtd_cert_encoding_name (header->encoding), ==,
                       mtd_cert_encoding_name (bc->encoding));
      assert_problem_has (header, bc->problem);
      /* Every prefix of a malformed value is handled too. */
      for (gsize len = 0; len < bc->value_len; len++)
        {
          g_autoptr (MtdCertHeader) prefix = decode_len (bc->name, bc->value, len);
          if (prefix->is_valid && prefix->cert != NULL)
            assert_cert_is (prefix->cert, &leaf);
        }
    }
}

/* ---- XFCC in detail ------------------------------------------------------------------------- */

static const MtdXfccElement *
element_at (const MtdCertHeader *header, guint i)
{
  g_assert_nonnull (header->xfcc_elements);
  g_assert_cmpuint (i, <, header->xfcc_elements->len);
  return g_ptr_array_index (header->xfcc_elements, i);
}

static void
test_xfcc_fields (void)
{
  g_autofree char *value = xfcc_element (&leaf, "spiffe://test/front", leaf.sha256_lower);
  g_autoptr (MtdCertHeader) header = decode ("x-forwarded-client-cert", value);

  g_assert_true (header->is_valid);
  g_assert_cmpuint (header->xfcc_elements->len, ==, 1);
  const MtdXfccElement *element = element_at (header, 0);
  g_assert_cmpstr (element->by, ==, "spiffe://test/front");
  g_assert_cmpstr (element->hash, ==, leaf.sha256_lower);
  g_assert_cmpstr (element->subject, ==, "CN=client,O=Contoso\", Ltd");
  g_assert_cmpstr (element->uri, ==, "spiffe://test/client");
  g_assert_cmpuint (element->dns->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (element->dns, 0), ==, "a.example");
  g_assert_cmpstr (g_ptr_array_index (element->dns, 1), ==, "b.example");
  g_assert_cmpuint (element->n_dns_dropped, ==, 0);
  assert_cert_is (element->cert, &leaf);
  g_assert_true (element->cert == header->cert);
  g_assert_cmpint (element->cert_encoding, ==, MTD_CERT_ENCODING_URL_PEM);
  g_assert_cmpint (element->hash_check, ==, MTD_XFCC_HASH_MATCHES);
  g_assert_cmpuint (element->n_chain_certs, ==, 0);
}

/* Two hops: the edge proxy's element about the caller first, then the next proxy's element about
 * the edge proxy's own certificate (here the intermediate stands in for it).  Keys in another
 * case, spaces around separators, an uppercase Hash, a bare Cert. */
static void
test_xfcc_two_hops (void)
{
  g_autofree char *first = xfcc_element (&leaf, "spiffe://test/edge", leaf.sha256_lower);
  g_autofree char *inter_pem = pem (&intermediate);
  g_autofree char *inter_url = url_escape (inter_pem);
  g_autofree char *value = g_strdup_printf ("%s , by=spiffe://test/inner ; HASH=%s ; cert=%s",
                                            first, intermediate.sha256_hex, inter_url);
  g_autoptr (MtdCertHeader) header = decode ("X-Forwarded-Client-Cert", value);

  g_assert_true (header->is_valid);
  g_assert_null (header->problem);
  g_assert_cmpuint (header->xfcc_elements->len, ==, 2);
  assert_cert_is (header->cert, &leaf);
  g_assert_cmpuint (header->n_chain_certs, ==, 0);
  const MtdXfccElement *second = element_at (header, 1);
  g_assert_cmpstr (second->by, ==, "spiffe://test/inner");
  assert_cert_is (second->cert, &intermediate);
  g_assert_cmpint (second->hash_check, ==, MTD_XFCC_HASH_MATCHES);
  g_assert_null (second->subject);
  g_assert_cmpuint (second->dns->len, ==, 0);
}

static void
test_xfcc_hash_differs (void)
{
  g_autofree char *value = xfcc_element (&leaf, "spiffe://test/front", intermediate.sha256_lower);
  g_autoptr (MtdCertHeader) header = decode ("X-Forwarded-Client-Cert", value);

  g_assert_false (header->is_valid);
  g_assert_cmpstr (header->problem, ==,
                   "XFCC element 1: Hash does not match the SHA-256 of its certificate");
  assert_cert_is (header->cert, &leaf);
  g_assert_cmpint (element_at (header, 0)->hash_check, ==, MTD_XFCC_HASH_DIFFERS);
}

/* Envoy's default: By and Hash only.  Well formed, no certificate; the Hash is what a reader
 * compares with the presented certificate. */
static void
test_xfcc_hash_only (void)
{
  g_autofree char *value = g_strdup_printf ("By=spiffe://test/front;Hash=%s", leaf.sha256_lower);
  g_autoptr (MtdCertHeader) header = decode ("X-Forwarded-Client-Cert", value);

  g_assert_true (header->is_valid);
  g_assert_null (header->cert);
  g_assert_null (header->problem);
  const MtdXfccElement *element = element_at (header, 0);
  g_assert_cmpstr (element->hash, ==, leaf.sha256_lower);
  g_assert_cmpint (element->hash_check, ==, MTD_XFCC_HASH_NOT_CHECKED);
  g_assert_cmpint (element->cert_encoding, ==, MTD_CERT_ENCODING_UNKNOWN);
}

/* Chain (Envoy: "including the leaf") without Cert gives the leaf and the count. */
static void
test_xfcc_chain (void)
{
  g_autofree char *leaf_pem = pem (&leaf);
  g_autofree char *inter_pem = pem (&intermediate);
  g_autofree char *chain = g_strconcat (leaf_pem, inter_pem, NULL);
  g_autofree char *chain_url = url_escape (chain);
  g_autofree char *value = g_strdup_printf ("By=b;Hash=%s;Chain=\"%s\"", leaf.sha256_lower,
                                            chain_url);
  g_autoptr (MtdCertHeader) header = decode ("X-Forwarded-Client-Cert", value);

  g_assert_true (header->is_valid);
  assert_cert_is (header->cert, &leaf);
  g_assert_cmpuint (header->n_chain_certs, ==, 1);
  const MtdXfccElement *element = element_at (header, 0);
  g_assert_cmpuint (element->n_chain_certs, ==, 2);
  g_assert_cmpint (element->hash_check, ==, MTD_XFCC_HASH_MATCHES);
}

/* Attacker-chosen bytes in fields come out as valid UTF-8. */
static void
test_xfcc_bad_bytes (void)
{
  static const char value[] = "By=a;Subject=\"CN=\xff\x00x\";DNS=d\x80";
  g_autoptr (MtdCertHeader) header = decode_len ("X-Forwarded-Client-Cert", value,
                                                 sizeof value - 1);
  g_assert_true (header->is_valid);
  const MtdXfccElement *element = element_at (header, 0);
  g_assert_cmpstr (element->subject, ==, "CN=\xef\xbf\xbd\xef\xbf\xbdx");
  g_assert_cmpstr (g_ptr_array_index (element->dns, 0), ==, "d\xef\xbf\xbd");
}

/* ---- Caps --------------------------------------------------------------------------------- */

static void
test_value_cap (void)
{
  g_autofree char *leaf_b64 = b64 (&leaf);

  /* At the cap exactly, padded with the whitespace a field value may not keep: still decoded. */
  g_autofree char *at_cap = g_malloc (MTD_CERTHEADER_MAX_VALUE_LEN);
  memset (at_cap, ' ', MTD_CERTHEADER_MAX_VALUE_LEN);
  memcpy (at_cap, leaf_b64, strlen (leaf_b64));
  g_autoptr (MtdCertHeader) fits = decode_len ("X-ARR-ClientCert", at_cap,
                                               MTD_CERTHEADER_MAX_VALUE_LEN);
  g_assert_true (fits->is_valid);
  g_assert_false (fits->is_over_cap);
  assert_cert_is (fits->cert, &leaf);

  g_autofree char *over = g_malloc (MTD_CERTHEADER_MAX_VALUE_LEN + 1);
  memset (over, 'A', MTD_CERTHEADER_MAX_VALUE_LEN + 1);
  g_autoptr (MtdCertHeader) huge = decode_len ("X-ARR-ClientCert", over,
                                               MTD_CERTHEADER_MAX_VALUE_LEN + 1);
  g_assert_false (huge->is_valid);
  g_assert_true (huge->is_over_cap);
  g_assert_null (huge->cert);
  g_assert_cmpint (huge->encoding, ==, MTD_CERT_ENCODING_UNKNOWN);
  g_assert_cmpstr (huge->problem, ==, "a value of 65537 bytes, over the 65536-byte cap: not decoded");
}

static void
test_cert_cap (void)
{
  g_autofree char *leaf_pem = pem (&leaf);
  GString *many = g_string_new (NULL);
  for (int i = 0; i < MTD_CERTHEADER_MAX_CERTS + 4; i++)
    g_string_append (many, leaf_pem);
  g_autofree char *value = g_string_free (many, FALSE);
  g_autoptr (MtdCertHeader) header = decode ("X-Client-Cert", value);

  g_assert_true (header->is_valid);
  assert_cert_is (header->cert, &leaf);
  g_assert_cmpuint (header->n_chain_certs, ==, MTD_CERTHEADER_MAX_CERTS - 1);
  g_assert_cmpuint (header->n_dropped, ==, 4);
  g_assert_cmpstr (header->problem, ==, "4 certificates beyond the cap of 16, not examined");

  g_autofree char *leaf_b64 = b64 (&leaf);
  GString *list = g_string_new (leaf_b64);
  for (int i = 1; i < MTD_CERTHEADER_MAX_CERTS + 2; i++)
    g_string_append_printf (list, ",%s", leaf_b64);
  g_autofree char *list_value = g_string_free (list, FALSE);
  g_autoptr (MtdCertHeader) traefik = decode ("X-Forwarded-Tls-Client-Cert", list_value);
  g_assert_true (traefik->is_valid);
  g_assert_cmpuint (traefik->n_chain_certs, ==, MTD_CERTHEADER_MAX_CERTS - 1);
  g_assert_cmpuint (traefik->n_dropped, ==, 2);
}

static void
test_xfcc_caps (void)
{
  GString *many = g_string_new ("By=hop1");
  for (int i = 2; i <= MTD_CERTHEADER_MAX_XFCC_ELEMENTS + 4; i++)
    g_string_append_printf (many, ",By=hop%d;Subject=\"a,b\"", i);
  g_autofree char *value = g_string_free (many, FALSE);
  g_autoptr (MtdCertHeader) header = decode ("X-Forwarded-Client-Cert", value);

  g_assert_true (header->is_valid);
  g_assert_cmpuint (header->xfcc_elements->len, ==, MTD_CERTHEADER_MAX_XFCC_ELEMENTS);
  g_assert_cmpuint (header->n_dropped, ==, 4);
  g_assert_cmpstr (header->problem, ==, "4 XFCC elements beyond the cap of 16, not examined");
  g_assert_cmpstr (element_at (header, 15)->by, ==, "hop16");

  GString *dns = g_string_new ("By=a");
  for (int i = 0; i < MTD_CERTHEADER_MAX_XFCC_DNS + 3; i++)
    g_string_append_printf (dns, ";DNS=d%d", i);
  g_autofree char *dns_value = g_string_free (dns, FALSE);
  g_autoptr (MtdCertHeader) dns_header = decode ("X-Forwarded-Client-Cert", dns_value);
  const MtdXfccElement *element = element_at (dns_header, 0);
  g_assert_cmpuint (element->dns->len, ==, MTD_CERTHEADER_MAX_XFCC_DNS);
  g_assert_cmpuint (element->n_dns_dropped, ==, 3);
}

/* ---- Names ------------------------------------------------------------------------------------ */

static void
test_names (void)
{
  static const char *const extra[] = { "X-My-Client-Cert", "X-Other", NULL };
  static const struct {
    const char *name;
    gboolean is_known;
    gboolean is_extra;
    const char *front_end;
  } cases[] = {
    { "X-ARR-ClientCert", TRUE, FALSE, "App Service" },
    { "x-arr-clientcert", TRUE, FALSE, "App Service" },
    { "X-ARR-CLIENTCERT", TRUE, FALSE, "App Service" },
    { "X-Client-Cert", TRUE, FALSE, NULL },
    { "x-client-cert", TRUE, FALSE, NULL },
    { "X-SSL-Client-Cert", TRUE, FALSE, NULL },
    { "x-ssl-client-cert", TRUE, FALSE, NULL },
    { "X-Forwarded-Client-Cert", TRUE, FALSE, "Envoy" },
    { "x-forwarded-client-cert", TRUE, FALSE, "Envoy" },
    { "ssl-client-cert", TRUE, FALSE, "ingress-nginx" },
    { "SSL-CLIENT-CERT", TRUE, FALSE, "ingress-nginx" },
    { "X-Forwarded-Tls-Client-Cert", TRUE, FALSE, "Traefik" },
    { "X-Forwarded-TLS-Client-Cert", TRUE, FALSE, "Traefik" },
    { "X-Amzn-Mtls-Clientcert", TRUE, FALSE, "AWS ALB" },
    { "x-amzn-mtls-clientcert", TRUE, FALSE, "AWS ALB" },
    { "X-Amzn-Mtls-Clientcert-Leaf", TRUE, FALSE, "AWS ALB" },
    { "CloudFront-Viewer-Cert-Pem", TRUE, FALSE, "CloudFront" },
    { "cloudfront-viewer-cert-pem", TRUE, FALSE, "CloudFront" },
    { "Client-Cert", TRUE, FALSE, "RFC 9440" },
    { "client-cert", TRUE, FALSE, "RFC 9440" },
    { "X-My-Client-Cert", FALSE, TRUE, NULL },
    { "x-my-client-cert", FALSE, TRUE, NULL },
    { "X-OTHER", FALSE, TRUE, NULL },
    /* Near misses. */
    { "X-ARR-ClientCert-Info", FALSE, FALSE, NULL },
    { "X-Forwarded-Tls-Client-Cert-Info", FALSE, FALSE, NULL },
    { "Client-Cert-Chain", FALSE, FALSE, NULL },
    { "X-Amzn-Mtls-Clientcert-Subject", FALSE, FALSE, NULL },
    { "ARR-ClientCert", FALSE, FALSE, NULL },
    { "", FALSE, FALSE, NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("name: %s", cases[i].name);
      g_assert_cmpint (mtd_certheader_is_cert_header (cases[i].name, NULL), ==,
                       cases[i].is_known);
      g_assert_cmpint (mtd_certheader_is_cert_header (cases[i].name, extra), ==,
                       cases[i].is_known || cases[i].is_extra);
      g_assert_cmpstr (mtd_certheader_front_end (cases[i].name), ==, cases[i].front_end);
    }

  const char *const *known = mtd_certheader_known_names ();
  g_assert_cmpuint (g_strv_length ((char **) known), ==, 10);
  for (gsize i = 0; known[i] != NULL; i++)
    g_assert_true (mtd_certheader_is_cert_header (known[i], NULL));
  g_assert_true (mtd_certheader_known_names () == known);
}

static void
test_encoding_names (void)
{
  static const struct {
    MtdCertEncoding encoding;
    const char *name;
  } cases[] = {
    { MTD_CERT_ENCODING_UNKNOWN, "unknown" },
    { MTD_CERT_ENCODING_BASE64_DER, "base64_der" },
    { MTD_CERT_ENCODING_PEM, "pem" },
    { MTD_CERT_ENCODING_PEM_SPACES, "pem_spaces" },
    { MTD_CERT_ENCODING_URL_PEM, "url_pem" },
    { MTD_CERT_ENCODING_PEM_NO_MARKERS, "pem_no_markers" },
    { MTD_CERT_ENCODING_XFCC, "xfcc" },
    { MTD_CERT_ENCODING_RFC9440, "rfc9440" },
    { (MtdCertEncoding) 99, "unknown" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    g_assert_cmpstr (mtd_cert_encoding_name (cases[i].encoding), ==, cases[i].name);
}

static void
test_free_null (void)
{
  mtd_certheader_free (NULL);
  mtd_xfcc_element_free (NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  load_pki ();
  cache = mtd_cert_cache_new (64);

  g_test_add_func ("/certheader/valid", test_valid);
  g_test_add_func ("/certheader/without-cache", test_without_cache);
  g_test_add_func ("/certheader/truncated-prefixes", test_truncated_prefixes);
  g_test_add_func ("/certheader/malformed", test_malformed);
  g_test_add_func ("/certheader/xfcc/fields", test_xfcc_fields);
  g_test_add_func ("/certheader/xfcc/two-hops", test_xfcc_two_hops);
  g_test_add_func ("/certheader/xfcc/hash-differs", test_xfcc_hash_differs);
  g_test_add_func ("/certheader/xfcc/hash-only", test_xfcc_hash_only);
  g_test_add_func ("/certheader/xfcc/chain", test_xfcc_chain);
  g_test_add_func ("/certheader/xfcc/bad-bytes", test_xfcc_bad_bytes);
  g_test_add_func ("/certheader/caps/value", test_value_cap);
  g_test_add_func ("/certheader/caps/certificates", test_cert_cap);
  g_test_add_func ("/certheader/caps/xfcc", test_xfcc_caps);
  g_test_add_func ("/certheader/names", test_names);
  g_test_add_func ("/certheader/encoding-names", test_encoding_names);
  g_test_add_func ("/certheader/free-null", test_free_null);

  int status = g_test_run ();
  mtd_cert_cache_free (cache);
  test_cert_clear (&leaf);
  test_cert_clear (&intermediate);
  return status;
}
