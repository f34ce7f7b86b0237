import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { Agent, request } from "node:http"
import { cpus, tmpdir, totalmem } from "node:os"
import { join, resolve } from "node:path"

/**
 * `npm run bench`: the added latency of the relay, measured against the direct call in the
 * same run. A mock upstream and the relay each run in their own process; this process is the
 * client, alternating direct and relayed requests so that machine noise hits both alike.
 * `BENCH_QUICK=1` runs a few hundred requests only (the smoke run in the test suite).
 */
const ROOT = resolve(import.meta.dirname, "..")
const QUICK = process.env.BENCH_QUICK === "1"
const SEQUENTIAL = QUICK ? 200 : 3_000
const STREAMS = QUICK ? 50 : 500
const SATURATION_MS = QUICK ? 500 : 4_000
const SATURATION_CONNECTIONS = 64

const spawnLine = (args: Array<string>, env: Record<string, string>, pattern: RegExp) =>
  new Promise<{ child: ChildProcess; match: RegExpExecArray; output: () => string }>((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    let started = false
    const timer = setTimeout(() => fail(new Error(`no start within 30 s:\n${output}`)), 30_000)
    const onData = (text: string) => {
      // Once started, the output (a log line per request) is read and dropped.
      if (started) return
      output += text
      const match = pattern.exec(output)
      if (match) {
        started = true
        clearTimeout(timer)
        done({ child, match, output: () => output })
      }
    }
    child.stdout!.setEncoding("utf8").on("data", onData)
    child.stderr!.setEncoding("utf8").on("data", (text: string) => (output += text))
    child.once("exit", (code) => {
      if (!started) fail(new Error(`exited ${code}:\n${output}`))
    })
  })

interface Target {
  readonly name: "direct" | "relay"
  readonly port: number
  readonly path: string
  readonly key: string
}

interface Timing {
  readonly totalMs: number
  readonly firstByteMs: number
  readonly gapsMs: Array<number>
}

const call = (agent: Agent, target: Target, body: string): Promise<Timing> =>
  new Promise((done, fail) => {
    const start = process.hrtime.bigint()
    let first = 0n
    let last = 0n
    const gapsMs: Array<number> = []
    const req = request({
      agent,
      host: "127.0.0.1",
      port: target.port,
      path: target.path,
      method: "POST",
      headers: { authorization: `Bearer ${target.key}`, "content-type": "application/json", "content-length": Buffer.byteLength(body) }
    }, (res) => {
      res.on("data", () => {
        const now = process.hrtime.bigint()
        if (first === 0n) first = now
        else gapsMs.push(Number(now - last) / 1e6)
        last = now
      })
      res.on("end", () => {
        if (res.statusCode !== 200) return fail(new Error(`${target.name} answered ${res.statusCode}`))
        const end = process.hrtime.bigint()
        done({ totalMs: Number(end - start) / 1e6, firstByteMs: Number(first - start) / 1e6, gapsMs })
      })
    })
    req.on("error", fail)
    req.end(body)
  })

const percentile = (values: Array<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits

/** Alternates direct and relayed calls; returns each side's timings. */
const interleaved = async (targets: [Target, Target], body: string, count: number) => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const out: Record<string, Array<Timing>> = { direct: [], relay: [] }
  for (let i = 0; i < count; i++) {
    for (const target of i % 2 === 0 ? targets : [targets[1], targets[0]]) out[target.name]!.push(await call(agent, target, body))
  }
  agent.destroy()
  return out as { direct: Array<Timing>; relay: Array<Timing> }
}

const saturate = async (target: Target, body: string) => {
  const agent = new Agent({ keepAlive: true, maxSockets: SATURATION_CONNECTIONS })
  const until = Date.now() + SATURATION_MS
  let done = 0
  let errors = 0
  await Promise.all(Array.from({ length: SATURATION_CONNECTIONS }, async () => {
    while (Date.now() < until) {
      try {
        await call(agent, target, body)
        done++
      } catch {
        errors++
      }
    }
  }))
  agent.destroy()
  return { requestsPerSecond: round(done / (SATURATION_MS / 1000), 0), errors }
}

