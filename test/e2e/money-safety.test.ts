import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statfsSync, unlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import Database from "better-sqlite3"
import OpenAI from "openai"
import { chat, createAccount } from "../helpers/accounts.ts"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { eventually, type RelayProcess, ROOT, startRelay } from "../helpers/relay.ts"

const METERED_CONFIG = join(ROOT, "test/fixtures/relay.metered-config.ts")

interface UsageRow {
  readonly id: string
  readonly status: number
  readonly cost: string
  readonly usage_source: string
}

const usageOf = async (relay: RelayProcess, accountId: string): Promise<Array<UsageRow>> =>
  ((await (await relay.admin("GET", `/admin/accounts/${accountId}/usage?limit=1000`)).json()) as { data: Array<UsageRow> }).data

const balanceOf = async (relay: RelayProcess, accountId: string): Promise<string> =>
  ((await (await relay.admin("GET", `/admin/accounts/${accountId}`)).json()) as { balance: string }).balance

/** Nano-USD of a decimal USD string. */
const nano = (usd: string): bigint => {
  const [whole, fraction = ""] = usd.replace("-", "").split(".")
  const value = BigInt(whole!) * 1_000_000_000n + BigInt(fraction.padEnd(9, "0").slice(0, 9))
  return usd.startsWith("-") ? -value : value
}

const probeHealth = async (relay: RelayProcess) => {
  const started = performance.now()
  const response = await fetch(`${relay.url}/healthz`)
  const body = (await response.json()) as { status: string; reason?: string }
  return { status: response.status, body, ms: performance.now() - started }
}

