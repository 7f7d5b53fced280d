/* tls-crypto.c: TLS 1.3 and TLS 1.2 record decryption, one direction at a time, through OpenSSL.
 *
 * Follows RFC 8446 §5.2-5.4 (TLSCiphertext, per-record nonce, TLSInnerPlaintext padding) and
 * §7.1-7.3 (HKDF-Expand-Label, KeyUpdate, traffic keys); RFC 5246 §5 (the PRF), §6.2.3
 * (GenericBlockCipher, GenericAEADCipher) and §6.3 (the key block); RFC 5288 §3 (AES-GCM nonce
 * and additional data); RFC 7905 §2 (ChaCha20-Poly1305 nonce); RFC 7366 §3 (encrypt_then_mac);
 * RFC 5116 §5.3 (AEAD_AES_128_CCM).
 * Every primitive is OpenSSL's: HKDF and the TLS 1.2 PRF through EVP_KDF, AES-GCM, AES-CCM,
 * ChaCha20-Poly1305 and AES-CBC through EVP_CIPHER, HMAC through EVP_MAC.  What is written here
 * is only the TLS framing around them: labels, nonces, additional data, padding.
 */
#include "mtd-tls-crypto.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "mtd-cursor.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_KDF, EVP_KDF_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_KDF_CTX, EVP_KDF_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_MAC, EVP_MAC_free)

enum {
  AEAD_TAG_LEN = 16,        /* RFC 5116 §5.1-5.3, RFC 8439 §2.8: every AEAD used here but CCM_8 */
  CCM8_TAG_LEN = 8,         /* RFC 6655 §3, RFC 8446 §B.4: AES_128_CCM_8 */
  AEAD_NONCE_LEN = 12,      /* RFC 8446 §5.3: iv_length is max(8, N_MIN) = 12 */
  GCM_SALT_LEN = 4,         /* RFC 5288 §3: the implicit part of the TLS 1.2 GCM nonce */
  GCM_EXPLICIT_NONCE_LEN = 8, /* RFC 5288 §3: nonce_explicit, sent in each record */
  AES_BLOCK_LEN = 16,
  SEQUENCE_LEN = 8,         /* RFC 5246 §6.1: uint64 seq_num */
  TLS12_AAD_LEN = SEQUENCE_LEN + 1 + 2 + 2, /* seq_num + type + version + length */
  TLS13_AAD_LEN = 5,        /* RFC 8446 §5.2: the record header */
  MAX_KEY_LEN = 32,
  MAX_HASH_LEN = 48,        /* SHA-384 */
  MASTER_SECRET_LEN = 48,   /* RFC 5246 §8.1 */
  HELLO_RANDOM_LEN = 32,    /* RFC 5246 §7.4.1.2 */
  TLS12_KEY_BLOCK_MAX_LEN = 2 * MAX_HASH_LEN + 2 * MAX_KEY_LEN + 2 * AEAD_NONCE_LEN,
  CBC_MAX_PADDING_LEN = 256, /* padding_length is a uint8, plus that byte itself */
};

/* How a suite protects records. */
typedef enum {
  PROTECTION_TLS13_AEAD,   /* RFC 8446 §5.2: nonce = iv XOR seq, the type inside the plaintext */
  PROTECTION_TLS12_GCM,    /* RFC 5288: nonce = salt + explicit 8 bytes from the record */
  PROTECTION_TLS12_CHACHA, /* RFC 7905: nonce = iv XOR seq, as TLS 1.3 */
  PROTECTION_TLS12_CBC,    /* RFC 5246 §6.2.3.2: explicit IV, HMAC, padding */
} Protection;

typedef struct {
  guint16 cipher_suite;
  Protection protection;
  const EVP_CIPHER *(*evp_cipher) (void);
  const char *prf_digest; /* HKDF hash (TLS 1.3) or PRF hash (TLS 1.2), by OpenSSL name */
  const char *mac_digest; /* CBC only: the record MAC's hash */
  gsize key_len;
  gsize fixed_iv_len;     /* TLS 1.3 and ChaCha20: 12; TLS 1.2 GCM: the 4-byte salt; CBC: 0 */
  gsize mac_key_len;      /* CBC only */
  gsize tag_len;          /* AEAD only: 0 means AEAD_TAG_LEN */
} SuiteInfo;

