/**
 * Token usage of one request in the relay's own terms, which follow OpenAI's: prompt tokens
 * include cached (read) tokens; completion tokens include reasoning tokens.
 */
export interface Usage {
  readonly promptTokens: number
  readonly completionTokens: number
  readonly cachedTokens: number
  readonly cacheWriteTokens: number
  readonly imageInputTokens: number
  /** The cached part of `imageInputTokens`, when the upstream reports one. */
  readonly imageCachedTokens?: number
  readonly imageOutputTokens: number
  /** The reasoning (thinking) part of `completionTokens`, when the upstream reports one. */
  readonly reasoningTokens?: number
  /** "upstream" when the provider reported it, "estimated" when the relay counted it. */
  readonly source: "upstream" | "estimated"
}

export const emptyUsage: Usage = {
  promptTokens: 0,
  completionTokens: 0,
  cachedTokens: 0,
  cacheWriteTokens: 0,
  imageInputTokens: 0,
  imageOutputTokens: 0,
  source: "estimated"
}

/**
 * The most tokens one count of one request may be: hundreds of times any context window. An
 * upstream that reports more (1e308, or counts whose sum is Infinity, which BigInt refuses)
 * is wrong; its count is clamped, so that a cost (tokens times a price) stays an exact and
 * bounded integer and a settle never fails on it.
 */
export const MAX_TOKENS = 1_000_000_000

/** An upstream's token count: a whole number from 0 to MAX_TOKENS, whatever it sent. */
const count = (value: unknown): number => (typeof value === "number" && value > 0 ? Math.min(Math.floor(value), MAX_TOKENS) : 0)

/** `reasoningTokens` from an upstream's count; an upstream that reports none gets no field rather than 0. */
const reasoning = (value: unknown): Pick<Usage, "reasoningTokens"> => (typeof value === "number" ? { reasoningTokens: count(value) } : {})

/** Reads an OpenAI `CompletionUsage` object (chat completions, embeddings). */
export const fromOpenAIUsage = (raw: unknown): Usage | undefined => {
  if (raw === null || typeof raw !== "object") return undefined
  const usage = raw as Record<string, unknown>
  const promptDetails = (usage.prompt_tokens_details ?? {}) as Record<string, unknown>
  const completionDetails = (usage.completion_tokens_details ?? {}) as Record<string, unknown>
  return {
    promptTokens: count(usage.prompt_tokens),
    completionTokens: count(usage.completion_tokens),
    cachedTokens: count(promptDetails.cached_tokens),
    cacheWriteTokens: count(promptDetails.cache_write_tokens),
    imageInputTokens: 0,
    imageOutputTokens: 0,
    ...reasoning(completionDetails.reasoning_tokens),
    source: "upstream"
  }
}

/**
 * Reads a Responses API `usage` object (PROTOCOLS.md 8): input includes cached tokens, output
 * includes reasoning tokens, as in the relay's terms.
 */
export const fromResponsesUsage = (raw: unknown): Usage | undefined => {
  if (raw === null || typeof raw !== "object") return undefined
  const usage = raw as Record<string, unknown>
  const inputDetails = (usage.input_tokens_details ?? {}) as Record<string, unknown>
  const outputDetails = (usage.output_tokens_details ?? {}) as Record<string, unknown>
  return {
    promptTokens: count(usage.input_tokens),
    completionTokens: count(usage.output_tokens),
    cachedTokens: count(inputDetails.cached_tokens),
    cacheWriteTokens: count(inputDetails.cache_write_tokens),
    imageInputTokens: 0,
    imageOutputTokens: 0,
    ...reasoning(outputDetails.reasoning_tokens),
    source: "upstream"
  }
}

/**
 * Reads an Anthropic `usage` object. Anthropic counts cache reads and writes apart from
 * `input_tokens`; in the relay's terms the prompt includes both.
 */
