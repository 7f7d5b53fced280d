/* test-x509.c: unit tests of x509-cert.c (RFC 5280 fields, RFC 2253 names) on fixed DER bytes.
 *
 * The certificates below were made once with the openssl 3.0 command line; every expected value
 * is copied from what `openssl x509` printed for them (or, for patched copies, follows from the
 * byte that was changed), never from the code under test:
 *
 *   ca.cnf: [ca] default_ca=unit; [unit] database=index.txt, new_certs_dir=., serial=serial.txt,
 *     default_md=sha256, policy=any (O optional, CN supplied), copy_extensions=none;
 *     [ca_ext] basicConstraints=critical,CA:true  keyUsage=critical,keyCertSign,cRLSign
 *       subjectKeyIdentifier=hash
 *     [leaf_ext] basicConstraints=critical,CA:false  keyUsage=critical,digitalSignature
 *       extendedKeyUsage=clientAuth,serverAuth
 *       subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1,email:test@example.com,
 *         URI:https://localhost/unit,otherName:msUPN;UTF8:user@example.com
 *   openssl ecparam -name prime256v1 -genkey -noout -out ca.key    (and leaf.key)
 *   openssl req -new -key ca.key -subj "/O=mtlsdiag/CN=mtlsdiag unit CA" -out ca.csr
 *   echo 3A5F0C1D2E4B6A79 > serial.txt
 *   openssl ca -batch -config ca.cnf -selfsign -keyfile ca.key -in ca.csr -extensions ca_ext \
 *     -startdate 20250101000000Z -enddate 20550101000000Z -notext -out ca.pem
 *   openssl req -new -key leaf.key -utf8 -subj "/O=mtlsdiag Müller/CN=mtlsdiag unit leaf" \
 *     -out leaf.csr
 *   echo 00C0FFEE1234 > serial.txt
 *   openssl ca -batch -config ca.cnf -utf8 -cert ca.pem -keyfile ca.key -in leaf.csr \
 *     -extensions leaf_ext -startdate 20260101000000Z -enddate 20270101120000Z -notext -out leaf.pem
 *   openssl x509 -in ca.pem -outform DER -out ca.der                (and leaf.der)
 *   openssl x509 -inform DER -in leaf.der -noout -subject -issuer -nameopt RFC2253,-esc_msb \
 *     -serial -dates -ext subjectAltName
 *   openssl x509 -inform DER -in leaf.der -noout -fingerprint -sha1  (and -sha256)
 *   openssl asn1parse -inform DER -in leaf.der    (the offsets patched in the tests below)
 *   date -u -d "2026-01-01 00:00:00" +%s          (seconds for each printed date)
 * Names (RFC 5280 §4.1.2.4) cut out of the DER with dd at the offsets asn1parse showed:
 *   leaf_issuer_der: leaf.der offset 33, 48 bytes;  leaf_subject_der: offset 113, 58 bytes
 *   openssl req -new -key leaf.key -utf8 -multivalue-rdn \
 *     -subj '/O=Contoso, Ltd/CN=app#1+OU=Tür "B"' -out esc.csr
 *   openssl req -in esc.csr -noout -subject -nameopt RFC2253,-esc_msb
 *   escaped_name_der: the CSR's DER at offset 9, 58 bytes
 * The leaf with a BER (non-minimal) outer length: printf '\x30\x83\x00' then leaf.der from its
 * third byte; `openssl sha1` / `openssl sha256` of that file give its thumbprints.
 */
#include "mtd-x509.h"

#include <string.h>

#include <openssl/err.h>

