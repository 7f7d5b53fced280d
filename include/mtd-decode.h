/* mtd-decode.h: link, IP and TCP headers of one captured packet, decoded without state.
 *
 * Pure functions, no allocation: the result borrows the packet's bytes.  Link types: Ethernet
 * (with 802.1Q / 802.1ad tags), Linux cooked SLL and SLL2, BSD NULL and LOOP, raw IPv4/IPv6.
 * IPv4 (RFC 791) fragments are recognised and counted, not reassembled; IPv6 (RFC 8200)
 * extension headers are skipped.  TCP per RFC 9293.
 */
#pragma once

#include <glib.h>

typedef enum {
  MTD_DECODE_TCP,              /* a TCP segment: all fields filled */
  MTD_DECODE_UDP,              /* UDP: addresses and ports filled */
  MTD_DECODE_OTHER_IP,         /* IP, neither TCP nor UDP */
  MTD_DECODE_FRAGMENT,         /* an IP fragment (not reassembled) */
  MTD_DECODE_NOT_IP,           /* ARP, LLDP, ... */
  MTD_DECODE_UNSUPPORTED_LINK, /* a link type this decoder does not know */
  MTD_DECODE_TRUNCATED,        /* headers cut short by the snaplen */
  MTD_DECODE_MALFORMED,        /* headers whose fields cannot be right */
} MtdDecodeStatus;

/* TCP flags, RFC 9293 §3.1 */
enum {
  MTD_TCP_FIN = 0x01,
  MTD_TCP_SYN = 0x02,
  MTD_TCP_RST = 0x04,
  MTD_TCP_PSH = 0x08,
  MTD_TCP_ACK = 0x10,
};

typedef struct {
  guint8 ip_version;     /* 4 or 6 */
  guint8 src_addr[16];   /* IPv4 uses the first 4 bytes */
  guint8 dst_addr[16];
  guint16 src_port;
  guint16 dst_port;
  guint32 seq;
  guint32 ack;
  guint8 tcp_flags;
  const guint8 *l3;      /* borrowed: the IP header, for nDPI */
  gsize l3_len;          /* captured bytes from the IP header on, without link padding */
  const guint8 *payload; /* borrowed: the captured TCP/UDP payload */
  gsize payload_len;     /* captured payload bytes */
  gsize payload_wire_len;/* payload bytes the IP length says were sent */
} MtdDecodedPacket;

MtdDecodeStatus mtd_decode_packet (gint link_type, const guint8 *bytes, gsize caplen,
                                   MtdDecodedPacket *out);

gboolean mtd_decode_link_type_is_supported (gint link_type);

/* Prints an address as text (inet_ntop) into buf. */
void mtd_decode_format_address (guint8 ip_version, const guint8 addr[16], char *buf,
                                gsize buf_len);
