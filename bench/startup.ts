import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { cpus, tmpdir, totalmem } from "node:os"
import { join } from "node:path"
import { relayCommand, ROOT, RUNTIMES, type RuntimeName } from "../test/helpers/runtimes.ts"

/**
 * `npm run bench:startup`: how long the relay takes from process spawn to its "listening" line,
 * and its resident memory once idle, on Node, Bun, Deno and as the single executable. Each
 * runtime starts once to create its store (first run), then `RUNS` times on that store, as a
 * restart does. Linux only (memory is read from /proc).
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 20)
/** Time given to a started relay to settle (lazy initialisation, a first GC) before its memory is read. */
const SETTLE_MS = 1_000

interface Start {
  readonly ms: number
  readonly rssKiB: number
  readonly version: string
}

const rssKiB = (pid: number): number => {
  const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
  if (line === null) throw new Error(`no VmRSS for ${pid}`)
  return Number(line[1])
}

const startOnce = (runtime: RuntimeName, dataDir: string) =>
  new Promise<Start>((done, fail) => {
    const { command, args } = relayCommand(runtime)
    const began = process.hrtime.bigint()
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, RELAY_DATA_DIR: dataDir, PORT: "0", LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    let version: string | undefined
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000)
    child.stderr.setEncoding("utf8").on("data", (text: string) => (output += text))
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      if (version !== undefined) return
      output += text
      const listening = /"runtime":"([^"]+)","msg":"listening"/.exec(output)
      if (listening === null) return
      const ms = Number(process.hrtime.bigint() - began) / 1e6
      version = listening[1]!
      setTimeout(() => {
        const rss = rssKiB(child.pid!)
        child.kill("SIGTERM")
        child.once("exit", () => done({ ms, rssKiB: rss, version: version! }))
      }, SETTLE_MS)
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      if (version === undefined) fail(new Error(`${runtime} exited with ${code} before listening:\n${output}`))
    })
  })

const median = (values: Array<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits

const measure = async (runtime: RuntimeName) => {
  const dataDir = mkdtempSync(join(tmpdir(), "relay-bench-startup-"))
  try {
    await startOnce(runtime, dataDir)
    const starts: Array<Start> = []
    for (let i = 0; i < RUNS; i++) starts.push(await startOnce(runtime, dataDir))
    const ms = starts.map((s) => s.ms)
    const rss = starts.map((s) => s.rssKiB / 1024)
    return {
      runtime,
      version: starts[0]!.version,
      startupMs: { median: round(median(ms)), min: round(Math.min(...ms)), max: round(Math.max(...ms)) },
      idleRssMiB: { median: round(median(rss)), min: round(Math.min(...rss)), max: round(Math.max(...rss)) }
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

const results = []
for (const runtime of RUNTIMES) results.push(await measure(runtime))

console.log("| runtime | version | start to listening, median (min-max) | idle RSS, median |\n|---|---|---|---|")
for (const r of results) {
  console.log(`| ${r.runtime} | ${r.version} | ${r.startupMs.median} ms (${r.startupMs.min}-${r.startupMs.max}) | ${r.idleRssMiB.median} MiB |`)
}
writeFileSync(
  join(ROOT, "bench/results/startup.json"),
  `${JSON.stringify({
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: round(totalmem() / 2 ** 30) },
    settings: { runs: RUNS, settleMs: SETTLE_MS, config: "relay.config.ts", store: "restart on an existing store" },
    results
  }, null, 2)}\n`
)
