/* flow-table.c: the flow table: 5-tuple lookup, roles from the SYN, ends and evictions.
 *
 * Flows are found with a key built on the stack (no allocation per packet).  A least-recently-
 * used queue, threaded through the flows themselves, gives the idlest flow in O(1) for idle
 * timeouts and for eviction when the table is full.  A flow that ended on FIN or RST lingers as
 * a tombstone so that its late segments are counted with it; past the tombstone cap, its bare
 * ACKs, FINs and RSTs still start no connection, since only a SYN or bytes open one.
 */
#include "flow-private.h"

#include <string.h>

/* Late packets of a closed connection (final ACKs, retransmitted FINs) arrive within this. */
#define TOMBSTONE_LINGER_USEC (5 * G_USEC_PER_SEC)

typedef struct {
  guint8 ip_version;
  guint8 addr[2][16];
  guint16 port[2];
} FlowKey;

struct _MtdFlow {
  MtdFlowInfo info;     /* info.addr[0] and info.port[0] are side 0, the first packet's sender */
  MtdReasmSide sides[2];
  /* Flags in bytes, grouped with the delivering side in 8 bytes. */
  guint8 has_fin[2];
  guint8 is_closed;     /* a tombstone: analysis ended, late packets are swallowed */
  /* Opened by a bare ACK, FIN or RST: not a connection (no analysis, not live) until a segment
   * with bytes shows it is one that began before the capture. */
  guint8 is_tentative;
  guint delivering_side;
  gpointer state;       /* the analysis layer's, until on_end */
  GList lru_link;       /* embedded: the flow is its own queue node */
  /* Embedded: its nodes in the age queues of its client and server addresses (slots 0 and 1).
   * A flow that began without a SYN is in all four address-role pairs; slots 2 and 3 are then
   * in age_extra, which the flows that began with one do not carry. */
  GList age_links[2];
  struct _AddressAge *ages[2]; /* borrowed: the queues it is in, NULL for unused slots */
  struct _AgeExtra *age_extra; /* owned, NULL unless the flow began without a SYN */
  GQueue *queue;        /* borrowed: the table's queue the flow is in */
  MtdFlowTable *table;  /* borrowed */
};

struct _MtdFlowTable {
  MtdFlowLimits limits;
  const MtdFlowCallbacks *callbacks; /* borrowed */
  gpointer user_data;                /* borrowed */
  GHashTable *flows;                 /* FlowKey* (inside the flow) -> MtdFlow*, owns the flows */
  /* Two queues of MtdFlow, idlest at the head, each with one timeout so that its head is always
   * the next to expire: live flows (idle timeout), and closing flows and tombstones (a short
   * linger). */
  GQueue lru;
  GQueue closing;
  /* Per address and role: the live flows (not tombstones) with that address as client, or as
   * server, in the order they started; the head's start tells later layers that nothing still
   * open there began before it.  Key: the AddressAge's own key; value: AddressAge (owned). */
  GHashTable *ages;
  guint n_live;                      /* flows that are not tombstones */
  guint peak_live;
  guint64 n_evicted;
  guint64 n_idle_closed;
  const MtdPacket *current_packet;   /* borrowed during add_segment */
  /* Packets look at the queues' heads (cold in the cache) at most once per
   * EXPIRY_CHECK_INTERVAL_USEC of capture time: the times out are seconds long. */
  gint64 last_expiry_check_usec;
};

#define EXPIRY_CHECK_INTERVAL_USEC (100 * 1000)

/* ---- Live flows by address and age -------------------------------------------------------- */

typedef struct {
  guint8 role;       /* MtdFlowRole */
  guint8 ip_version;
  guint8 addr[16];
} AddressKey;

typedef struct _AddressAge {
  AddressKey key;
  GQueue flows; /* MtdFlow* through their age_links, oldest first */
} AddressAge;

/* Age slots 2 and 3 of a flow that began without a SYN. */
typedef struct _AgeExtra {
  GList links[2];
  AddressAge *ages[2]; /* borrowed */
} AgeExtra;

#define N_AGE_SLOTS 4

static GList *
age_link (MtdFlow *flow, guint slot)
{
  return slot < G_N_ELEMENTS (flow->age_links) ? &flow->age_links[slot]
                                               : &flow->age_extra->links[slot - 2];
}