describe("the relay fails closed when the store refuses writes", () => {
  let mock: MockOpenAI
  let upstream: string
  before(async () => {
    mock = new MockOpenAI({ "sk-money": "ok" })
    upstream = await mock.start()
  })
  after(() => mock.stop())

  it("on a full disk: the answer's end is withheld, billable requests get 503, /healthz and /metrics say why; freed, every kept charge is written once", async () => {
    // A small volume of its own, filled up once the relay is running.
    const volume = mkdtempSync(join(tmpdir(), "relay-full-"))
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=6m", "tmpfs", volume])
    const filler = join(volume, "filler")
    const relay = await startRelay({ config: METERED_CONFIG, dataDir: join(volume, "data"), env: { OPENAI_API_KEY: "sk-money", OPENAI_BASE_URL: upstream } })
    try {
      const { account, key } = await createAccount(relay, { name: "full-disk", credits: "10.00" })
      assert.equal((await chat(relay, key, { model: "gpt-4o-mini" })).status, 200)
      // A read writes the charges waiting in the journal into the store first: with everything
      // in the store, the journal is empty, and the next charge needs new room on the disk.
      assert.equal((await usageOf(relay, account.id)).length, 1)

      const fill = () => {
        const { bavail, bsize } = statfsSync(volume)
        writeFileSync(filler, Buffer.alloc(Number(bavail) * Number(bsize)))
      }
      fill()
      // The first answer whose charge cannot be written does not reach its client whole.
      const refused = await chat(relay, key, { model: "gpt-4o-mini", messages: [{ role: "user", content: "charge me" }] }, "/v1/chat/completions")
      assert.equal(refused.status, 503)
      const refusedId = refused.headers.get("x-request-id")!
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "store_unavailable")

      const health = await probeHealth(relay)
      assert.equal(health.status, 503)
      assert.match(health.body.reason ?? "", /disk is full/)
      const next = await chat(relay, key, { model: "gpt-4o-mini" })
      assert.equal(next.status, 503, "nothing billable is served while charges cannot be recorded")
      assert.ok(Number(next.headers.get("retry-after")) >= 1)
      const anthropic = await fetch(`${relay.url}/v1/messages`, {
        method: "POST",
        headers: { "x-api-key": key, "content-type": "application/json", "anthropic-version": "2023-06-01" },
        body: JSON.stringify({ model: "gpt-4o-mini", max_tokens: 50, messages: [{ role: "user", content: "hi" }] })
      })
      assert.equal(anthropic.status, 503)
      assert.equal(((await anthropic.json()) as { error: { type: string } }).error.type, "overloaded_error")
      const metrics = await (await relay.admin("GET", "/metrics")).text()
      assert.match(metrics, /^relay_store_writable 0$/m)
      // The withheld charge, and the records of the requests refused since.
      assert.match(metrics, /^relay_store_kept_records [1-9]\d*$/m)
      assert.match(relay.output(), /the store refuses writes/)

      // Freed, the relay resumes by itself and writes the kept charge exactly once.
      unlinkSync(filler)
      await eventually(async () => assert.equal((await probeHealth(relay)).status, 200), 10_000)
      assert.equal((await chat(relay, key, { model: "gpt-4o-mini" })).status, 200)
      const records = await eventually(async () => {
        const rows = await usageOf(relay, account.id)
        assert.equal(rows.filter((row) => row.id === refusedId).length, 1)
        return rows
      })
      const kept = records.find((row) => row.id === refusedId)!
      assert.ok(nano(kept.cost) > 0n, "the withheld answer is still charged: the upstream did the work")
      const spent = records.reduce((sum, row) => sum + nano(row.cost), 0n)
      assert.equal(nano(await balanceOf(relay, account.id)), 10_000_000_000n - spent, "the balance is the credit less every recorded cost")
      assert.match(await (await relay.admin("GET", "/metrics")).text(), /^relay_store_writable 1$/m)
    } finally {
      await relay.stop()
      execFileSync("umount", [volume])
      rmSync(volume, { recursive: true, force: true })
    }
  })

  it("an outside process holding the store's write lock for 10 s holds up only the writes: /healthz answers within 100 ms throughout", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "relay-locked-"))
    const relay = await startRelay({ config: METERED_CONFIG, dataDir, env: { OPENAI_API_KEY: "sk-money", OPENAI_BASE_URL: upstream } })
    try {
      const { account, key } = await createAccount(relay, { name: "locked", credits: "10.00" })
      const client = new OpenAI({ baseURL: relay.baseURL, apiKey: key, maxRetries: 0 })
      await probeHealth(relay)

      const outsider = new Database(join(dataDir, "relay.db"))
      outsider.exec("BEGIN EXCLUSIVE")
      const lockedAt = performance.now()
      // A stream already running carries on; its charge is durable once in the journal.
      const streamed = (async () => {
        const stream = await client.chat.completions.create({ model: "mock-slow", stream: true, messages: [{ role: "user", content: "go" }] })
        let chunks = 0
        for await (const _ of stream) chunks++
        return chunks
      })().then((chunks) => ({ chunks }), (error: Error) => ({ error }))
      const probes: Array<{ status: number; ms: number }> = []
      while (performance.now() - lockedAt < 10_000) {
        probes.push(await probeHealth(relay))
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
      outsider.exec("COMMIT")
      outsider.close()

      assert.ok(probes.length >= 30)
      // A driver waiting on the lock would stall the relay for seconds at a time. A busy machine
      // may delay one probe or two a little past 100 ms; never more, never by much.
      const slow = probes.filter((probe) => probe.ms >= 100)
      assert.ok(slow.length <= 2 && slow.every((probe) => probe.ms < 250), `every /healthz answered within 100 ms: ${JSON.stringify(slow)}`)
      assert.ok(probes.some((probe) => probe.status === 503), "once a charge has waited out the lock, /healthz says the store refuses writes")
      const outcome = await streamed
      assert.ok("chunks" in outcome, "the stream's charge is durable in the journal: the store's lock does not withhold its end")

      await eventually(async () => assert.equal((await probeHealth(relay)).status, 200), 10_000)
      const records = await eventually(async () => {
        const rows = await usageOf(relay, account.id)
        assert.equal(rows.length, 1)
        return rows
      })
      assert.ok(nano(records[0]!.cost) > 0n, "the kept charge of the stream is written, once")
      assert.equal(nano(await balanceOf(relay, account.id)), 10_000_000_000n - nano(records[0]!.cost))
    } finally {
      await relay.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

describe("what the relay charges is what the client received", () => {
  let mock: MockOpenAI
  let relay: RelayProcess
  let key: string
  let accountId: string
  before(async () => {
    mock = new MockOpenAI({ "sk-money": "ok" })
    relay = await startRelay({ config: METERED_CONFIG, env: { OPENAI_API_KEY: "sk-money", OPENAI_BASE_URL: await mock.start() } })
    const created = await createAccount(relay, { name: "shapes", credits: "1.00" })
    key = created.key
    accountId = created.account.id
  })
  after(async () => {
    await relay.stop()
    await mock.stop()
  })

  for (const [model, stream, what] of [
    ["mock-plain-stream", true, "a stream labelled text/plain"],
    ["mock-not-json", false, "a 200 whose body is not JSON"]
  ] as const) {
    it(`${what} is a 502, never a free answer; the reservation is released and the request recorded`, async () => {
      const before = await balanceOf(relay, accountId)
      const response = await chat(relay, key, { model, stream })
      assert.equal(response.status, 502)
      const body = (await response.json()) as { error: { code: string; message: string } }
      assert.equal(body.error.code, "upstream_error")
      const id = response.headers.get("x-request-id")!
      await eventually(async () => {
        const row = (await usageOf(relay, accountId)).find((r) => r.id === id)
        assert.equal(row?.status, 502)
        assert.equal(row?.cost, "0.000000000")
      })
      assert.equal(await balanceOf(relay, accountId), before)
      assert.equal((await chat(relay, key, { model: "gpt-4o-mini" })).status, 200, "nothing stays reserved")
    })
  }

  it("a same-protocol stream the upstream cut without [DONE] makes the SDK raise, and is charged as delivered", async () => {
    const client = new OpenAI({ baseURL: relay.baseURL, apiKey: key, maxRetries: 0 })
    let text = ""
    await assert.rejects(async () => {
      const stream = await client.chat.completions.create({ model: "mock-cut-stream", stream: true, messages: [{ role: "user", content: "cut me short please" }] })
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ""
    })
    assert.equal(text, "cut me short please", "everything the upstream sent reached the client")
    await eventually(async () => {
      const row = (await usageOf(relay, accountId))[0]!
      assert.ok(nano(row.cost) > 0n, "what was delivered is charged")
    })
  })
})

describe("no charge is lost to a crash", () => {
  const TRIALS = 5
  const PER_TRIAL = 1_000
  const CLIENTS = 16

  it(`kill -9 under load, ${TRIALS} trials of ${PER_TRIAL} requests: every answer received whole has its record and charge, none doubled`, async () => {
    const mock = new MockOpenAI({ "sk-crash": "ok" })
    const upstream = await mock.start()
    try {
      let journalHeld = 0
      for (let trial = 0; trial < TRIALS; trial++) {
        const dataDir = mkdtempSync(join(tmpdir(), "relay-crash-"))
        const relay = await startRelay({ config: METERED_CONFIG, dataDir, env: { OPENAI_API_KEY: "sk-crash", OPENAI_BASE_URL: upstream } })
        const { account, key } = await createAccount(relay, { name: `crash-${trial}`, credits: "1000.00", tier: "professional" })
        await relay.admin("PATCH", `/admin/accounts/${account.id}`, { rpm: 100_000, tpm: 100_000_000 })
        const whole = new Set<string>()
        let sent = 0
        let killed = false
        const worker = async (n: number) => {
          while (!killed) {
            const id = `trial${trial}-c${n}-r${sent++}`
            const stream = sent % 2 === 0
            try {
              const response = await fetch(`${relay.baseURL}/chat/completions`, {
                method: "POST",
                headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "x-request-id": id },
                body: JSON.stringify({ model: "gpt-4o-mini", stream, messages: [{ role: "user", content: `request ${id}` }] })
              })
              const text = await response.text()
              if (response.status !== 200) continue
              // Whole: a body that parses, or a stream through its [DONE].
              if (stream ? text.includes("data: [DONE]") : JSON.parse(text).usage !== undefined) whole.add(id)
            } catch {
              // Cut by the kill: not received whole.
            }
            if (whole.size >= PER_TRIAL && !killed) {
              killed = true
              relay.child.kill("SIGKILL")
            }
          }
        }
        await Promise.all(Array.from({ length: CLIENTS }, (_, n) => worker(n)))
        await relay.stop()
        if (readFileSync(join(dataDir, "relay.db.charges"), "utf8").length > 0) journalHeld++
        // Started again, the relay writes what its journal holds and the store lacks.
        await (await startRelay({ config: METERED_CONFIG, dataDir, env: { OPENAI_API_KEY: "sk-crash", OPENAI_BASE_URL: upstream } })).stop()
        const db = new Database(join(dataDir, "relay.db"), { readonly: true })
        try {
          const records = db.prepare("SELECT request_id, cost_nano FROM usage_records WHERE account_id = ?").all(account.id) as Array<{ request_id: string; cost_nano: number }>
          const charges = db.prepare("SELECT request_id FROM ledger WHERE account_id = ? AND kind = 'charge'").all(account.id) as Array<{ request_id: string }>
          const recorded = new Map<string, number>()
          for (const row of records) recorded.set(row.request_id, (recorded.get(row.request_id) ?? 0) + 1)
          const charged = new Map<string, number>()
          for (const row of charges) charged.set(row.request_id, (charged.get(row.request_id) ?? 0) + 1)
          const unrecorded = [...whole].filter((id) => recorded.get(id) !== 1 || charged.get(id) !== 1)
          assert.deepEqual(unrecorded, [], `trial ${trial}: answers received whole without exactly one record and one charge`)
          assert.deepEqual([...recorded].filter(([, n]) => n > 1), [], `trial ${trial}: no record doubled`)
          assert.deepEqual([...charged].filter(([, n]) => n > 1), [], `trial ${trial}: no charge doubled`)
          assert.ok(whole.size >= PER_TRIAL)
          assertBalanced(db, account.id, 1_000_000_000_000n, trial)
        } finally {
          db.close()
          rmSync(dataDir, { recursive: true, force: true })
        }
      }
      assert.ok(journalHeld > 0, "some kill left charges in the journal that the store did not have yet")
    } finally {
      await mock.stop()
    }
  })

  it("kill -9 right after each of a few answers at concurrency 1: restarted, every answer delivered is charged once, the balance to the nano-USD", async () => {
    const mock = new MockOpenAI({ "sk-crash": "ok" })
    const env = { OPENAI_API_KEY: "sk-crash", OPENAI_BASE_URL: await mock.start() }
    const dataDir = mkdtempSync(join(tmpdir(), "relay-crash-one-"))
    const journalPath = join(dataDir, "relay.db.charges")
    try {
      let relay = await startRelay({ config: METERED_CONFIG, dataDir, env })
      const { account, key } = await createAccount(relay, { name: "crash-one", credits: "5.00" })
      const delivered: Array<string> = []
      let journalHeld = 0
      for (let round = 0; round < 5; round++) {
        for (let n = 0; n < 3; n++) {
          const response = await chat(relay, key, { model: "gpt-4o-mini", messages: [{ role: "user", content: `round ${round} answer ${n}` }] })
          assert.equal(response.status, 200)
          assert.ok(((await response.json()) as { usage?: unknown }).usage !== undefined)
          delivered.push(response.headers.get("x-request-id")!)
        }
        // At once after the answer: its charge may be in the journal only.
        relay.child.kill("SIGKILL")
        await relay.stop()
        if (existsSync(journalPath) && readFileSync(journalPath, "utf8").length > 0) journalHeld++
        relay = await startRelay({ config: METERED_CONFIG, dataDir, env })
      }
      await relay.stop()
      assert.ok(journalHeld > 0, "some kill came before the store had the last charge")
      const db = new Database(join(dataDir, "relay.db"), { readonly: true })
      try {
        const charges = db.prepare("SELECT request_id FROM ledger WHERE account_id = ? AND kind = 'charge'").all(account.id) as Array<{ request_id: string }>
        const records = db.prepare("SELECT request_id, cost_nano FROM usage_records WHERE account_id = ?").all(account.id) as Array<{ request_id: string; cost_nano: number }>
        assert.deepEqual(charges.map((row) => row.request_id).sort(), [...delivered].sort(), "each answer delivered charged exactly once")
        assert.deepEqual(records.map((row) => row.request_id).sort(), [...delivered].sort(), "each answer delivered recorded exactly once")
        assert.ok(records.every((row) => row.cost_nano > 0))
        assertBalanced(db, account.id, 5_000_000_000n)
      } finally {
        db.close()
      }
      assert.equal(readFileSync(journalPath, "utf8"), "", "a relay that stopped cleanly leaves its journal empty")
    } finally {
      await mock.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it("a charge journal moved beside another store stops that relay's start, saying why, and is written once back beside its own", async () => {
    const mock = new MockOpenAI({ "sk-moved": "ok" })
    const env = { OPENAI_API_KEY: "sk-moved", OPENAI_BASE_URL: await mock.start() }
    const ownDir = mkdtempSync(join(tmpdir(), "relay-journal-own-"))
    const otherDir = mkdtempSync(join(tmpdir(), "relay-journal-other-"))
    const journalOf = (dir: string) => join(dir, "relay.db.charges")
    const chargesIn = (dir: string, account?: string) => {
      const db = new Database(join(dir, "relay.db"), { readonly: true })
      try {
        const rows = db.prepare(`SELECT request_id FROM ledger WHERE kind = 'charge'${account === undefined ? "" : " AND account_id = ?"}`)
          .all(...(account === undefined ? [] : [account])) as Array<{ request_id: string }>
        return rows.map((row) => row.request_id).sort()
      } finally {
        db.close()
      }
    }
    try {
      // Another relay's store, stopped cleanly.
      const other = await startRelay({ config: METERED_CONFIG, dataDir: otherDir, env })
      assert.equal(await other.stop(), 0)
      // Killed at once after its answers, until a kill leaves charges in the journal only.
      let relay = await startRelay({ config: METERED_CONFIG, dataDir: ownDir, env })
      const { account, key } = await createAccount(relay, { name: "journal-own", credits: "5.00" })
      const delivered: Array<string> = []
      for (let round = 0; round < 20; round++) {
        const response = await chat(relay, key, { model: "gpt-4o-mini", messages: [{ role: "user", content: `answer ${round}` }] })
        assert.equal(response.status, 200)
        await response.json()
        delivered.push(response.headers.get("x-request-id")!)
        relay.child.kill("SIGKILL")
        await relay.stop()
        if (readFileSync(journalOf(ownDir), "utf8").includes(delivered.at(-1)!)) break
        relay = await startRelay({ config: METERED_CONFIG, dataDir: ownDir, env })
      }
      const journal = readFileSync(journalOf(ownDir), "utf8")
      assert.ok(journal.includes(delivered.at(-1)!), "a kill left the last answer's charge in the journal only")
      assert.ok(!chargesIn(ownDir).includes(delivered.at(-1)!))

      // The operator moves the data directory's files about: the journal lands beside the other store.
      renameSync(journalOf(ownDir), journalOf(otherDir))
      const refusal = await startRelay({ config: METERED_CONFIG, dataDir: otherDir, env }).then(
        async (started) => (await started.stop(), "the relay started beside another store's journal"),
        (error: Error) => error.message
      )
      assert.match(refusal, /exited with 1 before listening/)
      assert.match(refusal, /the charge journal beside the store holds \d+ charge\(s\) of another store \([0-9a-f]{32}\), not of this one \([0-9a-f]{32}\)/)
      assert.doesNotMatch(refusal, /\n\s+at /, "a message, not a stack trace")
      assert.deepEqual(chargesIn(otherDir), [], "the other store took none of the charges")
      assert.equal(readFileSync(journalOf(otherDir), "utf8"), journal, "the journal is kept whole")

      // Back beside its own store, the next start writes what it holds, once.
      renameSync(journalOf(otherDir), journalOf(ownDir))
      relay = await startRelay({ config: METERED_CONFIG, dataDir: ownDir, env })
      assert.equal(await relay.stop(), 0)
      assert.deepEqual(chargesIn(ownDir, account.id), [...delivered].sort(), "each answer delivered charged exactly once")
    } finally {
      await mock.stop()
      rmSync(ownDir, { recursive: true, force: true })
      rmSync(otherDir, { recursive: true, force: true })
    }
  })
})

/** The balance as stored is the credit less the sum of the usage records, to the nano-USD. */
const assertBalanced = (db: Database.Database, accountId: string, credit: bigint, trial?: number) => {
  const spent = (db.prepare("SELECT COALESCE(SUM(cost_nano), 0) AS spent FROM usage_records WHERE account_id = ?").safeIntegers(true).get(accountId) as { spent: bigint }).spent
  const balance = (db.prepare("SELECT balance_nano FROM balances WHERE account_id = ?").safeIntegers(true).get(accountId) as { balance_nano: bigint }).balance_nano
  assert.equal(balance, credit - spent, `${trial === undefined ? "" : `trial ${trial}: `}the balance is the credit less every recorded cost`)
}

describe("shutdown drains on every runtime", () => {
  it("after SIGTERM no new request is taken on any connection, in-flight ones finish and settle, none meets a closed store", async () => {
    const mock = new MockOpenAI({ "sk-drain": "ok" })
    const dataDir = mkdtempSync(join(tmpdir(), "relay-drain-"))
    const env = { OPENAI_API_KEY: "sk-drain", OPENAI_BASE_URL: await mock.start() }
    try {
      const relay = await startRelay({ config: METERED_CONFIG, dataDir, env })
      const { account, key } = await createAccount(relay, { name: "drain", credits: "100.00" })
      await relay.admin("PATCH", `/admin/accounts/${account.id}`, { rpm: 100_000, tpm: 100_000_000 })
      const statuses: Array<number> = []
      const answered = new Set<string>()
      let stop = false
      let n = 0
      // Kept-alive connections (fetch pools them) sending all through the shutdown.
      const worker = async () => {
        while (!stop) {
          const id = `drain-${n++}`
          try {
            const response = await fetch(`${relay.baseURL}/chat/completions`, {
              method: "POST",
              headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "x-request-id": id },
              body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: id }] })
            })
            statuses.push(response.status)
            const text = await response.text()
            if (response.status === 200 && JSON.parse(text).usage !== undefined) answered.add(id)
            if (response.status === 503) assert.equal(JSON.parse(text).error.code, "shutting_down")
          } catch {
            // Refused connections once the listener is closed.
            await new Promise((resolve) => setTimeout(resolve, 5))
          }
        }
      }
      const workers = Array.from({ length: 8 }, worker)
      // Traffic flows before the signal: a busy machine's first answers take more than a fixed wait.
      await eventually(() => assert.ok(statuses.filter((status) => status === 200).length > 10, "traffic flows"))
      const exited = relay.stop("SIGTERM")
      await new Promise((resolve) => setTimeout(resolve, 500))
      stop = true
      await Promise.all(workers)
      assert.equal(await exited, 0)
      assert.ok(statuses.filter((status) => status === 200).length > 10)
      assert.deepEqual(statuses.filter((status) => status !== 200 && status !== 503), [], "no 500, no other failure during shutdown")

      const db = new Database(join(dataDir, "relay.db"), { readonly: true })
      try {
        const recorded = new Set((db.prepare("SELECT request_id FROM usage_records WHERE account_id = ?").all(account.id) as Array<{ request_id: string }>).map((row) => row.request_id))
        assert.deepEqual([...answered].filter((id) => !recorded.has(id)), [], "every answered request settled before the store closed")
      } finally {
        db.close()
      }
    } finally {
      await mock.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
