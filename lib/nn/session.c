/* wmf_session: a stream, activation slots and scratchpad sized for the maximum batch, and one plan
 * (primitives) per batch size actually used, built on first use. */
#include <string.h>

#include "nn/nn_internal.h"

struct wmf_session {
  const wmf_model *model;
  wmfi_nn_plan_config cfg;
  int max_batch, threads, stage_c, last_n;
  wmfi_nn_plan **plans; /* index: batch size */
  wmfi_nn_buffers buf;
  dnnl_stream_t stream;
};

static int find_stage(const wmf_model *m, const char *name) {
  for (int t = 0; t < m->g.n_tensors; t++)
    if (m->g.tensors[t].stage[0] && !strcmp(m->g.tensors[t].stage, name)) return t;
  return WMFI_NN_NONE;
}

/* The plan of batch size n, made on first use with the session's threads (the maximum batch's plan
 * sizes the buffers every smaller one reuses). */
static wmf_status plan_for(wmf_session *s, int n) {
  if (s->plans[n]) return WMF_OK;
  wmfi_nn_plan_config cfg = s->cfg;
  cfg.n = n;
  int saved = wmfi_nn_threads_push(s->threads);
  wmf_status st = wmfi_nn_plan_create(&s->plans[n], (wmf_model *)s->model, &cfg, &s->buf);
  wmfi_nn_threads_pop(saved);
  return st;
}

#define WMFI_SESSION_OPTIONS_SIZE_1_0 WMFI_SIZE_THROUGH(wmf_session_options, stage)

WMFI_DEFINE_OPTIONS_INIT(wmf_session_options_init, wmf_session_options, WMF_SESSION_OPTIONS_INIT, WMFI_SESSION_OPTIONS_SIZE_1_0)

wmf_status wmf_session_create(wmf_session **out, const wmf_model *model, const wmf_session_options *options) {
  WMFI_REQUIRE(out, "wmf_session_create: out is NULL");
  *out = NULL;
  WMFI_REQUIRE(model, "wmf_session_create: model is NULL");
  wmf_session_options o = WMF_SESSION_OPTIONS_INIT;
  wmf_status st = wmfi_options_read(&o, sizeof o, options, WMFI_SESSION_OPTIONS_SIZE_1_0, "wmf_session_create",
                                    "wmf_session_options");
  if (st != WMF_OK) return st;
  if (!o.max_batch) o.max_batch = 1;
  if (!o.input_height) o.input_height = wmf_model_default_input_size(model);
  if (!o.input_width) o.input_width = wmf_model_default_input_size(model);
  WMFI_REQUIRE(o.max_batch <= 4096, "wmf_session_create: max_batch %u is above 4096", o.max_batch);
  WMFI_REQUIRE(o.input_height <= 8192 && o.input_width <= 8192, "wmf_session_create: input %ux%u is above 8192 px",
               o.input_height, o.input_width);
  WMFI_REQUIRE(!model->fixed_input || ((int)o.input_height == model->fixed_input &&
                                       (int)o.input_width == model->fixed_input),
               "wmf_session_create: input %ux%u: %s's input size is fixed at %d px by its position embedding",
               o.input_height, o.input_width, model->arch, model->fixed_input);
  WMFI_REQUIRE((int)o.input_height >= model->min_input && (int)o.input_width >= model->min_input,
               "wmf_session_create: input %ux%u is below the %d px this network needs", o.input_height,
               o.input_width, model->min_input);
  WMFI_REQUIRE(o.threads <= 1024, "wmf_session_create: %u threads", o.threads);
  WMFI_REQUIRE(o.precision == WMF_PRECISION_FP32 || o.precision == WMF_PRECISION_BF16,
               "wmf_session_create: unknown precision %d", (int)o.precision);
  WMFI_REQUIRE(o.conv_algorithm == WMF_CONV_AUTO || o.conv_algorithm == WMF_CONV_DIRECT,
               "wmf_session_create: unknown conv_algorithm %d", (int)o.conv_algorithm);
  if (o.precision == WMF_PRECISION_BF16 && !wmf_nn_has_bf16())
    return wmfi_fail(WMF_ERR_UNSUPPORTED, "wmf_session_create: bf16 needs AVX512-BF16; oneDNN dispatches to %s",
                     wmf_nn_isa());
  int stage = o.stage ? find_stage(model, o.stage) : WMFI_NN_NONE;
  if (o.stage && stage == WMFI_NN_NONE)
    return wmfi_fail(WMF_ERR_NOT_FOUND, "wmf_session_create: %s has no stage '%s'", model->arch, o.stage);
  wmf_session *s = NULL;
  WMFI_ALLOC(s, wmfi_calloc(1, sizeof *s), "wmf_session_create");
  s->model = model;
  s->max_batch = (int)o.max_batch;
  s->threads = (int)o.threads;
  s->stage_c = stage != WMFI_NN_NONE ? model->g.tensors[stage].c : 0;
  s->cfg = (wmfi_nn_plan_config){.n = (int)o.max_batch, .h = (int)o.input_height, .w = (int)o.input_width,
                                 .bf16 = o.precision == WMF_PRECISION_BF16, .stage = stage, .prepare = 0,
                                 .direct = o.conv_algorithm == WMF_CONV_DIRECT};
  WMFI_ALLOC(s->plans, wmfi_calloc((size_t)s->max_batch + 1, sizeof *s->plans), "wmf_session_create");
  WMFI_DNNL_TRY(dnnl_stream_create(&s->stream, model->engine, dnnl_stream_default_flags), "stream creation");
  WMFI_TRY(plan_for(s, s->max_batch));
  *out = s;
  s = NULL;
done:
  wmf_session_destroy(s);
  return st;
}

