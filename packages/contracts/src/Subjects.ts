/**
 * NATS subjects of contract version 1, built here and nowhere else (call sites never write subject
 * strings). The version is the second token, so v2 services can run beside v1 ones during an upgrade.
 * See docs/architecture.md for who publishes and who subscribes.
 */
import type { InstanceId } from "./Ids.js"

export const CONTRACT_VERSION = 1
const PREFIX = "b2b.v1"

export const Subjects = {
  /** Dialog-creating and out-of-dialog requests, to any call-control instance (queue group `cc`). */
  callControlNew: (): string => `${PREFIX}.cc.new`,
  /** Everything whose identifiers name one call-control instance. */
  callControlInstance: (instance: InstanceId): string => `${PREFIX}.cc.inst.${instance}`,
  /** Messages for a call whose owner does not answer: another instance takes the call over. */
  callControlTakeover: (): string => `${PREFIX}.cc.takeover`,
  /** Each call-control instance's load per trunk (TrunkLoad.ts), to all instances. */
  callControlTrunkLoad: (): string => `${PREFIX}.cc.trunk-load`,
  /** SIP to send, for one edge instance (its sockets and TCP connections). */
  edgeSend: (edge: InstanceId): string => `${PREFIX}.edge.${edge}.send`,
  /** SIP to send by any edge (queue group), when the edge that received the call is gone. */
  edgeSendAny: (): string => `${PREFIX}.edge.send`,
  /** REGISTER requests, to the registrar (queue group `auth`). */
  authRegister: (): string => `${PREFIX}.auth.register`,
  /** Responses to the suite's own outbound REGISTERs, for one auth instance. */
  authInstance: (instance: InstanceId): string => `${PREFIX}.auth.inst.${instance}`,
} as const

/** Queue group names. */
export const QueueGroups = {
  callControl: "cc",
  auth: "auth",
  edge: "edge",
} as const
