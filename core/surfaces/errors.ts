import type { Surface } from "../context.ts"
import { errorHeaders, type RelayError } from "../errors.ts"
import { knownOpenAIErrorType } from "../translate/error-types.ts"

const openAIType = (error: RelayError): string => {
  // An Anthropic upstream's rejection reaches an OpenAI caller in OpenAI's words; a type that
  // is neither API's would only confuse an SDK, so the status decides then.
  const upstream = error._tag === "UpstreamRejected" && error.upstreamType ? knownOpenAIErrorType(error.upstreamType) : undefined
  if (upstream) return upstream
  if (error.status === 402) return "insufficient_quota"
  if (error.status === 403) return "permission_error"
  if (error.status === 429) return "rate_limit_error"
  if (error.status >= 500) return "server_error"
  return "invalid_request_error"
}

const anthropicType = (error: RelayError): string => {
  switch (error.status) {
    case 400:
      return "invalid_request_error"
    case 401:
      return "authentication_error"
    case 402:
      return "billing_error"
    case 403:
      return "permission_error"
    case 404:
      return "not_found_error"
    case 413:
      return "request_too_large"
    case 429:
      return "rate_limit_error"
    // SPEC maps 503 to overloaded_error whatever the cause (no key, every key resting, the
    // upstream overloaded): for the caller each is a "not now" rather than a fault.
    case 503:
      return "overloaded_error"
    case 504:
      return "timeout_error"
    default:
      return error.status >= 500 ? "api_error" : "invalid_request_error"
  }
}

/**
 * The code the caller sees: the upstream's own for a request it rejected (an SDK caller looks
 * for `context_length_exceeded`, not the relay's `upstream_rejected`), else the relay's.
 */
const callerCode = (error: RelayError): string =>
  error._tag === "UpstreamRejected" && error.upstreamCode ? error.upstreamCode : error.code

/**
 * The JSON error body of a surface: OpenAI's `{ error: {...} }` or Anthropic's `{ type: "error",
 * error: {...}, request_id }` (the Anthropic SDK reads the id from there into its errors).
 */
export const errorBody = (surface: Surface, error: RelayError, requestId?: string | null): unknown =>
  surface === "anthropic"
    ? {
      type: "error",
      error: { type: anthropicType(error), message: `${error.message} (${callerCode(error)})` },
      ...(requestId ? { request_id: requestId } : {})
    }
    : {
      error: {
        message: error.message,
        type: openAIType(error),
        param: "param" in error && error.param !== undefined ? error.param : null,
        code: callerCode(error)
      }
    }

/** A complete error response; `headers` are added (request id, rate-limit headers). */
export const errorResponse = (surface: Surface, error: RelayError, headers?: Headers): Response => {
  const out = new Headers(headers)
  out.set("content-type", "application/json")
  const extra = errorHeaders(error)
  if (extra) for (const [name, value] of Object.entries(extra)) out.set(name, value)
  const requestId = out.get("x-request-id")
  if (surface === "anthropic" && requestId !== null) out.set("request-id", requestId)
  return new Response(JSON.stringify(errorBody(surface, error, requestId)), { status: error.status, headers: out })
}
