/** Error types in each protocol's words (PROTOCOLS.md 4.1), for errors that cross from one to the other. */

const OPENAI_TYPE_OF: Readonly<Record<string, string>> = {
  authentication_error: "invalid_request_error",
  not_found_error: "invalid_request_error",
  request_too_large: "invalid_request_error",
  billing_error: "insufficient_quota",
  api_error: "server_error",
  overloaded_error: "server_error",
  timeout_error: "server_error"
}

/** An Anthropic error type as OpenAI names it; types both share (and OpenAI's own) stay. */
export const openAIErrorType = (type: string): string => OPENAI_TYPE_OF[type] ?? type

/**
 * The error types of OpenAI's shape: those its API answers with (the 429 ones, `requests` and
 * `tokens`, included) and those the relay's own OpenAI-shaped errors use.
 */
const OPENAI_TYPES: ReadonlySet<string> = new Set([
  "invalid_request_error",
  "permission_error",
  "rate_limit_error",
  "insufficient_quota",
  "requests",
  "tokens",
  "server_error"
])

/** An OpenAI or Anthropic error type in OpenAI's words, or undefined when it is neither's. */
export const knownOpenAIErrorType = (type: string): string | undefined => {
  const openAI = openAIErrorType(type)
  return OPENAI_TYPES.has(openAI) ? openAI : undefined
}

/** An OpenAI error type as Anthropic names it. */
export const anthropicErrorType = (type: string): string => {
  switch (type) {
    case "invalid_request_error":
    case "permission_error":
    case "rate_limit_error":
      return type
    case "insufficient_quota":
      return "billing_error"
    case "requests":
    case "tokens":
    case "rate_limit_exceeded":
      return "rate_limit_error"
    default:
      return "api_error"
  }
}
