import type { ServerResponse } from "node:http"
import { sampleOf, toolDirective } from "./scripted-answers.ts"

/**
 * OpenAI's Responses API as the mock upstream serves it (PROTOCOLS.md 8): strict like the real
 * one (an unknown top-level field is a 400 naming it), streaming with the full event grammar
 * and `sequence_number`, keeping responses with `store` for `previous_response_id`, GET, DELETE
 * and `input_items`.
 *
 * What it answers, by model and input:
 * - a user text holding a tool directive (scripted-answers.ts) and no tool output after it: a
 *   function call of that declared tool with that input; `mock-tools` calls the first declared
 *   function tool with TOOL_ARGUMENTS;
 * - after a function call output: `tool said: <outputs>`;
 * - with `text.format` json_schema: an object that fits the schema (scripted-answers.ts);
 * - otherwise the last user text, plus ` (after N earlier items)` when it continues a response.
 * Usage: 20 + input items in, 4 of them cached; a word a token out, plus 2 reasoning tokens.
 * `mock-cut` streams its first text delta, then drops the connection.
 */

export const TOOL_ARGUMENTS = JSON.stringify({ city: "Paris" })

const KNOWN_FIELDS = new Set([
  "background", "client_metadata", "conversation", "include", "input", "instructions", "max_output_tokens", "max_tool_calls", "metadata", "model",
  "parallel_tool_calls", "previous_response_id", "prompt", "prompt_cache_key", "prompt_cache_retention", "reasoning",
  "safety_identifier", "service_tier", "store", "stream", "stream_options", "temperature", "text", "tool_choice", "tools",
  "top_logprobs", "top_p", "truncation", "user"
])

type Item = Record<string, unknown> & { type?: unknown; role?: unknown }

interface Kept {
  readonly response: Record<string, unknown>
  readonly input: Array<Item>
}

const itemsOf = (input: unknown): Array<Item> =>
  typeof input === "string" ? [{ type: "message", role: "user", content: input }] : Array.isArray(input) ? input : []

const textOf = (content: unknown): string =>
  typeof content === "string"
    ? content
    : Array.isArray(content)
    ? content.map((part) => (typeof part?.text === "string" ? part.text : "")).join("")
    : ""

const error = (message: string, param: string | null, code: string | null = null) =>
  JSON.stringify({ error: { message, type: "invalid_request_error", param, code } })

export class MockResponses {
  private readonly kept = new Map<string, Kept>()
  private count = 0

  /** Answers a request under `/v1/responses`; false when the path is not one of its routes. */
  handle(method: string, path: string, body: Record<string, unknown>, res: ServerResponse): boolean {
    const url = new URL(path, "http://mock")
    const match = /^\/v1\/responses(?:\/([^/]+)(\/input_items)?)?$/.exec(url.pathname)
    if (match === null) return false
    const [, id, items] = match
    if (id === undefined) {
      if (method !== "POST") return false
      void this.create(body, res)
      return true
    }
    const kept = this.kept.get(decodeURIComponent(id))
    if (kept === undefined) {
      json(res, 404, error(`No response found with id '${id}'.`, null, "not_found"))
      return true
    }
    if (method === "DELETE" && items === undefined) {
      this.kept.delete(id)
      json(res, 200, JSON.stringify({ id, object: "response", deleted: true }))
    } else if (method === "GET" && items !== undefined) {
      const data = kept.input.map((item, i) => ({ id: `item_${i}`, ...item }))
      json(res, 200, JSON.stringify({ object: "list", data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: false }))
    } else if (method === "GET") {
      json(res, 200, JSON.stringify(kept.response))
    } else return false
    return true
  }

