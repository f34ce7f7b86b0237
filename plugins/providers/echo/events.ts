/** The echo provider's streams: SSE events, sent one per pull like an upstream's. */

const encoder = new TextEncoder()

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * An event with an `event:` line and its type repeated in the data, as Anthropic streams and
 * OpenAI's image streams send them (Anthropic's SDKs drop an event without the line).
 */
export const namedEvent = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`

/** A stream of SSE events, one per pull, `chunkDelayMs` apart. */
export const eventStream = (events: ReadonlyArray<string>, chunkDelayMs: number): Response => {
  let next = 0
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (next > 0 && chunkDelayMs > 0) await sleep(chunkDelayMs)
      const event = events[next++]
      if (event === undefined) controller.close()
      else controller.enqueue(encoder.encode(event))
    }
  }, { highWaterMark: 0 })
  return new Response(stream, { headers: { "content-type": "text/event-stream" } })
}
