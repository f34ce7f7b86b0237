import { hostname } from "node:os"
import pino, { type DestinationStream } from "pino"
import { ConfigError } from "../config/index.ts"
import type { LogShape } from "../core/index.ts"

/**
 * Paths the logger censors wherever they appear. Request log lines never carry headers or
 * bodies in the first place; this is the second line of defence for anything that slips in.
 */
const LOG_REDACT_PATHS = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "x-api-key",
  "*.x-api-key",
  "api_key",
  "*.api_key",
  "apiKey",
  "*.apiKey",
  "key",
  "*.key",
  "secret",
  "*.secret",
  "adminKey",
  "*.adminKey"
]

export type RelayLog = LogShape & { readonly flush: () => void }

const LEVELS = [...Object.keys(pino.levels.values), "silent"]

/** `LOG_LEVEL`, or `fallback` when unset; a level pino does not know stops the relay with a message. */
export const logLevel = (value: string | undefined, fallback: string): string => {
  if (value === undefined || value === "") return fallback
  if (!LEVELS.includes(value)) throw new ConfigError(`environment variable LOG_LEVEL must be one of ${LEVELS.join(", ")}, got "${value}"`)
  return value
}

/**
 * The relay's JSON logger on `destination`. Every line passes the redaction paths except the
 * per-request line, whose fields the pipeline picks itself (ids, model, numbers) and which is
 * written once per request: the redaction pass would be a tenth of a relayed request's cost.
 */
export const relayLog = (level: string, destination: DestinationStream): RelayLog => {
  const redacted = pino({ level, redact: { paths: LOG_REDACT_PATHS, censor: "[redacted]" } }, destination)
  return {
    debug: (fields, message) => redacted.debug(fields, message),
    info: (fields, message) => redacted.info(fields, message),
    warn: (fields, message) => redacted.warn(fields, message),
    error: (fields, message) => redacted.error(fields, message),
    request: redacted.isLevelEnabled("info") ? requestLines(destination) : () => undefined,
    flush: () => redacted.flush()
  }
}

/**
 * The per-request line, as pino writes an info line (level, time, pid, hostname, the fields,
 * the message), put together here: the line is written once per request, and pino's way
 * through its serialisers and hooks costs a relayed request a few microseconds more.
 */
const requestLines = (destination: DestinationStream) => {
  const level = `{"level":${pino.levels.values.info},"time":`
  const origin = `,"pid":${process.pid},"hostname":${JSON.stringify(hostname())},`
  return (fields: Record<string, unknown>) => {
    const json = JSON.stringify(fields)
    destination.write(`${level}${Date.now()}${origin}${json.length > 2 ? `${json.slice(1, -1)},` : ""}"msg":"request"}\n`)
  }
}
