/* test-tls-crypto.c: unit tests of tls-crypto.c (TLS 1.3 and TLS 1.2 record decryption).
 *
 * Where the expected values come from, never from the code under test:
 * 1. RFC 8448 §3 ("Simple 1-RTT Handshake", TLS_AES_128_GCM_SHA256): the traffic secrets, the
 *    keys and ivs the RFC derives from them, and three protected records with their plaintext
 *    (the server's handshake flight, the client's Finished, the client's application data),
 *    copied from the RFC's hex dumps.  The module does not expose keys, so the derived key and
 *    iv are checked through what they decrypt, and through a record this test seals with the
 *    RFC's printed key and iv; the test's own HKDF-Expand-Label (used in 3. below) is checked
 *    against the printed keys directly.
 * 2. Real captures made with OpenSSL 3.0 s_server/s_client (captures/README.md) and the key
 *    logs the client wrote: captures/tls13-presented.pcap (TLS_AES_256_GCM_SHA384, a client
 *    certificate requested and presented) and captures/tls12-presented.pcap
 *    (TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384).  The test reads the pcap itself (classic pcap,
 *    Ethernet, IPv4, TCP, one connection, in order, as these loopback captures are), rebuilds
 *    both TCP streams and splits them into TLS records.  The facts checked are what the README
 *    and expected.json say about how the captures were made: the handshake messages of each
 *    flight (as `tshark -o tls.keylog_file:...` shows them), the client leaf's SHA-1 thumbprint
 *    (expected.json "client_leaf_sha1"), the request of the client (curl for TLS 1.3, s_client
 *    for TLS 1.2) and the response of `s_server -www`, close_notify alerts from both sides.
 * 3. Self-consistency, for what no sample capture uses: ChaCha20-Poly1305 (TLS 1.3 and 1.2),
 *    AES-128-CCM (TLS 1.3), AES-128-GCM in TLS 1.2, AES-CBC with HMAC (MAC-then-encrypt and
 *    encrypt-then-MAC) and KeyUpdate.  Records are sealed here with raw EVP_CIPHER / EVP_Q_mac,
 *    with keys derived through a different OpenSSL interface than the module's (EVP_PKEY_CTX
 *    HKDF and TLS1-PRF instead of EVP_KDF) and the framing written from the RFCs' text.  This
 *    proves the module and the RFC text as read here agree, not that both read it right; the
 *    GCM paths have the independent checks of 1. and 2.
 */
#include "mtd-tls-crypto.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "mtd-cursor.h"

enum {
  CONTENT_CHANGE_CIPHER_SPEC = 20, /* RFC 8446 §5.1 ContentType */
  CONTENT_ALERT = 21,
  CONTENT_HANDSHAKE = 22,
  CONTENT_APPLICATION_DATA = 23,
  HANDSHAKE_CLIENT_HELLO = 1, /* RFC 8446 §4 HandshakeType */
  HANDSHAKE_SERVER_HELLO = 2,
  HANDSHAKE_NEW_SESSION_TICKET = 4,
  HANDSHAKE_ENCRYPTED_EXTENSIONS = 8,
  HANDSHAKE_CERTIFICATE = 11,
  HANDSHAKE_CERTIFICATE_REQUEST = 13,
  HANDSHAKE_CERTIFICATE_VERIFY = 15,
  HANDSHAKE_FINISHED = 20,
  TLS12_VERSION = 0x0303,
  RANDOM_LEN = 32,
  TAG_LEN = 16,
};

/* ---- helpers ---------------------------------------------------------------------------- */

/* Hex with any whitespace between digits, as the RFC prints it. */
static GByteArray *
hex_decode (const char *hex)
{
  GByteArray *bytes = g_byte_array_new ();
  int high = -1;
  for (const char *p = hex; *p != '\0'; p++)
    {
      if (g_ascii_isspace (*p))
        continue;
      int digit = g_ascii_xdigit_value (*p);
      g_assert_cmpint (digit, >=, 0);
      if (high < 0)
        high = digit;
      else
        {
          guint8 byte = (guint8) (high << 4 | digit);
          g_byte_array_append (bytes, &byte, 1);
          high = -1;
        }
    }
  g_assert_cmpint (high, <, 0);
  return bytes;
}

/* A record's fragment run through the module with an output buffer of exactly fragment_len
 * bytes, so that AddressSanitizer sees any write past what the API promises. */
typedef struct {
  gboolean is_ok;
  guint8 inner_type;
  GByteArray *plaintext;
  gboolean was_wiped; /* on failure: every byte of out is zero */
} Opened;

static void
opened_clear (Opened *opened)
{
  g_clear_pointer (&opened->plaintext, g_byte_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Opened, opened_clear)

static Opened
open_record (MtdRecordCipher *cipher, guint8 content_type, guint16 version,
             const guint8 *fragment, gsize fragment_len)
{
  Opened opened = { FALSE, 0, NULL, FALSE };
  g_autofree guint8 *out = g_malloc (MAX (fragment_len, 1));
  gsize out_len = 12345;
  memset (out, 0xa5, MAX (fragment_len, 1));

  opened.is_ok = mtd_record_cipher_decrypt (cipher, content_type, version, fragment,
                                            fragment_len, out, fragment_len, &out_len,
                                            &opened.inner_type);
  if (opened.is_ok)
    {
      g_assert_cmpuint (out_len, <=, fragment_len);
      opened.plaintext = g_byte_array_new ();
      g_byte_array_append (opened.plaintext, out, (guint) out_len);
    }
  else
    {
      opened.was_wiped = TRUE;
      for (gsize i = 0; i < fragment_len; i++)
        opened.was_wiped = opened.was_wiped && out[i] == 0;
    }
  return opened;
}

/* A whole record (5-byte header + fragment) as the RFC prints it. */
static Opened
open_wire_record (MtdRecordCipher *cipher, const GByteArray *record)
{
  MtdCursor cursor = mtd_cursor_init (record->data, record->len);
  guint8 type = 0;
  guint16 version = 0;
  guint16 length = 0;
  const guint8 *fragment = NULL;
  g_assert_true (mtd_cursor_read_u8 (&cursor, &type));
  g_assert_true (mtd_cursor_read_u16 (&cursor, &version));
  g_assert_true (mtd_cursor_read_u16 (&cursor, &length));
  g_assert_true (mtd_cursor_read_bytes (&cursor, length, &fragment));
  g_assert_true (mtd_cursor_is_done (&cursor));
  return open_record (cipher, type, version, fragment, length);
}

static void
assert_fails_unchanged (MtdRecordCipher *cipher, guint8 content_type, guint16 version,
                        const guint8 *fragment, gsize fragment_len)
{
  guint64 sequence = mtd_record_cipher_sequence (cipher);
  g_auto (Opened) opened = open_record (cipher, content_type, version, fragment, fragment_len);
  g_assert_false (opened.is_ok);
  g_assert_true (opened.was_wiped);
  g_assert_cmpuint (mtd_record_cipher_sequence (cipher), ==, sequence);
}

/* RFC 8446 §7.1 HKDF-Expand-Label with an empty context, through EVP_PKEY_CTX (not the EVP_KDF
 * interface the module uses). */
static void
expand_label (const char *digest_name, const guint8 *secret, gsize secret_len,
              const char *label, guint8 *out, gsize out_len)
{
  g_autofree char *full_label = g_strconcat ("tls13 ", label, NULL);
  gsize full_label_len = strlen (full_label);
  guint8 info[2 + 1 + 255 + 1];
  gsize info_len = 0;
  info[info_len++] = (guint8) (out_len >> 8);
  info[info_len++] = (guint8) out_len;
  info[info_len++] = (guint8) full_label_len;
  memcpy (info + info_len, full_label, full_label_len);
  info_len += full_label_len;
  info[info_len++] = 0;

  EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_id (EVP_PKEY_HKDF, NULL);
  gsize derived_len = out_len;
  g_assert_nonnull (pctx);
  g_assert_cmpint (EVP_PKEY_derive_init (pctx), ==, 1);
  g_assert_cmpint (EVP_PKEY_CTX_set_hkdf_mode (pctx, EVP_PKEY_HKDEF_MODE_EXPAND_ONLY), ==, 1);
  g_assert_cmpint (EVP_PKEY_CTX_set_hkdf_md (pctx, EVP_get_digestbyname (digest_name)), ==, 1);
  g_assert_cmpint (EVP_PKEY_CTX_set1_hkdf_key (pctx, secret, (int) secret_len), ==, 1);
  g_assert_cmpint (EVP_PKEY_CTX_add1_hkdf_info (pctx, info, (int) info_len), ==, 1);
  g_assert_cmpint (EVP_PKEY_derive (pctx, out, &derived_len), ==, 1);
  g_assert_cmpuint (derived_len, ==, out_len);
  EVP_PKEY_CTX_free (pctx);
}

/* RFC 5246 §6.3 key block through EVP_PKEY_CTX TLS1-PRF (not EVP_KDF). */
static void
tls12_key_block (const char *digest_name, const guint8 *master_secret,
                 const guint8 *client_random, const guint8 *server_random, guint8 *out,
                 gsize out_len)
{
  static const char label[] = "key expansion";
  EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_id (EVP_PKEY_TLS1_PRF, NULL);
  gsize derived_len = out_len;
  g_assert_nonnull (pctx);
  g_assert_cmpint (EVP_PKEY_derive_init (pctx), ==, 1);
  g_assert_cmpint (EVP_PKEY_CTX_set_tls1_prf_md (pctx, EVP_get_digestbyname (digest_name)), ==,
                   1);
  g_assert_cmpint (EVP_PKEY_CTX_set1_tls1_prf_secret (pctx, master_secret, 48), ==, 1);
  g_assert_cmpint (EVP_PKEY_CTX_add1_tls1_prf_seed (pctx, (const guint8 *) label,
                                                     sizeof label - 1), ==, 1);
  g_assert_cmpint (EVP_PKEY_CTX_add1_tls1_prf_seed (pctx, server_random, RANDOM_LEN), ==, 1);
  g_assert_cmpint (EVP_PKEY_CTX_add1_tls1_prf_seed (pctx, client_random, RANDOM_LEN), ==, 1);
  g_assert_cmpint (EVP_PKEY_derive (pctx, out, &derived_len), ==, 1);
  g_assert_cmpuint (derived_len, ==, out_len);
  EVP_PKEY_CTX_free (pctx);
}

/* AEAD seal with raw EVP: ciphertext then the 16-byte tag appended to out. */
static void
aead_seal (const EVP_CIPHER *evp_cipher, const guint8 *key, const guint8 *nonce,
           const guint8 *aad, gsize aad_len, const guint8 *plaintext, gsize plaintext_len,
           GByteArray *out)
{
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  gboolean is_ccm = EVP_CIPHER_get_mode (evp_cipher) == EVP_CIPH_CCM_MODE;
  guint8 tag[TAG_LEN];
  int n = 0;
  guint start = out->len;

  g_byte_array_set_size (out, out->len + (guint) plaintext_len);
  g_assert_cmpint (EVP_EncryptInit_ex (ctx, evp_cipher, NULL, NULL, NULL), ==, 1);
  g_assert_cmpint (EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL), ==, 1);
  if (is_ccm)
    g_assert_cmpint (EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, NULL), ==, 1);
  g_assert_cmpint (EVP_EncryptInit_ex (ctx, NULL, NULL, key, nonce), ==, 1);
  if (is_ccm)
    g_assert_cmpint (EVP_EncryptUpdate (ctx, NULL, &n, NULL, (int) plaintext_len), ==, 1);
  g_assert_cmpint (EVP_EncryptUpdate (ctx, NULL, &n, aad, (int) aad_len), ==, 1);
  if (plaintext_len > 0 || is_ccm)
    g_assert_cmpint (EVP_EncryptUpdate (ctx, out->data + start, &n, plaintext,
                                        (int) plaintext_len), ==, 1);
  g_assert_cmpint (EVP_EncryptFinal_ex (ctx, out->data + start, &n), ==, 1);
  g_assert_cmpint (EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, tag), ==, 1);
  g_byte_array_append (out, tag, TAG_LEN);
  EVP_CIPHER_CTX_free (ctx);
}

