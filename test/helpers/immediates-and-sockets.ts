import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { installFairImmediates } from "../../runtime/deno-immediates.ts"

/**
 * Runs a chain of immediates, each busy for a few milliseconds (as slices of work are), while
 * a request to a node:http server of the same process is on its way; prints how many
 * immediates of the chain had run when the server saw the request and when its answer came
 * back. `fair` installs the relay's setImmediate for Deno first.
 */
if (process.argv.includes("fair")) installFairImmediates()

const CHAIN = 200
const BUSY_MS = 4

let ran = 0
let served = -1
const server = createServer((_, response) => {
  served = ran
  response.end("ok")
})
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo
  const busy = () => {
    const started = performance.now()
    while (performance.now() - started < BUSY_MS);
    if (++ran < CHAIN) setImmediate(busy)
  }
  const asked = fetch(`http://127.0.0.1:${port}/`).then((answer) => answer.text())
  setImmediate(busy)
  void asked.then(() => {
    process.stdout.write(`${JSON.stringify({ served, answered: ran })}\n`)
    server.close()
  })
})
