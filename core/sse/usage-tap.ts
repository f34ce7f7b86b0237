import { fromOpenAIUsage, type Usage } from "../usage.ts"
import { asciiPattern, DATA_FIELD, eventData, hasObjectField, includesAscii, USAGE_KEY } from "./events.ts"
import type { StreamInspector } from "./passthrough.ts"


/**
 * Reads the usage of an OpenAI chat-completions stream as it passes. Only events that carry a
 * usage object are decoded; every other event (`"usage": null` included) costs a byte scan.
 * When the relay itself asked for usage (`stream_options.include_usage`) on behalf of a client that did not, the usage-only
 * chunk (`choices: []`) is kept from that client, which would not expect it. `read` turns the
 * usage object into the relay's terms (the images API words it differently).
 */
const DONE = asciiPattern("[DONE]")
/** `data: [DONE]` with room for spacing and an `event:` or `id:` line. */
const DONE_EVENT_MAX = 64

export class OpenAIUsageTap implements StreamInspector {
  usage: Usage | undefined
  /** Data events seen: about one token each, the estimate when the stream is cut before usage. */
  dataEvents = 0
  finished = false

  /**
   * `endsWithUsage`: the event that carries the usage ends the stream (the images API's
   * `*.completed`); otherwise `data: [DONE]` does (chat completions).
   */
  constructor(
    readonly filters: boolean,
    private readonly read: (usage: unknown) => Usage | undefined = fromOpenAIUsage,
    private readonly endsWithUsage = false
  ) {}

  event(event: Uint8Array): boolean {
    if (!includesAscii(event, DATA_FIELD)) return true
    this.dataEvents++
    if (!hasObjectField(event, USAGE_KEY)) {
      // The terminal event is tiny: the scan runs only on events no longer than it.
      if (event.length <= DONE_EVENT_MAX && includesAscii(event, DONE)) this.finished = true
      return true
    }
    const data = eventData(event)
    if (data === undefined) return true
    let chunk: { usage?: unknown; choices?: unknown }
    try {
      chunk = JSON.parse(data)
    } catch {
      return true
    }
    const usage = this.read(chunk.usage)
    if (usage === undefined) return true
    this.usage = usage
    if (this.endsWithUsage) this.finished = true
    return !(this.filters && Array.isArray(chunk.choices) && chunk.choices.length === 0)
  }
}
