/*
 * forceplate wire protocol v1 (devices/PROTOCOL.md) for microcontrollers: packet
 * framing (header, CRC-16/CCITT-FALSE, COBS) and the host's ASCII command lines.
 *
 * Plain C99 with static inline functions, so the same file builds in an Arduino sketch
 * (C++), on any MCU, and in the host test harness (devices/firmware/test/) that checks it
 * against forceplate's Python decoder. No heap, no tables: a 16 MHz AVR frames a 42-byte
 * packet in well under 100 us.
 */
#ifndef FORCEPLATE_PROTOCOL_H
#define FORCEPLATE_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#define FP_VERSION 1
#define FP_HEADER_SIZE 8
#define FP_CRC_SIZE 2
/* COBS adds one byte per started 254-byte block, then the 0x00 delimiter follows. */
#define FP_WIRE_SIZE(packet_size) ((packet_size) + (packet_size) / 254 + 2)

enum fp_packet_type { FP_INFO = 1, FP_DATA = 2, FP_STATUS = 3, FP_ACK = 4 };

/* Multi-byte fields are little-endian on the wire whatever the CPU's byte order. */
static inline void fp_put_u16le(uint8_t *out, uint16_t v) {
  out[0] = (uint8_t)v;
  out[1] = (uint8_t)(v >> 8);
}

static inline void fp_put_u32le(uint8_t *out, uint32_t v) {
  fp_put_u16le(out, (uint16_t)v);
  fp_put_u16le(out + 2, (uint16_t)(v >> 16));
}

static inline void fp_put_i32le(uint8_t *out, int32_t v) { fp_put_u32le(out, (uint32_t)v); }

static inline void fp_put_i16le(uint8_t *out, int16_t v) { fp_put_u16le(out, (uint16_t)v); }

/* Writes the 8-byte header at the start of a packet buffer; the payload follows it. */
static inline void fp_put_header(uint8_t *packet, uint8_t type, uint16_t seq, uint32_t t_device_us) {
  packet[0] = type;
  packet[1] = FP_VERSION;
  fp_put_u16le(packet + 2, seq);
  fp_put_u32le(packet + 4, t_device_us);
}

/* CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor. The
 * byte-at-a-time form without a table (x = top byte ^ data; x ^= x >> 4; ...) is the
 * bitwise algorithm with its eight shifts folded together: 32 bytes of flash instead
 * of a 512-byte table. */
static inline uint16_t fp_crc16(const uint8_t *data, size_t n) {
  uint16_t crc = 0xFFFF;
  while (n--) {
    uint8_t x = (uint8_t)((crc >> 8) ^ *data++);
    x ^= (uint8_t)(x >> 4);
    crc = (uint16_t)((crc << 8) ^ ((uint16_t)x << 12) ^ ((uint16_t)x << 5) ^ x);
  }
  return crc;
}

/* COBS-encodes n bytes into out (at least n + n / 254 + 1 bytes); returns the encoded
 * length. The output contains no 0x00, which is what lets a host resynchronise. */
static inline size_t fp_cobs_encode(const uint8_t *in, size_t n, uint8_t *out) {
  size_t code_at = 0, o = 1;
  uint8_t code = 1;
  for (size_t i = 0; i < n; i++) {
    if (in[i] == 0) {
      out[code_at] = code;
      code_at = o++;
      code = 1;
    } else {
      out[o++] = in[i];
      if (++code == 0xFF) {
        /* A full block of 254 non-zero bytes ends without an implied zero. */
        out[code_at] = code;
        code_at = o++;
        code = 1;
      }
    }
  }
  out[code_at] = code;
  return o;
}

/* Finishes a packet whose header and payload fill packet[0 .. body_size): appends the
 * CRC most significant byte first (so the CRC over the whole packet is 0), COBS-encodes
 * it into wire (FP_WIRE_SIZE(body_size + FP_CRC_SIZE) bytes) and appends the 0x00
 * delimiter. packet needs room for the 2 CRC bytes. Returns the bytes to send. */
static inline size_t fp_frame(uint8_t *packet, size_t body_size, uint8_t *wire) {
  uint16_t crc = fp_crc16(packet, body_size);
  packet[body_size] = (uint8_t)(crc >> 8);
  packet[body_size + 1] = (uint8_t)crc;
  size_t n = fp_cobs_encode(packet, body_size + FP_CRC_SIZE, wire);
  wire[n] = 0;
  return n + 1;
}

/* Host command lines (INFO?, START, STOP, TARE, RATE <hz>) arrive a byte at a time. */
#define FP_LINE_MAX 32

struct fp_line_reader {
  char text[FP_LINE_MAX];
  uint8_t len;
  uint8_t overflow; /* the current line is too long to be a command: drop it whole */
};

/* Feeds one received byte; returns the completed line (NUL-terminated, without CR/LF)
 * when c ends one, else NULL. The returned text is valid until the next call. */
static inline const char *fp_line_push(struct fp_line_reader *r, char c) {
  if (c == '\n') {
    const char *line = r->overflow ? NULL : r->text;
    r->text[r->len] = '\0';
    r->len = 0;
    r->overflow = 0;
    return line;
  }
  if (c == '\r') {
    return NULL; /* terminals send CR LF */
  }
  if (r->len + 1 >= FP_LINE_MAX) {
    r->overflow = 1;
  } else {
    r->text[r->len++] = c;
  }
  return NULL;
}

#endif /* FORCEPLATE_PROTOCOL_H */
