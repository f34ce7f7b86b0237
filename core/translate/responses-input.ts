import type { InvalidRequest } from "../errors.ts"
import { invalidAt } from "../surfaces/schema-error.ts"

/**
 * What both Responses translators (to Anthropic Messages, to chat completions) read from a
 * Responses request alike: its input as items, and its tools as function or custom tools.
 */

export type InputItem = Readonly<Record<string, unknown>> & { readonly type?: unknown; readonly role?: unknown }
export type InputPart = Readonly<Record<string, unknown>> & { readonly type?: unknown }

/** A string input is one user message; an item list is taken as it is. */
export const inputItems = (input: unknown): ReadonlyArray<InputItem> =>
  typeof input === "string" ? [{ type: "message", role: "user", content: input }] : Array.isArray(input) ? input : []

/** An item's kind: a message may leave out `type: "message"` and give only its role. */
export const itemKind = (item: InputItem): string => (typeof item.type === "string" ? item.type : "message")

/** A message's content as parts: a string is one text part. */
export const contentParts = (content: unknown): ReadonlyArray<InputPart> =>
  typeof content === "string" ? [{ type: "input_text", text: content }] : Array.isArray(content) ? content : []

/** The text of a message or tool output given as a string or text parts. */
export const textOf = (content: unknown, param: string): string | InvalidRequest => {
  if (typeof content === "string") return content
  let text = ""
  for (const [j, part] of contentParts(content).entries()) {
    if (typeof part.text !== "string") return invalidAt(`${param}[${j}]`, "expected a text part")
    text += part.text
  }
  return text
}

/** A function tool, or a custom tool (Codex's `apply_patch`) whose input is free text. */
export interface ToolSpec {
  readonly name: string
  readonly description: string | undefined
  /** The JSON schema of a function tool's arguments; a custom tool's single `input` string. */
  readonly parameters: Record<string, unknown>
  readonly strict: boolean | undefined
  readonly custom: boolean
}

/**
 * The argument a custom tool's free-text input travels in where only JSON arguments exist
 * (Claude's tool use, a chat-completions function).
 */
export const CUSTOM_INPUT = "input"

const customParameters = {
  type: "object",
  properties: { [CUSTOM_INPUT]: { type: "string", description: "The tool's whole input, as free text in the format the description gives." } },
  required: [CUSTOM_INPUT]
}

/**
 * Whether the request leaves its tools optional: the model may answer without any given tool
 * (`tool_choice` absent, `auto` or `none`, or naming a function or custom tool).
 */
const toolsOptional = (choice: unknown): boolean => {
  if (choice === undefined || choice === null || choice === "auto" || choice === "none") return true
  const type = (choice as { type?: unknown }).type
  return type === "function" || type === "custom"
}

/**
 * The request's tools for a model whose provider runs none of OpenAI's built-in tools. Function
 * and custom tools are kept, and the function tools of a `namespace` (Codex groups some so).
 * A built-in tool (`web_search`, `file_search`...) is dropped where the request leaves tools
 * optional, as Codex does with the web search it always offers; where the request requires a
 * tool call it is refused by name, since the model could not make the call it demands.
 */
export const toolSpecs = (tools: unknown, model: string, choice?: unknown): ReadonlyArray<ToolSpec> | InvalidRequest => {
  if (!Array.isArray(tools)) return []
  const specs: Array<ToolSpec> = []
  const entries = (tools as ReadonlyArray<Record<string, unknown>>).flatMap((tool, i) =>
    tool.type === "namespace" && Array.isArray(tool.tools)
      ? (tool.tools as ReadonlyArray<Record<string, unknown>>).map((inner, j) => ({ tool: inner, at: `tools[${i}].tools[${j}]` }))
      : [{ tool, at: `tools[${i}]` }]
  )
  for (const { tool, at } of entries) {
    if (tool.type !== "function" && tool.type !== "custom") {
      if (toolsOptional(choice)) continue
      return invalidAt(
        `${at}.type`,
        `the built-in tool ${JSON.stringify(tool.type)} cannot run on ${model}; only function and custom tools reach this model`
      )
    }
    if (typeof tool.name !== "string" || tool.name === "") return invalidAt(`${at}.name`, "a tool needs a name")
    const description = typeof tool.description === "string" ? tool.description : undefined
    if (tool.type === "function") {
      specs.push({
        name: tool.name,
        description,
        parameters: (tool.parameters ?? { type: "object", properties: {} }) as Record<string, unknown>,
        strict: typeof tool.strict === "boolean" ? tool.strict : undefined,
        custom: false
      })
      continue
    }
    // The model is told the input's grammar, which the Responses API would have enforced.
    const format = tool.format as { type?: unknown; syntax?: unknown; definition?: unknown } | undefined
    const grammar = format?.type === "grammar" && typeof format.definition === "string"
      ? `\n\nThe input must follow this ${typeof format.syntax === "string" ? format.syntax : ""} grammar:\n${format.definition}`
      : ""
    specs.push({ name: tool.name, description: `${description ?? ""}${grammar}` || undefined, parameters: customParameters, strict: undefined, custom: true })
  }
  return specs
}

/** A named tool choice (`{type:"function"|"custom", name}`), or one of the three words. */
export const toolChoiceOf = (choice: unknown): "auto" | "required" | "none" | { readonly name: string } | InvalidRequest | undefined => {
  if (choice === undefined || choice === null) return undefined
  if (choice === "auto" || choice === "required" || choice === "none") return choice
  const named = choice as { type?: unknown; name?: unknown }
  if ((named.type === "function" || named.type === "custom") && typeof named.name === "string") return { name: named.name }
  return invalidAt("tool_choice", "expected \"auto\", \"required\", \"none\" or a function or custom tool to call")
}

/** A custom tool's free-text input, from the JSON arguments it travelled in. */
export const customInputOf = (args: unknown): string => {
  const value = (args as Record<string, unknown> | null)?.[CUSTOM_INPUT]
  return typeof value === "string" ? value : JSON.stringify(args ?? {})
}

/** The structured-output format of `text.format` (`json_schema`), if the request asks for one. */
export const jsonSchemaFormat = (text: unknown): { readonly name: string; readonly schema: unknown; readonly strict: unknown } | undefined => {
  const format = (text as { format?: { type?: unknown; name?: unknown; schema?: unknown; strict?: unknown } } | null | undefined)?.format
  if (format?.type !== "json_schema" || format.schema === undefined) return undefined
  return { name: typeof format.name === "string" ? format.name : "output", schema: format.schema, strict: format.strict }
}
