/* diagnose-chain.c: the findings of a request chain as a whole: where the client certificate was
 * lost between hops, headers that do not match what was presented, and 403s that follow.
 *
 * The rules rest on how front ends forward a certificate (App Service: X-ARR-ClientCert, base64
 * of the leaf's DER, only with clientCertEnabled; Application Gateway: a rewrite rule from
 * {var_client_certificate}; nginx: $ssl_client_escaped_cert; Envoy: forward_client_cert_details)
 * and on one fact of TLS: a hop that ends TLS cannot present the caller's certificate onward,
 * because it does not hold the caller's private key (RFC 8446 §4.4.3, RFC 5246 §7.4.8: the
 * CertificateVerify signs with it).  Connection-level findings stay on the connections.
 */
#include <string.h>

#include "diagnose-private.h"

static const char *const az_show_settings
    = "az webapp show --resource-group RG --name APP --query "
      "\"{clientCertEnabled:clientCertEnabled,clientCertMode:clientCertMode,"
      "clientCertExclusionPaths:clientCertExclusionPaths,httpsOnly:httpsOnly}\" --output json";

static const MtdChainHop *
hop_at (const MtdChain *chain, guint hop)
{
  return &g_array_index (chain->hops, MtdChainHop, hop - 1);
}

static guint64
first_frame_of (const MtdVerdict *verdict)
{
  return verdict->n_frames > 0 ? verdict->frames[0] : 0;
}

/* The frame that shows the caller's certificate on hop 1 (or the leg's first frame). */
static void
add_presented_evidence (MtdFinding *finding, const MtdChain *chain)
{
  const MtdLeg *first = hop_at (chain, 1)->leg;
  guint64 frame = first->protocol == MTD_APP_TLS ? first_frame_of (&first->presented) : 0;
  mtd_finding_add_evidence (finding, first->input_index, frame != 0 ? frame : first->first_frame);
}

/* The frame that shows what hop K did: its request in clear, else its handshake's certificate
 * message, else its first frame. */
static void
add_hop_evidence (MtdFinding *finding, const MtdChain *chain, guint hop)
{
  const MtdChainHop *chain_hop = hop_at (chain, hop);
  const MtdLeg *leg = chain_hop->leg;
  guint64 frame = 0;
  if (chain_hop->cert_request != NULL)
    frame = chain_hop->cert_request->cert_header->frame;
  else if (chain_hop->first_request != NULL)
    frame = chain_hop->first_request->request_frame;
  else if (leg->protocol == MTD_APP_TLS)
    frame = first_frame_of (&leg->presented) != 0 ? first_frame_of (&leg->presented)
                                                   : first_frame_of (&leg->requested);
  mtd_finding_add_evidence (finding, leg->input_index, frame != 0 ? frame : leg->first_frame);
}

/* "127.0.0.3:51000 -> 127.0.0.5:8080" */
static char *
hop_ends (const MtdChain *chain, guint hop)
{
  const MtdLeg *leg = hop_at (chain, hop)->leg;
  return g_strdup_printf ("%s:%u -> %s:%u", leg->client.ip, leg->client.port, leg->server.ip,
                          leg->server.port);
}

