/*
 * epoll backend, for kernels or sandboxes without io_uring (or when forced by configuration): readiness
 * from epoll, then recvmmsg on each ready socket and sendmmsg per run of packets bound for the same
 * socket. Costs about two syscalls per packet at telephony rates (a socket rarely holds more than one).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "relay.h"

#define BATCH 64
#define BUFSZ 2048
#define MAX_EVENTS 512

struct epoll_be {
  int epfd;
  struct epoll_event evs[MAX_EVENTS];
  struct mmsghdr in[BATCH];
  struct iovec in_iov[BATCH];
  relay_addr in_name[BATCH];
  uint8_t *bufs;
  struct mmsghdr out[BATCH];
  struct iovec out_iov[BATCH];
  relay_addr out_name[BATCH];
  int out_fd[BATCH];
};

static void watch(struct engine *e, struct epoll_be *b, uint32_t slot, uint32_t kind) {
  struct leg *l = &e->legs[slot];
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ud_make(kind, slot, l->gen)};
  epoll_ctl(b->epfd, EPOLL_CTL_ADD, kind == UD_RTP ? l->fd_rtp : l->fd_rtcp, &ev);
}

static void on_add(struct engine *e, uint32_t slot) {
  struct epoll_be *b = e->be;
  watch(e, b, slot, UD_RTP);
  watch(e, b, slot, UD_RTCP);
}

static void on_del(struct engine *e, uint32_t slot, int fd_rtp, int fd_rtcp) {
  struct epoll_be *b = e->be;
  (void)slot;
  epoll_ctl(b->epfd, EPOLL_CTL_DEL, fd_rtp, NULL);
  epoll_ctl(b->epfd, EPOLL_CTL_DEL, fd_rtcp, NULL);
  close(fd_rtp);
  close(fd_rtcp);
}

int epoll_init(struct engine *e) {
  struct epoll_be *b = calloc(1, sizeof *b);
  if (!b) return -ENOMEM;
  b->bufs = malloc((size_t)BATCH * BUFSZ);
  b->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (!b->bufs || b->epfd < 0) {
    int err = b->epfd < 0 ? -errno : -ENOMEM;
    free(b->bufs);
    free(b);
    return err;
  }
  for (int i = 0; i < BATCH; i++) {
    b->in_iov[i].iov_base = b->bufs + (size_t)i * BUFSZ;
    b->in_iov[i].iov_len = BUFSZ;
    b->in[i].msg_hdr.msg_iov = &b->in_iov[i];
    b->in[i].msg_hdr.msg_iovlen = 1;
    b->in[i].msg_hdr.msg_name = &b->in_name[i];
    b->out[i].msg_hdr.msg_iov = &b->out_iov[i];
    b->out[i].msg_hdr.msg_iovlen = 1;
    b->out[i].msg_hdr.msg_name = &b->out_name[i];
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ud_make(UD_CTL, 0, 0)};
  epoll_ctl(b->epfd, EPOLL_CTL_ADD, e->wake_fd, &ev);
  e->be = b;
  return 0;
}

void epoll_free(struct engine *e) {
  struct epoll_be *b = e->be;
  if (!b) return;
  close(b->epfd);
  free(b->bufs);
  free(b);
  e->be = NULL;
}

/* Sends queued packets: one sendmmsg per run of consecutive packets leaving the same socket. */
static void flush(struct engine *e, struct epoll_be *b, int n) {
  int i = 0;
  while (i < n) {
    int j = i + 1;
    while (j < n && b->out_fd[j] == b->out_fd[i]) j++;
    int off = i;
    while (off < j) {
      int sent = sendmmsg(b->out_fd[i], &b->out[off], (unsigned)(j - off), 0);
      if (sent <= 0) {
        e->send_errors += (uint64_t)(j - off);
        break;
      }
      off += sent;
    }
    i = j;
  }
}

void epoll_run(struct engine *e) {
  struct epoll_be *b = e->be;
  while (e->running) {
    int n = epoll_wait(b->epfd, b->evs, MAX_EVENTS, -1);
    e->loops++;
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    engine_apply_commands(e, on_add, on_del);
    for (int k = 0; k < n; k++) {
      uint64_t ud = b->evs[k].data.u64;
      uint32_t kind = ud_kind(ud);
      if (kind == UD_CTL) {
        uint64_t v;
        ssize_t r = read(e->wake_fd, &v, sizeof v);
        (void)r;
        continue;
      }
      uint32_t slot = ud_slot(ud);
      if (slot >= e->max_legs) continue;
      struct leg *l = &e->legs[slot];
      /* A leg deleted by the commands above may still appear in this batch of readiness events. */
      if (l->state != LEG_ACTIVE || (l->gen & 0x3fffffffu) != ud_gen(ud)) continue;
      int fd = kind == UD_RTP ? l->fd_rtp : l->fd_rtcp;
      for (int i = 0; i < BATCH; i++) b->in[i].msg_hdr.msg_namelen = sizeof(relay_addr);
      int got = recvmmsg(fd, b->in, BATCH, MSG_DONTWAIT, NULL);
      if (got <= 0) {
        if (got < 0 && errno != EAGAIN) e->recv_errors++;
        continue;
      }
      uint64_t now = relay_now_ns();
      int q = 0;
      for (int i = 0; i < got; i++) {
        if (b->in[i].msg_hdr.msg_flags & MSG_TRUNC) {
          l->st.dropped++;
          continue;
        }
        uint8_t *pkt = b->in_iov[i].iov_base;
        struct fwd_out out;
        if (!relay_handle(e, l, kind == UD_RTCP, &b->in_name[i], pkt, b->in[i].msg_len, now, &out)) continue;
        b->out_iov[q].iov_base = pkt;
        b->out_iov[q].iov_len = b->in[i].msg_len;
        memcpy(&b->out_name[q], out.dst, out.dst_len);
        b->out[q].msg_hdr.msg_namelen = out.dst_len;
        b->out_fd[q] = out.fd;
        q++;
      }
      if (q) flush(e, b, q);
    }
  }
}
