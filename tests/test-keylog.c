/* test-keylog.c: unit tests of keylog-nss.c (NSS key log text to TLS secrets).
 *
 * The format, from draft-ietf-tls-keylogfile and NSS's description: "LABEL CLIENT_RANDOM SECRET",
 * the client random 32 bytes and the secret in hex; '#' starts a comment; CR LF or LF ends a line
 * (draft-ietf-opsawg-pcapng §4.7 asks both of readers).  A master secret is 48 bytes (RFC 5246
 * §8.1), a TLS 1.3 secret 32 or 48 (RFC 8446 §7.1).  Every key log line below is written here
 * from bytes the test chose, with its own hex encoder; the sample key logs of captures/ are
 * split by the test itself to know what they hold.  No warning may contain the hex of a secret
 * or of a client random.
 */
#include "mtd-keylog.h"
#include "test-pki.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define SOURCE "test.keys"

static const char *const kept_labels[MTD_SECRET_KIND_COUNT] = {
  [MTD_SECRET_CLIENT_RANDOM] = "CLIENT_RANDOM",
  [MTD_SECRET_CLIENT_HANDSHAKE_TRAFFIC] = "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
  [MTD_SECRET_SERVER_HANDSHAKE_TRAFFIC] = "SERVER_HANDSHAKE_TRAFFIC_SECRET",
  [MTD_SECRET_CLIENT_TRAFFIC_0] = "CLIENT_TRAFFIC_SECRET_0",
  [MTD_SECRET_SERVER_TRAFFIC_0] = "SERVER_TRAFFIC_SECRET_0",
};

/* ---- Bytes and hex, independent of the module --------------------------------------------- */

/* Bytes that differ with seed and position, never all zero. */
static void
fill (guint8 *out, gsize len, guint seed)
{
  for (gsize i = 0; i < len; i++)
    out[i] = (guint8) (seed * 37u + i * 11u + 1u);
}

/* One key log line's values. */
typedef struct {
  MtdSecretKind kind;
  guint8 client_random[MTD_KEYLOG_CLIENT_RANDOM_LEN];
  guint8 secret[MTD_KEYLOG_MAX_SECRET_LEN];
  gsize secret_len;
} Secret;

static Secret
make_secret (MtdSecretKind kind, guint random_seed, guint secret_seed, gsize secret_len)
{
  Secret secret = { kind, { 0 }, { 0 }, secret_len };
  fill (secret.client_random, sizeof secret.client_random, random_seed);
  fill (secret.secret, secret_len, secret_seed + 1000);
  return secret;
}

static char *
secret_line (const Secret *secret)
{
  g_autofree char *random_hex = mtd_test_hex (secret->client_random, sizeof secret->client_random);
  g_autofree char *secret_hex = mtd_test_hex (secret->secret, secret->secret_len);
  return g_strdup_printf ("%s %s %s", kept_labels[secret->kind], random_hex, secret_hex);
}

/* ---- Checks ------------------------------------------------------------------------------- */

/* Adds an exact-size heap copy of text, so AddressSanitizer sees any read past the end. */
static guint
add_len (MtdKeyLog *keylog, const char *text, gsize len, GPtrArray *warnings)
{
  g_autofree guint8 *copy = len > 0 ? g_memdup2 (text, len) : NULL;
  return mtd_keylog_add_text (keylog, SOURCE, copy, len, warnings);
}

static guint
add (MtdKeyLog *keylog, const char *text, GPtrArray *warnings)
{
  return add_len (keylog, text, strlen (text), warnings);
}

static void
assert_has (const MtdKeyLog *keylog, const Secret *secret)
{
  gsize len = 99;
  const guint8 *found = mtd_keylog_lookup (keylog, secret->client_random, secret->kind, &len);
  g_assert_nonnull (found);
  g_assert_cmpmem (found, len, secret->secret, secret->secret_len);
}

static void
assert_absent (const MtdKeyLog *keylog, const guint8 *client_random, MtdSecretKind kind)
{
  gsize len = 99;
  g_assert_null (mtd_keylog_lookup (keylog, client_random, kind, &len));
  g_assert_cmpuint (len, ==, 0);
}

/* No warning holds the hex of bytes, in either case, whole or its first half. */
static void
assert_not_leaked (GPtrArray *warnings, const guint8 *bytes, gsize len)
{
  g_autofree char *lower = mtd_test_hex (bytes, len);
  g_autofree char *upper = g_ascii_strup (lower, -1);
  g_autofree char *half = g_strndup (lower, len);
  for (guint i = 0; i < warnings->len; i++) {
    const char *warning = g_ptr_array_index (warnings, i);
    g_assert_null (strstr (warning, lower));
    g_assert_null (strstr (warning, upper));
    g_assert_null (strstr (warning, half));
  }
}

static void
assert_secret_not_leaked (GPtrArray *warnings, const Secret *secret)
{
  assert_not_leaked (warnings, secret->secret, secret->secret_len);
  assert_not_leaked (warnings, secret->client_random, sizeof secret->client_random);
}

static void
assert_contains (const char *text, const char *part)
{
  if (strstr (text, part) == NULL)
    g_error ("\"%s\" does not say \"%s\"", text, part);
}

