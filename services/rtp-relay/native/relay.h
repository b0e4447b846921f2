/*
 * The forwarding plane of the RTP relay: shared types of the engine (one thread that owns every leg
 * socket), its two I/O backends (io_uring, epoll) and the N-API binding.
 *
 * What it is: a table of legs indexed by slot; each leg has an RTP and an RTCP socket and a forwarding
 * entry (peer leg, remote addresses, latching and strict-source flags, payload-type rewrite). A packet
 * received on a leg is counted (RFC 3550 receiver statistics), checked against the latched source and
 * sent from the peer leg's socket to the peer's remote. What it is not: no allocation, log line or
 * lock on the packet path; the JavaScript control plane decides everything else.
 *
 * Why the entry is plain data keyed by the local port: the same record can be written into a BPF map
 * by a later tc/XDP fast path (key = local address and port, value = `struct fwd_entry`), so the
 * control API does not change when the kernel path lands.
 */
#ifndef RTP_RELAY_H
#define RTP_RELAY_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>

#define RELAY_PT_NONE 0xff

typedef union relay_addr {
  struct sockaddr sa;
  struct sockaddr_in v4;
  struct sockaddr_in6 v6;
} relay_addr;

/* The forwarding decision for packets received on one leg (what a BPF map value would hold). */
struct fwd_entry {
  uint32_t peer;          /* slot of the leg the packets go to */
  relay_addr remote_rtp;  /* where this leg's endpoint receives RTP (SDP, then latched) */
  relay_addr remote_rtcp; /* where it receives RTCP (RFC 3605 a=rtcp, default RTP + 1) */
  uint8_t has_remote_rtp;
  uint8_t has_remote_rtcp;
  uint8_t latched_rtp; /* RFC 4961 symmetric RTP: remote learned from received packets */
  uint8_t latched_rtcp;
  uint8_t strict;   /* once latched, packets from any other source are dropped */
  uint8_t rtcp_mux; /* RFC 5761: RTCP on the RTP port */
  uint8_t forward;  /* the endpoint may send (RFC 3264 direction): forward what it sends */
  uint8_t udptl;    /* T.38 over UDPTL: no RTP parsing, datagrams forwarded untouched */
  uint8_t te_pt;    /* RFC 4733 telephone-event payload type on this leg, RELAY_PT_NONE if none */
  uint32_t clock_rate;
  uint8_t pt_out[128]; /* payload type rewrite for packets from this leg to its peer */
};

/* RFC 3550 §A.1 per-source state and the counters of what one leg receives. */
struct stream_stats {
  uint64_t packets; /* RTP (or UDPTL) packets accepted */
  uint64_t bytes;
  uint64_t rtcp_packets;
  uint64_t dropped; /* wrong source (strict), direction, malformed, no remote */
  uint64_t forwarded;
  uint64_t relatches; /* source changes followed (non-strict) */
  uint64_t last_ns;   /* engine clock of the last accepted packet, 0 = none */
  uint32_t ssrc;
  uint16_t max_seq;
  uint8_t have_source;
  uint8_t have_transit;
  uint32_t cycles;
  uint32_t base_seq;
  uint32_t bad_seq;
  uint32_t probation;
  uint32_t received;
  int32_t transit;
  uint32_t jitter_q4; /* RFC 3550 §A.8 integer jitter, timestamp units × 16 */
  /* Far end (RFC 3550 §6.4.1): the first report block of the last SR/RR this leg's endpoint sent. */
  uint32_t fe_reports;
  uint32_t fe_fraction;
  int32_t fe_lost;
  uint32_t fe_jitter;
  /* RFC 4733 state: the event being received, reported once when its end bit arrives. */
  uint32_t te_ts;
  uint8_t te_reported;
  uint8_t te_seen;
};

enum leg_state { LEG_FREE = 0, LEG_ACTIVE = 1 };

struct leg {
  uint32_t state;
  uint32_t gen; /* bumped when the slot is freed: stale completions are recognised */
  int fd_rtp;
  int fd_rtcp;
  struct fwd_entry fwd;
  struct stream_stats st;
};

/* Commands from JavaScript, applied by the engine thread between batches. */
enum cmd_op { CMD_ADD = 1, CMD_SET = 2, CMD_DEL = 3, CMD_STOP = 4, CMD_RESET_STATS = 5 };