static void
put_u64 (guint8 *out, guint64 value)
{
  for (int i = 0; i < 8; i++)
    out[i] = (guint8) (value >> (56 - 8 * i));
}

/* RFC 8446 §5.3 nonce: iv XOR the sequence number, left-padded to 12 bytes. */
static void
xor_nonce (const guint8 *iv, guint64 sequence, guint8 *nonce)
{
  guint8 padded[12] = { 0 };
  put_u64 (padded + 4, sequence);
  for (int i = 0; i < 12; i++)
    nonce[i] = iv[i] ^ padded[i];
}

/* RFC 8446 §5.2: a TLS 1.3 fragment for content of type inner_type followed by padding_len
 * zeros, under key and iv at sequence. */
static GByteArray *
seal_tls13 (const EVP_CIPHER *evp_cipher, const guint8 *key, const guint8 *iv, guint64 sequence,
            guint8 inner_type, const guint8 *content, gsize content_len, gsize padding_len)
{
  g_autoptr (GByteArray) inner = g_byte_array_new ();
  GByteArray *fragment = g_byte_array_new ();
  guint8 nonce[12];
  g_byte_array_append (inner, content, (guint) content_len);
  g_byte_array_append (inner, &inner_type, 1);
  for (gsize i = 0; i < padding_len; i++)
    g_byte_array_append (inner, (const guint8 *) "", 1);
  gsize fragment_len = inner->len + TAG_LEN;
  guint8 aad[5] = { CONTENT_APPLICATION_DATA, 0x03, 0x03, (guint8) (fragment_len >> 8),
                    (guint8) fragment_len };
  xor_nonce (iv, sequence, nonce);
  aead_seal (evp_cipher, key, nonce, aad, sizeof aad, inner->data, inner->len, fragment);
  return fragment;
}

/* RFC 5246 §6.2.3.3: seq_num + type + version + length. */
static void
tls12_pseudo_header (guint64 sequence, guint8 type, gsize length, guint8 *out)
{
  put_u64 (out, sequence);
  out[8] = type;
  out[9] = 0x03;
  out[10] = 0x03;
  out[11] = (guint8) (length >> 8);
  out[12] = (guint8) length;
}

static void
assert_bytes (const GByteArray *got, const guint8 *expected, gsize expected_len)
{
  g_assert_nonnull (got);
  g_assert_cmpmem (got->data, got->len, expected, expected_len);
}

static void
assert_prefix (const GByteArray *got, const char *expected)
{
  g_assert_nonnull (got);
  g_assert_cmpuint (got->len, >=, strlen (expected));
  g_assert_cmpmem (got->data, strlen (expected), expected, strlen (expected));
}

/* ---- 1. RFC 8448 §3 --------------------------------------------------------------------- */

static const char rfc8448_server_hs_secret[] =
  "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38";
static const char rfc8448_server_hs_key[] = "3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc";
static const char rfc8448_server_hs_iv[] = "5d 31 3e b2 67 12 76 ee 13 00 0b 30";
static const char rfc8448_client_hs_secret[] =
  "b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f 3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a 21";
static const char rfc8448_client_hs_key[] = "db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01";
static const char rfc8448_client_hs_iv[] = "5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f";
static const char rfc8448_server_ap_secret[] =
  "a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43";
static const char rfc8448_server_ap_key[] = "9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56";
static const char rfc8448_server_ap_iv[] = "cf 78 2b 88 dd 83 54 9a ad f1 e9 84";
static const char rfc8448_client_ap_secret[] =
  "9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5";
static const char rfc8448_client_ap_key[] = "17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51";
static const char rfc8448_client_ap_iv[] = "5b 78 92 3d ee 08 57 90 33 e5 23 d9";

/* "{server} send handshake record: complete record (679 octets)" */
static const char rfc8448_server_flight_record[] =
  "17 03 03 02 a2 d1 ff 33 4a 56 f5 bf f6 59 4a 07 cc 87 b5 80 23 3f 50 0f 45 e4 89 e7 f3 3a f3 5e"
  "df 78 69 fc f4 0a a4 0a a2 b8 ea 73 f8 48 a7 ca 07 61 2e f9 f9 45 cb 96 0b 40 68 90 51 23 ea 78"
  "b1 11 b4 29 ba 91 91 cd 05 d2 a3 89 28 0f 52 61 34 aa dc 7f c7 8c 4b 72 9d f8 28 b5 ec f7 b1 3b"
  "d9 ae fb 0e 57 f2 71 58 5b 8e a9 bb 35 5c 7c 79 02 07 16 cf b9 b1 18 3e f3 ab 20 e3 7d 57 a6 b9"
  "d7 47 76 09 ae e6 e1 22 a4 cf 51 42 73 25 25 0c 7d 0e 50 92 89 44 4c 9b 3a 64 8f 1d 71 03 5d 2e"
  "d6 5b 0e 3c dd 0c ba e8 bf 2d 0b 22 78 12 cb b3 60 98 72 55 cc 74 41 10 c4 53 ba a4 fc d6 10 92"
  "8d 80 98 10 e4 b7 ed 1a 8f d9 91 f0 6a a6 24 82 04 79 7e 36 a6 a7 3b 70 a2 55 9c 09 ea d6 86 94"
  "5b a2 46 ab 66 e5 ed d8 04 4b 4c 6d e3 fc f2 a8 94 41 ac 66 27 2f d8 fb 33 0e f8 19 05 79 b3 68"
  "45 96 c9 60 bd 59 6e ea 52 0a 56 a8 d6 50 f5 63 aa d2 74 09 96 0d ca 63 d3 e6 88 61 1e a5 e2 2f"
  "44 15 cf 95 38 d5 1a 20 0c 27 03 42 72 96 8a 26 4e d6 54 0c 84 83 8d 89 f7 2c 24 46 1a ad 6d 26"
  "f5 9e ca ba 9a cb bb 31 7b 66 d9 02 f4 f2 92 a3 6a c1 b6 39 c6 37 ce 34 31 17 b6 59 62 22 45 31"
  "7b 49 ee da 0c 62 58 f1 00 d7 d9 61 ff b1 38 64 7e 92 ea 33 0f ae ea 6d fa 31 c7 a8 4d c3 bd 7e"
  "1b 7a 6c 71 78 af 36 87 90 18 e3 f2 52 10 7f 24 3d 24 3d c7 33 9d 56 84 c8 b0 37 8b f3 02 44 da"
  "8c 87 c8 43 f5 e5 6e b4 c5 e8 28 0a 2b 48 05 2c f9 3b 16 49 9a 66 db 7c ca 71 e4 59 94 26 f7 d4"
  "61 e6 6f 99 88 2b d8 9f c5 08 00 be cc a6 2d 6c 74 11 6d bd 29 72 fd a1 fa 80 f8 5d f8 81 ed be"
  "5a 37 66 89 36 b3 35 58 3b 59 91 86 dc 5c 69 18 a3 96 fa 48 a1 81 d6 b6 fa 4f 9d 62 d5 13 af bb"
  "99 2f 2b 99 2f 67 f8 af e6 7f 76 91 3f a3 88 cb 56 30 c8 ca 01 e0 c6 5d 11 c6 6a 1e 2a c4 c8 59"
  "77 b7 c7 a6 99 9b bf 10 dc 35 ae 69 f5 51 56 14 63 6c 0b 9b 68 c1 9e d2 e3 1c 0b 3b 66 76 30 38"
  "eb ba 42 f3 b3 8e dc 03 99 f3 a9 f2 3f aa 63 97 8c 31 7f c9 fa 66 a7 3f 60 f0 50 4d e9 3b 5b 84"
  "5e 27 55 92 c1 23 35 ee 34 0b bc 4f dd d5 02 78 40 16 e4 b3 be 7e f0 4d da 49 f4 b4 40 a3 0c b5"
  "d2 af 93 98 28 fd 4a e3 79 4e 44 f9 4d f5 a6 31 ed e4 2c 17 19 bf da bf 02 53 fe 51 75 be 89 8e"
  "75 0e dc 53 37 0d 2b";
/* The flight's first message, "{server} construct an EncryptedExtensions handshake message",
 * and its last, "{server} construct a Finished handshake message". */
static const char rfc8448_encrypted_extensions[] =
  "08 00 00 24 00 22 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03 01 04 00 1c"
  "00 02 40 01 00 00 00 00";
static const char rfc8448_server_finished[] =
  "14 00 00 20 9b 9b 14 1d 90 63 37 fb d2 cb dc e7 1d f4 de da 4a b4 2c 30 95 72 cb 7f ff ee 54 54"
  "b7 8f 07 18";