static const guint8 ca_der[] = {
  0x30, 0x82, 0x01, 0x96, 0x30, 0x82, 0x01, 0x3c, 0xa0, 0x03, 0x02, 0x01,
  0x02, 0x02, 0x08, 0x3a, 0x5f, 0x0c, 0x1d, 0x2e, 0x4b, 0x6a, 0x79, 0x30,
  0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02, 0x30,
  0x2e, 0x31, 0x11, 0x30, 0x0f, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x08,
  0x6d, 0x74, 0x6c, 0x73, 0x64, 0x69, 0x61, 0x67, 0x31, 0x19, 0x30, 0x17,
  0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x10, 0x6d, 0x74, 0x6c, 0x73, 0x64,
  0x69, 0x61, 0x67, 0x20, 0x75, 0x6e, 0x69, 0x74, 0x20, 0x43, 0x41, 0x30,
  0x20, 0x17, 0x0d, 0x32, 0x35, 0x30, 0x31, 0x30, 0x31, 0x30, 0x30, 0x30,
  0x30, 0x30, 0x30, 0x5a, 0x18, 0x0f, 0x32, 0x30, 0x35, 0x35, 0x30, 0x31,
  0x30, 0x31, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x5a, 0x30, 0x2e, 0x31,
  0x11, 0x30, 0x0f, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x08, 0x6d, 0x74,
  0x6c, 0x73, 0x64, 0x69, 0x61, 0x67, 0x31, 0x19, 0x30, 0x17, 0x06, 0x03,
  0x55, 0x04, 0x03, 0x0c, 0x10, 0x6d, 0x74, 0x6c, 0x73, 0x64, 0x69, 0x61,
  0x67, 0x20, 0x75, 0x6e, 0x69, 0x74, 0x20, 0x43, 0x41, 0x30, 0x59, 0x30,
  0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
  0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
  0x03, 0xb1, 0xcd, 0x20, 0xef, 0xa2, 0xb9, 0x8c, 0xe1, 0x35, 0xd2, 0xbd,
  0x9d, 0x2d, 0x49, 0xd0, 0xdb, 0xcd, 0xe9, 0xbc, 0xba, 0xbd, 0x1a, 0xe1,
  0x8b, 0x7b, 0xdd, 0x1b, 0x36, 0x6f, 0xf1, 0x50, 0xc2, 0xcf, 0x79, 0x40,
  0xca, 0x8a, 0x51, 0x0b, 0xf0, 0x7d, 0xa4, 0xb8, 0xad, 0xa0, 0x34, 0x2b,
  0x45, 0xdd, 0xfc, 0xce, 0x87, 0x6b, 0xc3, 0xad, 0xee, 0x22, 0x80, 0xc6,
  0x8c, 0xb9, 0x8a, 0x67, 0xa3, 0x42, 0x30, 0x40, 0x30, 0x0f, 0x06, 0x03,
  0x55, 0x1d, 0x13, 0x01, 0x01, 0xff, 0x04, 0x05, 0x30, 0x03, 0x01, 0x01,
  0xff, 0x30, 0x0e, 0x06, 0x03, 0x55, 0x1d, 0x0f, 0x01, 0x01, 0xff, 0x04,
  0x04, 0x03, 0x02, 0x01, 0x06, 0x30, 0x1d, 0x06, 0x03, 0x55, 0x1d, 0x0e,
  0x04, 0x16, 0x04, 0x14, 0x07, 0x72, 0x7a, 0xf3, 0xf1, 0xb9, 0x13, 0x26,
  0xd2, 0xb9, 0x10, 0x1a, 0x1e, 0x18, 0xb3, 0x5e, 0x8a, 0x31, 0xdc, 0x7f,
  0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
  0x03, 0x48, 0x00, 0x30, 0x45, 0x02, 0x21, 0x00, 0xb2, 0x6a, 0xe2, 0x3f,
  0x6b, 0x84, 0x2d, 0x73, 0xce, 0xc2, 0x46, 0x8b, 0x6b, 0xca, 0x93, 0x1e,
  0x73, 0x52, 0x86, 0x33, 0x2d, 0x33, 0x19, 0xb2, 0x08, 0xce, 0x94, 0x7e,
  0x09, 0xd5, 0x50, 0x08, 0x02, 0x20, 0x28, 0x1d, 0xf7, 0xb7, 0x42, 0xee,
  0x5d, 0x8b, 0x2d, 0xd8, 0x4d, 0xef, 0xc7, 0x56, 0xc8, 0xdd, 0x12, 0x7e,
  0x72, 0xd4, 0x6d, 0xfd, 0x75, 0x19, 0xf3, 0xab, 0x94, 0x16, 0x93, 0xf6,
  0x3d, 0x54,
};

