/* x509-cert.c: DER certificates to MtdCert facts through OpenSSL libcrypto, and their cache.
 *
 * Follows RFC 5280 (certificate fields, §4.1.2.5 validity, §4.2.1.6 subjectAltName), RFC 4514 /
 * RFC 2253 (distinguished names as strings) and RFC 5952 (IPv6 text form, via inet_ntop).
 * No ASN.1 is decoded here: every byte of the certificate is read by libcrypto.
 */
#include "mtd-x509.h"

#include <arpa/inet.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

G_DEFINE_QUARK (mtd-x509-error-quark, mtd_x509_error)

G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_NAME, X509_NAME_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BIO, BIO_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BIGNUM, BN_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GENERAL_NAMES, GENERAL_NAMES_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_STORE_CTX, X509_STORE_CTX_free)

enum {
  SHA1_LEN = 20,
  SHA256_LEN = 32,
};

/* RFC 2253 as OpenSSL prints it, but with non-ASCII characters kept as UTF-8 instead of \XX
 * escapes: reports are UTF-8 and a support engineer must read "Müller", not "M\C3\BCller". */
#define NAME_PRINT_FLAGS (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB)

/* The reason of the oldest error on OpenSSL's queue (the innermost cause), then an empty queue,
 * so that one bad certificate leaves nothing behind for the next caller. */
static const char *
openssl_take_reason (void)
{
  unsigned long code = ERR_get_error ();
  const char *reason = code != 0 ? ERR_reason_error_string (code) : NULL;
  ERR_clear_error ();
  return reason != NULL ? reason : "unknown reason";
}

static void
hex_upper (const guint8 *bytes, gsize bytes_len, char *out)
{
  static const char digits[] = "0123456789ABCDEF";
  for (gsize i = 0; i < bytes_len; i++)
    {
      out[2 * i] = digits[bytes[i] >> 4];
      out[2 * i + 1] = digits[bytes[i] & 0x0f];
    }
  out[2 * bytes_len] = '\0';
}

static gboolean
digest_bytes (const EVP_MD *md, const guint8 *der, gsize der_len, guint8 *out)
{
  unsigned int out_len = 0;
  return EVP_Digest (der, der_len, out, &out_len, md, NULL) == 1
         && out_len == (unsigned int) EVP_MD_get_size (md);
}

/* Strings inside certificates are attacker-chosen bytes; keep control characters (the report
 * layer escapes them) but never hand on invalid UTF-8: each bad byte, NUL included, becomes
 * U+FFFD so that "a.example\0.evil" stays visibly different from "a.example". */
static char *
utf8_from_asn1_string (const ASN1_STRING *string)
{
  const char *data = (const char *) ASN1_STRING_get0_data (string);
  int data_len = ASN1_STRING_length (string);
  if (data == NULL || data_len <= 0)
    return g_strdup ("");
  return g_utf8_make_valid (data, data_len);
}

/* RFC 2253 text of a Name; NULL only when OpenSSL cannot print it (out of memory: since 3.0,
 * d2i already rejects BMP and Universal strings that do not convert to UTF-8). */
static char *
name_to_string (const X509_NAME *name)
{
  g_autoptr (BIO) mem = BIO_new (BIO_s_mem ());
  char *text = NULL;
  long text_len = 0;

  if (mem == NULL || X509_NAME_print_ex (mem, name, 0, NAME_PRINT_FLAGS) < 0)
    {
      ERR_clear_error ();
      return NULL;
    }
  text_len = BIO_get_mem_data (mem, &text);
  if (text == NULL || text_len <= 0)
    return g_strdup (""); /* an empty Name, as a CA list may hold */
  /* OpenSSL converts every string type to UTF-8 (T61String as Latin-1); checking again keeps the
   * promise that reports only ever get valid UTF-8. */
  return g_utf8_make_valid (text, text_len);
}

static char *
object_to_dotted (const ASN1_OBJECT *object)
{
  int text_len = OBJ_obj2txt (NULL, 0, object, 1);
  if (text_len <= 0)
    return g_strdup ("?");
  char *text = g_malloc ((gsize) text_len + 1);
  OBJ_obj2txt (text, text_len + 1, object, 1);
  return text;
}

