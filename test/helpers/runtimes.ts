import { existsSync } from "node:fs"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"

export const ROOT = resolve(import.meta.dirname, "../..")

/** The ways the relay runs: on each runtime from source, and as the single executable. */
export const RUNTIMES = ["node", "bun", "deno", "binary"] as const
export type RuntimeName = (typeof RUNTIMES)[number]
export type SourceRuntime = Exclude<RuntimeName, "binary">

export const BINARY = join(ROOT, "dist/relay")

export interface Command {
  readonly command: string
  readonly args: Array<string>
}

const bin = (name: string) => join(ROOT, "node_modules/.bin", name)

/**
 * What the relay needs of Deno: npm packages from the installed node_modules, the network, the
 * files (config, store, data directory), the environment, and the host name (pino logs it).
 */
const DENO_FLAGS = ["--node-modules-dir=manual", "--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys=hostname"]

/**
 * Runs a TypeScript file of the repository under `runtime` as the `start`, `start:bun` and
 * `start:deno` scripts do, with every path absolute so that it works from any directory.
 */
export const scriptCommand = (runtime: SourceRuntime, script: string, args: ReadonlyArray<string> = []): Command => {
  const file = join(ROOT, script)
  switch (runtime) {
    case "node":
      return { command: process.execPath, args: ["--import", pathToFileURL(join(ROOT, "runtime/node-ts.mjs")).href, file, ...args] }
    case "bun":
      return { command: bin("bun"), args: ["--no-env-file", file, ...args] }
    case "deno":
      return { command: bin("deno"), args: ["run", ...DENO_FLAGS, file, ...args] }
  }
}

/** The command that starts the relay under `runtime`: on Node, compiled ahead of time as `npm start` runs it. */
export const relayCommand = (runtime: RuntimeName): Command => {
  if (runtime === "node") return { command: process.execPath, args: [join(ROOT, "runtime/node-aot.mjs")] }
  if (runtime !== "binary") return scriptCommand(runtime, `runtime/${runtime}.ts`)
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run npm run build:binary first`)
  return { command: BINARY, args: [] }
}

/** The runtime the e2e suite runs the relay under: `RELAY_TEST_RUNTIME`, default node. */
export const testRuntime = (): RuntimeName => {
  const name = process.env.RELAY_TEST_RUNTIME ?? "node"
  if (!(RUNTIMES as ReadonlyArray<string>).includes(name)) {
    throw new Error(`RELAY_TEST_RUNTIME must be one of ${RUNTIMES.join(", ")}, got "${name}"`)
  }
  return name as RuntimeName
}
