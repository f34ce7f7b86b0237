import { randomBase62 } from "../secrets.ts"
import type { Usage } from "../usage.ts"

/**
 * A Responses API answer built from another protocol's (PROTOCOLS.md section 8): the output
 * items and, for a stream, the events that tell them in order with their `sequence_number`.
 * The translators of Anthropic and chat-completions answers drive it; it keeps the grammar
 * (an item is added, its parts grow, it is done; then one terminal event) in one place.
 */

export type ResponseItem = Record<string, unknown> & { readonly type: string; readonly id: string }

/** What a finished answer says about its end. */
export interface ResponseEnd {
  readonly status: "completed" | "incomplete"
  /** For `incomplete`: `max_output_tokens` or `content_filter`. */
  readonly reason?: "max_output_tokens" | "content_filter"
}

/** The fields of the request a response object repeats (OpenAI echoes them back). */
type ResponseEcho = Readonly<Record<string, unknown>>

/** The Responses usage object of the relay's usage (PROTOCOLS.md 8: reasoning is part of the output). */
const responsesUsageOf = (usage: Usage) => ({
  input_tokens: usage.promptTokens,
  input_tokens_details: { cached_tokens: usage.cachedTokens },
  output_tokens: usage.completionTokens,
  output_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
  total_tokens: usage.promptTokens + usage.completionTokens
})


/** The item being told, and its text so far (message text, summary, arguments or input). */
interface Open {
  readonly kind: "message" | "reasoning" | "function_call" | "custom_tool_call"
  readonly item: ResponseItem
  text: string
}

/**
 * Builds one response. With `stream` each call answers the SSE text due for it; without, the
 * calls answer "" and `response()` is the whole answer.
 */
export class ResponseBuilder {
  readonly id = `resp_${randomBase62(24)}`
  readonly createdAt = Math.floor(Date.now() / 1000)
  readonly output: Array<ResponseItem> = []
  private sequence = 0
  private open: Open | undefined
  private status: "in_progress" | "completed" | "incomplete" | "failed" = "in_progress"
  private incomplete: ResponseEnd["reason"] | undefined
  private error: { code: string; message: string } | undefined
  private usage: Usage | undefined

  private readonly model: string
  private readonly echo: ResponseEcho
  private readonly stream: boolean
  private readonly summaries: boolean
  private readonly onFinish: (response: Record<string, unknown>) => void

  constructor(options: {
    /** The client's name for the model. */
    readonly model: string
    readonly echo: ResponseEcho
    readonly stream: boolean
    /**
     * The request asked for reasoning summaries (`reasoning.summary`): reasoning text is told as
     * one. Without, a reasoning item carries only its `encrypted_content`, as OpenAI's do.
     */
    readonly summaries: boolean
    /** Called with the finished response before its terminal event is answered. */
    readonly onFinish?: ((response: Record<string, unknown>) => void) | undefined
  }) {
    this.model = options.model
    this.echo = options.echo
    this.stream = options.stream
    this.summaries = options.summaries
    this.onFinish = options.onFinish ?? (() => {})
  }

