import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { SettleRecord } from "../fixtures/audit-plugin.ts"
import { relayCommand, ROOT, testRuntime } from "./runtimes.ts"

export { ROOT } from "./runtimes.ts"
/** What the relay runs on in this test run (`RELAY_TEST_RUNTIME`). */
export const RUNTIME = testRuntime()
export const TEST_CONFIG = join(ROOT, "test/fixtures/relay.test-config.ts")
export const ADMIN_KEY = "admin-test-key-0123456789abcdef"

export interface RelayProcess {
  readonly url: string
  /** `${url}/v1`, the base URL an SDK is given. */
  readonly baseURL: string
  /** The first-run key printed at start (undefined when the store was not empty). */
  readonly firstRunKey: string | undefined
  readonly dataDir: string
  /** Everything the process printed so far, stdout and stderr. */
  output(): string
  /** Calls the admin API with the admin key. */
  admin(method: string, path: string, body?: unknown): Promise<Response>
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
  readonly child: ChildProcess
}

export interface StartOptions {
  readonly config?: string
  readonly env?: Record<string, string | undefined>
  /** Reuse a data directory (to restart on the same store). */
  readonly dataDir?: string
  /** Keep the data directory after stop. */
  readonly keepData?: boolean
  /** Working directory of the process; the repository root unless given. */
  readonly cwd?: string
  /** Run this executable (a copy of the binary) instead of the test runtime's command. */
  readonly executable?: string
  /** The process's limit of open file descriptors (`ulimit -n`), to run it out of them. */
  readonly maxOpenFiles?: number
}

/** Spawns the relay under the test runtime with only the environment given (plus PATH and HOME). */
const spawnRelay = (env: Record<string, string | undefined>, options: Pick<StartOptions, "cwd" | "executable" | "maxOpenFiles"> = {}): ChildProcess => {
  const relay = options.executable === undefined ? relayCommand(RUNTIME) : { command: options.executable, args: [] }
  const { command, args } = options.maxOpenFiles === undefined
    ? relay
    : { command: "/bin/sh", args: ["-c", `ulimit -n ${options.maxOpenFiles} && exec "$0" "$@"`, relay.command, ...relay.args] }
  return spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    // RELAY_TEST_PORTS: which stores the relay's plugins use (test/fixtures/test-ports.ts).
    env: { PATH: process.env.PATH, HOME: process.env.HOME, RELAY_TEST_PORTS: process.env.RELAY_TEST_PORTS, ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
}

const FIRST_RUN_KEY = /^ {2}(sk-rr-[0-9A-Za-z]+)$/m

/** Starts the real relay process on a free port and waits until it listens. */
export const startRelay = async (options: StartOptions = {}): Promise<RelayProcess> => {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "relay-test-"))
  const child = spawnRelay({
    RELAY_DATA_DIR: dataDir,
    RELAY_CONFIG: options.config ?? TEST_CONFIG,
    RELAY_ADMIN_KEY: ADMIN_KEY,
    PORT: "0",
    LOG_LEVEL: "info",
    ...options.env
  }, options)
  let output = ""
  child.stdout!.setEncoding("utf8").on("data", (text: string) => (output += text))
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (output += text))
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))

  const port = await new Promise<number>((resolvePort, reject) => {
    const deadline = setTimeout(() => reject(new Error(`relay did not start:\n${output}`)), 30_000)
    const check = () => {
      const match = /"port":(\d+)[^\n]*"msg":"listening"/.exec(output)
      if (match) {
        clearTimeout(deadline)
        resolvePort(Number(match[1]))
      }
    }
    child.stdout!.on("data", check)
    void exited.then((code) => {
      clearTimeout(deadline)
      reject(new Error(`relay exited with ${code} before listening:\n${output}`))
    })
  })
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    baseURL: `${url}/v1`,
    firstRunKey: FIRST_RUN_KEY.exec(output)?.[1],
    dataDir,
    child,
    output: () => output,
    admin: (method, path, body) =>
      fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      }),
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null) child.kill(signal)
      const code = await exited
      if (!options.keepData && options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true })
      return code
    }
  }
}

/** Runs the relay until it exits by itself (a bad config), returning its code and output. */
export const runRelayToExit = async (env: Record<string, string>): Promise<{ code: number | null; output: string }> => {
  const dataDir = mkdtempSync(join(tmpdir(), "relay-test-"))
  const child = spawnRelay({ RELAY_DATA_DIR: dataDir, PORT: "0", ...env })
  let output = ""
  child.stdout!.setEncoding("utf8").on("data", (text: string) => (output += text))
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (output += text))
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000)
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve))
  clearTimeout(timer)
  rmSync(dataDir, { recursive: true, force: true })
  return { code, output }
}

/** What the audit test plugin recorded at settle, for every request so far. */
export const settles = async (relay: RelayProcess): Promise<Array<SettleRecord>> =>
  ((await (await relay.admin("GET", "/test/settles")).json()) as { data: Array<SettleRecord> }).data

/** Waits until `check` passes (settles happen just after the response ends). */
export const eventually = async <T>(check: () => Promise<T> | T, ms = 3_000): Promise<T> => {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }
}