/* "{client} send handshake record: complete record (58 octets)" */
static const char rfc8448_client_finished_record[] =
  "17 03 03 00 35 75 ec 4d c2 38 cc e6 0b 29 80 44 a7 1e 21 9c 56 cc 77 b0 51 7f e9 b9 3c 7a 4b fc"
  "44 d8 7f 38 f8 03 38 ac 98 fc 46 de b3 84 bd 1c ae ac ab 68 67 d7 26 c4 05 46";
/* "{client} send application_data record: complete record (72 octets)"; its payload is the 50
 * bytes 00 01 02 ... 31. */
static const char rfc8448_client_data_record[] =
  "17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea 42 f9 14 aa 66 bc ab 3f"
  "2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b 62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d ea e6"
  "3a ee bb 21 69 49 15 e4";

/* The test's HKDF-Expand-Label (used by the self-consistency tests) gives the RFC's keys. */
static void
test_rfc8448_expand_label (void)
{
  const struct {
    const char *secret, *key, *iv;
  } cases[] = {
    { rfc8448_server_hs_secret, rfc8448_server_hs_key, rfc8448_server_hs_iv },
    { rfc8448_client_hs_secret, rfc8448_client_hs_key, rfc8448_client_hs_iv },
    { rfc8448_server_ap_secret, rfc8448_server_ap_key, rfc8448_server_ap_iv },
    { rfc8448_client_ap_secret, rfc8448_client_ap_key, rfc8448_client_ap_iv },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GByteArray) secret = hex_decode (cases[i].secret);
      g_autoptr (GByteArray) key = hex_decode (cases[i].key);
      g_autoptr (GByteArray) iv = hex_decode (cases[i].iv);
      guint8 derived_key[16];
      guint8 derived_iv[12];
      expand_label ("SHA256", secret->data, secret->len, "key", derived_key, sizeof derived_key);
      expand_label ("SHA256", secret->data, secret->len, "iv", derived_iv, sizeof derived_iv);
      g_assert_cmpmem (derived_key, sizeof derived_key, key->data, key->len);
      g_assert_cmpmem (derived_iv, sizeof derived_iv, iv->data, iv->len);
    }
}

static void
test_rfc8448_server_flight (void)
{
  g_autoptr (GByteArray) secret = hex_decode (rfc8448_server_hs_secret);
  g_autoptr (GByteArray) record = hex_decode (rfc8448_server_flight_record);
  g_autoptr (GByteArray) encrypted_extensions = hex_decode (rfc8448_encrypted_extensions);
  g_autoptr (GByteArray) finished = hex_decode (rfc8448_server_finished);
  g_autoptr (MtdRecordCipher) cipher = mtd_record_cipher_new_tls13 (0x1301, secret->data,
                                                                    secret->len);
  g_assert_nonnull (cipher);
  g_assert_cmpuint (record->len, ==, 679);

  g_auto (Opened) opened = open_wire_record (cipher, record);
  g_assert_true (opened.is_ok);
  g_assert_cmpuint (opened.inner_type, ==, CONTENT_HANDSHAKE);
  /* "payload (657 octets)": EncryptedExtensions, Certificate, CertificateVerify, Finished. */
  g_assert_cmpuint (opened.plaintext->len, ==, 657);
  g_assert_cmpuint (opened.plaintext->data[0], ==, HANDSHAKE_ENCRYPTED_EXTENSIONS);
  g_assert_cmpmem (opened.plaintext->data, encrypted_extensions->len, encrypted_extensions->data,
                   encrypted_extensions->len);
  g_assert_cmpmem (opened.plaintext->data + 657 - finished->len, finished->len, finished->data,
                   finished->len);
  g_assert_cmpuint (mtd_record_cipher_sequence (cipher), ==, 1);

  /* The same record again is at sequence 1 now: its nonce no longer matches. */
  g_auto (Opened) replayed = open_wire_record (cipher, record);
  g_assert_false (replayed.is_ok);
  g_assert_cmpuint (mtd_record_cipher_sequence (cipher), ==, 1);

  /* A record sealed here with the key and iv the RFC prints, at sequence 1: the module's key
   * and iv are the RFC's, and its nonce is iv XOR 1. */
  g_autoptr (GByteArray) key = hex_decode (rfc8448_server_hs_key);
  g_autoptr (GByteArray) iv = hex_decode (rfc8448_server_hs_iv);
  static const guint8 content[] = "a record at sequence 1";
  g_autoptr (GByteArray) fragment = seal_tls13 (EVP_aes_128_gcm (), key->data, iv->data, 1,
                                                CONTENT_HANDSHAKE, content, sizeof content, 0);
  g_auto (Opened) second = open_record (cipher, CONTENT_APPLICATION_DATA, TLS12_VERSION,
                                        fragment->data, fragment->len);
  g_assert_true (second.is_ok);
  g_assert_cmpuint (second.inner_type, ==, CONTENT_HANDSHAKE);
  assert_bytes (second.plaintext, content, sizeof content);
  g_assert_cmpuint (mtd_record_cipher_sequence (cipher), ==, 2);
}

static void
test_rfc8448_client_records (void)
{
  g_autoptr (GByteArray) hs_secret = hex_decode (rfc8448_client_hs_secret);
  g_autoptr (GByteArray) ap_secret = hex_decode (rfc8448_client_ap_secret);
  g_autoptr (GByteArray) finished_record = hex_decode (rfc8448_client_finished_record);
  g_autoptr (GByteArray) data_record = hex_decode (rfc8448_client_data_record);
  g_autoptr (MtdRecordCipher) hs_cipher = mtd_record_cipher_new_tls13 (0x1301, hs_secret->data,
                                                                       hs_secret->len);
  g_autoptr (MtdRecordCipher) ap_cipher = mtd_record_cipher_new_tls13 (0x1301, ap_secret->data,
                                                                       ap_secret->len);
  g_assert_nonnull (hs_cipher);
  g_assert_nonnull (ap_cipher);

  /* The application record does not open with the handshake keys, nor the other way round. */
  g_auto (Opened) crossed = open_wire_record (hs_cipher, data_record);
  g_assert_false (crossed.is_ok);
  g_auto (Opened) crossed_back = open_wire_record (ap_cipher, finished_record);
  g_assert_false (crossed_back.is_ok);

  g_auto (Opened) finished = open_wire_record (hs_cipher, finished_record);
  g_assert_true (finished.is_ok);
  g_assert_cmpuint (finished.inner_type, ==, CONTENT_HANDSHAKE);
  static const guint8 finished_head[] = { HANDSHAKE_FINISHED, 0x00, 0x00, 0x20 };
  g_assert_cmpuint (finished.plaintext->len, ==, 4 + 32);
  g_assert_cmpmem (finished.plaintext->data, 4, finished_head, 4);

  g_auto (Opened) data = open_wire_record (ap_cipher, data_record);
  g_assert_true (data.is_ok);
  g_assert_cmpuint (data.inner_type, ==, CONTENT_APPLICATION_DATA);
  guint8 payload[50];
  for (guint8 i = 0; i < sizeof payload; i++)
    payload[i] = i;
  assert_bytes (data.plaintext, payload, sizeof payload);
}

/* ---- 2. the sample captures ------------------------------------------------------------- */

typedef struct {
  guint8 type;
  guint16 version;
  const guint8 *fragment; /* borrowed from the stream */
  gsize fragment_len;
} Record;

/* Both directions of the one TCP connection of a capture, and their TLS records. */
typedef struct {
  GByteArray *client_stream;
  GByteArray *server_stream;
  GArray *client_records; /* Record */
  GArray *server_records;
  GHashTable *secrets; /* label (char*) -> hex secret (char*), both owned */
  guint8 client_random[RANDOM_LEN];
  guint8 server_random[RANDOM_LEN];
  guint16 cipher_suite;
} Capture;

static void
capture_free (Capture *capture)
{
  g_byte_array_unref (capture->client_stream);
  g_byte_array_unref (capture->server_stream);
  g_array_unref (capture->client_records);
  g_array_unref (capture->server_records);
  g_hash_table_unref (capture->secrets);
  g_free (capture);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Capture, capture_free)

static guint32
read_u32_in_order (MtdCursor *cursor, gboolean is_swapped)
{
  guint32 value = 0;
  g_assert_true (mtd_cursor_read_u32 (cursor, &value));
  return is_swapped ? GUINT32_SWAP_LE_BE (value) : value;
}

/* Appends a segment's payload when it is the next byte of its direction; a retransmission is
 * skipped, a gap fails the test (these loopback captures have none). */
static void
append_segment (GByteArray *stream, guint32 *next_seq, guint32 seq, const guint8 *payload,
                gsize payload_len)
{
  if (payload_len == 0)
    return;
  if ((gint32) (seq - *next_seq) < 0)
    return;
  g_assert_cmpuint (seq, ==, *next_seq);
  g_byte_array_append (stream, payload, (guint) payload_len);
  *next_seq = seq + (guint32) payload_len;
}