/* The queue the flow is in at slot, NULL when none (or when it has no such slot). */
static AddressAge **
age_of (MtdFlow *flow, guint slot)
{
  if (slot < G_N_ELEMENTS (flow->ages))
    return &flow->ages[slot];
  return flow->age_extra != NULL ? &flow->age_extra->ages[slot - 2] : NULL;
}

static void
address_key_init (AddressKey *key, MtdFlowRole role, guint8 ip_version, const guint8 *addr)
{
  memset (key, 0, sizeof *key);
  key->role = (guint8) role;
  key->ip_version = ip_version;
  memcpy (key->addr, addr, ip_version == 6 ? 16 : 4);
}

static guint
address_key_hash (gconstpointer pointer)
{
  const AddressKey *key = pointer;
  guint hash = (guint) key->role * 7 + key->ip_version;
  for (gsize i = 0; i < sizeof key->addr; i++)
    hash = hash * 31 + key->addr[i];
  return hash;
}

static gboolean
address_key_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, sizeof (AddressKey)) == 0;
}

static void
join_age (MtdFlowTable *table, MtdFlow *flow, guint slot, MtdFlowRole role, const guint8 *addr)
{
  AddressKey key;
  address_key_init (&key, role, flow->info.ip_version, addr);
  for (guint i = 0; i < slot; i++) {
    AddressAge *earlier = *age_of (flow, i);
    if (earlier != NULL && address_key_equal (&earlier->key, &key))
      return; /* both ends have the same address */
  }
  AddressAge *age = g_hash_table_lookup (table->ages, &key);
  if (age == NULL) {
    age = g_new0 (AddressAge, 1);
    age->key = key;
    g_queue_init (&age->flows);
    g_hash_table_insert (table->ages, &age->key, age);
  }
  GList *link = age_link (flow, slot);
  link->data = flow;
  g_queue_push_tail_link (&age->flows, link);
  *age_of (flow, slot) = age;
}

/* A new live flow joins the age queues of its addresses, by role: client_side from its first
 * packet's SYN, -1 when that was no SYN (then each address counts as both). */
static void
join_ages (MtdFlowTable *table, MtdFlow *flow, gint client_side)
{
  const MtdFlowInfo *info = &flow->info;
  if (client_side >= 0) {
    join_age (table, flow, 0, MTD_FLOW_ROLE_CLIENT, info->addr[client_side]);
    join_age (table, flow, 1, MTD_FLOW_ROLE_SERVER, info->addr[1 - client_side]);
    return;
  }
  if (flow->age_extra == NULL)
    flow->age_extra = g_new0 (AgeExtra, 1);
  join_age (table, flow, 0, MTD_FLOW_ROLE_CLIENT, info->addr[0]);
  join_age (table, flow, 1, MTD_FLOW_ROLE_SERVER, info->addr[0]);
  join_age (table, flow, 2, MTD_FLOW_ROLE_CLIENT, info->addr[1]);
  join_age (table, flow, 3, MTD_FLOW_ROLE_SERVER, info->addr[1]);
}

static void
leave_ages (MtdFlowTable *table, MtdFlow *flow)
{
  for (guint slot = 0; slot < N_AGE_SLOTS; slot++) {
    AddressAge **age_pointer = age_of (flow, slot);
    AddressAge *age = age_pointer != NULL ? *age_pointer : NULL;
    if (age == NULL)
      continue;
    g_queue_unlink (&age->flows, age_link (flow, slot));
    *age_pointer = NULL;
    if (age->flows.head == NULL)
      g_hash_table_remove (table->ages, &age->key);
  }
  g_clear_pointer (&flow->age_extra, g_free);
}

const char *
mtd_flow_end_reason_name (MtdFlowEndReason reason)
{
  switch (reason) {
  case MTD_FLOW_END_FIN:
    return "fin";
  case MTD_FLOW_END_RST:
    return "rst";
  case MTD_FLOW_END_IDLE:
    return "idle";
  case MTD_FLOW_END_EVICTED:
    return "evicted";
  case MTD_FLOW_END_CAPTURE_END:
  default:
    return "capture_end";
  }
}

