/* SVG figures written into a wmfi_buf: the audit figures and the probe curves share these pieces. */
#include <math.h>

#include "core.h"

void wmfi_svg_text(wmfi_buf *s, double x, double y, const char *anchor, int size, const char *text) {
  wmfi_buf_printf(s, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\">", x, y, anchor, size);
  for (const char *c = text; *c; c++) {
    switch (*c) {
    case '&': wmfi_buf_str(s, "&amp;"); break;
    case '<': wmfi_buf_str(s, "&lt;"); break;
    case '>': wmfi_buf_str(s, "&gt;"); break;
    case '"': wmfi_buf_str(s, "&quot;"); break;
    default: wmfi_buf_put(s, c, 1);
    }
  }
  wmfi_buf_str(s, "</text>\n");
}

void wmfi_svg_line(wmfi_buf *s, double x1, double y1, double x2, double y2, const char *attrs) {
  wmfi_buf_printf(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" %s/>\n", x1, y1, x2, y2, attrs);
}

void wmfi_svg_begin(wmfi_buf *s, int width, int height, const char *title) {
  *s = (wmfi_buf){0};
  wmfi_buf_printf(s,
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                  "font-family=\"DejaVu Sans, Liberation Sans, Arial, sans-serif\">\n"
                  "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                  width, height, width, height);
  wmfi_svg_text(s, width / 2.0, 24, "middle", 16, title);
}

wmf_status wmfi_svg_finish(wmfi_buf *s, const char *path) {
  wmfi_buf_str(s, "</svg>\n");
  return wmfi_buf_write_file(s, path, "svg");
}

double wmfi_svg_tick(double range, int target) {
  double raw = range / target, mag = pow(10, floor(log10(raw))), f = raw / mag;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}
