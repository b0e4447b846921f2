/*
 * N-API binding of the forwarding engine. JavaScript binds leg sockets (so a port conflict is an
 * immediate, synchronous error), programs the forwarding table through the engine's command ring,
 * reads all counters in one call into a caller-owned Float64Array and drains events the same way.
 * Nothing here runs per packet.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay.h"

#define STATS_FIELDS 20
#define EVENT_FIELDS 6

struct handle {
  struct engine e;
  int open;
};

static napi_value throw_err(napi_env env, const char *code, const char *msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

static napi_value num(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

static struct handle *get_handle(napi_env env, napi_value v) {
  struct handle *h = NULL;
  if (napi_get_value_external(env, v, (void **)&h) != napi_ok || !h || !h->open) {
    throw_err(env, "ERR_RELAY_CLOSED", "engine handle is closed or invalid");
    return NULL;
  }
  return h;
}

static void stop_engine(struct handle *h) {
  if (!h->open) return;
  h->open = 0;
  struct cmd c;
  memset(&c, 0, sizeof c);
  c.op = CMD_STOP;
  while (engine_push_cmd(&h->e, &c) == -EAGAIN) usleep(1000);
  pthread_join(h->e.thread, NULL);
  close(h->e.wake_fd);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct handle *h = data;
  stop_engine(h);
  free(h->e.legs);
  free(h->e.cmds);
  free(h->e.evs);
  free(h);
}

static int get_prop(napi_env env, napi_value obj, const char *name, napi_value *out) {
  bool has = false;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has) return 0;
  if (napi_get_named_property(env, obj, name, out) != napi_ok) return 0;
  napi_valuetype t;
  napi_typeof(env, *out, &t);
  return t != napi_undefined && t != napi_null;
}

static double get_num(napi_env env, napi_value obj, const char *name, double dflt) {
  napi_value v;
  double d = dflt;
  if (get_prop(env, obj, name, &v)) napi_get_value_double(env, v, &d);
  return d;
}

static int get_bool(napi_env env, napi_value obj, const char *name, int dflt) {
  napi_value v;
  bool b = dflt != 0;
  if (get_prop(env, obj, name, &v)) napi_get_value_bool(env, v, &b);
  return b ? 1 : 0;
}

/* Parses an IPv4/IPv6 literal and port into `a`; returns 0 or -EINVAL. */
static int parse_addr(const char *host, int port, relay_addr *a) {
  memset(a, 0, sizeof *a);
  if (port < 0 || port > 65535) return -EINVAL;
  if (inet_pton(AF_INET, host, &a->v4.sin_addr) == 1) {
    a->v4.sin_family = AF_INET;
    a->v4.sin_port = htons((uint16_t)port);
    return 0;
  }
  if (inet_pton(AF_INET6, host, &a->v6.sin6_addr) == 1) {
    a->v6.sin6_family = AF_INET6;
    a->v6.sin6_port = htons((uint16_t)port);
    return 0;
  }
  return -EINVAL;
}

static int get_addr(napi_env env, napi_value obj, const char *host_key, const char *port_key, relay_addr *a) {
  napi_value hv;
  if (!get_prop(env, obj, host_key, &hv)) return 0;
  char host[64];
  size_t n = 0;
  if (napi_get_value_string_utf8(env, hv, host, sizeof host, &n) != napi_ok) return -EINVAL;
  int port = (int)get_num(env, obj, port_key, -1);
  if (port <= 0) return -EINVAL;
  return parse_addr(host, port, a) == 0 ? 1 : -EINVAL;
}

