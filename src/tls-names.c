/* tls-names.c: names from the IANA TLS registries (RFC 5246, RFC 8446 §B.4, §4.2.3, §6). */
#include "mtd-tls.h"

typedef struct {
  guint16 code;
  const char *name;
} CodeName;

/* g_intern_string is not used: past 2,048 strings GLib drops (leaks on purpose) its old quark
 * arrays, which LeakSanitizer reports; this table stays reachable from a static pointer. */
const char *
mtd_tls_keep_name (const char *name)
{
  G_LOCK_DEFINE_STATIC (kept_names);
  static GHashTable *kept_names; /* char* (owned, the key is the value) */
  G_LOCK (kept_names);
  if (kept_names == NULL)
    kept_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const char *kept = g_hash_table_lookup (kept_names, name);
  if (kept == NULL) {
    char *copy = g_strdup (name);
    g_hash_table_add (kept_names, copy);
    kept = copy;
  }
  G_UNLOCK (kept_names);
  return kept;
}

static const char *
lookup (const CodeName *table, gsize n_entries, guint16 code)
{
  for (gsize i = 0; i < n_entries; i++)
    if (table[i].code == code)
      return table[i].name;
  return NULL;
}

static const char *
name_or_hex (const char *name, guint code, char *buf, gsize buf_len)
{
  if (name != NULL)
    return name;
  g_snprintf (buf, buf_len, "unknown (0x%04X)", code);
  return buf;
}

const char *
mtd_tls_version_name (guint16 version, char *buf, gsize buf_len)
{
  static const CodeName versions[] = {
    { 0x0002, "SSL 2.0" }, { 0x0300, "SSL 3.0" }, { 0x0301, "TLS 1.0" },
    { 0x0302, "TLS 1.1" }, { 0x0303, "TLS 1.2" }, { 0x0304, "TLS 1.3" },
  };
  const char *name = lookup (versions, G_N_ELEMENTS (versions), version);
  if (name == NULL && (version & 0xff00) == 0x7f00) {
    /* draft-ietf-tls-tls13-NN versions seen in old captures */
    g_snprintf (buf, buf_len, "TLS 1.3 draft %u", version & 0xff);
    return buf;
  }
  return name_or_hex (name, version, buf, buf_len);
}

