/**
 * What the mock upstreams answer when a test needs a particular answer from a real client's
 * own request: a call of one of the client's tools, named in the prompt, or an object that
 * fits the client's JSON schema (structured output).
 */

/**
 * `<call tool="Read">{"file_path":"/tmp/a.txt"}</call>` in the user's text: the mock model
 * calls that tool with that input, if the request declares it. Real clients (Claude Code,
 * the AI SDK, LangChain) send their own tools; the prompt says which to call and how.
 */
const DIRECTIVE = /<call tool="([^"]+)">(\{.*?\})<\/call>/s

export const toolDirective = (text: string, declared: ReadonlyArray<string>): { name: string; input: Record<string, unknown> } | undefined => {
  const match = DIRECTIVE.exec(text)
  if (match === null || !declared.includes(match[1]!)) return undefined
  return { name: match[1]!, input: JSON.parse(match[2]!) as Record<string, unknown> }
}

type JsonSchema = {
  readonly type?: string | ReadonlyArray<string>
  readonly properties?: Record<string, JsonSchema>
  readonly items?: JsonSchema
  readonly enum?: ReadonlyArray<unknown>
  readonly const?: unknown
  readonly anyOf?: ReadonlyArray<JsonSchema>
  readonly oneOf?: ReadonlyArray<JsonSchema>
}

/** A value that fits `schema` (every property present, as strict structured output has it). */
export const sampleOf = (schema: JsonSchema | undefined): unknown => {
  if (schema === undefined) return null
  if (schema.const !== undefined) return schema.const
  if (schema.enum !== undefined) return schema.enum[0]
  const alternative = schema.anyOf ?? schema.oneOf
  if (alternative !== undefined) return sampleOf(alternative.find((s) => s.type !== "null") ?? alternative[0])
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type
  switch (type) {
    case "object":
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([key, value]) => [key, sampleOf(value)]))
    case "array":
      return [sampleOf(schema.items)]
    case "string":
      return "sample"
    case "integer":
    case "number":
      return 7
    case "boolean":
      return true
    default:
      return null
  }
}
