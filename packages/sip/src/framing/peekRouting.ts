/**
 * The routing fast path: what an edge needs to send a message to the actor that owns it — start line,
 * Call-ID, CSeq, top Via branch and sent-by, From and To tags — read without building the message.
 * Returns undefined when those facts cannot be read; the caller then parses fully to learn why.
 */
import { getParam, skipWsp } from "../grammar/Scanner.js"
import { headerKey } from "../message/HeaderNames.js"
import { parseVia } from "../message/Via.js"

export interface RoutingFacts {
  readonly kind: "request" | "response"
  /** Request method, or the CSeq method of a response. */
  readonly method: string
  readonly status: number | undefined
  readonly callId: string
  readonly cseq: number
  readonly branch: string | undefined
  readonly sentBy: string
  readonly fromTag: string | undefined
  readonly toTag: string | undefined
}

/** Finds `;tag=` outside a <...> URI and quoted strings, case-insensitively. */
const tagOf = (value: string): string | undefined => {
  let inQuote = false
  let inAngle = false
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (inQuote) {
      if (c === 92) i++
      else if (c === 34) inQuote = false
      continue
    }
    if (c === 34) inQuote = true
    else if (c === 60) inAngle = true
    else if (c === 62) inAngle = false
    else if (c === 59 && !inAngle) {
      let j = skipWsp(value, i + 1)
      if (value.slice(j, j + 3).toLowerCase() !== "tag") continue
      j = skipWsp(value, j + 3)
      if (value.charCodeAt(j) !== 61) continue
      j = skipWsp(value, j + 1)
      let end = j
      while (end < value.length) {
        const d = value.charCodeAt(end)
        if (d === 59 || d === 32 || d === 9 || d === 44) break
        end++
      }
      return end > j ? value.slice(j, end) : undefined
    }
  }
  return undefined
}

export const peekRouting = (input: Uint8Array): RoutingFacts | undefined => {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength)
  let start = 0
  while (start + 1 < buf.length && buf[start] === 13 && buf[start + 1] === 10) start += 2
  const headEnd = buf.indexOf("\r\n\r\n", start, "latin1")
  if (headEnd < 0) return undefined
  const head = buf.toString("latin1", start, headEnd + 2)
  const lineEnd = head.indexOf("\r\n")
  const startLine = head.slice(0, lineEnd)
  let callId: string | undefined
  let cseqText: string | undefined
  let viaText: string | undefined
  let fromText: string | undefined
  let toText: string | undefined
  let pos = lineEnd + 2
  while (pos < head.length) {
    let end = head.indexOf("\r\n", pos)
    while (end + 2 < head.length && (head.charCodeAt(end + 2) === 32 || head.charCodeAt(end + 2) === 9)) {
      end = head.indexOf("\r\n", end + 2)
    }
    const colon = head.indexOf(":", pos)
    if (colon > pos && colon < end) {
      const key = headerKey(head.slice(pos, colon).trimEnd())
      const value = (): string =>
        head
          .slice(colon + 1, end)
          .replace(/\r\n/g, "")
          .trim()
      if (key === "call-id") callId ??= value()
      else if (key === "cseq") cseqText ??= value()
      else if (key === "via") viaText ??= value()
      else if (key === "from") fromText ??= value()
      else if (key === "to") toText ??= value()
    }
    pos = end + 2
  }
  if (callId === undefined || cseqText === undefined || viaText === undefined) return undefined
  if (fromText === undefined || toText === undefined) return undefined
  const cseqMatch = /^(\d{1,10})\s+(\S+)$/.exec(cseqText)
  if (cseqMatch === null) return undefined
  const comma = viaText.indexOf(",")
  let topVia: ReturnType<typeof parseVia>
  try {
    topVia = parseVia(comma < 0 ? viaText : viaText.slice(0, comma))
  } catch {
    return undefined
  }
  const port = topVia.port ?? (topVia.transport === "TLS" ? 5061 : 5060)
  const isResponse = startLine.startsWith("SIP/")
  const sp = startLine.indexOf(" ")
  if (sp <= 0) return undefined
  const status = isResponse ? Number(startLine.slice(sp + 1, sp + 4)) : undefined
  if (status !== undefined && !(status >= 100 && status <= 699)) return undefined
  return {
    kind: isResponse ? "response" : "request",
    method: isResponse ? cseqMatch[2]! : startLine.slice(0, sp),
    status,
    callId,
    cseq: Number(cseqMatch[1]),
    branch: getParam(topVia.params, "branch") ?? undefined,
    sentBy: `${topVia.host.toLowerCase()}:${port}`,
    fromTag: tagOf(fromText),
    toTag: tagOf(toText),
  }
}
