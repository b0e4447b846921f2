/*
 * io_uring backend. Every leg socket has one multishot recvmsg that draws buffers from a single
 * provided-buffer ring; a received packet is sent from the buffer it arrived in (no copy). All sends
 * and re-arms of a loop iteration go to the kernel in the same io_uring_enter that waits for the next
 * completions: one syscall per batch.
 *
 * Sends are fire-and-forget, as UDP is: `send` with the destination address (sendto; `sendmsg` on
 * kernels before that), MSG_DONTWAIT so the kernel never parks one to retry later (a full socket
 * buffer is a dropped datagram, counted, as for any UDP sender), and IOSQE_CQE_SKIP_SUCCESS so a
 * successful send posts no completion at all. A non-blocking send is issued inline while the enter
 * submits it, and the payload is copied into the kernel's buffer there, so the packet's buffer goes
 * back to the ring as soon as the kernel has consumed its submission entry (the SQ head passed it).
 */
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "relay.h"

#define NBUFS 8192 /* power of two */
#define BUFSZ 2048 /* recvmsg_out + name + payload; larger datagrams are truncated and dropped */
#define BGID 0
#define SQ_ENTRIES 4096
#define CQ_ENTRIES 32768
/* Interrupt coalescing: once a completion is there, wait up to engine.coalesce_us for COALESCE_NR of
 * them. A wake-up costs far more than a packet on a VM (an IPI and a scheduler round trip); a fraction
 * of a millisecond is small against a 20 ms packet interval and any jitter buffer. Successful sends
 * post no completion, so these are received packets (and the odd control completion). */
#define COALESCE_NR 16
#ifndef IORING_FEAT_MIN_TIMEOUT
#define IORING_FEAT_MIN_TIMEOUT (1U << 15) /* Linux 6.13: min_wait_usec in io_uring_getevents_arg */
#endif

struct send_slot {
  struct msghdr mh; /* sendmsg fallback only */
  struct iovec iov;
  relay_addr dst;
};

/* A buffer lent to a queued send, returned to the ring once the kernel consumed SQ entry `seq`. */
struct lent {
  uint32_t seq;
  uint32_t bid;
};

struct uring_be {
  struct io_uring ring;
  struct io_uring_buf_ring *br;
  size_t br_size;
  uint8_t *bufs;
  struct send_slot *slots; /* one per buffer: a buffer is in at most one send */
  struct msghdr recv_mh;   /* template for multishot recvmsg: name length only */
  uint64_t wake_buf;
  unsigned recycled;       /* buffers added to the ring since the last advance */
  uint32_t *rearm;         /* slots × 2 + kind whose multishot ended and must be re-armed */
  uint32_t nrearm;
  uint32_t rearm_cap;
  struct lent *lent; /* FIFO of buffers in queued sends (at most NBUFS) */
  uint32_t lent_head, lent_tail;
  int min_wait; /* the kernel supports min_wait_usec */
  int sendto;   /* IORING_OP_SEND takes a destination address (else sendmsg) */
  int skip_cqe; /* IOSQE_CQE_SKIP_SUCCESS (5.17): successful sends post no completion */
  int quiet;    /* the last wait brought nothing: the next one blocks without coalescing */

};

/* What io_uring_submit does before entering (liburing's __io_uring_flush_sq): publish the new tail. */
static unsigned flush_sq(struct io_uring *ring) {
  struct io_uring_sq *sq = &ring->sq;
  unsigned tail = sq->sqe_tail;
  if (sq->sqe_head != tail) {
    sq->sqe_head = tail;
    io_uring_smp_store_release(sq->ktail, tail);
  }
  return tail - io_uring_smp_load_acquire(sq->khead);
}

/*
 * One io_uring_enter: submit everything queued and wait for completions. With min_wait (Linux 6.13+)
 * the kernel returns after COALESCE_NR completions or COALESCE_US after the first one, whichever comes
 * first; without it, as soon as one is there.
 */
