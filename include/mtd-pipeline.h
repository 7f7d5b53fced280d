/* mtd-pipeline.h: packets in, finished connections out.
 *
 * Owns MtdPipeline: it wires decode, the flow table, nDPI classification and the TLS and HTTP
 * parsers, and turns each finished flow into an MtdConnection for the caller (who diagnoses and
 * reports it).  It also keeps the run's packet counters.  It prints nothing.
 */
#pragma once

#include <glib.h>

#include "mtd-conn.h"
#include "mtd-flow.h"
#include "mtd-source.h"
#include "mtd-tls.h"

typedef struct {
  MtdFlowLimits flow_limits;
  MtdTlsLimits tls_limits;
  guint max_http_exchanges;   /* per connection */
  guint max_cached_certs;
  const char *const *extra_cert_headers; /* borrowed, NULL-terminated, may be NULL:
                                          * --cert-header names */
  const MtdKeyLog *keylog;    /* borrowed, may be NULL: secrets to decrypt TLS with */
} MtdPipelineOptions;

void mtd_pipeline_options_init_default (MtdPipelineOptions *options);

typedef struct {
  /* A connection is finished; the callee takes ownership. */
  void (*on_connection) (MtdConnection *connection, gpointer user_data);
  /* Live mode: a connection's handshake just completed or failed.  connection is a snapshot
   * built for this call and freed after it: the callee may annotate it (the --app checks) but
   * not keep it. */
  void (*on_handshake) (MtdConnection *connection, gpointer user_data);
  /* Optional, all three or none (live --save-flagged): the caller's own data per flow.
   * on_flow_start gives a new flow its data (owned by the caller; connection_id is the id its
   * connection will have); on_flow_packet sees each packet of the flow with it, from the first,
   * in capture order, before any analysis; on_flow_end hands it back for the caller to free,
   * right after on_connection has delivered that flow's connection (the packets of a flow that
   * ended are not seen again). */
  gpointer (*on_flow_start) (guint64 connection_id, gpointer user_data);
  void (*on_flow_packet) (gpointer flow_data, const MtdPacket *packet, gpointer user_data);
  void (*on_flow_end) (gpointer flow_data, guint64 connection_id, gpointer user_data);
} MtdPipelineCallbacks;

typedef struct _MtdPipeline MtdPipeline;

/* callbacks and user_data are borrowed and must outlive the pipeline. */
MtdPipeline *mtd_pipeline_new (const MtdPipelineOptions *options,
                               const MtdPipelineCallbacks *callbacks, gpointer user_data,
                               GError **error);
/* Ends every live flow (reporting them), then frees.  NULL-safe. */
void mtd_pipeline_free (MtdPipeline *pipeline);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdPipeline, mtd_pipeline_free)

/* Starts a new input; frames of the packets that follow are numbered within it. */
void mtd_pipeline_begin_input (MtdPipeline *pipeline, guint input_index, MtdInputInfo *info);
/* One packet of the current input. */
void mtd_pipeline_add_packet (MtdPipeline *pipeline, const MtdPacket *packet);
/* Live mode: time passes without packets (idle flows end). */
void mtd_pipeline_tick (MtdPipeline *pipeline, gint64 now_usec);
/* The current input ended in the middle of a packet: the connections still open are marked
 * incomplete when they end. */
void mtd_pipeline_mark_input_truncated (MtdPipeline *pipeline);
/* The current input is over: its flows end and are reported. */
void mtd_pipeline_end_input (MtdPipeline *pipeline);

/* The first packet time of the oldest connection still open whose server (is_server) or client
 * has the printable address ip; G_MAXINT64 when none is (or ip is not an address). */
gint64 mtd_pipeline_oldest_live_at (const MtdPipeline *pipeline, const char *ip,
                                    gboolean is_server);

/* Flows being analysed now (closed flows remembered only to swallow late packets are not
 * counted). */
guint mtd_pipeline_n_live_flows (const MtdPipeline *pipeline);

/* Counters so far; connection-level counters are added by the caller with
 * mtd_summary_add_connection as it receives connections. */
MtdSummary *mtd_pipeline_summary (MtdPipeline *pipeline);
