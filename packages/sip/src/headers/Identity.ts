/**
 * Address headers beyond the hot ones: P-Asserted-Identity and P-Preferred-Identity (RFC 3325 §9.1,
 * §9.2), Diversion (RFC 5806 §4), History-Info (RFC 7044 §4.1), Reply-To, Refer-To (RFC 3515),
 * Referred-By (RFC 3892). All are name-addr values with parameters.
 */
import { formatNameAddr, type NameAddr, parseNameAddr } from "../message/NameAddr.js"
import type { HeaderCodec } from "./HeaderCodec.js"

const nameAddrCodec = (name: string): HeaderCodec<NameAddr> => ({
  name,
  parse: (value) => parseNameAddr(value, name),
  format: formatNameAddr,
})

export const PAssertedIdentity = nameAddrCodec("P-Asserted-Identity")
export const PPreferredIdentity = nameAddrCodec("P-Preferred-Identity")
export const Diversion = nameAddrCodec("Diversion")
export const HistoryInfo = nameAddrCodec("History-Info")
export const ReplyTo = nameAddrCodec("Reply-To")
export const ReferTo = nameAddrCodec("Refer-To")
export const ReferredBy = nameAddrCodec("Referred-By")
export const Route = nameAddrCodec("Route")
export const RecordRoute = nameAddrCodec("Record-Route")
