/** Instance tokens: the default a process takes when its configuration names none. */
import { describe, expect, it } from "vitest"
import { defaultInstanceId, isInstanceId } from "../src/index.js"

describe("defaultInstanceId", () => {
  it("is a valid instance token starting with the service's letter, different for every process", () => {
    const ids = Array.from({ length: 50 }, () => defaultInstanceId("c"))
    for (const id of ids) {
      expect(isInstanceId(id)).toBe(true)
      expect(id.startsWith("c")).toBe(true)
    }
    // Replicas on hosts with the same name and the same pid (pid 1 in every pod) still differ.
    expect(new Set(ids).size).toBe(ids.length)
  })
})
