/** @b2bua/b2bctl — the operators' command line; `main.ts` is the `b2bctl` binary. */
export * from "./Args.js"
export * from "./Cli.js"
export * from "./Table.js"
