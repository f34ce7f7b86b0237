import { Effect } from "effect"
import { readerOf } from "./chunk-reader.ts"
import type { KeyFailure } from "./context.ts"
import {
  RelayBusy,
  type RelayError,
  UpstreamFailed,
  UpstreamRejected,
  UpstreamTimeout,
  UpstreamUnavailable
} from "./errors.ts"
import type { KeyPool } from "./key-pool.ts"
import { redact } from "./redact.ts"
import type { LogShape, UpstreamHttpShape, UpstreamSend } from "./services.ts"
import { bytesOf } from "./whole-body.ts"

const decoder = new TextDecoder()

export interface UpstreamTarget {
  readonly provider: string
  readonly pool: KeyPool
  /**
   * Whose keys these are: the operator's shared pool, or the caller's own (BYOK). A rejected
   * shared key is the operator's problem and another key is tried; a rejected caller key is
   * the caller's, and they are told.
   */
  readonly owner: "shared" | "caller"
  /** Time allowed until the upstream's response headers arrive. */
  readonly timeoutMs: number
  /** The request to send with one key of the pool. */
  readonly request: (secret: string) => { readonly url: string; readonly init: RequestInit }
  /** Where each failed key is recorded besides the log: the request's `ctx.keyFailures`. */
  readonly failures?: Array<KeyFailure>
}

const RATE_LIMIT_REST_MS = 20_000
const FAILURE_REST_MS = 5_000
const REJECTED_REST_MS = 60_000
/** Refusals in a row that do not name the key, before the key rests as rejected. */
const REQUEST_REFUSALS_TO_REST = 3
/** What a caller turned away for the relay's own shortage is told to wait. */
const RELAY_BUSY_RETRY_SECONDS = 1

/**
 * Errors of the relay's own machine, not of the upstream or the key: out of file descriptors,
 * ephemeral ports, buffers or memory, under Node's names and Bun's.
 */
const RELAY_RESOURCE_CODES = new Set([
  "EMFILE", "ENFILE", "EADDRNOTAVAIL", "ENOBUFS", "ENOMEM",
  "ProcessFdQuotaExceeded", "SystemFdQuotaExceeded", "SystemResources", "AddressNotAvailable"
])

/** The system error code of a failed connection (ECONNREFUSED, EMFILE...), or of its cause. */
const errorCode = (error: unknown): string | undefined => {
  for (let cause = error, depth = 0; typeof cause === "object" && cause !== null && depth < 4; depth++) {
    const code = (cause as { code?: unknown }).code
    if (typeof code === "string") return code
    cause = (cause as { cause?: unknown }).cause
  }
  return undefined
}

const relayResourceCode = (error: unknown): string | undefined => {
  const code = errorCode(error)
  return code !== undefined && RELAY_RESOURCE_CODES.has(code) ? code : undefined
}

/**
 * Whether a 401/403 is about the key rather than the request: the upstream says the key is
 * invalid (OpenAI's `invalid_api_key`, Anthropic's `authentication_error`), its message names
 * an API key, or it is a 401 that says nothing more. A 403 such as "project does not have
 * access to model X" is the request's.
 */
const namesTheKey = (status: number, error: UpstreamError): boolean =>
  error.code === "invalid_api_key" ||
  error.type === "authentication_error" ||
  /api[ _-]?key|credential/i.test(error.message) ||
  (status === 401 && error.code === undefined && error.type === undefined)

/** Retry-After in seconds or as an HTTP date, in milliseconds from now. */
const retryAfterMs = (response: Response): number | undefined => {
  const value = response.headers.get("retry-after")
  if (value === null) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now())
}

/**
 * A machine-readable field of an upstream error (code, type, param) is passed on only when it is
 * a plain token that is no secret: the body is the upstream's, and may echo anything.
 */
const PLAIN_TOKEN = /^[A-Za-z0-9_.[\]-]{1,64}$/

const plainToken = (value: unknown, secrets: ReadonlyArray<string>): string | undefined =>
  typeof value === "string" && PLAIN_TOKEN.test(value) && redact(value, secrets) === value ? value : undefined

interface UpstreamError {
  readonly message: string
  readonly code?: string
  readonly type?: string
  readonly param?: string
}