static const guint8 leaf_der[] = {
  0x30, 0x82, 0x02, 0x56, 0x30, 0x82, 0x01, 0xfb, 0xa0, 0x03, 0x02, 0x01,
  0x02, 0x02, 0x06, 0x00, 0xc0, 0xff, 0xee, 0x12, 0x34, 0x30, 0x0a, 0x06,
  0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02, 0x30, 0x2e, 0x31,
  0x11, 0x30, 0x0f, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x08, 0x6d, 0x74,
  0x6c, 0x73, 0x64, 0x69, 0x61, 0x67, 0x31, 0x19, 0x30, 0x17, 0x06, 0x03,
  0x55, 0x04, 0x03, 0x0c, 0x10, 0x6d, 0x74, 0x6c, 0x73, 0x64, 0x69, 0x61,
  0x67, 0x20, 0x75, 0x6e, 0x69, 0x74, 0x20, 0x43, 0x41, 0x30, 0x1e, 0x17,
  0x0d, 0x32, 0x36, 0x30, 0x31, 0x30, 0x31, 0x30, 0x30, 0x30, 0x30, 0x30,
  0x30, 0x5a, 0x17, 0x0d, 0x32, 0x37, 0x30, 0x31, 0x30, 0x31, 0x31, 0x32,
  0x30, 0x30, 0x30, 0x30, 0x5a, 0x30, 0x38, 0x31, 0x19, 0x30, 0x17, 0x06,
  0x03, 0x55, 0x04, 0x0a, 0x0c, 0x10, 0x6d, 0x74, 0x6c, 0x73, 0x64, 0x69,
  0x61, 0x67, 0x20, 0x4d, 0xc3, 0xbc, 0x6c, 0x6c, 0x65, 0x72, 0x31, 0x1b,
  0x30, 0x19, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x12, 0x6d, 0x74, 0x6c,
  0x73, 0x64, 0x69, 0x61, 0x67, 0x20, 0x75, 0x6e, 0x69, 0x74, 0x20, 0x6c,
  0x65, 0x61, 0x66, 0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
  0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03,
  0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0x78, 0xa9, 0x42, 0x6d, 0xef, 0x34,
  0x8c, 0xa8, 0x71, 0x3f, 0x1a, 0xd2, 0xe2, 0x11, 0x72, 0xe6, 0xcd, 0x0c,
  0x17, 0xd1, 0x18, 0x45, 0xa9, 0x9f, 0x0f, 0xa2, 0x15, 0x1a, 0x2a, 0xb9,
  0x7c, 0xbc, 0xb5, 0xef, 0xa4, 0x62, 0x82, 0x55, 0x59, 0xd1, 0x4e, 0xd2,
  0xa5, 0xa2, 0x0b, 0xf2, 0xb4, 0x8d, 0xa7, 0xf7, 0xa8, 0x66, 0x79, 0x57,
  0xc1, 0xcc, 0xe0, 0x46, 0xb7, 0x18, 0x74, 0x54, 0xf3, 0x08, 0xa3, 0x81,
  0xfa, 0x30, 0x81, 0xf7, 0x30, 0x0c, 0x06, 0x03, 0x55, 0x1d, 0x13, 0x01,
  0x01, 0xff, 0x04, 0x02, 0x30, 0x00, 0x30, 0x0e, 0x06, 0x03, 0x55, 0x1d,
  0x0f, 0x01, 0x01, 0xff, 0x04, 0x04, 0x03, 0x02, 0x07, 0x80, 0x30, 0x1d,
  0x06, 0x03, 0x55, 0x1d, 0x25, 0x04, 0x16, 0x30, 0x14, 0x06, 0x08, 0x2b,
  0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02, 0x06, 0x08, 0x2b, 0x06, 0x01,
  0x05, 0x05, 0x07, 0x03, 0x01, 0x30, 0x78, 0x06, 0x03, 0x55, 0x1d, 0x11,
  0x04, 0x71, 0x30, 0x6f, 0x82, 0x09, 0x6c, 0x6f, 0x63, 0x61, 0x6c, 0x68,
  0x6f, 0x73, 0x74, 0x87, 0x04, 0x7f, 0x00, 0x00, 0x01, 0x87, 0x10, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x01, 0x81, 0x10, 0x74, 0x65, 0x73, 0x74, 0x40, 0x65, 0x78,
  0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x63, 0x6f, 0x6d, 0x86, 0x16, 0x68,
  0x74, 0x74, 0x70, 0x73, 0x3a, 0x2f, 0x2f, 0x6c, 0x6f, 0x63, 0x61, 0x6c,
  0x68, 0x6f, 0x73, 0x74, 0x2f, 0x75, 0x6e, 0x69, 0x74, 0xa0, 0x20, 0x06,
  0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x14, 0x02, 0x03, 0xa0,
  0x12, 0x0c, 0x10, 0x75, 0x73, 0x65, 0x72, 0x40, 0x65, 0x78, 0x61, 0x6d,
  0x70, 0x6c, 0x65, 0x2e, 0x63, 0x6f, 0x6d, 0x30, 0x1d, 0x06, 0x03, 0x55,
  0x1d, 0x0e, 0x04, 0x16, 0x04, 0x14, 0xa4, 0xce, 0xf7, 0x7d, 0xaf, 0x3c,
  0xb6, 0xf0, 0x7e, 0xfb, 0x9c, 0xec, 0xd3, 0x50, 0x3b, 0xf0, 0x50, 0xfd,
  0xdf, 0xed, 0x30, 0x1f, 0x06, 0x03, 0x55, 0x1d, 0x23, 0x04, 0x18, 0x30,
  0x16, 0x80, 0x14, 0x07, 0x72, 0x7a, 0xf3, 0xf1, 0xb9, 0x13, 0x26, 0xd2,
  0xb9, 0x10, 0x1a, 0x1e, 0x18, 0xb3, 0x5e, 0x8a, 0x31, 0xdc, 0x7f, 0x30,
  0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02, 0x03,
  0x49, 0x00, 0x30, 0x46, 0x02, 0x21, 0x00, 0xe1, 0x3c, 0x99, 0x78, 0x60,
  0xb8, 0x06, 0xb4, 0xdd, 0x73, 0x64, 0xfe, 0xcf, 0x81, 0xf2, 0xef, 0xba,
  0x16, 0x47, 0x30, 0x79, 0xaf, 0xcf, 0xe7, 0xc4, 0xb8, 0x9e, 0x3c, 0xb0,
  0xd9, 0x6e, 0x68, 0x02, 0x21, 0x00, 0x83, 0x79, 0x09, 0x3e, 0x88, 0x43,
  0xe7, 0xe0, 0x61, 0x7f, 0xb0, 0x96, 0x58, 0x35, 0xa0, 0x98, 0x3a, 0x3b,
  0x52, 0x25, 0x34, 0xab, 0x88, 0x72, 0xec, 0xbd, 0x2a, 0xe0, 0x77, 0xe9,
  0x3f, 0x3b,
};

static const guint8 leaf_subject_der[] = {
  0x30, 0x38, 0x31, 0x19, 0x30, 0x17, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c,
  0x10, 0x6d, 0x74, 0x6c, 0x73, 0x64, 0x69, 0x61, 0x67, 0x20, 0x4d, 0xc3,
  0xbc, 0x6c, 0x6c, 0x65, 0x72, 0x31, 0x1b, 0x30, 0x19, 0x06, 0x03, 0x55,
  0x04, 0x03, 0x0c, 0x12, 0x6d, 0x74, 0x6c, 0x73, 0x64, 0x69, 0x61, 0x67,
  0x20, 0x75, 0x6e, 0x69, 0x74, 0x20, 0x6c, 0x65, 0x61, 0x66,
};

static const guint8 leaf_issuer_der[] = {
  0x30, 0x2e, 0x31, 0x11, 0x30, 0x0f, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c,
  0x08, 0x6d, 0x74, 0x6c, 0x73, 0x64, 0x69, 0x61, 0x67, 0x31, 0x19, 0x30,
  0x17, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x10, 0x6d, 0x74, 0x6c, 0x73,
  0x64, 0x69, 0x61, 0x67, 0x20, 0x75, 0x6e, 0x69, 0x74, 0x20, 0x43, 0x41,
};

