/* decode-packet.c: link, IPv4/IPv6 and TCP/UDP headers (RFC 791, RFC 8200, RFC 9293, RFC 768).
 *
 * Stateless and allocation-free; every byte is read through the cursor.
 */
#include "mtd-decode.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "mtd-cursor.h"

/* libpcap's DLT values; spelled out here because only the source layer includes pcap.h. */
enum {
  LINK_NULL = 0,
  LINK_EN10MB = 1,
  LINK_RAW_LINUX = 12,
  LINK_RAW_BSD = 14,
  LINK_LOOP = 108,
  LINK_LINUX_SLL = 113,
  LINK_RAW = 101,
  LINK_IPV4 = 228,
  LINK_IPV6 = 229,
  LINK_LINUX_SLL2 = 276,
};

/* EtherTypes (IEEE 802) */
enum {
  ETHERTYPE_IPV4 = 0x0800,
  ETHERTYPE_IPV6 = 0x86DD,
  ETHERTYPE_VLAN = 0x8100,   /* 802.1Q */
  ETHERTYPE_QINQ = 0x88A8,   /* 802.1ad */
  ETHERTYPE_QINQ_OLD = 0x9100,
};

/* IP protocol numbers (IANA) */
enum {
  IPPROTO_NUM_HOPOPTS = 0,
  IPPROTO_NUM_TCP = 6,
  IPPROTO_NUM_UDP = 17,
  IPPROTO_NUM_ROUTING = 43,
  IPPROTO_NUM_FRAGMENT = 44,
  IPPROTO_NUM_AH = 51,
  IPPROTO_NUM_DSTOPTS = 60,
  IPPROTO_NUM_MOBILITY = 135,
};

#define MAX_VLAN_TAGS 4
#define MAX_IPV6_EXTENSIONS 8

gboolean
mtd_decode_link_type_is_supported (gint link_type)
{
  switch (link_type) {
  case LINK_NULL:
  case LINK_EN10MB:
  case LINK_RAW_LINUX:
  case LINK_RAW_BSD:
  case LINK_RAW:
  case LINK_LOOP:
  case LINK_LINUX_SLL:
  case LINK_LINUX_SLL2:
  case LINK_IPV4:
  case LINK_IPV6:
    return TRUE;
  default:
    return FALSE;
  }
}

typedef enum { L3_IPV4, L3_IPV6, L3_BY_VERSION, L3_NONE } L3Kind;

/* Strips the link header; leaves the cursor on the network header. */
static MtdDecodeStatus
strip_link (gint link_type, MtdCursor *cursor, L3Kind *kind)
{
  guint16 ethertype = 0;
  switch (link_type) {
  case LINK_EN10MB: {
    if (!mtd_cursor_skip (cursor, 12) || !mtd_cursor_read_u16 (cursor, &ethertype))
      return MTD_DECODE_TRUNCATED;
    for (guint n_tags = 0; ethertype == ETHERTYPE_VLAN || ethertype == ETHERTYPE_QINQ
                           || ethertype == ETHERTYPE_QINQ_OLD;
         n_tags++) {
      if (n_tags == MAX_VLAN_TAGS)
        return MTD_DECODE_MALFORMED;
      if (!mtd_cursor_skip (cursor, 2) || !mtd_cursor_read_u16 (cursor, &ethertype))
        return MTD_DECODE_TRUNCATED;
    }
    break;
  }
  case LINK_LINUX_SLL:
    /* packet type, ARPHRD type, address length, 8 address bytes, protocol */
    if (!mtd_cursor_skip (cursor, 14) || !mtd_cursor_read_u16 (cursor, &ethertype))
      return MTD_DECODE_TRUNCATED;
    break;
  case LINK_LINUX_SLL2:
    /* protocol first, then 18 bytes of interface index, types and address */
    if (!mtd_cursor_read_u16 (cursor, &ethertype) || !mtd_cursor_skip (cursor, 18))
      return MTD_DECODE_TRUNCATED;
    break;
  case LINK_NULL:
  case LINK_LOOP: {
    guint32 family = 0;
    if (!mtd_cursor_read_u32 (cursor, &family))
      return MTD_DECODE_TRUNCATED;
    /* DLT_NULL stores the family in the capturing host's byte order, DLT_LOOP in network
     * order; accept both orders.  AF_INET is 2 everywhere; AF_INET6 differs between systems
     * (10 Linux, 24 NetBSD/OpenBSD, 28 FreeBSD, 30 macOS). */
    if (family > 0xFFFF)
      family = GUINT32_SWAP_LE_BE (family);
    if (family == 2)
      *kind = L3_IPV4;
    else if (family == 10 || family == 24 || family == 28 || family == 30)
      *kind = L3_IPV6;
    else
      *kind = L3_NONE;
    return MTD_DECODE_TCP;
  }
  case LINK_RAW_LINUX:
  case LINK_RAW_BSD:
  case LINK_RAW:
    *kind = L3_BY_VERSION;
    return MTD_DECODE_TCP;
  case LINK_IPV4:
    *kind = L3_IPV4;
    return MTD_DECODE_TCP;
  case LINK_IPV6:
    *kind = L3_IPV6;
    return MTD_DECODE_TCP;
  default:
    return MTD_DECODE_UNSUPPORTED_LINK;
  }
  if (ethertype == ETHERTYPE_IPV4)
    *kind = L3_IPV4;
  else if (ethertype == ETHERTYPE_IPV6)
    *kind = L3_IPV6;
  else
    *kind = L3_NONE;
  return MTD_DECODE_TCP;
}

