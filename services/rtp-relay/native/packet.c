/*
 * The per-packet decision, shared by both backends: source check and latching, statistics, RFC 4733
 * detection, payload-type rewrite, and where the packet goes. No allocation, no lock, no log.
 */
#include <string.h>
#include <time.h>

#include "relay.h"

uint64_t relay_now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

socklen_t relay_addr_len(const relay_addr *a) {
  return a->sa.sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static int addr_eq(const relay_addr *a, const relay_addr *b) {
  if (a->sa.sa_family != b->sa.sa_family) return 0;
  if (a->sa.sa_family == AF_INET) {
    return a->v4.sin_port == b->v4.sin_port && a->v4.sin_addr.s_addr == b->v4.sin_addr.s_addr;
  }
  return a->v6.sin6_port == b->v6.sin6_port &&
         memcmp(&a->v6.sin6_addr, &b->v6.sin6_addr, sizeof a->v6.sin6_addr) == 0;
}

static void addr_copy(relay_addr *dst, const relay_addr *src) {
  if (src->sa.sa_family == AF_INET6) {
    dst->v6 = src->v6;
  } else {
    dst->v4 = src->v4;
  }
}

/* RFC 5761 §4: with rtcp-mux, a second byte of 192..223 (RTCP PT 200–204 and neighbours) is RTCP. */
static int looks_rtcp(const uint8_t *pkt, uint32_t len) { return len >= 8 && pkt[1] >= 192 && pkt[1] <= 223; }

/*
 * RFC 4733 §2.3: event(8) | E(1) R(1) volume(6) | duration(16). An event spans packets with the same
 * RTP timestamp; the end bit is sent three times (§2.5.1.4), so it is reported once per timestamp.
 */
static void detect_event(struct engine *e, uint32_t slot, struct leg *l, const uint8_t *payload, uint32_t plen,
                         uint32_t ts) {
  if (plen < 4) return;
  struct stream_stats *s = &l->st;
  if (!s->te_seen || s->te_ts != ts) {
    s->te_seen = 1;
    s->te_ts = ts;
    s->te_reported = 0;
  }
  if (!(payload[1] & 0x80) || s->te_reported) return;
  s->te_reported = 1;
  struct relay_event ev = {
      .type = EV_DTMF,
      .slot = slot,
      .code = payload[0],
      .volume = payload[1] & 0x3f,
      .duration = ((uint32_t)payload[2] << 8) | payload[3],
      .clock_rate = l->fwd.clock_rate,
  };
  engine_push_event(e, &ev);
}

/* Accept `src` for this leg's RTP (or RTCP) remote: latch, follow, or refuse in strict mode. */
static int accept_source(struct leg *l, const relay_addr *src, int rtcp) {
  struct fwd_entry *f = &l->fwd;
  relay_addr *remote = rtcp ? &f->remote_rtcp : &f->remote_rtp;
  uint8_t *latched = rtcp ? &f->latched_rtcp : &f->latched_rtp;
  uint8_t *has = rtcp ? &f->has_remote_rtcp : &f->has_remote_rtp;
  if (*latched) {
    if (addr_eq(src, remote)) return 1;
    if (f->strict) return 0;
    l->st.relatches++;
  }
  addr_copy(remote, src);
  *latched = 1;
  *has = 1;
  return 1;
}

int relay_handle(struct engine *e, struct leg *l, int is_rtcp_socket, const relay_addr *src, uint8_t *pkt,
                 uint32_t len, uint64_t now_ns, struct fwd_out *out) {
  struct fwd_entry *f = &l->fwd;
  struct stream_stats *s = &l->st;
  uint32_t slot = (uint32_t)(l - e->legs);
  int rtcp = is_rtcp_socket || (!f->udptl && f->rtcp_mux && looks_rtcp(pkt, len));
  /* With rtcp-mux, RTCP arrives from the RTP source: latch it on the RTP remote. */
  int rtcp_latch = is_rtcp_socket;

  if (len == 0 || !f->forward || !accept_source(l, src, rtcp_latch)) {
    s->dropped++;
    return 0;
  }

  if (f->udptl) {
    s->packets++;
    s->bytes += len;
    s->last_ns = now_ns;
  } else if (rtcp) {
    s->rtcp_packets++;
    s->last_ns = now_ns;
    stats_rtcp(s, pkt, len);
  } else {
    /* RFC 3550 §5.1: V=2, 12-byte fixed header plus CSRCs. */
    if (len < 12 || (pkt[0] >> 6) != 2 || len < 12u + 4u * (pkt[0] & 0x0f)) {
      s->dropped++;
      return 0;
    }
    uint8_t pt = pkt[1] & 0x7f;
    uint16_t seq = (uint16_t)(((uint16_t)pkt[2] << 8) | pkt[3]);
    uint32_t ts = ((uint32_t)pkt[4] << 24) | ((uint32_t)pkt[5] << 16) | ((uint32_t)pkt[6] << 8) | pkt[7];
    uint32_t ssrc = ((uint32_t)pkt[8] << 24) | ((uint32_t)pkt[9] << 16) | ((uint32_t)pkt[10] << 8) | pkt[11];
    /* Arrival in timestamp units (RFC 3550 §A.8), from the engine's start so it fits 64 bits. */
    uint32_t arrival = (uint32_t)((unsigned __int128)(now_ns - e->start_ns) * f->clock_rate / 1000000000ull);
    s->packets++;
    s->bytes += len;
    s->last_ns = now_ns;
    stats_rtp(s, seq, ssrc, ts, arrival);
    if (pt == f->te_pt) {
      uint32_t hdr = 12u + 4u * (pkt[0] & 0x0f);
      /* RFC 3550 §5.3.1 header extension: 4-byte header + length words. */
      if ((pkt[0] & 0x10) && len >= hdr + 4) hdr += 4u + 4u * ((((uint32_t)pkt[hdr + 2]) << 8) | pkt[hdr + 3]);
      if (hdr < len) detect_event(e, slot, l, pkt + hdr, len - hdr, ts);
    }
    uint8_t np = f->pt_out[pt];
    if (np != pt) pkt[1] = (uint8_t)((pkt[1] & 0x80) | np);
  }

  if (f->peer >= e->max_legs) {
    s->dropped++;
    return 0;
  }
  struct leg *p = &e->legs[f->peer];
  struct fwd_entry *pf = &p->fwd;
  if (p->state != LEG_ACTIVE) {
    s->dropped++;
    return 0;
  }
  if (rtcp && !pf->udptl && !pf->rtcp_mux) {
    if (!pf->has_remote_rtcp) {
      if (!pf->has_remote_rtp) {
        s->dropped++;
        return 0;
      }
      /* RFC 3550 §11: RTCP on the next port above the RTP port, until the endpoint's RTCP is seen. */
      addr_copy(&pf->remote_rtcp, &pf->remote_rtp);
      if (pf->remote_rtp.sa.sa_family == AF_INET6) {
        pf->remote_rtcp.v6.sin6_port = htons((uint16_t)(ntohs(pf->remote_rtp.v6.sin6_port) + 1));
      } else {
        pf->remote_rtcp.v4.sin_port = htons((uint16_t)(ntohs(pf->remote_rtp.v4.sin_port) + 1));
      }
      pf->has_remote_rtcp = 1;
    }
    out->fd = p->fd_rtcp;
    out->dst = &pf->remote_rtcp;
  } else {
    if (!pf->has_remote_rtp) {
      s->dropped++;
      return 0;
    }
    out->fd = p->fd_rtp;
    out->dst = &pf->remote_rtp;
  }
  out->dst_len = relay_addr_len(out->dst);
  s->forwarded++;
  return 1;
}