static void enter(struct engine *e, struct uring_be *b) {
  /* With no completion at all, a min_wait enter returns ETIME after min_wait_usec (seen on 6.18): an idle
   * relay would wake thousands of times a second. After a wait that brought nothing, block plainly until
   * the next completion; coalescing resumes with the traffic. */
  if (!b->min_wait || e->coalesce_us == 0 || b->quiet) {
    io_uring_submit_and_wait(&b->ring, 1);
    return;
  }
  unsigned to_submit = flush_sq(&b->ring);
  struct io_uring_getevents_arg arg;
  memset(&arg, 0, sizeof arg);
  arg.sigmask_sz = _NSIG / 8;
  arg.pad = e->coalesce_us; /* min_wait_usec */
  syscall(__NR_io_uring_enter, b->ring.ring_fd, to_submit, COALESCE_NR,
          IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof arg);
}

static struct io_uring_sqe *sqe_get(struct uring_be *b) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
  if (!sqe) {
    /* Submission queue full: hand what is queued to the kernel and continue. */
    io_uring_submit(&b->ring);
    sqe = io_uring_get_sqe(&b->ring);
  }
  return sqe;
}

static void recycle(struct uring_be *b, unsigned bid) {
  io_uring_buf_ring_add(b->br, b->bufs + (size_t)bid * BUFSZ, BUFSZ, (unsigned short)bid,
                        io_uring_buf_ring_mask(NBUFS), (int)b->recycled);
  b->recycled++;
}

/* Buffers of sends whose submission entries the kernel has consumed (and so sent) go back to the ring. */
static void return_lent(struct uring_be *b) {
  /* The kernel's SQ head and our SQ tail count entries from the ring's start modulo 2^32. */
  uint32_t head = io_uring_smp_load_acquire(b->ring.sq.khead);
  while (b->lent_head != b->lent_tail) {
    struct lent *x = &b->lent[b->lent_head % NBUFS];
    if ((int32_t)(head - x->seq) <= 0) break;
    recycle(b, x->bid);
    b->lent_head++;
  }
}

