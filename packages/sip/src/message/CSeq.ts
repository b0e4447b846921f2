/** The CSeq header (RFC 3261 §20.16): a 32-bit sequence number and the request method. */
import { isToken, parseUnsigned, skipWsp } from "../grammar/Scanner.js"
import { badHeaderValue } from "./SipParseError.js"

export interface CSeq {
  readonly seq: number
  readonly method: string
}

/** RFC 3261 §8.1.1.5: the sequence number MUST be expressible as a 32-bit unsigned integer, less than 2**31. */
const MAX_CSEQ = 2 ** 31 - 1

export const parseCSeq = (s: string): CSeq => {
  let i = skipWsp(s, 0)
  const start = i
  while (i < s.length) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) break
    i++
  }
  const seq = parseUnsigned(s.slice(start, i), 10)
  if (seq < 0 || seq > MAX_CSEQ) throw badHeaderValue("CSeq", "sequence number is not a number below 2^31")
  const afterNumber = i
  i = skipWsp(s, i)
  if (i === afterNumber) throw badHeaderValue("CSeq", "missing method")
  let end = s.length
  while (end > i && (s.charCodeAt(end - 1) === 32 || s.charCodeAt(end - 1) === 9)) end--
  const method = s.slice(i, end)
  if (!isToken(method)) throw badHeaderValue("CSeq", "method is not a token")
  return { seq, method }
}

export const formatCSeq = (cseq: CSeq): string => `${cseq.seq} ${cseq.method}`
