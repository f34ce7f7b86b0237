import { serve } from "@hono/node-server"
import pino from "pino"
import { ConfigError } from "../config/index.ts"
import { buildRelay, drainAndClose } from "./relay.ts"
import { LOG_REDACT_PATHS } from "./log.ts"
import { nodeUpstreamHttp } from "./node-http.ts"
import { loadNodeSetup } from "./node-setup.ts"
import { openNodeStore } from "./node-store.ts"

const main = async () => {
  const log = pino({ level: process.env.LOG_LEVEL ?? "info", redact: { paths: LOG_REDACT_PATHS, censor: "[redacted]" } })

  let setup
  try {
    setup = await loadNodeSetup(process.env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`${error.message}\n`)
    process.exit(1)
  }
  const { config, keyring } = setup

  const relay = await buildRelay(config, {
    sql: openNodeStore(config.storePath),
    log,
    http: nodeUpstreamHttp(),
    operator: { notice: (text) => process.stdout.write(`${text}\n`) },
    keyring
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
