/** Seconds a caller turned away at the connection cap is told to wait. */
const CAP_RETRY_SECONDS = 1

/**
 * The answer past the server's connection cap: SPEC's 429 with Retry-After, in OpenAI's shape
 * (no route has been read yet), and the connection closed after it.
 */
export const capAnswer = (): Response =>
  new Response(
    JSON.stringify({
      error: { message: "the relay has too many open connections; retry shortly", type: "rate_limit_error", param: null, code: "too_many_connections" }
    }),
    { status: 429, headers: { "content-type": "application/json", "retry-after": String(CAP_RETRY_SECONDS), connection: "close" } }
  )
