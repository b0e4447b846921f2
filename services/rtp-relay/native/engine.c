/*
 * The engine thread: picks a backend (io_uring, or epoll where io_uring is unavailable or the caller
 * forces it), then runs it until a stop command. Commands from JavaScript go through a small ring and
 * an eventfd wake-up; events (RFC 4733 digits) come back through another ring drained in batches.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "relay.h"

int engine_push_cmd(struct engine *e, const struct cmd *c) {
  pthread_mutex_lock(&e->cmd_mu);
  if (e->cmd_tail - e->cmd_head >= CMD_RING) {
    pthread_mutex_unlock(&e->cmd_mu);
    return -EAGAIN;
  }
  e->cmds[e->cmd_tail % CMD_RING] = *c;
  e->cmd_tail++;
  __atomic_store_n(&e->cmd_pending, 1, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&e->cmd_mu);
  uint64_t one = 1;
  ssize_t w = write(e->wake_fd, &one, sizeof one);
  (void)w; /* EAGAIN only when the counter is saturated: the engine is already woken */
  return 0;
}

void engine_push_event(struct engine *e, const struct relay_event *ev) {
  pthread_mutex_lock(&e->ev_mu);
  if (e->ev_tail - e->ev_head >= EV_RING) {
    e->ev_dropped++;
  } else {
    e->evs[e->ev_tail % EV_RING] = *ev;
    e->ev_tail++;
  }
  pthread_mutex_unlock(&e->ev_mu);
}

/*
 * Applies queued commands. Called by a backend at the top of its loop, before it queues any send, so a
 * closed descriptor is never named by a send submitted later (its number may be reused at once).
 */
void engine_apply_commands(struct engine *e, void (*on_add)(struct engine *, uint32_t),
                           void (*on_del)(struct engine *, uint32_t, int, int)) {
  if (!__atomic_load_n(&e->cmd_pending, __ATOMIC_ACQUIRE)) return;
  struct cmd batch[64];
  for (;;) {
    uint32_t n = 0;
    pthread_mutex_lock(&e->cmd_mu);
    while (n < 64 && e->cmd_head != e->cmd_tail) {
      batch[n++] = e->cmds[e->cmd_head % CMD_RING];
      e->cmd_head++;
    }
    if (e->cmd_head == e->cmd_tail) __atomic_store_n(&e->cmd_pending, 0, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&e->cmd_mu);
    if (n == 0) return;
    for (uint32_t i = 0; i < n; i++) {
      struct cmd *c = &batch[i];
      if (c->op == CMD_STOP) {
        e->running = 0;
        continue;
      }
      if (c->slot >= e->max_legs) continue;
      struct leg *l = &e->legs[c->slot];
      switch (c->op) {
        case CMD_ADD:
          if (l->state != LEG_FREE) break;
          memset(&l->st, 0, sizeof l->st);
          l->fwd = c->fwd;
          l->fd_rtp = c->fd_rtp;
          l->fd_rtcp = c->fd_rtcp;
          l->state = LEG_ACTIVE;
          on_add(e, c->slot);
          break;
        case CMD_SET: {
          if (l->state != LEG_ACTIVE) break;
          struct fwd_entry *f = &l->fwd;
          struct fwd_entry n2 = c->fwd;
          /* A new remote from SDP restarts latching; an unchanged one keeps what was latched. */
          if (c->keep_remote) {
            n2.remote_rtp = f->remote_rtp;
            n2.remote_rtcp = f->remote_rtcp;
            n2.has_remote_rtp = f->has_remote_rtp;
            n2.has_remote_rtcp = f->has_remote_rtcp;
            n2.latched_rtp = f->latched_rtp;
            n2.latched_rtcp = f->latched_rtcp;
          }
          if (n2.udptl != f->udptl) memset(&l->st, 0, sizeof l->st);
          *f = n2;
          break;
        }
        case CMD_RESET_STATS:
          if (l->state == LEG_ACTIVE) memset(&l->st, 0, sizeof l->st);
          break;
        case CMD_DEL: {
          if (l->state != LEG_ACTIVE) break;
          int fr = l->fd_rtp, fc = l->fd_rtcp;
          l->state = LEG_FREE;
          l->gen++;
          l->fd_rtp = -1;
          l->fd_rtcp = -1;
          on_del(e, c->slot, fr, fc);
          break;
        }
        default:
          break;
      }
    }
    __atomic_add_fetch(&e->cmd_applied, n, __ATOMIC_RELEASE);
  }
}

static void *engine_main(void *arg) {
  struct engine *e = arg;
  int err = -ENOSYS;
  if (e->requested != BACKEND_EPOLL) {
    err = uring_init(e);
    if (err == 0) e->backend = BACKEND_URING;
  }
  if (e->backend == 0 && e->requested != BACKEND_URING) {
    err = epoll_init(e);
    if (err == 0) e->backend = BACKEND_EPOLL;
  }
  pthread_mutex_lock(&e->init_mu);
  e->init_done = 1;
  e->init_err = e->backend ? 0 : err;
  pthread_cond_signal(&e->init_cv);
  pthread_mutex_unlock(&e->init_mu);
  if (!e->backend) return NULL;
  if (e->backend == BACKEND_URING) {
    uring_run(e);
    uring_free(e);
  } else {
    epoll_run(e);
    epoll_free(e);
  }
  /* Close whatever legs remain. */
  for (uint32_t i = 0; i < e->max_legs; i++) {
    struct leg *l = &e->legs[i];
    if (l->state == LEG_ACTIVE) {
      close(l->fd_rtp);
      close(l->fd_rtcp);
      l->state = LEG_FREE;
    }
  }
  return NULL;
}

int engine_start(struct engine *e) {
  e->legs = calloc(e->max_legs, sizeof *e->legs);
  e->cmds = calloc(CMD_RING, sizeof *e->cmds);
  e->evs = calloc(EV_RING, sizeof *e->evs);
  if (!e->legs || !e->cmds || !e->evs) return -ENOMEM;
  for (uint32_t i = 0; i < e->max_legs; i++) {
    e->legs[i].fd_rtp = -1;
    e->legs[i].fd_rtcp = -1;
  }
  e->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (e->wake_fd < 0) return -errno;
  pthread_mutex_init(&e->cmd_mu, NULL);
  pthread_mutex_init(&e->ev_mu, NULL);
  pthread_mutex_init(&e->init_mu, NULL);
  pthread_cond_init(&e->init_cv, NULL);
  e->start_ns = relay_now_ns();
  e->running = 1;
  int rc = pthread_create(&e->thread, NULL, engine_main, e);
  if (rc != 0) return -rc;
  /* Named so operators (and the benchmark) can pin or prioritise the forwarding thread apart from JS. */
  pthread_setname_np(e->thread, "rtp-fwd");
  pthread_mutex_lock(&e->init_mu);
  while (!e->init_done) pthread_cond_wait(&e->init_cv, &e->init_mu);
  pthread_mutex_unlock(&e->init_mu);
  if (e->init_err != 0) {
    pthread_join(e->thread, NULL);
    return e->init_err;
  }
  return 0;
}
