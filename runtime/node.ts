import { serve } from "@hono/node-server"
import Database from "better-sqlite3"
import { mkdirSync } from "node:fs"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import pino from "pino"
import type { SqlShape, SqlValue } from "../core/index.ts"
import { ConfigError, loadConfig } from "../config/index.ts"
import { buildRelay, drainAndClose } from "./relay.ts"
import { LOG_REDACT_PATHS } from "./log.ts"

/** better-sqlite3 behind the relay's Sql service, in WAL mode. */
const openStore = (path: string): SqlShape => {
  const db = new Database(path)
  db.pragma("journal_mode = WAL")
  db.pragma("synchronous = NORMAL")
  db.pragma("foreign_keys = ON")
  db.pragma("busy_timeout = 5000")
  return {
    exec: (sql) => void db.exec(sql),
    prepare: (sql) => {
      const statement = db.prepare<Array<SqlValue>>(sql)
      return {
        run: (...params) => ({ changes: statement.run(...params).changes }),
        get: <T>(...params: ReadonlyArray<SqlValue>) => statement.get(...params) as T | undefined,
        all: <T>(...params: ReadonlyArray<SqlValue>) => statement.all(...params) as Array<T>
      }
    },
    transaction: (fn) => db.transaction(fn)(),
    close: () => db.close()
  }
}

const main = async () => {
  const log = pino({ level: process.env.LOG_LEVEL ?? "info", redact: { paths: LOG_REDACT_PATHS, censor: "[redacted]" } })
  const dataDir = resolve(process.env.RELAY_DATA_DIR ?? "./data")
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const configPath = resolve(process.env.RELAY_CONFIG ?? "./relay.config.ts")

  let config
  try {
    config = await loadConfig(pathToFileURL(configPath), process.env, dataDir)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`${error.message}\n`)
    process.exit(1)
  }

  const relay = await buildRelay(config, {
    sql: openStore(config.storePath),
    log,
    http: { fetch: (url, init) => fetch(url, init) },
    operator: { notice: (text) => process.stdout.write(`${text}\n`) }
  })

  const { host, port } = config.server
  const server = serve({ fetch: relay.fetch, hostname: host, port }, (address) => {
    log.info({ host, port: address.port, runtime: `node ${process.version}` }, "listening")
  })

  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal }, "shutting down")
    server.close()
    if ("closeIdleConnections" in server) server.closeIdleConnections()
    await drainAndClose(relay, config.server.drainSeconds, log)
    if ("closeAllConnections" in server) server.closeAllConnections()
    log.info({}, "stopped")
    log.flush()
    process.exit(0)
  }
  process.once("SIGTERM", () => void stop("SIGTERM"))
  process.once("SIGINT", () => void stop("SIGINT"))
}

await main()
