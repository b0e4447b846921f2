#!/usr/bin/env node
/** b2bctl entry point: the process's argv, environment and streams; Ctrl-C ends a watch cleanly. */
import { runCli } from "./Cli.js"

const interrupted = new Promise<void>((resolve) => process.once("SIGINT", () => resolve()))
const code = await runCli(process.argv.slice(2), process.env, {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  interrupted,
})
process.exit(code)