/* The forwarding entry from a JavaScript leg configuration object. */
static int read_fwd(napi_env env, napi_value cfg, struct fwd_entry *f) {
  memset(f, 0, sizeof *f);
  f->peer = (uint32_t)get_num(env, cfg, "peer", 0xffffffffu);
  int r = get_addr(env, cfg, "remoteHost", "remotePort", &f->remote_rtp);
  if (r < 0) return r;
  f->has_remote_rtp = (uint8_t)r;
  r = get_addr(env, cfg, "remoteRtcpHost", "remoteRtcpPort", &f->remote_rtcp);
  if (r < 0) return r;
  f->has_remote_rtcp = (uint8_t)r;
  f->strict = (uint8_t)get_bool(env, cfg, "strict", 0);
  f->rtcp_mux = (uint8_t)get_bool(env, cfg, "rtcpMux", 0);
  f->forward = (uint8_t)get_bool(env, cfg, "forward", 1);
  f->udptl = (uint8_t)get_bool(env, cfg, "udptl", 0);
  double te = get_num(env, cfg, "tePt", -1);
  f->te_pt = te >= 0 && te < 128 ? (uint8_t)te : RELAY_PT_NONE;
  double rate = get_num(env, cfg, "clockRate", 8000);
  f->clock_rate = rate >= 1000 && rate <= 192000 ? (uint32_t)rate : 8000;
  for (int i = 0; i < 128; i++) f->pt_out[i] = (uint8_t)i;
  napi_value pv;
  if (get_prop(env, cfg, "ptOut", &pv)) {
    napi_typedarray_type t;
    size_t len = 0;
    void *data = NULL;
    if (napi_get_typedarray_info(env, pv, &t, &len, &data, NULL, NULL) != napi_ok || t != napi_uint8_array ||
        len != 128) {
      return -EINVAL;
    }
    const uint8_t *m = data;
    for (int i = 0; i < 128; i++) f->pt_out[i] = m[i] & 0x7f;
  }
  return 0;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1) return throw_err(env, "ERR_RELAY_ARGS", "open(options) expects an options object");
  struct handle *h = calloc(1, sizeof *h);
  if (!h) return throw_err(env, "ERR_RELAY_NOMEM", "out of memory");
  double max_legs = get_num(env, argv[0], "maxLegs", 8192);
  if (max_legs < 2 || max_legs > (1 << 22)) {
    free(h);
    return throw_err(env, "ERR_RELAY_ARGS", "maxLegs: expected 2..4194304");
  }
  h->e.max_legs = (uint32_t)max_legs;
  double coalesce = get_num(env, argv[0], "coalesceUs", 200);
  if (coalesce < 0 || coalesce > 10000) {
    free(h);
    return throw_err(env, "ERR_RELAY_ARGS", "coalesceUs: expected 0..10000");
  }
  h->e.coalesce_us = (uint32_t)coalesce;
  napi_value mv;
  char mode[16] = "auto";
  if (get_prop(env, argv[0], "mode", &mv)) {
    size_t n;
    napi_get_value_string_utf8(env, mv, mode, sizeof mode, &n);
  }
  if (strcmp(mode, "io_uring") == 0) {
    h->e.requested = BACKEND_URING;
  } else if (strcmp(mode, "epoll") == 0) {
    h->e.requested = BACKEND_EPOLL;
  } else if (strcmp(mode, "auto") == 0) {
    h->e.requested = 0;
  } else {
    free(h);
    return throw_err(env, "ERR_RELAY_ARGS", "mode: expected auto, io_uring or epoll");
  }
  int rc = engine_start(&h->e);
  if (rc != 0) {
    char msg[96];
    snprintf(msg, sizeof msg, "engine start failed: %s", strerror(-rc));
    free(h->e.legs);
    free(h->e.cmds);
    free(h->e.evs);
    free(h);
    return throw_err(env, "ERR_RELAY_START", msg);
  }
  h->open = 1;
  napi_value ext;
  napi_create_external(env, h, finalize, NULL, &ext);
  return ext;
}

static napi_value js_backend(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  napi_value s;
  napi_create_string_utf8(env, h->e.backend == BACKEND_URING ? "io_uring" : "epoll", NAPI_AUTO_LENGTH, &s);
  return s;
}

static int bind_socket(const relay_addr *a) {
  int fd = socket(a->sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (bind(fd, &a->sa, relay_addr_len(a)) < 0) {
    int err = -errno;
    close(fd);
    return err;
  }
  return fd;
}

/* addLeg(handle, slot, host, rtpPort, config) → 0, or -errno (e.g. -EADDRINUSE) */
static napi_value js_add_leg(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5) return throw_err(env, "ERR_RELAY_ARGS", "addLeg(handle, slot, host, rtpPort, config)");
  struct handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  uint32_t slot;
  int32_t port;
  char host[64];
  size_t n;
  napi_get_value_uint32(env, argv[1], &slot);
  if (napi_get_value_string_utf8(env, argv[2], host, sizeof host, &n) != napi_ok) return num(env, -EINVAL);
  napi_get_value_int32(env, argv[3], &port);
  if (slot >= h->e.max_legs) return num(env, -ERANGE);
  if (port <= 0 || port >= 65535) return num(env, -EINVAL);
  struct cmd c;
  memset(&c, 0, sizeof c);
  int rc = read_fwd(env, argv[4], &c.fwd);
  if (rc < 0) return num(env, rc);
  relay_addr a;
  if (parse_addr(host, port, &a) < 0) return num(env, -EINVAL);
  int fr = bind_socket(&a);
  if (fr < 0) return num(env, fr);
  if (a.sa.sa_family == AF_INET6) {
    a.v6.sin6_port = htons((uint16_t)(port + 1));
  } else {
    a.v4.sin_port = htons((uint16_t)(port + 1));
  }
  int fc = bind_socket(&a);
  if (fc < 0) {
    close(fr);
    return num(env, fc);
  }
  c.op = CMD_ADD;
  c.slot = slot;
  c.fd_rtp = fr;
  c.fd_rtcp = fc;
  rc = engine_push_cmd(&h->e, &c);
  if (rc < 0) {
    close(fr);
    close(fc);
  }
  return num(env, rc);
}

