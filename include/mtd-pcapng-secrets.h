/* mtd-pcapng-secrets.h: TLS key logs carried inside pcapng files.
 *
 * `editcap --inject-secrets tls,KEYS in.pcapng out.pcapng` (and Wireshark, when it saves a
 * capture with its secrets) stores a key log in the capture itself, in a Decryption Secrets
 * Block.  libpcap skips those blocks, so this module walks the file's blocks on its own, finds
 * the Decryption Secrets Blocks of type TLS key log and adds their text to an MtdKeyLog; the
 * packets still come through libpcap (source-pcap.c).
 *
 * Specs followed: draft-ietf-opsawg-pcapng §3.1 (general block structure), §4.1 (Section Header
 * Block), §4.7 (Decryption Secrets Block) and §10.1 (secrets type 0x544c534b, TLS key log).
 *
 * A damaged file is data, not an error: a block whose length lies ends the walk with a warning,
 * and the secrets found before it are kept.  Warnings name the source, the block and the
 * problem, never the secrets.
 */
#pragma once

#include <glib.h>

#include "mtd-keylog.h"

/* Decryption Secrets Blocks longer than this are skipped with a warning (a key log of 16 MiB
 * holds some 80 000 connections). */
#define MTD_PCAPNG_SECRETS_MAX_BLOCK_LEN (16 * 1024 * 1024)
/* Sentences one file may add to warnings (its key logs' included); one more counts the rest. */
#define MTD_PCAPNG_SECRETS_MAX_WARNINGS 40

/* Adds the TLS secrets of every Decryption Secrets Block in bytes (a whole pcapng file in memory,
 * borrowed) to keylog, each through mtd_keylog_add_text with the source name
 * "SOURCE (Decryption Secrets Block N)", N counting every Decryption Secrets Block of the file
 * from 1.  source_name (borrowed) names the file in warnings.  A file that is not pcapng adds
 * nothing and is not an error.  warnings (char*, may be NULL) gets sentences about damaged
 * blocks and malformed key log lines.  Returns the number of TLS key log blocks found. */
guint mtd_pcapng_secrets_from_bytes (const guint8 *bytes, gsize len, const char *source_name,
                                     MtdKeyLog *keylog, GPtrArray *warnings);

/* The same from a file, read block by block with stdio: block headers are read, other blocks
 * skipped, and only the bodies of Decryption Secrets Blocks read (at most
 * MTD_PCAPNG_SECRETS_MAX_BLOCK_LEN each), so a capture of any size is fine.  path names the
 * file in warnings.  *n_blocks (n_blocks may be NULL) gets the number of TLS key log blocks
 * found, also when the walk stops at a read error.  FALSE with error (G_FILE_ERROR, naming the
 * file and the reason) only when the file cannot be opened or read; a file that is not pcapng,
 * or is damaged, is TRUE. */
gboolean mtd_pcapng_secrets_from_file (const char *path, MtdKeyLog *keylog, guint *n_blocks,
                                       GPtrArray *warnings, GError **error);