static void
diagnose_dropped (GPtrArray *findings, const MtdChain *chain)
{
  guint dropped = chain->dropped_at_hop;
  const MtdLeg *leg = hop_at (chain, dropped)->leg;
  char *message = g_strdup (chain->reason);
  char *cause;
  char *next;
  if (leg->protocol == MTD_APP_TLS) {
    cause = g_strdup_printf (
        "The component at %s ends the caller's TLS and opens a new TLS connection to %s. It "
        "cannot present the caller's certificate there (it does not hold the caller's private "
        "key), so the certificate can only travel on in a header it adds, and %s must pass that "
        "header on; neither happened. This is the usual fate of a certificate behind "
        "Application Gateway or Front Door: it ends at the first hop that ends TLS.",
        leg->client.ip, leg->server.ip, leg->server.ip);
    next = g_strdup_printf (
        "On the gateway at %s, add the certificate to a request header (Application Gateway v2: "
        "a rewrite rule setting a header such as X-Client-Cert from {var_client_certificate}, "
        "which is URL-encoded PEM; nginx: proxy_set_header X-SSL-Client-Cert "
        "$ssl_client_escaped_cert), make the application read that header, and capture the "
        "next leg with a key log to confirm.",
        leg->client.ip);
  } else {
    cause = g_strdup_printf (
        "The front end at %s ended the caller's TLS and forwarded the request to %s without a "
        "client-certificate header. App Service's front end adds X-ARR-ClientCert only when "
        "client certificates are enabled for the app (clientCertEnabled) and the request is not "
        "under an exclusion path; nginx only with proxy_set_header ... $ssl_client_escaped_cert; "
        "Envoy only with forward_client_cert_details.",
        leg->client.ip, leg->server.ip);
    next = g_strdup_printf ("For App Service: %s. For nginx or Envoy, check the proxy's "
                            "forwarding configuration for the header.",
                            az_show_settings);
  }
  MtdFinding *finding = mtd_diagnose_add_finding (findings, "CERT_DROPPED_AT_HOP",
                                                  MTD_SEVERITY_ERROR, 0, message, cause, next);
  add_presented_evidence (finding, chain);
  add_hop_evidence (finding, chain, dropped);
  for (guint k = dropped + 1; k <= chain->hops->len; k++)
    if (hop_at (chain, k)->leg->protocol == MTD_APP_HTTP) {
      add_hop_evidence (finding, chain, k);
      break;
    }
}

static void
diagnose_mismatch (GPtrArray *findings, const MtdChain *chain)
{
  guint hop = chain->mismatch_hop;
  const MtdChainHop *chain_hop = hop_at (chain, hop);
  const MtdLegCertHeader *header = chain_hop->cert_request->cert_header;
  const MtdLeg *first = hop_at (chain, 1)->leg;
  gboolean was_presented = first->protocol == MTD_APP_TLS
                           && first->presented.value == MTD_PRESENTED_YES;
  MtdFinding *finding;
  if (!was_presented) {
    finding = mtd_diagnose_add_finding (
        findings, "CERT_HEADER_SPOOFABLE", MTD_SEVERITY_ERROR, 0,
        g_strdup_printf ("%s (frame %" G_GUINT64_FORMAT ").", chain->reason, header->frame),
        g_strdup_printf ("No handshake in this chain proved possession of the certificate in "
                         "%s: a caller can write any certificate into the header, and an "
                         "application that trusts it accepts an identity nobody proved. A "
                         "front end must overwrite the header with what it saw in the "
                         "handshake, or remove it.",
                         header->name),
        g_strdup ("Make the application accept the header only from its front end (restrict "
                  "who can reach the app, check the peer address), make the front end strip "
                  "the header from incoming requests, and require HTTPS on the caller's leg."));
  } else {
    finding = mtd_diagnose_add_finding (
        findings, "CERT_HEADER_MISMATCH", MTD_SEVERITY_ERROR, 0,
        g_strdup_printf ("%s (frame %" G_GUINT64_FORMAT ").", chain->reason, header->frame),
        g_strdup ("A hop rewrote or replaced the header, wrote it in an encoding its consumer "
                  "cannot read, or passed on a header the caller sent itself instead of the "
                  "certificate from the handshake."),
        g_strdup ("Compare the thumbprints (openssl x509 -noout -fingerprint -sha1) of the "
                  "caller's certificate and of the header's, and check every hop's rule that "
                  "sets or passes the header."));
  }
  add_presented_evidence (finding, chain);
  add_hop_evidence (finding, chain, hop);
}

static void
diagnose_delivered (GPtrArray *findings, const MtdChain *chain)
{
  guint n_hops = chain->hops->len;
  MtdFinding *finding = mtd_diagnose_add_finding (
      findings, "CERT_DELIVERED", MTD_SEVERITY_INFO, 0, g_strdup (chain->reason), NULL,
      g_strdup ("If the application still reports no certificate, look at how it reads the "
                "header (name and encoding) rather than at the network."));
  add_presented_evidence (finding, chain);
  add_hop_evidence (finding, chain, n_hops);
}

/* The chain is unknown and its first leg in the capture came through a proxy without a header:
 * the app's view of the classic complaint. */
