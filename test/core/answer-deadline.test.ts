import assert from "node:assert/strict"
import { createServer, type Server, connect } from "node:net"
import { after, before, describe, it } from "node:test"
import { answerWithin } from "../../core/answer-deadline.ts"

/** Holds the event loop for `ms`, as a large module's first load does. */
const holdLoop = (ms: number) => {
  const until = performance.now() + ms
  while (performance.now() < until) {
    // busy: no timer, no socket is looked at meanwhile
  }
}

class Silent extends Error {}

describe("a store's answer within a bound", () => {
  let server: Server
  let port: number

  before(async () => {
    // A store that answers at once: each line comes back as written.
    server = createServer((socket) => socket.pipe(socket))
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    port = (server.address() as { port: number }).port
  })
  after(() => new Promise<void>((resolve) => server.close(() => resolve())))

  /** Asks the store over a socket; the answer arrives while the caller holds the loop. */
  const askThenHold = async (holdMs: number, boundMs: number) => {
    const socket = connect(port, "127.0.0.1")
    await new Promise<void>((resolve) => socket.once("connect", resolve))
    const answer = new Promise<string>((resolve) => socket.once("data", (data) => resolve(data.toString())))
    socket.write("pong\n")
    const bounded = answerWithin(answer, boundMs, () => new Silent())
    holdLoop(holdMs)
    try {
      return await bounded
    } finally {
      socket.destroy()
    }
  }

  it("takes an answer that arrived while the relay held its own loop past the bound", async () => {
    // The answer is in the socket long before the bound; the timer is due first when the loop
    // comes back, and must not blame the store for the relay's own pause.
    assert.equal(await askThenHold(300, 50), "pong\n")
  })

  it("fails a store that does not answer, within the bound and a turn", async () => {
    const started = performance.now()
    await assert.rejects(answerWithin(new Promise(() => undefined), 100, () => new Silent()), Silent)
    const waited = performance.now() - started
    assert.ok(waited >= 99 && waited < 400, `failed after ${waited} ms`)
  })

  it("fails a silent store even while the loop is held up again and again", async () => {
    const holder = setInterval(() => holdLoop(40), 1)
    try {
      const started = performance.now()
      await assert.rejects(answerWithin(new Promise(() => undefined), 50, () => new Silent()), Silent)
      assert.ok(performance.now() - started < 2_000, "the graces are few")
    } finally {
      clearInterval(holder)
    }
  })

  it("passes an answer or a failure through, and leaves no timer behind", async () => {
    assert.equal(await answerWithin(Promise.resolve(7), 1_000, () => new Silent()), 7)
    await assert.rejects(answerWithin(Promise.reject(new RangeError("refused")), 1_000, () => new Silent()), RangeError)
  })
})
