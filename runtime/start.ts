import { existsSync, mkdirSync } from "node:fs"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { ConfigError, errorText, loadConfig, type LoadedConfig } from "../config/index.ts"
import { type KeyringShape, type SqlShape, StoreHealthState, type UpstreamHttpShape } from "../core/index.ts"
import { chargeJournalPath, openChargeJournal } from "./charge-journal.ts"
import { type CheckpointDriver, checkpointOffLoop } from "./checkpoints.ts"
import { loadKeyring } from "./keyring.ts"
import { logLevel, relayLog } from "./log.ts"
import { type BackgroundOutput, fdWriter, LogOut } from "./log-out.ts"
import { connectionsThatFit, openFileLimit } from "./open-files.ts"
import { buildRelay, drainAndClose, type Relay } from "./relay.ts"
import { holdServeLock } from "./serve-lock.ts"

/**
 * Starting and stopping the relay, the same on every runtime. Each entry point (node.ts,
 * bun.ts, deno.ts) supplies only what differs: its HTTP server, SQLite driver, upstream client
 * and signal API. The `node:` modules and `process` used here exist on all three.
 */

export type ShutdownSignal = "SIGTERM" | "SIGINT"

/** A server that listens. */
export interface Listener {
  /** The port bound (the config may ask for 0, any free port). */
  readonly port: number
  /**
   * Stops accepting connections; requests and streams in flight carry on. Resolves once every
   * connection has closed, each in flight as soon as its response has been written out.
   */
  readonly close: () => Promise<void>
  /**
   * Drops every connection still open, for what the drain time left running: each of those
   * requests then ends as if its client had gone, and settles so.
   */
  readonly cut: () => void
}

/** What the server bounds on its own, before a request reaches the relay (see the config's `server`). */
export interface ServerLimits {
  readonly headersTimeoutMs: number
  /** The longest a request may take to arrive whole: a backstop above the relay's own body pace. */
  readonly requestTimeoutMs: number
  readonly keepAliveMs: number
  readonly maxConnections: number
}

export interface Platform {
  /** Named in the "listening" log line, such as `bun 1.4.5`. */
  readonly runtime: string
  readonly openStore: (path: string) => SqlShape
  /** The same driver, opened in the worker thread that checkpoints the store's log (see checkpoints.ts). */
  readonly checkpointDriver: CheckpointDriver
  readonly http: UpstreamHttpShape
  /** Resolves once the server listens. */
  readonly serve: (handle: Relay["fetch"], host: string, port: number, limits: ServerLimits) => Promise<Listener>
  /**
   * Runs `handler` on the first `signal`; a second one meets the runtime's default (the process
   * ends at once), the way out of a drain an operator does not want to wait for.
   */
  readonly onSignal: (signal: ShutdownSignal, handler: () => void) => void
  /** Where log lines go when stdout cannot simply be written without waiting (see LogOut); stdout otherwise. */
  readonly logOutput?: BackgroundOutput
  /**
   * Where a standalone executable lives: without `RELAY_CONFIG` and without a
   * `relay.config.ts` in the working directory, it reads the one beside itself.
   */
  readonly executableDir?: string
  /** The module to import for the config file `file`, when the runtime compiled it ahead (see node-aot.mjs). */
  readonly compiledConfig?: (file: string) => URL | undefined
}

/** Node's and Bun's signal API. */
export const onProcessSignal: Platform["onSignal"] = (signal, handler) => void process.once(signal, handler)

const CONFIG_FILE = "relay.config.ts"

/** Log output held while stdout is not keeping up, at most (bytes). */
const LOG_WAITING_MAX = 16 * 1024 * 1024

/** How long an exiting process waits at most for a full stdout to take its last log lines. */
const EXIT_FLUSH_MS = 1_000

/** How long a stopping relay waits, after the drain, for the server to write out what it has. */
const FLUSH_MS = 1_000

const configPath = (named: string | undefined, executableDir: string | undefined): string => {
  if (named !== undefined && named !== "") return resolve(named)
  const local = resolve(CONFIG_FILE)
  return executableDir === undefined || existsSync(local) ? local : join(executableDir, CONFIG_FILE)
}

/**
 * The server's bounds from the config: the backstop lets the largest upload arrive at the
 * slowest pace allowed, and the connection cap is lowered to what `openFiles` descriptors hold.
 */
const serverLimits = (server: LoadedConfig["server"], openFiles: number | undefined): ServerLimits => {
  const largest = Math.max(server.maxBodyBytes, server.maxUploadBytes)
  const slowestBodyMs = server.bodyTimeoutSeconds * 1000 + (largest * 1000) / server.bodyMinBytesPerSecond
  return {
    headersTimeoutMs: server.headersTimeoutSeconds * 1000,
    requestTimeoutMs: Math.ceil(server.headersTimeoutSeconds * 1000 + slowestBodyMs + 1000),
    keepAliveMs: server.keepAliveSeconds * 1000,
    maxConnections: openFiles === undefined ? server.maxConnections : Math.min(server.maxConnections, connectionsThatFit(openFiles))
  }
}

export interface Setup {
  readonly config: LoadedConfig
  readonly keyring: KeyringShape
  readonly dataDir: string
}

/**
 * What a relay process starts from, read from the environment: the data directory
 * (`RELAY_DATA_DIR`, created on first run with mode 0700: it holds the store and generated
 * secrets), the config (`RELAY_CONFIG`) and the master keys. The server and the command line
 * both start here, so they always open the same store. Throws ConfigError.
 */
