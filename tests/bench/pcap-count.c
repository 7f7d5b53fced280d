/* pcap-count.c: the benchmark's floor, a bare libpcap read loop that counts packets and bytes.
 *
 * Reads one capture (pcap or pcapng, anything pcap_open_offline takes) with pcap_next_ex and
 * touches nothing but the record headers, so its time is what reading the file costs; mtlsdiag's
 * time in tests/bench/run-bench.sh is reported as a ratio to it.  Prints one line:
 *   packets N captured_bytes C wire_bytes W
 * Exit status: 0 on success, 2 when the file cannot be opened or a read fails.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#include <pcap/pcap.h>

int
main (int argc, char **argv)
{
  if (argc != 2) {
    fprintf (stderr, "usage: %s FILE\n", argv[0]);
    return 2;
  }

  char errbuf[PCAP_ERRBUF_SIZE] = "";
  pcap_t *handle = pcap_open_offline (argv[1], errbuf);
  if (handle == NULL) {
    /* libpcap's message already names the file */
    fprintf (stderr, "pcap-count: %s\n", errbuf);
    return 2;
  }

  uint64_t n_packets = 0;
  uint64_t n_captured_bytes = 0;
  uint64_t n_wire_bytes = 0;
  struct pcap_pkthdr *header = NULL;
  const u_char *data = NULL;
  int status;
  while ((status = pcap_next_ex (handle, &header, &data)) == 1) {
    n_packets++;
    n_captured_bytes += header->caplen;
    n_wire_bytes += header->len;
  }

  int exit_status = 0;
  if (status == PCAP_ERROR) {
    fprintf (stderr, "pcap-count: %s: %s\n", argv[1], pcap_geterr (handle));
    exit_status = 2;
  }
  pcap_close (handle);

  printf ("packets %" PRIu64 " captured_bytes %" PRIu64 " wire_bytes %" PRIu64 "\n", n_packets,
          n_captured_bytes, n_wire_bytes);
  return exit_status;
}
