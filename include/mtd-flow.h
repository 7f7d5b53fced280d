/* mtd-flow.h: TCP flows and per-direction stream reassembly.
 *
 * Owns MtdFlowTable (flows keyed on the 5-tuple, their idle timeout and the global flow cap) and
 * MtdFlow (one connection's addresses, counters and the two directions' reassembly state).  It
 * knows nothing of TLS or HTTP: it delivers in-order bytes, gaps and the end of each flow to the
 * callbacks of whoever analyses them (the Zeek analyzer contract: deliver stream, report a gap,
 * end of data).  Follows RFC 9293 sequence-number arithmetic, wraparound included.
 *
 * Memory: a flow is allocated when it is first seen and freed when it ends; the only per-flow
 * buffer is an out-of-order store per direction, allocated on first need and capped.  Nothing is
 * allocated per packet.
 */
#pragma once

#include <glib.h>

#include "mtd-anomaly.h"
#include "mtd-decode.h"
#include "mtd-source.h"

typedef enum {
  MTD_FLOW_END_FIN,
  MTD_FLOW_END_RST,
  MTD_FLOW_END_IDLE,
  MTD_FLOW_END_EVICTED,
  MTD_FLOW_END_CAPTURE_END,
} MtdFlowEndReason;

const char *mtd_flow_end_reason_name (MtdFlowEndReason reason); /* "fin", "rst", ... */

typedef struct _MtdFlow MtdFlow;
typedef struct _MtdFlowTable MtdFlowTable;

/* What the analysis layer is told.  side is 0 for the sender of the flow's first packet, 1 for
 * the other end.  All pointers are borrowed for the duration of the call. */
typedef struct {
  /* A new flow: returns its analysis state (owned by the callee until on_end). */
  gpointer (*on_start) (MtdFlow *flow, gpointer user_data);
  /* Every packet of the flow, before reassembly (classification, counters). */
  void (*on_packet) (MtdFlow *flow, gpointer state, guint side, const MtdDecodedPacket *decoded,
                     const MtdPacket *packet, gpointer user_data);
  /* In-order stream bytes of one side. */
  void (*on_data) (MtdFlow *flow, gpointer state, guint side, const guint8 *data, gsize len,
                   const MtdPacket *packet, gpointer user_data);
  /* len bytes (0: unknown) missing from one side's stream. */
  void (*on_gap) (MtdFlow *flow, gpointer state, guint side, gsize len, gpointer user_data);
  /* The flow is over; the callee frees its state. */
  void (*on_end) (MtdFlow *flow, gpointer state, MtdFlowEndReason reason, gpointer user_data);
} MtdFlowCallbacks;

typedef struct {
  guint max_flows;             /* live flows; the idlest is evicted beyond this */
  gint64 idle_timeout_usec;    /* a flow with no packet for this long ends */
  gsize max_ooo_bytes;         /* out-of-order bytes held per direction */
  guint max_closed;            /* closed flows remembered (to swallow their late packets) */
} MtdFlowLimits;

void mtd_flow_limits_init_default (MtdFlowLimits *limits);

/* callbacks and user_data are borrowed and must outlive the table. */
MtdFlowTable *mtd_flow_table_new (const MtdFlowLimits *limits, const MtdFlowCallbacks *callbacks,
                                  gpointer user_data);
/* Ends every live flow with reason CAPTURE_END, then frees the table.  NULL-safe. */
void mtd_flow_table_free (MtdFlowTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdFlowTable, mtd_flow_table_free)

/* Feeds one decoded TCP segment.  packet->ts_usec drives idle timeouts. */
void mtd_flow_table_add_segment (MtdFlowTable *table, const MtdDecodedPacket *decoded,
                                 const MtdPacket *packet);
/* Ends flows idle at now_usec (live mode calls this on read timeouts). */
void mtd_flow_table_expire (MtdFlowTable *table, gint64 now_usec);
/* Ends every live flow with reason CAPTURE_END (end of one input file). */
void mtd_flow_table_end_all (MtdFlowTable *table);

guint mtd_flow_table_n_live (const MtdFlowTable *table);
typedef enum {
  MTD_FLOW_ROLE_CLIENT,
  MTD_FLOW_ROLE_SERVER,
} MtdFlowRole;

/* The first packet time of the oldest flow still live (not ended) that has addr (4 bytes for
 * IPv4, 16 for IPv6) in role (as its first SYN said; a flow that began without one counts in
 * both roles); G_MAXINT64 when none. */
gint64 mtd_flow_table_oldest_live_at (const MtdFlowTable *table, MtdFlowRole role,
                                      guint8 ip_version, const guint8 *addr);
guint64 mtd_flow_table_n_evicted (const MtdFlowTable *table);
guint64 mtd_flow_table_n_idle_closed (const MtdFlowTable *table);
guint mtd_flow_table_peak_live (const MtdFlowTable *table);

/* Read-only view of a flow for the analysis layer. */
typedef struct {
  guint8 ip_version;
  guint8 addr[2][16];    /* [side] */
  guint16 port[2];
  gint syn_client_side;  /* the side that sent SYN (or the peer of SYN+ACK), -1 if none seen */
  guint64 first_frame;
  guint64 last_frame;
  gint64 first_usec;
  gint64 last_usec;
  guint64 n_packets;
  guint64 n_payload_bytes[2];
  gboolean is_incomplete;   /* a gap, a mid-stream start or a truncated packet */
  MtdAnomalyCounts anomalies;
} MtdFlowInfo;

const MtdFlowInfo *mtd_flow_info (const MtdFlow *flow);
/* The flow's anomaly counts, for the analysis layer's parsers to add theirs to (valid until the
 * flow's on_end returns). */
MtdAnomalyCounts *mtd_flow_anomalies (MtdFlow *flow);
/* Records an anomaly (and, for gaps and truncation, the incompleteness) on the flow. */
void mtd_flow_note_anomaly (MtdFlow *flow, MtdAnomaly anomaly);
/* Whether out-of-order bytes of a side are kept for reassembly (default TRUE).  A side whose
 * parser only skips records turns it off: a hole is then reported as a gap at once. */
void mtd_flow_set_side_buffering (MtdFlow *flow, guint side, gboolean is_buffering);
