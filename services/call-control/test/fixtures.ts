/** What the pure call-machine tests share: the reference guide's INVITE, a B-leg target, a call identity. */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { InstanceId } from "@b2bua/contracts"
import { parseMessageOrThrow, type SipRequest, type SipResponse, serializeMessage } from "@b2bua/sip"
import type { BTarget, CallAction, CallIdentity } from "../src/index.js"

/** The guide's INVITE (packages/sip golden file 09) as text. */
export const guideInviteText = readFileSync(
  fileURLToPath(new URL("../../../packages/sip/test/golden/guide/09-invite.sip", import.meta.url)),
  "latin1",
)

export const guideInvite = (): SipRequest =>
  parseMessageOrThrow(Buffer.from(guideInviteText, "latin1")) as SipRequest

/** A message as the other side receives it: serialized and parsed again. */
export const wire = <M extends SipRequest | SipResponse>(m: M): M =>
  parseMessageOrThrow(serializeMessage(m)) as M

/** The B-leg target of the tests: the guide's callee number at 198.51.100.20:5080, UDP, no failover. */
export const testTarget: BTarget = {
  trunk: "out",
  host: "198.51.100.20",
  port: 5080,
  transport: "udp",
  called: "2142622000",
  caller: "2142621000",
  failoverCodes: [],
  noAnswerMs: 8000,
  drop: [],
}

export const testIdentity: CallIdentity = {
  owner: { kind: "callControl", instance: InstanceId("cc1") },
  random: "abc123",
  local: { host: "192.0.2.10", port: 5060 },
}

/** The messages a step sends on one leg. */
export const sentOn = (actions: ReadonlyArray<CallAction>, tag: "SendA" | "SendB") =>
  actions.flatMap((a) => (a._tag === tag ? [a.message] : []))