static void
diagnose_missing_at_app (GPtrArray *findings, const MtdChain *chain)
{
  guint n_hops = chain->hops->len;
  g_autofree char *ends = hop_ends (chain, n_hops);
  MtdFinding *finding = mtd_diagnose_add_finding (
      findings, "CERT_HEADER_MISSING_AT_APP", MTD_SEVERITY_ERROR, 0,
      g_strdup_printf ("Missing at the app (%s): the requests were forwarded by a front end "
                       "and carry no client-certificate header; the front end did not forward "
                       "one.",
                       ends),
      g_strdup ("Either the caller presented no certificate to the front end (not requested, "
                "or an empty list), or the front end does not forward it: for App Service, "
                "client certificates are off (clientCertEnabled false) or the path is excluded."),
      g_strdup_printf ("Capture the caller's leg to the front end as well and analyse both "
                       "captures together; for App Service: %s.",
                       az_show_settings));
  add_hop_evidence (finding, chain, n_hops);
}

static void
diagnose_unknown (GPtrArray *findings, const MtdChain *chain)
{
  MtdFinding *finding = mtd_diagnose_add_finding (
      findings, "CHAIN_INCOMPLETE", MTD_SEVERITY_INFO, 0, g_strdup (chain->reason), NULL,
      g_strdup ("Capture the missing legs (on the front end's host or the app's) and analyse "
                "all captures together, naming hosts with several addresses with --hop "
                "ADDRESS=NAME."));
  add_presented_evidence (finding, chain);
}

/* The caller sent no certificate here, but presented one on another connection: say which, and
 * whether its issuer is among the CAs this server named (clients choose a certificate by those
 * names, RFC 5246 §7.4.4 and RFC 8446 §4.2.4, and many send none when nothing matches). */
static void
diagnose_held_elsewhere (GPtrArray *findings, const MtdChain *chain)
{
  const MtdLeg *first = hop_at (chain, 1)->leg;
  const MtdLeg *other = chain->held_elsewhere;
  const GPtrArray *cas = first->acceptable_cas;
  gboolean is_named = FALSE;
  for (guint i = 0; cas != NULL && i < cas->len; i++)
    if (other->client_issuer != NULL
        && g_ascii_strcasecmp (g_ptr_array_index (cas, i), other->client_issuer) == 0)
      is_named = TRUE;
  g_autoptr (GString) message = g_string_new (NULL);
  g_string_append_printf (message,
                          "The same caller (%s) presented certificate %s (issuer %s, SHA-1 %s) "
                          "on connection #%" G_GUINT64_FORMAT,
                          first->client.ip, other->client_subject != NULL ? other->client_subject
                                                                          : "(no subject)",
                          other->client_issuer != NULL ? other->client_issuer : "(unknown)",
                          other->client_sha1_hex, other->connection_id);
  if (other->input_index != first->input_index)
    g_string_append_printf (message, " (input %u, frame %" G_GUINT64_FORMAT ")",
                            other->input_index + 1, other->client_cert_frame);
  else if (other->client_cert_frame != 0)
    g_string_append_printf (message, " (frame %" G_GUINT64_FORMAT ")", other->client_cert_frame);
  char *cause;
  if (cas == NULL || cas->len == 0) {
    g_string_append (message, "; this server named no acceptable CAs, or they are not readable.");
    cause = g_strdup ("The caller has a certificate but did not use it on this connection: "
                      "another HTTP client, handler or code path without the certificate, or a "
                      "certificate store the process here cannot read.");
  } else if (is_named) {
    g_string_append (message, "; its issuer is among the CAs this server named.");
    cause = g_strdup ("The certificate would have been acceptable, so the caller did not load "
                      "it for this connection: another HTTP client, handler or code path "
                      "without the certificate, or a store or file the process here cannot "
                      "read.");
  } else {
    g_string_append (message, "; its issuer is NOT among the CAs this server named.");
    cause = g_strdup ("Clients choose their certificate by the acceptable CAs the server names; "
                      "the caller's certificate was issued by another CA, so its TLS stack "
                      "(Schannel, browsers, .NET, Java) sent none.");
  }
  MtdFinding *finding = mtd_diagnose_add_finding (
      findings, "CERT_HELD_ELSEWHERE", MTD_SEVERITY_WARNING, 0,
      g_string_free (g_steal_pointer (&message), FALSE), cause,
      g_strdup (is_named || cas == NULL || cas->len == 0
                    ? "Check how the caller's code attaches the certificate on this call (the "
                      "handler or client object it uses) and that it can read the key."
                    : "Issue the caller a certificate from one of the named CAs, or add its "
                      "issuer to the server's trusted client CAs (for App Service the app "
                      "validates the chain itself)."));
  add_presented_evidence (finding, chain);
  mtd_finding_add_evidence (finding, other->input_index,
                            other->client_cert_frame != 0 ? other->client_cert_frame
                                                          : other->first_frame);
}

