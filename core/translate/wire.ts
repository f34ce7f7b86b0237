/**
 * The wire shapes the translators write and read from upstreams: OpenAI chat completions and
 * Anthropic Messages (PROTOCOLS.md sections 1 and 2). Requests from clients are checked by the
 * surfaces' schemas; these describe what the relay itself produces, and what it reads from an
 * upstream's answer (read defensively: an upstream may omit fields).
 */

export interface OpenAIToolCall {
  readonly id: string
  readonly type: "function"
  readonly function: { readonly name: string; readonly arguments: string }
}

export interface OpenAIUsage {
  readonly prompt_tokens: number
  readonly completion_tokens: number
  readonly total_tokens: number
  readonly prompt_tokens_details?: { readonly cached_tokens?: number; readonly cache_write_tokens?: number }
  readonly completion_tokens_details?: { readonly reasoning_tokens?: number }
}

export interface OpenAIAssistantMessage {
  readonly role: "assistant"
  readonly content: string | null
  readonly refusal: string | null
  readonly tool_calls?: ReadonlyArray<OpenAIToolCall>
  /**
   * The model's reasoning: not OpenAI's own field but the one OpenAI-compatible servers
   * (DeepSeek, vLLM) answer with; `reasoning` is Ollama's and newer vLLM's name for it.
   */
  readonly reasoning_content?: string
  readonly reasoning?: string
}

export interface OpenAIChatCompletion {
  readonly id: string
  readonly object: "chat.completion"
  readonly created: number
  readonly model: string
  readonly choices: ReadonlyArray<{
    readonly index: number
    readonly message: OpenAIAssistantMessage
    readonly finish_reason: string | null
    readonly logprobs: null
  }>
  readonly usage?: OpenAIUsage
}

export interface OpenAIChunkToolCall {
  readonly index?: number
  readonly id?: string
  readonly type?: "function"
  readonly function?: { readonly name?: string; readonly arguments?: string }
}

export interface OpenAIChunk {
  readonly id?: string
  readonly choices?: ReadonlyArray<{
    readonly index?: number
    readonly delta?: {
      readonly role?: string
      readonly content?: string | null
      readonly refusal?: string | null
      readonly tool_calls?: ReadonlyArray<OpenAIChunkToolCall>
      readonly reasoning_content?: string | null
      readonly reasoning?: string | null
    }
    readonly finish_reason?: string | null
  }>
  readonly usage?: unknown
  readonly error?: { readonly message?: unknown; readonly type?: unknown }
}

export type AnthropicBlock =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "thinking"; readonly thinking: string; readonly signature: string }
  | { readonly type: "tool_use"; readonly id: string; readonly name: string; readonly input: unknown }
  | { readonly type: string; readonly [field: string]: unknown }

export interface AnthropicUsage {
  readonly input_tokens: number
  readonly output_tokens: number
  readonly cache_creation_input_tokens: number
  readonly cache_read_input_tokens: number
  readonly output_tokens_details?: { readonly thinking_tokens: number }
}

export interface AnthropicMessage {
  readonly id: string
  readonly type: "message"
  readonly role: "assistant"
  readonly model: string
  readonly content: ReadonlyArray<AnthropicBlock>
  readonly stop_reason: string | null
  readonly stop_sequence: string | null
  readonly usage: AnthropicUsage
}

/** The events of an Anthropic stream, as far as the translator reads them. */
export interface AnthropicEvent {
  readonly type?: string
  readonly index?: number
  readonly message?: { readonly id?: string; readonly usage?: unknown }
  readonly content_block?: { readonly type?: string; readonly id?: string; readonly name?: string; readonly text?: string }
  readonly delta?: {
    readonly type?: string
    readonly text?: string
    readonly partial_json?: string
    readonly thinking?: string
    readonly stop_reason?: string | null
  }
  readonly usage?: unknown
  readonly error?: { readonly type?: unknown; readonly message?: unknown }
}

/** The model a translated request is for, as the catalog knows it. */
export interface TargetModel {
  /** The name the upstream knows the model by. */
  readonly model: string
  /** The catalogued output cap, if any. */
  readonly maxOutputTokens: number | undefined
  /** The model reasons: reasoning controls reach it (see `reasoning.ts`). */
  readonly reasoning: boolean
}
