import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { after, before, describe, it } from "node:test"
import { openNodeStore } from "../../runtime/node-store.ts"
import { startPostgres, startRedis, type TestPostgres, type TestServer } from "../helpers/databases.ts"
import { scriptCommand, type SourceRuntime } from "../helpers/runtimes.ts"
import { networkedImplementations } from "./networked.ts"
import { portSuites } from "./suites.ts"

/**
 * Each port's contract against the implementations several relay nodes share, on throw-away
 * PostgreSQL and Redis servers started once: in this process, and from inside Bun and Deno.
 */
let postgres: TestPostgres
let redis: TestServer
const servers = () => ({ postgres: postgres.url, redis: redis.url })
const networked = networkedImplementations(servers)

before(async () => {
  postgres = await startPostgres()
  redis = await startRedis()
})

after(async () => {
  await networked.close()
  await Promise.all([postgres.stop(), redis.stop()])
})

for (const suite of portSuites(networked.implementations, () => openNodeStore(":memory:"))) {
  describe(`${suite.name} port (PostgreSQL and Redis)`, () => {
    for (const contractCase of suite.cases) it(contractCase.name, contractCase.run)
  })
}

describe("the shared implementations keep their contracts on each runtime", () => {
  for (const runtime of ["bun", "deno"] satisfies Array<SourceRuntime>) {
    it(runtime, () => {
      const { command, args } = scriptCommand(runtime, "test/fixtures/port-contracts.ts", [runtime, servers().postgres, servers().redis])
      const run = spawnSync(command, args, { encoding: "utf8", timeout: 120_000 })
      assert.equal(run.status, 0, `${run.stdout}${run.stderr}`)
      assert.match(run.stdout, new RegExp(`the port contracts hold on ${runtime}, on PostgreSQL and Redis`))
    })
  }
})