/* A 403 on a hop the certificate did not reach: the application or front end refused the
 * caller because the certificate was missing. */
static void
diagnose_forbidden (GPtrArray *findings, const MtdChain *chain)
{
  for (guint k = 1; k <= chain->hops->len; k++) {
    const MtdChainHop *chain_hop = hop_at (chain, k);
    if (chain_hop->cert_request != NULL || k <= chain->last_carried_hop)
      continue;
    const MtdLeg *leg = chain_hop->leg;
    for (guint i = 0; i < leg->requests->len; i++) {
      const MtdLegRequest *request = g_ptr_array_index (leg->requests, i);
      if (request->status != 403)
        continue;
      g_autofree char *ends = hop_ends (chain, k);
      MtdFinding *finding = mtd_diagnose_add_finding (
          findings, "FORBIDDEN_WITHOUT_CERT", MTD_SEVERITY_WARNING, 0,
          g_strdup_printf ("%s %s on hop %u (%s, frame %" G_GUINT64_FORMAT ") was answered "
                           "403 (frame %" G_GUINT64_FORMAT ") without a client certificate on "
                           "that hop.",
                           request->method != NULL ? request->method : "?",
                           request->path != NULL ? request->path : "", k, ends,
                           request->request_frame, request->status_frame),
          g_strdup ("The application (or a front end in Required mode) refuses requests that "
                    "come without a certificate: the 403 is the consequence of the missing "
                    "certificate, not a separate fault."),
          g_strdup ("Fix the missing certificate first (see the chain's verdict), then retest "
                    "with curl --cert client.pem --key client.key https://HOST/PATH -v."));
      mtd_finding_add_evidence (finding, leg->input_index, request->request_frame);
      mtd_finding_add_evidence (finding, leg->input_index, request->status_frame);
      return;
    }
  }
}

MtdDiagnosis *
mtd_diagnose_chain (const MtdChain *chain)
{
  g_return_val_if_fail (chain != NULL && chain->hops->len > 0, NULL);
  /* Owns nothing: the findings move to the ordered array. */
  g_autoptr (GPtrArray) findings = g_ptr_array_new ();
  switch (chain->verdict) {
  case MTD_CHAIN_DROPPED_AT_HOP:
    diagnose_dropped (findings, chain);
    break;
  case MTD_CHAIN_HEADER_MISMATCH:
    diagnose_mismatch (findings, chain);
    break;
  case MTD_CHAIN_DELIVERED:
    diagnose_delivered (findings, chain);
    break;
  case MTD_CHAIN_UNKNOWN: {
    const MtdLeg *first = hop_at (chain, 1)->leg;
    if (first->protocol == MTD_APP_HTTP && chain->last_carried_hop == 0
        && hop_at (chain, chain->hops->len)->cert_request == NULL)
      diagnose_missing_at_app (findings, chain);
    else
      diagnose_unknown (findings, chain);
    break;
  }
  case MTD_CHAIN_NEVER_PRESENTED:
    if (chain->held_elsewhere != NULL)
      diagnose_held_elsewhere (findings, chain);
    break;
  case MTD_CHAIN_NOT_REQUESTED:
  case MTD_CHAIN_PLAIN_HTTP:
  default:
    /* The first hop's connection already carries the finding that explains these. */
    break;
  }
  diagnose_forbidden (findings, chain);
  return mtd_diagnosis_new (findings);
}
