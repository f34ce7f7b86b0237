import { fromOpenAIUsage, type Usage } from "../usage.ts"
import { DATA_FIELD, eventData, hasObjectField, includesAscii, USAGE_KEY } from "./events.ts"
import type { StreamInspector } from "./passthrough.ts"


/**
 * Reads the usage of an OpenAI chat-completions stream as it passes. Only events that carry a
 * usage object are decoded; every other event (`"usage": null` included) costs a byte scan.
 * When the relay itself asked for usage (`stream_options.include_usage`) on behalf of a client that did not, the usage-only
 * chunk (`choices: []`) is kept from that client, which would not expect it. `read` turns the
 * usage object into the relay's terms (the images API words it differently).
 */
export class OpenAIUsageTap implements StreamInspector {
  usage: Usage | undefined
  /** Data events seen: about one token each, the estimate when the stream is cut before usage. */
  dataEvents = 0

  constructor(readonly filters: boolean, private readonly read: (usage: unknown) => Usage | undefined = fromOpenAIUsage) {}

  event(event: Uint8Array): boolean {
    if (!includesAscii(event, DATA_FIELD)) return true
    this.dataEvents++
    if (!hasObjectField(event, USAGE_KEY)) return true
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
    return !(this.filters && Array.isArray(chunk.choices) && chunk.choices.length === 0)
  }
}
