export * from "./validateRequest.js"