static char *
ip_to_string (const ASN1_OCTET_STRING *address)
{
  const guint8 *bytes = ASN1_STRING_get0_data (address);
  int bytes_len = ASN1_STRING_length (address);
  char text[INET6_ADDRSTRLEN] = "";

  if (bytes_len == 4 && inet_ntop (AF_INET, bytes, text, sizeof text) != NULL)
    return g_strconcat ("IP:", text, NULL);
  if (bytes_len == 16 && inet_ntop (AF_INET6, bytes, text, sizeof text) != NULL)
    return g_strconcat ("IP:", text, NULL);

  /* RFC 5280 §4.2.1.6 allows only 4 or 16 octets here; show any other length as hex. */
  g_autofree char *hex = g_malloc (2 * (gsize) MAX (bytes_len, 0) + 1);
  hex_upper (bytes, (gsize) MAX (bytes_len, 0), hex);
  return g_strconcat ("IP:", hex, NULL);
}

static char *
general_name_to_string (const GENERAL_NAME *general_name)
{
  int type = 0;
  void *value = GENERAL_NAME_get0_value (general_name, &type);

  switch (type)
    {
    case GEN_DNS:
      {
        g_autofree char *text = utf8_from_asn1_string (value);
        return g_strconcat ("DNS:", text, NULL);
      }
    case GEN_EMAIL:
      {
        g_autofree char *text = utf8_from_asn1_string (value);
        return g_strconcat ("email:", text, NULL);
      }
    case GEN_URI:
      {
        g_autofree char *text = utf8_from_asn1_string (value);
        return g_strconcat ("URI:", text, NULL);
      }
    case GEN_IPADD:
      return ip_to_string (value);
    case GEN_DIRNAME:
      {
        g_autofree char *text = name_to_string (value);
        return g_strconcat ("DirName:", text != NULL ? text : "?", NULL);
      }
    case GEN_RID:
      {
        g_autofree char *text = object_to_dotted (value);
        return g_strconcat ("RID:", text, NULL);
      }
    case GEN_OTHERNAME:
      {
        /* Client certificates issued for Entra ID / AD users carry the user principal name here
         * (Microsoft's otherName 1.3.6.1.4.1.311.20.2.3, a UTF8String). */
        const OTHERNAME *other = value;
        if (OBJ_obj2nid (other->type_id) == NID_ms_upn && other->value != NULL
            && other->value->type == V_ASN1_UTF8STRING)
          {
            g_autofree char *text = utf8_from_asn1_string (other->value->value.utf8string);
            return g_strconcat ("othername:UPN:", text, NULL);
          }
        g_autofree char *oid = object_to_dotted (other->type_id);
        return g_strconcat ("othername:", oid, NULL);
      }
    case GEN_X400:
      return g_strdup ("X400Name");
    case GEN_EDIPARTY:
      return g_strdup ("EdiPartyName");
    default:
      return g_strdup ("unknown");
    }
}

static gboolean
read_sans (X509 *x509, GPtrArray *sans, GError **error)
{
  int critical = 0;
  g_autoptr (GENERAL_NAMES) names = X509_get_ext_d2i (x509, NID_subject_alt_name, &critical, NULL);

  if (names == NULL)
    {
      if (critical == -1)
        {
          ERR_clear_error ();
          return TRUE;
        }
      /* RFC 5280 §4.2: "A certificate MUST NOT include more than one instance of a particular
       * extension." */
      if (critical == -2)
        {
          ERR_clear_error ();
          g_set_error_literal (error, MTD_X509_ERROR, MTD_X509_ERROR_BAD_FIELD,
                               "certificate has more than one subjectAltName extension");
          return FALSE;
        }
      g_set_error (error, MTD_X509_ERROR, MTD_X509_ERROR_BAD_FIELD,
                   "certificate has a malformed subjectAltName extension: %s",
                   openssl_take_reason ());
      return FALSE;
    }

  for (int i = 0; i < sk_GENERAL_NAME_num (names); i++)
    g_ptr_array_add (sans, general_name_to_string (sk_GENERAL_NAME_value (names, i)));
  return TRUE;
}

static gboolean
read_time (const ASN1_TIME *asn1_time, const char *field, gint64 *out, GError **error)
{
  struct tm tm = { 0 };

  if (asn1_time == NULL || ASN1_TIME_to_tm (asn1_time, &tm) != 1)
    {
      ERR_clear_error ();
      g_set_error (error, MTD_X509_ERROR, MTD_X509_ERROR_BAD_FIELD,
                   "certificate has an unreadable %s time", field);
      return FALSE;
    }
  *out = (gint64) timegm (&tm);
  return TRUE;
}

