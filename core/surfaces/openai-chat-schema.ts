import { Schema } from "effect"

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const optionalNullable = <S extends Schema.Top>(schema: S) => Schema.optional(Schema.NullOr(schema))

const ContentPart = Schema.Struct({ type: Schema.String })

const Message = Schema.Struct({
  role: Schema.Literals(["system", "developer", "user", "assistant", "tool", "function"]),
  content: optionalNullable(Schema.Union([Schema.String, Schema.Array(ContentPart)])),
  tool_calls: Schema.optional(Schema.Array(Schema.Struct({
    id: Schema.String,
    type: Schema.String,
    function: Schema.Struct({ name: Schema.String, arguments: Schema.String })
  }))),
  tool_call_id: Schema.optional(Schema.String)
})

/**
 * The fields of a chat-completions request that the relay relies on. Everything else is the
 * provider's business and travels upstream untouched.
 */
export const ChatCompletionRequest = Schema.Struct({
  model: Schema.NonEmptyString,
  messages: Schema.Array(Message).check(Schema.isMinLength(1)),
  stream: optionalNullable(Schema.Boolean),
  stream_options: optionalNullable(Schema.Struct({ include_usage: Schema.optional(Schema.Boolean) })),
  max_tokens: optionalNullable(PositiveInt),
  max_completion_tokens: optionalNullable(PositiveInt),
  n: optionalNullable(PositiveInt),
  temperature: optionalNullable(Schema.Number),
  top_p: optionalNullable(Schema.Number),
  tools: Schema.optional(Schema.Array(Schema.Struct({ type: Schema.String })))
})

export type ChatCompletionRequest = Schema.Schema.Type<typeof ChatCompletionRequest>
