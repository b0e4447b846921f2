/*
 * RTP load generator for `npm run bench:relay`: emulates N concurrent G.711 calls through a relay
 * (2 legs × 50 packets/s each way, 172-byte RTP packets, phases spread evenly over the 20 ms frame),
 * from one UDP socket on 127.0.0.1. Each payload carries its stream, sequence and send time
 * (CLOCK_REALTIME, taken as the packet is queued); the receive time is the kernel's (SO_TIMESTAMPNS,
 * stamped when the relay's packet reaches the loopback device), so neither the generator's own
 * scheduling nor when it gets round to reading counts as relay latency. Bounded in time; loopback only.
 *
 * Lean by design, since at a few thousand calls the generator needs as much of a core as the relay:
 * - it runs on a fixed tick (tick_ns) instead of sleeping until each packet is due: on this VM every
 *   timed sleep costs several µs (arming the timer and the wake-up both leave the guest), which at one
 *   sleep per packet was half of the generator's CPU. Each tick sends everything due (at most one tick
 *   late: the send time in the payload is the real one) with sendmmsg and drains everything that
 *   arrived with recvmmsg.
 * - it sleeps in clock_nanosleep, not in poll on its socket: a relay sending to it then finds no
 *   sleeper to wake, so the relay's cost per packet is the forwarding, not waking the generator.
 * - a sendmmsg carries at most SEND_BATCH packets: the kernel delivers them one after the other, and
 *   the last one's send time would otherwise be stamped long before it really left.
 * It reports its own CPU share over the measured window, so the caller can tell a relay that failed
 * from a generator that ran out of core.
 *
 * It also reads the relay's CPU time (every thread, and the one named rtp-fwd) at the two edges of the
 * measured window itself: the caller runs at ordinary priority on a machine whose cores the relay and
 * the generator keep busy, and may read its pipe late.
 *
 * usage: loadgen <ports-file> <gen-port> <warmup-ms> <measure-ms> <drain-ms> [relay-pid] [tick-us]
 *   ports-file: one line per call, "<relay port for leg a> <relay port for leg b>"
 *   relay-pid: 0 or absent for none
 * prints "MEASURE_START" and "MEASURE_END" as they happen, then one JSON line of results.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PKT 172
#define FRAME_NS 20000000ull /* 20 ms: 50 packets/s per stream */
/* 0.1 ms by default: 1/200 of a frame, far below any jitter buffer; a sixth argument changes it. */
static uint64_t tick_ns = 100000ull;
#define SEND_BATCH 64
#define RECV_BATCH 1024
#define HIST_US 1000000 /* 1 µs buckets up to 1 s */
#define MAGIC 0x52544c47u