/* Classic pcap (either byte order, micro- or nanoseconds), link type Ethernet, IPv4, TCP. */
static void
read_tcp_streams (const char *path, GByteArray *client_stream, GByteArray *server_stream)
{
  g_autofree char *contents = NULL;
  gsize contents_len = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (path, &contents, &contents_len, &error));
  g_assert_no_error (error);

  MtdCursor file = mtd_cursor_init ((const guint8 *) contents, contents_len);
  guint32 magic = 0;
  g_assert_true (mtd_cursor_read_u32 (&file, &magic));
  gboolean is_swapped = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
  g_assert_true (is_swapped || magic == 0xa1b2c3d4 || magic == 0xa1b23c4d);
  g_assert_true (mtd_cursor_skip (&file, 2 + 2 + 4 + 4 + 4)); /* versions, zone, sigfigs, snaplen */
  g_assert_cmpuint (read_u32_in_order (&file, is_swapped), ==, 1); /* LINKTYPE_ETHERNET */

  guint16 client_port = 0;
  guint32 next_seq[2] = { 0, 0 }; /* client -> server, server -> client */
  while (!mtd_cursor_is_empty (&file))
    {
      MtdCursor packet;
      g_assert_true (mtd_cursor_skip (&file, 8)); /* timestamp */
      guint32 caplen = read_u32_in_order (&file, is_swapped);
      guint32 wire_len = read_u32_in_order (&file, is_swapped);
      g_assert_cmpuint (caplen, ==, wire_len);
      g_assert_true (mtd_cursor_read_sub (&file, caplen, &packet));

      guint16 ethertype = 0;
      g_assert_true (mtd_cursor_skip (&packet, 12));
      g_assert_true (mtd_cursor_read_u16 (&packet, &ethertype));
      if (ethertype != 0x0800)
        continue;

      guint8 version_ihl = 0;
      guint16 total_len = 0;
      guint8 protocol = 0;
      MtdCursor ip;
      g_assert_true (mtd_cursor_peek_u8 (&packet, 0, &version_ihl));
      g_assert_true (mtd_cursor_peek_u16 (&packet, 2, &total_len));
      g_assert_true (mtd_cursor_peek_u8 (&packet, 9, &protocol));
      g_assert_cmpuint (version_ihl >> 4, ==, 4);
      g_assert_true (mtd_cursor_read_sub (&packet, total_len, &ip)); /* drops link padding */
      g_assert_true (mtd_cursor_skip (&ip, (gsize) (version_ihl & 0x0f) * 4));
      if (protocol != 6)
        continue;

      guint16 src_port = 0;
      guint16 dst_port = 0;
      guint32 seq = 0;
      guint8 data_offset = 0;
      guint8 flags = 0;
      g_assert_true (mtd_cursor_read_u16 (&ip, &src_port));
      g_assert_true (mtd_cursor_read_u16 (&ip, &dst_port));
      g_assert_true (mtd_cursor_read_u32 (&ip, &seq));
      g_assert_true (mtd_cursor_skip (&ip, 4)); /* ack */
      g_assert_true (mtd_cursor_read_u8 (&ip, &data_offset));
      g_assert_true (mtd_cursor_read_u8 (&ip, &flags));
      g_assert_true (mtd_cursor_skip (&ip, (gsize) (data_offset >> 4) * 4 - 14));

      gboolean is_syn = (flags & 0x02) != 0;
      gboolean is_ack = (flags & 0x10) != 0;
      if (is_syn && !is_ack)
        client_port = src_port;
      g_assert_cmpuint (client_port, !=, 0); /* the capture starts with the handshake */
      gboolean is_from_client = src_port == client_port;
      if (is_syn)
        {
          next_seq[is_from_client ? 0 : 1] = seq + 1;
          continue;
        }
      gsize payload_len = mtd_cursor_remaining (&ip);
      append_segment (is_from_client ? client_stream : server_stream,
                      &next_seq[is_from_client ? 0 : 1], seq, mtd_cursor_peek_bytes (&ip),
                      payload_len);
    }
  g_assert_true (mtd_cursor_is_done (&file));
}

static GArray *
split_records (const GByteArray *stream)
{
  GArray *records = g_array_new (FALSE, TRUE, sizeof (Record));
  MtdCursor cursor = mtd_cursor_init (stream->data, stream->len);
  while (!mtd_cursor_is_empty (&cursor))
    {
      Record record = { 0 };
      guint16 length = 0;
      g_assert_true (mtd_cursor_read_u8 (&cursor, &record.type));
      g_assert_true (mtd_cursor_read_u16 (&cursor, &record.version));
      g_assert_true (mtd_cursor_read_u16 (&cursor, &length));
      g_assert_true (mtd_cursor_read_bytes (&cursor, length, &record.fragment));
      record.fragment_len = length;
      g_array_append_val (records, record);
    }
  g_assert_true (mtd_cursor_is_done (&cursor));
  return records;
}

/* ClientHello / ServerHello (RFC 8446 §4.1.2-4.1.3): the random, and the ServerHello's
 * cipher_suite.  These captures carry each hello in one record of its own. */
static void
read_hello (const Record *record, guint8 hello_type, guint8 *random, guint16 *cipher_suite)
{
  MtdCursor cursor = mtd_cursor_init (record->fragment, record->fragment_len);
  MtdCursor body;
  MtdCursor session_id;
  guint8 type = 0;
  guint16 legacy_version = 0;
  g_assert_cmpuint (record->type, ==, CONTENT_HANDSHAKE);
  g_assert_true (mtd_cursor_read_u8 (&cursor, &type));
  g_assert_cmpuint (type, ==, hello_type);
  g_assert_true (mtd_cursor_read_prefixed24 (&cursor, &body));
  g_assert_true (mtd_cursor_read_u16 (&body, &legacy_version));
  g_assert_true (mtd_cursor_copy_bytes (&body, random, RANDOM_LEN));
  if (cipher_suite != NULL)
    {
      g_assert_true (mtd_cursor_read_prefixed8 (&body, &session_id));
      g_assert_true (mtd_cursor_read_u16 (&body, cipher_suite));
    }
}

/* The NSS key log next to the capture, read with a plain split: "LABEL CLIENT_RANDOM SECRET".
 * Only lines for this capture's client random are kept. */
static GHashTable *
read_key_log (const char *path, const guint8 *client_random)
{
  GHashTable *secrets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *random_hex = g_malloc (2 * RANDOM_LEN + 1);
  for (gsize i = 0; i < RANDOM_LEN; i++)
    g_snprintf (random_hex + 2 * i, 3, "%02x", client_random[i]);

  g_assert_true (g_file_get_contents (path, &contents, NULL, &error));
  g_assert_no_error (error);
  g_auto (GStrv) lines = g_strsplit (contents, "\n", -1);
  for (gsize i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) fields = g_strsplit (g_strstrip (lines[i]), " ", -1);
      if (g_strv_length (fields) == 3 && fields[0][0] != '#'
          && g_ascii_strcasecmp (fields[1], random_hex) == 0)
        g_hash_table_insert (secrets, g_strdup (fields[0]), g_strdup (fields[2]));
    }
  return secrets;
}

static Capture *
capture_load (const char *file_name)
{
  Capture *capture = g_new0 (Capture, 1);
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "captures", file_name, NULL);
  g_autofree char *keys_path = g_strconcat (path, ".keys", NULL);

  capture->client_stream = g_byte_array_new ();
  capture->server_stream = g_byte_array_new ();
  read_tcp_streams (path, capture->client_stream, capture->server_stream);
  capture->client_records = split_records (capture->client_stream);
  capture->server_records = split_records (capture->server_stream);
  g_assert_cmpuint (capture->client_records->len, >, 0);
  g_assert_cmpuint (capture->server_records->len, >, 0);
  read_hello (&g_array_index (capture->client_records, Record, 0), HANDSHAKE_CLIENT_HELLO,
              capture->client_random, NULL);
  read_hello (&g_array_index (capture->server_records, Record, 0), HANDSHAKE_SERVER_HELLO,
              capture->server_random, &capture->cipher_suite);
  capture->secrets = read_key_log (keys_path, capture->client_random);
  return capture;
}

static GByteArray *
capture_secret (const Capture *capture, const char *label)
{
  const char *hex = g_hash_table_lookup (capture->secrets, label);
  g_assert_nonnull (hex);
  return hex_decode (hex);
}

static MtdRecordCipher *
capture_tls13_cipher (const Capture *capture, const char *label)
{
  g_autoptr (GByteArray) secret = capture_secret (capture, label);
  MtdRecordCipher *cipher = mtd_record_cipher_new_tls13 (capture->cipher_suite, secret->data,
                                                         secret->len);
  g_assert_nonnull (cipher);
  return cipher;
}

/* Handshake messages, possibly spanning records, as (type, body) in order. */
typedef struct {
  GByteArray *bytes;
  GArray *types;  /* guint8 */
  GPtrArray *bodies; /* GByteArray*, owned */
} Messages;

