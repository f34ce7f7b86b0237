import { Effect } from "effect"
import { definePlugin, estimateTokens, InvalidRequest, type UpstreamCall } from "../../../core/index.ts"

export interface EchoOptions {
  /** Pause between streamed chunks, to make streams observable in demos and tests. */
  readonly chunkDelayMs?: number
}

const decoder = new TextDecoder()
const encoder = new TextEncoder()

interface ChatBody {
  readonly model?: string
  readonly messages?: ReadonlyArray<{ readonly role?: string; readonly content?: unknown }>
  readonly stream?: boolean
  readonly stream_options?: { readonly include_usage?: boolean } | null
}

/** The text of a message's content: a string, or the text parts of an array. */
const textOf = (content: unknown): string => {
  if (typeof content === "string") return content
  if (!Array.isArray(content)) return ""
  return content.map((part) => (part && typeof part === "object" && typeof part.text === "string" ? part.text : "")).join("")
}

/** Splits text into word-sized pieces that keep their spacing, as a model streams tokens. */
const pieces = (text: string): Array<string> => text.match(/\s*\S+\s*/g) ?? (text === "" ? [] : [text])

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * An OpenAI chat-completions answer from the echo model. It speaks the real wire format,
 * stream and usage chunk included, so the relay handles it exactly like an upstream.
 */
const chatCompletion = (body: ChatBody, chunkDelayMs: number): Response => {
  const messages = body.messages ?? []
  const lastUser = [...messages].reverse().find((message) => message.role === "user")
  const text = textOf(lastUser?.content)
  const usage = {
    prompt_tokens: estimateTokens(messages.map((message) => textOf(message.content)).join("\n")),
    completion_tokens: estimateTokens(text),
    total_tokens: 0,
    prompt_tokens_details: { cached_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0 }
  }
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens
  const id = `chatcmpl-echo${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`
  const created = Math.floor(Date.now() / 1000)
  const model = body.model ?? "echo-1"

  if (body.stream !== true) {
    return Response.json({
      id,
      object: "chat.completion",
      created,
      model,
      choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null }, finish_reason: "stop", logprobs: null }],
      usage
    })
  }

  const withUsage = body.stream_options?.include_usage === true
  const chunk = (delta: object, finish: string | null) => ({
    id,
    object: "chat.completion.chunk",
    created,
    model,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    ...(withUsage ? { usage: null } : {})
  })
  const events = [
    chunk({ role: "assistant", content: "", refusal: null }, null),
    ...pieces(text).map((piece) => chunk({ content: piece }, null)),
    chunk({}, "stop"),
    ...(withUsage ? [{ id, object: "chat.completion.chunk", created, model, choices: [], usage }] : [])
  ].map((event) => `data: ${JSON.stringify(event)}\n\n`)
  events.push("data: [DONE]\n\n")

  let next = 0
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (next > 0 && chunkDelayMs > 0) await sleep(chunkDelayMs)
      const event = events[next++]
      if (event === undefined) controller.close()
      else controller.enqueue(encoder.encode(event))
    }
  }, { highWaterMark: 0 })
  return new Response(stream, { headers: { "content-type": "text/event-stream" } })
}

/** The built-in offline provider: answers by echoing the last user message. */
export const echo = (options: EchoOptions = {}) =>
  definePlugin("echo", () =>
    Effect.succeed({
      provider: {
        name: "echo",
        patterns: ["echo-*"],
        protocols: ["openai"] as const,
        keyless: true,
        send: (call: UpstreamCall) => {
          if (call.path !== "/chat/completions") {
            return Effect.fail(new InvalidRequest({ message: `the echo provider does not serve ${call.ctx.route}` }))
          }
          const body = JSON.parse(typeof call.body === "string" ? call.body : decoder.decode(call.body)) as ChatBody
          return Effect.succeed(chatCompletion(body, options.chunkDelayMs ?? 0))
        }
      }
    }))