void
mtd_flow_limits_init_default (MtdFlowLimits *limits)
{
  limits->max_flows = 200000;
  limits->idle_timeout_usec = 300 * G_USEC_PER_SEC;
  limits->max_ooo_bytes = 256 * 1024;
  /* At a few hundred bytes each, enough for 5 s of 3,000 connections a second. */
  limits->max_closed = 16384;
}

/* The key is the same for both directions: endpoints in a canonical order. */
static void
canonical_key (const FlowKey *key, FlowKey *out)
{
  gsize addr_len = key->ip_version == 6 ? 16 : 4;
  int order = memcmp (key->addr[0], key->addr[1], addr_len);
  gboolean is_swapped = order > 0 || (order == 0 && key->port[0] > key->port[1]);
  memset (out, 0, sizeof *out);
  out->ip_version = key->ip_version;
  guint first = is_swapped ? 1 : 0;
  memcpy (out->addr[0], key->addr[first], addr_len);
  memcpy (out->addr[1], key->addr[1 - first], addr_len);
  out->port[0] = key->port[first];
  out->port[1] = key->port[1 - first];
}

/* Flows are stored under their canonical key, kept beside the flow in a small wrapper. */
typedef struct {
  FlowKey canonical;
  MtdFlow flow;
} FlowEntry;

static guint
flow_key_hash (gconstpointer pointer)
{
  /* Eight bytes at a time with a multiply-xorshift mix: the key is 38 bytes, mostly zeros for
   * IPv4, and this runs for every packet.  Keys are zeroed before they are filled, so padding is
   * always zero. */
  const guint8 *bytes = pointer;
  guint64 hash = 0x9E3779B97F4A7C15ull;
  gsize offset = 0;
  for (; offset + 8 <= sizeof (FlowKey); offset += 8) {
    guint64 word;
    memcpy (&word, bytes + offset, 8);
    hash = (hash ^ word) * 0xBF58476D1CE4E5B9ull;
    hash ^= hash >> 31;
  }
  guint64 tail = 0;
  memcpy (&tail, bytes + offset, sizeof (FlowKey) - offset);
  hash = (hash ^ tail) * 0x94D049BB133111EBull;
  hash ^= hash >> 29;
  return (guint) (hash ^ (hash >> 32));
}

static gboolean
flow_key_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, sizeof (FlowKey)) == 0;
}

static void
flow_entry_free (gpointer pointer)
{
  FlowEntry *entry = pointer;
  mtd_reasm_side_clear (&entry->flow.sides[0]);
  mtd_reasm_side_clear (&entry->flow.sides[1]);
  g_free (entry->flow.age_extra);
  g_free (entry);
}

static FlowEntry *
entry_of (MtdFlow *flow)
{
  return (FlowEntry *) ((guint8 *) flow - G_STRUCT_OFFSET (FlowEntry, flow));
}

MtdFlowTable *
mtd_flow_table_new (const MtdFlowLimits *limits, const MtdFlowCallbacks *callbacks,
                    gpointer user_data)
{
  MtdFlowTable *table = g_new0 (MtdFlowTable, 1);
  table->limits = *limits;
  if (table->limits.max_flows == 0)
    table->limits.max_flows = 1;
  table->callbacks = callbacks;
  table->user_data = user_data;
  /* Keys live inside the values (FlowEntry), so only the values are freed. */
  table->flows = g_hash_table_new_full (flow_key_hash, flow_key_equal, NULL, flow_entry_free);
  g_queue_init (&table->lru);
  g_queue_init (&table->closing);
  table->ages = g_hash_table_new_full (address_key_hash, address_key_equal, NULL, g_free);
  return table;
}

static void
deliver_to_analysis (gpointer context, const guint8 *data, gsize len, guint64 frame,
                     gint64 ts_usec)
{
  MtdFlow *flow = context;
  MtdFlowTable *table = flow->table;
  flow->info.n_payload_bytes[flow->delivering_side] += len;
  if (flow->is_closed || table->callbacks->on_data == NULL)
    return;
  MtdPacket packet = { 0 };
  if (table->current_packet != NULL)
    packet = *table->current_packet;
  packet.frame_number = frame;
  packet.ts_usec = ts_usec;
  table->callbacks->on_data (flow, flow->state, flow->delivering_side, data, len, &packet,
                             table->user_data);
}

