import { Effect, Result, Schema } from "effect"
import type { RequestContext } from "../context.ts"
import type { Endpoint, EndpointLeg } from "../endpoint.ts"
import { UpstreamFailed } from "../errors.ts"
import { passthrough } from "../sse/passthrough.ts"
import { OpenAIUsageTap } from "../sse/usage-tap.ts"
import { estimateTokens, fromOpenAIUsage } from "../usage.ts"
import { invalidFromSchema } from "./schema-error.ts"

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

const decodeRequest = Schema.decodeUnknownResult(ChatCompletionRequest)

/** The tap of a streaming request, kept for settle. */
const TAP = Symbol("openai-chat/tap")
/** Set when the relay asked for stream usage on behalf of a client that did not. */
const HIDE_USAGE = Symbol("openai-chat/hide-usage")

const FAILURE_EVENT = new TextEncoder().encode(
  `data: ${JSON.stringify({ error: { message: "the upstream stream failed", type: "server_error", code: "upstream_error" } })}\n\n`
)

const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-accel-buffering": "no" }

const capTokens = (ctx: RequestContext, field: "max_tokens" | "max_completion_tokens", cap: number) => {
  const value = ctx.body[field]
  if (typeof value === "number" && value > cap) ctx.setBodyField(field, cap)
}

/** Usage when the stream ended before the upstream reported it: counted, and marked so. */
const estimatedUsage = (ctx: RequestContext, tap: OpenAIUsageTap) => ({
  promptTokens: estimateTokens(JSON.stringify(ctx.body.messages ?? "")),
  completionTokens: tap.dataEvents,
  cachedTokens: 0,
  cacheWriteTokens: 0,
  imageInputTokens: 0,
  imageOutputTokens: 0,
  source: "estimated" as const
})

const withHeaders = (ctx: RequestContext, base: Record<string, string>): Headers => {
  const headers = new Headers(ctx.responseHeaders)
  for (const [name, value] of Object.entries(base)) headers.set(name, value)
  return headers
}

/** Chat completions to an upstream that speaks OpenAI: passthrough with a usage tap. */
export const openAIChatLeg: EndpointLeg = {
  path: "/chat/completions",
  prepare(ctx) {
    const target = ctx.target!
    if (target.upstreamModel !== ctx.model) ctx.setBodyField("model", target.upstreamModel)
    const cap = target.entry?.maxOutputTokens
    if (cap !== undefined) {
      capTokens(ctx, "max_tokens", cap)
      capTokens(ctx, "max_completion_tokens", cap)
    }
    if (!ctx.stream) return
    const options = ctx.body.stream_options as { include_usage?: boolean } | null | undefined
    if (options?.include_usage !== true) {
      // Always ask for usage so streams are settled from the upstream's own count.
      ctx.setBodyField("stream_options", { ...options, include_usage: true })
      ctx.state.set(HIDE_USAGE, true)
    }
  },
  respond(ctx, upstream, finish) {
    if (ctx.stream && upstream.body !== null) {
      const tap = new OpenAIUsageTap(ctx.state.has(HIDE_USAGE))
      ctx.state.set(TAP, tap)
      const body = passthrough(upstream.body, tap, {
        firstByte: () => {
          ctx.ttfbMs = ctx.elapsedMs()
        },
        end: (end) => {
          ctx.usage = tap.usage ?? estimatedUsage(ctx, tap)
          finish(ctx, {
            status: upstream.status,
            aborted: end.kind === "aborted",
            ...(end.kind === "failed" ? { error: new UpstreamFailed({ message: "the upstream stream failed" }) } : {})
          })
        },
        failureEvent: FAILURE_EVENT
      })
      return Effect.succeed({
        response: new Response(body, { status: upstream.status, headers: withHeaders(ctx, SSE_HEADERS) }),
        streaming: true
      })
    }
    return Effect.tryPromise({
      try: () => upstream.arrayBuffer(),
      catch: () => new UpstreamFailed({ message: "the upstream response could not be read" })
    }).pipe(Effect.map((buffer) => {
      ctx.ttfbMs = ctx.elapsedMs()
      const bytes = new Uint8Array(buffer)
      try {
        ctx.usage = fromOpenAIUsage((JSON.parse(new TextDecoder().decode(bytes)) as { usage?: unknown }).usage)
      } catch {
        // A body that is not JSON still reaches the client as sent; it simply reports no usage.
      }
      const contentType = upstream.headers.get("content-type") ?? "application/json"
      return {
        response: new Response(bytes, { status: upstream.status, headers: withHeaders(ctx, { "content-type": contentType }) }),
        streaming: false
      }
    }))
  }
}

export const chatCompletions: Endpoint = {
  route: "/chat/completions",
  surface: "openai",
  decode(ctx, body) {
    const result = decodeRequest(body)
    if (Result.isFailure(result)) return invalidFromSchema(result.failure)
    ctx.model = result.success.model
    ctx.stream = result.success.stream === true
    return undefined
  },
  legs: { openai: openAIChatLeg }
}
