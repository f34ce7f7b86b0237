import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { Agent, request as httpRequest } from "node:http"
import { after, before, describe, it } from "node:test"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { eventually, type RelayProcess, startRelay } from "../helpers/relay.ts"

/** Streams held open at once; `RELAY_TEST_STREAMS` for more (the relay holds 10,000 on a laptop). */
const STREAMS = Number(process.env.RELAY_TEST_STREAMS ?? 1_000)
/** How long each upstream stays quiet after its first word: long enough to open every stream. */
const PAUSE_MS = 4_000 + STREAMS * 4

/**
 * Probes `url` every 50 ms from a child process, so that a probe's time is the relay's and not
 * this busy process's. `take` hands over the times so far; `stop` ends it with the rest.
 */
const probe = (url: string) => {
  const script = `
    const url = process.argv[1]
    const loop = async () => {
      for (;;) {
        const started = performance.now()
        const response = await fetch(url)
        await response.text()
        process.stdout.write((response.status === 200 ? performance.now() - started : -1) + "\\n")
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    loop()`
  const child = spawn(process.execPath, ["-e", script, url], { stdio: ["ignore", "pipe", "inherit"] })
  let pending = ""
  let times: Array<number> = []
  child.stdout!.setEncoding("utf8").on("data", (text: string) => {
    const lines = (pending + text).split("\n")
    pending = lines.pop()!
    for (const line of lines) {
      assert.notEqual(Number(line), -1, "/healthz answered 200")
      times.push(Number(line))
    }
  })
  return {
    take: () => times.splice(0),
    stop: async () => {
      child.kill()
      await new Promise((resolve) => child.once("exit", resolve))
      const rest = times
      times = []
      return rest
    }
  }
}

describe(`${STREAMS} streams at once`, () => {
  const mock = new MockOpenAI({ "sk-many-1": "ok" })
  let relay: RelayProcess

  before(async () => {
    relay = await startRelay({ env: { OPENAI_API_KEY: "sk-many-1", OPENAI_BASE_URL: await mock.start() } })
  })

  after(async () => {
    await relay.stop()
    await mock.stop()
  })

  it("holds every one upstream at once, with no hidden cap, and /healthz stays quick while they open and close", { timeout: 120_000 }, async () => {
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity })
    const body = JSON.stringify({ model: "mock-pause", stream: true, metadata: { pause_ms: String(PAUSE_MS) }, messages: [{ role: "user", content: "first second" }] })
    let firstWords = 0
    const streams = Array.from({ length: STREAMS }, () =>
      new Promise<string>((resolve, reject) => {
        const req = httpRequest(`${relay.baseURL}/chat/completions`, {
          method: "POST",
          agent,
          headers: { authorization: `Bearer ${relay.firstRunKey}`, "content-type": "application/json" }
        }, (res) => {
          let text = ""
          let counted = false
          res.setEncoding("utf8").on("data", (chunk: string) => {
            text += chunk
            if (!counted && text.includes("\"content\":\"first \"")) {
              counted = true
              firstWords++
            }
          })
          res.on("end", () => resolve(text))
          res.on("error", reject)
        })
        req.on("error", reject)
        req.end(body)
      }))

    // /healthz is probed all along, from a process of its own (this one is busy with every
    // client and the mock upstream): while the streams open, while they are held, while they
    // end. While they open, it queues behind a thousand requests arriving at once on the same
    // cores as this test's clients and mock; that phase is reported, not bounded.
    const prober = probe(`${relay.url}/healthz`)

    // Every stream has its first word before any upstream has sent its second: all of them
    // were open upstream at the same time.
    await eventually(() => assert.equal(firstWords, STREAMS, `${firstWords} streams started`), PAUSE_MS - 500)
    assert.equal(mock.chats.length, STREAMS)
    assert.ok(mock.chats.every((chat) => chat.chunksSent === 2), "no upstream had gone past its first word")

    const opening = prober.take()
    const texts = await Promise.all(streams)
    const probes = await prober.stop()
    for (const text of texts) assert.match(text, /"content":"second"[\s\S]*data: \[DONE\]/)
    probes.sort((a, b) => a - b)
    const worst = probes.at(-1)!
    const p50 = probes[Math.floor(probes.length / 2)]!
    const figures = `healthz while held and closing: p50 ${p50.toFixed(1)} ms, worst ${worst.toFixed(1)} ms over ${probes.length} probes; ` +
      `while opening: worst ${Math.max(...opening).toFixed(1)} ms over ${opening.length}`
    // Held streams cost the event loop nothing, and their ends settle in batches: the health
    // check waits behind no queue. Its typical answer takes a few milliseconds; the bound on
    // the worst leaves room for a machine shared with the rest of the suite, and still fails a
    // relay whose loop stalls while streams end (a second and more, before the batches).
    assert.ok(p50 < 50 && worst < 1_000, figures)
    console.log(`# ${STREAMS} streams: ${figures}`)
    agent.destroy()
  })
})
