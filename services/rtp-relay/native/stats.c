/*
 * RFC 3550 receiver statistics of one stream: sequence tracking and loss (§A.1, §A.3), interarrival
 * jitter (§A.8), and the far end's view from the report blocks of its RTCP SR/RR (§6.4.1).
 * Pure: no clock, no I/O; the caller passes the arrival time in timestamp units.
 */
#include <string.h>

#include "relay.h"

#define RTP_SEQ_MOD (1u << 16)
/* RFC 3550 §A.1 defaults. */
#define MAX_DROPOUT 3000
#define MAX_MISORDER 100
#define MIN_SEQUENTIAL 2

void stats_reset(struct stream_stats *s) { memset(s, 0, sizeof *s); }

static void init_seq(struct stream_stats *s, uint16_t seq) {
  s->base_seq = seq;
  s->max_seq = seq;
  s->bad_seq = RTP_SEQ_MOD + 1; /* so seq == bad_seq is false */
  s->cycles = 0;
  s->received = 0;
}

/* RFC 3550 §A.1 update_seq: returns 1 when the packet counts as received from a valid source. */
static int update_seq(struct stream_stats *s, uint16_t seq) {
  uint16_t udelta = (uint16_t)(seq - s->max_seq);
  if (s->probation) {
    /* packet is in sequence */
    if (seq == (uint16_t)(s->max_seq + 1)) {
      s->probation--;
      s->max_seq = seq;
      if (s->probation == 0) {
        init_seq(s, seq);
        s->received++;
        return 1;
      }
    } else {
      s->probation = MIN_SEQUENTIAL - 1;
      s->max_seq = seq;
    }
    return 0;
  } else if (udelta < MAX_DROPOUT) {
    /* in order, with permissible gap */
    if (seq < s->max_seq) s->cycles += RTP_SEQ_MOD; /* sequence number wrapped */
    s->max_seq = seq;
  } else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
    /* the sequence number made a very large jump */
    if (seq == s->bad_seq) {
      /* two sequential packets: assume the other side restarted without telling us */
      init_seq(s, seq);
    } else {
      s->bad_seq = (seq + 1) & (RTP_SEQ_MOD - 1);
      return 0;
    }
  } else {
    /* duplicate or reordered packet */
  }
  s->received++;
  return 1;
}

void stats_rtp(struct stream_stats *s, uint16_t seq, uint32_t ssrc, uint32_t ts, uint32_t arrival_ts) {
  if (!s->have_source || s->ssrc != ssrc) {
    /* RFC 3550 §A.1: a new source starts on probation; its first packet sets max_seq = seq - 1. */
    s->have_source = 1;
    s->ssrc = ssrc;
    init_seq(s, seq);
    s->max_seq = (uint16_t)(seq - 1);
    s->probation = MIN_SEQUENTIAL;
    s->have_transit = 0;
    s->jitter_q4 = 0;
  }
  if (!update_seq(s, seq)) return;
  /* RFC 3550 §A.8: D(i-1,i) from the relative transit times, J += (|D| - J) / 16, in integer form
   * with J scaled by 16 ("jitter += d - ((jitter + 8) >> 4)"). */
  int32_t transit = (int32_t)(arrival_ts - ts);
  if (s->have_transit) {
    int32_t d = transit - s->transit;
    if (d < 0) d = -d;
    s->jitter_q4 += (uint32_t)d - ((s->jitter_q4 + 8) >> 4);
  }
  s->transit = transit;
  s->have_transit = 1;
}

static uint32_t be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/*
 * RFC 3550 §6.4: walk a compound packet; take the first report block of an SR (PT 200) or RR (201).
 *   report block: SSRC(4) | fraction lost(1) cumulative lost(3, signed) | ext. highest seq(4) |
 *                 jitter(4) | LSR(4) | DLSR(4)
 */
void stats_rtcp(struct stream_stats *s, const uint8_t *pkt, uint32_t len) {
  uint32_t off = 0;
  while (off + 4 <= len) {
    const uint8_t *h = pkt + off;
    if ((h[0] >> 6) != 2) return;
    uint32_t rc = h[0] & 0x1f;
    uint32_t pt = h[1];
    uint32_t words = ((uint32_t)h[2] << 8) | h[3];
    uint32_t size = (words + 1) * 4;
    if (off + size > len) return;
    uint32_t first = 0;
    if (pt == 200) first = 8 + 20; /* header + sender SSRC, then NTP(8) RTP ts(4) counts(8) */
    if (pt == 201) first = 8;
    if (first != 0 && rc > 0 && first + 24 <= size) {
      const uint8_t *b = h + first;
      s->fe_reports++;
      s->fe_fraction = b[4];
      uint32_t cum = ((uint32_t)b[5] << 16) | ((uint32_t)b[6] << 8) | b[7];
      s->fe_lost = (cum & 0x800000) ? (int32_t)(cum | 0xff000000u) : (int32_t)cum; /* 24-bit signed */
      s->fe_jitter = be32(b + 12);
      return;
    }
    off += size;
  }
}
