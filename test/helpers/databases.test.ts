import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, it } from "node:test"
import Redis from "ioredis"
import { connectPostgres } from "../../runtime/postgres.ts"
import { startPostgres, startRedis } from "./databases.ts"
import { eventually } from "./relay.ts"

/** The throw-away servers: they start, serve the relay's clients, and leave nothing behind. */

/** Alive, and not a zombie: a process that has died and waits for its parent to reap it. */
const running = (pid: number) => {
  try {
    return /^State:\s+[^Z]/m.test(readFileSync(`/proc/${pid}/status`, "utf8"))
  } catch {
    return false
  }
}

/** The servers' directories that `pid` started. */
const dirsOf = (pid: number) =>
  readdirSync(tmpdir()).filter((name) => {
    if (!name.startsWith("relay-test-db-")) return false
    try {
      return readFileSync(join(tmpdir(), name, "owner.pid"), "utf8") === String(pid)
    } catch {
      return false
    }
  })

describe("throw-away PostgreSQL and Redis", () => {
  it("start empty, answer the relay's clients, survive a PostgreSQL restart, and stop without a trace", async () => {
    const [pg, redis] = await Promise.all([startPostgres(), startRedis()])
    const sql = connectPostgres(await pg.createDatabase("helper_check"))
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 })
    try {
      const [row] = await sql`SELECT ${"hello"}::text AS greeting, current_user AS who`
      assert.deepEqual({ ...row }, { greeting: "hello", who: "relay" })
      assert.equal(await client.dbsize(), 0)
      assert.equal(await client.set("k", "v"), "OK")
      assert.equal(await client.get("k"), "v")

      const before = pg.pid
      await pg.restart()
      assert.notEqual(pg.pid, before)
      assert.ok(!running(before), "the old server is gone")
      // The client finds the restarted server by itself.
      await eventually(async () => {
        const [again] = await sql`SELECT 1 AS one`
        assert.equal(again!.one, 1)
      })
    } finally {
      await sql.end({ timeout: 1 })
      client.disconnect()
    }
    await Promise.all([pg.stop(), redis.stop()])
    assert.ok(!running(pg.pid), "postgres stopped")
    assert.ok(!running(redis.pid), "redis stopped")
  })

  it("leaves no server running when the test process is killed", async () => {
    const script = `
      import { startPostgres, startRedis } from ${JSON.stringify(join(import.meta.dirname, "databases.ts"))}
      const [pg, redis] = await Promise.all([startPostgres(), startRedis()])
      process.stdout.write(JSON.stringify({ pg: pg.pid, redis: redis.pid }) + "\\n")
      setInterval(() => {}, 1000)`
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] })
    const pids = await new Promise<{ pg: number; redis: number }>((resolve, reject) => {
      let out = ""
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString()
        if (out.includes("\n")) resolve(JSON.parse(out))
      })
      child.once("exit", (code) => reject(new Error(`the test process exited (${code}) before its servers ran`)))
    })
    assert.ok(running(pids.pg) && running(pids.redis))
    // Reaped before the sweep: a killed process not yet reaped still answers as alive.
    const exited = new Promise((resolve) => child.once("exit", resolve))
    child.kill("SIGKILL")
    await exited
    await eventually(() => {
      assert.ok(!running(pids.pg), "postgres ended with its test process")
      assert.ok(!running(pids.redis), "redis ended with its test process")
    })
    // The next start sweeps the directories the killed process left.
    const left = dirsOf(child.pid!)
    assert.equal(left.length, 2, "one directory per server")
    const redis = await startRedis()
    await redis.stop()
    for (const dir of left) assert.ok(!existsSync(join(tmpdir(), dir)), `${dir} was swept`)
  })
})