const main = async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "relay-bench-"))
  const mock = await spawnLine(["bench/mock-upstream.ts"], {}, /"port":(\d+)/)
  const mockPort = Number(mock.match[1])
  const relay = await spawnLine(["runtime/node.ts"], {
    RELAY_CONFIG: join(ROOT, "bench/relay.bench-config.ts"),
    RELAY_DATA_DIR: dataDir,
    PORT: "0",
    // The production default: one log line per request is part of the relay's cost.
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "info",
    OPENAI_BASE_URL: `http://127.0.0.1:${mockPort}/v1`
  }, /^ {2}(sk-rr-[0-9A-Za-z]+)$[\s\S]*"port":(\d+)[^\n]*"msg":"listening"/m)
  const key = relay.match[1]!
  const relayPort = Number(relay.match[2])
  try {
    const direct: Target = { name: "direct", port: mockPort, path: "/v1/chat/completions", key: "sk-bench" }
    const relayed: Target = { name: "relay", port: relayPort, path: "/v1/chat/completions", key }
    const chat = JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "Say something." }] })
    const streamChat = JSON.stringify({ model: "bench-model", stream: true, messages: [{ role: "user", content: "Say something." }] })

    await interleaved([direct, relayed], chat, QUICK ? 50 : 500)
    const plain = await interleaved([direct, relayed], chat, SEQUENTIAL)
    const streams = await interleaved([direct, relayed], streamChat, STREAMS)
    const saturation = { direct: await saturate(direct, chat), relay: await saturate(relayed, chat) }

    const latency = (side: Array<Timing>) => ({
      p50: round(percentile(side.map((t) => t.totalMs), 50)),
      p90: round(percentile(side.map((t) => t.totalMs), 90)),
      p99: round(percentile(side.map((t) => t.totalMs), 99))
    })
    const ttfb = (side: Array<Timing>) => ({
      p50: round(percentile(side.map((t) => t.firstByteMs), 50)),
      p99: round(percentile(side.map((t) => t.firstByteMs), 99))
    })
    const results = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: round(totalmem() / 2 ** 30, 1) },
      runtime: { relay: `node ${process.version}` },
      settings: { sequential: SEQUENTIAL, streams: STREAMS, saturationMs: SATURATION_MS, saturationConnections: SATURATION_CONNECTIONS, plugins: ["keys", "openai"] },
      nonStreaming: { direct: latency(plain.direct), relay: latency(plain.relay) },
      streamingFirstByte: { direct: ttfb(streams.direct), relay: ttfb(streams.relay) },
      streamingTotal: { direct: latency(streams.direct), relay: latency(streams.relay) },
      saturation
    }
    const added = (key: "p50" | "p90" | "p99", a: { [k: string]: number }, b: { [k: string]: number }) => round(b[key]! - a[key]!)
    const rows = [
      ["non-streaming latency p50 (ms)", results.nonStreaming.direct.p50, results.nonStreaming.relay.p50, added("p50", results.nonStreaming.direct, results.nonStreaming.relay)],
      ["non-streaming latency p90 (ms)", results.nonStreaming.direct.p90, results.nonStreaming.relay.p90, added("p90", results.nonStreaming.direct, results.nonStreaming.relay)],
      ["non-streaming latency p99 (ms)", results.nonStreaming.direct.p99, results.nonStreaming.relay.p99, added("p99", results.nonStreaming.direct, results.nonStreaming.relay)],
      ["stream first byte p50 (ms)", results.streamingFirstByte.direct.p50, results.streamingFirstByte.relay.p50, added("p50", results.streamingFirstByte.direct, results.streamingFirstByte.relay)],
      ["stream first byte p99 (ms)", results.streamingFirstByte.direct.p99, results.streamingFirstByte.relay.p99, added("p99", results.streamingFirstByte.direct, results.streamingFirstByte.relay)],
      ["64-chunk stream total p50 (ms)", results.streamingTotal.direct.p50, results.streamingTotal.relay.p50, added("p50", results.streamingTotal.direct, results.streamingTotal.relay)],
      [`throughput, ${SATURATION_CONNECTIONS} connections (req/s)`, saturation.direct.requestsPerSecond, saturation.relay.requestsPerSecond, `${round((saturation.relay.requestsPerSecond / saturation.direct.requestsPerSecond) * 100, 0)}% of direct`]
    ]
    console.log(`| measure | direct | through relay | added |\n|---|---|---|---|\n${rows.map((r) => `| ${r.join(" | ")} |`).join("\n")}`)
    if (!QUICK) writeFileSync(join(ROOT, "bench/results/latest.json"), `${JSON.stringify(results, null, 2)}\n`)
    if (saturation.relay.errors > 0 || saturation.direct.errors > 0) throw new Error(`errors under load: ${JSON.stringify(saturation)}`)
  } finally {
    relay.child.kill("SIGTERM")
    mock.child.kill("SIGTERM")
    rmSync(dataDir, { recursive: true, force: true })
  }
}

await main()