static void
gap_to_analysis (gpointer context, gsize len)
{
  MtdFlow *flow = context;
  MtdFlowTable *table = flow->table;
  mtd_flow_note_anomaly (flow, MTD_ANOMALY_STREAM_GAP);
  if (flow->is_closed || table->callbacks->on_gap == NULL)
    return;
  table->callbacks->on_gap (flow, flow->state, flow->delivering_side, len, table->user_data);
}

static void
anomaly_to_flow (gpointer context, MtdAnomaly anomaly)
{
  mtd_flow_note_anomaly (context, anomaly);
}

static MtdReasmSink
sink_for (MtdFlow *flow, guint side)
{
  flow->delivering_side = side;
  MtdReasmSink sink = { deliver_to_analysis, gap_to_analysis, anomaly_to_flow, flow };
  return sink;
}

/* Tentative flows wait in the closing queue too: if nothing with bytes follows within the
 * linger, they were the tail of a connection already forgotten. */
static gboolean
is_closing (const MtdFlow *flow)
{
  return flow->is_closed || flow->is_tentative || (flow->has_fin[0] && flow->has_fin[1]);
}

/* Moves a flow to the tail of the queue it belongs in now. */
static void
touch (MtdFlowTable *table, MtdFlow *flow)
{
  GQueue *queue = is_closing (flow) ? &table->closing : &table->lru;
  /* Already the newest there (a burst of one flow's packets): nothing moves, and the
   * neighbours' links, cold in the cache, are not touched. */
  if (flow->queue == queue && queue->tail == &flow->lru_link)
    return;
  if (flow->queue != NULL)
    g_queue_unlink (flow->queue, &flow->lru_link);
  flow->queue = queue;
  g_queue_push_tail_link (flow->queue, &flow->lru_link);
}

/* Ends the analysis of a flow.  The flow stays in the table as a tombstone when it closed
 * normally; otherwise it is removed. */
static void
end_flow (MtdFlowTable *table, MtdFlow *flow, MtdFlowEndReason reason, gboolean keep_tombstone)
{
  if (!flow->is_closed && !flow->is_tentative) {
    for (guint side = 0; side < 2; side++) {
      MtdReasmSink sink = sink_for (flow, side);
      mtd_reasm_side_flush (&flow->sides[side], &sink);
      /* Bytes the peer acknowledged but the capture never showed (RFC 9293 §3.4): the tail of
       * the stream is missing. A FIN takes one sequence number. */
      MtdReasmSide *reasm = &flow->sides[side];
      if (reasm->has_base && reasm->has_peer_ack) {
        guint32 expected_end = reasm->next_seq + (reasm->has_fin ? 1 : 0);
        gint32 missing = (gint32) (reasm->max_peer_ack - expected_end);
        if (missing > 0 && missing < (1 << 30))
          gap_to_analysis (flow, (gsize) missing);
      }
    }
    if (table->callbacks->on_end != NULL)
      table->callbacks->on_end (flow, flow->state, reason, table->user_data);
    flow->state = NULL;
    flow->is_closed = TRUE;
    leave_ages (table, flow);
    table->n_live--;
    mtd_reasm_side_clear (&flow->sides[0]);
    mtd_reasm_side_clear (&flow->sides[1]);
  }
  if (!keep_tombstone) {
    g_queue_unlink (flow->queue, &flow->lru_link);
    g_hash_table_remove (table->flows, &entry_of (flow)->canonical);
  } else {
    touch (table, flow);
    /* Closed flows are remembered only up to a cap, so that a high connection rate cannot make
     * memory grow with the capture; the oldest is forgotten first. */
    if (table->closing.length > table->limits.max_closed && table->closing.head != NULL) {
      MtdFlow *oldest = table->closing.head->data;
      if (oldest != flow)
        end_flow (table, oldest, MTD_FLOW_END_FIN, FALSE);
    }
  }
}

static void
expire_queue (MtdFlowTable *table, GQueue *queue, gint64 limit_usec, gint64 now_usec)
{
  for (GList *link = queue->head; link != NULL; link = queue->head) {
    MtdFlow *flow = link->data;
    if (now_usec - flow->info.last_usec < limit_usec)
      break;
    gboolean has_both_fins = flow->has_fin[0] && flow->has_fin[1];
    if (!flow->is_closed && !flow->is_tentative && !has_both_fins)
      table->n_idle_closed++;
    end_flow (table, flow, has_both_fins ? MTD_FLOW_END_FIN : MTD_FLOW_END_IDLE, FALSE);
  }
}