/* IANA TLS Cipher Suites registry; the same list is in mtd-tls-crypto.h. */
static const SuiteInfo suites[] = {
  { 0x1301, PROTECTION_TLS13_AEAD, EVP_aes_128_gcm, "SHA256", NULL, 16, 12, 0, 0 },
  { 0x1302, PROTECTION_TLS13_AEAD, EVP_aes_256_gcm, "SHA384", NULL, 32, 12, 0, 0 },
  { 0x1303, PROTECTION_TLS13_AEAD, EVP_chacha20_poly1305, "SHA256", NULL, 32, 12, 0, 0 },
  { 0x1304, PROTECTION_TLS13_AEAD, EVP_aes_128_ccm, "SHA256", NULL, 16, 12, 0, 0 },
  { 0x1305, PROTECTION_TLS13_AEAD, EVP_aes_128_ccm, "SHA256", NULL, 16, 12, 0, CCM8_TAG_LEN },

  { 0x009C, PROTECTION_TLS12_GCM, EVP_aes_128_gcm, "SHA256", NULL, 16, 4, 0, 0 },
  { 0x009E, PROTECTION_TLS12_GCM, EVP_aes_128_gcm, "SHA256", NULL, 16, 4, 0, 0 },
  { 0xC02B, PROTECTION_TLS12_GCM, EVP_aes_128_gcm, "SHA256", NULL, 16, 4, 0, 0 },
  { 0xC02F, PROTECTION_TLS12_GCM, EVP_aes_128_gcm, "SHA256", NULL, 16, 4, 0, 0 },
  { 0x009D, PROTECTION_TLS12_GCM, EVP_aes_256_gcm, "SHA384", NULL, 32, 4, 0, 0 },
  { 0x009F, PROTECTION_TLS12_GCM, EVP_aes_256_gcm, "SHA384", NULL, 32, 4, 0, 0 },
  { 0xC02C, PROTECTION_TLS12_GCM, EVP_aes_256_gcm, "SHA384", NULL, 32, 4, 0, 0 },
  { 0xC030, PROTECTION_TLS12_GCM, EVP_aes_256_gcm, "SHA384", NULL, 32, 4, 0, 0 },

  { 0xCCA8, PROTECTION_TLS12_CHACHA, EVP_chacha20_poly1305, "SHA256", NULL, 32, 12, 0, 0 },
  { 0xCCA9, PROTECTION_TLS12_CHACHA, EVP_chacha20_poly1305, "SHA256", NULL, 32, 12, 0, 0 },
  { 0xCCAA, PROTECTION_TLS12_CHACHA, EVP_chacha20_poly1305, "SHA256", NULL, 32, 12, 0, 0 },

  /* RFC 5246 §5: "New cipher suites MUST explicitly specify a PRF and, in general, SHOULD use the
   * TLS PRF with SHA-256"; the *_SHA suites of RFC 5246 and RFC 4492 do so in TLS 1.2. */
  { 0x002F, PROTECTION_TLS12_CBC, EVP_aes_128_cbc, "SHA256", "SHA1", 16, 0, 20, 0 },
  { 0x0033, PROTECTION_TLS12_CBC, EVP_aes_128_cbc, "SHA256", "SHA1", 16, 0, 20, 0 },
  { 0xC009, PROTECTION_TLS12_CBC, EVP_aes_128_cbc, "SHA256", "SHA1", 16, 0, 20, 0 },
  { 0xC013, PROTECTION_TLS12_CBC, EVP_aes_128_cbc, "SHA256", "SHA1", 16, 0, 20, 0 },
  { 0x0035, PROTECTION_TLS12_CBC, EVP_aes_256_cbc, "SHA256", "SHA1", 32, 0, 20, 0 },
  { 0x0039, PROTECTION_TLS12_CBC, EVP_aes_256_cbc, "SHA256", "SHA1", 32, 0, 20, 0 },
  { 0xC00A, PROTECTION_TLS12_CBC, EVP_aes_256_cbc, "SHA256", "SHA1", 32, 0, 20, 0 },
  { 0xC014, PROTECTION_TLS12_CBC, EVP_aes_256_cbc, "SHA256", "SHA1", 32, 0, 20, 0 },
  { 0x003C, PROTECTION_TLS12_CBC, EVP_aes_128_cbc, "SHA256", "SHA256", 16, 0, 32, 0 },
  { 0x0067, PROTECTION_TLS12_CBC, EVP_aes_128_cbc, "SHA256", "SHA256", 16, 0, 32, 0 },
  { 0xC023, PROTECTION_TLS12_CBC, EVP_aes_128_cbc, "SHA256", "SHA256", 16, 0, 32, 0 },
  { 0xC027, PROTECTION_TLS12_CBC, EVP_aes_128_cbc, "SHA256", "SHA256", 16, 0, 32, 0 },
  { 0x003D, PROTECTION_TLS12_CBC, EVP_aes_256_cbc, "SHA256", "SHA256", 32, 0, 32, 0 },
  { 0x006B, PROTECTION_TLS12_CBC, EVP_aes_256_cbc, "SHA256", "SHA256", 32, 0, 32, 0 },
  /* RFC 5289 §3.2: the *_SHA384 CBC suites use the PRF with SHA-384 and HMAC-SHA384. */
  { 0xC024, PROTECTION_TLS12_CBC, EVP_aes_256_cbc, "SHA384", "SHA384", 32, 0, 48, 0 },
  { 0xC028, PROTECTION_TLS12_CBC, EVP_aes_256_cbc, "SHA384", "SHA384", 32, 0, 48, 0 },
};