static GPtrArray *
new_warnings (void)
{
  return g_ptr_array_new_with_free_func (g_free);
}

/* ---- Valid lines -------------------------------------------------------------------------- */

typedef struct {
  const char *name; /* short names of the TLS 1.3 secrets of RFC 8446 §7.1 */
  MtdSecretKind kind;
  gsize secret_len;
  const char *separator; /* between the fields */
  gboolean is_uppercase;
} ValidCase;

static const ValidCase valid_cases[] = {
  { "CLIENT_RANDOM", MTD_SECRET_CLIENT_RANDOM, 48, " ", FALSE },
  { "CLIENT_RANDOM uppercase", MTD_SECRET_CLIENT_RANDOM, 48, " ", TRUE },
  { "CHTS SHA-256", MTD_SECRET_CLIENT_HANDSHAKE_TRAFFIC, 32, " ", FALSE },
  { "CHTS SHA-384", MTD_SECRET_CLIENT_HANDSHAKE_TRAFFIC, 48, " ", FALSE },
  { "SHTS SHA-256", MTD_SECRET_SERVER_HANDSHAKE_TRAFFIC, 32, " ", FALSE },
  { "SHTS SHA-384", MTD_SECRET_SERVER_HANDSHAKE_TRAFFIC, 48, " ", TRUE },
  { "CATS SHA-256", MTD_SECRET_CLIENT_TRAFFIC_0, 32, " ", FALSE },
  { "CATS SHA-384", MTD_SECRET_CLIENT_TRAFFIC_0, 48, " ", FALSE },
  { "SATS SHA-256", MTD_SECRET_SERVER_TRAFFIC_0, 32, " ", FALSE },
  { "SATS SHA-384", MTD_SECRET_SERVER_TRAFFIC_0, 48, " ", FALSE },
  { "two spaces", MTD_SECRET_CLIENT_TRAFFIC_0, 32, "  ", FALSE },
  { "tab", MTD_SECRET_SERVER_TRAFFIC_0, 48, "\t", FALSE },
};

static void
test_valid (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (valid_cases); i++) {
    const ValidCase *vc = &valid_cases[i];
    g_test_message ("valid: %s", vc->name);
    Secret secret = make_secret (vc->kind, (guint) i, (guint) i, vc->secret_len);
    g_autofree char *random_hex = mtd_test_hex (secret.client_random, sizeof secret.client_random);
    g_autofree char *secret_hex = mtd_test_hex (secret.secret, secret.secret_len);
    g_autofree char *line = g_strconcat (kept_labels[vc->kind], vc->separator, random_hex,
                                         vc->separator, secret_hex, "\n", NULL);
    if (vc->is_uppercase) {
      g_autofree char *upper = g_ascii_strup (line, -1);
      strcpy (line, upper);
    }
    g_autoptr (MtdKeyLog) keylog = mtd_keylog_new ();
    g_autoptr (GPtrArray) warnings = new_warnings ();
    g_assert_cmpuint (add (keylog, line, warnings), ==, 1);
    g_assert_cmpuint (warnings->len, ==, 0);
    g_assert_cmpuint (mtd_keylog_n_secrets (keylog), ==, 1);
    g_assert_cmpuint (mtd_keylog_n_client_randoms (keylog), ==, 1);
    assert_has (keylog, &secret);
    for (int kind = 0; kind < MTD_SECRET_KIND_COUNT; kind++)
      if (kind != (int) vc->kind)
        assert_absent (keylog, secret.client_random, (MtdSecretKind) kind);
  }
}

/* A TLS 1.3 connection's four secrets and a TLS 1.2 one's master secret, in one text whose lines
 * end as line_end says; the last line has no end when is_last_open. */
static char *
session_text (Secret *secrets, const char *line_end, gboolean is_last_open)
{
  secrets[0] = make_secret (MTD_SECRET_CLIENT_HANDSHAKE_TRAFFIC, 1, 1, 48);
  secrets[1] = make_secret (MTD_SECRET_SERVER_HANDSHAKE_TRAFFIC, 1, 2, 48);
  secrets[2] = make_secret (MTD_SECRET_CLIENT_TRAFFIC_0, 1, 3, 48);
  secrets[3] = make_secret (MTD_SECRET_SERVER_TRAFFIC_0, 1, 4, 48);
  secrets[4] = make_secret (MTD_SECRET_CLIENT_RANDOM, 2, 5, 48);
  GString *text = g_string_new ("# SSL/TLS secrets log file, generated by OpenSSL");
  g_string_append (text, line_end);
  for (guint i = 0; i < 5; i++) {
    g_autofree char *line = secret_line (&secrets[i]);
    g_string_append (text, line);
    if (i < 4 || !is_last_open)
      g_string_append (text, line_end);
  }
  return g_string_free (text, FALSE);
}

