import { Effect } from "effect"
import {
  type CountTokensRequest,
  definePlugin,
  estimateTokens,
  formFields,
  readForm,
  InvalidRequest,
  promptTextOfMessages,
  type UpstreamCall
} from "../../../core/index.ts"
import { providerRegistry } from "../registry/index.ts"
import { eventStream, namedEvent } from "./events.ts"
import { embeddingsAnswer, imagesAnswer } from "./media.ts"

export interface EchoOptions {
  /** Pause between streamed chunks, to make streams observable in demos and tests. */
  readonly chunkDelayMs?: number
}

const decoder = new TextDecoder()

interface ChatBody {
  readonly model?: string
  readonly messages?: ReadonlyArray<{ readonly role?: string; readonly content?: unknown }>
  readonly stream?: boolean
  readonly stream_options?: { readonly include_usage?: boolean } | null
}

type MessagesBody = CountTokensRequest & { readonly stream?: boolean }

/** The text of a message's content: a string, or the text parts (or blocks) of an array. */
const textOf = (content: unknown): string => {
  if (typeof content === "string") return content
  if (!Array.isArray(content)) return ""
  return content.map((part) => (part && typeof part === "object" && part.type === "text" && typeof part.text === "string" ? part.text : "")).join("")
}

/** The text the echo model answers with: the last user message's. */
const lastUserText = (messages: ReadonlyArray<{ readonly role?: string; readonly content?: unknown }>): string =>
  textOf([...messages].reverse().find((message) => message.role === "user")?.content)

/** Splits text into word-sized pieces that keep their spacing, as a model streams tokens. */
const pieces = (text: string): Array<string> => text.match(/\s*\S+\s*/g) ?? (text === "" ? [] : [text])

const newId = () => crypto.randomUUID().replaceAll("-", "").slice(0, 20)

/**
 * An OpenAI chat-completions answer from the echo model. It speaks the real wire format,
 * stream and usage chunk included, so the relay handles it exactly like an upstream.
 */
const chatCompletion = (body: ChatBody, chunkDelayMs: number): Response => {
  const messages = body.messages ?? []
  const text = lastUserText(messages)
  const usage = {
    prompt_tokens: estimateTokens(messages.map((message) => textOf(message.content)).join("\n")),
    completion_tokens: estimateTokens(text),
    total_tokens: 0,
    prompt_tokens_details: { cached_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0 }
  }
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens
  const id = `chatcmpl-echo${newId()}`
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
  return eventStream(events, chunkDelayMs)
}

/**
 * An Anthropic Messages answer from the echo model, in Anthropic's wire format: the message,
 * or its stream of events. Its input count is the same estimate `count_tokens` gives.
 */
const anthropicMessage = (body: MessagesBody, chunkDelayMs: number): Response => {
  const text = lastUserText(body.messages)
  const inputTokens = estimateTokens(promptTextOfMessages(body))
  const outputTokens = estimateTokens(text)
  const message = {
    id: `msg_echo${newId()}`,
    type: "message",
    role: "assistant",
    model: body.model,
    content: text === "" ? [] : [{ type: "text", text }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { input_tokens: inputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: outputTokens }
  }
  if (body.stream !== true) return Response.json(message)

  const block = text === ""
    ? []
    : [
      namedEvent("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
      ...pieces(text).map((piece) => namedEvent("content_block_delta", { index: 0, delta: { type: "text_delta", text: piece } })),
      namedEvent("content_block_stop", { index: 0 })
    ]
  return eventStream([
    namedEvent("message_start", {
      message: { ...message, content: [], stop_reason: null, usage: { ...message.usage, output_tokens: 0 } }
    }),
    ...block,
    namedEvent("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: outputTokens } }),
    namedEvent("message_stop", {})
  ], chunkDelayMs)
}

/** An answer, or the request's refusal as the failure the relay answers 400 with. */
const answered = (answer: Response | InvalidRequest) => (answer instanceof InvalidRequest ? Effect.fail(answer) : Effect.succeed(answer))

/** The built-in offline provider: answers by echoing the last user message, in either protocol. */
export const echo = (options: EchoOptions = {}) =>
  definePlugin("echo", () =>
    Effect.succeed({
      providers: providerRegistry([{
        name: "echo",
        patterns: ["echo-*"],
        protocols: ["openai", "anthropic"] as const,
        keyless: true,
        send: (call: UpstreamCall) => {
          const delay = options.chunkDelayMs ?? 0
          if (call.path === "/images/edits" && call.contentType.startsWith("multipart/")) {
            const bytes = typeof call.body === "string" ? new TextEncoder().encode(call.body) : call.body
            const form = readForm(bytes, call.contentType)
            if (form instanceof InvalidRequest) return Effect.fail(form)
            const fields = formFields(form.body, form.parts)
            if (fields instanceof InvalidRequest) return Effect.fail(fields)
            return answered(imagesAnswer(fields, "image_edit", delay))
          }
          const body = JSON.parse(typeof call.body === "string" ? call.body : decoder.decode(call.body))
          switch (call.path) {
            case "/chat/completions":
              return Effect.succeed(chatCompletion(body as ChatBody, delay))
            case "/v1/messages":
              return Effect.succeed(anthropicMessage(body as MessagesBody, delay))
            case "/embeddings":
              return answered(embeddingsAnswer(body))
            case "/images/generations":
              return answered(imagesAnswer(body, "image_generation", delay))
            case "/images/edits":
              return answered(imagesAnswer(body, "image_edit", delay))
            case "/v1/messages/count_tokens":
              return Effect.succeed(Response.json({ input_tokens: estimateTokens(promptTextOfMessages(body as CountTokensRequest)) }))
            default:
              return Effect.fail(new InvalidRequest({ message: `the echo provider does not serve ${call.ctx.route}` }))
          }
        }
      }])
    }))