/**
 * Reads `{ error: { message, type, param, code } }`, the error body of both OpenAI and
 * Anthropic (which has no code or param). The message is redacted, and code, type and param
 * are kept only as plain tokens; nothing else of the body is.
 */
const readUpstreamError = async (response: Response, secrets: ReadonlyArray<string>): Promise<UpstreamError> => {
  const text = await bytesOf(response).then((bytes) => decoder.decode(bytes), () => "")
  let error: { message?: unknown; code?: unknown; type?: unknown; param?: unknown } | undefined
  try {
    const parsed = (JSON.parse(text) as { error?: unknown } | null)?.error
    if (typeof parsed === "object" && parsed !== null) error = parsed
  } catch {
    // Not JSON (a proxy's HTML page, say): the status alone is the message.
  }
  const message = typeof error?.message === "string" && error.message.length > 0
    ? redact(error.message, secrets)
    : `upstream answered ${response.status}`
  const code = plainToken(error?.code, secrets)
  const type = plainToken(error?.type, secrets)
  const param = plainToken(error?.param, secrets)
  return { message, ...(code ? { code } : {}), ...(type ? { type } : {}), ...(param ? { param } : {}) }
}

/**
 * The 503 for a pool whose every key rests after a 429 or a rejected credential: it says which
 * (a refused key is the operator's to fix, not a load problem), and when a key is tried again.
 */
const keysResting = (target: UpstreamTarget, rateLimited: boolean, rejected: boolean): UpstreamUnavailable => {
  const { provider } = target
  return new UpstreamUnavailable({
    message: !rejected
      ? `every ${provider} key is rate-limited upstream`
      : rateLimited
      ? `every ${provider} key is rate-limited upstream or was rejected (401/403); they are tried again after a rest`
      : `${provider} rejected every key of this relay (401/403); they are tried again after a rest`,
    // A key's rest can already be over (a 429 with Retry-After: 0): come back at once, then.
    retryAfterSeconds: target.pool.retryAfterSeconds() ?? 1
  })
}

/**
 * Success or a typed failure. Not told apart with `instanceof Response`: a runtime adapter may
 * replace the global Response class, and fetch's own responses are then of another class.
 */
type Attempt = { readonly response: Response } | { readonly error: RelayError }

/**
 * A request's abort switch: the client going away and the upstream's timeout both pull it,
 * and it stops the upstream request in flight, if any.
 */
class AbortSwitch {
  pulled = false
  private inFlight: UpstreamSend | undefined

  pull(): void {
    this.pulled = true
    this.inFlight?.abort()
  }

  /** Sends through `http`, under this switch. */
  send(http: UpstreamHttpShape, url: string, init: RequestInit, fresh: boolean): Promise<Response> {
    this.inFlight = http.send(url, init, fresh)
    return this.inFlight.response
  }
}

/**
 * Sends one request through the pool: round-robin over the keys, moving to the next key on
 * 429, 5xx, a rejected credential or a connection error, all before any byte has reached the
 * client. An upstream 4xx that is about the request itself ends the attempt with its status.
 * The first connection error is retried once with the same key on a fresh connection: a
 * kept-alive connection the upstream had closed already fails that way, and is no key's fault.
 */