static uint64_t now_real(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static uint64_t cpu_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* CPU time (ns, schedstat) of every thread of `pid` into all[0], of its rtp-fwd thread into all[1]. */
static void relay_cpu(int pid, uint64_t all[2]) {
  all[0] = all[1] = 0;
  if (pid <= 0) return;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", pid);
  DIR *d = opendir(path);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.') continue;
    char p[320], comm[32] = {0};
    unsigned long long ns = 0;
    snprintf(p, sizeof p, "/proc/%d/task/%s/schedstat", pid, de->d_name);
    FILE *f = fopen(p, "r");
    if (!f) continue;
    int ok = fscanf(f, "%llu", &ns) == 1;
    fclose(f);
    if (!ok) continue;
    all[0] += ns;
    snprintf(p, sizeof p, "/proc/%d/task/%s/comm", pid, de->d_name);
    f = fopen(p, "r");
    if (f) {
      if (fgets(comm, sizeof comm, f) && strncmp(comm, "rtp-fwd", 7) == 0) all[1] += ns;
      fclose(f);
    }
  }
  closedir(d);
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
    fprintf(stderr, "usage: %s ports-file gen-port warmup-ms measure-ms drain-ms [relay-pid] [tick-us]\n", argv[0]);
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
  if (calls == 0) {
    fprintf(stderr, "ports-file: no calls\n");
    return 2;
  }
  uint32_t streams = calls * 2;
  uint64_t warmup = strtoull(argv[3], NULL, 10) * 1000000ull;
  uint64_t measure = strtoull(argv[4], NULL, 10) * 1000000ull;
  uint64_t drain = strtoull(argv[5], NULL, 10) * 1000000ull;
  int relay_pid = argc > 6 ? atoi(argv[6]) : 0;
  if (argc > 7) tick_ns = strtoull(argv[7], NULL, 10) * 1000ull;

  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  int one = 1, big = 64 << 20;
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  }
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  }
  struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
  me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&me, sizeof me) < 0) {
    perror("bind");
    return 2;
  }

  uint32_t *seq = calloc(streams, sizeof *seq);
  uint32_t *last_rx = calloc(streams, sizeof *last_rx);
  uint32_t *hist = calloc(HIST_US + 1, sizeof *hist);
  uint8_t *out = malloc((size_t)SEND_BATCH * PKT);
  struct mmsghdr *om = calloc(SEND_BATCH, sizeof *om);
  struct iovec *oiov = calloc(SEND_BATCH, sizeof *oiov);
  struct sockaddr_in *oaddr = calloc(SEND_BATCH, sizeof *oaddr);
  uint8_t *in = malloc((size_t)RECV_BATCH * 256);
  struct mmsghdr *im = calloc(RECV_BATCH, sizeof *im);
  struct iovec *iiov = calloc(RECV_BATCH, sizeof *iiov);
  char *ctrl = calloc(RECV_BATCH, 64);
  for (int i = 0; i < SEND_BATCH; i++) {
    oiov[i].iov_base = out + (size_t)i * PKT;
    oiov[i].iov_len = PKT;
    om[i].msg_hdr.msg_iov = &oiov[i];
    om[i].msg_hdr.msg_iovlen = 1;
    om[i].msg_hdr.msg_name = &oaddr[i];
    om[i].msg_hdr.msg_namelen = sizeof oaddr[i];
    oaddr[i].sin_family = AF_INET;
    oaddr[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  for (int i = 0; i < RECV_BATCH; i++) {
    iiov[i].iov_base = in + (size_t)i * 256;
    iiov[i].iov_len = 256;
    im[i].msg_hdr.msg_iov = &iiov[i];
    im[i].msg_hdr.msg_iovlen = 1;
  }

  uint64_t t0 = now_real() + 5000000ull; /* start 5 ms from now */
  uint64_t m_start = t0 + warmup, m_end = m_start + measure, stop_send = m_end, stop_all = m_end + drain;
  uint64_t k = 0; /* packets scheduled so far: stream k % streams, frame k / streams */
  uint64_t sent_window = 0, recv_window = 0, recv_total = 0, sent_total = 0, late = 0, reorder = 0;
  uint64_t send_errors = 0, max_lag = 0, cpu_start = 0, cpu_end = 0, ticks = 0;
  uint64_t relay_start[2] = {0, 0}, relay_end[2] = {0, 0};
  int started = 0, ended = 0;
  uint64_t tick = t0;
  for (;;) {
    uint64_t now = now_real();
    if (!started && now >= m_start) {
      started = 1;
      cpu_start = cpu_ns();
      relay_cpu(relay_pid, relay_start);
      printf("MEASURE_START\n");
      fflush(stdout);
    }
    if (!ended && now >= m_end) {
      ended = 1;
      cpu_end = cpu_ns();
      relay_cpu(relay_pid, relay_end);
      printf("MEASURE_END\n");
      fflush(stdout);
    }
    if (now >= stop_all) break;
    ticks++;
    /* send everything due */
    for (;;) {
      int n = 0;
      while (n < SEND_BATCH) {
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
        oaddr[n].sin_port = htons(dst[s]);
        if (due >= m_start && due < m_end) sent_window++;
        sent_total++;
        n++;
        k++;
      }
      if (n == 0) break;
      uint64_t ts = now_real();
      for (int i = 0; i < n; i++) {
        uint8_t *p = out + (size_t)i * PKT;
        put32(p + 24, (uint32_t)(ts >> 32));
        put32(p + 28, (uint32_t)ts);
      }
      int off = 0;
      while (off < n) {
        int r = sendmmsg(fd, om + off, (unsigned)(n - off), 0);
        if (r <= 0) {
          if (r < 0 && (errno == EAGAIN || errno == ENOBUFS || errno == EINTR)) continue;
          /* A refused datagram (ECONNREFUSED from an earlier ICMP, say) is skipped, not retried. */
          send_errors++;
          off++;
          continue;
        }
        off += r;
      }
      if (n < SEND_BATCH) break;
      now = now_real();
    }
    /* drain what arrived */
    for (;;) {
      for (int i = 0; i < RECV_BATCH; i++) {
        im[i].msg_hdr.msg_control = ctrl + i * 64;
        im[i].msg_hdr.msg_controllen = 64;
      }
      int r = recvmmsg(fd, im, RECV_BATCH, MSG_DONTWAIT, NULL);
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
      if (r < RECV_BATCH) break;
    }
    /* sleep to the next tick (at once when behind) */
    tick += tick_ns;
    uint64_t after = now_real();
    if (tick <= after) {
      tick = after;
      continue;
    }
    struct timespec ts = {.tv_sec = (time_t)(tick / 1000000000ull), .tv_nsec = (long)(tick % 1000000000ull)};
    while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR) {
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
  double gen_cpu = measure ? (double)(cpu_end - cpu_start) / (double)measure : 0;
  printf(
      "{\"calls\":%u,\"sent\":%llu,\"received\":%llu,\"loss\":%.6f,\"p50Us\":%llu,\"p99Us\":%llu,\"p999Us\":%llu,"
      "\"maxLagUs\":%llu,\"late\":%llu,\"sentTotal\":%llu,\"receivedTotal\":%llu,\"reordered\":%llu,"
      "\"sendErrors\":%llu,\"ticks\":%llu,\"generatorCpu\":%.4f,\"relayCpuNs\":%llu,\"forwarderCpuNs\":%llu}\n",
      calls, (unsigned long long)sent_window, (unsigned long long)recv_window, loss, (unsigned long long)p50,
      (unsigned long long)p99, (unsigned long long)p999, (unsigned long long)(max_lag / 1000),
      (unsigned long long)late, (unsigned long long)sent_total, (unsigned long long)recv_total,
      (unsigned long long)reorder, (unsigned long long)send_errors, (unsigned long long)ticks, gen_cpu,
      (unsigned long long)(relay_end[0] - relay_start[0]), (unsigned long long)(relay_end[1] - relay_start[1]));
  return 0;
}
