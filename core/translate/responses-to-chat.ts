import { InvalidRequest } from "../errors.ts"
import { invalidAt } from "../surfaces/schema-error.ts"
import { contentParts, CUSTOM_INPUT, inputItems, itemKind, jsonSchemaFormat, textOf, toolChoiceOf, toolSpecs } from "./responses-input.ts"

type Body = Readonly<Record<string, unknown>>
type ChatMessage = Record<string, unknown> & { role: string }

/** A user message's parts as chat-completions content parts. */
const userParts = (content: unknown, param: string): Array<Record<string, unknown>> | InvalidRequest => {
  const parts: Array<Record<string, unknown>> = []
  for (const [j, part] of contentParts(content).entries()) {
    const at = `${param}[${j}]`
    switch (part.type) {
      case "input_text":
      case "output_text":
      case "text":
        if (typeof part.text !== "string") return invalidAt(at, "expected text")
        parts.push({ type: "text", text: part.text })
        break
      case "input_image":
        if (typeof part.image_url !== "string") return invalidAt(`${at}.image_url`, "only images given by image_url can reach this model")
        parts.push({ type: "image_url", image_url: { url: part.image_url, ...(typeof part.detail === "string" ? { detail: part.detail } : {}) } })
        break
      case "input_file":
        if (typeof part.file_data !== "string") return invalidAt(`${at}.file_data`, "only files sent as file_data can reach this model")
        parts.push({ type: "file", file: { file_data: part.file_data, ...(typeof part.filename === "string" ? { filename: part.filename } : {}) } })
        break
      default:
        return invalidAt(`${at}.type`, `content parts of type ${JSON.stringify(part.type)} cannot reach this model`)
    }
  }
  return parts
}

/**
 * A Responses request as a chat-completions request, for an upstream that speaks only those
 * (an OpenAI-compatible server, Gemini, the echo provider). Tool calls of the assistant join
 * its message; a custom tool becomes a function taking its free text as one string argument;
 * reasoning items, which such an upstream cannot read, are left out.
 */
export const responsesToChat = (
  body: Body,
  target: { readonly model: string; readonly clientModel: string; readonly maxOutputTokens: number | undefined; readonly reasoning: boolean }
): Record<string, unknown> | InvalidRequest => {
  const messages: Array<ChatMessage> = []
  if (typeof body.instructions === "string" && body.instructions !== "") messages.push({ role: "system", content: body.instructions })
  /** The assistant message that tool calls join, while no other message came between. */
  let assistant: ChatMessage | undefined
  const assistantMessage = (): ChatMessage => {
    if (assistant === undefined) {
      assistant = { role: "assistant", content: null }
      messages.push(assistant)
    }
    return assistant
  }
  for (const [i, item] of inputItems(body.input).entries()) {
    const param = `input[${i}]`
    const kind = itemKind(item)
    switch (kind) {
      case "message": {
        const role = item.role
        if (role === "assistant") {
          const text = textOf(item.content, `${param}.content`)
          if (text instanceof InvalidRequest) return text
          assistant = { role: "assistant", content: text }
          messages.push(assistant)
          break
        }
        assistant = undefined
        if (role === "system" || role === "developer") {
          const text = textOf(item.content, `${param}.content`)
          if (text instanceof InvalidRequest) return text
          messages.push({ role, content: text })
          break
        }
        if (role !== "user") return invalidAt(`${param}.role`, "expected user, assistant, system or developer")
        const parts = userParts(item.content, `${param}.content`)
        if (parts instanceof InvalidRequest) return parts
        messages.push({ role: "user", content: typeof item.content === "string" ? item.content : parts })
        break
      }
      case "function_call":
      case "custom_tool_call": {
        if (typeof item.call_id !== "string" || typeof item.name !== "string") return invalidAt(param, "a tool call needs its call_id and name")
        const args = kind === "function_call"
          ? (typeof item.arguments === "string" ? item.arguments : "{}")
          : JSON.stringify({ [CUSTOM_INPUT]: typeof item.input === "string" ? item.input : "" })
        const message = assistantMessage()
        message.tool_calls = [...((message.tool_calls as Array<unknown> | undefined) ?? []), {
          id: item.call_id,
          type: "function",
          function: { name: item.name, arguments: args }
        }]
        break
      }
      case "function_call_output":
      case "custom_tool_call_output": {
        if (typeof item.call_id !== "string") return invalidAt(`${param}.call_id`, "a tool output needs the call_id of its call")
        const text = textOf(item.output ?? "", `${param}.output`)
        if (text instanceof InvalidRequest) return text
        // Tool messages follow their assistant message; the next call starts a new one.
        assistant = undefined
        messages.push({ role: "tool", tool_call_id: item.call_id, content: text })
        break
      }
      case "reasoning":
        break
      default:
        return invalidAt(`${param}.type`, `input items of type ${JSON.stringify(item.type)} cannot reach this model`)
    }
  }
  if (messages.length === 0) return invalidAt("input", "the request has no input")

  const out: Record<string, unknown> = { model: target.model, messages }
  // Lowered to the catalogued cap, as every surface's limit is (SPEC section 10).
  if (typeof body.max_output_tokens === "number") out.max_completion_tokens = Math.min(body.max_output_tokens, target.maxOutputTokens ?? Infinity)
  if (typeof body.temperature === "number") out.temperature = body.temperature
  if (typeof body.top_p === "number") out.top_p = body.top_p
  if (body.stream === true) {
    out.stream = true
    // The usage arrives only when asked for; every stream is settled from it.
    out.stream_options = { include_usage: true }
  }
  const specs = toolSpecs(body.tools, target.clientModel, body.tool_choice)
  if (specs instanceof InvalidRequest) return specs
  const choice = toolChoiceOf(body.tool_choice)
  if (choice instanceof InvalidRequest) return choice
  if (specs.length > 0) {
    out.tools = specs.map((spec) => ({
      type: "function",
      function: {
        name: spec.name,
        ...(spec.description === undefined ? {} : { description: spec.description }),
        parameters: spec.parameters,
        ...(spec.strict === undefined ? {} : { strict: spec.strict })
      }
    }))
    if (choice !== undefined) out.tool_choice = typeof choice === "string" ? choice : { type: "function", function: { name: choice.name } }
    if (typeof body.parallel_tool_calls === "boolean") out.parallel_tool_calls = body.parallel_tool_calls
  }
  const format = jsonSchemaFormat(body.text)
  if (format !== undefined) {
    out.response_format = {
      type: "json_schema",
      json_schema: { name: format.name, schema: format.schema, ...(typeof format.strict === "boolean" ? { strict: format.strict } : {}) }
    }
  } else if ((body.text as { format?: { type?: unknown } } | null | undefined)?.format?.type === "json_object") {
    out.response_format = { type: "json_object" }
  }
  // Only a model that reasons takes the effort (reasoning.ts); others refuse the field.
  const effort = (body.reasoning as { effort?: unknown } | null | undefined)?.effort
  if (target.reasoning && typeof effort === "string") out.reasoning_effort = effort
  const user = body.safety_identifier ?? body.user
  if (typeof user === "string") out.user = user
  return out
}