static void arm_recv(struct engine *e, struct uring_be *b, uint32_t slot, uint32_t kind) {
  struct leg *l = &e->legs[slot];
  struct io_uring_sqe *sqe = sqe_get(b);
  if (!sqe) return;
  io_uring_prep_recvmsg_multishot(sqe, kind == UD_RTP ? l->fd_rtp : l->fd_rtcp, &b->recv_mh, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = BGID;
  io_uring_sqe_set_data64(sqe, ud_make(kind, slot, l->gen));
}

static void arm_wake(struct engine *e, struct uring_be *b) {
  struct io_uring_sqe *sqe = sqe_get(b);
  if (!sqe) return;
  io_uring_prep_read(sqe, e->wake_fd, &b->wake_buf, sizeof b->wake_buf, 0);
  io_uring_sqe_set_data64(sqe, ud_make(UD_CTL, 0, 0));
}

static void on_add(struct engine *e, uint32_t slot) {
  struct uring_be *b = e->be;
  arm_recv(e, b, slot, UD_RTP);
  arm_recv(e, b, slot, UD_RTCP);
}

static void on_del(struct engine *e, uint32_t slot, int fd_rtp, int fd_rtcp) {
  struct uring_be *b = e->be;
  uint32_t old_gen = e->legs[slot].gen - 1;
  for (uint32_t kind = UD_RTP; kind <= UD_RTCP; kind++) {
    struct io_uring_sqe *sqe = sqe_get(b);
    if (!sqe) continue;
    io_uring_prep_cancel64(sqe, ud_make(kind, slot, old_gen), 0);
    /* The cancel's own completion names no slot: kind CTL with slot 1 is ignored. */
    io_uring_sqe_set_data64(sqe, ud_make(UD_CTL, 1, 0));
  }
  /* The pending requests hold their own file references until cancelled; the descriptors can go now. */
  close(fd_rtp);
  close(fd_rtcp);
}

/*
 * Does IORING_OP_SEND take a destination address here (sendto; newer kernels)? One datagram to a
 * socket of our own on 127.0.0.1 answers it; older kernels refuse the address with EINVAL.
 */
static int probe_sendto(struct uring_be *b) {
  int ok = 0;
  int rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof a;
  if (rx >= 0 && tx >= 0 && bind(rx, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(rx, (struct sockaddr *)&a, &alen) == 0) {
    static const char probe[1] = {0};
    struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
    if (sqe) {
      io_uring_prep_send(sqe, tx, probe, sizeof probe, MSG_DONTWAIT);
      io_uring_prep_send_set_addr(sqe, (struct sockaddr *)&a, (uint16_t)sizeof a);
      io_uring_sqe_set_data64(sqe, ud_make(UD_CTL, 2, 0));
      struct io_uring_cqe *cqe;
      if (io_uring_submit_and_wait(&b->ring, 1) >= 0 && io_uring_peek_cqe(&b->ring, &cqe) == 0) {
        ok = cqe->res == (int)sizeof probe;
        io_uring_cqe_seen(&b->ring, cqe);
      }
    }
  }
  if (rx >= 0) close(rx);
  if (tx >= 0) close(tx);
  return ok;
}

int uring_init(struct engine *e) {
  struct uring_be *b = calloc(1, sizeof *b);
  if (!b) return -ENOMEM;
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  /* SUBMIT_ALL (5.18): an entry that fails does not leave the ones behind it unsubmitted, so every
   * queued send has been tried once its entry is consumed (see return_lent). */
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER |
            IORING_SETUP_DEFER_TASKRUN;
  p.cq_entries = CQ_ENTRIES;
  int rc = io_uring_queue_init_params(SQ_ENTRIES, &b->ring, &p);
  if (rc == -EINVAL) {
    /* Kernels before 6.1 lack DEFER_TASKRUN: cooperative task running is the next best. */
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN;
    p.cq_entries = CQ_ENTRIES;
    rc = io_uring_queue_init_params(SQ_ENTRIES, &b->ring, &p);
  }
  if (rc < 0) {
    free(b);
    return rc;
  }
  b->min_wait = (p.features & IORING_FEAT_MIN_TIMEOUT) && (p.features & IORING_FEAT_EXT_ARG);
  b->skip_cqe = (p.features & IORING_FEAT_CQE_SKIP) != 0;
  b->br_size = NBUFS * sizeof(struct io_uring_buf);
  void *mem = mmap(NULL, b->br_size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  b->bufs = malloc((size_t)NBUFS * BUFSZ);
  b->slots = calloc(NBUFS, sizeof *b->slots);
  b->rearm_cap = e->max_legs * 2;
  b->rearm = calloc(b->rearm_cap, sizeof *b->rearm);
  b->lent = calloc(NBUFS, sizeof *b->lent);
  if (mem == MAP_FAILED || !b->bufs || !b->slots || !b->rearm || !b->lent) {
    if (mem != MAP_FAILED) munmap(mem, b->br_size);
    io_uring_queue_exit(&b->ring);
    free(b->bufs);
    free(b->slots);
    free(b->rearm);
    free(b->lent);
    free(b);
    return -ENOMEM;
  }
  b->br = mem;
  io_uring_buf_ring_init(b->br);
  struct io_uring_buf_reg reg;
  memset(&reg, 0, sizeof reg);
  reg.ring_addr = (unsigned long)b->br;
  reg.ring_entries = NBUFS;
  reg.bgid = BGID;
  rc = io_uring_register_buf_ring(&b->ring, &reg, 0);
  if (rc < 0) {
    /* Provided-buffer rings need Linux 5.19; fall back to epoll below that. */
    munmap(mem, b->br_size);
    io_uring_queue_exit(&b->ring);
    free(b->bufs);
    free(b->slots);
    free(b->rearm);
    free(b->lent);
    free(b);
    return rc;
  }
  for (unsigned i = 0; i < NBUFS; i++) {
    io_uring_buf_ring_add(b->br, b->bufs + (size_t)i * BUFSZ, BUFSZ, (unsigned short)i,
                          io_uring_buf_ring_mask(NBUFS), (int)i);
  }
  io_uring_buf_ring_advance(b->br, NBUFS);
  for (unsigned i = 0; i < NBUFS; i++) {
    struct send_slot *s = &b->slots[i];
    s->mh.msg_iov = &s->iov;
    s->mh.msg_iovlen = 1;
    s->mh.msg_name = &s->dst;
  }
  b->recv_mh.msg_namelen = sizeof(struct sockaddr_in6);
  b->sendto = probe_sendto(b);
  e->be = b;
  return 0;
}

void uring_free(struct engine *e) {
  struct uring_be *b = e->be;
  if (!b) return;
  io_uring_queue_exit(&b->ring);
  munmap(b->br, b->br_size);
  free(b->bufs);
  free(b->slots);
  free(b->rearm);
  free(b->lent);
  free(b);
  e->be = NULL;
}

void uring_run(struct engine *e) {
  struct uring_be *b = e->be;

  arm_wake(e, b);
  while (e->running) {
    enter(e, b);
    e->enters++;
    e->loops++;
    return_lent(b);
    /* Commands first: no send queued below may name a descriptor closed by a command. */
    engine_apply_commands(e, on_add, on_del);
    uint64_t now = relay_now_ns();
    struct io_uring_cqe *cqe;
    unsigned head;
    unsigned seen = 0;
    io_uring_for_each_cqe(&b->ring, head, cqe) {
      seen++;
      uint64_t ud = io_uring_cqe_get_data64(cqe);
      uint32_t kind = ud_kind(ud);
      if (kind == UD_SEND) {
        /* Only failures post a completion (with CQE skipping); the buffer went back with return_lent. */
        if (cqe->res < 0) e->send_errors++;
        continue;
      }
      if (kind == UD_CTL) {
        if (ud_slot(ud) == 0) arm_wake(e, b);
        continue;
      }
      uint32_t slot = ud_slot(ud);
      struct leg *l = slot < e->max_legs ? &e->legs[slot] : NULL;
      int alive = l && l->state == LEG_ACTIVE && (l->gen & 0x3fffffffu) == ud_gen(ud);
      int has_buf = (cqe->flags & IORING_CQE_F_BUFFER) != 0;
      unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
      if (!(cqe->flags & IORING_CQE_F_MORE) && alive && b->nrearm < b->rearm_cap) {
        b->rearm[b->nrearm++] = slot * 2 + kind;
      }
      if (cqe->res < 0) {
        if (cqe->res != -ENOBUFS && cqe->res != -ECANCELED) e->recv_errors++;
        if (has_buf) recycle(b, bid);
        continue;
      }
      if (!has_buf) continue;
      if (!alive) {
        recycle(b, bid);
        continue;
      }
      uint8_t *buf = b->bufs + (size_t)bid * BUFSZ;
      struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(buf, cqe->res, &b->recv_mh);
      if (!o || (o->flags & MSG_TRUNC)) {
        l->st.dropped++;
        recycle(b, bid);
        continue;
      }
      uint8_t *payload = io_uring_recvmsg_payload(o, &b->recv_mh);
      uint32_t plen = io_uring_recvmsg_payload_length(o, cqe->res, &b->recv_mh);
      const relay_addr *src = io_uring_recvmsg_name(o);
      struct fwd_out out;
      if (!relay_handle(e, l, kind == UD_RTCP, src, payload, plen, now, &out)) {
        recycle(b, bid);
        continue;
      }
      struct io_uring_sqe *sqe = sqe_get(b);
      if (!sqe) {
        l->st.dropped++;
        recycle(b, bid);
        continue;
      }
      /* The address is read when the entry is submitted: it lives in the buffer's slot until then. */
      struct send_slot *s = &b->slots[bid];
      memcpy(&s->dst, out.dst, out.dst_len);
      if (b->sendto) {
        io_uring_prep_send(sqe, out.fd, payload, plen, MSG_DONTWAIT);
        io_uring_prep_send_set_addr(sqe, &s->dst.sa, (uint16_t)out.dst_len);
      } else {
        s->iov.iov_base = payload;
        s->iov.iov_len = plen;
        s->mh.msg_namelen = out.dst_len;
        io_uring_prep_sendmsg(sqe, out.fd, &s->mh, MSG_DONTWAIT);
      }
      if (b->skip_cqe) sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
      io_uring_sqe_set_data64(sqe, ud_make(UD_SEND, bid, 0));
      struct lent *x = &b->lent[b->lent_tail % NBUFS];
      x->seq = b->ring.sq.sqe_tail - 1;
      x->bid = bid;
      b->lent_tail++;
    }
    io_uring_cq_advance(&b->ring, seen);
    b->quiet = seen == 0;
    if (b->recycled) {
      io_uring_buf_ring_advance(b->br, b->recycled);
      b->recycled = 0;
    }
    /* Multishot receives that ended (buffers ran out, or an error) start again now that buffers are back. */
    for (uint32_t i = 0; i < b->nrearm; i++) {
      uint32_t slot = b->rearm[i] / 2;
      if (e->legs[slot].state == LEG_ACTIVE) arm_recv(e, b, slot, b->rearm[i] % 2);
    }
    b->nrearm = 0;
  }
}