static void
test_line_ends (void)
{
  static const struct {
    const char *name;
    const char *line_end;
    gboolean is_last_open;
  } cases[] = {
    { "LF", "\n", FALSE },
    { "CR LF", "\r\n", FALSE },
    { "LF, last line open", "\n", TRUE },
    { "CR LF, last line open", "\r\n", TRUE },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_test_message ("line ends: %s", cases[i].name);
    Secret secrets[5];
    g_autofree char *text = session_text (secrets, cases[i].line_end, cases[i].is_last_open);
    g_autoptr (MtdKeyLog) keylog = mtd_keylog_new ();
    g_autoptr (GPtrArray) warnings = new_warnings ();
    g_assert_cmpuint (add (keylog, text, warnings), ==, 5);
    g_assert_cmpuint (warnings->len, ==, 0);
    g_assert_cmpuint (mtd_keylog_n_secrets (keylog), ==, 5);
    g_assert_cmpuint (mtd_keylog_n_client_randoms (keylog), ==, 2);
    for (guint j = 0; j < 5; j++)
      assert_has (keylog, &secrets[j]);
  }
}

static void
test_comments_and_blank_lines (void)
{
  Secret secret = make_secret (MTD_SECRET_CLIENT_RANDOM, 7, 7, 48);
  g_autofree char *line = secret_line (&secret);
  g_autofree char *text = g_strdup_printf ("# a comment\n"
                                           "\n"
                                           "\r\n"
                                           "   \t \n"
                                           "  # an indented comment\n"
                                           "#CLIENT_RANDOM 00 11\n"
                                           "# %s\n"
                                           "%s \t\r\n"
                                           "\n",
                                           line, line);
  g_autoptr (MtdKeyLog) keylog = mtd_keylog_new ();
  g_autoptr (GPtrArray) warnings = new_warnings ();
  g_assert_cmpuint (add (keylog, text, warnings), ==, 1);
  g_assert_cmpuint (warnings->len, ==, 0);
  assert_has (keylog, &secret);
}

static void
test_other_labels (void)
{
  guint8 random[MTD_KEYLOG_CLIENT_RANDOM_LEN];
  guint8 value[48];
  fill (random, sizeof random, 3);
  fill (value, sizeof value, 4);
  g_autofree char *random_hex = mtd_test_hex (random, sizeof random);
  g_autofree char *value_hex = mtd_test_hex (value, sizeof value);
  static const char *const labels[] = {
    "CLIENT_EARLY_TRAFFIC_SECRET", "EARLY_EXPORTER_SECRET", "EXPORTER_SECRET", "ECH_SECRET",
    "ECH_CONFIG", "PMS_CLIENT_RANDOM", "CLIENT_TRAFFIC_SECRET_1", "client_random",
    "Client_Random", "CLIENT_RANDOMX", "XCLIENT_RANDOM", "SERVER_TRAFFIC_SECRET", "\xff\xfe",
  };
  GString *text = g_string_new (NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (labels); i++)
    g_string_append_printf (text, "%s %s %s\n", labels[i], random_hex, value_hex);
  /* Other shapes of other labels: NSS's RSA lines, and a label alone. */
  g_string_append (text, "RSA 0123456789abcdef 00112233\n");
  g_string_append (text, "RSA Session-ID:00 Master-Key:11\n");
  g_string_append (text, "SOMETHING_NEW\n");
  g_string_append (text, "EXPORTER_SECRET too many fields here and there\n");

  g_autoptr (MtdKeyLog) keylog = mtd_keylog_new ();
  g_autoptr (GPtrArray) warnings = new_warnings ();
  g_assert_cmpuint (mtd_keylog_add_text (keylog, SOURCE, (const guint8 *) text->str, text->len,
                                         warnings),
                    ==, 0);
  g_assert_cmpuint (warnings->len, ==, 0);
  g_assert_cmpuint (mtd_keylog_n_secrets (keylog), ==, 0);
  g_assert_cmpuint (mtd_keylog_n_client_randoms (keylog), ==, 0);
  g_string_free (text, TRUE);
}

/* ---- Malformed lines ---------------------------------------------------------------------- */

typedef struct {
  const char *name;
  char *line;           /* owned */
  const char *reason;   /* a part of the warning */
} BadCase;

static void
bad_case_free (BadCase *bc)
{
  g_free (bc->line);
  g_free (bc);
}

static void
add_bad (GPtrArray *cases, const char *name, char *line, const char *reason)
{
  BadCase *bc = g_new0 (BadCase, 1);
  bc->name = name;
  bc->line = line;
  bc->reason = reason;
  g_ptr_array_add (cases, bc);
}

/* The secret every bad line is about (or a piece of it), for the leak check. */
static Secret bad_secret;