struct _MtdRecordCipher {
  const SuiteInfo *suite;
  EVP_CIPHER_CTX *ctx;  /* keyed once; each record only sets its nonce or IV */
  EVP_MAC_CTX *mac_ctx; /* CBC suites: HMAC keyed once, reset for each record */
  guint8 secret[MAX_HASH_LEN]; /* TLS 1.3: the current traffic secret, for KeyUpdate */
  gsize secret_len;
  guint8 iv[AEAD_NONCE_LEN]; /* fixed_iv_len bytes: TLS 1.3 / ChaCha20 iv, or the GCM salt */
  gsize mac_len;             /* CBC: the HMAC output length, which is its key length */
  guint64 sequence;
  gboolean is_encrypt_then_mac;
};

static const SuiteInfo *
suite_lookup (guint16 cipher_suite)
{
  for (gsize i = 0; i < G_N_ELEMENTS (suites); i++)
    if (suites[i].cipher_suite == cipher_suite)
      return &suites[i];
  return NULL;
}

static gsize
digest_len (const char *digest_name)
{
  return g_str_equal (digest_name, "SHA384") ? 48 : g_str_equal (digest_name, "SHA256") ? 32 : 20;
}

/* A failed OpenSSL call leaves reasons on the thread's error queue; a record that does not
 * verify is an expected outcome here, so nothing is left behind for the next caller. */
static gboolean
openssl_failed (void)
{
  ERR_clear_error ();
  return FALSE;
}

/* RFC 8446 §7.1:
 *   HKDF-Expand-Label(Secret, Label, Context, Length) = HKDF-Expand(Secret, HkdfLabel, Length)
 *   struct { uint16 length = Length; opaque label<7..255> = "tls13 " + Label;
 *            opaque context<0..255> = Context; } HkdfLabel;
 * The context is empty for every label used here ("key", "iv", "traffic upd"). */
static gboolean
hkdf_expand_label (const char *digest_name, const guint8 *secret, gsize secret_len,
                   const char *label, guint8 *out, gsize out_len)
{
  static const char label_prefix[] = "tls13 ";
  guint8 info[2 + 1 + 255 + 1];
  gsize label_len = strlen (label);
  gsize full_label_len = sizeof label_prefix - 1 + label_len;
  gsize info_len = 0;
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;

  g_return_val_if_fail (full_label_len <= 255 && out_len <= G_MAXUINT16, FALSE);

  info[info_len++] = (guint8) (out_len >> 8);
  info[info_len++] = (guint8) out_len;
  info[info_len++] = (guint8) full_label_len;
  memcpy (info + info_len, label_prefix, sizeof label_prefix - 1);
  info_len += sizeof label_prefix - 1;
  memcpy (info + info_len, label, label_len);
  info_len += label_len;
  info[info_len++] = 0; /* empty context */

  g_autoptr (EVP_KDF) kdf = EVP_KDF_fetch (NULL, OSSL_KDF_NAME_HKDF, NULL);
  g_autoptr (EVP_KDF_CTX) kctx = kdf != NULL ? EVP_KDF_CTX_new (kdf) : NULL;
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_utf8_string (OSSL_KDF_PARAM_DIGEST, (char *) digest_name, 0),
    OSSL_PARAM_construct_int (OSSL_KDF_PARAM_MODE, &mode),
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_KEY, (void *) secret, secret_len),
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_INFO, info, info_len),
    OSSL_PARAM_construct_end (),
  };
  if (kctx == NULL || EVP_KDF_derive (kctx, out, out_len, params) != 1)
    return openssl_failed ();
  return TRUE;
}

/* RFC 5246 §6.3: key_block = PRF(SecurityParameters.master_secret, "key expansion",
 * SecurityParameters.server_random + SecurityParameters.client_random).  OpenSSL's TLS1-PRF
 * concatenates its seed parameters, the label first as RFC 5246 §5 has it. */
static gboolean
tls12_key_block (const char *digest_name, const guint8 *master_secret,
                 const guint8 *client_random, const guint8 *server_random, guint8 *out,
                 gsize out_len)
{
  static const char label[] = "key expansion";
  g_autoptr (EVP_KDF) kdf = EVP_KDF_fetch (NULL, OSSL_KDF_NAME_TLS1_PRF, NULL);
  g_autoptr (EVP_KDF_CTX) kctx = kdf != NULL ? EVP_KDF_CTX_new (kdf) : NULL;
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_utf8_string (OSSL_KDF_PARAM_DIGEST, (char *) digest_name, 0),
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_SECRET, (void *) master_secret,
                                       MASTER_SECRET_LEN),
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_SEED, (void *) label, sizeof label - 1),
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_SEED, (void *) server_random,
                                       HELLO_RANDOM_LEN),
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_SEED, (void *) client_random,
                                       HELLO_RANDOM_LEN),
    OSSL_PARAM_construct_end (),
  };
  if (kctx == NULL || EVP_KDF_derive (kctx, out, out_len, params) != 1)
    return openssl_failed ();
  return TRUE;
}