const attempt = async (
  http: UpstreamHttpShape,
  log: LogShape,
  target: UpstreamTarget,
  aborts: AbortSwitch
): Promise<Attempt> => {
  const { pool } = target
  const failed = (slot: number, reason: KeyFailure["reason"], status?: number, code?: string) => {
    log.warn({ provider: target.provider, slot, reason, status, code }, "upstream key failed")
    target.failures?.push({ provider: target.provider, owner: target.owner, slot, reason })
  }
  const candidates = pool.candidates()
  if (candidates.length === 0) {
    // Keys resting after a failure are always candidates: only 429s and rejections leave none.
    return {
      error: pool.size === 0
        ? new UpstreamUnavailable({ message: `no upstream credential is configured for provider ${target.provider}` })
        : keysResting(target, pool.rests("rate_limited"), pool.rests("rejected"))
    }
  }
  const timedOut = () => ({
    error: new UpstreamTimeout({ message: `${target.provider} did not answer within ${target.timeoutMs / 1000} s` })
  })
  let rateLimited = 0
  let rejected = 0
  let overloaded = 0
  let retried = false
  let fresh = false
  for (let k = 0; k < candidates.length; k++) {
    const key = candidates[k]!
    const { url, init } = target.request(key.secret)
    let expired = false
    // Covers the wait for the response headers, and the reading of an error body.
    const timer = setTimeout(() => {
      expired = true
      aborts.pull()
    }, target.timeoutMs)
    let response: Response
    try {
      response = await aborts.send(http, url, init, fresh)
      fresh = false
    } catch (error) {
      clearTimeout(timer)
      if (expired) return timedOut()
      if (aborts.pulled) throw error
      const shortage = relayResourceCode(error)
      if (shortage !== undefined) {
        log.error({ provider: target.provider, code: shortage }, "the relay is out of resources for upstream connections")
        return { error: new RelayBusy({ message: "the relay is out of capacity for upstream connections; retry shortly", retryAfterSeconds: RELAY_BUSY_RETRY_SECONDS }) }
      }
      if (!retried) {
        retried = true
        fresh = true
        k--
        continue
      }
      fresh = false
      pool.cool(key.slot, "failing", FAILURE_REST_MS)
      failed(key.slot, "connection", undefined, errorCode(error))
      continue
    }
    const status = response.status
    if (status < 400) {
      clearTimeout(timer)
      pool.served(key.slot)
      return { response }
    }
    if (status === 429) {
      rateLimited++
      pool.cool(key.slot, "rate_limited", retryAfterMs(response) ?? RATE_LIMIT_REST_MS)
    } else if (status >= 500) {
      if (status === 529 || status === 503) overloaded++
      pool.cool(key.slot, "failing", FAILURE_REST_MS)
    } else {
      const error = await readUpstreamError(response, pool.secrets)
      if ((status === 401 || status === 403) && target.owner === "shared" && namesTheKey(status, error)) {
        // The operator's key was refused: that is not the caller's fault, so try another key.
        rejected++
        pool.cool(key.slot, "rejected", REJECTED_REST_MS)
        clearTimeout(timer)
        if (expired) return timedOut()
        failed(key.slot, "rejected", status)
        continue
      }
      clearTimeout(timer)
      if (expired) return timedOut()
      const refused = status === 401 || status === 403
      if (refused && target.owner === "shared" && pool.refusedRequest(key.slot, REQUEST_REFUSALS_TO_REST, REJECTED_REST_MS)) {
        failed(key.slot, "rejected", status)
      }
      return {
        error: new UpstreamRejected({
          // A caller's own key refused is theirs to fix: tell them so.
          message: refused && target.owner === "caller" ? `${target.provider} rejected your stored credential: ${error.message}` : error.message,
          upstreamStatus: status,
          ...(error.code ? { upstreamCode: error.code } : {}),
          ...(error.type ? { upstreamType: error.type } : {}),
          ...(error.param ? { param: error.param } : {})
        })
      }
    }
    clearTimeout(timer)
    readerOf(response)?.cancel()
    failed(key.slot, status === 429 ? "rate_limited" : status >= 500 ? "server_error" : "rejected", status)
  }
  // Every key now rests without being probed (unlike one that failed): the provider cannot be
  // reached until a rest ends, which is SPEC's 503, the same answer the next request gets.
  if (rateLimited + rejected === candidates.length) {
    return { error: keysResting(target, rateLimited > 0, rejected > 0) }
  }
  // Overloaded only when every key said so; a mix with other failures is a plain failure.
  if (overloaded === candidates.length) {
    const retryAfterSeconds = pool.retryAfterSeconds()
    return {
      error: new UpstreamUnavailable({
        message: `${target.provider} is overloaded`,
        ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {})
      })
    }
  }
  return { error: new UpstreamFailed({ message: `every ${target.provider} key failed` }) }
}

/**
 * The Effect around one upstream call: interrupting it (the client went away) aborts the
 * request in flight, including the reading of an error body.
 */
export const sendUpstream = (
  http: UpstreamHttpShape,
  log: LogShape,
  target: UpstreamTarget
): Effect.Effect<Response, RelayError> =>
  Effect.callback<Response, RelayError>((resume) => {
    const aborts = new AbortSwitch()
    attempt(http, log, target, aborts).then(
      (result) => resume("response" in result ? Effect.succeed(result.response) : Effect.fail(result.error)),
      () => resume(Effect.fail(new UpstreamFailed({ message: `${target.provider} request failed` })))
    )
    return Effect.sync(() => aborts.pull())
  })