  private event(type: string, fields: Record<string, unknown>): string {
    if (!this.stream) return ""
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.sequence++, ...fields })}\n\n`
  }

  /** The response object as it stands. */
  response(): Record<string, unknown> {
    return {
      id: this.id,
      object: "response",
      created_at: this.createdAt,
      status: this.status,
      background: false,
      error: this.error ?? null,
      incomplete_details: this.incomplete === undefined ? null : { reason: this.incomplete },
      model: this.model,
      output: this.output,
      ...this.echo,
      usage: this.usage === undefined ? null : responsesUsageOf(this.usage)
    }
  }

  /** `response.created` and `response.in_progress`, the stream's first events. */
  start(): string {
    const response = this.response()
    return this.event("response.created", { response }) + this.event("response.in_progress", { response })
  }

  private begin(kind: Open["kind"], item: ResponseItem): string {
    const out = this.close()
    this.open = { kind, item, text: "" }
    return out + this.event("response.output_item.added", { output_index: this.output.length, item })
  }

  private get index(): number {
    return this.output.length
  }

  /** Text of the assistant's message; opens the message when another item is open. */
  text(delta: string): string {
    let out = ""
    if (this.open?.kind !== "message") {
      const id = `msg_${randomBase62(24)}`
      out += this.begin("message", { id, type: "message", status: "in_progress", role: "assistant", content: [] })
      out += this.event("response.content_part.added", {
        item_id: id,
        output_index: this.index,
        content_index: 0,
        part: { type: "output_text", text: "", annotations: [] }
      })
    }
    const open = this.open!
    open.text += delta
    return out + this.event("response.output_text.delta", { item_id: open.item.id, output_index: this.index, content_index: 0, delta, logprobs: [] })
  }

  /** Reasoning text (Claude's thinking), told as a summary when asked for; opens a reasoning item when none is open. */
  reasoning(delta: string): string {
    let out = ""
    if (this.open?.kind !== "reasoning") out += this.beginReasoning()
    if (!this.summaries) return out
    const open = this.open!
    open.text += delta
    return out + this.event("response.reasoning_summary_text.delta", { item_id: open.item.id, output_index: this.index, summary_index: 0, delta })
  }

  private beginReasoning(): string {
    const id = `rs_${randomBase62(24)}`
    const begun = this.begin("reasoning", { id, type: "reasoning", summary: [] })
    if (!this.summaries) return begun
    return begun +
      this.event("response.reasoning_summary_part.added", { item_id: id, output_index: this.index, summary_index: 0, part: { type: "summary_text", text: "" } })
  }

  /**
   * The opaque state a later turn must send back for this reasoning (Claude's signed thinking),
   * carried as the item's `encrypted_content`; opens a reasoning item when none is open.
   */
  reasoningState(encrypted: string): string {
    const out = this.open?.kind === "reasoning" ? "" : this.beginReasoning()
    this.open!.item.encrypted_content = encrypted
    return out
  }

  /** A tool call starts: a function call, or a custom tool's call whose input is free text. */
  toolCall(kind: "function_call" | "custom_tool_call", callId: string, name: string): string {
    const id = `${kind === "function_call" ? "fc" : "ctc"}_${randomBase62(24)}`
    const item: ResponseItem = kind === "function_call"
      ? { id, type: kind, status: "in_progress", call_id: callId, name, arguments: "" }
      : { id, type: kind, status: "in_progress", call_id: callId, name, input: "" }
    return this.begin(kind, item)
  }

  /** Arguments (or a custom tool's input) of the open tool call. */
  toolInput(delta: string): string {
    const open = this.open
    if (open === undefined || (open.kind !== "function_call" && open.kind !== "custom_tool_call") || delta === "") return ""
    open.text += delta
    const type = open.kind === "function_call" ? "response.function_call_arguments.delta" : "response.custom_tool_call_input.delta"
    return this.event(type, { item_id: open.item.id, output_index: this.index, delta })
  }

  /** Ends the open item, if any, with its `.done` events. */
  close(): string {
    const open = this.open
    if (open === undefined) return ""
    this.open = undefined
    const index = this.index
    const id = open.item.id
    let out = ""
    let item: ResponseItem
    switch (open.kind) {
      case "message": {
        const part = { type: "output_text", text: open.text, annotations: [] }
        out += this.event("response.output_text.done", { item_id: id, output_index: index, content_index: 0, text: open.text, logprobs: [] })
        out += this.event("response.content_part.done", { item_id: id, output_index: index, content_index: 0, part })
        item = { ...open.item, status: "completed", content: [part] }
        break
      }
      case "reasoning": {
        const part = { type: "summary_text", text: open.text }
        if (this.summaries) {
          out += this.event("response.reasoning_summary_text.done", { item_id: id, output_index: index, summary_index: 0, text: open.text })
          out += this.event("response.reasoning_summary_part.done", { item_id: id, output_index: index, summary_index: 0, part })
        }
        item = { ...open.item, summary: open.text === "" ? [] : [part] }
        break
      }
      case "function_call": {
        // A call that streamed no arguments took none: `{}` is what its JSON must say.
        const args = open.text === "" ? "{}" : open.text
        out += this.event("response.function_call_arguments.done", { item_id: id, output_index: index, name: open.item.name, arguments: args })
        item = { ...open.item, status: "completed", arguments: args }
        break
      }
      case "custom_tool_call": {
        out += this.event("response.custom_tool_call_input.done", { item_id: id, output_index: index, input: open.text })
        item = { ...open.item, status: "completed", input: open.text }
        break
      }
    }
    this.output.push(item)
    return out + this.event("response.output_item.done", { output_index: index, item })
  }

  /** Ends the response: `response.completed` or `response.incomplete`, with the usage. */
  finish(end: ResponseEnd, usage: Usage | undefined): string {
    const out = this.close()
    this.status = end.status
    this.incomplete = end.status === "incomplete" ? end.reason ?? "max_output_tokens" : undefined
    this.usage = usage
    const response = this.response()
    this.onFinish(response)
    return out + this.event(end.status === "completed" ? "response.completed" : "response.incomplete", { response })
  }

  /** Ends the response as failed (the upstream failed after the stream started). */
  fail(code: string, message: string): string {
    this.open = undefined
    this.status = "failed"
    this.error = { code, message }
    return this.event("response.failed", { response: this.response() })
  }
}