export const fromAnthropicUsage = (raw: unknown): Usage | undefined => {
  if (raw === null || typeof raw !== "object") return undefined
  const usage = raw as Record<string, unknown>
  const cacheRead = count(usage.cache_read_input_tokens)
  const cacheWrite = count(usage.cache_creation_input_tokens)
  const outputDetails = (usage.output_tokens_details ?? {}) as Record<string, unknown>
  return {
    promptTokens: count(usage.input_tokens) + cacheRead + cacheWrite,
    completionTokens: count(usage.output_tokens),
    cachedTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
    imageInputTokens: 0,
    imageOutputTokens: 0,
    ...reasoning(outputDetails.thinking_tokens),
    source: "upstream"
  }
}

/**
 * The usage of an Anthropic stream as it arrives: `message_start` carries the input counts,
 * each `message_delta` cumulative totals (output always, the input counts when they changed).
 */
export class AnthropicStreamUsage {
  private totals: Record<string, unknown> | undefined
  private reported = false

  start(usage: unknown): void {
    if (usage !== null && typeof usage === "object") this.totals = { ...usage }
  }

  delta(usage: unknown): void {
    if (usage === null || typeof usage !== "object") return
    const totals: Record<string, unknown> = { ...this.totals }
    for (const [name, value] of Object.entries(usage)) if (value !== null && value !== undefined) totals[name] = value
    this.totals = totals
    this.reported = true
  }

  /** The upstream's own usage, once a `message_delta` reported the output. */
  get usage(): Usage | undefined {
    return this.reported ? fromAnthropicUsage(this.totals) : undefined
  }

  /** What `message_start` said, for a stream cut before the output was reported. */
  get started(): Usage | undefined {
    return fromAnthropicUsage(this.totals)
  }
}

/**
 * Usage of a stream cut before the upstream reported it: the counts known so far (an
 * Anthropic stream reports its input first), the rest counted by the relay.
 */
export const estimatedUsage = (known: Usage | undefined, promptTokens: () => number, completionTokens: number): Usage => ({
  ...(known ?? emptyUsage),
  promptTokens: known === undefined || known.promptTokens === 0 ? promptTokens() : known.promptTokens,
  completionTokens: Math.max(known?.completionTokens ?? 0, completionTokens),
  source: "estimated"
})

export const totalTokens = (usage: Usage): number =>
  usage.promptTokens + usage.completionTokens + usage.imageInputTokens + usage.imageOutputTokens

/**
 * Reads the usage of OpenAI's images API: input and output split into text and image tokens.
 * Cached input is taken as text unless the upstream says how much of it was image
 * (`cached_tokens_details.image_tokens`). Output without details is all image tokens.
 */
export const fromImageUsage = (raw: unknown): Usage | undefined => {
  if (raw === null || typeof raw !== "object") return undefined
  const usage = raw as Record<string, unknown>
  const input = (usage.input_tokens_details ?? undefined) as Record<string, unknown> | undefined
  const output = (usage.output_tokens_details ?? undefined) as Record<string, unknown> | undefined
  const cachedDetails = (input?.cached_tokens_details ?? {}) as Record<string, unknown>
  const imageInput = count(input?.image_tokens)
  const imageCached = count(cachedDetails.image_tokens)
  const cached = count(input?.cached_tokens)
  return {
    promptTokens: input === undefined ? count(usage.input_tokens) : count(input.text_tokens),
    completionTokens: output === undefined ? 0 : count(output.text_tokens),
    cachedTokens: Math.max(0, cached - imageCached),
    cacheWriteTokens: 0,
    imageInputTokens: imageInput,
    imageCachedTokens: imageCached,
    imageOutputTokens: output === undefined ? count(usage.output_tokens) : count(output.image_tokens),
    source: "upstream"
  }
}

/**
 * A rough count for text the relay must estimate (a stream cut before the upstream reported
 * usage, the echo provider): about four characters of English per token, at least one.
 */
export const estimateTokens = (text: string): number => (text.length === 0 ? 0 : Math.max(1, Math.ceil(text.length / 4)))
