/* mtd-certheader.h: client-certificate forwarding headers decoded into certificates.
 *
 * A front end that terminates mutual TLS hands the client's certificate to the next hop in an
 * HTTP header.  This module knows which header names do that (App Service's X-ARR-ClientCert,
 * Envoy's X-Forwarded-Client-Cert, nginx, ingress-nginx, Traefik, AWS ALB and CloudFront, and
 * RFC 9440's Client-Cert, plus names given at run time), detects which encoding a value uses,
 * decodes it, and parses the certificate through the same MtdCertCache as the TLS chains, so a
 * forwarded certificate and a presented one are the same MtdCert when their DER is the same.
 *
 * Specs followed: RFC 4648 (base64), RFC 7468 (PEM), RFC 3986 §2.1 (percent-encoding),
 * RFC 8941 §3.3.5 and §4.2.7 (structured-field byte sequences), RFC 9440 §2 (Client-Cert),
 * RFC 9110 §5.5 (field values), Envoy's x-forwarded-client-cert format.
 *
 * Malformed values are results, never errors: every decode returns an MtdCertHeader that says
 * whether the value parsed and, when not, why, in one plain sentence.
 */
#pragma once

#include <glib.h>

#include "mtd-x509.h"

/* Values longer than this are not decoded (the HTTP layer keeps at most as much). */
#define MTD_CERTHEADER_MAX_VALUE_LEN (64 * 1024)
/* Certificates examined in one value (PEM blocks, comma-separated bodies, byte sequences). */
#define MTD_CERTHEADER_MAX_CERTS 16
/* XFCC elements (one per proxy hop) kept from one value. */
#define MTD_CERTHEADER_MAX_XFCC_ELEMENTS 16
/* DNS fields kept from one XFCC element. */
#define MTD_CERTHEADER_MAX_XFCC_DNS 16

/* How a header value carries its certificate.  The names of mtd_cert_encoding_name are part of
 * the JSON contract. */
typedef enum {
  MTD_CERT_ENCODING_UNKNOWN,        /* none of the below could be recognised */
  MTD_CERT_ENCODING_BASE64_DER,     /* base64 of the DER, whitespace allowed (App Service, HAProxy;
                                     * also Traefik 2.9.4 and later with one certificate, which
                                     * is byte for byte the same thing) */
  MTD_CERT_ENCODING_PEM,            /* PEM blocks with their line breaks */
  MTD_CERT_ENCODING_PEM_SPACES,     /* PEM whose line breaks became spaces or tabs (nginx's
                                     * deprecated $ssl_client_cert once its folded lines are
                                     * joined) or were dropped */
  MTD_CERT_ENCODING_URL_PEM,        /* percent-encoded PEM (nginx's $ssl_client_escaped_cert,
                                     * ingress-nginx, AWS ALB, CloudFront) */
  MTD_CERT_ENCODING_PEM_NO_MARKERS, /* PEM bodies without BEGIN/END lines in a form only Traefik
                                     * produces: percent-encoded (before 2.9.4) or several
                                     * certificates separated by commas */
  MTD_CERT_ENCODING_XFCC,           /* Envoy's x-forwarded-client-cert elements */
  MTD_CERT_ENCODING_RFC9440,        /* RFC 9440: ":base64-of-DER:", a structured-field byte
                                     * sequence */
} MtdCertEncoding;

/* Stable snake_case name: "unknown", "base64_der", "pem", "pem_spaces", "url_pem",
 * "pem_no_markers", "xfcc", "rfc9440". */
const char *mtd_cert_encoding_name (MtdCertEncoding encoding);

/* Whether an XFCC element's Hash was compared with the SHA-256 of its certificate. */
typedef enum {
  MTD_XFCC_HASH_NOT_CHECKED, /* no Hash, or no certificate to compare it with */
  MTD_XFCC_HASH_MATCHES,
  MTD_XFCC_HASH_DIFFERS,     /* different, or not a SHA-256 in hex at all */
} MtdXfccHashCheck;

/* One XFCC element: what one proxy said about the client certificate it received.  Strings are
 * owned, unquoted and unescaped, made valid UTF-8 (they are attacker-chosen: the report layer
 * escapes them), and NULL when the field was absent. */
