/** Known SIP scanners, recognised by their User-Agent (case-insensitive substrings). Pure. */
export const isScanner = (userAgent: string | undefined, patterns: ReadonlyArray<string>): boolean => {
  if (userAgent === undefined || userAgent === "") return false
  const ua = userAgent.toLowerCase()
  return patterns.some((p) => ua.includes(p.toLowerCase()))
}
