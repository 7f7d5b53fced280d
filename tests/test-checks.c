/* test-checks.c: --app, --expect-thumbprint and --ca applied to connections (TAP).
 *
 * Truth: the throwaway PKI of captures/pki (client.pem issued by the intermediate under
 * root.pem; other-client.pem under "Other Root CA"), checked here with the file names that
 * say what each certificate is, and address arithmetic done by hand (RFC 4632, RFC 4291 §2.3).
 */
#include <string.h>

#include <glib.h>

#include "mtd-checks.h"
#include "test-pki.h"

static char *
pki_path (const char *file_name)
{
  return g_test_build_filename (G_TEST_DIST, "..", "captures", "pki", file_name, NULL);
}

static GPtrArray *
chain_of (const char *file_name)
{
  g_autoptr (GPtrArray) ders = mtd_test_pki_read (file_name, NULL);
  GPtrArray *chain = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_cert_unref);
  for (guint i = 0; i < ders->len; i++) {
    gsize len = 0;
    const guint8 *der = g_bytes_get_data (g_ptr_array_index (ders, i), &len);
    g_autoptr (GError) error = NULL;
    MtdCert *cert = mtd_cert_new_from_der (der, len, &error);
    g_assert_no_error (error);
    g_ptr_array_add (chain, cert);
  }
  return chain;
}

/* A TLS connection client -> server whose client presented chain (moved in, may be NULL). */
static MtdConnection *
connection_new (const char *client_ip, const char *server_ip, GPtrArray *chain, gint64 at_usec)
{
  MtdConnection *connection = mtd_connection_new ();
  g_strlcpy (connection->client.ip, client_ip, sizeof connection->client.ip);
  g_strlcpy (connection->server.ip, server_ip, sizeof connection->server.ip);
  connection->start_usec = at_usec;
  connection->tls = g_new0 (MtdTlsFacts, 1);
  connection->tls->client_chain
      = chain != NULL ? chain : g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_cert_unref);
  return connection;
}

static const gint64 NOW_USEC = G_GINT64_CONSTANT (1798761600) * G_USEC_PER_SEC; /* 2027-01-01 */

static void
test_direction (void)
{
  static const struct {
    const char *app;
    const char *client, *server;
    MtdDirection direction;
  } cases[] = {
    { "10.1.0.4", "10.1.0.4", "20.0.0.1", MTD_DIRECTION_OUTBOUND },
    { "10.1.0.4", "20.0.0.1", "10.1.0.4", MTD_DIRECTION_INBOUND },
    { "10.1.0.4", "20.0.0.1", "20.0.0.2", MTD_DIRECTION_UNKNOWN },
    { "10.1.0.0/24", "10.1.0.200", "20.0.0.1", MTD_DIRECTION_OUTBOUND },
    { "10.1.0.0/24", "10.1.1.1", "20.0.0.1", MTD_DIRECTION_UNKNOWN },
    { "10.1.0.0/23", "10.1.1.1", "20.0.0.1", MTD_DIRECTION_OUTBOUND },
    { "10.1.0.128/25", "10.1.0.127", "20.0.0.1", MTD_DIRECTION_UNKNOWN },
    { "10.1.0.128/25", "10.1.0.128", "20.0.0.1", MTD_DIRECTION_OUTBOUND },
    { "0.0.0.0/0", "20.0.0.1", "1.2.3.4", MTD_DIRECTION_UNKNOWN }, /* both ends: cannot say */
    { "fd00::/64", "fd00::1234", "2001:db8::1", MTD_DIRECTION_OUTBOUND },
    { "fd00::/64", "2001:db8::1", "fd00:0:0:0:ffff::1", MTD_DIRECTION_INBOUND },
    { "fd00::/64", "2001:db8::1", "fd00:0:0:1::1", MTD_DIRECTION_UNKNOWN },
    { "10.1.0.4", "::ffff:10.1.0.5", "2001:db8::1", MTD_DIRECTION_UNKNOWN }, /* other family */
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (MtdChecks) checks = mtd_checks_new ();
    g_autoptr (GError) error = NULL;
    g_assert_true (mtd_checks_add_app (checks, cases[i].app, &error));
    g_assert_no_error (error);
    g_autoptr (MtdConnection) connection
        = connection_new (cases[i].client, cases[i].server, NULL, NOW_USEC);
    mtd_checks_apply (checks, connection);
    g_assert_cmpint (connection->direction, ==, cases[i].direction);
    g_assert_cmpuint (connection->warnings != NULL ? connection->warnings->len : 0, ==,
                      g_str_equal (cases[i].app, "0.0.0.0/0") ? 1 : 0);
  }
  /* Without --app nothing is said. */
  g_autoptr (MtdConnection) connection = connection_new ("10.0.0.1", "10.0.0.2", NULL, NOW_USEC);
  mtd_checks_apply (NULL, connection);
  g_assert_cmpint (connection->direction, ==, MTD_DIRECTION_UNKNOWN);
}