static const guint8 escaped_name_der[] = {
  0x30, 0x38, 0x31, 0x15, 0x30, 0x13, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c,
  0x0c, 0x43, 0x6f, 0x6e, 0x74, 0x6f, 0x73, 0x6f, 0x2c, 0x20, 0x4c, 0x74,
  0x64, 0x31, 0x1f, 0x30, 0x0c, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x05,
  0x61, 0x70, 0x70, 0x23, 0x31, 0x30, 0x0f, 0x06, 0x03, 0x55, 0x04, 0x0b,
  0x0c, 0x08, 0x54, 0xc3, 0xbc, 0x72, 0x20, 0x22, 0x42, 0x22,
};

/* Offsets in leaf_der, from `openssl asn1parse -inform DER -in leaf.der`. */
enum {
  LEAF_SUBJECT_O_TAG = 124,       /* UTF8String "mtlsdiag Müller" */
  LEAF_NOT_BEFORE_MONTH = 87,     /* UTCTime "260101000000Z" at 83, content at 85 */
  LEAF_EKU_OID_LAST = 304,        /* 2.5.29.37 (55 1d 25) at 300 */
  LEAF_SAN_SEQUENCE = 338,        /* first byte of the subjectAltName extnValue (30 6f) */
  LEAF_SAN_LOCALHOST = 342,       /* "localhost" of DNS:localhost (82 09 at 340) */
};

typedef struct {
  const char *name;
  const guint8 *der;
  gsize der_len;
  const char *subject;
  const char *issuer;
  const char *serial_hex;
  const char *const *sans;
  gint64 not_before;
  gint64 not_after;
  const char *sha1_hex;
  const char *sha256_hex;
} ExpectedCert;

static const char *const ca_sans[] = { NULL };
static const char *const leaf_sans[] = {
  "DNS:localhost",
  "IP:127.0.0.1",
  "IP:::1",
  "email:test@example.com",
  "URI:https://localhost/unit",
  "othername:UPN:user@example.com",
  NULL,
};

static const ExpectedCert expected_certs[] = {
  {
    "ca", ca_der, sizeof ca_der,
    "CN=mtlsdiag unit CA,O=mtlsdiag",
    "CN=mtlsdiag unit CA,O=mtlsdiag",
    "3A5F0C1D2E4B6A79",
    ca_sans,
    1735689600, /* Jan  1 00:00:00 2025 GMT (UTCTime) */
    2682374400, /* Jan  1 00:00:00 2055 GMT (GeneralizedTime, RFC 5280 §4.1.2.5) */
    "5B8FD8D82D30B1EBDAED04BA433F369ED0DC0B91",
    "27859388FE30F519BE5B708FF4D9AB041642A2970A55CD0196DDCD153F089B38",
  },
  {
    "leaf", leaf_der, sizeof leaf_der,
    "CN=mtlsdiag unit leaf,O=mtlsdiag M\xc3\xbcller",
    "CN=mtlsdiag unit CA,O=mtlsdiag",
    "C0FFEE1234", /* DER 00 C0 FF EE 12 34: the sign byte is not part of the number */
    leaf_sans,
    1767225600, /* Jan  1 00:00:00 2026 GMT */
    1798804800, /* Jan  1 12:00:00 2027 GMT */
    "B1549F8D15EA41D77756577554F0BCE8F63FF204",
    "9F16609E76FEDF8E47590704CABC8E0606062EA8A82248FC50F11BCBCA2033B3",
  },
};

static void
assert_utf8 (const char *text)
{
  g_assert_nonnull (text);
  g_assert_true (g_utf8_validate (text, -1, NULL));
}

static void
assert_cert_strings_utf8 (const MtdCert *cert)
{
  assert_utf8 (cert->subject);
  assert_utf8 (cert->issuer);
  assert_utf8 (cert->serial_hex);
  for (guint i = 0; i < cert->sans->len; i++)
    assert_utf8 (g_ptr_array_index (cert->sans, i));
}

static void
assert_sans (const MtdCert *cert, const char *const *expected)
{
  guint n_expected = g_strv_length ((char **) expected);
  g_assert_cmpuint (cert->sans->len, ==, n_expected);
  for (guint i = 0; i < n_expected; i++)
    g_assert_cmpstr (g_ptr_array_index (cert->sans, i), ==, expected[i]);
}

static void
test_fields (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (expected_certs); i++)
    {
      const ExpectedCert *want = &expected_certs[i];
      g_autoptr (GError) error = NULL;
      g_test_message ("certificate %s", want->name);

      g_autoptr (MtdCert) cert = mtd_cert_new_from_der (want->der, want->der_len, &error);
      g_assert_no_error (error);
      g_assert_nonnull (cert);
      g_assert_cmpint (cert->ref_count, ==, 1);
      g_assert_cmpstr (cert->subject, ==, want->subject);
      g_assert_cmpstr (cert->issuer, ==, want->issuer);
      g_assert_cmpstr (cert->serial_hex, ==, want->serial_hex);
      assert_sans (cert, want->sans);
      g_assert_cmpint (cert->not_before, ==, want->not_before);
      g_assert_cmpint (cert->not_after, ==, want->not_after);
      g_assert_cmpstr (cert->sha1_hex, ==, want->sha1_hex);
      g_assert_cmpstr (cert->sha256_hex, ==, want->sha256_hex);
      g_assert_cmpuint (cert->der_len, ==, want->der_len);
      assert_cert_strings_utf8 (cert);
    }
}

/* The outer SEQUENCE of the leaf with its length in three bytes instead of two: libcrypto accepts
 * it, and the thumbprint must be that of these bytes, as Windows computes it, not of OpenSSL's
 * re-encoding (which is the original leaf's thumbprint). */
