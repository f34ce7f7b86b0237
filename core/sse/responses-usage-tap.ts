import { fromResponsesUsage, type Usage } from "../usage.ts"
import { asciiPattern, DATA_FIELD, eventData, hasObjectField, includesAscii, USAGE_KEY } from "./events.ts"
import type { StreamInspector } from "./passthrough.ts"

const CREATED = asciiPattern('"response.created"')

/** A failed response's terminal event, which may come without usage. */
const FAILED = asciiPattern('"response.failed"')

/**
 * Reads an OpenAI Responses stream as it passes: the usage of its terminal event
 * (`response.completed`, `.incomplete` or `.failed`, the only ones with a usage object, so the
 * only ones decoded), which also makes the stream whole. It never keeps an event from the client.
 */
export class ResponsesUsageTap implements StreamInspector {
  readonly filters = false
  usage: Usage | undefined
  /** Data events seen: one sequence number each, and about one token each for a cut stream. */
  dataEvents = 0

  /** `onFinished` is told the response of a `response.completed` or `.incomplete` before the client gets it. */
  constructor(private readonly onFinished?: (response: Record<string, unknown>) => void) {}

  /** The response as `response.created` told it, which a failure event repeats. */
  started: Record<string, unknown> | undefined
  /** The terminal event passed: the stream is whole (a close before it is a failure). */
  finished = false

  event(event: Uint8Array): boolean {
    if (!includesAscii(event, DATA_FIELD)) return true
    this.dataEvents++
    if (this.started === undefined && includesAscii(event, CREATED)) this.started = this.responseOf(event)
    if (!hasObjectField(event, USAGE_KEY)) {
      if (includesAscii(event, FAILED)) this.finished = true
      return true
    }
    const data = eventData(event)
    if (data === undefined) return true
    try {
      const response = (JSON.parse(data) as { response?: unknown }).response
      if (response === null || typeof response !== "object") return true
      const { usage, status } = response as { usage?: unknown; status?: unknown }
      this.usage = fromResponsesUsage(usage)
      this.finished = status === "completed" || status === "incomplete" || status === "failed"
      if (status === "completed" || status === "incomplete") this.onFinished?.(response as Record<string, unknown>)
    } catch {
      // A malformed event: the stream's end reports what is known.
    }
    return true
  }

  private responseOf(event: Uint8Array): Record<string, unknown> | undefined {
    const data = eventData(event)
    if (data === undefined) return undefined
    try {
      const response = (JSON.parse(data) as { response?: unknown }).response
      return response !== null && typeof response === "object" ? response as Record<string, unknown> : undefined
    } catch {
      return undefined
    }
  }
}
