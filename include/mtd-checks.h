/* mtd-checks.h: what the user says about their own side, applied to each finished connection.
 *
 * Owns MtdChecks: the application's addresses and networks (--app), the client certificate
 * thumbprints it should present (--expect-thumbprint) and the trust anchors its callers' chains
 * are validated against (--ca).  mtd_checks_apply turns them into connection facts: the
 * direction (inbound to the app, or outbound from it), whether the client's leaf is an expected
 * one, and OpenSSL's verdict on the client's chain at the capture's time.  Between the pipeline
 * and diagnose; it reads no packet bytes.
 */
#pragma once

#include <glib.h>

#include "mtd-conn.h"

typedef struct _MtdChecks MtdChecks;

MtdChecks *mtd_checks_new (void);
void mtd_checks_free (MtdChecks *checks); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdChecks, mtd_checks_free)

/* --app: an IPv4 or IPv6 address, or a network in CIDR form ("10.1.0.0/24", "fd00::/64").
 * FALSE with error quoting the value when it is neither. */
gboolean mtd_checks_add_app (MtdChecks *checks, const char *address, GError **error);
/* --expect-thumbprint: a SHA-1 thumbprint, 40 hex digits; colons and spaces (as Windows and
 * the Azure portal show it) are ignored, case too. */
gboolean mtd_checks_add_expected_thumbprint (MtdChecks *checks, const char *thumbprint,
                                             GError **error);
/* --ca: a PEM bundle of trust anchors. */
gboolean mtd_checks_add_ca_file (MtdChecks *checks, const char *path, GError **error);

gboolean mtd_checks_has_app (const MtdChecks *checks);

/* Sets connection->direction, the thumbprint facts and the chain check. */
void mtd_checks_apply (const MtdChecks *checks, MtdConnection *connection);
