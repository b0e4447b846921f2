/**
 * Serialization: an unedited message returns the exact bytes it was parsed from; an edited one is
 * rebuilt with every untouched field copied as received and the edited ones written canonically.
 */
import type { SipMessage } from "./SipMessage.js"

export const serializeMessage = (message: SipMessage): Buffer => {
  const source = message.sourceBytes
  if (source !== undefined) return source
  let head = `${message.startLine()}\r\n`
  const fields = message.fields
  for (let i = 0; i < fields.length; i++) head += `${fields[i]!.text()}\r\n`
  head += "\r\n"
  const body = message.body
  const out = Buffer.allocUnsafe(head.length + body.length)
  out.write(head, 0, "latin1")
  if (body.length > 0) body.copy(out, head.length)
  return out
}
