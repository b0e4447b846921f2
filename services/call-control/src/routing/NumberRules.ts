/**
 * Number manipulation per trunk: strip a prefix, add a prefix, then E.164 normalisation (ITU-T E.164:
 * "+" country code national number). Pure, applied to the user part of a SIP or tel URI.
 */
import type { NumberRules } from "@b2bua/contracts"

/** Visual separators a tel URI may carry (RFC 3966 §5.1.1); dropped before any rule applies. */
const SEPARATORS = /[-.()]/g

export const applyNumberRules = (rules: NumberRules | undefined, number: string): string => {
  if (rules === undefined) return number
  // Only dialable numbers are rewritten; a name ("alice") passes unchanged.
  if (!/^\+?[0-9*#\-.()]+$/.test(number)) return number
  let n = number.replace(SEPARATORS, "")
  if (rules.stripPrefix !== undefined && rules.stripPrefix !== "" && n.startsWith(rules.stripPrefix)) {
    n = n.slice(rules.stripPrefix.length)
  }
  if (rules.addPrefix !== undefined) n = `${rules.addPrefix}${n}`
  const e164 = rules.e164
  if (e164 !== undefined && !n.startsWith("+")) {
    const international = e164.internationalPrefix ?? "00"
    const national = e164.nationalPrefix ?? "0"
    if (international !== "" && n.startsWith(international)) n = `+${n.slice(international.length)}`
    else if (national !== "" && n.startsWith(national)) n = `+${e164.countryCode}${n.slice(national.length)}`
    else n = `+${e164.countryCode}${n}`
  }
  return n
}
