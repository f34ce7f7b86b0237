import { AnthropicStreamUsage, estimatedUsage, type Usage } from "../usage.ts"
import { asciiPattern, DATA_FIELD, eventData, hasObjectField, includesAscii, USAGE_KEY } from "./events.ts"
import type { StreamInspector } from "./passthrough.ts"


/**
 * Reads the usage of an Anthropic Messages stream as it passes: input and cache counts from
 * `message_start`, the cumulative totals from `message_delta`. Only those two events carry a
 * usage object and get decoded; every other event costs a byte scan. It never keeps an event
 * from the client.
 */
const MESSAGE_STOP = asciiPattern('"message_stop"')
/** `event: message_stop` and `data: {"type":"message_stop"}`, with room for spacing. */
const STOP_EVENT_MAX = 128

export class AnthropicUsageTap implements StreamInspector {
  readonly filters = false
  private readonly totals = new AnthropicStreamUsage()
  /** Data events seen: about one token each, the estimate when the stream is cut before usage. */
  dataEvents = 0
  finished = false

  event(event: Uint8Array): boolean {
    if (!includesAscii(event, DATA_FIELD)) return true
    this.dataEvents++
    if (!hasObjectField(event, USAGE_KEY)) {
      // `message_stop` is small: only events short enough to be it are scanned.
      if (event.length <= STOP_EVENT_MAX && includesAscii(event, MESSAGE_STOP)) this.finished = true
      return true
    }
    const data = eventData(event)
    if (data === undefined) return true
    let parsed: { type?: unknown; message?: { usage?: unknown }; usage?: unknown }
    try {
      parsed = JSON.parse(data)
    } catch {
      return true
    }
    if (parsed.type === "message_start") this.totals.start(parsed.message?.usage)
    else if (parsed.type === "message_delta") this.totals.delta(parsed.usage)
    return true
  }

  /** The upstream's usage, or for a cut stream what it reported plus the relay's count. */
  usage(promptTokens: () => number): Usage {
    return this.totals.usage ?? estimatedUsage(this.totals.started, promptTokens, this.dataEvents)
  }
}