static guint8 *
leaf_with_ber_length (gsize *out_len)
{
  static const guint8 ber_header[] = { 0x30, 0x83, 0x00 };
  *out_len = sizeof ber_header + sizeof leaf_der - 2;
  guint8 *der = g_malloc (*out_len);
  memcpy (der, ber_header, sizeof ber_header);
  memcpy (der + sizeof ber_header, leaf_der + 2, sizeof leaf_der - 2);
  return der;
}

static void
test_thumbprint_of_bytes_as_sent (void)
{
  gsize der_len = 0;
  g_autofree guint8 *der = leaf_with_ber_length (&der_len);
  g_autoptr (GError) error = NULL;

  g_autoptr (MtdCert) cert = mtd_cert_new_from_der (der, der_len, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cert->sha1_hex, ==, "D1D226933BC376D66FB73B09D75E3C83AA302C50");
  g_assert_cmpstr (cert->sha256_hex, ==,
                   "7CB1832F96B43A859DC5556FED071595145CC104C9B13760A114318C12F18BDF");
  g_assert_cmpuint (cert->der_len, ==, sizeof leaf_der + 1);
  g_assert_cmpstr (cert->subject, ==, expected_certs[1].subject);
}

typedef struct {
  gint64 at;
  MtdCertValidity validity;
} ValidityCase;

static void
test_validity (void)
{
  /* RFC 5280 §4.1.2.5: valid "from notBefore through notAfter, inclusive". */
  static const ValidityCase leaf_cases[] = {
    { G_MININT64, MTD_CERT_NOT_YET_VALID },
    { 0, MTD_CERT_NOT_YET_VALID },
    { 1767225599, MTD_CERT_NOT_YET_VALID },
    { 1767225600, MTD_CERT_VALID },
    { 1780000000, MTD_CERT_VALID },
    { 1798804800, MTD_CERT_VALID },
    { 1798804801, MTD_CERT_EXPIRED },
    { G_MAXINT64, MTD_CERT_EXPIRED },
  };
  static const ValidityCase ca_cases[] = {
    { 1735689599, MTD_CERT_NOT_YET_VALID },
    { 1735689600, MTD_CERT_VALID },
    { 2682374400, MTD_CERT_VALID },
    { 2682374401, MTD_CERT_EXPIRED },
  };
  g_autoptr (MtdCert) leaf = mtd_cert_new_from_der (leaf_der, sizeof leaf_der, NULL);
  g_autoptr (MtdCert) ca = mtd_cert_new_from_der (ca_der, sizeof ca_der, NULL);
  g_assert_nonnull (leaf);
  g_assert_nonnull (ca);

  for (gsize i = 0; i < G_N_ELEMENTS (leaf_cases); i++)
    g_assert_cmpint (mtd_cert_validity_at (leaf, leaf_cases[i].at), ==, leaf_cases[i].validity);
  for (gsize i = 0; i < G_N_ELEMENTS (ca_cases); i++)
    g_assert_cmpint (mtd_cert_validity_at (ca, ca_cases[i].at), ==, ca_cases[i].validity);

  g_assert_cmpstr (mtd_cert_validity_name (MTD_CERT_VALID), ==, "valid");
  g_assert_cmpstr (mtd_cert_validity_name (MTD_CERT_EXPIRED), ==, "expired");
  g_assert_cmpstr (mtd_cert_validity_name (MTD_CERT_NOT_YET_VALID), ==, "not_yet_valid");
}

static void
test_format_utc (void)
{
  /* Expected strings from `date -u -d @SECONDS +%Y-%m-%dT%H:%M:%SZ`. */
  static const struct {
    gint64 seconds;
    const char *text;
  } cases[] = {
    { 0, "1970-01-01T00:00:00Z" },
    { -1, "1969-12-31T23:59:59Z" },
    { 1767225600, "2026-01-01T00:00:00Z" },
    { 1798804800, "2027-01-01T12:00:00Z" },
    { 2682374400, "2055-01-01T00:00:00Z" },
    { 253402300799, "9999-12-31T23:59:59Z" }, /* RFC 5280 §4.1.2.5's "no expiration" date */
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = mtd_format_utc (cases[i].seconds);
      g_assert_cmpstr (text, ==, cases[i].text);
    }
}

static void
assert_not_der (const guint8 *bytes, gsize bytes_len)
{
  g_autoptr (GError) error = NULL;
  /* An exact-size heap copy, so that AddressSanitizer sees any read past the end. */
  g_autofree guint8 *copy = g_memdup2 (bytes, bytes_len);

  g_autoptr (MtdCert) cert = mtd_cert_new_from_der (copy, bytes_len, &error);
  g_assert_null (cert);
  g_assert_error (error, MTD_X509_ERROR, MTD_X509_ERROR_NOT_DER);
  g_assert_true (g_str_has_prefix (error->message, "not a DER certificate: "));
  /* A bad certificate leaves nothing on OpenSSL's error queue for the next caller to trip on. */
  g_assert_cmpuint (ERR_peek_error (), ==, 0);
}