static void
test_bad_values (void)
{
  static const char *const bad_apps[] = { "300.1.1.1", "10.0.0.0/33", "10.0.0.0/", "fd00::/129",
                                          "host.example", "", "10.0.0.0/-1", "10.0.0.0/8x" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad_apps); i++) {
    g_autoptr (MtdChecks) checks = mtd_checks_new ();
    g_autoptr (GError) error = NULL;
    g_assert_false (mtd_checks_add_app (checks, bad_apps[i], &error));
    g_assert_nonnull (error);
    g_assert_nonnull (strstr (error->message, bad_apps[i]));
  }
  static const char *const bad_thumbprints[] = { "xyz", "A6A4173F9FFA741311C87440E231DCF6259F101",
                                                 "A6A4173F9FFA741311C87440E231DCF6259F101BB",
                                                 "G6A4173F9FFA741311C87440E231DCF6259F101B" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad_thumbprints); i++) {
    g_autoptr (MtdChecks) checks = mtd_checks_new ();
    g_autoptr (GError) error = NULL;
    g_assert_false (mtd_checks_add_expected_thumbprint (checks, bad_thumbprints[i], &error));
    g_assert_nonnull (error);
  }
  g_autoptr (MtdChecks) checks = mtd_checks_new ();
  g_autoptr (GError) missing = NULL;
  g_assert_false (mtd_checks_add_ca_file (checks, "/nonexistent/ca.pem", &missing));
  g_assert_nonnull (strstr (missing->message, "/nonexistent/ca.pem"));
  /* A file with no certificate in it (a private key). */
  g_autofree char *key = pki_path ("client-key.TEST-ONLY.pem");
  g_autoptr (GError) no_cert = NULL;
  g_assert_false (mtd_checks_add_ca_file (checks, key, &no_cert));
  g_assert_nonnull (no_cert);
  g_assert_nonnull (strstr (no_cert->message, key));
}

/* The thumbprint as the Azure portal (upper case) or Windows (spaces, lower case) shows it. */
static void
test_thumbprints (void)
{
  g_autoptr (GPtrArray) client = chain_of ("client-chain.pem");
  const MtdCert *leaf = g_ptr_array_index (client, 0);
  g_autofree char *lower = g_ascii_strdown (leaf->sha1_hex, -1);
  g_autoptr (GString) spaced = g_string_new (NULL);
  for (guint i = 0; i < 40; i += 2)
    g_string_append_printf (spaced, "%s%.2s", i > 0 ? " " : "", lower + i);
  const char *forms[] = { leaf->sha1_hex, lower, spaced->str };
  for (gsize i = 0; i < G_N_ELEMENTS (forms); i++) {
    g_autoptr (MtdChecks) checks = mtd_checks_new ();
    g_assert_true (mtd_checks_add_expected_thumbprint (checks, forms[i], NULL));
    g_autoptr (MtdConnection) right
        = connection_new ("10.0.0.1", "10.0.0.2", chain_of ("client-chain.pem"), NOW_USEC);
    mtd_checks_apply (checks, right);
    g_assert_true (right->has_expected_thumbprints);
    g_assert_true (right->is_thumbprint_expected);
    g_autoptr (MtdConnection) other
        = connection_new ("10.0.0.1", "10.0.0.2", chain_of ("other-client.pem"), NOW_USEC);
    mtd_checks_apply (checks, other);
    g_assert_true (other->has_expected_thumbprints);
    g_assert_false (other->is_thumbprint_expected);
    /* No certificate read: nothing to compare. */
    g_autoptr (MtdConnection) none = connection_new ("10.0.0.1", "10.0.0.2", NULL, NOW_USEC);
    mtd_checks_apply (checks, none);
    g_assert_false (none->has_expected_thumbprints);
  }
}

