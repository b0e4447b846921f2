/*
 * RTP load generator for `npm run bench:relay`: emulates N concurrent G.711 calls through a relay
 * (2 legs × 50 packets/s each way, 172-byte RTP packets, phases spread evenly over the 20 ms frame),
 * from one UDP socket on 127.0.0.1, batched with sendmmsg/recvmmsg. Each payload carries its stream,
 * sequence and send time (CLOCK_REALTIME); the receive time is the kernel's (SO_TIMESTAMPNS), so the
 * generator's own scheduling does not count as relay latency. Bounded in time; loopback only.
 *
 * usage: loadgen <ports-file> <gen-port> <warmup-ms> <measure-ms> <drain-ms>
 *   ports-file: one line per call, "<relay port for leg a> <relay port for leg b>"
 * prints "MEASURE_START" and "MEASURE_END" as they happen, then one JSON line of results.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PKT 172
#define FRAME_NS 20000000ull /* 20 ms: 50 packets/s per stream */
#define BATCH 512
#define HIST_US 1000000 /* 1 µs buckets up to 1 s */
#define MAGIC 0x52544c47u

static uint64_t now_real(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}
static uint32_t get32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: %s ports-file gen-port warmup-ms measure-ms drain-ms\n", argv[0]);
    return 2;
  }
  FILE *f = fopen(argv[1], "r");
  if (!f) {
    perror("ports-file");
    return 2;
  }
  uint32_t cap = 1024, calls = 0;
  uint16_t *dst = malloc(cap * 2 * sizeof *dst);
  int pa, pb;
  while (fscanf(f, "%d %d", &pa, &pb) == 2) {
    if (calls == cap) {
      cap *= 2;
      dst = realloc(dst, cap * 2 * sizeof *dst);
    }
    dst[calls * 2] = (uint16_t)pa;
    dst[calls * 2 + 1] = (uint16_t)pb;
    calls++;
  }
  fclose(f);
  uint32_t streams = calls * 2;
  uint64_t warmup = strtoull(argv[3], NULL, 10) * 1000000ull;
  uint64_t measure = strtoull(argv[4], NULL, 10) * 1000000ull;
  uint64_t drain = strtoull(argv[5], NULL, 10) * 1000000ull;

  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  int one = 1, big = 64 << 20;
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  }
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
  struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
  me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&me, sizeof me) < 0) {
    perror("bind");
    return 2;
  }

  uint32_t *seq = calloc(streams, sizeof *seq);
  uint32_t *last_rx = calloc(streams, sizeof *last_rx);
  uint32_t *hist = calloc(HIST_US + 1, sizeof *hist);
  uint8_t *out = malloc((size_t)BATCH * PKT);
  struct mmsghdr *om = calloc(BATCH, sizeof *om);
  struct iovec *oiov = calloc(BATCH, sizeof *oiov);
  struct sockaddr_in *oaddr = calloc(BATCH, sizeof *oaddr);
  uint8_t *in = malloc((size_t)BATCH * 2048);
  struct mmsghdr *im = calloc(BATCH, sizeof *im);
  struct iovec *iiov = calloc(BATCH, sizeof *iiov);
  char *ctrl = calloc(BATCH, 64);
  for (int i = 0; i < BATCH; i++) {
    oiov[i].iov_base = out + (size_t)i * PKT;
    oiov[i].iov_len = PKT;
    om[i].msg_hdr.msg_iov = &oiov[i];
    om[i].msg_hdr.msg_iovlen = 1;
    om[i].msg_hdr.msg_name = &oaddr[i];
    om[i].msg_hdr.msg_namelen = sizeof oaddr[i];
    oaddr[i].sin_family = AF_INET;
    oaddr[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    iiov[i].iov_base = in + (size_t)i * 2048;
    iiov[i].iov_len = 2048;
    im[i].msg_hdr.msg_iov = &iiov[i];
    im[i].msg_hdr.msg_iovlen = 1;
  }

  uint64_t t0 = now_real() + 5000000ull; /* start 5 ms from now */
  uint64_t m_start = t0 + warmup, m_end = m_start + measure, stop_send = m_end, stop_all = m_end + drain;
  uint64_t k = 0; /* packets scheduled so far: stream k % streams, frame k / streams */
  uint64_t sent_window = 0, recv_window = 0, recv_total = 0, sent_total = 0, late = 0, reorder = 0;
  uint64_t max_lag = 0;
  int started = 0, ended = 0;
  for (;;) {
    uint64_t now = now_real();
    if (!started && now >= m_start) {
      started = 1;
      printf("MEASURE_START\n");
      fflush(stdout);
    }
    if (!ended && now >= m_end) {
      ended = 1;
      printf("MEASURE_END\n");
      fflush(stdout);
    }
    if (now >= stop_all) break;
    /* send everything due, in batches */
    for (;;) {
      int n = 0;
      while (n < BATCH) {
        uint64_t s = k % streams, frame = k / streams;
        uint64_t due = t0 + frame * FRAME_NS + s * FRAME_NS / streams;
        if (due > now || due >= stop_send) break;
        uint64_t lag = now - due;
        if (lag > max_lag && due >= m_start) max_lag = lag;
        if (lag > 1000000ull) late++;
        uint8_t *p = out + (size_t)n * PKT;
        uint32_t sq = seq[s]++;
        p[0] = 0x80;
        p[1] = 0; /* PCMU */
        p[2] = sq >> 8;
        p[3] = sq;
        put32(p + 4, sq * 160);
        put32(p + 8, (uint32_t)s + 1);
        put32(p + 12, MAGIC);
        put32(p + 16, (uint32_t)s);
        put32(p + 20, sq);
        uint64_t ts = now_real();
        put32(p + 24, (uint32_t)(ts >> 32));
        put32(p + 28, (uint32_t)ts);
        oaddr[n].sin_port = htons(dst[s]);
        if (due >= m_start && due < m_end) sent_window++;
        sent_total++;
        n++;
        k++;
      }
      if (n == 0) break;
      int off = 0;
      while (off < n) {
        int r = sendmmsg(fd, om + off, (unsigned)(n - off), 0);
        if (r <= 0) {
          if (errno == EAGAIN || errno == ENOBUFS) continue;
          break;
        }
        off += r;
      }
      if (n < BATCH) break;
    }
    /* drain what arrived */
    for (;;) {
      for (int i = 0; i < BATCH; i++) {
        im[i].msg_hdr.msg_control = ctrl + i * 64;
        im[i].msg_hdr.msg_controllen = 64;
      }
      int r = recvmmsg(fd, im, BATCH, MSG_DONTWAIT, NULL);
      if (r <= 0) break;
      for (int i = 0; i < r; i++) {
        const uint8_t *p = iiov[i].iov_base;
        if (im[i].msg_len < 32 || get32(p + 12) != MAGIC) continue;
        uint32_t s = get32(p + 16);
        if (s >= streams) continue;
        uint32_t sq = get32(p + 20);
        uint64_t tx = ((uint64_t)get32(p + 24) << 32) | get32(p + 28);
        uint64_t rx = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&im[i].msg_hdr); c; c = CMSG_NXTHDR(&im[i].msg_hdr, c)) {
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
            struct timespec t;
            memcpy(&t, CMSG_DATA(c), sizeof t);
            rx = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
          }
        }
        if (rx == 0) rx = now_real();
        recv_total++;
        if (sq + 1 < last_rx[s]) reorder++;
        last_rx[s] = sq + 1;
        /* in the window by its scheduled frame: frame = sq, due = t0 + sq·20ms + phase */
        uint64_t due = t0 + (uint64_t)sq * FRAME_NS + (uint64_t)s * FRAME_NS / streams;
        if (due >= m_start && due < m_end) {
          recv_window++;
          uint64_t us = rx > tx ? (rx - tx) / 1000 : 0;
          hist[us > HIST_US ? HIST_US : us]++;
        }
      }
      if (r < BATCH) break;
    }
    /* sleep until the next packet is due or something arrives */
    uint64_t s = k % streams, frame = k / streams;
    uint64_t due = t0 + frame * FRAME_NS + s * FRAME_NS / streams;
    uint64_t after = now_real();
    int64_t wait_ns = (int64_t)due - (int64_t)after;
    if (wait_ns > 200000) wait_ns = 200000; /* wake at least every 0.2 ms to drain */
    if (wait_ns > 0) {
      struct pollfd pfd = {.fd = fd, .events = POLLIN};
      struct timespec ts = {.tv_sec = 0, .tv_nsec = wait_ns};
      ppoll(&pfd, 1, &ts, NULL);
    }
  }
  uint64_t acc = 0, p50 = 0, p99 = 0, p999 = 0;
  int have50 = 0, have99 = 0, have999 = 0;
  for (uint64_t us = 0; us <= HIST_US; us++) {
    acc += hist[us];
    if (!have50 && acc * 2 >= recv_window && recv_window) p50 = us, have50 = 1;
    if (!have99 && acc * 100 >= recv_window * 99 && recv_window) p99 = us, have99 = 1;
    if (!have999 && acc * 1000 >= recv_window * 999 && recv_window) p999 = us, have999 = 1;
  }
  double loss = sent_window ? 1.0 - (double)recv_window / (double)sent_window : 1.0;
  if (loss < 0) loss = 0;
  printf(
      "{\"calls\":%u,\"sent\":%llu,\"received\":%llu,\"loss\":%.6f,\"p50Us\":%llu,\"p99Us\":%llu,\"p999Us\":%llu,"
      "\"maxLagUs\":%llu,\"late\":%llu,\"sentTotal\":%llu,\"receivedTotal\":%llu,\"reordered\":%llu}\n",
      calls, (unsigned long long)sent_window, (unsigned long long)recv_window, loss, (unsigned long long)p50,
      (unsigned long long)p99, (unsigned long long)p999, (unsigned long long)(max_lag / 1000),
      (unsigned long long)late, (unsigned long long)sent_total, (unsigned long long)recv_total,
      (unsigned long long)reorder);
  return 0;
}
