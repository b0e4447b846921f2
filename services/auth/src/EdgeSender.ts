/**
 * Sending SIP through the edge (the pattern call control uses): the message is published on the edge's
 * send subject with the envelope of the request it answers, aimed at that request's source.
 */
import type { BusError, BusShape } from "@b2bua/bus"
import { encodeSipEnvelopeHeaders, formatHostPort, type SipEnvelopeMeta, Subjects } from "@b2bua/contracts"
import { type SipMessage, serializeMessage } from "@b2bua/sip"
import type { Effect } from "effect"

/** Publishes `bytes` for the edge of `meta` to send to `remote` (default: where the request came from). */
export const sendBytes = (
  bus: BusShape,
  meta: SipEnvelopeMeta,
  bytes: Uint8Array,
  remote?: { readonly host: string; readonly port: number },
): Effect.Effect<void, BusError> =>
  bus.publish(
    Subjects.edgeSend(meta.edge),
    bytes,
    encodeSipEnvelopeHeaders({
      ...meta,
      remote: remote === undefined ? meta.remote : formatHostPort(remote.host, remote.port),
      takeover: false,
    }),
  )

export const sendMessage = (
  bus: BusShape,
  meta: SipEnvelopeMeta,
  message: SipMessage,
): Effect.Effect<void, BusError> => sendBytes(bus, meta, serializeMessage(message))
