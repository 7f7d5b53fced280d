/* fuzz-chunks.h: how the stream harnesses (fuzz-tls, fuzz-http) cut one fuzz input into the two
 * directions of a connection.
 *
 * Input: one flags byte (each harness says what its bits mean), then a list of operations, each
 * starting with an op byte:
 *   0x00-0x7f  data for side (op & 1); a 16-bit big-endian length follows, then the bytes
 *   0x80-0xbf  data for side (op & 1); an 8-bit length follows, then the bytes; (op & 0x20) also
 *              asks the harness for a snapshot (e.g. concluding the facts so far)
 *   0xc0-0xff  a gap on side (op & 1) of ((op >> 1) & 0x1f) bytes (0: unknown length)
 * A length that runs past the end of the input is cut to what is left, so every input is valid.
 * tests/fuzz/make-seeds.py writes seeds in this form.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef enum {
  FUZZ_CHUNK_END,
  FUZZ_CHUNK_DATA,
  FUZZ_CHUNK_GAP,
} FuzzChunkKind;

typedef struct {
  FuzzChunkKind kind;
  unsigned side;         /* 0 or 1 */
  const uint8_t *data;   /* borrowed, into the fuzz input */
  size_t len;            /* data length, or gap length (0: unknown) */
  int wants_snapshot;
} FuzzChunk;

typedef struct {
  const uint8_t *data;
  size_t len;
  size_t at;
} FuzzChunks;

/* Reads the flags byte; an empty input has flags 0 and no chunks. */
static inline uint8_t
fuzz_chunks_init (FuzzChunks *chunks, const uint8_t *data, size_t len)
{
  chunks->data = data;
  chunks->len = len;
  chunks->at = 0;
  if (len == 0)
    return 0;
  chunks->at = 1;
  return data[0];
}

static inline size_t
fuzz_chunks_take_length (FuzzChunks *chunks, size_t n_bytes)
{
  size_t value = 0;
  for (size_t i = 0; i < n_bytes && chunks->at < chunks->len; i++)
    value = (value << 8) | chunks->data[chunks->at++];
  size_t left = chunks->len - chunks->at;
  return value < left ? value : left;
}

static inline FuzzChunk
fuzz_chunks_next (FuzzChunks *chunks)
{
  FuzzChunk chunk = { FUZZ_CHUNK_END, 0, NULL, 0, 0 };
  if (chunks->at >= chunks->len)
    return chunk;
  uint8_t op = chunks->data[chunks->at++];
  chunk.side = op & 1u;
  if (op >= 0xc0) {
    chunk.kind = FUZZ_CHUNK_GAP;
    chunk.len = (op >> 1) & 0x1fu;
    return chunk;
  }
  chunk.kind = FUZZ_CHUNK_DATA;
  chunk.wants_snapshot = op >= 0x80 && (op & 0x20) != 0;
  chunk.len = fuzz_chunks_take_length (chunks, op >= 0x80 ? 1 : 2);
  chunk.data = chunks->data + chunks->at;
  chunks->at += chunk.len;
  return chunk;
}
