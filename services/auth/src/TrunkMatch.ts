/**
 * Which trunk a source address belongs to: each trunk's `sources` CIDRs (IPv4 and IPv6), first trunk in
 * configuration order wins. Pure; built once from the configuration with node's BlockList matcher.
 */
import { BlockList, isIP } from "node:net"
import type { Trunk } from "@b2bua/contracts"

export interface TrunkMatcher {
  /** The first trunk whose sources include `address`; undefined when none does. */
  readonly bySource: (address: string) => Trunk | undefined
  /** Trunks that ask for digest with this realm and username (trunks identified by credentials). */
  readonly byDigestUser: (realm: string, username: string) => Trunk | undefined
}

/** `::ffff:192.0.2.1` (an IPv4 source seen on a dual-stack socket) is the IPv4 address. */
const normalise = (address: string): string => {
  const bare = address.startsWith("[") ? address.slice(1, -1) : address
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare)
  return mapped?.[1] ?? bare
}

const listFor = (cidrs: ReadonlyArray<string>): BlockList => {
  const list = new BlockList()
  for (const cidr of cidrs) {
    const [address = "", prefixText] = cidr.split("/")
    const family = isIP(address)
    if (family === 0) continue
    const type = family === 4 ? "ipv4" : "ipv6"
    const prefix = prefixText === undefined ? (family === 4 ? 32 : 128) : Number(prefixText)
    list.addSubnet(address, prefix, type)
  }
  return list
}

export const trunkMatcher = (trunks: ReadonlyArray<Trunk>): TrunkMatcher => {
  const lists = trunks.map((trunk) => ({ trunk, list: listFor(trunk.sources ?? []) }))
  return {
    bySource: (address) => {
      const a = normalise(address)
      const family = isIP(a)
      if (family === 0) return undefined
      const type = family === 4 ? "ipv4" : "ipv6"
      return lists.find(({ trunk, list }) => (trunk.sources ?? []).length > 0 && list.check(a, type))?.trunk
    },
    byDigestUser: (realm, username) =>
      trunks.find((t) => t.digest !== undefined && t.digest.realm === realm && t.digest.user === username),
  }
}

/** Whether a configured CIDR is usable (address and prefix length in range). */
export const validCidr = (cidr: string): boolean => {
  const [address = "", prefixText] = cidr.split("/")
  const family = isIP(address)
  if (family === 0) return false
  if (prefixText === undefined) return true
  const prefix = Number(prefixText)
  return Number.isInteger(prefix) && prefix >= 0 && prefix <= (family === 4 ? 32 : 128)
}
