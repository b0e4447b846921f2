/** @b2bua/rtp — RTP/RTCP in caller-owned buffers, RFC 3550 statistics, RFC 4733 events, E-model. No sockets. */
export * from "./EModel.js"
export * from "./ReceiverStats.js"
export * from "./RtpPacket.js"
export * from "./TelephoneEvent.js"
