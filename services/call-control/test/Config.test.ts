/** Call control's environment: the session-timer settings (RFC 4028) and the errors that name them. */
import { describe, expect, it } from "vitest"
import { loadConfig } from "../src/index.js"

describe("session-timer configuration", () => {
  it("defaults to RFC 4028's recommended 1800 s, its 90 s minimum, and the caller as A-leg refresher", () => {
    expect(loadConfig({}).sessionTimer).toEqual({ interval: 1800, minSE: 90, aRefresher: "uac" })
  })

  it("takes the interval, Min-SE and refresher from the environment", () => {
    const config = loadConfig({
      B2BUA_SESSION_EXPIRES: "600",
      B2BUA_MIN_SE: "120",
      B2BUA_SESSION_REFRESHER: "uas",
    })
    expect(config.sessionTimer).toEqual({ interval: 600, minSE: 120, aRefresher: "uas" })
  })

  it.each([
    [{ B2BUA_MIN_SE: "60" }, /B2BUA_MIN_SE: expected seconds from 90/],
    [
      { B2BUA_SESSION_EXPIRES: "100", B2BUA_MIN_SE: "120" },
      /B2BUA_SESSION_EXPIRES: expected seconds from B2BUA_MIN_SE \(120\)/,
    ],
    [{ B2BUA_SESSION_EXPIRES: "half an hour" }, /B2BUA_SESSION_EXPIRES/],
    [{ B2BUA_SESSION_REFRESHER: "both" }, /B2BUA_SESSION_REFRESHER: expected uac or uas, got "both"/],
  ])("%j is refused, naming the variable", (env, message) => {
    expect(() => loadConfig(env)).toThrow(message)
  })
})
