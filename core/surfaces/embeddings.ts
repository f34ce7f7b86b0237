import { Schema } from "effect"
import type { Endpoint } from "../endpoint.ts"
import { fromOpenAIUsage } from "../usage.ts"
import { decodeWith, echoAlias } from "./decode.ts"
import { respondWhole, useUpstreamModel } from "./legs.ts"

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

/**
 * `POST /v1/embeddings`: OpenAI embeddings, charged on input tokens. The answer, float arrays
 * or base64 alike, passes through as the upstream sent it.
 */
export const embeddings: Endpoint = {
  route: "/embeddings",
  surface: "openai",
  decode: decodeWith(EmbeddingsRequest, (ctx) => {
    // An embedding produces no output tokens.
    ctx.reservedOutput = { completionTokens: 0, imageOutputTokens: 0 }
  }),
  legs: {
    openai: {
      path: "/embeddings",
      prepare: useUpstreamModel,
      respond: (ctx, upstream) => respondWhole(ctx, upstream, fromOpenAIUsage)
    }
  },
  rewrite: echoAlias((payload, model) => {
    if (typeof payload.model === "string") payload.model = model
  })
}