struct cmd {
  uint32_t op;
  uint32_t slot;
  int fd_rtp;
  int fd_rtcp;
  uint32_t keep_remote; /* CMD_SET: keep the current (latched) remotes */
  struct fwd_entry fwd;
};

/* Events from the engine to JavaScript (drained in batches). */
enum event_type { EV_DTMF = 1 };

struct relay_event {
  uint32_t type;
  uint32_t slot;
  uint32_t code;
  uint32_t volume;
  uint32_t duration; /* timestamp units */
  uint32_t clock_rate;
};

#define CMD_RING 4096
#define EV_RING 4096

enum backend_kind { BACKEND_URING = 1, BACKEND_EPOLL = 2 };

struct engine {
  uint32_t max_legs;
  struct leg *legs;
  uint64_t start_ns;
  int wake_fd; /* eventfd: JavaScript writes after queueing commands */
  int backend;
  int requested; /* 0 auto, BACKEND_URING, BACKEND_EPOLL */
  uint32_t coalesce_us; /* io_uring: wait this long after a first completion for more (0: none) */
  void *be;      /* backend state */
  pthread_t thread;
  int running;
  /* command ring (JavaScript → engine), rare: a mutex is enough */
  pthread_mutex_t cmd_mu;
  struct cmd *cmds;
  uint32_t cmd_head, cmd_tail;
  volatile uint32_t cmd_pending;
  uint64_t cmd_applied; /* commands taken off the ring and applied (JavaScript waits on it) */
  /* event ring (engine → JavaScript); when full, events are counted and dropped */
  pthread_mutex_t ev_mu;
  struct relay_event *evs;
  uint32_t ev_head, ev_tail;
  uint64_t ev_dropped;
  /* start-up handshake */
  pthread_mutex_t init_mu;
  pthread_cond_t init_cv;
  int init_done;
  int init_err;
  /* global counters */
  uint64_t loops;
  uint64_t send_errors;
  uint64_t recv_errors;
  uint64_t enters;
};

/* A decision to send: the packet goes out of `fd` to `dst`. */
struct fwd_out {
  int fd;
  const relay_addr *dst;
  socklen_t dst_len;
};

uint64_t relay_now_ns(void);
socklen_t relay_addr_len(const relay_addr *a);

/* Packet path (packet.c). Returns 1 when the (possibly rewritten) packet is to be sent per `out`. */
int relay_handle(struct engine *e, struct leg *l, int is_rtcp_socket, const relay_addr *src, uint8_t *pkt,
                 uint32_t len, uint64_t now_ns, struct fwd_out *out);

/* RFC 3550 statistics (stats.c), also used by the test replay. */
void stats_reset(struct stream_stats *s);
void stats_rtp(struct stream_stats *s, uint16_t seq, uint32_t ssrc, uint32_t ts, uint32_t arrival_ts);
void stats_rtcp(struct stream_stats *s, const uint8_t *pkt, uint32_t len);

/* Engine (engine.c). */
int engine_start(struct engine *e);
void engine_apply_commands(struct engine *e, void (*on_add)(struct engine *, uint32_t),
                           void (*on_del)(struct engine *, uint32_t, int, int));
int engine_push_cmd(struct engine *e, const struct cmd *c);
void engine_push_event(struct engine *e, const struct relay_event *ev);

/* Backends. */
int uring_init(struct engine *e);
void uring_run(struct engine *e);
void uring_free(struct engine *e);
int epoll_init(struct engine *e);
void epoll_run(struct engine *e);
void epoll_free(struct engine *e);

/* user_data / epoll data: kind in bits 0-1, slot (or buffer id) in bits 2-33, generation above. */
enum ud_kind { UD_RTP = 0, UD_RTCP = 1, UD_SEND = 2, UD_CTL = 3 };
static inline uint64_t ud_make(uint32_t kind, uint32_t slot, uint32_t gen) {
  return (uint64_t)kind | ((uint64_t)slot << 2) | ((uint64_t)(gen & 0x3fffffffu) << 34);
}
static inline uint32_t ud_kind(uint64_t u) { return (uint32_t)(u & 3); }
static inline uint32_t ud_slot(uint64_t u) { return (uint32_t)((u >> 2) & 0xffffffffu); }
static inline uint32_t ud_gen(uint64_t u) { return (uint32_t)(u >> 34); }

#endif
