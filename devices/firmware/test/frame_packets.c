/*
 * Host harness for common/forceplate_protocol.h: frames packets with the firmware's own
 * functions so tests/test_firmware_protocol.py can decode them with forceplate's
 * FrameDecoder.
 *
 * stdin: records of  type u8 | seq u16 | t_device_us u32 | payload length u16 | payload
 * (integers little-endian); stdout: each record as framed bytes, exactly as a device
 * would send it. With the argument "lines", stdin is instead fed byte by byte to the
 * command-line reader and each command it completes is printed on a line of its own.
 * Built with -Werror so a warning in the header fails the test.
 */
#include <stdio.h>
#include <string.h>

#include "../common/forceplate_protocol.h"

#define MAX_PAYLOAD 1024

static int read_exact(uint8_t *buf, size_t n) { return fread(buf, 1, n, stdin) == n; }

static int print_lines(void) {
  struct fp_line_reader reader = {{0}, 0, 0};
  int c;
  while ((c = getchar()) != EOF) {
    const char *line = fp_line_push(&reader, (char)c);
    if (line) {
      puts(line);
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "lines") == 0) {
    return print_lines();
  }
  uint8_t head[9];
  static uint8_t packet[FP_HEADER_SIZE + MAX_PAYLOAD + FP_CRC_SIZE];
  static uint8_t wire[FP_WIRE_SIZE(sizeof packet)];
  while (read_exact(head, sizeof head)) {
    size_t len = (size_t)head[7] | (size_t)head[8] << 8;
    if (len > MAX_PAYLOAD || !read_exact(packet + FP_HEADER_SIZE, len)) {
      fprintf(stderr, "bad record\n");
      return 1;
    }
    fp_put_header(packet, head[0], (uint16_t)(head[1] | head[2] << 8),
                  (uint32_t)head[3] | (uint32_t)head[4] << 8 | (uint32_t)head[5] << 16 | (uint32_t)head[6] << 24);
    fwrite(wire, 1, fp_frame(packet, FP_HEADER_SIZE + len, wire), stdout);
  }
  return 0;
}
