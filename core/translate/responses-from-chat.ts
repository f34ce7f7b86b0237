import { eventPayload } from "../sse/events.ts"
import type { StreamTranslator, TranslationEnd } from "../sse/translate.ts"
import { estimatedUsage, fromOpenAIUsage, type Usage } from "../usage.ts"
import { customInputOf } from "./responses-input.ts"
import type { ResponseBuilder, ResponseEnd } from "./responses-output.ts"
import type { OpenAIChunk, OpenAIToolCall } from "./wire.ts"

/** How a chat-completions `finish_reason` ends a response (PROTOCOLS.md 3.3). */
const endOfFinish = (finishReason: unknown): ResponseEnd => {
  switch (finishReason) {
    case "length":
      return { status: "incomplete", reason: "max_output_tokens" }
    case "content_filter":
      return { status: "incomplete", reason: "content_filter" }
    default:
      return { status: "completed" }
  }
}

/** A custom tool's call arrives as JSON arguments; its item carries the free text inside. */
const parsedInput = (args: string): string => {
  try {
    return customInputOf(JSON.parse(args))
  } catch {
    return args
  }
}

/** A chat completion as a Responses answer, built by `builder` (not streaming). */
export const chatToResponse = (
  raw: unknown,
  builder: ResponseBuilder,
  customTools: ReadonlySet<string>
): { body: Record<string, unknown>; usage: Usage | undefined } => {
  const completion = (raw ?? {}) as {
    choices?: ReadonlyArray<{ message?: { content?: unknown; reasoning_content?: unknown; tool_calls?: ReadonlyArray<OpenAIToolCall> }; finish_reason?: unknown }>
    usage?: unknown
  }
  const choice = completion.choices?.[0]
  const message = choice?.message
  if (typeof message?.reasoning_content === "string" && message.reasoning_content !== "") {
    builder.reasoning(message.reasoning_content)
    builder.close()
  }
  if (typeof message?.content === "string" && message.content !== "") builder.text(message.content)
  for (const call of message?.tool_calls ?? []) {
    const name = call.function?.name ?? ""
    const custom = customTools.has(name)
    const args = call.function?.arguments ?? ""
    builder.toolCall(custom ? "custom_tool_call" : "function_call", call.id, name)
    builder.toolInput(custom ? parsedInput(args) : args)
    builder.close()
  }
  const usage = fromOpenAIUsage(completion.usage)
  builder.finish(endOfFinish(choice?.finish_reason), usage)
  return { body: builder.response(), usage }
}

type StreamChunk = OpenAIChunk & {
  readonly choices?: ReadonlyArray<NonNullable<OpenAIChunk["choices"]>[number] & { readonly delta?: { readonly reasoning_content?: string | null } }>
}

/**
 * A chat-completions stream as Responses events. Tool-call fragments are told under the call
 * their index names, one call after the other as OpenAI sends them; a custom tool's call is told
 * whole when the next item starts. The usage chunk (always asked for) gives the usage.
 */
export class ChatToResponsesStream implements StreamTranslator {
  private started = false
  private state: "streaming" | "done" | "failed" = "streaming"
  private finishReason: unknown
  private reported: Usage | undefined
  private deltas = 0
  /** The tool call being streamed: its chunk index, and a custom call's arguments so far. */
  private call: { readonly index: number; readonly custom: boolean; args: string } | undefined

  constructor(
    private readonly builder: ResponseBuilder,
    private readonly customTools: ReadonlySet<string>,
    private readonly promptTokens: () => number
  ) {}

  get finished(): boolean {
    return this.state === "done"
  }

  /** Ends the tool call being streamed; a custom call's input is told now, whole. */
  private closeCall(): string {
    const call = this.call
    if (call === undefined) return ""
    this.call = undefined
    return (call.custom ? this.builder.toolInput(parsedInput(call.args)) : "") + this.builder.close()
  }

  event(event: Uint8Array): string {
    if (this.state !== "streaming") return ""
    const data = eventPayload(event)
    if (data === undefined) return ""
    const builder = this.builder
    if (data === "[DONE]") {
      this.state = "done"
      return this.closeCall() + builder.finish(endOfFinish(this.finishReason), this.usage())
    }
    let chunk: StreamChunk
    try {
      chunk = JSON.parse(data)
    } catch {
      return ""
    }
    let out = ""
    if (!this.started) {
      this.started = true
      out += builder.start()
    }
    if (chunk.error !== undefined) {
      this.state = "failed"
      const message = typeof chunk.error.message === "string" ? chunk.error.message : "the upstream stream failed"
      return out + builder.fail("server_error", message)
    }
    const usage = fromOpenAIUsage(chunk.usage)
    if (usage !== undefined) this.reported = usage
    const choice = chunk.choices?.[0]
    const delta = choice?.delta
    if (typeof delta?.reasoning_content === "string" && delta.reasoning_content !== "") {
      this.deltas++
      out += this.closeCall() + builder.reasoning(delta.reasoning_content)
    }
    if (typeof delta?.content === "string" && delta.content !== "") {
      this.deltas++
      out += this.closeCall() + builder.text(delta.content)
    }
    for (const fragment of delta?.tool_calls ?? []) {
      const index = fragment.index ?? 0
      if (fragment.id !== undefined && this.call?.index !== index) {
        out += this.closeCall()
        const name = fragment.function?.name ?? ""
        const custom = this.customTools.has(name)
        this.call = { index, custom, args: "" }
        out += builder.toolCall(custom ? "custom_tool_call" : "function_call", fragment.id, name)
      }
      const args = fragment.function?.arguments
      if (this.call?.index !== index || typeof args !== "string" || args === "") continue
      this.deltas++
      if (this.call.custom) this.call.args += args
      else out += builder.toolInput(args)
    }
    if (choice?.finish_reason !== undefined && choice.finish_reason !== null) this.finishReason = choice.finish_reason
    return out
  }

  end(): TranslationEnd {
    if (this.state === "done") return { kind: "complete", text: "" }
    return this.state === "streaming" ? { kind: "cut" } : { kind: "upstream-error" }
  }

  usage(): Usage {
    return this.reported ?? estimatedUsage(undefined, this.promptTokens, this.deltas)
  }
}