/* setLeg(handle, slot, config, keepRemote) → 0 or -errno */
static napi_value js_set_leg(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) return throw_err(env, "ERR_RELAY_ARGS", "setLeg(handle, slot, config, keepRemote)");
  struct handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  struct cmd c;
  memset(&c, 0, sizeof c);
  napi_get_value_uint32(env, argv[1], &c.slot);
  int rc = read_fwd(env, argv[2], &c.fwd);
  if (rc < 0) return num(env, rc);
  bool keep = false;
  napi_get_value_bool(env, argv[3], &keep);
  c.keep_remote = keep ? 1 : 0;
  c.op = CMD_SET;
  return num(env, engine_push_cmd(&h->e, &c));
}

static napi_value slot_cmd(napi_env env, napi_callback_info info, uint32_t op) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) return throw_err(env, "ERR_RELAY_ARGS", "expected (handle, slot)");
  struct handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  struct cmd c;
  memset(&c, 0, sizeof c);
  c.op = op;
  napi_get_value_uint32(env, argv[1], &c.slot);
  return num(env, engine_push_cmd(&h->e, &c));
}

static napi_value js_remove_leg(napi_env env, napi_callback_info info) { return slot_cmd(env, info, CMD_DEL); }
static napi_value js_reset_stats(napi_env env, napi_callback_info info) {
  return slot_cmd(env, info, CMD_RESET_STATS);
}

static int float_array(napi_env env, napi_value v, double **data, size_t *len) {
  napi_typedarray_type t;
  void *d = NULL;
  if (napi_get_typedarray_info(env, v, &t, len, &d, NULL, NULL) != napi_ok || t != napi_float64_array) return 0;
  *data = d;
  return 1;
}

/*
 * readStats(handle, out: Float64Array) → number of records written, STATS_FIELDS doubles each, one per
 * active leg. Counters are read while the engine writes them: each aligned 64-bit field is read whole.
 */
static napi_value js_read_stats(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  double *out;
  size_t len;
  if (argc < 2 || !float_array(env, argv[1], &out, &len)) {
    return throw_err(env, "ERR_RELAY_ARGS", "readStats(handle, Float64Array)");
  }
  size_t cap = len / STATS_FIELDS, n = 0;
  struct engine *e = &h->e;
  for (uint32_t i = 0; i < e->max_legs && n < cap; i++) {
    struct leg *l = &e->legs[i];
    if (__atomic_load_n(&l->state, __ATOMIC_ACQUIRE) != LEG_ACTIVE) continue;
    const struct stream_stats *s = &l->st;
    const struct fwd_entry *f = &l->fwd;
    double *r = out + n * STATS_FIELDS;
    uint32_t received = s->received;
    uint32_t expected = received ? s->cycles + s->max_seq - s->base_seq + 1 : 0;
    uint64_t last = s->last_ns;
    r[0] = i;
    r[1] = (double)s->packets;
    r[2] = (double)s->bytes;
    r[3] = expected;
    r[4] = received;
    r[5] = s->jitter_q4 / 16.0;
    r[6] = last ? (double)(last - e->start_ns) / 1e6 : -1;
    r[7] = (double)s->rtcp_packets;
    r[8] = (double)s->dropped;
    r[9] = (double)s->forwarded;
    r[10] = (double)s->relatches;
    r[11] = f->latched_rtp;
    r[12] = f->has_remote_rtp ? ntohs(f->remote_rtp.sa.sa_family == AF_INET6 ? f->remote_rtp.v6.sin6_port
                                                                              : f->remote_rtp.v4.sin_port)
                              : 0;
    r[13] = f->has_remote_rtp && f->remote_rtp.sa.sa_family == AF_INET ? ntohl(f->remote_rtp.v4.sin_addr.s_addr) : 0;
    r[14] = s->fe_reports;
    r[15] = s->fe_fraction;
    r[16] = s->fe_lost;
    r[17] = s->fe_jitter;
    r[18] = s->ssrc;
    r[19] = f->clock_rate;
    n++;
  }
  return num(env, (double)n);
}