typedef struct {
  char *by;                   /* By: the URI SAN of the proxy's own certificate */
  char *hash;                 /* Hash: hex SHA-256 of the client certificate, as sent */
  char *subject;              /* Subject */
  char *uri;                  /* URI: the client certificate's URI SAN (the first one) */
  GPtrArray *dns;             /* char*, owned: every DNS field, at most
                               * MTD_CERTHEADER_MAX_XFCC_DNS; never NULL */
  guint n_dns_dropped;        /* DNS fields beyond the cap, counted and not kept */
  MtdCert *cert;              /* one reference owned: Cert (or, without Cert, the first
                               * certificate of Chain); NULL when absent or not decoded */
  MtdCertEncoding cert_encoding; /* of the Cert (or Chain) text; UNKNOWN without one */
  guint n_chain_certs;        /* certificates in Chain, the leaf included; 0 without Chain */
  MtdXfccHashCheck hash_check;
} MtdXfccElement;

void mtd_xfcc_element_free (MtdXfccElement *element); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdXfccElement, mtd_xfcc_element_free)

/* One decoded header.  Every pointer field is owned by the struct. */
typedef struct {
  char *name;                 /* the header name as given */
  MtdCertEncoding encoding;   /* the encoding detected, whether or not it decoded */
  /* TRUE when the value is well formed in its encoding and consistent: every certificate it
   * carries decoded (an XFCC value with only By and Hash, Envoy's default, is valid without
   * one) and no XFCC Hash contradicts its Cert.  A convention mismatch alone leaves it TRUE. */
  gboolean is_valid;
  /* One reference owned: the leaf (the first certificate of the value; for XFCC, the first
   * element that carries one, which is the hop farthest upstream: each proxy appends its own
   * element).  NULL when the value carries none or it did not decode; it may be set while
   * is_valid is FALSE (a chain with a broken second certificate, a Hash that differs). */
  MtdCert *cert;
  /* Certificates carried besides the leaf (a chain), examined but not parsed as X.509. */
  guint n_chain_certs;
  /* The first thing wrong with the value, as one plain sentence ("not base64: ...", "truncated
   * DER: ...", "PEM in a header whose convention is bare base64 (App Service)"); NULL when
   * nothing is. */
  char *problem;
  /* The value decoded, but not in the encoding the known front end of this header name sends
   * (PEM in X-ARR-ClientCert, anything but a byte sequence in Client-Cert, ...): another
   * component wrote it, or a client did. */
  gboolean is_convention_mismatch;
  /* The value was longer than MTD_CERTHEADER_MAX_VALUE_LEN and was not decoded. */
  gboolean is_over_cap;
  /* Certificates beyond MTD_CERTHEADER_MAX_CERTS and XFCC elements beyond
   * MTD_CERTHEADER_MAX_XFCC_ELEMENTS: counted, not examined. */
  guint n_dropped;
  /* MtdXfccElement*, owned, in header order; NULL unless encoding is XFCC. */
  GPtrArray *xfcc_elements;
} MtdCertHeader;

void mtd_certheader_free (MtdCertHeader *header); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdCertHeader, mtd_certheader_free)

/* The header names this module knows, in a NULL-terminated static array (for
 * mtd_http_keep_headers, together with the run-time names). */
const char *const *mtd_certheader_known_names (void);

/* TRUE when name (compared case-insensitively, as RFC 9110 §5.1 says field names are) is a
 * known forwarding header or one of extra_names, a NULL-terminated array (the --cert-header
 * options) that may itself be NULL.  Both are borrowed. */
gboolean mtd_certheader_is_cert_header (const char *name, const char *const *extra_names);

/* The front end whose convention a known header name follows ("App Service", "Envoy",
 * "RFC 9440", ...), or NULL for names without one (X-Client-Cert, X-SSL-Client-Cert and names
 * given at run time, whose encoding is never a mismatch).  The string is static. */
const char *mtd_certheader_front_end (const char *name);

/* Decodes one header value.  name and value are borrowed (value need not be NUL-terminated and
 * may hold any bytes); cache is borrowed and may be NULL (each certificate is then parsed on its
 * own).  Returns a new MtdCertHeader, never NULL; free it with mtd_certheader_free. */
MtdCertHeader *mtd_certheader_decode (const char *name, const guint8 *value, gsize value_len,
                                      MtdCertCache *cache);
