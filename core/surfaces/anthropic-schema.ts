import { Schema } from "effect"

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

/** A content block: its type is checked here; the rest is the upstream's business (or the translator's). */
const ContentBlock = Schema.Struct({ type: Schema.NonEmptyString })

const Message = Schema.Struct({
  /**
   * `system` is an instruction at its place in the conversation (Anthropic's
   * mid-conversation-system beta; Claude Code sends them): passed to Claude as sent, and to
   * other models as a system message at that place.
   */
  role: Schema.Literals(["user", "assistant", "system"]),
  content: Schema.Union([Schema.String, Schema.Array(ContentBlock)])
})

const SystemBlock = Schema.Struct({ type: Schema.Literal("text"), text: Schema.String })

const Tool = Schema.Struct({
  name: Schema.NonEmptyString,
  /** Absent or "custom" for a tool the caller runs; a versioned name for Anthropic's server tools. */
  type: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String),
  input_schema: Schema.optional(Schema.Record(Schema.String, Schema.Unknown)),
  strict: Schema.optional(Schema.Boolean)
})

const ToolChoice = Schema.Struct({
  type: Schema.Literals(["auto", "any", "tool", "none"]),
  name: Schema.optional(Schema.String),
  disable_parallel_tool_use: Schema.optional(Schema.Boolean)
})

/** What a Messages request and a token count share. */
const Prompt = {
  model: Schema.NonEmptyString,
  messages: Schema.Array(Message).check(Schema.isMinLength(1)),
  system: Schema.optional(Schema.Union([Schema.String, Schema.Array(SystemBlock)])),
  tools: Schema.optional(Schema.Array(Tool)),
  tool_choice: Schema.optional(ToolChoice)
}

/** `POST /v1/messages/count_tokens`: a Messages request without max_tokens and stream. */
export const CountTokensRequest = Schema.Struct(Prompt)

/**
 * The fields of an Anthropic Messages request that the relay relies on or translates; the
 * rest travels to an Anthropic upstream untouched.
 */
export const MessagesRequest = Schema.Struct({
  ...Prompt,
  /** Required by Anthropic; above the model's output cap it is lowered to the cap. */
  max_tokens: PositiveInt,
  stream: Schema.optional(Schema.Boolean),
  stop_sequences: Schema.optional(Schema.Array(Schema.String)),
  temperature: Schema.optional(Schema.Number),
  top_p: Schema.optional(Schema.Number),
  top_k: Schema.optional(Schema.Number),
  metadata: Schema.optional(Schema.Struct({ user_id: Schema.optional(Schema.NullOr(Schema.String)) })),
  /** Open to thinking types Anthropic adds later: a Claude upstream judges them, a translator reads the ones it knows. */
  thinking: Schema.optional(Schema.Struct({ type: Schema.NonEmptyString, budget_tokens: Schema.optional(PositiveInt) })),
  output_config: Schema.optional(Schema.Struct({
    effort: Schema.optional(Schema.String),
    format: Schema.optional(Schema.Struct({ type: Schema.NonEmptyString, schema: Schema.optional(Schema.Record(Schema.String, Schema.Unknown)) }))
  })),
  context_management: Schema.optional(Schema.Struct({ edits: Schema.optional(Schema.Array(Schema.Struct({ type: Schema.NonEmptyString }))) })),
  service_tier: Schema.optional(Schema.String)
})

export type CountTokensRequest = Schema.Schema.Type<typeof CountTokensRequest>
export type MessagesRequest = Schema.Schema.Type<typeof MessagesRequest>