  private async create(body: Record<string, unknown>, res: ServerResponse) {
    const unknown = Object.keys(body).find((field) => !KNOWN_FIELDS.has(field))
    if (unknown !== undefined) return json(res, 400, error(`Unknown parameter: '${unknown}'.`, unknown, "unknown_parameter"))
    if (typeof body.model !== "string") return json(res, 400, error("Missing required parameter: 'model'.", "model", "missing_required_parameter"))
    const max = body.max_output_tokens
    if (max !== undefined && max !== null && (!Number.isInteger(max) || (max as number) < 16)) {
      return json(res, 400, error("Invalid 'max_output_tokens': integer below minimum value.", "max_output_tokens", "integer_below_min_value"))
    }
    let history: Array<Item> = []
    if (body.previous_response_id !== undefined) {
      const previous = this.kept.get(String(body.previous_response_id))
      if (previous === undefined) {
        return json(res, 400, error(`Previous response with id '${body.previous_response_id}' not found.`, "previous_response_id", "previous_response_not_found"))
      }
      history = [...previous.input, ...(previous.response.output as Array<Item>)]
    }
    const own = itemsOf(body.input)
    const input = [...history, ...own]
    const tools = (body.tools ?? []) as Array<{ type?: unknown; name?: unknown }>
    const functions = tools.filter((tool) => tool.type === "function").map((tool) => String(tool.name))
    const lastUser = [...input].reverse().find((item) => (item.type ?? "message") === "message" && item.role === "user")
    const userText = textOf(lastUser?.content)
    const outputs = input.slice(input.lastIndexOf(lastUser!) + 1).filter((item) => item.type === "function_call_output")
    const directive = toolDirective(userText, functions)
    let call: { name: string; arguments: string } | undefined
    if (outputs.length === 0) {
      if (directive !== undefined) call = { name: directive.name, arguments: JSON.stringify(directive.input) }
      else if (body.model === "mock-tools" && functions[0] !== undefined) call = { name: functions[0], arguments: TOOL_ARGUMENTS }
    }
    const format = (body.text as { format?: { type?: unknown; schema?: Parameters<typeof sampleOf>[0] } } | undefined)?.format
    const text = outputs.length > 0
      ? `tool said: ${outputs.map((item) => textOf(item.output)).join(" | ")}`
      : format?.type === "json_schema"
      ? JSON.stringify(sampleOf(format.schema))
      : history.length > 0
      ? `${userText} (after ${history.length} earlier items)`
      : userText

    this.count++
    const id = `resp_mock${this.count}`
    const item = call === undefined
      ? { id: `msg_mock${this.count}`, type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text, annotations: [], logprobs: [] }] }
      : { id: `fc_mock${this.count}`, type: "function_call", status: "completed", call_id: `call_mock${this.count}`, name: call.name, arguments: call.arguments }
    const words = call === undefined ? text.split(" ").length : 12
    const usage = {
      input_tokens: 20 + input.length,
      input_tokens_details: { cached_tokens: 4 },
      output_tokens: words + 2,
      output_tokens_details: { reasoning_tokens: 2 },
      total_tokens: 20 + input.length + words + 2
    }
    const response = {
      id,
      object: "response",
      created_at: 1_730_000_000,
      status: "completed",
      background: false,
      error: null,
      incomplete_details: null,
      instructions: body.instructions ?? null,
      max_output_tokens: body.max_output_tokens ?? null,
      model: `${body.model}-2025-08-07`,
      output: [item],
      parallel_tool_calls: body.parallel_tool_calls ?? true,
      previous_response_id: body.previous_response_id ?? null,
      reasoning: { effort: null, summary: null },
      store: body.store ?? true,
      temperature: 1,
      text: body.text ?? { format: { type: "text" } },
      tool_choice: body.tool_choice ?? "auto",
      tools: body.tools ?? [],
      top_p: 1,
      truncation: "disabled",
      usage,
      metadata: body.metadata ?? {}
    }
    if (body.store !== false) this.kept.set(id, { response, input })

    if (body.stream !== true) return json(res, 200, JSON.stringify(response))

    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" })
    let sequence = 0
    const send = (type: string, fields: Record<string, unknown>) =>
      res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...fields })}\n\n`)
    const started = { ...response, status: "in_progress", output: [], usage: null }
    send("response.created", { response: started })
    send("response.in_progress", { response: started })
    if (item.type === "message") {
      send("response.output_item.added", { output_index: 0, item: { ...item, status: "in_progress", content: [] } })
      send("response.content_part.added", { item_id: item.id, output_index: 0, content_index: 0, part: { type: "output_text", text: "", annotations: [] } })
      for (const word of text.match(/\S+\s*/g) ?? []) {
        send("response.output_text.delta", { item_id: item.id, output_index: 0, content_index: 0, delta: word, logprobs: [] })
        if (body.model === "mock-cut") {
          // Let the bytes so far reach the relay, as a connection dropped mid-answer does.
          await new Promise((resolve) => setTimeout(resolve, 20))
          return res.socket?.destroy()
        }
      }
      send("response.output_text.done", { item_id: item.id, output_index: 0, content_index: 0, text, logprobs: [] })
      send("response.content_part.done", { item_id: item.id, output_index: 0, content_index: 0, part: { type: "output_text", text, annotations: [] } })
    } else {
      send("response.output_item.added", { output_index: 0, item: { ...item, status: "in_progress", arguments: "" } })
      const args = String(item.arguments)
      for (let i = 0; i < args.length; i += 6) send("response.function_call_arguments.delta", { item_id: item.id, output_index: 0, delta: args.slice(i, i + 6) })
      send("response.function_call_arguments.done", { item_id: item.id, output_index: 0, name: item.name, arguments: args })
    }
    send("response.output_item.done", { output_index: 0, item })
    send("response.completed", { response })
    res.end()
  }
}

const json = (res: ServerResponse, status: number, body: string) => {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(body)
}