static const CodeName cipher_suites[] = {
  { 0x0000, "TLS_NULL_WITH_NULL_NULL" },
  { 0x0004, "TLS_RSA_WITH_RC4_128_MD5" },
  { 0x0005, "TLS_RSA_WITH_RC4_128_SHA" },
  { 0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA" },
  { 0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA" },
  { 0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA" },
  { 0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA" },
  { 0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA" },
  { 0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA" },
  { 0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA" },
  { 0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA" },
  { 0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256" },
  { 0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256" },
  { 0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256" },
  { 0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256" },
  { 0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256" },
  { 0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384" },
  { 0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256" },
  { 0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384" },
  { 0x00FF, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV" },
  { 0x1301, "TLS_AES_128_GCM_SHA256" },
  { 0x1302, "TLS_AES_256_GCM_SHA384" },
  { 0x1303, "TLS_CHACHA20_POLY1305_SHA256" },
  { 0x1304, "TLS_AES_128_CCM_SHA256" },
  { 0x1305, "TLS_AES_128_CCM_8_SHA256" },
  { 0x5600, "TLS_FALLBACK_SCSV" },
  { 0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA" },
  { 0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA" },
  { 0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA" },
  { 0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA" },
  { 0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA" },
  { 0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA" },
  { 0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256" },
  { 0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384" },
  { 0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256" },
  { 0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384" },
  { 0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" },
  { 0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" },
  { 0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" },
  { 0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" },
  { 0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" },
  { 0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" },
  { 0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256" },
};

const char *
mtd_tls_cipher_suite_name (guint16 suite, char *buf, gsize buf_len)
{
  return name_or_hex (lookup (cipher_suites, G_N_ELEMENTS (cipher_suites), suite), suite, buf,
                      buf_len);
}

gboolean
mtd_tls13_suite_lengths (guint16 suite, gsize *hash_len, gsize *tag_len)
{
  /* RFC 8446 §B.4: every TLS 1.3 suite is an AEAD with a 16-byte tag, except CCM_8's 8 bytes;
   * the hash is SHA-256 except for AES_256_GCM_SHA384. */
  switch (suite) {
  case 0x1301:
  case 0x1303:
  case 0x1304:
    *hash_len = 32;
    *tag_len = 16;
    return TRUE;
  case 0x1302:
    *hash_len = 48;
    *tag_len = 16;
    return TRUE;
  case 0x1305:
    *hash_len = 32;
    *tag_len = 8;
    return TRUE;
  default:
    return FALSE;
  }
}

const char *
mtd_tls_alert_name (guint8 description, char *buf, gsize buf_len)
{
  static const CodeName alerts[] = {
    { 0, "close_notify" },
    { 10, "unexpected_message" },
    { 20, "bad_record_mac" },
    { 21, "decryption_failed" },
    { 22, "record_overflow" },
    { 30, "decompression_failure" },
    { 40, "handshake_failure" },
    { 41, "no_certificate" },
    { 42, "bad_certificate" },
    { 43, "unsupported_certificate" },
    { 44, "certificate_revoked" },
    { 45, "certificate_expired" },
    { 46, "certificate_unknown" },
    { 47, "illegal_parameter" },
    { 48, "unknown_ca" },
    { 49, "access_denied" },
    { 50, "decode_error" },
    { 51, "decrypt_error" },
    { 60, "export_restriction" },
    { 70, "protocol_version" },
    { 71, "insufficient_security" },
    { 80, "internal_error" },
    { 86, "inappropriate_fallback" },
    { 90, "user_canceled" },
    { 100, "no_renegotiation" },
    { 109, "missing_extension" },
    { 110, "unsupported_extension" },
    { 111, "certificate_unobtainable" },
    { 112, "unrecognized_name" },
    { 113, "bad_certificate_status_response" },
    { 114, "bad_certificate_hash_value" },
    { 115, "unknown_psk_identity" },
    { 116, "certificate_required" },
    { 120, "no_application_protocol" },
  };
  const char *name = lookup (alerts, G_N_ELEMENTS (alerts), description);
  if (name != NULL)
    return name;
  g_snprintf (buf, buf_len, "unknown (%u)", description);
  return buf;
}

const char *
mtd_tls_signature_scheme_name (guint16 scheme, char *buf, gsize buf_len)
{
  static const CodeName schemes[] = {
    { 0x0201, "rsa_pkcs1_sha1" },
    { 0x0202, "dsa_sha1" },
    { 0x0203, "ecdsa_sha1" },
    { 0x0301, "rsa_pkcs1_sha224" },
    { 0x0303, "ecdsa_sha224" },
    { 0x0401, "rsa_pkcs1_sha256" },
    { 0x0402, "dsa_sha256" },
    { 0x0403, "ecdsa_secp256r1_sha256" },
    { 0x0501, "rsa_pkcs1_sha384" },
    { 0x0503, "ecdsa_secp384r1_sha384" },
    { 0x0601, "rsa_pkcs1_sha512" },
    { 0x0603, "ecdsa_secp521r1_sha512" },
    { 0x0804, "rsa_pss_rsae_sha256" },
    { 0x0805, "rsa_pss_rsae_sha384" },
    { 0x0806, "rsa_pss_rsae_sha512" },
    { 0x0807, "ed25519" },
    { 0x0808, "ed448" },
    { 0x0809, "rsa_pss_pss_sha256" },
    { 0x080A, "rsa_pss_pss_sha384" },
    { 0x080B, "rsa_pss_pss_sha512" },
  };
  return name_or_hex (lookup (schemes, G_N_ELEMENTS (schemes), scheme), scheme, buf, buf_len);
}

const char *
mtd_tls_cert_type_name (guint8 cert_type, char *buf, gsize buf_len)
{
  /* RFC 5246 §7.4.4 and RFC 8422 §5.5 */
  static const CodeName types[] = {
    { 1, "rsa_sign" },          { 2, "dss_sign" },          { 3, "rsa_fixed_dh" },
    { 4, "dss_fixed_dh" },      { 5, "rsa_ephemeral_dh" },  { 6, "dss_ephemeral_dh" },
    { 20, "fortezza_dms" },     { 64, "ecdsa_sign" },       { 65, "rsa_fixed_ecdh" },
    { 66, "ecdsa_fixed_ecdh" },
  };
  const char *name = lookup (types, G_N_ELEMENTS (types), cert_type);
  if (name != NULL)
    return name;
  g_snprintf (buf, buf_len, "unknown (%u)", cert_type);
  return buf;
}

const char *
mtd_requested_name (MtdRequested value)
{
  switch (value) {
  case MTD_REQUESTED_YES:
    return "yes";
  case MTD_REQUESTED_NO:
    return "no";
  case MTD_REQUESTED_UNKNOWN:
  default:
    return "unknown";
  }
}

const char *
mtd_presented_name (MtdPresented value)
{
  switch (value) {
  case MTD_PRESENTED_YES:
    return "yes";
  case MTD_PRESENTED_EMPTY:
    return "empty";
  case MTD_PRESENTED_NO:
    return "no";
  case MTD_PRESENTED_UNKNOWN:
  default:
    return "unknown";
  }
}

const char *
mtd_how_name (MtdHow how)
{
  switch (how) {
  case MTD_HOW_OBSERVED:
    return "observed";
  case MTD_HOW_INFERRED:
    return "inferred";
  case MTD_HOW_DECRYPTED:
    return "decrypted";
  case MTD_HOW_NONE:
  default:
    return NULL;
  }
}
