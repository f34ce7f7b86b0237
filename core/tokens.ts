/**
 * Prompt-size estimates for admission (rate limits, balance reservations) before the upstream
 * has counted anything. They are corrected with the upstream's usage at settle, so they need to
 * be close and cheap, not exact.
 */

/** Counts the tokens of `text` for a model, at once: what a TokenCounting port that needs no I/O wraps. */
export type TokenCounter = (text: string, model: string) => number

/** Tokens charged for one image in a prompt: OpenAI's high-detail tile cost for a 1024px square. */
const IMAGE_TOKENS = 765
/** Per-message framing (role, separators) that the text alone does not show. */
const MESSAGE_OVERHEAD = 4

/** About four characters of English per token: the fallback when no tokenizer fits. */
export const heuristicCount: TokenCounter = (text) => (text.length === 0 ? 0 : Math.ceil(text.length / 4))

const PROMPT_FIELDS = ["messages", "system", "tools", "input", "prompt", "instructions"] as const

interface PromptParts {
  text: string
  images: number
  tokens: number
}

const collect = (value: unknown, parts: PromptParts): void => {
  if (typeof value === "number") {
    // Embedding input may be token ids already: one token each.
    parts.tokens++
  } else if (typeof value === "string") {
    parts.text += value
    parts.text += "\n"
  } else if (Array.isArray(value)) {
    for (const item of value) collect(item, parts)
  } else if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>
    const type = record.type
    if (type === "image_url" || type === "image" || type === "input_image") {
      parts.images++
      return
    }
    for (const key in record) {
      // Block types and roles are framing, counted per message below.
      if (key !== "type" && key !== "role") collect(record[key], parts)
    }
  }
}

/**
 * What a prompt's estimate is made of: the text of its prompt-bearing fields (messages, system,
 * tools, embedding input, image prompt), for a token counter, and the tokens counted without
 * one (a fixed cost per image and per message, embedding input given as token ids).
 */
export const promptParts = (body: Record<string, unknown>): { readonly text: string; readonly extraTokens: number } => {
  const parts: PromptParts = { text: "", images: 0, tokens: 0 }
  for (const field of PROMPT_FIELDS) {
    // A tool's JSON schema reaches the model as JSON, keys included.
    if (field === "tools") parts.text += body.tools === undefined ? "" : JSON.stringify(body.tools)
    else collect(body[field], parts)
  }
  const messages = Array.isArray(body.messages) ? body.messages.length : 0
  return { text: parts.text, extraTokens: parts.tokens + parts.images * IMAGE_TOKENS + messages * MESSAGE_OVERHEAD }
}

/** The prompt's estimated token count, with `count` for its text (see promptParts). */
export const estimatePromptTokens = (body: Record<string, unknown>, model: string, count: TokenCounter): number => {
  const { text, extraTokens } = promptParts(body)
  return count(text, model) + extraTokens
}

/** Where a request body names its output limit, on any surface. */
const OUTPUT_LIMIT_FIELDS = ["max_completion_tokens", "max_tokens", "max_output_tokens"] as const

const isTokenCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) > 0

/**
 * The output-limit field of `body` that holds something other than a positive whole number
 * (null aside, which OpenAI's clients send for "no limit"), if any. Reservations and rate
 * windows count in whole tokens; surfaces that do not declare a field still read it here, so
 * every surface refuses it alike.
 */
export const invalidOutputLimit = (body: Record<string, unknown>): string | undefined =>
  OUTPUT_LIMIT_FIELDS.find((field) => body[field] !== undefined && body[field] !== null && !isTokenCount(body[field]))

/**
 * The output limit a request body names itself, if any: the largest, when it names several.
 * Which one the upstream obeys depends on the surface and the provider (Anthropic reads
 * `max_tokens` and ignores an OpenAI field beside it), so a reservation on the smallest could
 * be overrun by a client that sends a tiny limit next to a large one.
 */
export const requestedOutputLimit = (body: Record<string, unknown>): number | undefined => {
  let largest: number | undefined
  for (const field of OUTPUT_LIMIT_FIELDS) {
    const value = body[field]
    if (isTokenCount(value) && (largest === undefined || value > largest)) largest = value
  }
  return largest
}

/** The output tokens a request may use: its own limit, else the model's cap, else `fallback`. */
export const outputAllowance = (body: Record<string, unknown>, modelCap: number | undefined, fallback: number): number => {
  const requested = requestedOutputLimit(body)
  if (requested !== undefined) return modelCap === undefined ? requested : Math.min(requested, modelCap)
  return modelCap ?? fallback
}