static GPtrArray *
bad_cases (void)
{
  GPtrArray *cases = g_ptr_array_new_with_free_func ((GDestroyNotify) bad_case_free);
  bad_secret = make_secret (MTD_SECRET_SERVER_TRAFFIC_0, 40, 40, 48);
  g_autofree char *random = mtd_test_hex (bad_secret.client_random, sizeof bad_secret.client_random);
  g_autofree char *secret = mtd_test_hex (bad_secret.secret, bad_secret.secret_len);
  g_autofree char *secret_32 = mtd_test_hex (bad_secret.secret, 32);
  g_autofree char *secret_40 = mtd_test_hex (bad_secret.secret, 40);
  g_autofree char *random_short = g_strndup (random, 62);
  g_autofree char *random_nonhex = g_strdup (random);
  random_nonhex[10] = 'g';
  g_autofree char *secret_nonhex = g_strdup (secret);
  secret_nonhex[20] = 'z';
  g_autofree char *secret_odd = g_strndup (secret, 95);

  add_bad (cases, "label alone", g_strdup ("CLIENT_RANDOM"), "CLIENT_RANDOM with 1 field, not 3");
  add_bad (cases, "two fields", g_strdup_printf ("CLIENT_RANDOM %s", random), "2 fields, not 3");
  add_bad (cases, "four fields", g_strdup_printf ("SERVER_TRAFFIC_SECRET_0 %s %s extra", random,
                                                  secret),
           "4 fields, not 3");
  add_bad (cases, "short client random",
           g_strdup_printf ("CLIENT_TRAFFIC_SECRET_0 %s %s", random_short, secret),
           "62 characters long, not 64");
  add_bad (cases, "long client random",
           g_strdup_printf ("CLIENT_TRAFFIC_SECRET_0 %s00 %s", random, secret),
           "66 characters long, not 64");
  add_bad (cases, "client random not hex",
           g_strdup_printf ("CLIENT_HANDSHAKE_TRAFFIC_SECRET %s %s", random_nonhex, secret),
           "client random of CLIENT_HANDSHAKE_TRAFFIC_SECRET is not hex");
  add_bad (cases, "secret not hex",
           g_strdup_printf ("SERVER_HANDSHAKE_TRAFFIC_SECRET %s %s", random, secret_nonhex),
           "secret of SERVER_HANDSHAKE_TRAFFIC_SECRET is not hex");
  add_bad (cases, "secret with an odd number of digits",
           g_strdup_printf ("SERVER_TRAFFIC_SECRET_0 %s %s", random, secret_odd),
           "odd number of hex digits");
  add_bad (cases, "master secret of 32 bytes",
           g_strdup_printf ("CLIENT_RANDOM %s %s", random, secret_32),
           "32 bytes long; a TLS 1.2 master secret is 48 bytes");
  add_bad (cases, "TLS 1.3 secret of 40 bytes",
           g_strdup_printf ("SERVER_TRAFFIC_SECRET_0 %s %s", random, secret_40),
           "40 bytes long; a TLS 1.3 secret is 32 or 48 bytes");
  add_bad (cases, "TLS 1.3 secret of 96 bytes",
           g_strdup_printf ("CLIENT_TRAFFIC_SECRET_0 %s %s%s", random, secret, secret),
           "96 bytes long; a TLS 1.3 secret is 32 or 48 bytes");
  add_bad (cases, "a NUL in the secret",
           g_strdup_printf ("CLIENT_TRAFFIC_SECRET_0 %s %s@", random, secret_32),
           "secret of CLIENT_TRAFFIC_SECRET_0 is not hex");
  return cases;
}

/* Each bad line is line 3, after a comment and a good line; it adds nothing and says why. */
static void
test_malformed (void)
{
  g_autoptr (GPtrArray) cases = bad_cases ();
  Secret good = make_secret (MTD_SECRET_CLIENT_RANDOM, 41, 41, 48);
  g_autofree char *good_line = secret_line (&good);
  for (guint i = 0; i < cases->len; i++) {
    const BadCase *bc = g_ptr_array_index (cases, i);
    g_test_message ("malformed: %s", bc->name);
    g_autofree char *text = g_strdup_printf ("# comment\n%s\n%s\n", good_line, bc->line);
    gsize text_len = strlen (text);
    /* The NUL case: the '@' stands for a zero byte. */
    char *at = strchr (text, '@');
    if (at != NULL)
      *at = '\0';
    g_autoptr (MtdKeyLog) keylog = mtd_keylog_new ();
    g_autoptr (GPtrArray) warnings = new_warnings ();
    g_assert_cmpuint (add_len (keylog, text, text_len, warnings), ==, 1);
    g_assert_cmpuint (mtd_keylog_n_secrets (keylog), ==, 1);
    g_assert_cmpuint (mtd_keylog_n_client_randoms (keylog), ==, 1);
    assert_has (keylog, &good);
    g_assert_cmpuint (warnings->len, ==, 1);
    const char *warning = g_ptr_array_index (warnings, 0);
    g_test_message ("  %s", warning);
    g_assert_true (g_str_has_prefix (warning, SOURCE " line 3: "));
    assert_contains (warning, bc->reason);
    assert_secret_not_leaked (warnings, &bad_secret);
    assert_secret_not_leaked (warnings, &good);
  }
}

/* Without a warnings array, malformed lines are dropped the same way. */
static void
test_malformed_without_warnings (void)
{
  g_autoptr (GPtrArray) cases = bad_cases ();
  g_autoptr (MtdKeyLog) keylog = mtd_keylog_new ();
  for (guint i = 0; i < cases->len; i++) {
    const BadCase *bc = g_ptr_array_index (cases, i);
    g_assert_cmpuint (add (keylog, bc->line, NULL), ==, 0);
  }
  g_assert_cmpuint (mtd_keylog_n_secrets (keylog), ==, 0);
}

