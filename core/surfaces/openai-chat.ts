import { StateKey } from "../context.ts"
import type { Endpoint, EndpointLeg } from "../endpoint.ts"
import { InvalidRequest } from "../errors.ts"
import { OpenAIUsageTap } from "../sse/usage-tap.ts"
import { AnthropicToOpenAIStream } from "../translate/anthropic-stream-to-openai.ts"
import { toChatCompletion } from "../translate/anthropic-to-openai-response.ts"
import { toAnthropicRequest } from "../translate/openai-to-anthropic-request.ts"
import { estimatedUsage, fromOpenAIUsage } from "../usage.ts"
import { decodeWith, echoAlias } from "./decode.ts"
import { ChatCompletionRequest } from "./openai-chat-schema.ts"
import { capTokens, promptEstimate, respondPassthrough, respondTranslated, translationTarget, useUpstreamModel } from "./legs.ts"

/**
 * Set when the client did not ask for stream usage: the relay gets it from the upstream
 * anyway (asking an OpenAI upstream for it), and keeps it from that client.
 */
const HIDE_USAGE = new StateKey<true>("openai-chat/hide-usage")

/** Sent when the upstream fails mid-stream: the OpenAI SDK raises a chunk with an `error` key. */
const OPENAI_FAILURE_EVENT = new TextEncoder().encode(
  `data: ${JSON.stringify({ error: { message: "the upstream stream failed", type: "server_error", code: "upstream_error" } })}\n\n`
)

/** Chat completions to an upstream that speaks OpenAI: passthrough with a usage tap. */
export const openAIChatLeg: EndpointLeg = {
  path: "/chat/completions",
  prepare(ctx) {
    useUpstreamModel(ctx)
    capTokens(ctx, "max_tokens")
    capTokens(ctx, "max_completion_tokens")
    if (!ctx.stream) return
    const options = ctx.body.stream_options as { include_usage?: boolean } | null | undefined
    if (options?.include_usage !== true) {
      // Always ask for usage so streams are settled from the upstream's own count.
      ctx.setBodyField("stream_options", { ...options, include_usage: true })
      ctx.set(HIDE_USAGE, true)
    }
  },
  respond(ctx, upstream, finish) {
    const tap = new OpenAIUsageTap(ctx.has(HIDE_USAGE))
    return respondPassthrough(ctx, upstream, finish, {
      tap,
      streamUsage: () => tap.usage ?? estimatedUsage(undefined, promptEstimate(ctx), tap.dataEvents),
      bodyUsage: fromOpenAIUsage,
      failureEvent: OPENAI_FAILURE_EVENT
    })
  }
}

/** Chat completions to an upstream that speaks Anthropic (a Claude model): translated both ways. */
export const anthropicChatLeg: EndpointLeg = {
  path: "/v1/messages",
  prepare(ctx) {
    const translated = toAnthropicRequest(ctx.body as ChatCompletionRequest & Record<string, unknown>, translationTarget(ctx))
    if (translated instanceof InvalidRequest) return translated
    // Read before the body is replaced: Anthropic always reports usage, the client decides whether it sees it.
    const options = ctx.body.stream_options as { include_usage?: boolean } | null | undefined
    if (options?.include_usage !== true) ctx.set(HIDE_USAGE, true)
    ctx.body = translated
    ctx.bodyChanged = true
  },
  respond(ctx, upstream, finish) {
    return respondTranslated(ctx, upstream, finish, {
      translator: () =>
        new AnthropicToOpenAIStream({ model: ctx.model, includeUsage: !ctx.has(HIDE_USAGE), promptTokens: promptEstimate(ctx) }),
      translateBody: (body) => toChatCompletion(body, ctx.model),
      failureEvent: OPENAI_FAILURE_EVENT
    })
  }
}

export const chatCompletions: Endpoint = {
  route: "/chat/completions",
  surface: "openai",
  decode: decodeWith(ChatCompletionRequest),
  legs: { openai: openAIChatLeg, anthropic: anthropicChatLeg },
  rewrite: echoAlias((payload, model) => {
    if (typeof payload.model === "string") payload.model = model
  })
}