static void
messages_clear (Messages *messages)
{
  g_clear_pointer (&messages->bytes, g_byte_array_unref);
  g_clear_pointer (&messages->types, g_array_unref);
  g_clear_pointer (&messages->bodies, g_ptr_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Messages, messages_clear)

static Messages
messages_new (void)
{
  Messages messages = { g_byte_array_new (), g_array_new (FALSE, TRUE, 1),
                        g_ptr_array_new_with_free_func ((GDestroyNotify) g_byte_array_unref) };
  return messages;
}

/* Adds handshake plaintext and takes every complete message off the front. */
static void
messages_add (Messages *messages, const GByteArray *plaintext)
{
  g_byte_array_append (messages->bytes, plaintext->data, plaintext->len);
  for (;;)
    {
      MtdCursor cursor = mtd_cursor_init (messages->bytes->data, messages->bytes->len);
      MtdCursor body;
      guint8 type = 0;
      if (!mtd_cursor_read_u8 (&cursor, &type) || !mtd_cursor_read_prefixed24 (&cursor, &body))
        return;
      GByteArray *body_bytes = g_byte_array_new ();
      g_byte_array_append (body_bytes, mtd_cursor_peek_bytes (&body),
                           (guint) mtd_cursor_remaining (&body));
      g_array_append_val (messages->types, type);
      g_ptr_array_add (messages->bodies, body_bytes);
      g_byte_array_remove_range (messages->bytes, 0,
                                 (guint) (messages->bytes->len - mtd_cursor_remaining (&cursor)));
    }
}

static void
assert_types (const Messages *messages, const guint8 *expected, gsize n_expected)
{
  g_assert_cmpmem (messages->types->data, messages->types->len, expected, n_expected);
  g_assert_cmpuint (messages->bytes->len, ==, 0);
}

/* TLS 1.3 records of one direction after its hello: the handshake flight with the handshake
 * traffic secret up to its Finished, the rest with the first application traffic secret.
 * ChangeCipherSpec (RFC 8446 §5: compatibility mode) is skipped unprotected. */
typedef struct {
  Messages flight;
  Messages after;      /* post-handshake messages (NewSessionTicket) */
  GByteArray *app_data;
  GArray *alerts;      /* guint8 pairs: level, description */
  guint64 n_handshake_records;
  guint64 n_application_records;
  const Record *first_protected; /* borrowed */
} Direction13;

static void
direction13_clear (Direction13 *direction)
{
  messages_clear (&direction->flight);
  messages_clear (&direction->after);
  g_clear_pointer (&direction->app_data, g_byte_array_unref);
  g_clear_pointer (&direction->alerts, g_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Direction13, direction13_clear)

static Direction13
decrypt_direction13 (const Capture *capture, const GArray *records, const char *hs_label,
                     const char *ap_label)
{
  Direction13 direction = { messages_new (), messages_new (), g_byte_array_new (),
                            g_array_new (FALSE, TRUE, 1), 0, 0, NULL };
  g_autoptr (MtdRecordCipher) hs_cipher = capture_tls13_cipher (capture, hs_label);
  g_autoptr (MtdRecordCipher) ap_cipher = capture_tls13_cipher (capture, ap_label);
  gboolean has_finished = FALSE;

  for (guint i = 1; i < records->len; i++)
    {
      const Record *record = &g_array_index (records, Record, i);
      if (record->type == CONTENT_CHANGE_CIPHER_SPEC)
        continue;
      g_assert_cmpuint (record->type, ==, CONTENT_APPLICATION_DATA); /* RFC 8446 §5.2 */
      if (direction.first_protected == NULL)
        direction.first_protected = record;
      MtdRecordCipher *cipher = has_finished ? ap_cipher : hs_cipher;
      g_auto (Opened) opened = open_record (cipher, record->type, record->version,
                                            record->fragment, record->fragment_len);
      g_assert_true (opened.is_ok);
      if (!has_finished)
        {
          g_assert_cmpuint (opened.inner_type, ==, CONTENT_HANDSHAKE);
          messages_add (&direction.flight, opened.plaintext);
          guint n_types = direction.flight.types->len;
          has_finished = n_types > 0
                         && g_array_index (direction.flight.types, guint8, n_types - 1)
                              == HANDSHAKE_FINISHED;
          continue;
        }
      switch (opened.inner_type)
        {
        case CONTENT_HANDSHAKE:
          messages_add (&direction.after, opened.plaintext);
          break;
        case CONTENT_APPLICATION_DATA:
          g_byte_array_append (direction.app_data, opened.plaintext->data,
                               opened.plaintext->len);
          break;
        case CONTENT_ALERT:
          g_array_append_vals (direction.alerts, opened.plaintext->data, opened.plaintext->len);
          break;
        default:
          g_assert_not_reached ();
        }
    }
  g_assert_true (has_finished);
  direction.n_handshake_records = mtd_record_cipher_sequence (hs_cipher);
  direction.n_application_records = mtd_record_cipher_sequence (ap_cipher);
  return direction;
}

/* The first protected record of a direction, alone with a fresh cipher: its first handshake
 * message is of type first_type. */
static void
assert_first_record (const Capture *capture, const Direction13 *direction, const char *hs_label,
                     guint8 first_type)
{
  const Record *record = direction->first_protected;
  g_autoptr (MtdRecordCipher) cipher = capture_tls13_cipher (capture, hs_label);
  g_assert_nonnull (record);
  g_auto (Opened) opened = open_record (cipher, record->type, record->version, record->fragment,
                                        record->fragment_len);
  g_assert_true (opened.is_ok);
  g_assert_cmpuint (opened.inner_type, ==, CONTENT_HANDSHAKE);
  g_assert_cmpuint (opened.plaintext->len, >=, 4);
  g_assert_cmpuint (opened.plaintext->data[0], ==, first_type);
  g_assert_cmpuint (mtd_record_cipher_sequence (cipher), ==, 1);
}

static void
test_capture_tls13_presented (void)
{
  g_autoptr (Capture) capture = capture_load ("tls13-presented.pcap");
  /* `tshark -r tls13-presented.pcap -Y tls.handshake.type==2 -T fields
   *  -e tls.handshake.ciphersuite` */
  g_assert_cmphex (capture->cipher_suite, ==, 0x1302);

  /* The server's flight (s_server -verify 2 in TLS 1.3): EncryptedExtensions first, then the
   * CertificateRequest, its Certificate and CertificateVerify, and Finished. */
  g_auto (Direction13) server = decrypt_direction13 (capture, capture->server_records,
                                                     "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                                                     "SERVER_TRAFFIC_SECRET_0");
  static const guint8 server_flight[] = {
    HANDSHAKE_ENCRYPTED_EXTENSIONS, HANDSHAKE_CERTIFICATE_REQUEST, HANDSHAKE_CERTIFICATE,
    HANDSHAKE_CERTIFICATE_VERIFY, HANDSHAKE_FINISHED,
  };
  assert_types (&server.flight, server_flight, sizeof server_flight);
  assert_first_record (capture, &server, "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                       HANDSHAKE_ENCRYPTED_EXTENSIONS);
  GByteArray *server_finished = g_ptr_array_index (server.flight.bodies, 4);
  g_assert_cmpuint (server_finished->len, ==, 48); /* verify_data is Hash.length: SHA-384 */

  /* After the handshake: two NewSessionTickets (OpenSSL's default), the page s_server -www
   * writes, and close_notify. */
  static const guint8 tickets[] = { HANDSHAKE_NEW_SESSION_TICKET, HANDSHAKE_NEW_SESSION_TICKET };
  assert_types (&server.after, tickets, sizeof tickets);
  assert_prefix (server.app_data, "HTTP/1.0 200 ok\r\n");
  static const guint8 close_notify[] = { 1, 0 }; /* warning, close_notify (RFC 8446 §6) */
  g_assert_cmpmem (server.alerts->data, server.alerts->len, close_notify, sizeof close_notify);
  /* One record per message in both flights (README.md, the record table). */
  g_assert_cmpuint (server.n_handshake_records, ==, 5);
  g_assert_cmpuint (server.n_application_records, ==, 4);

  /* The client's flight (curl --cert, README.md): ChangeCipherSpec, then Certificate first,
   * with the client leaf expected.json names, CertificateVerify and Finished. */
  g_auto (Direction13) client = decrypt_direction13 (capture, capture->client_records,
                                                     "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                                                     "CLIENT_TRAFFIC_SECRET_0");
  g_assert_cmpuint (g_array_index (capture->client_records, Record, 1).type, ==,
                    CONTENT_CHANGE_CIPHER_SPEC);
  static const guint8 client_flight[] = {
    HANDSHAKE_CERTIFICATE, HANDSHAKE_CERTIFICATE_VERIFY, HANDSHAKE_FINISHED,
  };
  assert_types (&client.flight, client_flight, sizeof client_flight);
  assert_first_record (capture, &client, "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                       HANDSHAKE_CERTIFICATE);

  /* RFC 8446 §4.4.2: certificate_request_context<0..2^8-1>, certificate_list<0..2^24-1> of
   * cert_data<1..2^24-1> and extensions. */
  GByteArray *certificate = g_ptr_array_index (client.flight.bodies, 0);
  MtdCursor cursor = mtd_cursor_init (certificate->data, certificate->len);
  MtdCursor context;
  MtdCursor list;
  MtdCursor leaf;
  g_assert_true (mtd_cursor_read_prefixed8 (&cursor, &context));
  g_assert_true (mtd_cursor_read_prefixed24 (&cursor, &list));
  g_assert_true (mtd_cursor_read_prefixed24 (&list, &leaf));
  guint8 sha1[20];
  unsigned int sha1_len = 0;
  g_assert_cmpint (EVP_Digest (mtd_cursor_peek_bytes (&leaf), mtd_cursor_remaining (&leaf), sha1,
                               &sha1_len, EVP_sha1 (), NULL), ==, 1);
  g_autoptr (GByteArray) expected_sha1 = hex_decode ("A6A4173F9FFA741311C87440E231DCF6259F101B");
  g_assert_cmpmem (sha1, sha1_len, expected_sha1->data, expected_sha1->len);

  /* curl --http1.1; expected.json: GET /, host localhost:24412. */
  assert_prefix (client.app_data, "GET / HTTP/1.1\r\nHost: localhost:24412\r\n");
  g_assert_cmpmem (client.alerts->data, client.alerts->len, close_notify, sizeof close_notify);
  g_assert_cmpuint (client.n_handshake_records, ==, 3);
  g_assert_cmpuint (client.n_application_records, ==, 2);
}

/* The server's first protected record of tls13-presented: tampering, replays and wrong keys
 * fail and leave the sequence number where it was. */
static void
test_capture_tls13_tampered (void)
{
  g_autoptr (Capture) capture = capture_load ("tls13-presented.pcap");
  g_autoptr (MtdRecordCipher) cipher = capture_tls13_cipher (capture,
                                                             "SERVER_HANDSHAKE_TRAFFIC_SECRET");
  g_autoptr (MtdRecordCipher) client_cipher
    = capture_tls13_cipher (capture, "CLIENT_HANDSHAKE_TRAFFIC_SECRET");
  g_autoptr (MtdRecordCipher) app_cipher = capture_tls13_cipher (capture,
                                                                 "SERVER_TRAFFIC_SECRET_0");
  const Record *record = NULL;
  for (guint i = 1; i < capture->server_records->len && record == NULL; i++)
    if (g_array_index (capture->server_records, Record, i).type == CONTENT_APPLICATION_DATA)
      record = &g_array_index (capture->server_records, Record, i);
  g_assert_nonnull (record);
  g_autoptr (GByteArray) copy = g_byte_array_new ();
  g_byte_array_append (copy, record->fragment, (guint) record->fragment_len);

  /* One flipped bit anywhere: in the ciphertext, in the content type byte, in the tag. */
  for (gsize at = 0; at < copy->len; at++)
    {
      copy->data[at] ^= 0x01;
      assert_fails_unchanged (cipher, record->type, record->version, copy->data, copy->len);
      copy->data[at] ^= 0x01;
    }
  /* The header is additional data: another type or version does not verify. */
  assert_fails_unchanged (cipher, CONTENT_HANDSHAKE, record->version, copy->data, copy->len);
  assert_fails_unchanged (cipher, record->type, 0x0301, copy->data, copy->len);
  /* Every truncated prefix, and one byte too many. */
  for (gsize len = 0; len < copy->len; len++)
    assert_fails_unchanged (cipher, record->type, record->version, copy->data, len);
  g_byte_array_append (copy, (const guint8 *) "", 1);
  assert_fails_unchanged (cipher, record->type, record->version, copy->data, copy->len);
  /* Keys of the other direction, or of the next epoch. */
  assert_fails_unchanged (client_cipher, record->type, record->version, record->fragment,
                          record->fragment_len);
  assert_fails_unchanged (app_cipher, record->type, record->version, record->fragment,
                          record->fragment_len);

  g_auto (Opened) opened = open_record (cipher, record->type, record->version, record->fragment,
                                        record->fragment_len);
  g_assert_true (opened.is_ok);
  g_assert_cmpuint (opened.plaintext->data[0], ==, HANDSHAKE_ENCRYPTED_EXTENSIONS);
  g_assert_cmpuint (mtd_record_cipher_sequence (cipher), ==, 1);
  /* Replayed, or with a record missing in between: the nonce is the next one's. */
  assert_fails_unchanged (cipher, record->type, record->version, record->fragment,
                          record->fragment_len);

  /* The secret of the wrong length for the suite, or for another suite. */
  g_autoptr (GByteArray) secret = capture_secret (capture, "SERVER_HANDSHAKE_TRAFFIC_SECRET");
  g_assert_null (mtd_record_cipher_new_tls13 (0x1302, secret->data, 32));
  g_assert_null (mtd_record_cipher_new_tls13 (0x1301, secret->data, secret->len));
  g_assert_null (mtd_record_cipher_new_tls13 (0x1303, secret->data, secret->len));
  g_autoptr (MtdRecordCipher) other_suite = mtd_record_cipher_new_tls13 (0x1301, secret->data,
                                                                         32);
  g_assert_nonnull (other_suite);
  assert_fails_unchanged (other_suite, record->type, record->version, record->fragment,
                          record->fragment_len);
}

static MtdRecordCipher *
capture_tls12_cipher (const Capture *capture, gboolean is_client_write)
{
  g_autoptr (GByteArray) master_secret = capture_secret (capture, "CLIENT_RANDOM");
  MtdRecordCipher *cipher = mtd_record_cipher_new_tls12 (capture->cipher_suite,
                                                         master_secret->data, master_secret->len,
                                                         capture->client_random,
                                                         capture->server_random,
                                                         is_client_write, FALSE);
  g_assert_nonnull (cipher);
  return cipher;
}

/* The records of one TLS 1.2 direction after its ChangeCipherSpec: Finished first. */
static void
check_direction12 (const Capture *capture, const GArray *records, gboolean is_client_write,
                   const char *app_data_prefix)
{
  g_autoptr (MtdRecordCipher) cipher = capture_tls12_cipher (capture, is_client_write);
  g_autoptr (MtdRecordCipher) other_direction = capture_tls12_cipher (capture, !is_client_write);
  g_autoptr (GByteArray) app_data = g_byte_array_new ();
  guint i = 0;
  while (i < records->len && g_array_index (records, Record, i).type != CONTENT_CHANGE_CIPHER_SPEC)
    i++;
  g_assert_cmpuint (++i, <, records->len);

  /* Finished (RFC 5246 §7.4.9): handshake type 20, length 12, 12 bytes of verify_data. */
  const Record *finished = &g_array_index (records, Record, i);
  g_assert_cmpuint (finished->type, ==, CONTENT_HANDSHAKE);
  assert_fails_unchanged (other_direction, finished->type, finished->version, finished->fragment,
                          finished->fragment_len);
  g_auto (Opened) opened = open_record (cipher, finished->type, finished->version,
                                        finished->fragment, finished->fragment_len);
  g_assert_true (opened.is_ok);
  g_assert_cmpuint (opened.inner_type, ==, CONTENT_HANDSHAKE);
  static const guint8 finished_head[] = { HANDSHAKE_FINISHED, 0x00, 0x00, 0x0c };
  g_assert_cmpuint (opened.plaintext->len, ==, 4 + 12);
  g_assert_cmpmem (opened.plaintext->data, 4, finished_head, 4);
  g_assert_cmpuint (mtd_record_cipher_sequence (cipher), ==, 1);

  gboolean has_close_notify = FALSE;
  for (i++; i < records->len; i++)
    {
      const Record *record = &g_array_index (records, Record, i);
      g_auto (Opened) rest = open_record (cipher, record->type, record->version,
                                          record->fragment, record->fragment_len);
      g_assert_true (rest.is_ok);
      g_assert_cmpuint (rest.inner_type, ==, record->type);
      if (record->type == CONTENT_APPLICATION_DATA)
        g_byte_array_append (app_data, rest.plaintext->data, rest.plaintext->len);
      else if (record->type == CONTENT_ALERT)
        {
          static const guint8 close_notify[] = { 1, 0 };
          assert_bytes (rest.plaintext, close_notify, sizeof close_notify);
          has_close_notify = TRUE;
        }
    }
  assert_prefix (app_data, app_data_prefix);
  g_assert_true (has_close_notify);
}

static void
test_capture_tls12_presented (void)
{
  g_autoptr (Capture) capture = capture_load ("tls12-presented.pcap");
  /* tshark: the ServerHello chose TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384. */
  g_assert_cmphex (capture->cipher_suite, ==, 0xC02C);

  check_direction12 (capture, capture->client_records, TRUE, "GET / HTTP/1.0\r\n");
  check_direction12 (capture, capture->server_records, FALSE, "HTTP/1.0 200 ok\r\n");

  /* The client's Finished: tampered, truncated, or with the randoms swapped. */
  g_autoptr (MtdRecordCipher) cipher = capture_tls12_cipher (capture, TRUE);
  const Record *finished = NULL;
  for (guint i = 1; i < capture->client_records->len; i++)
    if (g_array_index (capture->client_records, Record, i - 1).type == CONTENT_CHANGE_CIPHER_SPEC)
      finished = &g_array_index (capture->client_records, Record, i);
  g_assert_nonnull (finished);
  g_autoptr (GByteArray) copy = g_byte_array_new ();
  g_byte_array_append (copy, finished->fragment, (guint) finished->fragment_len);
  for (gsize at = 0; at < copy->len; at++)
    {
      copy->data[at] ^= 0x80; /* the explicit nonce, the ciphertext, the tag */
      assert_fails_unchanged (cipher, finished->type, finished->version, copy->data, copy->len);
      copy->data[at] ^= 0x80;
    }
  for (gsize len = 0; len < copy->len; len++)
    assert_fails_unchanged (cipher, finished->type, finished->version, copy->data, len);
  assert_fails_unchanged (cipher, CONTENT_APPLICATION_DATA, finished->version, copy->data,
                          copy->len);

  g_autoptr (GByteArray) master_secret = capture_secret (capture, "CLIENT_RANDOM");
  g_autoptr (MtdRecordCipher) swapped = mtd_record_cipher_new_tls12 (
    capture->cipher_suite, master_secret->data, master_secret->len, capture->server_random,
    capture->client_random, TRUE, FALSE);
  g_assert_nonnull (swapped);
  assert_fails_unchanged (swapped, finished->type, finished->version, finished->fragment,
                          finished->fragment_len);
  /* The same master secret under the SHA-256 PRF suite of the same family gives other keys. */
  g_autoptr (MtdRecordCipher) other_prf = mtd_record_cipher_new_tls12 (
    0xC02B, master_secret->data, master_secret->len, capture->client_random,
    capture->server_random, TRUE, FALSE);
  g_assert_nonnull (other_prf);
  assert_fails_unchanged (other_prf, finished->type, finished->version, finished->fragment,
                          finished->fragment_len);

  g_auto (Opened) opened = open_record (cipher, finished->type, finished->version,
                                        finished->fragment, finished->fragment_len);
  g_assert_true (opened.is_ok);
}

/* ---- 3. self-consistency ---------------------------------------------------------------- */

static const guint8 test_secret[48] = {
  0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
  0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
  0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
};

/* TLS 1.3 suites no capture uses: records sealed here at sequences 0, 1, 2 with and without
 * padding; a plaintext of zeros only is refused (RFC 8446 §5.4). */
static void
check_tls13_suite (guint16 cipher_suite, const EVP_CIPHER *evp_cipher, gsize key_len)
{
  guint8 key[32];
  guint8 iv[12];
  g_autoptr (MtdRecordCipher) cipher = mtd_record_cipher_new_tls13 (cipher_suite, test_secret,
                                                                    32);
  g_assert_nonnull (cipher);
  g_assert_null (mtd_record_cipher_new_tls13 (cipher_suite, test_secret, 48));
  expand_label ("SHA256", test_secret, 32, "key", key, key_len);
  expand_label ("SHA256", test_secret, 32, "iv", iv, sizeof iv);

  static const guint8 content[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  const struct {
    guint8 type;
    gsize content_len, padding_len;
  } cases[] = {
    { CONTENT_APPLICATION_DATA, sizeof content - 1, 0 },
    { CONTENT_HANDSHAKE, 5, 100 },
    { CONTENT_ALERT, 0, 3 }, /* no content at all is allowed; only the type byte */
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GByteArray) fragment = seal_tls13 (evp_cipher, key, iv, i, cases[i].type,
                                                    content, cases[i].content_len,
                                                    cases[i].padding_len);
      g_auto (Opened) opened = open_record (cipher, CONTENT_APPLICATION_DATA, TLS12_VERSION,
                                            fragment->data, fragment->len);
      g_assert_true (opened.is_ok);
      g_assert_cmpuint (opened.inner_type, ==, cases[i].type);
      assert_bytes (opened.plaintext, content, cases[i].content_len);
      g_assert_cmpuint (mtd_record_cipher_sequence (cipher), ==, i + 1);
    }

  /* Type 0 and padding: all zeros. */
  g_autoptr (GByteArray) zeros = seal_tls13 (evp_cipher, key, iv, 3, 0, content, 0, 7);
  assert_fails_unchanged (cipher, CONTENT_APPLICATION_DATA, TLS12_VERSION, zeros->data,
                          zeros->len);
  /* A record sealed for sequence 4 while 3 is expected: one went missing. */
  g_autoptr (GByteArray) skipped = seal_tls13 (evp_cipher, key, iv, 4, CONTENT_HANDSHAKE,
                                               content, 4, 0);
  assert_fails_unchanged (cipher, CONTENT_APPLICATION_DATA, TLS12_VERSION, skipped->data,
                          skipped->len);
  skipped->data[0] ^= 1;
  assert_fails_unchanged (cipher, CONTENT_APPLICATION_DATA, TLS12_VERSION, skipped->data,
                          skipped->len);
}

static void
test_tls13_chacha20 (void)
{
  check_tls13_suite (0x1303, EVP_chacha20_poly1305 (), 32);
}

static void
test_tls13_ccm (void)
{
  check_tls13_suite (0x1304, EVP_aes_128_ccm (), 16);
}

/* RFC 8446 §7.2: after KeyUpdate the next record is under application_traffic_secret_N+1 at
 * sequence 0; checked twice in a row, with SHA-384 (TLS_AES_256_GCM_SHA384). */
static void
test_tls13_key_update (void)
{
  guint8 secret[48];
  guint8 key[32];
  guint8 iv[12];
  static const guint8 content[] = "after the update";
  g_autoptr (MtdRecordCipher) cipher = mtd_record_cipher_new_tls13 (0x1302, test_secret, 48);
  g_assert_nonnull (cipher);
  memcpy (secret, test_secret, sizeof secret);

  for (int generation = 0; generation < 3; generation++)
    {
      expand_label ("SHA384", secret, sizeof secret, "key", key, sizeof key);
      expand_label ("SHA384", secret, sizeof secret, "iv", iv, sizeof iv);
      for (guint64 sequence = 0; sequence < 2; sequence++)
        {
          g_autoptr (GByteArray) fragment = seal_tls13 (EVP_aes_256_gcm (), key, iv, sequence,
                                                        CONTENT_APPLICATION_DATA, content,
                                                        sizeof content, 0);
          g_auto (Opened) opened = open_record (cipher, CONTENT_APPLICATION_DATA, TLS12_VERSION,
                                                fragment->data, fragment->len);
          g_assert_true (opened.is_ok);
          assert_bytes (opened.plaintext, content, sizeof content);
        }
      g_assert_cmpuint (mtd_record_cipher_sequence (cipher), ==, 2);

      guint8 next[48];
      expand_label ("SHA384", secret, sizeof secret, "traffic upd", next, sizeof next);
      memcpy (secret, next, sizeof secret);
      g_assert_true (mtd_record_cipher_update_tls13 (cipher));
      g_assert_cmpuint (mtd_record_cipher_sequence (cipher), ==, 0);

      /* A record of the old generation does not open any more. */
      g_autoptr (GByteArray) old = seal_tls13 (EVP_aes_256_gcm (), key, iv, 0,
                                               CONTENT_APPLICATION_DATA, content, sizeof content,
                                               0);
      assert_fails_unchanged (cipher, CONTENT_APPLICATION_DATA, TLS12_VERSION, old->data,
                              old->len);
    }
}

static const guint8 test_client_random[RANDOM_LEN] = {
  0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
  0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
};
static const guint8 test_server_random[RANDOM_LEN] = {
  0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
  0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
};

/* This direction's keys from the key block (RFC 5246 §6.3 order). */
typedef struct {
  guint8 mac_key[48];
  guint8 key[32];
  guint8 iv[12];
} Keys12;

static Keys12
keys12 (const char *prf_digest, gsize mac_key_len, gsize key_len, gsize iv_len,
        gboolean is_client_write)
{
  guint8 key_block[2 * (48 + 32 + 12)];
  gsize key_block_len = 2 * (mac_key_len + key_len + iv_len);
  gsize direction = is_client_write ? 0 : 1;
  Keys12 keys = { { 0 }, { 0 }, { 0 } };
  tls12_key_block (prf_digest, test_secret, test_client_random, test_server_random, key_block,
                   key_block_len);
  memcpy (keys.mac_key, key_block + direction * mac_key_len, mac_key_len);
  memcpy (keys.key, key_block + 2 * mac_key_len + direction * key_len, key_len);
  memcpy (keys.iv, key_block + 2 * (mac_key_len + key_len) + direction * iv_len, iv_len);
  return keys;
}

/* TLS 1.2 AEAD suites no capture uses: AES-128-GCM (RFC 5288, explicit nonce) and
 * ChaCha20-Poly1305 (RFC 7905, nonce from the sequence number), both directions. */
static void
test_tls12_aead (void)
{
  const struct {
    guint16 cipher_suite;
    const EVP_CIPHER *(*evp_cipher) (void);
    gsize key_len, iv_len;
  } suites[] = {
    { 0xC02F, EVP_aes_128_gcm, 16, 4 },
    { 0x009C, EVP_aes_128_gcm, 16, 4 },
    { 0xCCA8, EVP_chacha20_poly1305, 32, 12 },
    { 0xCCA9, EVP_chacha20_poly1305, 32, 12 },
    { 0xCCAA, EVP_chacha20_poly1305, 32, 12 },
  };
  static const guint8 content[] = "HTTP/1.1 403 Forbidden\r\n\r\n";

  for (gsize s = 0; s < G_N_ELEMENTS (suites); s++)
    for (int is_client_write = 0; is_client_write < 2; is_client_write++)
      {
        Keys12 keys = keys12 ("SHA256", 0, suites[s].key_len, suites[s].iv_len, is_client_write);
        gboolean is_gcm = suites[s].iv_len == 4;
        g_autoptr (MtdRecordCipher) cipher = mtd_record_cipher_new_tls12 (
          suites[s].cipher_suite, test_secret, 48, test_client_random, test_server_random,
          is_client_write, TRUE);
        g_assert_nonnull (cipher);

        for (guint64 sequence = 0; sequence < 3; sequence++)
          {
            gsize content_len = sequence == 2 ? 0 : sizeof content; /* empty records exist */
            g_autoptr (GByteArray) fragment = g_byte_array_new ();
            guint8 nonce[12];
            guint8 aad[13];
            if (is_gcm)
              {
                /* Any explicit nonce will do; OpenSSL sends the sequence number. */
                static const guint8 explicit_nonce[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
                memcpy (nonce, keys.iv, 4);
                memcpy (nonce + 4, explicit_nonce, 8);
                g_byte_array_append (fragment, explicit_nonce, 8);
              }
            else
              xor_nonce (keys.iv, sequence, nonce);
            tls12_pseudo_header (sequence, CONTENT_APPLICATION_DATA, content_len, aad);
            aead_seal (suites[s].evp_cipher (), keys.key, nonce, aad, sizeof aad, content,
                       content_len, fragment);

            assert_fails_unchanged (cipher, CONTENT_HANDSHAKE, TLS12_VERSION, fragment->data,
                                    fragment->len);
            g_auto (Opened) opened = open_record (cipher, CONTENT_APPLICATION_DATA,
                                                  TLS12_VERSION, fragment->data, fragment->len);
            g_assert_true (opened.is_ok);
            g_assert_cmpuint (opened.inner_type, ==, CONTENT_APPLICATION_DATA);
            assert_bytes (opened.plaintext, content, content_len);
          }
        g_assert_cmpuint (mtd_record_cipher_sequence (cipher), ==, 3);
        g_assert_false (mtd_record_cipher_update_tls13 (cipher));
      }
}

typedef struct {
  guint16 cipher_suite;
  const char *prf_digest;
  const char *mac_digest;
  const EVP_CIPHER *(*evp_cipher) (void);
  gsize mac_len, key_len;
} CbcSuite;

typedef enum {
  PADDING_GOOD,
  PADDING_FIRST_BYTE_BAD, /* the first padding byte differs: a good MAC, bad padding */
  PADDING_OVERLONG,       /* every padding byte 0xff: padding longer than the record */
} Padding;

/* IV + ENC(plaintext), then for encrypt-then-MAC (RFC 7366 §3) the MAC over
 * seq_num + type + version + length of IV and ciphertext + IV + ciphertext. */
static GByteArray *
encrypt_cbc (const CbcSuite *suite, const Keys12 *keys, gboolean is_encrypt_then_mac,
             guint64 sequence, const GByteArray *plaintext)
{
  static const guint8 iv[16] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
                                 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf };
  g_autoptr (GByteArray) mac_input = g_byte_array_new ();
  GByteArray *fragment = g_byte_array_new ();
  guint8 pseudo_header[13];
  guint8 mac[64];
  gsize mac_len = 0;

  g_assert_cmpuint (plaintext->len % 16, ==, 0);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  int n = 0;
  g_byte_array_append (fragment, iv, sizeof iv);
  g_byte_array_set_size (fragment, fragment->len + plaintext->len);
  g_assert_cmpint (EVP_EncryptInit_ex (ctx, suite->evp_cipher (), NULL, keys->key, iv), ==, 1);
  g_assert_cmpint (EVP_CIPHER_CTX_set_padding (ctx, 0), ==, 1);
  g_assert_cmpint (EVP_EncryptUpdate (ctx, fragment->data + sizeof iv, &n, plaintext->data,
                                      (int) plaintext->len), ==, 1);
  g_assert_cmpint (n, ==, (int) plaintext->len);
  g_assert_cmpint (EVP_EncryptFinal_ex (ctx, fragment->data + sizeof iv + n, &n), ==, 1);
  EVP_CIPHER_CTX_free (ctx);

  if (is_encrypt_then_mac)
    {
      tls12_pseudo_header (sequence, CONTENT_APPLICATION_DATA, fragment->len, pseudo_header);
      g_byte_array_append (mac_input, pseudo_header, sizeof pseudo_header);
      g_byte_array_append (mac_input, fragment->data, fragment->len);
      g_assert_nonnull (EVP_Q_mac (NULL, "HMAC", NULL, suite->mac_digest, NULL, keys->mac_key,
                                   suite->mac_len, mac_input->data, mac_input->len, mac,
                                   sizeof mac, &mac_len));
      g_byte_array_append (fragment, mac, (guint) mac_len);
    }
  return fragment;
}

/* RFC 5246 §6.2.3.2 / RFC 7366 §3 sealing: IV + ENC(content + MAC + padding), or
 * IV + ENC(content + padding) + MAC. */
static GByteArray *
seal_cbc (const CbcSuite *suite, const Keys12 *keys, gboolean is_encrypt_then_mac,
          guint64 sequence, const guint8 *content, gsize content_len, gsize padding_length,
          Padding padding)
{
  g_autoptr (GByteArray) plaintext = g_byte_array_new ();
  g_autoptr (GByteArray) mac_input = g_byte_array_new ();
  guint8 pseudo_header[13];
  guint8 mac[64];
  gsize mac_len = 0;

  g_byte_array_append (plaintext, content, (guint) content_len);
  if (!is_encrypt_then_mac)
    {
      tls12_pseudo_header (sequence, CONTENT_APPLICATION_DATA, content_len, pseudo_header);
      g_byte_array_append (mac_input, pseudo_header, sizeof pseudo_header);
      g_byte_array_append (mac_input, content, (guint) content_len);
      g_assert_nonnull (EVP_Q_mac (NULL, "HMAC", NULL, suite->mac_digest, NULL, keys->mac_key,
                                   suite->mac_len, mac_input->data, mac_input->len, mac,
                                   sizeof mac, &mac_len));
      g_byte_array_append (plaintext, mac, (guint) mac_len);
    }
  for (gsize i = 0; i <= padding_length; i++)
    {
      guint8 byte = (guint8) padding_length;
      if (i == 0 && padding == PADDING_FIRST_BYTE_BAD)
        byte ^= 0x40;
      if (padding == PADDING_OVERLONG)
        byte = 0xff;
      g_byte_array_append (plaintext, &byte, 1);
    }
  return encrypt_cbc (suite, keys, is_encrypt_then_mac, sequence, plaintext);
}

/* The padding that fills the last block, plus extra_blocks blocks more (RFC 5246 allows up to
 * 255 bytes of padding to hide the length). */
static gsize
padding_for (gsize unpadded_len, gsize extra_blocks)
{
  return (16 - (unpadded_len + 1) % 16) % 16 + 16 * extra_blocks;
}

static void
check_cbc_suite (const CbcSuite *suite, gboolean is_encrypt_then_mac)
{
  static const guint8 content[100] = "a body of a hundred bytes";
  Keys12 keys = keys12 (suite->prf_digest, suite->mac_len, suite->key_len, 0, TRUE);
  g_autoptr (MtdRecordCipher) cipher = mtd_record_cipher_new_tls12 (
    suite->cipher_suite, test_secret, 48, test_client_random, test_server_random, TRUE,
    is_encrypt_then_mac);
  g_autoptr (MtdRecordCipher) other_mode = mtd_record_cipher_new_tls12 (
    suite->cipher_suite, test_secret, 48, test_client_random, test_server_random, TRUE,
    !is_encrypt_then_mac);
  g_autoptr (MtdRecordCipher) server = mtd_record_cipher_new_tls12 (
    suite->cipher_suite, test_secret, 48, test_client_random, test_server_random, FALSE,
    is_encrypt_then_mac);
  g_assert_nonnull (cipher);
  g_assert_nonnull (other_mode);
  g_assert_nonnull (server);

  const gsize content_lens[] = { 0, 1, 15, 16, 17, 100 };
  guint64 sequence = 0;
  for (gsize i = 0; i < G_N_ELEMENTS (content_lens); i++)
    for (gsize extra_blocks = 0; extra_blocks < 17; extra_blocks += 8)
      {
        gsize content_len = content_lens[i];
        gsize unpadded_len = content_len + (is_encrypt_then_mac ? 0 : suite->mac_len);
        gsize padding_length = padding_for (unpadded_len, extra_blocks);
        if (padding_length > 255)
          continue;

        /* Bad padding with a good MAC; the record of the other direction; the other MAC
         * order; one flipped bit in each part. */
        g_autoptr (GByteArray) bad_padding = seal_cbc (suite, &keys, is_encrypt_then_mac,
                                                       sequence, content, content_len,
                                                       padding_length, PADDING_FIRST_BYTE_BAD);
        assert_fails_unchanged (cipher, CONTENT_APPLICATION_DATA, TLS12_VERSION,
                                bad_padding->data, bad_padding->len);
        g_autoptr (GByteArray) overlong = seal_cbc (suite, &keys, is_encrypt_then_mac, sequence,
                                                    content, content_len, padding_length,
                                                    PADDING_OVERLONG);
        assert_fails_unchanged (cipher, CONTENT_APPLICATION_DATA, TLS12_VERSION,
                                overlong->data, overlong->len);
        g_autoptr (GByteArray) fragment = seal_cbc (suite, &keys, is_encrypt_then_mac, sequence,
                                                    content, content_len, padding_length,
                                                    PADDING_GOOD);
        assert_fails_unchanged (server, CONTENT_APPLICATION_DATA, TLS12_VERSION, fragment->data,
                                fragment->len);
        assert_fails_unchanged (other_mode, CONTENT_APPLICATION_DATA, TLS12_VERSION,
                                fragment->data, fragment->len);
        assert_fails_unchanged (cipher, CONTENT_ALERT, TLS12_VERSION, fragment->data,
                                fragment->len);
        const gsize flips[] = { 0, 16, fragment->len / 2, fragment->len - 1 };
        for (gsize f = 0; f < G_N_ELEMENTS (flips); f++)
          {
            fragment->data[flips[f]] ^= 0x04;
            assert_fails_unchanged (cipher, CONTENT_APPLICATION_DATA, TLS12_VERSION,
                                    fragment->data, fragment->len);
            fragment->data[flips[f]] ^= 0x04;
          }
        for (gsize len = 0; len < fragment->len; len++)
          assert_fails_unchanged (cipher, CONTENT_APPLICATION_DATA, TLS12_VERSION,
                                  fragment->data, len);

        g_auto (Opened) opened = open_record (cipher, CONTENT_APPLICATION_DATA, TLS12_VERSION,
                                              fragment->data, fragment->len);
        g_assert_true (opened.is_ok);
        g_assert_cmpuint (opened.inner_type, ==, CONTENT_APPLICATION_DATA);
        assert_bytes (opened.plaintext, content, content_len);
        sequence++;
        g_assert_cmpuint (mtd_record_cipher_sequence (cipher), ==, sequence);
      }

  /* A plaintext that is all padding: n blocks of the byte 16n - 1.  With the MAC inside there
   * is no room left for it; with encrypt-then-MAC it is an empty record.  One more than that
   * claims a byte before the record's start. */
  for (gsize n_blocks = 1; n_blocks <= 4; n_blocks++)
    for (gsize extra = 0; extra < 2; extra++)
      {
        g_autoptr (GByteArray) plaintext = g_byte_array_new ();
        guint8 byte = (guint8) (16 * n_blocks - 1 + extra);
        for (gsize i = 0; i < 16 * n_blocks; i++)
          g_byte_array_append (plaintext, &byte, 1);
        g_autoptr (GByteArray) fragment = encrypt_cbc (suite, &keys, is_encrypt_then_mac,
                                                       sequence, plaintext);
        if (is_encrypt_then_mac && extra == 0)
          {
            g_auto (Opened) opened = open_record (cipher, CONTENT_APPLICATION_DATA,
                                                  TLS12_VERSION, fragment->data, fragment->len);
            g_assert_true (opened.is_ok);
            g_assert_cmpuint (opened.plaintext->len, ==, 0);
            sequence++;
          }
        else
          assert_fails_unchanged (cipher, CONTENT_APPLICATION_DATA, TLS12_VERSION,
                                  fragment->data, fragment->len);
      }

}

static void
test_tls12_cbc (void)
{
  const CbcSuite suites[] = {
    { 0xC013, "SHA256", "SHA1", EVP_aes_128_cbc, 20, 16 },
    { 0x0035, "SHA256", "SHA1", EVP_aes_256_cbc, 20, 32 },
    { 0xC027, "SHA256", "SHA256", EVP_aes_128_cbc, 32, 16 },
    { 0x006B, "SHA256", "SHA256", EVP_aes_256_cbc, 32, 32 },
    { 0xC028, "SHA384", "SHA384", EVP_aes_256_cbc, 48, 32 },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (suites); i++)
    {
      check_cbc_suite (&suites[i], FALSE);
      check_cbc_suite (&suites[i], TRUE);
    }
}

static void
test_unsupported (void)
{
  /* An unassigned TLS 1.3 code point, a TLS 1.2 suite for TLS 1.3, a TLS 1.3 suite for TLS 1.2,
   * 3DES, TLS_EMPTY_RENEGOTIATION_INFO_SCSV, a master secret of the wrong length.
   * (TLS_AES_128_CCM_8_SHA256 is supported: ssldump's tls1.3_ccm8.pcap decrypts in the decrypt
   * suite.) */
  g_assert_null (mtd_record_cipher_new_tls13 (0x13FF, test_secret, 32));
  MtdRecordCipher *ccm8 = mtd_record_cipher_new_tls13 (0x1305, test_secret, 32);
  g_assert_nonnull (ccm8);
  mtd_record_cipher_free (ccm8);
  g_assert_null (mtd_record_cipher_new_tls13 (0xC02F, test_secret, 32));
  g_assert_null (mtd_record_cipher_new_tls12 (0x1301, test_secret, 48, test_client_random,
                                              test_server_random, TRUE, FALSE));
  g_assert_null (mtd_record_cipher_new_tls12 (0x000A, test_secret, 48, test_client_random,
                                              test_server_random, TRUE, FALSE));
  g_assert_null (mtd_record_cipher_new_tls12 (0x00FF, test_secret, 48, test_client_random,
                                              test_server_random, TRUE, FALSE));
  g_assert_null (mtd_record_cipher_new_tls12 (0xC02F, test_secret, 32, test_client_random,
                                              test_server_random, TRUE, FALSE));
  mtd_record_cipher_free (NULL);

  /* A fragment longer than any TLS record never decrypts. */
  g_autoptr (MtdRecordCipher) cipher = mtd_record_cipher_new_tls13 (0x1301, test_secret, 32);
  g_autofree guint8 *huge = g_malloc0 (MTD_RECORD_CIPHER_MAX_FRAGMENT_LEN + 1);
  assert_fails_unchanged (cipher, CONTENT_APPLICATION_DATA, TLS12_VERSION, huge,
                          MTD_RECORD_CIPHER_MAX_FRAGMENT_LEN + 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/tls-crypto/rfc8448/expand-label", test_rfc8448_expand_label);
  g_test_add_func ("/tls-crypto/rfc8448/server-flight", test_rfc8448_server_flight);
  g_test_add_func ("/tls-crypto/rfc8448/client-records", test_rfc8448_client_records);
  g_test_add_func ("/tls-crypto/capture/tls13-presented", test_capture_tls13_presented);
  g_test_add_func ("/tls-crypto/capture/tls13-tampered", test_capture_tls13_tampered);
  g_test_add_func ("/tls-crypto/capture/tls12-presented", test_capture_tls12_presented);
  g_test_add_func ("/tls-crypto/tls13/chacha20-poly1305", test_tls13_chacha20);
  g_test_add_func ("/tls-crypto/tls13/aes-128-ccm", test_tls13_ccm);
  g_test_add_func ("/tls-crypto/tls13/key-update", test_tls13_key_update);
  g_test_add_func ("/tls-crypto/tls12/aead", test_tls12_aead);
  g_test_add_func ("/tls-crypto/tls12/cbc", test_tls12_cbc);
  g_test_add_func ("/tls-crypto/unsupported", test_unsupported);

  return g_test_run ();
}
