/* wmfeat bench: forward-pass speed of a weight file on this machine (ms per image), fp32 and bf16. */
#include <stdlib.h>

#include "commands.h"
#include "json_out.h"
#include "progress.h"

static int time_session(const wmf_model *m, const common_opts *o, unsigned size, bool bf16, long iters,
                        double *ms_per_image) {
  wmf_session *s = NULL;
  int rc = open_session(m, o, size, bf16, NULL, &s);
  if (rc) return rc;
  size_t n = (size_t)o->batch, per = (size_t)3 * size * size;
  float *in = malloc(n * per * sizeof(float));
  float *logits = malloc(n * wmf_session_logit_count(s) * sizeof(float));
  if (!in || !logits) rc = EXIT_RUNTIME;
  for (size_t i = 0; !rc && i < n * per; i++) in[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
  double best = 1e30;
  for (long it = -1; !rc && it < iters; it++) { /* iteration -1 warms up */
    double t0 = now_seconds();
    wmf_status st = wmf_session_run(s, in, n, logits, n * wmf_session_logit_count(s), NULL, 0);
    double t = now_seconds() - t0;
    if (st) rc = fail_status(st, "forward pass");
    if (it >= 0 && t < best) best = t;
  }
  *ms_per_image = 1e3 * best / (double)n;
  free(in);
  free(logits);
  wmf_session_destroy(s);
  return rc;
}

int cmd_bench(int argc, char **argv) {
  common_opts o = COMMON_DEFAULTS;
  const char *arch = NULL, *sd_key = NULL;
  long iters = 10, size = 0; /* 0: the model's input size */
  bool bf16 = false;
  arg_spec specs[] = {ARCH_SPEC(arch),
                      {"iters", ARG_INT, &iters, "timed iterations; the best is reported (default 10)"},
                      {"size", ARG_INT, &size, "input size in pixels (default: the model's, 224; Inception-v3 299)"},
                      {"bf16", ARG_FLAG, &bf16, "also time bf16 (when the CPU supports it)"},
                      STATE_DICT_KEY_SPEC(sd_key), TRANSFORM_INPUT_SPEC, CONV_SPEC, COMMON_SPECS(o)};
  const char *usage = "usage: wmfeat bench WEIGHTS [--batch 16] [--iters 10] [--bf16] [--json]";
  const char *pos[1];
  int np, rc;
  if (parse_command(argc, argv, specs, usage, pos, 1, 1, &np, &o, &rc)) return rc;
  if (iters < 1 || (size && size < 32)) return fprintf(stderr, "error: need --iters >= 1 and --size >= 32\n"), EXIT_USAGE;
  wmf_weights *w = NULL;
  wmf_model *m = NULL;
  if ((rc = open_model(pos[0], arch, sd_key, &w, &m))) return rc;
  if (!size) size = (long)wmf_model_default_input_size(m);
  double fp32 = 0, b16 = 0;
  rc = time_session(m, &o, (unsigned)size, false, iters, &fp32);
  bool do_bf16 = bf16 && wmf_nn_has_bf16();
  if (!rc && do_bf16) rc = time_session(m, &o, (unsigned)size, true, iters, &b16);
  if (!rc) {
    if (o.json) {
      rc = json_out_print(json_pack("{s:s, s:i, s:i, s:s, s:f, s:o}", "arch", wmf_model_arch(m), "batch", (int)o.batch,
                                    "size", (int)size, "isa", wmf_nn_isa(), "fp32_ms_per_image", fp32,
                                    "bf16_ms_per_image", do_bf16 ? json_real(b16) : json_null()));
    } else {
      printf("%s, batch %ld, %ldx%ld, %s\n  fp32: %.2f ms/image (%.1f images/s)\n", wmf_model_arch(m), o.batch,
             size, size, wmf_nn_isa(), fp32, 1e3 / fp32);
      if (do_bf16) printf("  bf16: %.2f ms/image (%.1f images/s)\n", b16, 1e3 / b16);
      else if (bf16) printf("  bf16: not supported on this CPU\n");
    }
  }
  wmf_model_destroy(m);
  wmf_weights_destroy(w);
  return rc;
}