static void
test_garbage (void)
{
  static const guint8 one_zero[] = { 0x00 };
  static const guint8 empty_sequence[] = { 0x30, 0x00 };
  static const guint8 indefinite[] = { 0x30, 0x80, 0x00, 0x00 };
  static const guint8 huge_length[] = { 0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x30, 0x00 };
  static const guint8 octet_string[] = { 0x04, 0x03, 0x01, 0x02, 0x03 };
  static const guint8 pem_text[] = "-----BEGIN CERTIFICATE-----\nMIIBljCCATygAwIBAgIIOl8M\n";
  static const guint8 tls_record[] = { 0x16, 0x03, 0x03, 0x00, 0x05, 0x0b, 0x00, 0x00, 0x01, 0x00 };
  static const struct {
    const char *name;
    const guint8 *bytes;
    gsize bytes_len;
  } cases[] = {
    { "empty", one_zero, 0 },
    { "one zero byte", one_zero, sizeof one_zero },
    { "empty SEQUENCE", empty_sequence, sizeof empty_sequence },
    { "indefinite length (BER, not DER)", indefinite, sizeof indefinite },
    { "length past the end", huge_length, sizeof huge_length },
    { "OCTET STRING", octet_string, sizeof octet_string },
    { "PEM text", pem_text, sizeof pem_text - 1 },
    { "a TLS record", tls_record, sizeof tls_record },
    { "a Name, not a certificate", leaf_subject_der, sizeof leaf_subject_der },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("garbage: %s", cases[i].name);
      assert_not_der (cases[i].bytes, cases[i].bytes_len);
    }
}

static void
test_truncated (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (expected_certs); i++)
    for (gsize len = 0; len < expected_certs[i].der_len; len++)
      assert_not_der (expected_certs[i].der, len);
}

static void
test_trailing_bytes (void)
{
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  g_byte_array_append (bytes, leaf_der, sizeof leaf_der);
  g_byte_array_append (bytes, (const guint8 *) "\0", 1);

  g_autoptr (MtdCert) cert = mtd_cert_new_from_der (bytes->data, bytes->len, &error);
  g_assert_null (cert);
  g_assert_error (error, MTD_X509_ERROR, MTD_X509_ERROR_NOT_DER);
  g_assert_cmpstr (error->message, ==, "not a DER certificate: 1 bytes follow its end");

  /* Two certificates in one buffer are not one certificate either. */
  g_byte_array_set_size (bytes, sizeof leaf_der);
  g_byte_array_append (bytes, ca_der, sizeof ca_der);
  assert_not_der (bytes->data, bytes->len);
}

typedef struct {
  const char *name;
  gsize offset;
  guint8 byte;
  int error_code;           /* -1: parses */
  const char *subject;      /* NULL: as in the unpatched leaf */
  const char *first_san;    /* or, when it does not parse, the error message */
} LeafPatch;

