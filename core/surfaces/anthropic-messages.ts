import type { Endpoint, EndpointLeg } from "../endpoint.ts"
import { InvalidRequest } from "../errors.ts"
import { AnthropicUsageTap } from "../sse/anthropic-usage-tap.ts"
import { toOpenAIRequest } from "../translate/anthropic-to-openai-request.ts"
import { toAnthropicMessage } from "../translate/openai-to-anthropic-response.ts"
import { OpenAIToAnthropicStream } from "../translate/openai-stream-to-anthropic.ts"
import { fromAnthropicUsage } from "../usage.ts"
import { MessagesRequest } from "./anthropic-schema.ts"
import { decodeWith, echoAlias } from "./decode.ts"
import { capTokens, promptEstimate, respondPassthrough, respondTranslated, translationTarget, useUpstreamModel } from "./legs.ts"

/** Sent when the upstream fails mid-stream: Anthropic's SDKs raise an `error` event. */
const ANTHROPIC_FAILURE_EVENT = new TextEncoder().encode(
  `event: error\ndata: ${JSON.stringify({ type: "error", error: { type: "api_error", message: "the upstream stream failed" } })}\n\n`
)

/** Messages to an upstream that speaks Anthropic: passthrough with a usage tap. */
export const anthropicMessagesLeg: EndpointLeg = {
  path: "/v1/messages",
  prepare(ctx) {
    useUpstreamModel(ctx)
    capTokens(ctx, "max_tokens")
  },
  respond(ctx, upstream, finish) {
    const tap = new AnthropicUsageTap()
    return respondPassthrough(ctx, upstream, finish, {
      tap,
      streamUsage: () => tap.usage(promptEstimate(ctx)),
      bodyUsage: fromAnthropicUsage,
      failureEvent: ANTHROPIC_FAILURE_EVENT
    })
  }
}

/** Messages to an upstream that speaks OpenAI: translated both ways. */
export const openAIMessagesLeg: EndpointLeg = {
  path: "/chat/completions",
  prepare(ctx) {
    const translated = toOpenAIRequest(ctx.body as MessagesRequest & Record<string, unknown>, translationTarget(ctx))
    if (translated instanceof InvalidRequest) return translated
    ctx.body = translated
    ctx.bodyChanged = true
  },
  respond(ctx, upstream, finish) {
    return respondTranslated(ctx, upstream, finish, {
      translator: () => new OpenAIToAnthropicStream({ model: ctx.model, promptTokens: promptEstimate(ctx) }),
      translateBody: (body) => toAnthropicMessage(body, ctx.model),
      failureEvent: ANTHROPIC_FAILURE_EVENT
    })
  }
}

/** `POST /v1/messages`: Anthropic Messages, streaming and not, for any model. */
export const messages: Endpoint = {
  route: "/messages",
  surface: "anthropic",
  decode: decodeWith(MessagesRequest),
  legs: { anthropic: anthropicMessagesLeg, openai: openAIMessagesLeg },
  rewrite: echoAlias((payload, model) => {
    if (payload.type === "message") payload.model = model
    const message = payload.type === "message_start" ? payload.message : undefined
    if (message !== null && typeof message === "object") (message as Record<string, unknown>).model = model
  })
}
