/* A pre-check of JPEG data for a memory-safety bug of stb_image 2.27 (Debian 12's libstb-dev), found
 * by tests/fuzz/fuzz_image: a DHT (Huffman table) segment whose 16 code counts add up to more than
 * 256 makes stbi__build_huffman and the value loop write past fixed 257- and 256-entry arrays.
 * Valid JPEG tables never hold more than 256 codes. The walk below visits every DHT table stb could
 * read (markers, junk skipping and entropy-coded data handled at least as permissively as stb), reading
 * each table the way stb does (zeros past the end of the data), and refuses data with an oversized
 * table before stb sees it.
 * A second bug of the same stb: a scan that uses a Huffman table no DHT segment has defined makes
 * stbi__jpeg_huff_decode read its tables from uninitialized memory and index outside them (found by
 * the fuzzer as an out-of-bounds read). JPEG requires tables to be defined before a scan uses them, so
 * such data is refused too.
 * Data without any scan (SOS segment) has no pixels: stb 2.27 returns its never-written sample buffers
 * (uninitialized heap) as the image. And since every scan is a pass over the whole image, data with
 * more than WMFI_JPEG_MAX_SCANS scans is refused before decoding (WMF_ERR_LIMIT). */
#include "image/image_internal.h"

#define STR_(x) #x
#define STR(x) STR_(x)

static unsigned byte_at(const uint8_t *data, size_t size, size_t pos) { return pos < size ? data[pos] : 0; }

/* false when a table of the DHT segment whose length field is at `pos` has more than 256 codes; marks
 * the tables it defines in defined[class][id] */
static bool dht_ok(const uint8_t *data, size_t size, size_t pos, bool defined[2][4]) {
  long left = (long)((byte_at(data, size, pos) << 8) | byte_at(data, size, pos + 1)) - 2;
  size_t p = pos + 2;
  while (left > 0 && p < size) {
    unsigned q = byte_at(data, size, p++);
    if ((q >> 4) > 1 || (q & 15) > 3) return true; /* stb stops at this table with "bad DHT header" */
    defined[q >> 4][q & 15] = true;
    unsigned n = 0;
    for (int i = 0; i < 16; i++) n += byte_at(data, size, p++);
    if (n > 256) return false;
    p += n;
    left -= 17 + (long)n;
  }
  return true;
}

/* false when the scan header whose length field is at `pos` names a Huffman table that stb would
 * decode with but no DHT defined: baseline scans use both tables of each component, progressive DC
 * first scans (Ss = 0, Ah = 0) the DC table, progressive AC scans (Ss > 0) the AC table. */
static bool sos_ok(const uint8_t *data, size_t size, size_t pos, bool progressive, bool defined[2][4]) {
  unsigned ns = byte_at(data, size, pos + 2);
  unsigned ss = byte_at(data, size, pos + 3 + 2 * ns), ah = byte_at(data, size, pos + 5 + 2 * ns) >> 4;
  bool dc = !progressive || (ss == 0 && ah == 0), ac = !progressive || ss > 0;
  for (unsigned k = 0; k < ns && k < 4; k++) {
    unsigned t = byte_at(data, size, pos + 4 + 2 * k);
    if ((dc && (t >> 4) < 4 && !defined[0][t >> 4]) || (ac && (t & 15) < 4 && !defined[1][t & 15])) return false;
  }
  return true;
}

static bool is_rst(unsigned m) { return m >= 0xD0 && m <= 0xD7; }

const char *wmfi_image_jpeg_guard(const uint8_t *data, size_t size, wmf_status *status) {
  size_t pos = 0, scans = 0;
  bool defined[2][4] = {{false}}, progressive = false;
  *status = WMF_ERR_CORRUPT;
  while (pos < size && data[pos] == 0xFF) pos++;
  pos++; /* after SOI (wmfi_image_sniff found 0xFF... 0xD8) */
  while (pos < size) {
    if (data[pos] != 0xFF) { /* junk between segments: stb skips it before the frame header */
      pos++;
      continue;
    }
    while (pos < size && data[pos] == 0xFF) pos++;
    if (pos >= size) break;
    unsigned m = data[pos++];
    if (m == 0x00 || m == 0x01 || m == 0xD8 || is_rst(m)) continue; /* no length field */
    if (m == 0xD9) break;                                             /* EOI */
    if (m == 0xC4 && !dht_ok(data, size, pos, defined)) return "a Huffman table (DHT) has more than 256 codes";
    if (m == 0xC2) progressive = true;
    if (m == 0xDA && !sos_ok(data, size, pos, progressive, defined))
      return "a scan uses a Huffman table that no DHT segment defined";
    if (m == 0xDA && ++scans > WMFI_JPEG_MAX_SCANS) {
      *status = WMF_ERR_LIMIT;
      return "more than " STR(WMFI_JPEG_MAX_SCANS) " scans (SOS segments), the decoder's limit";
    }
    size_t len = (size_t)byte_at(data, size, pos) << 8 | byte_at(data, size, pos + 1);
    pos += len < 2 ? 2 : len;
    if (m == 0xDA) { /* entropy-coded data follows a scan header, up to the next real marker */
      while (pos < size) {
        if (data[pos] == 0xFF && pos + 1 < size && data[pos + 1] != 0xFF && data[pos + 1] != 0x00 &&
            !is_rst(data[pos + 1]))
          break;
        pos++;
      }
    }
  }
  return scans ? NULL : "no scan (SOS segment): the data holds no pixels";
}