static void
expire_idle (MtdFlowTable *table, gint64 now_usec)
{
  expire_queue (table, &table->closing, TOMBSTONE_LINGER_USEC, now_usec);
  expire_queue (table, &table->lru, table->limits.idle_timeout_usec, now_usec);
}

/* Ends the idlest flow to make room: a tombstone or closing flow first, they hold no analysis
 * that is still waiting for data. */
static void
evict_idlest (MtdFlowTable *table)
{
  GList *head = table->closing.head != NULL ? table->closing.head : table->lru.head;
  if (head == NULL)
    return;
  MtdFlow *flow = head->data;
  if (!flow->is_closed && !flow->is_tentative)
    table->n_evicted++;
  end_flow (table, flow, MTD_FLOW_END_EVICTED, FALSE);
}

/* Makes a flow live: counted, and given its analysis state. */
static void
start_analysis (MtdFlowTable *table, MtdFlow *flow)
{
  table->n_live++;
  table->peak_live = MAX (table->peak_live, table->n_live);
  flow->state = table->callbacks->on_start != NULL
                    ? table->callbacks->on_start (flow, table->user_data)
                    : NULL;
}

/* A new flow, live unless is_tentative. */
static MtdFlow *
create_flow (MtdFlowTable *table, const FlowKey *key, const FlowKey *canonical,
             const MtdPacket *packet, gboolean is_tentative)
{
  while ((!is_tentative && table->n_live >= table->limits.max_flows)
         || g_hash_table_size (table->flows) >= 2 * (guint64) table->limits.max_flows)
    evict_idlest (table);
  FlowEntry *entry = g_new0 (FlowEntry, 1);
  entry->canonical = *canonical;
  MtdFlow *flow = &entry->flow;
  flow->table = table;
  flow->lru_link.data = flow;
  mtd_reasm_side_init (&flow->sides[0]);
  mtd_reasm_side_init (&flow->sides[1]);
  MtdFlowInfo *info = &flow->info;
  info->ip_version = key->ip_version;
  memcpy (info->addr, key->addr, sizeof info->addr);
  info->port[0] = key->port[0];
  info->port[1] = key->port[1];
  info->syn_client_side = -1;
  info->first_frame = packet->frame_number;
  info->first_usec = packet->ts_usec;
  flow->is_tentative = is_tentative;
  g_hash_table_insert (table->flows, &entry->canonical, entry);
  touch (table, flow);
  if (!is_tentative)
    start_analysis (table, flow);
  return flow;
}

/* A tentative flow carries bytes: it is a connection that began before the capture. */
static void
promote_flow (MtdFlowTable *table, MtdFlow *flow)
{
  flow->is_tentative = FALSE;
  touch (table, flow); /* out of the closing queue first, so that it is not the one evicted */
  while (table->n_live >= table->limits.max_flows)
    evict_idlest (table);
  start_analysis (table, flow);
  join_ages (table, flow, -1);
}

/* An ACK from side: the highest one says how far the other side's stream reached. */
static void
note_ack (MtdFlow *flow, guint side, const MtdDecodedPacket *decoded)
{
  if (!(decoded->tcp_flags & MTD_TCP_ACK))
    return;
  MtdReasmSide *peer = &flow->sides[1 - side];
  if (!peer->has_peer_ack || (gint32) (decoded->ack - peer->max_peer_ack) > 0) {
    peer->has_peer_ack = TRUE;
    peer->max_peer_ack = decoded->ack;
  }
}

static gboolean
is_fin_acknowledged (const MtdReasmSide *reasm)
{
  /* The FIN takes the sequence number after the last data byte. */
  return reasm->has_peer_ack && (gint32) (reasm->max_peer_ack - (reasm->fin_seq + 1)) >= 0;
}