/* The line number counts every line: comments, blank ones and CR LF ones. */
static void
test_line_numbers (void)
{
  g_autofree char *text = g_strdup ("# 1\r\n"
                                    "\r\n"
                                    "CLIENT_RANDOM 3\r\n"
                                    "EXPORTER_SECRET 4\n"
                                    "\n"
                                    "SERVER_TRAFFIC_SECRET_0 6");
  g_autoptr (MtdKeyLog) keylog = mtd_keylog_new ();
  g_autoptr (GPtrArray) warnings = new_warnings ();
  g_assert_cmpuint (add (keylog, text, warnings), ==, 0);
  g_assert_cmpuint (warnings->len, ==, 2);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (warnings, 0), SOURCE " line 3: "));
  g_assert_true (g_str_has_prefix (g_ptr_array_index (warnings, 1), SOURCE " line 6: "));

  /* No source name: the text is called the key log. */
  g_autoptr (GPtrArray) unnamed = new_warnings ();
  mtd_keylog_add_text (keylog, NULL, (const guint8 *) "CLIENT_RANDOM\n", 14, unnamed);
  g_assert_cmpuint (unnamed->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (unnamed, 0), ==,
                   "key log line 1: CLIENT_RANDOM with 1 field, not 3 (label, client random, "
                   "secret)");
}

static void
test_warning_cap (void)
{
  GString *text = g_string_new (NULL);
  for (guint i = 0; i < 100; i++)
    g_string_append (text, "CLIENT_RANDOM x\n");
  g_autoptr (MtdKeyLog) keylog = mtd_keylog_new ();
  g_autoptr (GPtrArray) warnings = new_warnings ();
  mtd_keylog_add_text (keylog, SOURCE, (const guint8 *) text->str, text->len, warnings);
  g_assert_cmpuint (warnings->len, ==, MTD_KEYLOG_MAX_WARNINGS + 1);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (warnings, 0), SOURCE " line 1: "));
  g_autofree char *last = g_strdup_printf (SOURCE ": %u more malformed lines not listed",
                                           100 - MTD_KEYLOG_MAX_WARNINGS);
  g_assert_cmpstr (g_ptr_array_index (warnings, MTD_KEYLOG_MAX_WARNINGS), ==, last);
  g_string_free (text, TRUE);
}

/* ---- Duplicates and lookups --------------------------------------------------------------- */

static void
test_duplicates (void)
{
  /* Python's ssl module, both ends in one process sharing SSLKEYLOGFILE: every line twice. */
  Secret secrets[5];
  g_autofree char *once = session_text (secrets, "\n", FALSE);
  g_autofree char *twice = g_strconcat (once, once, NULL);
  g_autoptr (MtdKeyLog) keylog = mtd_keylog_new ();
  g_autoptr (GPtrArray) warnings = new_warnings ();
  g_assert_cmpuint (add (keylog, twice, warnings), ==, 5);
  g_assert_cmpuint (add (keylog, once, warnings), ==, 0);
  g_assert_cmpuint (warnings->len, ==, 0);
  g_assert_cmpuint (mtd_keylog_n_secrets (keylog), ==, 5);
  g_assert_cmpuint (mtd_keylog_n_client_randoms (keylog), ==, 2);
  for (guint i = 0; i < 5; i++)
    assert_has (keylog, &secrets[i]);

  /* A different secret for the same client random and label: the first is kept. */
  Secret other = secrets[2];
  fill (other.secret, other.secret_len, 99);
  g_autofree char *other_line = secret_line (&other);
  g_assert_cmpuint (add (keylog, other_line, warnings), ==, 0);
  g_assert_cmpuint (warnings->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (warnings, 0), ==,
                   SOURCE " line 1: a different CLIENT_TRAFFIC_SECRET_0 for a client random "
                   "given one before; the first one is kept");
  assert_has (keylog, &secrets[2]);
  assert_secret_not_leaked (warnings, &other);
  assert_secret_not_leaked (warnings, &secrets[2]);

  /* The same with another length (SHA-256 after SHA-384). */
  Secret shorter = secrets[3];
  shorter.secret_len = 32;
  g_autofree char *shorter_line = secret_line (&shorter);
  g_assert_cmpuint (add (keylog, shorter_line, warnings), ==, 0);
  g_assert_cmpuint (warnings->len, ==, 2);
  assert_has (keylog, &secrets[3]);
  g_assert_cmpuint (mtd_keylog_n_secrets (keylog), ==, 5);
}

static void
test_lookup_absent (void)
{
  Secret secrets[5];
  g_autofree char *text = session_text (secrets, "\n", FALSE);
  g_autoptr (MtdKeyLog) keylog = mtd_keylog_new ();
  add (keylog, text, NULL);

  guint8 unknown[MTD_KEYLOG_CLIENT_RANDOM_LEN];
  fill (unknown, sizeof unknown, 500);
  for (int kind = 0; kind < MTD_SECRET_KIND_COUNT; kind++)
    assert_absent (keylog, unknown, (MtdSecretKind) kind);
  /* One bit off a known random. */
  memcpy (unknown, secrets[0].client_random, sizeof unknown);
  unknown[31] ^= 1;
  assert_absent (keylog, unknown, MTD_SECRET_CLIENT_TRAFFIC_0);
  /* The TLS 1.3 random has no master secret, the TLS 1.2 one no traffic secrets. */
  assert_absent (keylog, secrets[0].client_random, MTD_SECRET_CLIENT_RANDOM);
  assert_absent (keylog, secrets[4].client_random, MTD_SECRET_CLIENT_TRAFFIC_0);
  assert_absent (keylog, secrets[4].client_random, MTD_SECRET_SERVER_HANDSHAKE_TRAFFIC);

  g_autoptr (MtdKeyLog) empty = mtd_keylog_new ();
  assert_absent (empty, secrets[0].client_random, MTD_SECRET_CLIENT_TRAFFIC_0);
  g_assert_cmpuint (mtd_keylog_n_secrets (empty), ==, 0);
  g_assert_cmpuint (mtd_keylog_n_client_randoms (empty), ==, 0);
  g_assert_cmpuint (mtd_keylog_add_text (empty, SOURCE, NULL, 0, NULL), ==, 0);
}

