import { Agent, request } from "node:http"
import { summarize } from "./stats.ts"

/**
 * The load generator, a process of its own so that its work does not run on the relay's or the
 * mock's event loop. It takes one job as JSON in argv[2] and prints one JSON result line.
 */
export interface Target {
  readonly name: string
  readonly port: number
  readonly key: string
  /** Default `/v1/chat/completions`. */
  readonly path?: string
  /** This target's own request body, instead of the job's. */
  readonly body?: string
}

export type Job =
  | { readonly kind: "sequential"; readonly targets: ReadonlyArray<Target>; readonly body: string; readonly count: number }
  | { readonly kind: "stream"; readonly targets: ReadonlyArray<Target>; readonly body: string; readonly count: number }
  | { readonly kind: "rate"; readonly target: Target; readonly body: string; readonly rate: number; readonly durationMs: number }
  | { readonly kind: "saturate"; readonly target: Target; readonly body: string; readonly connections: number; readonly durationMs: number }
  | { readonly kind: "hold"; readonly target: Target; readonly body: string; readonly count: number; readonly holdMs: number }
  /** `count` requests at once. */
  | { readonly kind: "together"; readonly target: Target; readonly body: string; readonly count: number }

interface Timing {
  readonly status: number
  readonly totalMs: number
  readonly firstByteMs: number
  readonly gapsMs: ReadonlyArray<number>
  readonly chunks: number
}

const now = () => Number(process.hrtime.bigint()) / 1e6

/** One POST; times are from `start` (the scheduled send time in open-loop runs). */
const call = (agent: Agent, target: Target, body: string, start = now()): Promise<Timing> =>
  new Promise((resolve) => {
    let first = 0
    let last = 0
    let chunks = 0
    const gapsMs: Array<number> = []
    const req = request({
      agent,
      host: "127.0.0.1",
      port: target.port,
      path: target.path ?? "/v1/chat/completions",
      method: "POST",
      headers: {
        authorization: `Bearer ${target.key}`,
        "x-api-key": target.key,
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body)
      }
    }, (res) => {
      res.on("data", () => {
        const at = now()
        if (first === 0) first = at
        else gapsMs.push(at - last)
        last = at
        chunks++
      })
      res.on("end", () => resolve({ status: res.statusCode ?? 0, totalMs: now() - start, firstByteMs: first - start, gapsMs, chunks }))
    })
    req.on("error", () => resolve({ status: 0, totalMs: now() - start, firstByteMs: 0, gapsMs, chunks }))
    req.end(body)
  })

/** Alternates the targets request by request, so noise falls on all of them alike. */
const alternate = async (targets: ReadonlyArray<Target>, body: string, count: number) => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const out = new Map<string, Array<Timing>>(targets.map((t) => [t.name, []]))
  for (let i = 0; i < count; i++) {
    const order = i % 2 === 0 ? targets : [...targets].reverse()
    for (const target of order) out.get(target.name)!.push(await call(agent, target, target.body ?? body))
  }
  agent.destroy()
  return out
}

const failures = (timings: ReadonlyArray<Timing>) => timings.filter((t) => t.status !== 200).length

const run = async (job: Job): Promise<unknown> => {
  switch (job.kind) {
    case "sequential": {
      const out = await alternate(job.targets, job.body, job.count)
      return Object.fromEntries([...out].map(([name, t]) => [name, { latency: summarize(t.map((x) => x.totalMs)), errors: failures(t) }]))
    }
    case "stream": {
      const out = await alternate(job.targets, job.body, job.count)
      return Object.fromEntries([...out].map(([name, t]) => [name, {
        firstByte: summarize(t.map((x) => x.firstByteMs)),
        gap: summarize(t.flatMap((x) => x.gapsMs)),
        total: summarize(t.map((x) => x.totalMs)),
        readsPerStream: summarize(t.map((x) => x.chunks)).mean,
        errors: failures(t)
      }]))
    }
    case "rate": {
      // Open loop: request i is due at i/rate whatever happened before, and its latency counts
      // from then, so a stalled server shows as latency instead of as fewer requests.
      const agent = new Agent({ keepAlive: true, maxSockets: 512 })
      const interval = 1000 / job.rate
      const total = Math.floor((job.durationMs / 1000) * job.rate)
      const start = now()
      const pending: Array<Promise<Timing>> = []
      for (let i = 0; i < total; i++) {
        const due = start + i * interval
        const wait = due - now()
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait))
        // Late: latency counts from when it was due. Early (within the timer's millisecond): from now.
        pending.push(call(agent, job.target, job.body, Math.min(due, now())))
      }
      const timings = await Promise.all(pending)
      agent.destroy()
      return { latency: summarize(timings.map((t) => t.totalMs)), errors: failures(timings), sent: total, achievedRate: Math.round(total / ((now() - start) / 1000)) }
    }
    case "saturate": {
      const agent = new Agent({ keepAlive: true, maxSockets: job.connections })
      const until = now() + job.durationMs
      const timings: Array<Timing> = []
      const start = now()
      await Promise.all(Array.from({ length: job.connections }, async () => {
        while (now() < until) timings.push(await call(agent, job.target, job.body))
      }))
      agent.destroy()
      return { requestsPerSecond: Math.round(timings.length / ((now() - start) / 1000)), requests: timings.length, latency: summarize(timings.map((t) => t.totalMs)), errors: failures(timings) }
    }
    case "together": {
      const agent = new Agent({ keepAlive: true, maxSockets: job.count })
      const timings = await Promise.all(Array.from({ length: job.count }, () => call(agent, job.target, job.target.body ?? job.body)))
      agent.destroy()
      return { total: summarize(timings.map((t) => t.totalMs)), readsPerStream: summarize(timings.map((t) => t.chunks)).mean, errors: failures(timings) }
    }
    case "hold": {
      const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY })
      let open = 0
      const requests = Array.from({ length: job.count }, () =>
        new Promise<void>((resolve) => {
          const req = request({
            agent,
            host: "127.0.0.1",
            port: job.target.port,
            path: "/v1/chat/completions",
            method: "POST",
            headers: { authorization: `Bearer ${job.target.key}`, "content-type": "application/json" }
          }, (res) => {
            res.once("data", () => {
              if (++open === job.count) process.stdout.write(`${JSON.stringify({ open })}\n`)
            })
            res.on("close", resolve)
            res.resume()
          })
          req.on("error", () => resolve())
          req.end(job.body)
        }))
      await new Promise((resolve) => setTimeout(resolve, job.holdMs))
      agent.destroy()
      await Promise.race([Promise.all(requests), new Promise((resolve) => setTimeout(resolve, 2_000))])
      return { open }
    }
  }
}

const job = JSON.parse(process.argv[2]!) as Job
process.stdout.write(`${JSON.stringify(await run(job))}\n`)
process.exit(0)
