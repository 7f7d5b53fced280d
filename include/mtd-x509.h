/* mtd-x509.h: X.509 certificates as typed facts, parsed once through OpenSSL.
 *
 * Owns MtdCert (an immutable, reference-counted summary of one DER certificate: RFC 5280 fields
 * a support engineer checks) and MtdCertCache (parsed certificates keyed by the SHA-256 of their
 * DER, so the same server certificate seen in thousands of connections is parsed once).
 * No ASN.1 is decoded by hand: everything goes through libcrypto.
 */
#pragma once

#include <glib.h>

typedef struct {
  gint ref_count;
  char *subject;      /* RFC 2253 string, UTF-8 */
  char *issuer;       /* RFC 2253 string, UTF-8 */
  char *serial_hex;   /* uppercase hex, no separators */
  GPtrArray *sans;    /* char*, "DNS:host", "IP:1.2.3.4", "email:x@y", "URI:..." */
  gint64 not_before;  /* seconds since the epoch, UTC */
  gint64 not_after;
  char sha1_hex[41];  /* uppercase hex, as the Azure portal shows a thumbprint */
  char sha256_hex[65];/* uppercase hex */
  gsize der_len;
  guint8 *der;        /* owned copy of the DER, for chain verification */
} MtdCert;

/* GError domain of mtd_cert_new_from_der and mtd_cert_cache_get. */
#define MTD_X509_ERROR (mtd_x509_error_quark ())
GQuark mtd_x509_error_quark (void);

typedef enum {
  MTD_X509_ERROR_NOT_DER,   /* the bytes are not exactly one DER certificate */
  MTD_X509_ERROR_BAD_FIELD, /* a certificate whose validity or subjectAltName cannot be read */
} MtdX509Error;

/* Parses DER bytes (borrowed).  Returns NULL and sets error when they are not a certificate. */
MtdCert *mtd_cert_new_from_der (const guint8 *der, gsize der_len, GError **error);
MtdCert *mtd_cert_ref (MtdCert *cert);
void mtd_cert_unref (MtdCert *cert); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdCert, mtd_cert_unref)

typedef enum {
  MTD_CERT_VALID,
  MTD_CERT_EXPIRED,
  MTD_CERT_NOT_YET_VALID,
} MtdCertValidity;

/* Validity of the certificate at a moment (seconds since the epoch, UTC). */
MtdCertValidity mtd_cert_validity_at (const MtdCert *cert, gint64 unix_seconds);
const char *mtd_cert_validity_name (MtdCertValidity validity); /* "valid", "expired", ... */

/* Formats seconds since the epoch as ISO 8601 UTC ("2026-11-28T12:00:00Z") into a new string. */
char *mtd_format_utc (gint64 unix_seconds);

/* A distinguished name (DER of an X.501 Name, as in CertificateRequest's certificate_authorities,
 * RFC 5246 §7.4.4) as an RFC 2253 string; NULL when the bytes are not a Name. */
char *mtd_dn_from_der (const guint8 *der, gsize der_len);

/* Bounded cache of parsed certificates, keyed by SHA-256 of the DER. */
typedef struct _MtdCertCache MtdCertCache;

MtdCertCache *mtd_cert_cache_new (guint max_entries);
void mtd_cert_cache_free (MtdCertCache *cache); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdCertCache, mtd_cert_cache_free)

/* Returns a new reference to the parsed certificate, parsing it on a miss; NULL (error set) when
 * the DER is not a certificate.  When the cache is full it is emptied and starts again, which
 * keeps memory bounded; entries still referenced elsewhere stay alive through their refcount. */
MtdCert *mtd_cert_cache_get (MtdCertCache *cache, const guint8 *der, gsize der_len,
                             GError **error);
guint64 mtd_cert_cache_hits (const MtdCertCache *cache);
guint64 mtd_cert_cache_misses (const MtdCertCache *cache);

/* Trust anchors from PEM bundles (--ca), and OpenSSL's verifier run on a client's chain as the
 * application would run it: purpose TLS client (RFC 5280 §4.2.1.12, id-kp-clientAuth), at a
 * given moment (the capture's time, not now). */
typedef struct _MtdTrustStore MtdTrustStore;

MtdTrustStore *mtd_trust_store_new (void);
void mtd_trust_store_free (MtdTrustStore *store); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdTrustStore, mtd_trust_store_free)

/* Adds every certificate of a PEM file as a trust anchor.  FALSE with error naming the file when
 * it cannot be read or holds no certificate. */
gboolean mtd_trust_store_add_pem_file (MtdTrustStore *store, const char *path, GError **error);

/* Verifies chain (MtdCert*, leaf first, the rest as untrusted intermediates) at unix_seconds.
 * TRUE when it leads to a trust anchor; FALSE with *reason (owned by the caller) saying what
 * OpenSSL's verifier reported, at which depth and for which subject. */
gboolean mtd_trust_store_verify (const MtdTrustStore *store, const GPtrArray *chain,
                                 gint64 unix_seconds, char **reason);