static gsize
tag_len_of (const MtdRecordCipher *cipher)
{
  return cipher->suite->tag_len != 0 ? cipher->suite->tag_len : AEAD_TAG_LEN;
}

/* Keys cipher->ctx for decryption with key.  AES-CCM fixes its nonce and tag lengths when it is
 * keyed (RFC 5116 §5.3: a 12-byte nonce, a 16-byte tag), so they are set first. */
static gboolean
cipher_set_key (MtdRecordCipher *cipher, const guint8 *key)
{
  const EVP_CIPHER *evp_cipher = cipher->suite->evp_cipher ();

  if (EVP_DecryptInit_ex (cipher->ctx, evp_cipher, NULL, NULL, NULL) != 1)
    return openssl_failed ();
  if (EVP_CIPHER_get_mode (evp_cipher) == EVP_CIPH_CCM_MODE
      && (EVP_CIPHER_CTX_ctrl (cipher->ctx, EVP_CTRL_AEAD_SET_IVLEN, AEAD_NONCE_LEN, NULL) != 1
          || EVP_CIPHER_CTX_ctrl (cipher->ctx, EVP_CTRL_AEAD_SET_TAG, (int) tag_len_of (cipher),
                                  NULL) != 1))
    return openssl_failed ();
  if (EVP_DecryptInit_ex (cipher->ctx, NULL, NULL, key, NULL) != 1)
    return openssl_failed ();
  return TRUE;
}

/* RFC 8446 §7.3: [sender]_write_key = HKDF-Expand-Label(Secret, "key", "", key_length),
 * [sender]_write_iv = HKDF-Expand-Label(Secret, "iv", "", iv_length). */
static gboolean
tls13_set_secret (MtdRecordCipher *cipher, const guint8 *secret, gsize secret_len)
{
  guint8 key[MAX_KEY_LEN];
  guint8 iv[AEAD_NONCE_LEN];
  const SuiteInfo *suite = cipher->suite;
  gboolean is_ok = hkdf_expand_label (suite->prf_digest, secret, secret_len, "key", key,
                                      suite->key_len)
                   && hkdf_expand_label (suite->prf_digest, secret, secret_len, "iv", iv,
                                         AEAD_NONCE_LEN)
                   && cipher_set_key (cipher, key);

  if (is_ok)
    {
      /* Overwrites the previous secret, which is as long (the suite does not change). */
      memcpy (cipher->secret, secret, secret_len);
      OPENSSL_cleanse (cipher->secret + secret_len, sizeof cipher->secret - secret_len);
      cipher->secret_len = secret_len;
      memcpy (cipher->iv, iv, AEAD_NONCE_LEN);
      cipher->sequence = 0;
    }
  OPENSSL_cleanse (key, sizeof key);
  OPENSSL_cleanse (iv, sizeof iv);
  return is_ok;
}

static MtdRecordCipher *
cipher_new (const SuiteInfo *suite)
{
  MtdRecordCipher *cipher = g_new0 (MtdRecordCipher, 1);
  cipher->suite = suite;
  cipher->ctx = EVP_CIPHER_CTX_new ();
  if (cipher->ctx == NULL)
    {
      ERR_clear_error ();
      mtd_record_cipher_free (cipher);
      return NULL;
    }
  return cipher;
}

MtdRecordCipher *
mtd_record_cipher_new_tls13 (guint16 cipher_suite, const guint8 *secret, gsize secret_len)
{
  const SuiteInfo *suite = suite_lookup (cipher_suite);

  g_return_val_if_fail (secret != NULL || secret_len == 0, NULL);

  if (suite == NULL || suite->protection != PROTECTION_TLS13_AEAD
      || secret_len != digest_len (suite->prf_digest))
    return NULL;

  g_autoptr (MtdRecordCipher) cipher = cipher_new (suite);
  if (cipher == NULL || !tls13_set_secret (cipher, secret, secret_len))
    return NULL;
  return g_steal_pointer (&cipher);
}

gboolean
mtd_record_cipher_update_tls13 (MtdRecordCipher *cipher)
{
  guint8 next_secret[MAX_HASH_LEN];

  g_return_val_if_fail (cipher != NULL, FALSE);

  if (cipher->suite->protection != PROTECTION_TLS13_AEAD)
    return FALSE;
  /* RFC 8446 §7.2: application_traffic_secret_N+1 =
   *   HKDF-Expand-Label(application_traffic_secret_N, "traffic upd", "", Hash.length) */
  gboolean is_ok = hkdf_expand_label (cipher->suite->prf_digest, cipher->secret,
                                      cipher->secret_len, "traffic upd", next_secret,
                                      cipher->secret_len)
                   && tls13_set_secret (cipher, next_secret, cipher->secret_len);
  OPENSSL_cleanse (next_secret, sizeof next_secret);
  return is_ok;
}