static char *
serial_to_hex (X509 *x509)
{
  g_autoptr (BIGNUM) serial = ASN1_INTEGER_to_BN (X509_get0_serialNumber (x509), NULL);
  if (serial == NULL)
    {
      ERR_clear_error ();
      return g_strdup ("");
    }
  char *openssl_hex = BN_bn2hex (serial);
  if (openssl_hex == NULL)
    {
      ERR_clear_error ();
      return g_strdup ("");
    }
  /* BN_bn2hex writes whole bytes in uppercase, as `openssl x509 -serial` and Azure show them. */
  char *hex = g_strdup (openssl_hex);
  OPENSSL_free (openssl_hex);
  return hex;
}

static void
cert_free (MtdCert *cert)
{
  g_free (cert->subject);
  g_free (cert->issuer);
  g_free (cert->serial_hex);
  g_clear_pointer (&cert->sans, g_ptr_array_unref);
  g_free (cert->der);
  g_free (cert);
}

MtdCert *
mtd_cert_new_from_der (const guint8 *der, gsize der_len, GError **error)
{
  const unsigned char *end = der;
  guint8 sha1[SHA1_LEN];
  guint8 sha256[SHA256_LEN];

  g_return_val_if_fail (der != NULL || der_len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (der_len > LONG_MAX)
    {
      g_set_error (error, MTD_X509_ERROR, MTD_X509_ERROR_NOT_DER,
                   "not a DER certificate: %" G_GSIZE_FORMAT " bytes is too large", der_len);
      return NULL;
    }

  ERR_clear_error ();
  g_autoptr (X509) x509 = d2i_X509 (NULL, &end, (long) der_len);
  if (x509 == NULL)
    {
      g_set_error (error, MTD_X509_ERROR, MTD_X509_ERROR_NOT_DER, "not a DER certificate: %s",
                   openssl_take_reason ());
      return NULL;
    }
  /* A certificate is one DER value (RFC 5280 §4.1); bytes after it mean the framing around it
   * (a TLS Certificate entry, a header) lied about its length. */
  gsize consumed = (gsize) (end - der);
  if (consumed != der_len)
    {
      g_set_error (error, MTD_X509_ERROR, MTD_X509_ERROR_NOT_DER,
                   "not a DER certificate: %" G_GSIZE_FORMAT " bytes follow its end",
                   der_len - consumed);
      return NULL;
    }

  g_autoptr (MtdCert) cert = g_new0 (MtdCert, 1);
  cert->ref_count = 1;
  cert->der_len = der_len;
  cert->der = g_memdup2 (der, der_len);
  cert->sans = g_ptr_array_new_with_free_func (g_free);

  if (!read_time (X509_get0_notBefore (x509), "notBefore", &cert->not_before, error)
      || !read_time (X509_get0_notAfter (x509), "notAfter", &cert->not_after, error)
      || !read_sans (x509, cert->sans, error))
    return NULL;

  cert->subject = name_to_string (X509_get_subject_name (x509));
  cert->issuer = name_to_string (X509_get_issuer_name (x509));
  if (cert->subject == NULL || cert->issuer == NULL)
    {
      g_set_error_literal (error, MTD_X509_ERROR, MTD_X509_ERROR_BAD_FIELD,
                           "certificate has a subject or issuer that cannot be printed");
      return NULL;
    }
  cert->serial_hex = serial_to_hex (x509);

  /* Thumbprints are hashes of the bytes as sent (what Windows and the Azure portal compute), not
   * of OpenSSL's re-encoding, which X509_digest would hash and which differs for BER input. */
  if (!digest_bytes (EVP_sha1 (), der, der_len, sha1))
    {
      g_set_error (error, MTD_X509_ERROR, MTD_X509_ERROR_BAD_FIELD,
                   "could not compute the SHA-1 thumbprint: %s", openssl_take_reason ());
      return NULL;
    }
  hex_upper (sha1, SHA1_LEN, cert->sha1_hex);
  if (!digest_bytes (EVP_sha256 (), der, der_len, sha256))
    {
      g_set_error (error, MTD_X509_ERROR, MTD_X509_ERROR_BAD_FIELD,
                   "could not compute the SHA-256 of the certificate: %s", openssl_take_reason ());
      return NULL;
    }
  hex_upper (sha256, SHA256_LEN, cert->sha256_hex);

  return g_steal_pointer (&cert);
}

MtdCert *
mtd_cert_ref (MtdCert *cert)
{
  g_return_val_if_fail (cert != NULL, NULL);
  g_atomic_int_inc (&cert->ref_count);
  return cert;
}

void
mtd_cert_unref (MtdCert *cert)
{
  if (cert != NULL && g_atomic_int_dec_and_test (&cert->ref_count))
    cert_free (cert);
}

/* RFC 5280 §4.1.2.5: the validity period is "the period of time from notBefore through notAfter,
 * inclusive". */
MtdCertValidity
mtd_cert_validity_at (const MtdCert *cert, gint64 unix_seconds)
{
  g_return_val_if_fail (cert != NULL, MTD_CERT_EXPIRED);

  if (unix_seconds < cert->not_before)
    return MTD_CERT_NOT_YET_VALID;
  if (unix_seconds > cert->not_after)
    return MTD_CERT_EXPIRED;
  return MTD_CERT_VALID;
}

const char *
mtd_cert_validity_name (MtdCertValidity validity)
{
  switch (validity)
    {
    case MTD_CERT_VALID:
      return "valid";
    case MTD_CERT_EXPIRED:
      return "expired";
    case MTD_CERT_NOT_YET_VALID:
      return "not_yet_valid";
    default:
      return "unknown";
    }
}

char *
mtd_format_utc (gint64 unix_seconds)
{
  time_t when = (time_t) unix_seconds;
  struct tm tm = { 0 };

  if ((gint64) when != unix_seconds || gmtime_r (&when, &tm) == NULL)
    return g_strdup_printf ("@%" G_GINT64_FORMAT, unix_seconds);
  return g_strdup_printf ("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                          tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Not a cryptographic hash, only a spread for the tables: equal keys are confirmed byte for byte.
 * Eight bytes at a time, each word mixed in with a multiply and a rotate, so the signature at the
 * end of a certificate's DER (different for every certificate) changes the result. */
static guint64
hash_bytes (const guint8 *bytes, gsize bytes_len)
{
  const guint64 multiplier = G_GUINT64_CONSTANT (0x9E3779B97F4A7C15);
  guint64 hash = bytes_len * multiplier;
  gsize offset = 0;
  for (; offset + sizeof (guint64) <= bytes_len; offset += sizeof (guint64))
    {
      guint64 word;
      memcpy (&word, bytes + offset, sizeof word);
      hash = ((hash ^ word) * multiplier);
      hash = (hash << 29) | (hash >> 35);
    }
  for (; offset < bytes_len; offset++)
    hash = (hash ^ bytes[offset]) * multiplier;
  return hash ^ (hash >> 32);
}

/* The names mtd_dn_from_der printed last, by a hash of their DER; see there. */
#define DN_CACHE_SLOTS 64
#define DN_CACHE_MAX_DER 512

typedef struct {
  gsize der_len; /* 0: the slot is empty */
  guint8 der[DN_CACHE_MAX_DER];
  char *text; /* owned */
} DnCacheSlot;

static __thread DnCacheSlot dn_cache[DN_CACHE_SLOTS];

char *
mtd_dn_from_der (const guint8 *der, gsize der_len)
{
  g_return_val_if_fail (der != NULL || der_len == 0, NULL);

  if (der_len > LONG_MAX)
    return NULL;

  /* A server names the same acceptable CAs in every CertificateRequest, and parsing and printing
   * a Name through OpenSSL cost more than the rest of the handshake's parsing: the last names seen
   * are kept, one per slot of a small table chosen by a hash of the DER.  Per thread, so callers
   * need no lock; bounded by DN_CACHE_SLOTS names of at most DN_CACHE_MAX_DER bytes each. */
  DnCacheSlot *slot = NULL;
  if (der_len > 0 && der_len <= DN_CACHE_MAX_DER)
    {
      slot = &dn_cache[hash_bytes (der, der_len) % DN_CACHE_SLOTS];
      if (slot->der_len == der_len && memcmp (slot->der, der, der_len) == 0)
        return g_strdup (slot->text);
    }

  const unsigned char *end = der;
  ERR_clear_error ();
  g_autoptr (X509_NAME) name = d2i_X509_NAME (NULL, &end, (long) der_len);
  if (name == NULL || (gsize) (end - der) != der_len)
    {
      ERR_clear_error ();
      return NULL;
    }
  char *text = name_to_string (name);
  if (slot != NULL && text != NULL)
    {
      g_free (slot->text);
      slot->text = g_strdup (text);
      memcpy (slot->der, der, der_len);
      slot->der_len = der_len;
    }
  return text;
}

struct _MtdCertCache {
  /* MtdCert* -> the same MtdCert*: keyed by its DER bytes, one reference owned.  A hit costs a
   * cheap hash and one memcmp of the DER, never a SHA-256: only a miss computes the digests. */
  GHashTable *by_der;
  guint max_entries;
  guint64 n_hits;
  guint64 n_misses;
};

static guint
cache_key_hash (gconstpointer key)
{
  const MtdCert *cert = key;
  return (guint) hash_bytes (cert->der, cert->der_len);
}

static gboolean
cache_key_equal (gconstpointer a, gconstpointer b)
{
  const MtdCert *cert_a = a;
  const MtdCert *cert_b = b;
  return cert_a->der_len == cert_b->der_len
         && (cert_a->der_len == 0 || memcmp (cert_a->der, cert_b->der, cert_a->der_len) == 0);
}

MtdCertCache *
mtd_cert_cache_new (guint max_entries)
{
  g_return_val_if_fail (max_entries > 0, NULL);

  MtdCertCache *cache = g_new0 (MtdCertCache, 1);
  cache->by_der = g_hash_table_new_full (cache_key_hash, cache_key_equal, NULL,
                                         (GDestroyNotify) mtd_cert_unref);
  cache->max_entries = max_entries;
  return cache;
}

void
mtd_cert_cache_free (MtdCertCache *cache)
{
  if (cache == NULL)
    return;
  g_hash_table_unref (cache->by_der);
  g_free (cache);
}

MtdCert *
mtd_cert_cache_get (MtdCertCache *cache, const guint8 *der, gsize der_len, GError **error)
{
  g_return_val_if_fail (cache != NULL, NULL);
  g_return_val_if_fail (der != NULL || der_len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Only der and der_len of the probe are read; the DER stays borrowed. */
  MtdCert probe = { .der = (guint8 *) der, .der_len = der_len };
  MtdCert *cached = g_hash_table_lookup (cache->by_der, &probe);
  if (cached != NULL)
    {
      cache->n_hits++;
      return mtd_cert_ref (cached);
    }

  cache->n_misses++;
  MtdCert *cert = mtd_cert_new_from_der (der, der_len, error);
  if (cert == NULL)
    return NULL;

  /* Emptying the whole table is cheaper and simpler than LRU bookkeeping, and certificates still
   * in use elsewhere live on through the references their users hold. */
  if (g_hash_table_size (cache->by_der) >= cache->max_entries)
    g_hash_table_remove_all (cache->by_der);
  g_hash_table_insert (cache->by_der, cert, mtd_cert_ref (cert));
  return cert;
}

guint64
mtd_cert_cache_hits (const MtdCertCache *cache)
{
  g_return_val_if_fail (cache != NULL, 0);
  return cache->n_hits;
}

guint64
mtd_cert_cache_misses (const MtdCertCache *cache)
{
  g_return_val_if_fail (cache != NULL, 0);
  return cache->n_misses;
}

/* ---- Trust store ----------------------------------------------------------------------------- */

struct _MtdTrustStore {
  X509_STORE *store;
  guint n_anchors;
};

MtdTrustStore *
mtd_trust_store_new (void)
{
  MtdTrustStore *store = g_new0 (MtdTrustStore, 1);
  store->store = X509_STORE_new ();
  g_assert (store->store != NULL);
  return store;
}

void
mtd_trust_store_free (MtdTrustStore *store)
{
  if (store == NULL)
    return;
  X509_STORE_free (store->store);
  g_free (store);
}

gboolean
mtd_trust_store_add_pem_file (MtdTrustStore *store, const char *path, GError **error)
{
  /* Read by GLib first, for a reason in plain words ("No such file or directory"). */
  g_autofree char *contents = NULL;
  gsize contents_len = 0;
  g_autoptr (GError) read_error = NULL;
  if (!g_file_get_contents (path, &contents, &contents_len, &read_error)) {
    /* GLib's message names the file and the reason. */
    g_propagate_error (error, g_steal_pointer (&read_error));
    return FALSE;
  }
  if (contents_len > G_MAXINT) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: too large for a PEM bundle", path);
    return FALSE;
  }
  g_autoptr (BIO) bio = BIO_new_mem_buf (contents, (int) contents_len);
  if (bio == NULL) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOMEM, "%s: %s", path, openssl_take_reason ());
    return FALSE;
  }
  guint n_added = 0;
  for (;;) {
    g_autoptr (X509) x509 = PEM_read_bio_X509 (bio, NULL, NULL, NULL);
    if (x509 == NULL)
      break;
    if (X509_STORE_add_cert (store->store, x509) != 1) {
      /* The same certificate twice in a bundle is harmless. */
      ERR_clear_error ();
      continue;
    }
    n_added++;
  }
  /* The loop ends at the end of the file (PEM_R_NO_START_LINE) or at a block it cannot read. */
  unsigned long last = ERR_peek_last_error ();
  gboolean is_clean_end = last == 0
                          || (ERR_GET_LIB (last) == ERR_LIB_PEM
                              && ERR_GET_REASON (last) == PEM_R_NO_START_LINE);
  if (!is_clean_end) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: a PEM block cannot be read: %s",
                 path, openssl_take_reason ());
    return FALSE;
  }
  ERR_clear_error ();
  if (n_added == 0) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                 "%s: no PEM certificate (-----BEGIN CERTIFICATE-----) in it", path);
    return FALSE;
  }
  store->n_anchors += n_added;
  return TRUE;
}