/* Every prefix of a key log: no crash, no read past the end, no secret in a warning, and only
 * whole lines add secrets. */
static void
test_truncated_prefixes (void)
{
  static const char *const line_ends[] = { "\n", "\r\n" };
  for (gsize e = 0; e < G_N_ELEMENTS (line_ends); e++) {
    Secret secrets[5];
    g_autofree char *text = session_text (secrets, line_ends[e], FALSE);
    gsize text_len = strlen (text);
    guint n_with_warning = 0;
    for (gsize len = 0; len <= text_len; len++) {
      g_autoptr (MtdKeyLog) keylog = mtd_keylog_new ();
      g_autoptr (GPtrArray) warnings = new_warnings ();
      guint n_added = add_len (keylog, text, len, warnings);
      g_assert_cmpuint (n_added, <=, 5);
      g_assert_cmpuint (n_added, ==, mtd_keylog_n_secrets (keylog));
      g_assert_cmpuint (warnings->len, <=, 1);
      n_with_warning += warnings->len;
      for (guint i = 0; i < 5; i++)
        assert_secret_not_leaked (warnings, &secrets[i]);
      /* Whatever was added is right, but for a last line cut inside its secret at a length
       * that a secret may have (64 of a SHA-384 secret's 96 digits): the format cannot tell. */
      for (guint i = 0; i < n_added; i++) {
        gsize found_len = 0;
        const guint8 *found = mtd_keylog_lookup (keylog, secrets[i].client_random,
                                                 secrets[i].kind, &found_len);
        g_assert_nonnull (found);
        g_assert_cmpuint (found_len, <=, secrets[i].secret_len);
        g_assert_cmpmem (found, found_len, secrets[i].secret, found_len);
      }
    }
    g_test_message ("prefixes with %s line ends: %u of %" G_GSIZE_FORMAT " warned",
                    e == 0 ? "LF" : "CR LF", n_with_warning, text_len + 1);
    g_assert_cmpuint (n_with_warning, >, 0);
  }
}

/* ---- The sample key logs ------------------------------------------------------------------ */

static int
kind_of_label (const char *label)
{
  for (int kind = 0; kind < MTD_SECRET_KIND_COUNT; kind++)
    if (strcmp (kept_labels[kind], label) == 0)
      return kind;
  return -1;
}

/* Reads a key log of captures/ with a plain split and checks that the module holds exactly
 * its secrets. */
static void
check_sample_keylog (const char *path)
{
  g_autofree char *contents = NULL;
  gsize contents_len = 0;
  g_assert_true (g_file_get_contents (path, &contents, &contents_len, NULL));
  g_auto (GStrv) lines = g_strsplit (contents, "\n", -1);
  /* "KIND RANDOM" -> secret hex; random -> itself */
  g_autoptr (GHashTable) expected = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                           g_free);
  g_autoptr (GHashTable) randoms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; lines[i] != NULL; i++) {
    g_strchomp (lines[i]);
    g_auto (GStrv) fields = g_strsplit (lines[i], " ", -1);
    if (g_strv_length (fields) != 3 || kind_of_label (fields[0]) < 0)
      continue;
    g_hash_table_insert (expected, g_strdup_printf ("%d %s", kind_of_label (fields[0]),
                                                    fields[1]),
                         g_strdup (fields[2]));
    g_hash_table_add (randoms, g_strdup (fields[1]));
  }
  g_assert_cmpuint (g_hash_table_size (expected), >, 0);

  g_autoptr (MtdKeyLog) keylog = mtd_keylog_new ();
  g_autoptr (GPtrArray) warnings = new_warnings ();
  g_assert_true (mtd_keylog_add_file (keylog, path, warnings, NULL));
  g_assert_cmpuint (warnings->len, ==, 0);
  g_assert_cmpuint (mtd_keylog_n_secrets (keylog), ==, g_hash_table_size (expected));
  g_assert_cmpuint (mtd_keylog_n_client_randoms (keylog), ==, g_hash_table_size (randoms));

  GHashTableIter iter;
  gpointer key = NULL;
  gpointer value = NULL;
  g_hash_table_iter_init (&iter, expected);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    int kind = 0;
    char random_hex[65] = { 0 };
    g_assert_cmpint (sscanf (key, "%d %64s", &kind, random_hex), ==, 2);
    guint8 random[MTD_KEYLOG_CLIENT_RANDOM_LEN];
    g_assert_true (mtd_test_unhex (random_hex, random, sizeof random));
    gsize secret_len = strlen (value) / 2;
    g_autofree guint8 *secret = g_malloc (secret_len);
    g_assert_true (mtd_test_unhex (value, secret, secret_len));
    gsize found_len = 0;
    const guint8 *found = mtd_keylog_lookup (keylog, random, (MtdSecretKind) kind, &found_len);
    g_assert_nonnull (found);
    g_assert_cmpmem (found, found_len, secret, secret_len);
  }
  g_test_message ("%s: %u secrets, %u client randoms", path, g_hash_table_size (expected),
                  g_hash_table_size (randoms));
}