MtdRecordCipher *
mtd_record_cipher_new_tls12 (guint16 cipher_suite, const guint8 *master_secret,
                             gsize master_secret_len, const guint8 *client_random,
                             const guint8 *server_random, gboolean is_client_write,
                             gboolean is_encrypt_then_mac)
{
  const SuiteInfo *suite = suite_lookup (cipher_suite);
  guint8 key_block[TLS12_KEY_BLOCK_MAX_LEN];

  g_return_val_if_fail (master_secret != NULL && client_random != NULL && server_random != NULL,
                        NULL);

  if (suite == NULL || suite->protection == PROTECTION_TLS13_AEAD
      || master_secret_len != MASTER_SECRET_LEN)
    return NULL;

  g_autoptr (MtdRecordCipher) cipher = cipher_new (suite);
  if (cipher == NULL)
    return NULL;
  cipher->is_encrypt_then_mac = is_encrypt_then_mac;

  /* RFC 5246 §6.3: client_write_MAC_key, server_write_MAC_key, client_write_key,
   * server_write_key, client_write_IV, server_write_IV, in this order. */
  gsize mac_key_len = suite->mac_key_len;
  gsize key_block_len = 2 * (mac_key_len + suite->key_len + suite->fixed_iv_len);
  gsize direction = is_client_write ? 0 : 1;
  const guint8 *mac_key = key_block + direction * mac_key_len;
  const guint8 *key = key_block + 2 * mac_key_len + direction * suite->key_len;
  const guint8 *iv = key_block + 2 * (mac_key_len + suite->key_len)
                     + direction * suite->fixed_iv_len;

  gboolean is_ok = tls12_key_block (suite->prf_digest, master_secret, client_random,
                                    server_random, key_block, key_block_len)
                   && cipher_set_key (cipher, key);
  if (is_ok)
    memcpy (cipher->iv, iv, suite->fixed_iv_len);

  if (is_ok && suite->protection == PROTECTION_TLS12_CBC)
    {
      g_autoptr (EVP_MAC) mac = EVP_MAC_fetch (NULL, OSSL_MAC_NAME_HMAC, NULL);
      OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string (OSSL_MAC_PARAM_DIGEST, (char *) suite->mac_digest, 0),
        OSSL_PARAM_construct_end (),
      };
      cipher->mac_ctx = mac != NULL ? EVP_MAC_CTX_new (mac) : NULL;
      is_ok = cipher->mac_ctx != NULL
              && EVP_MAC_init (cipher->mac_ctx, mac_key, mac_key_len, params) == 1;
      if (is_ok)
        cipher->mac_len = EVP_MAC_CTX_get_mac_size (cipher->mac_ctx);
      is_ok = is_ok && cipher->mac_len == mac_key_len;
      if (!is_ok)
        ERR_clear_error ();
    }

  OPENSSL_cleanse (key_block, sizeof key_block);
  if (!is_ok)
    return NULL;
  return g_steal_pointer (&cipher);
}

guint64
mtd_record_cipher_sequence (const MtdRecordCipher *cipher)
{
  g_return_val_if_fail (cipher != NULL, 0);
  return cipher->sequence;
}

void
mtd_record_cipher_free (MtdRecordCipher *cipher)
{
  if (cipher == NULL)
    return;
  /* Both free functions cleanse the expanded keys they hold. */
  EVP_CIPHER_CTX_free (cipher->ctx);
  EVP_MAC_CTX_free (cipher->mac_ctx);
  OPENSSL_cleanse (cipher, sizeof *cipher);
  g_free (cipher);
}

static void
put_u64 (guint8 *out, guint64 value)
{
  for (gsize i = 0; i < 8; i++)
    out[i] = (guint8) (value >> (56 - 8 * i));
}

/* RFC 8446 §5.3 (and RFC 7905 §2 for TLS 1.2): the 64-bit record sequence number in network
 * byte order, left-padded with zeros to iv_length, XORed with the static iv. */
static void
xor_nonce (const MtdRecordCipher *cipher, guint8 *nonce)
{
  guint8 padded_sequence[AEAD_NONCE_LEN] = { 0 };
  put_u64 (padded_sequence + AEAD_NONCE_LEN - SEQUENCE_LEN, cipher->sequence);
  for (gsize i = 0; i < AEAD_NONCE_LEN; i++)
    nonce[i] = cipher->iv[i] ^ padded_sequence[i];
}

/* RFC 5246 §6.2.3.3 / §6.2.3.1: seq_num + TLSCompressed.type + TLSCompressed.version +
 * TLSCompressed.length, the additional data of TLS 1.2 AEAD and the head of its HMAC input. */
static void
tls12_pseudo_header (const MtdRecordCipher *cipher, guint8 content_type, guint16 record_version,
                     gsize length, guint8 *out)
{
  put_u64 (out, cipher->sequence);
  out[8] = content_type;
  out[9] = (guint8) (record_version >> 8);
  out[10] = (guint8) record_version;
  out[11] = (guint8) (length >> 8);
  out[12] = (guint8) length;
}

