/* mtd-tls-crypto.h: decrypting the TLS records of one direction with secrets from a key log.
 *
 * Owns MtdRecordCipher, the read state of one direction of one connection: the traffic keys,
 * the sequence number and a reusable OpenSSL cipher context.  It turns a protected record's
 * fragment into plaintext, or says that it does not verify (the keys are not this connection's,
 * or a record of this direction is missing).  It does not know where records begin and end,
 * nor when a connection changes keys: the TLS parser tells it.
 *
 * Specs followed: RFC 8446 §5.2-5.4 and §7.1-7.3 (TLS 1.3 record protection, key schedule,
 * KeyUpdate), RFC 5246 §5, §6.2.3 and §6.3 (TLS 1.2 PRF, record protection, key block),
 * RFC 5288 (AES-GCM), RFC 7905 (ChaCha20-Poly1305), RFC 7366 (encrypt_then_mac), RFC 5116
 * §5.3 (AES-CCM as TLS 1.3 uses it).
 *
 * No cryptography is written here: HKDF, the TLS 1.2 PRF, the ciphers and HMAC are OpenSSL's
 * (EVP_KDF, EVP_CIPHER, EVP_MAC).  Key material is kept only inside MtdRecordCipher, wiped with
 * OPENSSL_cleanse when freed or replaced, and never printed.
 *
 * Supported cipher suites (IANA code points):
 *   TLS 1.3: 0x1301 TLS_AES_128_GCM_SHA256, 0x1302 TLS_AES_256_GCM_SHA384,
 *            0x1303 TLS_CHACHA20_POLY1305_SHA256, 0x1304 TLS_AES_128_CCM_SHA256,
 *            0x1305 TLS_AES_128_CCM_8_SHA256 (an 8-byte tag).
 *   TLS 1.2 AES-GCM (RFC 5288, RFC 5289):
 *            0x009C RSA, 0x009E DHE_RSA, 0xC02B ECDHE_ECDSA, 0xC02F ECDHE_RSA
 *              _WITH_AES_128_GCM_SHA256;
 *            0x009D RSA, 0x009F DHE_RSA, 0xC02C ECDHE_ECDSA, 0xC030 ECDHE_RSA
 *              _WITH_AES_256_GCM_SHA384.
 *   TLS 1.2 ChaCha20-Poly1305 (RFC 7905):
 *            0xCCA8 ECDHE_RSA, 0xCCA9 ECDHE_ECDSA, 0xCCAA DHE_RSA _WITH_CHACHA20_POLY1305_SHA256.
 *   TLS 1.2 AES-CBC with HMAC (RFC 5246, RFC 4492, RFC 5289), explicit IV per record:
 *            0x002F RSA, 0x0033 DHE_RSA, 0xC009 ECDHE_ECDSA, 0xC013 ECDHE_RSA
 *              _WITH_AES_128_CBC_SHA;
 *            0x0035 RSA, 0x0039 DHE_RSA, 0xC00A ECDHE_ECDSA, 0xC014 ECDHE_RSA
 *              _WITH_AES_256_CBC_SHA;
 *            0x003C RSA, 0x0067 DHE_RSA, 0xC023 ECDHE_ECDSA, 0xC027 ECDHE_RSA
 *              _WITH_AES_128_CBC_SHA256;
 *            0x003D RSA, 0x006B DHE_RSA _WITH_AES_256_CBC_SHA256;
 *            0xC024 ECDHE_ECDSA, 0xC028 ECDHE_RSA _WITH_AES_256_CBC_SHA384.
 * Not supported: TLS 1.0 (CBC with the IV chained from the previous record), TLS 1.1 (the
 * MD5/SHA-1 PRF), TLS_AES_128_CCM_8_SHA256, static DH, PSK, CAMELLIA, ARIA, 3DES, RC4.
 */
#pragma once

#include <glib.h>

/* The longest TLSCiphertext fragment a peer may send (RFC 5246 §6.2.3: 2^14 + 2048); longer
 * fragments never decrypt. */
#define MTD_RECORD_CIPHER_MAX_FRAGMENT_LEN (16384 + 2048)

/* The read state of one direction. */
typedef struct _MtdRecordCipher MtdRecordCipher;

/* TLS 1.3 (RFC 8446 §7.3): the key and iv of a traffic secret (handshake or application, as the
 * key log gives it) with HKDF-Expand-Label "key" and "iv" and the hash of cipher_suite.  The
 * sequence number starts at 0.  NULL when cipher_suite is not a supported TLS 1.3 suite or
 * secret_len is not the length of its hash (32 for SHA-256, 48 for SHA-384).  secret borrowed. */
MtdRecordCipher *mtd_record_cipher_new_tls13 (guint16 cipher_suite, const guint8 *secret,
                                              gsize secret_len);

/* TLS 1.3 KeyUpdate (RFC 8446 §7.2): replaces the traffic secret with
 * application_traffic_secret_N+1 = HKDF-Expand-Label (secret, "traffic upd", "", Hash.length),
 * derives its key and iv, wipes the old ones and sets the sequence number back to 0.  Call it
 * after decrypting the peer's KeyUpdate message.  FALSE, changing nothing, when cipher is a
 * TLS 1.2 cipher; FALSE too when OpenSSL fails, after which no record decrypts. */
gboolean mtd_record_cipher_update_tls13 (MtdRecordCipher *cipher);

/* TLS 1.2 (RFC 5246 §6.3): the key block PRF (master_secret, "key expansion",
 * server_random + client_random) with the PRF hash of the suite (SHA-384 for *_SHA384 suites,
 * SHA-256 otherwise), then this direction's keys: the client's writes when is_client_write,
 * the server's otherwise.  is_encrypt_then_mac: the ServerHello accepted RFC 7366's
 * encrypt_then_mac extension; it only changes CBC suites.  master_secret_len must be 48;
 * client_random and server_random are 32 bytes.  NULL for an unsupported suite or a wrong
 * length.  All pointers borrowed. */
MtdRecordCipher *mtd_record_cipher_new_tls12 (guint16 cipher_suite, const guint8 *master_secret,
                                              gsize master_secret_len,
                                              const guint8 *client_random,
                                              const guint8 *server_random,
                                              gboolean is_client_write,
                                              gboolean is_encrypt_then_mac);

/* Decrypts one record's fragment (the bytes after its 5-byte header; borrowed) and advances
 * the sequence number.  content_type and record_version are the header's: they are part of
 * the additional data.  out (out_cap >= fragment_len, not overlapping fragment) receives the
 * plaintext, *out_len its length and *inner_type the content type: for TLS 1.3 the real type
 * from TLSInnerPlaintext with the zero padding stripped (RFC 8446 §5.4), for TLS 1.2
 * content_type.
 * FALSE, leaving the sequence number unchanged and out wiped, when the fragment is too short
 * or too long for the cipher, or the tag, MAC or padding does not verify (the keys do not
 * belong to this direction, or a record is missing), or a TLS 1.3 plaintext is all zeros. */
gboolean mtd_record_cipher_decrypt (MtdRecordCipher *cipher, guint8 content_type,
                                    guint16 record_version, const guint8 *fragment,
                                    gsize fragment_len, guint8 *out, gsize out_cap,
                                    gsize *out_len, guint8 *inner_type);

/* The sequence number of the next record to decrypt (RFC 8446 §5.3, RFC 5246 §6.1). */
guint64 mtd_record_cipher_sequence (const MtdRecordCipher *cipher);

/* NULL-safe; wipes every key with OPENSSL_cleanse. */
void mtd_record_cipher_free (MtdRecordCipher *cipher);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdRecordCipher, mtd_record_cipher_free)
