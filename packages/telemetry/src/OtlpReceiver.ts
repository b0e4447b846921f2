/**
 * A minimal OTLP/HTTP trace receiver (JSON encoding, optionally gzip): it accepts what the `otlp`
 * exporter posts to `/v1/traces` and keeps the spans in memory, so tests can check the traces that
 * services running as separate processes export, with no collector installed. Bounded: a request body
 * over 4 MiB is refused (413) and at most 10,000 spans are kept.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { gunzipSync } from "node:zlib"

export interface ReceivedSpan {
  readonly service: string
  readonly name: string
  readonly traceId: string
  readonly spanId: string
  /** Empty for a root span. */
  readonly parentSpanId: string
  readonly kind: number
  readonly attributes: Readonly<Record<string, string | number | boolean>>
  /** The span's events (retransmissions, failures, log lines written inside it), in order. */
  readonly events: ReadonlyArray<{
    readonly name: string
    readonly attributes: Readonly<Record<string, string | number | boolean>>
  }>
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  readonly status: number
  /** Span ids of the spans this one links to. */
  readonly links: ReadonlyArray<string>
}

export interface OtlpReceiver {
  /** Base URL to give as OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string
  readonly spans: () => ReadonlyArray<ReceivedSpan>
  /** Resolves with the first span (already received or later) that matches; rejects after `timeoutMs`. */
  readonly waitFor: (matches: (span: ReceivedSpan) => boolean, timeoutMs: number) => Promise<ReceivedSpan>
  readonly close: () => Promise<void>
}

const MAX_BODY = 4 * 1024 * 1024
const MAX_SPANS = 10_000

interface AnyValue {
  readonly stringValue?: string
  readonly intValue?: number | string
  readonly doubleValue?: number
  readonly boolValue?: boolean
}
interface KeyValue {
  readonly key: string
  readonly value?: AnyValue
}

const attributeValue = (v: AnyValue | undefined): string | number | boolean =>
  v?.stringValue ?? v?.boolValue ?? v?.doubleValue ?? (v?.intValue === undefined ? "" : Number(v.intValue))

const attributesOf = (list: ReadonlyArray<KeyValue> | undefined) => {
  const out: Record<string, string | number | boolean> = {}
  for (const kv of list ?? []) out[kv.key] = attributeValue(kv.value)
  return out
}

interface ExportRequest {
  readonly resourceSpans?: ReadonlyArray<{
    readonly resource?: { readonly attributes?: ReadonlyArray<KeyValue> }
    readonly scopeSpans?: ReadonlyArray<{
      readonly spans?: ReadonlyArray<{
        readonly name?: string
        readonly traceId?: string
        readonly spanId?: string
        readonly parentSpanId?: string
        readonly kind?: number
        readonly attributes?: ReadonlyArray<KeyValue>
        readonly events?: ReadonlyArray<{
          readonly name?: string
          readonly attributes?: ReadonlyArray<KeyValue>
        }>
        readonly status?: { readonly code?: number }
        readonly links?: ReadonlyArray<{ readonly spanId?: string }>
      }>
    }>
  }>
}

/** Spans of an OTLP JSON export request (ids are hex strings in the JSON encoding). */
export const spansOfExport = (request: ExportRequest): ReceivedSpan[] => {
  const out: ReceivedSpan[] = []
  for (const rs of request.resourceSpans ?? []) {
    const service = String(attributesOf(rs.resource?.attributes)["service.name"] ?? "")
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          service,
          name: s.name ?? "",
          traceId: s.traceId ?? "",
          spanId: s.spanId ?? "",
          parentSpanId: s.parentSpanId ?? "",
          kind: s.kind ?? 0,
          attributes: attributesOf(s.attributes),
          events: (s.events ?? []).map((e) => ({
            name: e.name ?? "",
            attributes: attributesOf(e.attributes),
          })),
          status: s.status?.code ?? 0,
          links: (s.links ?? []).map((l) => l.spanId ?? ""),
        })
      }
    }
  }
  return out
}

export const startOtlpReceiver = (host = "127.0.0.1"): Promise<OtlpReceiver> => {
  const spans: ReceivedSpan[] = []
  const waiters = new Set<(span: ReceivedSpan) => void>()

  const body = (req: IncomingMessage): Promise<Buffer | undefined> =>
    new Promise((resolve) => {
      const chunks: Buffer[] = []
      let size = 0
      req.on("data", (chunk: Buffer) => {
        size += chunk.length
        if (size > MAX_BODY) {
          resolve(undefined)
          req.destroy()
          return
        }
        chunks.push(chunk)
      })
      req.on("end", () => resolve(Buffer.concat(chunks)))
      req.on("error", () => resolve(undefined))
    })

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== "POST" || req.url !== "/v1/traces") {
      res.writeHead(404).end()
      return
    }
    const raw = await body(req)
    if (raw === undefined) {
      res.writeHead(413).end()
      return
    }
    let received: ReceivedSpan[]
    try {
      const text = (req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw).toString("utf8")
      received = spansOfExport(JSON.parse(text) as ExportRequest)
    } catch (e) {
      res.writeHead(400, { "content-type": "text/plain" }).end(e instanceof Error ? e.message : "bad body")
      return
    }
    for (const span of received) {
      if (spans.length >= MAX_SPANS) break
      spans.push(span)
      for (const waiter of waiters) waiter(span)
    }
    res.writeHead(200, { "content-type": "application/json" }).end("{}")
  }

  const server = createServer((req, res) => void handle(req, res))
  return new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, host, () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resolve({
        url: `http://${host}:${port}`,
        spans: () => spans,
        waitFor: (matches, timeoutMs) =>
          new Promise((found, fail) => {
            const already = spans.find(matches)
            if (already !== undefined) {
              found(already)
              return
            }
            const timer = setTimeout(() => {
              waiters.delete(waiter)
              fail(
                new Error(
                  `no matching span within ${timeoutMs} ms; received: ${spans.map((s) => s.name).join(", ")}`,
                ),
              )
            }, timeoutMs)
            const waiter = (span: ReceivedSpan) => {
              if (!matches(span)) return
              clearTimeout(timer)
              waiters.delete(waiter)
              found(span)
            }
            waiters.add(waiter)
          }),
        close: () =>
          new Promise((done) => {
            server.closeAllConnections()
            server.close(() => done())
          }),
      })
    })
  })
}