/* One AEAD open with the keyed context: plaintext into out, TRUE only when the tag verifies.
 * The lengths are bounded by MTD_RECORD_CIPHER_MAX_FRAGMENT_LEN, so they fit an int. */
static gboolean
aead_open (MtdRecordCipher *cipher, const guint8 *nonce, const guint8 *aad, gsize aad_len,
           const guint8 *ciphertext, gsize ciphertext_len, const guint8 *tag, guint8 *out)
{
  EVP_CIPHER_CTX *ctx = cipher->ctx;
  gboolean is_ccm = EVP_CIPHER_CTX_get_mode (ctx) == EVP_CIPH_CCM_MODE;
  int n_out = 0;

  if (EVP_DecryptInit_ex (ctx, NULL, NULL, NULL, nonce) != 1
      || EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_SET_TAG, (int) tag_len_of (cipher), (void *) tag)
             != 1)
    return openssl_failed ();

  if (is_ccm)
    {
      /* CCM authenticates the message length first and checks the tag in the one update that
       * carries all of the ciphertext (there is no final step). */
      if (EVP_DecryptUpdate (ctx, NULL, &n_out, NULL, (int) ciphertext_len) != 1
          || EVP_DecryptUpdate (ctx, NULL, &n_out, aad, (int) aad_len) != 1
          || EVP_DecryptUpdate (ctx, out, &n_out, ciphertext, (int) ciphertext_len) != 1)
        return openssl_failed ();
      return TRUE;
    }

  if (EVP_DecryptUpdate (ctx, NULL, &n_out, aad, (int) aad_len) != 1)
    return openssl_failed ();
  if (ciphertext_len > 0
      && EVP_DecryptUpdate (ctx, out, &n_out, ciphertext, (int) ciphertext_len) != 1)
    return openssl_failed ();
  int n_final = 0;
  if (EVP_DecryptFinal_ex (ctx, out + (gsize) n_out, &n_final) != 1)
    return openssl_failed ();
  return TRUE;
}

/* RFC 8446 §5.2: TLSCiphertext.encrypted_record = AEAD-Encrypt(write_key, nonce,
 * additional_data = opaque_type || legacy_record_version || length, TLSInnerPlaintext). */
static gboolean
decrypt_tls13 (MtdRecordCipher *cipher, guint8 content_type, guint16 record_version,
               const guint8 *fragment, gsize fragment_len, guint8 *out, gsize *out_len,
               guint8 *inner_type)
{
  MtdCursor cursor = mtd_cursor_init (fragment, fragment_len);
  const guint8 *ciphertext = NULL;
  const guint8 *tag = NULL;
  guint8 nonce[AEAD_NONCE_LEN];
  guint8 aad[TLS13_AAD_LEN] = { content_type, (guint8) (record_version >> 8),
                                (guint8) record_version, (guint8) (fragment_len >> 8),
                                (guint8) fragment_len };

  /* At least the content type byte, then the tag. */
  gsize tag_len = tag_len_of (cipher);
  if (fragment_len < 1 + tag_len)
    return FALSE;
  gsize ciphertext_len = fragment_len - tag_len;
  if (!mtd_cursor_read_bytes (&cursor, ciphertext_len, &ciphertext)
      || !mtd_cursor_read_bytes (&cursor, tag_len, &tag))
    return FALSE;

  xor_nonce (cipher, nonce);
  if (!aead_open (cipher, nonce, aad, sizeof aad, ciphertext, ciphertext_len, tag, out))
    return FALSE;

  /* RFC 8446 §5.4: the content type is the last non-zero byte of TLSInnerPlaintext; "If a
   * receiving implementation does not find a non-zero octet in the cleartext, it MUST terminate
   * the connection with an "unexpected_message" alert." */
  gsize type_at = ciphertext_len;
  while (type_at > 0 && out[type_at - 1] == 0)
    type_at--;
  if (type_at == 0)
    return FALSE;
  *inner_type = out[type_at - 1];
  *out_len = type_at - 1;
  return TRUE;
}

/* RFC 5288 §3 (GCM: nonce = salt || nonce_explicit, sent before the ciphertext) and RFC 7905 §2
 * (ChaCha20-Poly1305: nonce as TLS 1.3's); additional data from RFC 5246 §6.2.3.3 with
 * TLSCompressed.length, the length of the plaintext. */
