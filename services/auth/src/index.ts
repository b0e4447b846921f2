/** @b2bua/auth — digest computations and stateless nonces (the service itself comes with issue 4). */
export * from "./Digest.js"
export * from "./Nonce.js"
