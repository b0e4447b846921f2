import { describe, expect, it } from "vitest"
import { loadConfig, RelayConfigError } from "../src/index.js"

const keyOf = (f: () => unknown): string => {
  try {
    f()
  } catch (e) {
    return e instanceof RelayConfigError ? e.key : "<other error>"
  }
  return "<no error>"
}

describe("relay configuration", () => {
  it("has defaults for a local stack", () => {
    const c = loadConfig({ B2BUA_RELAY_ID: "relay1" })
    expect(c).toMatchObject({
      relayId: "relay1",
      address: "127.0.0.1",
      ports: { min: 30000, max: 39999 },
      io: "auto",
      maxSessions: 2500,
    })
  })

  it("reads the port range, the I/O backend switch and the limits", () => {
    const c = loadConfig({
      B2BUA_RTP_PORTS: "20000-20099",
      B2BUA_RELAY_IO: "epoll",
      B2BUA_RELAY_MAX_SESSIONS: "10",
      B2BUA_RELAY_QUARANTINE_MS: "0",
    })
    expect(c.ports).toEqual({ min: 20000, max: 20099 })
    expect(c.io).toBe("epoll")
    expect(c.maxSessions).toBe(10)
    expect(c.quarantineMs).toBe(0)
  })

  it("names the variable that is wrong", () => {
    expect(keyOf(() => loadConfig({ B2BUA_RTP_PORTS: "30000" }))).toBe("B2BUA_RTP_PORTS")
    expect(keyOf(() => loadConfig({ B2BUA_RTP_PORTS: "80-90" }))).toBe("B2BUA_RTP_PORTS")
    expect(keyOf(() => loadConfig({ B2BUA_RELAY_IO: "select" }))).toBe("B2BUA_RELAY_IO")
    expect(keyOf(() => loadConfig({ B2BUA_RELAY_ID: "Relay-1" }))).toBe("B2BUA_RELAY_ID")
    expect(keyOf(() => loadConfig({ B2BUA_RELAY_ADDRESS: "relay.example" }))).toBe("B2BUA_RELAY_ADDRESS")
    expect(keyOf(() => loadConfig({ B2BUA_RELAY_MAX_SESSIONS: "0" }))).toBe("B2BUA_RELAY_MAX_SESSIONS")
  })
})