static gboolean
decrypt_tls12_aead (MtdRecordCipher *cipher, guint8 content_type, guint16 record_version,
                    const guint8 *fragment, gsize fragment_len, guint8 *out, gsize *out_len)
{
  MtdCursor cursor = mtd_cursor_init (fragment, fragment_len);
  gboolean is_gcm = cipher->suite->protection == PROTECTION_TLS12_GCM;
  gsize explicit_len = is_gcm ? GCM_EXPLICIT_NONCE_LEN : 0;
  const guint8 *ciphertext = NULL;
  const guint8 *tag = NULL;
  guint8 nonce[AEAD_NONCE_LEN];
  guint8 aad[TLS12_AAD_LEN];

  if (fragment_len < explicit_len + AEAD_TAG_LEN)
    return FALSE;
  gsize ciphertext_len = fragment_len - explicit_len - AEAD_TAG_LEN;

  if (is_gcm)
    {
      memcpy (nonce, cipher->iv, GCM_SALT_LEN);
      if (!mtd_cursor_copy_bytes (&cursor, nonce + GCM_SALT_LEN, GCM_EXPLICIT_NONCE_LEN))
        return FALSE;
    }
  else
    xor_nonce (cipher, nonce);
  if (!mtd_cursor_read_bytes (&cursor, ciphertext_len, &ciphertext)
      || !mtd_cursor_read_bytes (&cursor, AEAD_TAG_LEN, &tag))
    return FALSE;

  tls12_pseudo_header (cipher, content_type, record_version, ciphertext_len, aad);
  if (!aead_open (cipher, nonce, aad, sizeof aad, ciphertext, ciphertext_len, tag, out))
    return FALSE;
  *out_len = ciphertext_len;
  return TRUE;
}

/* HMAC of pseudo_header + data with the keyed MAC context into mac (cipher->mac_len bytes). */
static gboolean
record_mac (MtdRecordCipher *cipher, const guint8 *pseudo_header, const guint8 *data,
            gsize data_len, guint8 *mac)
{
  gsize mac_len = 0;
  /* A NULL key re-initialises HMAC with the key it already has. */
  if (EVP_MAC_init (cipher->mac_ctx, NULL, 0, NULL) != 1
      || EVP_MAC_update (cipher->mac_ctx, pseudo_header, TLS12_AAD_LEN) != 1
      || (data_len > 0 && EVP_MAC_update (cipher->mac_ctx, data, data_len) != 1)
      || EVP_MAC_final (cipher->mac_ctx, mac, &mac_len, MAX_HASH_LEN) != 1
      || mac_len != cipher->mac_len)
    return openssl_failed ();
  return TRUE;
}

/* AES-CBC without OpenSSL's own padding: TLS padding is checked by the caller. */
static gboolean
cbc_decrypt (MtdRecordCipher *cipher, const guint8 *iv, const guint8 *ciphertext,
             gsize ciphertext_len, guint8 *out)
{
  int n_out = 0;
  int n_final = 0;
  if (EVP_DecryptInit_ex (cipher->ctx, NULL, NULL, NULL, iv) != 1
      || EVP_CIPHER_CTX_set_padding (cipher->ctx, 0) != 1
      || EVP_DecryptUpdate (cipher->ctx, out, &n_out, ciphertext, (int) ciphertext_len) != 1
      || EVP_DecryptFinal_ex (cipher->ctx, out + (gsize) n_out, &n_final) != 1
      || (gsize) n_out + (gsize) n_final != ciphertext_len)
    return openssl_failed ();
  return TRUE;
}

/* RFC 5246 §6.2.3.2: every padding byte holds padding_length.  Returns all-ones when the
 * padding at the end of plaintext is well formed (and leaves room for min_rest bytes before
 * it), zero otherwise, looking at the same number of bytes whatever the padding is, so that
 * the time taken says little about the plaintext. */
static guint
cbc_padding_mask (const guint8 *plaintext, gsize plaintext_len, gsize min_rest)
{
  guint padding_length = plaintext[plaintext_len - 1];
  guint bad = (gsize) padding_length + 1 + min_rest > plaintext_len;
  gsize n_checked = MIN (plaintext_len, (gsize) CBC_MAX_PADDING_LEN);

  for (gsize i = 1; i <= n_checked; i++)
    {
      guint is_padding = i <= (gsize) padding_length + 1;
      bad |= is_padding & (plaintext[plaintext_len - i] != padding_length);
    }
  return bad ? 0 : ~0u;
}

/* RFC 5246 §6.2.3.2 (MAC-then-encrypt) and RFC 7366 §3 (encrypt-then-MAC) with the explicit
 * IV of TLS 1.1 and later. */