static void
test_patched_leaf (void)
{
  static const LeafPatch patches[] = {
    /* IA5String bytes are not checked by libcrypto: a NUL or a byte past 0x7f becomes U+FFFD
     * (so "local\0ost" cannot pass for a real name), a control character stays for the report
     * layer to escape. */
    { "NUL in dNSName", LEAF_SAN_LOCALHOST + 5, 0x00, -1, NULL, "DNS:local\xef\xbf\xbdost" },
    { "BEL in dNSName", LEAF_SAN_LOCALHOST + 5, 0x07, -1, NULL, "DNS:local\x07ost" },
    { "0xFF in dNSName", LEAF_SAN_LOCALHOST + 8, 0xff, -1, NULL, "DNS:localhos\xef\xbf\xbd" },
    /* The O value retagged as T61String: its bytes C3 BC read as Latin-1 are "Ã¼", which must
     * come out as UTF-8 (C3 83 C2 BC), not as the raw bytes. */
    { "T61String O", LEAF_SUBJECT_O_TAG, 0x14, -1,
      "CN=mtlsdiag unit leaf,O=mtlsdiag M\xc3\x83\xc2\xbcller", "DNS:localhost" },
    { "month 91 in notBefore", LEAF_NOT_BEFORE_MONTH, '9', MTD_X509_ERROR_BAD_FIELD, NULL,
      "certificate has an unreadable notBefore time" },
    /* extnValue starting with SET instead of SEQUENCE: GeneralNames cannot be decoded. */
    { "malformed subjectAltName", LEAF_SAN_SEQUENCE, 0x31, MTD_X509_ERROR_BAD_FIELD, NULL,
      "certificate has a malformed subjectAltName extension: wrong tag" },
    /* extendedKeyUsage's OID turned into subjectAltName's: two instances (RFC 5280 §4.2). */
    { "two subjectAltName", LEAF_EKU_OID_LAST, 0x11, MTD_X509_ERROR_BAD_FIELD, NULL,
      "certificate has more than one subjectAltName extension" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (patches); i++)
    {
      const LeafPatch *patch = &patches[i];
      g_autofree guint8 *der = g_memdup2 (leaf_der, sizeof leaf_der);
      g_autoptr (GError) error = NULL;
      g_test_message ("patch: %s", patch->name);

      g_assert_cmpuint (der[patch->offset], !=, patch->byte);
      der[patch->offset] = patch->byte;
      g_autoptr (MtdCert) cert = mtd_cert_new_from_der (der, sizeof leaf_der, &error);
      if (patch->error_code >= 0)
        {
          g_assert_null (cert);
          g_assert_error (error, MTD_X509_ERROR, patch->error_code);
          g_assert_cmpstr (error->message, ==, patch->first_san);
          g_assert_cmpuint (ERR_peek_error (), ==, 0);
          continue;
        }
      g_assert_no_error (error);
      g_assert_cmpstr (cert->subject, ==,
                       patch->subject != NULL ? patch->subject : expected_certs[1].subject);
      g_assert_cmpuint (cert->sans->len, ==, g_strv_length ((char **) leaf_sans));
      g_assert_cmpstr (g_ptr_array_index (cert->sans, 0), ==, patch->first_san);
      g_assert_cmpstr (cert->sha1_hex, !=, expected_certs[1].sha1_hex);
      assert_cert_strings_utf8 (cert);
    }
}

static void
test_dn_from_der (void)
{
  static const guint8 empty_name[] = { 0x30, 0x00 };
  static const struct {
    const guint8 *der;
    gsize der_len;
    const char *text;
  } cases[] = {
    { leaf_subject_der, sizeof leaf_subject_der, "CN=mtlsdiag unit leaf,O=mtlsdiag M\xc3\xbcller" },
    { leaf_issuer_der, sizeof leaf_issuer_der, "CN=mtlsdiag unit CA,O=mtlsdiag" },
    { escaped_name_der, sizeof escaped_name_der, "OU=T\xc3\xbcr \\\"B\\\"+CN=app#1,O=Contoso\\, Ltd" },
    { empty_name, sizeof empty_name, "" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = mtd_dn_from_der (cases[i].der, cases[i].der_len);
      g_assert_cmpstr (text, ==, cases[i].text);

      for (gsize len = 0; len < cases[i].der_len; len++)
        {
          g_autofree guint8 *prefix = g_memdup2 (cases[i].der, len);
          g_autofree char *none = mtd_dn_from_der (prefix, len);
          g_assert_null (none);
          g_assert_cmpuint (ERR_peek_error (), ==, 0);
        }

      g_autofree guint8 *longer = g_malloc (cases[i].der_len + 1);
      memcpy (longer, cases[i].der, cases[i].der_len);
      longer[cases[i].der_len] = 0x00;
      g_autofree char *trailing = mtd_dn_from_der (longer, cases[i].der_len + 1);
      g_assert_null (trailing);
    }

  g_autofree char *from_cert = mtd_dn_from_der (leaf_der, sizeof leaf_der);
  g_assert_null (from_cert);
  static const guint8 octet_string[] = { 0x04, 0x01, 0x00 };
  g_autofree char *from_octets = mtd_dn_from_der (octet_string, sizeof octet_string);
  g_assert_null (from_octets);
}

/* "CN=<common_name>" as DER: Name ::= SEQUENCE OF SET OF AttributeTypeAndValue (RFC 5280 §4.1.2.4),
 * for names shorter than 100 bytes. */
static GByteArray *
common_name_der (const char *common_name)
{
  static const guint8 cn_oid[] = { 0x06, 0x03, 0x55, 0x04, 0x03 };
  guint8 value_len = (guint8) strlen (common_name);
  guint8 attribute_len = (guint8) (sizeof cn_oid + 2 + value_len);
  GByteArray *der = g_byte_array_new ();
  guint8 head[] = { 0x30, (guint8) (attribute_len + 4), 0x31, (guint8) (attribute_len + 2), 0x30,
                    attribute_len };
  g_byte_array_append (der, head, sizeof head);
  g_byte_array_append (der, cn_oid, sizeof cn_oid);
  guint8 value_head[] = { 0x0C, value_len };
  g_byte_array_append (der, value_head, sizeof value_head);
  g_byte_array_append (der, (const guint8 *) common_name, value_len);
  return der;
}

/* mtd_dn_from_der keeps the names it printed last: many names through its small table, twice and
 * in another order, must each come back as their own text. */
static void
test_dn_from_der_repeated (void)
{
  const guint n_names = 300;
  for (guint pass = 0; pass < 3; pass++)
    for (guint i = 0; i < n_names; i++)
      {
        guint n = pass == 1 ? n_names - 1 - i : (i * 7) % n_names;
        g_autofree char *common_name = g_strdup_printf ("host-%u.example", n);
        g_autoptr (GByteArray) der = common_name_der (common_name);
        g_autofree char *text = mtd_dn_from_der (der->data, der->len);
        g_autofree char *expected = g_strconcat ("CN=", common_name, NULL);
        g_assert_cmpstr (text, ==, expected);
        /* The same bytes but the last: a cached name must not answer for it. */
        der->data[der->len - 1] = '#';
        g_autofree char *changed = mtd_dn_from_der (der->data, der->len);
        g_autofree char *changed_expected = g_strdup (expected);
        changed_expected[strlen (changed_expected) - 1] = '#';
        g_assert_cmpstr (changed, ==, changed_expected);
      }
}

static void
test_ref (void)
{
  MtdCert *cert = mtd_cert_new_from_der (ca_der, sizeof ca_der, NULL);
  g_assert_nonnull (cert);
  g_assert_true (mtd_cert_ref (cert) == cert);
  g_assert_cmpint (cert->ref_count, ==, 2);
  mtd_cert_unref (cert);
  g_assert_cmpint (cert->ref_count, ==, 1);
  g_assert_cmpstr (cert->subject, ==, expected_certs[0].subject);
  mtd_cert_unref (cert);
  mtd_cert_unref (NULL);
}

static void
test_cache_hits_and_misses (void)
{
  g_autoptr (MtdCertCache) cache = mtd_cert_cache_new (8);
  g_autoptr (GError) error = NULL;

  g_assert_cmpuint (mtd_cert_cache_hits (cache), ==, 0);
  g_assert_cmpuint (mtd_cert_cache_misses (cache), ==, 0);

  g_autoptr (MtdCert) first = mtd_cert_cache_get (cache, leaf_der, sizeof leaf_der, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (first->subject, ==, expected_certs[1].subject);
  g_assert_cmpuint (mtd_cert_cache_hits (cache), ==, 0);
  g_assert_cmpuint (mtd_cert_cache_misses (cache), ==, 1);
  g_assert_cmpint (first->ref_count, ==, 2); /* ours and the cache's */

  /* Equal bytes at another address are the same certificate. */
  g_autofree guint8 *copy = g_memdup2 (leaf_der, sizeof leaf_der);
  g_autoptr (MtdCert) second = mtd_cert_cache_get (cache, copy, sizeof leaf_der, &error);
  g_assert_no_error (error);
  g_assert_true (second == first);
  g_assert_cmpint (first->ref_count, ==, 3);
  g_assert_cmpuint (mtd_cert_cache_hits (cache), ==, 1);
  g_assert_cmpuint (mtd_cert_cache_misses (cache), ==, 1);

  g_autoptr (MtdCert) ca = mtd_cert_cache_get (cache, ca_der, sizeof ca_der, &error);
  g_assert_no_error (error);
  g_assert_true (ca != first);
  g_assert_cmpstr (ca->subject, ==, expected_certs[0].subject);
  g_assert_cmpuint (mtd_cert_cache_misses (cache), ==, 2);

  /* Not a certificate: a miss, an error, and nothing cached. */
  for (int round = 0; round < 2; round++)
    {
      g_autoptr (GError) bad_error = NULL;
      g_autoptr (MtdCert) bad = mtd_cert_cache_get (cache, leaf_der, sizeof leaf_der - 1,
                                                    &bad_error);
      g_assert_null (bad);
      g_assert_error (bad_error, MTD_X509_ERROR, MTD_X509_ERROR_NOT_DER);
    }
  g_assert_cmpuint (mtd_cert_cache_hits (cache), ==, 1);
  g_assert_cmpuint (mtd_cert_cache_misses (cache), ==, 4);

  g_autoptr (MtdCert) third = mtd_cert_cache_get (cache, leaf_der, sizeof leaf_der, &error);
  g_assert_true (third == first);
  g_assert_cmpuint (mtd_cert_cache_hits (cache), ==, 2);
  g_assert_cmpuint (mtd_cert_cache_misses (cache), ==, 4);
}

static void
test_cache_clear_when_full (void)
{
  gsize ber_len = 0;
  g_autofree guint8 *ber = leaf_with_ber_length (&ber_len);
  g_autoptr (MtdCertCache) cache = mtd_cert_cache_new (2);

  g_autoptr (MtdCert) leaf = mtd_cert_cache_get (cache, leaf_der, sizeof leaf_der, NULL);
  g_autoptr (MtdCert) ca = mtd_cert_cache_get (cache, ca_der, sizeof ca_der, NULL);
  g_assert_nonnull (leaf);
  g_assert_nonnull (ca);
  g_assert_cmpint (leaf->ref_count, ==, 2);
  g_assert_cmpint (ca->ref_count, ==, 2);

  /* A third distinct DER (same certificate, other bytes, other SHA-256) finds the cache full:
   * it is emptied, so the two earlier entries lose the cache's reference but stay alive. */
  g_autoptr (MtdCert) ber_leaf = mtd_cert_cache_get (cache, ber, ber_len, NULL);
  g_assert_nonnull (ber_leaf);
  g_assert_true (ber_leaf != leaf);
  g_assert_cmpint (ber_leaf->ref_count, ==, 2);
  g_assert_cmpint (leaf->ref_count, ==, 1);
  g_assert_cmpint (ca->ref_count, ==, 1);
  g_assert_cmpstr (leaf->subject, ==, expected_certs[1].subject);
  g_assert_cmpstr (ca->sha1_hex, ==, expected_certs[0].sha1_hex);
  g_assert_cmpuint (mtd_cert_cache_misses (cache), ==, 3);

  /* The BER one was kept, the leaf was dropped and is parsed again into a new object. */
  g_autoptr (MtdCert) ber_again = mtd_cert_cache_get (cache, ber, ber_len, NULL);
  g_assert_true (ber_again == ber_leaf);
  g_assert_cmpuint (mtd_cert_cache_hits (cache), ==, 1);
  g_autoptr (MtdCert) leaf_again = mtd_cert_cache_get (cache, leaf_der, sizeof leaf_der, NULL);
  g_assert_nonnull (leaf_again);
  g_assert_true (leaf_again != leaf);
  g_assert_cmpstr (leaf_again->sha256_hex, ==, leaf->sha256_hex);
  g_assert_cmpuint (mtd_cert_cache_hits (cache), ==, 1);
  g_assert_cmpuint (mtd_cert_cache_misses (cache), ==, 4);

  /* Freeing the cache leaves the references we hold valid. */
  g_clear_pointer (&cache, mtd_cert_cache_free);
  g_assert_cmpint (leaf_again->ref_count, ==, 1);
  g_assert_cmpstr (leaf_again->subject, ==, expected_certs[1].subject);
  mtd_cert_cache_free (NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/x509/fields", test_fields);
  g_test_add_func ("/x509/thumbprint-of-bytes-as-sent", test_thumbprint_of_bytes_as_sent);
  g_test_add_func ("/x509/validity", test_validity);
  g_test_add_func ("/x509/format-utc", test_format_utc);
  g_test_add_func ("/x509/invalid/garbage", test_garbage);
  g_test_add_func ("/x509/invalid/truncated", test_truncated);
  g_test_add_func ("/x509/invalid/trailing-bytes", test_trailing_bytes);
  g_test_add_func ("/x509/patched-leaf", test_patched_leaf);
  g_test_add_func ("/x509/dn-from-der", test_dn_from_der);
  g_test_add_func ("/x509/dn-from-der-repeated", test_dn_from_der_repeated);
  g_test_add_func ("/x509/ref", test_ref);
  g_test_add_func ("/x509/cache/hits-and-misses", test_cache_hits_and_misses);
  g_test_add_func ("/x509/cache/clear-when-full", test_cache_clear_when_full);

  return g_test_run ();
}
