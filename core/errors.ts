import { Data } from "effect"

/**
 * Every expected failure of a request is one of these tagged errors. Each knows its HTTP
 * status and machine-readable code; a surface (OpenAI, Anthropic) renders it in its own shape.
 * Messages are shown to callers as they are, so they must never carry a secret.
 */
interface Fields {
  readonly message: string
}

export class InvalidRequest extends Data.TaggedError("InvalidRequest")<Fields & { readonly param?: string }> {
  readonly status = 400
  readonly code = "invalid_request"
}

export class Unauthorized extends Data.TaggedError("Unauthorized")<Fields> {
  readonly status = 401
  readonly code = "invalid_api_key"
}

export class InsufficientBalance extends Data.TaggedError("InsufficientBalance")<Fields> {
  readonly status = 402
  readonly code = "insufficient_balance"
}

/** The key's own spend limit for its period is reached (not the account's balance). */
export class KeySpendLimitExceeded extends Data.TaggedError("KeySpendLimitExceeded")<Fields> {
  readonly status = 402
  readonly code = "key_spend_limit_exceeded"
}

/** The key is past its expiry time. */
export class KeyExpired extends Data.TaggedError("KeyExpired")<Fields> {
  readonly status = 401
  readonly code = "key_expired"
}

/** The model is outside the key's model list. */
export class ModelNotAllowed extends Data.TaggedError("ModelNotAllowed")<Fields> {
  readonly status = 403
  readonly code = "model_not_allowed"
}

/** The key's account is suspended: every key of it is refused until the operator resumes it. */
export class AccountSuspended extends Data.TaggedError("AccountSuspended")<Fields> {
  readonly status = 403
  readonly code = "account_suspended"
}

export class ByokCredentialMissing extends Data.TaggedError("ByokCredentialMissing")<Fields> {
  readonly status = 403
  readonly code = "byok_credential_missing"
}

export class RouteNotFound extends Data.TaggedError("RouteNotFound")<Fields> {
  readonly status = 404
  readonly code = "not_found"
}

export class ModelNotFound extends Data.TaggedError("ModelNotFound")<Fields> {
  readonly status = 404
  readonly code = "model_not_found"
}

export class PayloadTooLarge extends Data.TaggedError("PayloadTooLarge")<Fields> {
  readonly status = 413
  readonly code = "request_too_large"
}

/** The client did not send its request body in the time its size allows. */
export class RequestTimeout extends Data.TaggedError("RequestTimeout")<Fields> {
  readonly status = 408
  readonly code = "request_timeout"
}

export class RateLimited extends Data.TaggedError("RateLimited")<Fields & { readonly retryAfterSeconds: number }> {
  readonly status = 429
  readonly code = "rate_limit_exceeded"
}

/**
 * The upstream refused the request itself (a 4xx other than 429): its status is kept, and its
 * own code (`context_length_exceeded`), type and param when it gave them as plain tokens. `code`
 * stays the relay's, for logs; the surfaces show the caller the upstream's.
 */
export class UpstreamRejected extends Data.TaggedError("UpstreamRejected")<
  Fields & {
    readonly upstreamStatus: number
    readonly upstreamCode?: string
    readonly upstreamType?: string
    readonly param?: string
  }
> {
  get status() {
    return this.upstreamStatus
  }
  readonly code = "upstream_rejected"
}

/** Every pool key failed, some with a 5xx or a connection error (keys the next request probes again). */
export class UpstreamFailed extends Data.TaggedError("UpstreamFailed")<Fields> {
  readonly status = 502
  readonly code = "upstream_error"
}

/**
 * No credential configured; or every pool key rests after a 429 or a rejected credential, or
 * is overloaded (then with the seconds until a key is usable again).
 */
export class UpstreamUnavailable extends Data.TaggedError("UpstreamUnavailable")<
  Fields & { readonly retryAfterSeconds?: number }
> {
  readonly status = 503
  readonly code = "upstream_unavailable"
}

/**
 * The relay itself cannot take the request now: out of file descriptors, sockets or memory
 * towards the upstream, or at a connection cap. Never a key's fault, so no key is rested.
 */
export class RelayBusy extends Data.TaggedError("RelayBusy")<Fields & { readonly retryAfterSeconds: number }> {
  readonly status = 503
  readonly code = "relay_busy"
}

export class UpstreamTimeout extends Data.TaggedError("UpstreamTimeout")<Fields> {
  readonly status = 504
  readonly code = "upstream_timeout"
}

/**
 * The store refuses writes (a full disk, a read-only file, a lock held elsewhere): the relay
 * cannot record what a request would cost, so it serves none until it can (fail closed).
 */
export class StoreUnavailable extends Data.TaggedError("StoreUnavailable")<Fields & { readonly retryAfterSeconds?: number }> {
  readonly status = 503
  readonly code = "store_unavailable"
}

/** The relay is shutting down: it takes no new request (another node, or this one restarted, will). */
export class ShuttingDown extends Data.TaggedError("ShuttingDown")<Fields & { readonly retryAfterSeconds?: number }> {
  readonly status = 503
  readonly code = "shutting_down"
}

export class Internal extends Data.TaggedError("Internal")<Fields> {
  readonly status = 500
  readonly code = "internal_error"
}

export type RelayError =
  | InvalidRequest
  | Unauthorized
  | InsufficientBalance
  | KeySpendLimitExceeded
  | KeyExpired
  | ModelNotAllowed
  | AccountSuspended
  | ByokCredentialMissing
  | RouteNotFound
  | ModelNotFound
  | PayloadTooLarge
  | RequestTimeout
  | RateLimited
  | UpstreamRejected
  | UpstreamFailed
  | UpstreamUnavailable
  | RelayBusy
  | UpstreamTimeout
  | StoreUnavailable
  | ShuttingDown
  | Internal

/** Extra response headers an error asks for (Retry-After on 429 and 503). */
export const errorHeaders = (error: RelayError): Record<string, string> | undefined => {
  // What is left of a body that came too slowly is not worth waiting for: the connection goes.
  if (error._tag === "RequestTimeout") return { connection: "close" }
  if (
    (error._tag === "RateLimited" || error._tag === "UpstreamUnavailable" || error._tag === "StoreUnavailable" || error._tag === "ShuttingDown" || error._tag === "RelayBusy") &&
    error.retryAfterSeconds !== undefined
  ) {
    return { "retry-after": String(Math.max(1, Math.ceil(error.retryAfterSeconds))) }
  }
  return undefined
}
