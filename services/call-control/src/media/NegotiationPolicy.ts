/**
 * What the SDP negotiator is told about a call's trunks (contracts SdpNegotiation `NegotiationPolicyV1`):
 * the codec policy of its outbound trunk, else of its inbound trunk; and whether media may bypass the relay,
 * which takes every trunk of the call saying `media: bypass` — one trunk needing its media anchored (NAT,
 * lawful intercept, topology hiding of its media addresses) keeps the call's media in the relay. Pure.
 */
import type { NegotiationPolicyV1, Trunk } from "@b2bua/contracts"

export const negotiationPolicy = (
  inbound: Trunk | undefined,
  outbound: Trunk | undefined,
): NegotiationPolicyV1 => {
  const codecs = (outbound ?? inbound)?.codecs
  const trunks = [inbound, outbound].filter((t): t is Trunk => t !== undefined)
  const bypass = trunks.length > 0 && trunks.every((t) => t.media === "bypass")
  return {
    ...(codecs?.allow === undefined ? {} : { allow: codecs.allow }),
    ...(codecs?.deny === undefined ? {} : { deny: codecs.deny }),
    ...(codecs?.order === undefined ? {} : { order: codecs.order }),
    ...(bypass ? { bypass: true } : {}),
  }
}