/* RFC 5280 §6: client.pem + intermediate lead to root.pem; other-client.pem does not; without
 * its intermediate the leaf has no path; before the certificates existed nothing validates. */
static void
test_chain_check (void)
{
  g_autoptr (MtdChecks) checks = mtd_checks_new ();
  g_autofree char *root = pki_path ("root.pem");
  g_autoptr (GError) error = NULL;
  g_assert_true (mtd_checks_add_ca_file (checks, root, &error));
  g_assert_no_error (error);

  g_autoptr (MtdConnection) trusted
      = connection_new ("10.0.0.1", "10.0.0.2", chain_of ("client-chain.pem"), NOW_USEC);
  mtd_checks_apply (checks, trusted);
  g_assert_cmpint (trusted->client_chain_check, ==, MTD_CHAIN_TRUSTED);
  g_assert_null (trusted->client_chain_error);

  g_autoptr (MtdConnection) other
      = connection_new ("10.0.0.1", "10.0.0.2", chain_of ("other-client.pem"), NOW_USEC);
  mtd_checks_apply (checks, other);
  g_assert_cmpint (other->client_chain_check, ==, MTD_CHAIN_UNTRUSTED);
  g_assert_nonnull (strstr (other->client_chain_error, "unable to get local issuer certificate"));
  g_assert_nonnull (strstr (other->client_chain_error, "depth 0"));

  g_autoptr (MtdConnection) no_intermediate
      = connection_new ("10.0.0.1", "10.0.0.2", chain_of ("client.pem"), NOW_USEC);
  mtd_checks_apply (checks, no_intermediate);
  g_assert_cmpint (no_intermediate->client_chain_check, ==, MTD_CHAIN_UNTRUSTED);
  g_assert_nonnull (strstr (no_intermediate->client_chain_error, "local issuer"));

  /* 2001: before notBefore of every certificate of the PKI. */
  g_autoptr (MtdConnection) too_early
      = connection_new ("10.0.0.1", "10.0.0.2", chain_of ("client-chain.pem"),
                        G_GINT64_CONSTANT (978307200) * G_USEC_PER_SEC);
  mtd_checks_apply (checks, too_early);
  g_assert_cmpint (too_early->client_chain_check, ==, MTD_CHAIN_UNTRUSTED);
  g_assert_nonnull (strstr (too_early->client_chain_error, "not yet valid"));

  /* The server's certificate is for serverAuth only: not a client certificate. */
  g_autoptr (MtdConnection) server_cert
      = connection_new ("10.0.0.1", "10.0.0.2", chain_of ("server-chain.pem"), NOW_USEC);
  mtd_checks_apply (checks, server_cert);
  g_assert_cmpint (server_cert->client_chain_check, ==, MTD_CHAIN_UNTRUSTED);
  g_assert_nonnull (strstr (server_cert->client_chain_error, "purpose"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/checks/direction", test_direction);
  g_test_add_func ("/checks/bad-values", test_bad_values);
  g_test_add_func ("/checks/thumbprints", test_thumbprints);
  g_test_add_func ("/checks/chain", test_chain_check);
  return g_test_run ();
}
