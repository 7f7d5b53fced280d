/* conn-checks.c: the user's own side (--app, --expect-thumbprint, --ca) applied to connections.
 * Addresses and networks as RFC 4632 (IPv4 CIDR) and RFC 4291 §2.3 (IPv6 prefixes) write them.
 */
#include "mtd-checks.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "mtd-x509.h"

typedef struct {
  int family;       /* AF_INET or AF_INET6 */
  guint8 bytes[16]; /* network byte order; 4 used for IPv4 */
  guint prefix_len; /* bits that must match */
} AppNetwork;

struct _MtdChecks {
  GArray *app_networks;    /* AppNetwork */
  GHashTable *thumbprints; /* upper-case hex (owned) -> itself */
  MtdTrustStore *trust;    /* owned, NULL without --ca */
};

MtdChecks *
mtd_checks_new (void)
{
  MtdChecks *checks = g_new0 (MtdChecks, 1);
  checks->app_networks = g_array_new (FALSE, TRUE, sizeof (AppNetwork));
  checks->thumbprints = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return checks;
}

void
mtd_checks_free (MtdChecks *checks)
{
  if (checks == NULL)
    return;
  g_array_unref (checks->app_networks);
  g_hash_table_unref (checks->thumbprints);
  mtd_trust_store_free (checks->trust);
  g_free (checks);
}

/* An address as the report prints it, or as the user typed it. */
static gboolean
parse_address (const char *text, int *family, guint8 *bytes)
{
  *family = strchr (text, ':') != NULL ? AF_INET6 : AF_INET;
  return inet_pton (*family, text, bytes) == 1;
}

gboolean
mtd_checks_add_app (MtdChecks *checks, const char *address, GError **error)
{
  AppNetwork network = { 0 };
  const char *slash = strchr (address, '/');
  g_autofree char *host = slash != NULL ? g_strndup (address, (gsize) (slash - address))
                                        : g_strdup (address);
  if (!parse_address (host, &network.family, network.bytes)) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "--app \"%s\": not an IPv4 or IPv6 address or network (10.0.0.4, 10.1.0.0/24, "
                 "fd00::/64)",
                 address);
    return FALSE;
  }
  guint max_len = network.family == AF_INET ? 32 : 128;
  network.prefix_len = max_len;
  if (slash != NULL) {
    guint64 prefix_len = 0;
    if (!g_ascii_string_to_unsigned (slash + 1, 10, 0, max_len, &prefix_len, NULL)) {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--app \"%s\": the prefix length must be 0 to %u", address, max_len);
      return FALSE;
    }
    network.prefix_len = (guint) prefix_len;
  }
  g_array_append_val (checks->app_networks, network);
  return TRUE;
}

gboolean
mtd_checks_add_expected_thumbprint (MtdChecks *checks, const char *thumbprint, GError **error)
{
  g_autoptr (GString) hex = g_string_new (NULL);
  for (const char *p = thumbprint; *p != '\0'; p++) {
    if (*p == ':' || *p == ' ')
      continue;
    if (!g_ascii_isxdigit (*p)) {
      hex->len = 0;
      break;
    }
    g_string_append_c (hex, g_ascii_toupper (*p));
  }
  if (hex->len != 40) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "--expect-thumbprint \"%s\": expected a SHA-1 thumbprint of 40 hex digits",
                 thumbprint);
    return FALSE;
  }
  g_hash_table_add (checks->thumbprints, g_string_free (g_steal_pointer (&hex), FALSE));
  return TRUE;
}

gboolean
mtd_checks_add_ca_file (MtdChecks *checks, const char *path, GError **error)
{
  if (checks->trust == NULL)
    checks->trust = mtd_trust_store_new ();
  return mtd_trust_store_add_pem_file (checks->trust, path, error);
}

gboolean
mtd_checks_has_app (const MtdChecks *checks)
{
  return checks->app_networks->len > 0;
}

static gboolean
is_app_address (const MtdChecks *checks, const char *ip)
{
  int family = 0;
  guint8 bytes[16] = { 0 };
  if (!parse_address (ip, &family, bytes))
    return FALSE;
  for (guint i = 0; i < checks->app_networks->len; i++) {
    const AppNetwork *network = &g_array_index (checks->app_networks, AppNetwork, i);
    if (network->family != family)
      continue;
    guint n_whole = network->prefix_len / 8, n_bits = network->prefix_len % 8;
    if (memcmp (bytes, network->bytes, n_whole) != 0)
      continue;
    guint8 mask = (guint8) (0xFF << (8 - n_bits));
    if (n_bits == 0 || (bytes[n_whole] & mask) == (network->bytes[n_whole] & mask))
      return TRUE;
  }
  return FALSE;
}

void
mtd_checks_apply (const MtdChecks *checks, MtdConnection *connection)
{
  if (checks == NULL)
    return;
  gboolean is_server_app = is_app_address (checks, connection->server.ip);
  gboolean is_client_app = is_app_address (checks, connection->client.ip);
  if (is_server_app && is_client_app)
    mtd_connection_warn (connection, "both ends are --app addresses, so whether the connection "
                                     "is inbound or outbound cannot be said");
  else if (is_server_app)
    connection->direction = MTD_DIRECTION_INBOUND;
  else if (is_client_app)
    connection->direction = MTD_DIRECTION_OUTBOUND;

  const MtdTlsFacts *tls = connection->tls;
  if (tls == NULL || tls->client_chain == NULL || tls->client_chain->len == 0)
    return;
  const MtdCert *leaf = g_ptr_array_index (tls->client_chain, 0);
  if (g_hash_table_size (checks->thumbprints) > 0) {
    connection->has_expected_thumbprints = TRUE;
    connection->is_thumbprint_expected = g_hash_table_contains (checks->thumbprints,
                                                                leaf->sha1_hex);
  }
  if (checks->trust != NULL) {
    /* The verdict the application's own validation would reach when the connection was made. */
    g_clear_pointer (&connection->client_chain_error, g_free);
    connection->client_chain_check
        = mtd_trust_store_verify (checks->trust, tls->client_chain,
                                  connection->start_usec / G_USEC_PER_SEC,
                                  &connection->client_chain_error)
              ? MTD_CHAIN_TRUSTED
              : MTD_CHAIN_UNTRUSTED;
  }
}
