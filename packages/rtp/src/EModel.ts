/**
 * A listening-quality estimate per stream from the ITU-T G.107 E-model, reduced to what a relay
 * observes: packet loss and delay (one-way delay taken as the jitter-buffer cost of the measured jitter).
 * Codec G.711 with packet loss concealment: Ie = 0, Bpl = 25.1 (ITU-T G.113 Appendix I), random loss
 * (BurstR = 1). The delay impairment uses the Cole–Rosenbluth approximation of G.107 Id.
 */

export interface EModelInput {
  /** Packet loss in percent (0–100). */
  readonly lossPercent: number
  /** One-way delay in ms (network + jitter buffer). */
  readonly delayMs: number
  /** Equipment impairment factor of the codec (G.113): 0 for G.711. */
  readonly ie?: number | undefined
  /** Packet-loss robustness factor (G.113): 25.1 for G.711 with PLC. */
  readonly bpl?: number | undefined
}

/** G.107 §7.1 default basic signal-to-noise ratio term with default parameters. */
const R0_MINUS_IS = 93.2

export const rFactor = (input: EModelInput): number => {
  const ie = input.ie ?? 0
  const bpl = input.bpl ?? 25.1
  const ppl = Math.min(100, Math.max(0, input.lossPercent))
  // G.107 §7.4 (BurstR = 1): Ie-eff = Ie + (95 − Ie) · Ppl / (Ppl + Bpl).
  const ieEff = ie + ((95 - ie) * ppl) / (ppl + bpl)
  const d = Math.max(0, input.delayMs)
  // Cole & Rosenbluth (2001): Id ≈ 0.024·d + 0.11·(d − 177.3)·H(d − 177.3).
  const id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0)
  return R0_MINUS_IS - id - ieEff
}

/** G.107 Annex B: MOS from R. */
export const mosFromR = (r: number): number => {
  if (r <= 0) return 1
  if (r >= 100) return 4.5
  return 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6
}

/** MOS for a stream with the given loss and jitter: a jitter buffer costs about twice the jitter. */
export const estimateMos = (lossPercent: number, jitterMs: number, networkDelayMs = 0): number =>
  Math.max(1, Math.min(4.5, mosFromR(rFactor({ lossPercent, delayMs: networkDelayMs + 2 * jitterMs + 10 }))))