static void
test_sample_keylogs (void)
{
  static const char *const named[] = { "tls13-presented.pcap.keys", "tls12-presented.pcap.keys" };
  for (gsize i = 0; i < G_N_ELEMENTS (named); i++) {
    g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "captures", named[i], NULL);
    check_sample_keylog (path);
  }
  /* And every other key log there. */
  g_autofree char *dir_path = g_test_build_filename (G_TEST_DIST, "..", "captures", NULL);
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  g_assert_nonnull (dir);
  guint n_files = 0;
  for (const char *name = g_dir_read_name (dir); name != NULL; name = g_dir_read_name (dir)) {
    if (!g_str_has_suffix (name, ".keys"))
      continue;
    g_autofree char *path = g_build_filename (dir_path, name, NULL);
    check_sample_keylog (path);
    n_files++;
  }
  g_assert_cmpuint (n_files, >=, G_N_ELEMENTS (named));
}

/* ---- Files -------------------------------------------------------------------------------- */

static char *tmp_dir;

static char *
write_tmp (const char *name, const char *contents, gssize len)
{
  char *path = g_build_filename (tmp_dir, name, NULL);
  g_assert_true (g_file_set_contents (path, contents, len, NULL));
  return path;
}

static void
test_file_errors (void)
{
  g_autoptr (MtdKeyLog) keylog = mtd_keylog_new ();
  g_autoptr (GPtrArray) warnings = new_warnings ();

  g_autofree char *missing = g_build_filename (tmp_dir, "missing.keys", NULL);
  g_autoptr (GError) missing_error = NULL;
  g_assert_false (mtd_keylog_add_file (keylog, missing, warnings, &missing_error));
  g_assert_error (missing_error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_assert_true (g_str_has_prefix (missing_error->message, missing));

  g_autoptr (GError) dir_error = NULL;
  g_assert_false (mtd_keylog_add_file (keylog, tmp_dir, warnings, &dir_error));
  g_assert_error (dir_error, G_FILE_ERROR, G_FILE_ERROR_ISDIR);
  g_assert_true (g_str_has_prefix (dir_error->message, tmp_dir));
  assert_contains (dir_error->message, "directory");

  /* Over the cap: a sparse file one byte larger than it. */
  g_autofree char *large = g_build_filename (tmp_dir, "large.keys", NULL);
  int fd = g_open (large, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, MTD_KEYLOG_MAX_FILE_LEN + 1), ==, 0);
  close (fd);
  g_autoptr (GError) large_error = NULL;
  g_assert_false (mtd_keylog_add_file (keylog, large, warnings, &large_error));
  g_assert_true (g_str_has_prefix (large_error->message, large));
  assert_contains (large_error->message, "64 MiB");
  g_unlink (large);

  g_assert_cmpuint (warnings->len, ==, 0);
  g_assert_cmpuint (mtd_keylog_n_secrets (keylog), ==, 0);

  if (geteuid () == 0) {
    g_test_message ("running as root: an unreadable file cannot be made");
    return;
  }
  g_autofree char *unreadable = write_tmp ("unreadable.keys", "# nothing\n", -1);
  g_assert_cmpint (g_chmod (unreadable, 0), ==, 0);
  g_autoptr (GError) unreadable_error = NULL;
  g_assert_false (mtd_keylog_add_file (keylog, unreadable, warnings, &unreadable_error));
  g_assert_error (unreadable_error, G_FILE_ERROR, G_FILE_ERROR_ACCES);
  g_assert_true (g_str_has_prefix (unreadable_error->message, unreadable));
  g_unlink (unreadable);
}