/* drainEvents(handle, out: Float64Array) → number of events, EVENT_FIELDS doubles each. */
static napi_value js_drain_events(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  double *out;
  size_t len;
  if (argc < 2 || !float_array(env, argv[1], &out, &len)) {
    return throw_err(env, "ERR_RELAY_ARGS", "drainEvents(handle, Float64Array)");
  }
  size_t cap = len / EVENT_FIELDS, n = 0;
  struct engine *e = &h->e;
  pthread_mutex_lock(&e->ev_mu);
  while (n < cap && e->ev_head != e->ev_tail) {
    const struct relay_event *ev = &e->evs[e->ev_head % EV_RING];
    double *r = out + n * EVENT_FIELDS;
    r[0] = ev->slot;
    r[1] = ev->type;
    r[2] = ev->code;
    r[3] = ev->volume;
    r[4] = ev->duration;
    r[5] = ev->clock_rate;
    e->ev_head++;
    n++;
  }
  pthread_mutex_unlock(&e->ev_mu);
  return num(env, (double)n);
}

/* counters(handle) → { loops, enters, sendErrors, recvErrors, eventsDropped, nowMs, commandsQueued,
 * commandsApplied } (the command counts are 32-bit and wrap together) */
static napi_value js_counters(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  struct engine *e = &h->e;
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "loops", num(env, (double)e->loops));
  napi_set_named_property(env, o, "enters", num(env, (double)e->enters));
  napi_set_named_property(env, o, "sendErrors", num(env, (double)e->send_errors));
  napi_set_named_property(env, o, "recvErrors", num(env, (double)e->recv_errors));
  napi_set_named_property(env, o, "eventsDropped", num(env, (double)e->ev_dropped));
  napi_set_named_property(env, o, "nowMs", num(env, (double)(relay_now_ns() - e->start_ns) / 1e6));
  pthread_mutex_lock(&e->cmd_mu);
  uint32_t queued = e->cmd_tail;
  pthread_mutex_unlock(&e->cmd_mu);
  napi_set_named_property(env, o, "commandsQueued", num(env, (double)queued));
  napi_set_named_property(env, o, "commandsApplied",
                          num(env, (double)(uint32_t)__atomic_load_n(&e->cmd_applied, __ATOMIC_ACQUIRE)));
  return o;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct handle *h = NULL;
  if (napi_get_value_external(env, argv[0], (void **)&h) == napi_ok && h) stop_engine(h);
  return NULL;
}

/*
 * statsReplay(input: Float64Array of [seq, ts, arrivalTs, ssrc]×n) → Float64Array of
 * [expected, received, jitter]×n: the engine's own RFC 3550 code over a given sequence, for tests.
 */
static napi_value js_stats_replay(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  double *in;
  size_t len;
  if (argc < 1 || !float_array(env, argv[0], &in, &len)) {
    return throw_err(env, "ERR_RELAY_ARGS", "statsReplay(Float64Array)");
  }
  size_t n = len / 4;
  napi_value ab, out;
  double *o;
  napi_create_arraybuffer(env, n * 3 * sizeof(double), (void **)&o, &ab);
  napi_create_typedarray(env, napi_float64_array, n * 3, ab, 0, &out);
  struct stream_stats s;
  stats_reset(&s);
  for (size_t i = 0; i < n; i++) {
    stats_rtp(&s, (uint16_t)in[i * 4], (uint32_t)in[i * 4 + 3], (uint32_t)in[i * 4 + 1], (uint32_t)in[i * 4 + 2]);
    uint32_t expected = s.received ? s.cycles + s.max_seq - s.base_seq + 1 : 0;
    o[i * 3] = expected;
    o[i * 3 + 1] = s.received;
    o[i * 3 + 2] = s.jitter_q4 / 16.0;
  }
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"backend", NULL, js_backend, NULL, NULL, NULL, napi_default, NULL},
      {"addLeg", NULL, js_add_leg, NULL, NULL, NULL, napi_default, NULL},
      {"setLeg", NULL, js_set_leg, NULL, NULL, NULL, napi_default, NULL},
      {"removeLeg", NULL, js_remove_leg, NULL, NULL, NULL, napi_default, NULL},
      {"resetStats", NULL, js_reset_stats, NULL, NULL, NULL, napi_default, NULL},
      {"readStats", NULL, js_read_stats, NULL, NULL, NULL, napi_default, NULL},
      {"drainEvents", NULL, js_drain_events, NULL, NULL, NULL, napi_default, NULL},
      {"counters", NULL, js_counters, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"statsReplay", NULL, js_stats_replay, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_value v;
  napi_create_uint32(env, STATS_FIELDS, &v);
  napi_set_named_property(env, exports, "STATS_FIELDS", v);
  napi_create_uint32(env, EVENT_FIELDS, &v);
  napi_set_named_property(env, exports, "EVENT_FIELDS", v);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