/* Leaves *transport on the transport header, sized by the IP length field (which drops link
 * padding); *wire_len is what the IP header says the transport part is. */
static MtdDecodeStatus
decode_ipv4 (MtdCursor *cursor, MtdDecodedPacket *out, guint8 *protocol, MtdCursor *transport,
             gsize *wire_len)
{
  const guint8 *ip_start = mtd_cursor_peek_bytes (cursor);
  gsize available = mtd_cursor_remaining (cursor);
  guint8 version_ihl = 0, tos = 0, ttl = 0;
  guint16 total_len = 0, ident = 0, fragment = 0, checksum = 0;
  if (!mtd_cursor_read_u8 (cursor, &version_ihl) || !mtd_cursor_read_u8 (cursor, &tos)
      || !mtd_cursor_read_u16 (cursor, &total_len) || !mtd_cursor_read_u16 (cursor, &ident)
      || !mtd_cursor_read_u16 (cursor, &fragment) || !mtd_cursor_read_u8 (cursor, &ttl)
      || !mtd_cursor_read_u8 (cursor, protocol) || !mtd_cursor_read_u16 (cursor, &checksum)
      || !mtd_cursor_copy_bytes (cursor, out->src_addr, 4)
      || !mtd_cursor_copy_bytes (cursor, out->dst_addr, 4))
    return MTD_DECODE_TRUNCATED;
  gsize header_len = (gsize) (version_ihl & 0x0F) * 4;
  if ((version_ihl >> 4) != 4 || header_len < 20 || total_len < header_len)
    return MTD_DECODE_MALFORMED;
  if (!mtd_cursor_skip (cursor, header_len - 20))
    return MTD_DECODE_TRUNCATED;
  out->ip_version = 4;
  out->l3 = ip_start;
  out->l3_len = MIN (available, (gsize) total_len);
  *wire_len = total_len - header_len;
  gsize captured = MIN (mtd_cursor_remaining (cursor), *wire_len);
  if (!mtd_cursor_read_sub (cursor, captured, transport))
    return MTD_DECODE_TRUNCATED;
  /* More-fragments flag or a non-zero offset (RFC 791 §3.1) */
  if ((fragment & 0x3FFF) != 0)
    return MTD_DECODE_FRAGMENT;
  return MTD_DECODE_TCP;
}

static MtdDecodeStatus
decode_ipv6 (MtdCursor *cursor, MtdDecodedPacket *out, guint8 *protocol, MtdCursor *transport,
             gsize *wire_len)
{
  const guint8 *ip_start = mtd_cursor_peek_bytes (cursor);
  gsize available = mtd_cursor_remaining (cursor);
  guint32 version_class_flow = 0;
  guint16 payload_len = 0;
  guint8 next_header = 0, hop_limit = 0;
  if (!mtd_cursor_read_u32 (cursor, &version_class_flow)
      || !mtd_cursor_read_u16 (cursor, &payload_len) || !mtd_cursor_read_u8 (cursor, &next_header)
      || !mtd_cursor_read_u8 (cursor, &hop_limit)
      || !mtd_cursor_copy_bytes (cursor, out->src_addr, 16)
      || !mtd_cursor_copy_bytes (cursor, out->dst_addr, 16))
    return MTD_DECODE_TRUNCATED;
  if ((version_class_flow >> 28) != 6)
    return MTD_DECODE_MALFORMED;
  out->ip_version = 6;
  out->l3 = ip_start;
  out->l3_len = MIN (available, (gsize) payload_len + 40);
  /* Jumbograms (payload length 0 with a hop-by-hop option) are not expected on captured TCP. */
  MtdCursor ip_payload;
  gsize captured = MIN (mtd_cursor_remaining (cursor), (gsize) payload_len);
  if (!mtd_cursor_read_sub (cursor, captured, &ip_payload))
    return MTD_DECODE_TRUNCATED;
  gsize wire_remaining = payload_len;
  for (guint n_extensions = 0;; n_extensions++) {
    if (n_extensions > MAX_IPV6_EXTENSIONS)
      return MTD_DECODE_MALFORMED;
    switch (next_header) {
    case IPPROTO_NUM_HOPOPTS:
    case IPPROTO_NUM_ROUTING:
    case IPPROTO_NUM_DSTOPTS:
    case IPPROTO_NUM_MOBILITY:
    case IPPROTO_NUM_AH: {
      guint8 following = 0, ext_len = 0;
      if (!mtd_cursor_read_u8 (&ip_payload, &following)
          || !mtd_cursor_read_u8 (&ip_payload, &ext_len))
        return MTD_DECODE_TRUNCATED;
      /* RFC 8200 §4.3: length in 8-octet units not counting the first 8; AH (RFC 4302 §2.2)
       * counts 4-octet units minus 2. */
      gsize total = next_header == IPPROTO_NUM_AH ? ((gsize) ext_len + 2) * 4
                                                  : ((gsize) ext_len + 1) * 8;
      if (total > wire_remaining)
        return MTD_DECODE_MALFORMED;
      if (!mtd_cursor_skip (&ip_payload, total - 2))
        return MTD_DECODE_TRUNCATED;
      wire_remaining -= total;
      next_header = following;
      continue;
    }
    case IPPROTO_NUM_FRAGMENT:
      *protocol = next_header;
      return MTD_DECODE_FRAGMENT;
    default:
      break;
    }
    break;
  }
  *protocol = next_header;
  *wire_len = wire_remaining;
  *transport = ip_payload;
  return MTD_DECODE_TCP;
}