void
mtd_flow_table_add_segment (MtdFlowTable *table, const MtdDecodedPacket *decoded,
                            const MtdPacket *packet)
{
  /* Also when the clock went back (the next input of several): then it starts over. */
  if (packet->ts_usec - table->last_expiry_check_usec >= EXPIRY_CHECK_INTERVAL_USEC
      || packet->ts_usec < table->last_expiry_check_usec) {
    table->last_expiry_check_usec = packet->ts_usec;
    expire_idle (table, packet->ts_usec);
  }

  FlowKey key = { 0 };
  key.ip_version = decoded->ip_version;
  gsize addr_len = decoded->ip_version == 6 ? 16 : 4;
  memcpy (key.addr[0], decoded->src_addr, addr_len);
  memcpy (key.addr[1], decoded->dst_addr, addr_len);
  key.port[0] = decoded->src_port;
  key.port[1] = decoded->dst_port;
  FlowKey canonical;
  canonical_key (&key, &canonical);

  FlowEntry *entry = g_hash_table_lookup (table->flows, &canonical);
  MtdFlow *flow = entry != NULL ? &entry->flow : NULL;
  gboolean is_syn = (decoded->tcp_flags & (MTD_TCP_SYN | MTD_TCP_ACK)) == MTD_TCP_SYN;
  /* A connection needs a SYN or bytes.  A bare ACK, FIN or RST of a flow the table does not know
   * may be the tail of a connection whose tombstone is already forgotten (more of them closed
   * within the linger than max_closed): it opens only a tentative flow, which becomes a
   * connection (one that began before the capture) when bytes follow, and is otherwise
   * forgotten without a report. */
  gboolean is_opening = (decoded->tcp_flags & MTD_TCP_SYN) || decoded->payload_wire_len > 0;
  if (flow != NULL && flow->is_closed) {
    if (!is_syn) {
      /* A late packet of a finished connection. */
      flow->info.last_usec = packet->ts_usec;
      touch (table, flow);
      return;
    }
    end_flow (table, flow, MTD_FLOW_END_FIN, FALSE);
    flow = NULL;
  }
  if (flow != NULL && flow->is_tentative && (decoded->tcp_flags & MTD_TCP_SYN)) {
    /* A new connection on the same ports: what came before it was another's tail. */
    end_flow (table, flow, MTD_FLOW_END_IDLE, FALSE);
    flow = NULL;
  }
  if (flow == NULL) {
    flow = create_flow (table, &key, &canonical, packet, !is_opening);
    if (!(decoded->tcp_flags & MTD_TCP_SYN))
      mtd_flow_note_anomaly (flow, MTD_ANOMALY_MIDSTREAM_START);
    /* The first packet's sender is side 0: with SYN alone it is the client, with SYN+ACK the
     * server. */
    gint client_side = -1;
    if (decoded->tcp_flags & MTD_TCP_SYN)
      client_side = (decoded->tcp_flags & MTD_TCP_ACK) ? 1 : 0;
    if (!flow->is_tentative)
      join_ages (table, flow, client_side);
  } else if (flow->is_tentative && is_opening) {
    promote_flow (table, flow);
  }

  guint side = (memcmp (flow->info.addr[0], decoded->src_addr, addr_len) == 0
                && flow->info.port[0] == decoded->src_port)
                   ? 0
                   : 1;
  MtdFlowInfo *info = &flow->info;
  info->last_frame = packet->frame_number;
  info->last_usec = packet->ts_usec;
  info->n_packets++;
  touch (table, flow);
  if (flow->is_tentative) {
    note_ack (flow, side, decoded);
    return;
  }

  table->current_packet = packet;
  if (table->callbacks->on_packet != NULL)
    table->callbacks->on_packet (flow, flow->state, side, decoded, packet, table->user_data);

  MtdReasmSide *reasm = &flow->sides[side];
  guint32 data_seq = decoded->seq;
  if (decoded->tcp_flags & MTD_TCP_SYN) {
    /* The SYN takes one sequence number; data (TCP Fast Open) starts after it. */
    if (info->syn_client_side < 0)
      info->syn_client_side = (decoded->tcp_flags & MTD_TCP_ACK) ? (gint) (1 - side) : (gint) side;
    if (!reasm->has_base) {
      reasm->has_base = TRUE;
      reasm->next_seq = decoded->seq + 1;
    }
    data_seq = decoded->seq + 1;
  }
  note_ack (flow, side, decoded);
  if (decoded->payload_wire_len > 0) {
    if (decoded->payload_len < decoded->payload_wire_len)
      mtd_flow_note_anomaly (flow, MTD_ANOMALY_SNAPLEN_TRUNCATED);
    MtdReasmSink sink = sink_for (flow, side);
    mtd_reasm_side_add (reasm, table->limits.max_ooo_bytes, data_seq, decoded->payload,
                        decoded->payload_len, decoded->payload_wire_len, packet->frame_number,
                        packet->ts_usec, &sink);
  }
  table->current_packet = NULL;

  if (decoded->tcp_flags & MTD_TCP_RST) {
    end_flow (table, flow, MTD_FLOW_END_RST, TRUE);
    return;
  }
  if (decoded->tcp_flags & MTD_TCP_FIN) {
    flow->has_fin[side] = TRUE;
    reasm->has_fin = TRUE;
    reasm->fin_seq = data_seq + (guint32) decoded->payload_wire_len;
    if (is_closing (flow))
      touch (table, flow); /* it waits in the closing queue for its last ACK */
  }
  /* The connection is over once both FINs are acknowledged (RFC 9293 §3.6), so its last ACK
   * still belongs to it, as Wireshark counts it. */
  if (flow->has_fin[0] && flow->has_fin[1] && is_fin_acknowledged (&flow->sides[0])
      && is_fin_acknowledged (&flow->sides[1]))
    end_flow (table, flow, MTD_FLOW_END_FIN, TRUE);
}

