import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/**
 * wrk, the C load generator from Debian, as a second opinion on saturation throughput: our own
 * driver (load.ts) is a Node process that also times first bytes and chunk gaps, and it takes
 * CPU the relay could use on a 2-core machine; wrk takes much less. It is closed-loop (wrk2,
 * its open-loop fork, is not packaged), so it measures saturation only.
 */
export interface WrkResult {
  readonly requestsPerSecond: number
  /** Requests completed in the run. */
  readonly requests: number
  /** Answers that were not 2xx, and socket errors. */
  readonly errors: number
}

const found = () => spawnSync("wrk", ["--version"], { stdio: "ignore" }).error === undefined

/**
 * True when wrk can run. With `install`, a missing wrk is installed with apt-get (as root, with
 * the Debian mirrors reachable); otherwise, or when that fails, false.
 */
export const ensureWrk = (install: boolean): boolean => {
  if (found()) return true
  if (!install || process.getuid?.() !== 0) return false
  spawnSync("apt-get", ["update", "-qq"], { stdio: "ignore", timeout: 120_000 })
  spawnSync("apt-get", ["install", "-y", "-qq", "wrk"], { stdio: "ignore", timeout: 120_000 })
  return found()
}

/**
 * POSTs `body` to `url` over `connections` connections for `seconds`, with one wrk thread.
 * Asynchronous, so this process goes on reading the relay's output meanwhile: a relay whose log
 * pipe is full waits for it.
 */
export const wrkSaturate = async (url: string, body: string, key: string, connections: number, seconds: number): Promise<WrkResult> => {
  const dir = mkdtempSync(join(tmpdir(), "relay-wrk-"))
  try {
    const script = join(dir, "post.lua")
    writeFileSync(script, [
      'wrk.method = "POST"',
      `wrk.body = ${JSON.stringify(body)}`,
      'wrk.headers["content-type"] = "application/json"',
      `wrk.headers["authorization"] = ${JSON.stringify(`Bearer ${key}`)}`
    ].join("\n"))
    const wrk = spawn("wrk", ["-t1", `-c${connections}`, `-d${seconds}s`, "-s", script, url], { stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    wrk.stdout.setEncoding("utf8").on("data", (text: string) => (output += text))
    wrk.stderr.setEncoding("utf8").on("data", (text: string) => (output += text))
    await new Promise((exited) => wrk.once("close", exited))
    const rate = /Requests\/sec:\s+([\d.]+)/.exec(output)
    if (rate === null) throw new Error(`wrk gave no figure:\n${output}`)
    const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0)
    const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output)
    const socketErrors = socket === null ? 0 : socket.slice(1).reduce((sum, n) => sum + Number(n), 0)
    const requests = Number(/(\d+) requests in/.exec(output)?.[1] ?? Number.NaN)
    return { requestsPerSecond: Math.round(Number(rate[1])), requests, errors: non2xx + socketErrors }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
