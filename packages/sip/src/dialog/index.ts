export * from "./Dialog.js"
export * from "./ReliableProvisional.js"