export const loadSetup = async (
  env: Readonly<Record<string, string | undefined>>,
  executableDir?: string,
  compiledConfig?: Platform["compiledConfig"]
): Promise<Setup> => {
  const dataDir = resolve(env.RELAY_DATA_DIR ?? "./data")
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const file = configPath(env.RELAY_CONFIG, executableDir)
  const config = await loadConfig(pathToFileURL(file), env, dataDir, compiledConfig?.(file))
  return { config, keyring: await loadKeyring(env, dataDir), dataDir }
}

/**
 * Runs a start-up step. If it fails (a bad config or key, a store that cannot open, an address
 * that cannot be bound), the relay stops with exit 1 and one line on stderr saying which step
 * failed and why, not a stack trace.
 */
const startupStep = async <A>(step: string, run: () => A | Promise<A>): Promise<A> => {
  try {
    return await run()
  } catch (error) {
    process.stderr.write(`${error instanceof ConfigError ? error.message : `${step}: ${errorText(error)}`}\n`)
    process.exit(1)
  }
}

/**
 * Starts the relay: reads the environment, creates the data directory on first run (mode 0700:
 * it holds the store and generated secrets), loads the config, serves it, and on SIGTERM or
 * SIGINT stops accepting, drains in-flight requests, closes the store and exits 0.
 */
export const start = async (platform: Platform): Promise<void> => {
  const level = await startupStep("LOG_LEVEL", () => logLevel(process.env.LOG_LEVEL, "info"))
  // A full stdout (a log reader falling behind) must not stop the event loop: lines then wait
  // in memory, up to LOG_WAITING_MAX, and are dropped past it (see LogOut).
  const logOut = new LogOut(platform.logOutput?.tryWrite ?? fdWriter(1), LOG_WAITING_MAX, platform.logOutput?.settled)
  // Lines go out at the end of a turn: an exit in the middle of one (a second signal, say)
  // writes them first, waiting a moment at most for an output that takes nothing.
  process.on("exit", () => logOut.flushSync(EXIT_FLUSH_MS))
  const log = relayLog(level, logOut)
  const { config, keyring } = await startupStep("the data directory could not be used", () => loadSetup(process.env, platform.executableDir, platform.compiledConfig))
  const sql = await startupStep(`the store ${config.storePath} could not be opened`, () => platform.openStore(config.storePath))
  const serveLock = await startupStep("the relay could not start", () => holdServeLock(platform.openStore, config.storePath))
  const storeHealth = new StoreHealthState()
  // A store in memory outlives no crash and has no log: its charges need no journal, and
  // nothing of it is checkpointed.
  const onDisk = config.storePath !== ":memory:"
  // Opened once the serve lock is held: this process is then the one writer of charges.
  const chargeJournal = !onDisk
    ? undefined
    : await startupStep("the charge journal could not be opened", () => openChargeJournal(chargeJournalPath(config.storePath)))
  const relay = await startupStep("the relay could not be set up", () =>
    buildRelay(config, { sql, log, http: platform.http, operator: { notice: (text) => process.stdout.write(`${text}\n`) }, keyring, storeHealth, chargeJournal }))
  // From here on a lock held by another process (a store command, an outside tool) must never
  // hold up the event loop: a write it blocks fails at once and is tried again later (charges
  // are kept until then), instead of the driver waiting synchronously for the lock.
  sql.exec("PRAGMA busy_timeout = 0")
  const checkpoints = !onDisk ? undefined : checkpointOffLoop(sql, config.storePath, platform.checkpointDriver, {
    onFallback: (reason) => log.warn({ reason }, "the store's log is checkpointed on the event loop again")
  })

  const { host, port } = config.server
  const openFiles = openFileLimit()
  const limits = serverLimits(config.server, openFiles)
  if (limits.maxConnections < config.server.maxConnections) {
    log.warn(
      { configured: config.server.maxConnections, effective: limits.maxConnections, openFileLimit: openFiles },
      "connection cap lowered to fit the open-file limit (two descriptors per streamed request and a reserve); raise `ulimit -n` to allow more"
    )
  }
  const listener = await startupStep(`the relay could not listen on ${host}:${port}`, () => platform.serve(relay.fetch, host, port, limits))
  log.info({ host, port: listener.port, runtime: platform.runtime }, "listening")

  let stopping = false
  const stop = async (signal: ShutdownSignal) => {
    // The second signal of the same name meets the runtime's default; the other name would
    // only reach this handler, so it ends the process here, as a death by that signal would.
    if (stopping) process.exit(signal === "SIGINT" ? 130 : 143)
    stopping = true
    log.info({ signal }, "shutting down")
    const closed = listener.close()
    // Before the store closes under it: what the drain still writes is checkpointed as SQLite does on its own.
    checkpoints?.stop()
    await drainAndClose(relay, config.server.drainSeconds, log, listener.cut)
    serveLock.release()
    // A drained stream has settled once its last chunk left the relay, which may be before the
    // server has written it out: exiting now could cut the response short.
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, FLUSH_MS))])
    log.info({}, "stopped")
    await logOut.flush()
    process.exit(0)
  }
  platform.onSignal("SIGTERM", () => void stop("SIGTERM"))
  platform.onSignal("SIGINT", () => void stop("SIGINT"))
}
