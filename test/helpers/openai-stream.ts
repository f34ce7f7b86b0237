/** Tool calls reassembled from their streamed fragments, by index. */
export interface StreamedCall {
  id: string
  name: string
  arguments: string
}

/** A chunk's `usage`, as far as the tests read it. */
export interface WireUsage {
  readonly prompt_tokens?: number
  readonly completion_tokens?: number
  readonly total_tokens?: number
  readonly prompt_tokens_details?: { readonly cached_tokens?: number } | null
  readonly [field: string]: unknown
}

/** What a chat-completions stream adds up to, read the way the openai SDK's consumers read it. */
export interface StreamReading {
  content: string
  /** `reasoning_content` deltas, as OpenAI-compatible servers stream reasoning. */
  reasoning: string
  calls: Array<StreamedCall>
  finish: string | null
  usage: WireUsage | undefined
  readonly ids: Set<string>
  readonly models: Set<string>
}

interface Chunk {
  readonly id?: string
  readonly model?: string
  readonly usage?: unknown
  readonly choices: ReadonlyArray<{
    readonly delta: {
      readonly content?: string | null
      readonly reasoning_content?: string | null
      readonly tool_calls?: ReadonlyArray<{ index: number; id?: string; function?: { name?: string; arguments?: string } }>
    }
    readonly finish_reason?: string | null
  }>
}

export const emptyReading = (): StreamReading => ({
  content: "",
  reasoning: "",
  calls: [],
  finish: null,
  usage: undefined,
  ids: new Set(),
  models: new Set()
})

/** Adds one chunk to `reading`: text, tool-call fragments, finish reason, usage. */
export const readChunk = (reading: StreamReading, chunk: Chunk): void => {
  if (chunk.id !== undefined) reading.ids.add(chunk.id)
  if (chunk.model !== undefined) reading.models.add(chunk.model)
  if (chunk.usage) reading.usage = chunk.usage as WireUsage
  const choice = chunk.choices[0]
  if (choice === undefined) return
  reading.content += choice.delta.content ?? ""
  reading.reasoning += choice.delta.reasoning_content ?? ""
  for (const fragment of choice.delta.tool_calls ?? []) {
    const call = (reading.calls[fragment.index] ??= { id: "", name: "", arguments: "" })
    if (fragment.id) call.id = fragment.id
    if (fragment.function?.name) call.name = fragment.function.name
    call.arguments += fragment.function?.arguments ?? ""
  }
  reading.finish = choice.finish_reason ?? reading.finish
}

/** Reads a whole SDK stream. */
export const readStream = async (stream: AsyncIterable<Chunk>): Promise<StreamReading> => {
  const reading = emptyReading()
  for await (const chunk of stream) readChunk(reading, chunk)
  return reading
}