/* A file with no usable line is read, and a warning says why it gave nothing. */
static void
test_file_without_secrets (void)
{
  static const struct {
    const char *name;
    const char *contents;
    gssize len; /* -1: up to the NUL */
    const char *reason;
  } cases[] = {
    { "empty.keys", "", -1, "empty or holds only comments" },
    { "comments.keys", "# SSL/TLS secrets log file\n\n", -1, "empty or holds only comments" },
    { "exporters.keys", "EXPORTER_SECRET a b\nEARLY_EXPORTER_SECRET c d\n", -1,
      "2 key log lines carry none of the labels" },
    { "binary.keys", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 16, "not a key log file" },
    { "malformed.keys", "CLIENT_RANDOM 00 11\n", -1, "every line with a label" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_test_message ("without secrets: %s", cases[i].name);
    g_autofree char *path = write_tmp (cases[i].name, cases[i].contents, cases[i].len);
    g_autoptr (MtdKeyLog) keylog = mtd_keylog_new ();
    g_autoptr (GPtrArray) warnings = new_warnings ();
    g_autoptr (GError) error = NULL;
    g_assert_true (mtd_keylog_add_file (keylog, path, warnings, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (warnings->len, >=, 1);
    const char *last = g_ptr_array_index (warnings, warnings->len - 1);
    g_assert_true (g_str_has_prefix (last, path));
    assert_contains (last, cases[i].reason);
    g_assert_cmpuint (mtd_keylog_n_secrets (keylog), ==, 0);
    /* Without a warnings array it is just as fine. */
    g_assert_true (mtd_keylog_add_file (keylog, path, NULL, NULL));
    g_unlink (path);
  }
}

/* A key log written with CR LF line ends and every line twice, read from a file. */
static void
test_file_read (void)
{
  Secret secrets[5];
  g_autofree char *once = session_text (secrets, "\r\n", FALSE);
  g_autofree char *twice = g_strconcat (once, once, NULL);
  g_autofree char *path = write_tmp ("twice.keys", twice, -1);
  g_autoptr (MtdKeyLog) keylog = mtd_keylog_new ();
  g_autoptr (GPtrArray) warnings = new_warnings ();
  g_assert_true (mtd_keylog_add_file (keylog, path, warnings, NULL));
  g_assert_cmpuint (warnings->len, ==, 0);
  g_assert_cmpuint (mtd_keylog_n_secrets (keylog), ==, 5);
  for (guint i = 0; i < 5; i++)
    assert_has (keylog, &secrets[i]);
  g_unlink (path);
}

/* A key log read from a pipe, larger than the first buffer, as `--keylog <(ssh host cat ...)`
 * gives it. */
typedef struct {
  char *path;
  GString *text;
} PipeWriter;

static gpointer
write_pipe (gpointer data)
{
  PipeWriter *writer = data;
  int fd = g_open (writer->path, O_WRONLY, 0);
  g_assert_cmpint (fd, >=, 0);
  gsize written = 0;
  while (written < writer->text->len) {
    gssize n = write (fd, writer->text->str + written, writer->text->len - written);
    g_assert_cmpint (n, >, 0);
    written += (gsize) n;
  }
  close (fd);
  return NULL;
}

static void
test_file_pipe (void)
{
  Secret secrets[5];
  g_autofree char *session = session_text (secrets, "\n", FALSE);
  PipeWriter writer = { g_build_filename (tmp_dir, "pipe.keys", NULL), g_string_new (NULL) };
  while (writer.text->len < 300 * 1024)
    g_string_append (writer.text, "# a comment to make the key log larger than a buffer\n");
  g_string_append (writer.text, session);
  g_assert_cmpint (mkfifo (writer.path, 0600), ==, 0);
  GThread *thread = g_thread_new ("pipe-writer", write_pipe, &writer);

  g_autoptr (MtdKeyLog) keylog = mtd_keylog_new ();
  g_autoptr (GPtrArray) warnings = new_warnings ();
  g_assert_true (mtd_keylog_add_file (keylog, writer.path, warnings, NULL));
  g_thread_join (thread);
  g_assert_cmpuint (warnings->len, ==, 0);
  g_assert_cmpuint (mtd_keylog_n_secrets (keylog), ==, 5);
  for (guint i = 0; i < 5; i++)
    assert_has (keylog, &secrets[i]);
  g_unlink (writer.path);
  g_free (writer.path);
  g_string_free (writer.text, TRUE);
}

/* ---- Small things ------------------------------------------------------------------------- */

static void
test_kind_labels (void)
{
  for (int kind = 0; kind < MTD_SECRET_KIND_COUNT; kind++)
    g_assert_cmpstr (mtd_secret_kind_label ((MtdSecretKind) kind), ==, kept_labels[kind]);
}

static void
test_free_null (void)
{
  mtd_keylog_free (NULL);
  g_autoptr (MtdKeyLog) keylog = mtd_keylog_new ();
  g_assert_nonnull (keylog);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("test-keylog-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);

  g_test_add_func ("/keylog/valid", test_valid);
  g_test_add_func ("/keylog/line-ends", test_line_ends);
  g_test_add_func ("/keylog/comments-and-blank-lines", test_comments_and_blank_lines);
  g_test_add_func ("/keylog/other-labels", test_other_labels);
  g_test_add_func ("/keylog/malformed", test_malformed);
  g_test_add_func ("/keylog/malformed-without-warnings", test_malformed_without_warnings);
  g_test_add_func ("/keylog/line-numbers", test_line_numbers);
  g_test_add_func ("/keylog/warning-cap", test_warning_cap);
  g_test_add_func ("/keylog/duplicates", test_duplicates);
  g_test_add_func ("/keylog/lookup-absent", test_lookup_absent);
  g_test_add_func ("/keylog/truncated-prefixes", test_truncated_prefixes);
  g_test_add_func ("/keylog/sample-keylogs", test_sample_keylogs);
  g_test_add_func ("/keylog/file/errors", test_file_errors);
  g_test_add_func ("/keylog/file/without-secrets", test_file_without_secrets);
  g_test_add_func ("/keylog/file/read", test_file_read);
  g_test_add_func ("/keylog/file/pipe", test_file_pipe);
  g_test_add_func ("/keylog/kind-labels", test_kind_labels);
  g_test_add_func ("/keylog/free-null", test_free_null);

  int status = g_test_run ();
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return status;
}
