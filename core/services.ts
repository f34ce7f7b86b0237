import { Context } from "effect"
import type { StoreHealth } from "./store-health.ts"

/**
 * The services a runtime supplies. Everything in core/ and plugins/ reaches the outside world
 * through these, so the same code runs on Node, Bun and Deno (runtime/ provides the Layer).
 */

export type SqlValue = string | number | bigint | null | Uint8Array

export interface SqlStatement {
  run(...params: ReadonlyArray<SqlValue>): { readonly changes: number }
  get<T = Record<string, unknown>>(...params: ReadonlyArray<SqlValue>): T | undefined
  all<T = Record<string, unknown>>(...params: ReadonlyArray<SqlValue>): Array<T>
}

/**
 * Synchronous SQLite: all three runtimes' drivers are synchronous, and a small indexed
 * statement costs microseconds, far less than an async hop.
 */
export interface SqlShape {
  exec(sql: string): void
  /**
   * With `bigints`, integer columns are read as bigint: money columns need it, since nano-USD
   * pass Number.MAX_SAFE_INTEGER at about nine million dollars.
   */
  prepare(sql: string, options?: { readonly bigints?: boolean }): SqlStatement
  transaction<T>(fn: () => T): T
  close(): void
}

export class Sql extends Context.Service<Sql, SqlShape>()("relay/Sql") {}

export interface LogShape {
  debug(fields: Record<string, unknown>, message?: string): void
  info(fields: Record<string, unknown>, message?: string): void
  warn(fields: Record<string, unknown>, message?: string): void
  error(fields: Record<string, unknown>, message?: string): void
  /**
   * The line each proxied request leaves (message "request"). Its fields are the pipeline's
   * own and carry no secret, so a logger may skip its redaction pass for it.
   */
  request(fields: Record<string, unknown>): void
}

export class Log extends Context.Service<Log, LogShape>()("relay/Log") {}

/** One upstream request on its way, and its abort switch. */
export interface UpstreamSend {
  readonly response: Promise<Response>
  /**
   * Stops the request: before the response, it rejects; after it, reading its body fails.
   * Pulled when the client goes away or the upstream's time is up.
   */
  abort(): void
}

/**
 * How the relay reaches upstreams: the runtime's HTTP client with its pooled keep-alive agent.
 * Each request has an abort switch of its own rather than fetch's AbortSignal: on Node an
 * AbortSignal and its listener cost about 4 us per request, more than the relay's Effect run.
 */
export interface UpstreamHttpShape {
  /**
   * `fresh` asks for a new connection instead of a pooled one: the retry of a request whose
   * kept-alive connection turned out to be closed by the upstream already.
   */
  send(url: string, init: Omit<RequestInit, "signal">, fresh?: boolean): UpstreamSend
}

export class UpstreamHttp extends Context.Service<UpstreamHttp, UpstreamHttpShape>()("relay/UpstreamHttp") {}

/**
 * The operator's terminal. Unlike the log, it is where a one-time secret (the first-run key)
 * may be shown: it is printed once, never written as a log record.
 */
export interface OperatorShape {
  notice(text: string): void
}

export class Operator extends Context.Service<Operator, OperatorShape>()("relay/Operator") {}

/** A master key that seals stored secrets (BYOK credentials), named by its fingerprint. */
export interface MasterKey {
  readonly id: string
  readonly key: CryptoKey
}

/**
 * The master keys: the current one seals, older ones still open what they sealed until it is
 * re-sealed. Where the keys live (the environment, a file in the data directory) is the
 * runtime's business.
 */
export interface KeyringShape {
  readonly current: MasterKey
  find(id: string): MasterKey | undefined
  /**
   * Makes a new current key when the relay keeps its own key file (older keys stay until
   * `retire`); false when the operator supplies keys through the environment.
   */
  rotate(): Promise<boolean>
  /** Forgets every key but the current one, once nothing is sealed with them. */
  retire(): Promise<void>
}

export class Keyring extends Context.Service<Keyring, KeyringShape>()("relay/Keyring") {}

export type CoreServices = Sql | Log | UpstreamHttp | Operator | Keyring | StoreHealth