void
mtd_flow_table_expire (MtdFlowTable *table, gint64 now_usec)
{
  expire_idle (table, now_usec);
}

void
mtd_flow_table_end_all (MtdFlowTable *table)
{
  /* In order of last activity; the analysis layer sorts its output itself if it must. */
  while (table->closing.head != NULL || table->lru.head != NULL) {
    GQueue *queue = table->closing.head != NULL ? &table->closing : &table->lru;
    MtdFlow *flow = queue->head->data;
    gboolean has_both_fins = flow->has_fin[0] && flow->has_fin[1];
    end_flow (table, flow, has_both_fins ? MTD_FLOW_END_FIN : MTD_FLOW_END_CAPTURE_END, FALSE);
  }
}

void
mtd_flow_table_free (MtdFlowTable *table)
{
  if (table == NULL)
    return;
  mtd_flow_table_end_all (table);
  g_hash_table_destroy (table->flows);
  g_hash_table_destroy (table->ages);
  g_free (table);
}

gint64
mtd_flow_table_oldest_live_at (const MtdFlowTable *table, MtdFlowRole role, guint8 ip_version,
                               const guint8 *addr)
{
  AddressKey key;
  address_key_init (&key, role, ip_version, addr);
  const AddressAge *age = g_hash_table_lookup (table->ages, &key);
  if (age == NULL || age->flows.head == NULL)
    return G_MAXINT64;
  const MtdFlow *oldest = age->flows.head->data;
  return oldest->info.first_usec;
}

guint
mtd_flow_table_n_live (const MtdFlowTable *table)
{
  return table->n_live;
}

guint64
mtd_flow_table_n_evicted (const MtdFlowTable *table)
{
  return table->n_evicted;
}

guint64
mtd_flow_table_n_idle_closed (const MtdFlowTable *table)
{
  return table->n_idle_closed;
}

guint
mtd_flow_table_peak_live (const MtdFlowTable *table)
{
  return table->peak_live;
}

const MtdFlowInfo *
mtd_flow_info (const MtdFlow *flow)
{
  return &flow->info;
}

MtdAnomalyCounts *
mtd_flow_anomalies (MtdFlow *flow)
{
  return &flow->info.anomalies;
}

void
mtd_flow_note_anomaly (MtdFlow *flow, MtdAnomaly anomaly)
{
  mtd_anomaly_note (&flow->info.anomalies, anomaly);
  if (anomaly == MTD_ANOMALY_STREAM_GAP || anomaly == MTD_ANOMALY_SNAPLEN_TRUNCATED
      || anomaly == MTD_ANOMALY_MIDSTREAM_START || anomaly == MTD_ANOMALY_TLS_LOST_SYNC)
    flow->info.is_incomplete = TRUE;
}

void
mtd_flow_set_side_buffering (MtdFlow *flow, guint side, gboolean is_buffering)
{
  g_return_if_fail (side < 2);
  flow->sides[side].is_buffering = is_buffering;
}
