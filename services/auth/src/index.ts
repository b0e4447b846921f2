/** @b2bua/auth — digest authentication, trunk identification, the registrar, outbound registration. */
export * from "./Aor.js"
export * from "./AuthService.js"
export * from "./Bindings.js"
export * from "./Config.js"
export * from "./Digest.js"
export * from "./DigestAuth.js"
export * from "./Nonce.js"
export * from "./OutboundRegister.js"