static MtdDecodeStatus
decode_transport (guint8 protocol, MtdCursor *transport, gsize wire_len, MtdDecodedPacket *out)
{
  if (protocol == IPPROTO_NUM_UDP) {
    if (!mtd_cursor_read_u16 (transport, &out->src_port)
        || !mtd_cursor_read_u16 (transport, &out->dst_port))
      return MTD_DECODE_TRUNCATED;
    return MTD_DECODE_UDP;
  }
  if (protocol != IPPROTO_NUM_TCP)
    return MTD_DECODE_OTHER_IP;
  guint8 offset_reserved = 0;
  guint16 window = 0, checksum = 0, urgent = 0;
  if (!mtd_cursor_read_u16 (transport, &out->src_port)
      || !mtd_cursor_read_u16 (transport, &out->dst_port)
      || !mtd_cursor_read_u32 (transport, &out->seq) || !mtd_cursor_read_u32 (transport, &out->ack)
      || !mtd_cursor_read_u8 (transport, &offset_reserved)
      || !mtd_cursor_read_u8 (transport, &out->tcp_flags)
      || !mtd_cursor_read_u16 (transport, &window) || !mtd_cursor_read_u16 (transport, &checksum)
      || !mtd_cursor_read_u16 (transport, &urgent))
    return MTD_DECODE_TRUNCATED;
  gsize header_len = (gsize) (offset_reserved >> 4) * 4;
  if (header_len < 20 || header_len > wire_len)
    return MTD_DECODE_MALFORMED;
  if (!mtd_cursor_skip (transport, header_len - 20))
    return MTD_DECODE_TRUNCATED;
  out->payload_wire_len = wire_len - header_len;
  out->payload_len = mtd_cursor_remaining (transport);
  out->payload = out->payload_len > 0 ? mtd_cursor_peek_bytes (transport) : NULL;
  return MTD_DECODE_TCP;
}

MtdDecodeStatus
mtd_decode_packet (gint link_type, const guint8 *bytes, gsize caplen, MtdDecodedPacket *out)
{
  memset (out, 0, sizeof *out);
  MtdCursor cursor = mtd_cursor_init (bytes, caplen);
  L3Kind kind = L3_NONE;
  MtdDecodeStatus status = strip_link (link_type, &cursor, &kind);
  if (status != MTD_DECODE_TCP)
    return status;
  if (kind == L3_BY_VERSION) {
    guint8 first = 0;
    if (!mtd_cursor_peek_u8 (&cursor, 0, &first))
      return MTD_DECODE_TRUNCATED;
    kind = (first >> 4) == 4 ? L3_IPV4 : (first >> 4) == 6 ? L3_IPV6 : L3_NONE;
  }
  guint8 protocol = 0;
  MtdCursor transport = mtd_cursor_init (NULL, 0);
  gsize wire_len = 0;
  if (kind == L3_IPV4)
    status = decode_ipv4 (&cursor, out, &protocol, &transport, &wire_len);
  else if (kind == L3_IPV6)
    status = decode_ipv6 (&cursor, out, &protocol, &transport, &wire_len);
  else
    return MTD_DECODE_NOT_IP;
  if (status != MTD_DECODE_TCP)
    return status;
  return decode_transport (protocol, &transport, wire_len, out);
}

void
mtd_decode_format_address (guint8 ip_version, const guint8 addr[16], char *buf, gsize buf_len)
{
  if (inet_ntop (ip_version == 6 ? AF_INET6 : AF_INET, addr, buf, (socklen_t) buf_len) == NULL)
    g_strlcpy (buf, "?", buf_len);
}
