import { Agent, request } from "node:http"

/**
 * Clients holding many streams through the relay, in a process of their own (a test process
 * holding them and their upstream would run out of descriptors first). Arguments: the relay's
 * base URL (`.../v1`), a key, how many streams, how many to open at a time, and the ms to wait
 * between those waves. Every stream asks the mock for `mock-pause` so that all upstreams send
 * their first word at once and the rest at one shared moment, `holdMs` after the start: the
 * streams all end together. Prints one JSON line when every stream has its first word
 * (`{"opened":n,"early":k}`, k streams that saw a second word before then) and one when all
 * have ended (`{"complete":c,"failed":f}`), then exits.
 */
const [baseURL, key, count, wave, gapMs, holdMs] = process.argv.slice(2)
const streams = Number(count)
const agent = new Agent({ keepAlive: false, maxSockets: Infinity })
const endsAt = Date.now() + Number(holdMs)
let opened = 0
let early = 0
let complete = 0
let failed = 0

const reasons = new Map<string, number>()
const ended = (ok: boolean, why = "") => {
  if (ok) complete++
  else {
    failed++
    reasons.set(why, (reasons.get(why) ?? 0) + 1)
  }
  if (complete + failed === streams && failed > 0) process.stderr.write(`failures: ${JSON.stringify([...reasons])}\n`)
  if (complete + failed === streams) {
    process.stdout.write(`${JSON.stringify({ complete, failed })}\n`)
    process.exit(0)
  }
}

const open = () => {
  const body = JSON.stringify({
    model: "mock-pause",
    stream: true,
    metadata: { pause_ms: String(Math.max(0, endsAt - Date.now())) },
    messages: [{ role: "user", content: "first second" }]
  })
  const req = request(`${baseURL}/chat/completions`, {
    method: "POST",
    agent,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }
  }, (res) => {
    let text = ""
    let started = false
    let second = false
    res.setEncoding("utf8").on("data", (chunk: string) => {
      text += chunk
      if (!started && text.includes("\"content\":\"first \"")) {
        started = true
        if (++opened === streams) process.stdout.write(`${JSON.stringify({ opened, early })}\n`)
      }
      if (!second && text.includes("\"content\":\"second\"")) {
        second = true
        if (opened < streams) early++
      }
    })
    res.on("end", () => ended(res.statusCode === 200 && /"content":"second"[\s\S]*data: \[DONE\]/.test(text), `${res.statusCode} ${text.slice(0, 200)}`))
    res.on("error", (e) => ended(false, `res ${e.message}`))
  })
  req.on("error", (e) => ended(false, `req ${e.message}`))
  req.end(body)
}

for (let opening = 0; opening < streams; opening += Number(wave)) {
  for (let i = opening; i < Math.min(streams, opening + Number(wave)); i++) open()
  await new Promise((resolve) => setTimeout(resolve, Number(gapMs)))
}
