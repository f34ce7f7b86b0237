import assert from "node:assert/strict"
import { after, before, describe, it } from "node:test"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { type RelayProcess, RUNTIME, startRelay } from "../helpers/relay.ts"

/**
 * Streaming behaves the same on every runtime. This file proves that chunks are not buffered;
 * chat-completions.test.ts proves that a client disconnect aborts the upstream request, and
 * lifecycle.test.ts that a shutdown drains open streams. All run under `RELAY_TEST_RUNTIME`.
 */
describe(`SSE through the relay on ${RUNTIME}`, () => {
  const mock = new MockOpenAI({ "sk-stream": "ok" })
  let relay: RelayProcess

  before(async () => {
    relay = await startRelay({ env: { OPENAI_API_KEY: "sk-stream", OPENAI_BASE_URL: await mock.start() } })
  })

  after(async () => {
    await relay.stop()
    await mock.stop()
  })

  const chat = (stream: boolean, content: string, pauseMs: number) =>
    fetch(`${relay.baseURL}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${relay.firstRunKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock-pause", stream, metadata: { pause_ms: String(pauseMs) }, messages: [{ role: "user", content }] })
    })

  it("hands the client each chunk as the upstream sends it, not when the stream ends", async () => {
    const response = await chat(true, "first second", 300)
    assert.equal(response.status, 200)
    const decoder = new TextDecoder()
    let text = ""
    let firstWordAt: number | undefined
    for await (const bytes of response.body!) {
      text += decoder.decode(bytes, { stream: true })
      if (firstWordAt === undefined && text.includes(`"content":"first "`)) firstWordAt = performance.now()
    }
    assert.match(text, /"content":"second"[\s\S]*data: \[DONE\]/)
    // The mock sent chunk 1 (the first word), then waited 300 ms before chunk 2.
    const { sentAt } = mock.chats.at(-1)!
    assert.ok(firstWordAt !== undefined)
    assert.ok(
      firstWordAt < sentAt[2]!,
      `the first word arrived ${(firstWordAt - sentAt[1]!).toFixed(1)} ms after it was sent, ` +
        `${(firstWordAt - sentAt[2]!).toFixed(1)} ms after the next chunk was sent`
    )
  })

  it("keeps requests open through a silence longer than a server's idle timeout", async () => {
    // Bun's server closes a connection quiet for 10 s (it checks every 4 s) unless told not to.
    const silenceMs = 15_000
    const [streamed, whole] = await Promise.all([chat(true, "before after", silenceMs), chat(false, "at last", silenceMs)])
    assert.match(await streamed.text(), /"content":"after"[\s\S]*data: \[DONE\]/)
    const body = (await whole.json()) as { choices: Array<{ message: { content: string } }> }
    assert.equal(body.choices[0]?.message.content, "at last")
  })
})