static gboolean
decrypt_tls12_cbc (MtdRecordCipher *cipher, guint8 content_type, guint16 record_version,
                   const guint8 *fragment, gsize fragment_len, guint8 *out, gsize *out_len)
{
  MtdCursor cursor = mtd_cursor_init (fragment, fragment_len);
  gsize mac_len = cipher->mac_len;
  const guint8 *iv = NULL;
  const guint8 *ciphertext = NULL;
  const guint8 *received_mac = NULL;
  guint8 pseudo_header[TLS12_AAD_LEN];
  guint8 mac[MAX_HASH_LEN];

  if (cipher->is_encrypt_then_mac)
    {
      /* RFC 7366 §3: MAC(MAC_write_key, seq_num + type + version + length + IV +
       * ENC(content + padding + padding_length)), where length is that of IV + ENC(...);
       * the MAC is checked before anything is decrypted. */
      if (fragment_len < AES_BLOCK_LEN + AES_BLOCK_LEN + mac_len)
        return FALSE;
      gsize protected_len = fragment_len - mac_len;
      gsize ciphertext_len = protected_len - AES_BLOCK_LEN;
      if (ciphertext_len % AES_BLOCK_LEN != 0
          || !mtd_cursor_read_bytes (&cursor, AES_BLOCK_LEN, &iv)
          || !mtd_cursor_read_bytes (&cursor, ciphertext_len, &ciphertext)
          || !mtd_cursor_read_bytes (&cursor, mac_len, &received_mac))
        return FALSE;
      tls12_pseudo_header (cipher, content_type, record_version, protected_len, pseudo_header);
      if (!record_mac (cipher, pseudo_header, fragment, protected_len, mac)
          || CRYPTO_memcmp (mac, received_mac, mac_len) != 0)
        return FALSE;
      if (!cbc_decrypt (cipher, iv, ciphertext, ciphertext_len, out)
          || cbc_padding_mask (out, ciphertext_len, 0) == 0)
        return FALSE;
      *out_len = ciphertext_len - out[ciphertext_len - 1] - 1;
      return TRUE;
    }

  /* MAC-then-encrypt: IV + ENC(content + MAC + padding + padding_length). */
  if (fragment_len < AES_BLOCK_LEN + AES_BLOCK_LEN)
    return FALSE;
  gsize ciphertext_len = fragment_len - AES_BLOCK_LEN;
  if (ciphertext_len % AES_BLOCK_LEN != 0 || ciphertext_len < mac_len + 1
      || !mtd_cursor_read_bytes (&cursor, AES_BLOCK_LEN, &iv)
      || !mtd_cursor_read_bytes (&cursor, ciphertext_len, &ciphertext))
    return FALSE;
  if (!cbc_decrypt (cipher, iv, ciphertext, ciphertext_len, out))
    return FALSE;

  /* RFC 5246 §6.2.3.2, implementation note: with bad padding, still compute the MAC as if
   * there were no padding, so that a bad pad and a bad MAC take about as long. */
  guint padding_ok = cbc_padding_mask (out, ciphertext_len, mac_len);
  gsize padding_len = ((gsize) out[ciphertext_len - 1] + 1) & padding_ok;
  gsize content_len = ciphertext_len - mac_len - padding_len;
  tls12_pseudo_header (cipher, content_type, record_version, content_len, pseudo_header);
  if (!record_mac (cipher, pseudo_header, out, content_len, mac))
    return FALSE;
  gboolean is_mac_ok = CRYPTO_memcmp (mac, out + content_len, mac_len) == 0;
  if (!(padding_ok && is_mac_ok))
    return FALSE;
  *out_len = content_len;
  return TRUE;
}

static gboolean
decrypt_record (MtdRecordCipher *cipher, guint8 content_type, guint16 record_version,
                const guint8 *fragment, gsize fragment_len, guint8 *out, gsize *out_len,
                guint8 *inner_type)
{
  /* RFC 5246 §6.1 and RFC 8446 §5.3: sequence numbers do not wrap. */
  if (fragment_len > MTD_RECORD_CIPHER_MAX_FRAGMENT_LEN || cipher->sequence == G_MAXUINT64)
    return FALSE;

  switch (cipher->suite->protection)
    {
    case PROTECTION_TLS13_AEAD:
      return decrypt_tls13 (cipher, content_type, record_version, fragment, fragment_len, out,
                            out_len, inner_type);
    case PROTECTION_TLS12_GCM:
    case PROTECTION_TLS12_CHACHA:
      *inner_type = content_type;
      return decrypt_tls12_aead (cipher, content_type, record_version, fragment, fragment_len,
                                 out, out_len);
    case PROTECTION_TLS12_CBC:
      *inner_type = content_type;
      return decrypt_tls12_cbc (cipher, content_type, record_version, fragment, fragment_len,
                                out, out_len);
    default:
      g_assert_not_reached ();
    }
}

gboolean
mtd_record_cipher_decrypt (MtdRecordCipher *cipher, guint8 content_type, guint16 record_version,
                           const guint8 *fragment, gsize fragment_len, guint8 *out,
                           gsize out_cap, gsize *out_len, guint8 *inner_type)
{
  gsize plaintext_len = 0;
  guint8 plaintext_type = 0;

  g_return_val_if_fail (cipher != NULL, FALSE);
  g_return_val_if_fail (fragment != NULL || fragment_len == 0, FALSE);
  g_return_val_if_fail (out != NULL && out_cap >= fragment_len, FALSE);
  g_return_val_if_fail (out_len != NULL && inner_type != NULL, FALSE);

  if (!decrypt_record (cipher, content_type, record_version, fragment, fragment_len, out,
                       &plaintext_len, &plaintext_type))
    {
      /* Nothing that failed to verify is handed on. */
      OPENSSL_cleanse (out, fragment_len);
      return FALSE;
    }
  cipher->sequence++;
  *out_len = plaintext_len;
  *inner_type = plaintext_type;
  return TRUE;
}