void wmf_session_destroy(wmf_session *s) {
  if (!s) return;
  if (s->plans)
    for (int i = 0; i <= s->max_batch; i++) wmfi_nn_plan_destroy(s->plans[i]);
  wmfi_free(s->plans);
  for (int i = 0; i < s->buf.n_slots; i++) wmfi_free(s->buf.slot[i]);
  wmfi_free(s->buf.slot);
  wmfi_free(s->buf.slot_size);
  wmfi_free(s->buf.scratch);
  if (s->stream) dnnl_stream_destroy(s->stream);
  wmfi_free(s);
}

wmf_status wmf_session_run(wmf_session *s, const float *input, size_t n, float *logits, size_t logits_capacity,
                           float *features, size_t features_capacity) {
  WMFI_REQUIRE(s && input, "wmf_session_run: session or input is NULL");
  WMFI_REQUIRE(n > 0, "wmf_session_run: n is 0");
  if (n > (size_t)s->max_batch)
    return wmfi_fail(WMF_ERR_LIMIT, "wmf_session_run: batch of %zu is above the session's max_batch %d", n, s->max_batch);
  size_t nl = n * (size_t)s->model->num_classes, nf = n * (size_t)s->model->feature_count;
  if (logits && logits_capacity < nl)
    return wmfi_fail(WMF_ERR_BUFFER_TOO_SMALL, "wmf_session_run: logits need %zu floats, capacity is %zu", nl, logits_capacity);
  if (features && features_capacity < nf)
    return wmfi_fail(WMF_ERR_BUFFER_TOO_SMALL, "wmf_session_run: features need %zu floats, capacity is %zu", nf,
                     features_capacity);
  wmf_status st = plan_for(s, (int)n);
  if (st != WMF_OK) return st;
  int saved = wmfi_nn_threads_push(s->threads);
  st = wmfi_nn_plan_run(s->plans[n], s->stream, input);
  wmfi_nn_threads_pop(saved);
  if (st != WMF_OK) return st;
  if (logits) memcpy(logits, wmfi_nn_plan_output(s->plans[n], WMFI_NN_OUT_LOGITS), nl * sizeof(float));
  if (features) memcpy(features, wmfi_nn_plan_output(s->plans[n], WMFI_NN_OUT_FEATURES), nf * sizeof(float));
  s->last_n = (int)n;
  return WMF_OK;
}

size_t wmf_session_logit_count(const wmf_session *s) { return s ? (size_t)s->model->num_classes : 0; }
size_t wmf_session_feature_count(const wmf_session *s) { return s ? (size_t)s->model->feature_count : 0; }
size_t wmf_session_stage_count(const wmf_session *s) { return s ? (size_t)s->stage_c : 0; }

wmf_status wmf_session_stage_features(const wmf_session *s, float *out, size_t capacity) {
  WMFI_REQUIRE(s && out, "wmf_session_stage_features: session or out is NULL");
  if (!s->stage_c) return wmfi_fail(WMF_ERR_STATE, "wmf_session_stage_features: the session has no stage");
  if (!s->last_n) return wmfi_fail(WMF_ERR_STATE, "wmf_session_stage_features: no run yet");
  size_t need = (size_t)s->last_n * s->stage_c;
  if (capacity < need)
    return wmfi_fail(WMF_ERR_BUFFER_TOO_SMALL, "wmf_session_stage_features: need %zu floats, capacity is %zu", need, capacity);
  memcpy(out, wmfi_nn_plan_output(s->plans[s->last_n], WMFI_NN_OUT_STAGE), need * sizeof(float));
  return WMF_OK;
}

void wmf_session_input_dims(const wmf_session *s, uint32_t *max_batch, uint32_t *height, uint32_t *width) {
  if (max_batch) *max_batch = s ? (uint32_t)s->max_batch : 0;
  if (height) *height = s ? (uint32_t)s->cfg.h : 0;
  if (width) *width = s ? (uint32_t)s->cfg.w : 0;
}

int wmfi_nn_session_private_weights(const wmf_session *s) {
  return wmfi_nn_plan_private_weights(s->plans[s->max_batch]);
}

int wmfi_nn_session_winograd_count(const wmf_session *s) { return wmfi_nn_plan_winograd_count(s->plans[s->max_batch]); }
