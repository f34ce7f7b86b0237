import { Result, Schema } from "effect"
import type { Endpoint } from "../endpoint.ts"
import { fromOpenAIUsage } from "../usage.ts"
import { aliased, respondWhole, useUpstreamModel } from "./legs.ts"
import { invalidFromSchema } from "./schema-error.ts"

const NonEmptyTokens = Schema.Array(Schema.Int).check(Schema.isMinLength(1))

/** The fields of an embeddings request the relay relies on; the rest travels untouched. */
export const EmbeddingsRequest = Schema.Struct({
  model: Schema.NonEmptyString,
  // Text, texts, token ids, or lists of token ids (OpenAI's four forms); never empty.
  input: Schema.Union([
    Schema.NonEmptyString,
    Schema.Array(Schema.NonEmptyString).check(Schema.isMinLength(1), Schema.isMaxLength(2048)),
    NonEmptyTokens,
    Schema.Array(NonEmptyTokens).check(Schema.isMinLength(1), Schema.isMaxLength(2048))
  ]),
  encoding_format: Schema.optional(Schema.Literals(["float", "base64"])),
  dimensions: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)))
})

const decodeRequest = Schema.decodeUnknownResult(EmbeddingsRequest)

/**
 * `POST /v1/embeddings`: OpenAI embeddings, charged on input tokens. The answer, float arrays
 * or base64 alike, passes through as the upstream sent it.
 */
export const embeddings: Endpoint = {
  route: "/embeddings",
  surface: "openai",
  decode(ctx, body) {
    const result = decodeRequest(body)
    if (Result.isFailure(result)) return invalidFromSchema(result.failure)
    ctx.model = result.success.model
    // An embedding produces no output tokens.
    ctx.reservedOutput = { completionTokens: 0, imageOutputTokens: 0 }
    return undefined
  },
  legs: {
    openai: {
      path: "/embeddings",
      prepare: useUpstreamModel,
      respond: (ctx, upstream) => respondWhole(ctx, upstream, fromOpenAIUsage)
    }
  },
  rewrite: (ctx) =>
    aliased(ctx)
      ? (payload) => {
        if (typeof payload.model === "string") payload.model = ctx.model
      }
      : undefined
}
