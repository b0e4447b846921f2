/** Golden files: byte-exact SIP messages kept beside the tests, and readable templates turned into wire bytes. */
import { readFileSync } from "node:fs"

export const loadGolden = (path: string | URL): Buffer => readFileSync(path)

/**
 * Turns a readable template (lines separated by "\n", headers then an empty line then an optional body)
 * into wire bytes with CRLF line ends and a correct Content-Length appended to the headers.
 */
export const wireMessage = (template: string): Buffer => {
  const text = template.replace(/^\n+/, "").replace(/\r\n/g, "\n")
  const split = text.indexOf("\n\n")
  const head = (split < 0 ? text : text.slice(0, split)).trimEnd()
  const body = split < 0 ? "" : text.slice(split + 2).replace(/\n/g, "\r\n")
  const bodyBytes = Buffer.from(body, "utf8")
  const lines = head.split("\n").filter((l) => !/^content-length\s*:/i.test(l) && !/^l\s*:/i.test(l))
  lines.push(`Content-Length: ${bodyBytes.length}`)
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "utf8"), bodyBytes])
}