static X509 *
x509_of (const MtdCert *cert)
{
  const unsigned char *der = cert->der;
  if (der == NULL || cert->der_len > LONG_MAX)
    return NULL;
  return d2i_X509 (NULL, &der, (long) cert->der_len);
}

gboolean
mtd_trust_store_verify (const MtdTrustStore *store, const GPtrArray *chain, gint64 unix_seconds,
                        char **reason)
{
  g_return_val_if_fail (store != NULL && chain != NULL && chain->len > 0 && reason != NULL, FALSE);
  *reason = NULL;
  g_autoptr (X509) leaf = x509_of (g_ptr_array_index (chain, 0));
  STACK_OF (X509) *untrusted = sk_X509_new_null ();
  g_autoptr (X509_STORE_CTX) context = X509_STORE_CTX_new ();
  gboolean is_trusted = FALSE;
  if (leaf == NULL || untrusted == NULL || context == NULL) {
    *reason = g_strdup_printf ("the chain could not be prepared: %s", openssl_take_reason ());
    goto out;
  }
  for (guint i = 1; i < chain->len; i++) {
    X509 *intermediate = x509_of (g_ptr_array_index (chain, i));
    if (intermediate != NULL && !sk_X509_push (untrusted, intermediate))
      X509_free (intermediate);
  }
  if (X509_STORE_CTX_init (context, store->store, leaf, untrusted) != 1) {
    *reason = g_strdup_printf ("the verifier could not start: %s", openssl_take_reason ());
    goto out;
  }
  X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param (context);
  X509_VERIFY_PARAM_set_time (param, (time_t) unix_seconds);
  X509_VERIFY_PARAM_set_purpose (param, X509_PURPOSE_SSL_CLIENT);
  if (X509_verify_cert (context) == 1) {
    is_trusted = TRUE;
  } else {
    int code = X509_STORE_CTX_get_error (context);
    int depth = X509_STORE_CTX_get_error_depth (context);
    X509 *current = X509_STORE_CTX_get_current_cert (context);
    g_autofree char *subject = current != NULL
                                   ? name_to_string (X509_get_subject_name (current))
                                   : NULL;
    *reason = g_strdup_printf ("%s (depth %d%s%s)", X509_verify_cert_error_string (code), depth,
                               subject != NULL ? ": " : "", subject != NULL ? subject : "");
  }
  ERR_clear_error ();
out:
  sk_X509_pop_free (untrusted, X509_free);
  return is_trusted;
}
