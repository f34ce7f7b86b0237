import assert from "node:assert/strict"
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import { type AccountView, chat } from "../helpers/accounts.ts"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { eventually, ROOT, startRelay } from "../helpers/relay.ts"

const WEB_CONFIG = join(ROOT, "test/fixtures/relay.web-config.ts")
const BIN = join(ROOT, "bin/relay.js")

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs `relay ...` as a user would, from a directory that is not the project's. */
const relayCommand = (dataDir: string, args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Run> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: tmpdir(),
        env: { PATH: process.env.PATH, HOME: process.env.HOME, RELAY_DATA_DIR: dataDir, RELAY_CONFIG: WEB_CONFIG, ...env },
        timeout: 30_000
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr })
    )
  })

const json = <T>(run: Run): T => {
  assert.equal(run.code, 0, run.stderr)
  return JSON.parse(run.stdout) as T
}

describe("relay command line", () => {
  let dataDir: string
  const relay = (...args: Array<string>) => relayCommand(dataDir, args)

  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), "relay-cli-"))
  })

  after(() => {
    rmSync(dataDir, { recursive: true, force: true })
  })

  it("has --help on every command, and exits 2 with the usage when called with nothing", async () => {
    const commands = [
      [],
      ["serve"],
      ["accounts"],
      ["accounts", "create"],
      ["accounts", "list"],
      ["accounts", "show"],
      ["keys"],
      ["keys", "create"],
      ["keys", "list"],
      ["keys", "revoke"],
      ["credits", "add"],
      ["vault", "rotate"]
    ]
    const runs = await Promise.all(commands.map((command) => relay(...command, "--help")))
    runs.forEach((run, i) => {
      assert.equal(run.code, 0, `${commands[i]!.join(" ")} --help: ${run.stderr}`)
      assert.match(run.stdout, /Usage: relay /)
    })
    assert.match(runs[0]!.stdout, /relay keys revoke <key-id>/)
    assert.match(runs[10]!.stdout, /<amount> +USD, such as 5\.00/)
    assert.match(runs[10]!.stdout, /--json +Print machine-readable JSON/)

    const bare = await relay()
    assert.equal(bare.code, 2)
    assert.match(bare.stderr, /Usage: relay <command>/)
  })

  it("refuses bad arguments with a clear message and exit code 2", async () => {
    const cases: Array<[Array<string>, RegExp]> = [
      [["launch"], /relay: unknown command "launch"/],
      [["accounts"], /relay accounts: missing command/],
      [["keys", "burn"], /relay keys: unknown command "burn"/],
      [["accounts", "create"], /relay accounts create: missing <name>/],
      [["accounts", "show", "a", "b"], /unexpected argument "b"/],
      [["accounts", "list", "--verbose"], /unknown option --verbose/],
      [["accounts", "create", "x", "--tier"], /--tier needs a value \(TIER\)/],
      [["accounts", "list", "--json=yes"], /--json takes no value/],
      [["accounts", "create", "x", "--tier", "gold"], /unknown tier "gold"; configured tiers: starter, professional/],
      [["accounts", "create", ""], /relay accounts create: name: expected 1 to 200 characters, not counting spaces at either end/],
      [["accounts", "create", "   "], /relay accounts create: name: expected 1 to 200 characters/],
      [["credits", "add", "acct_x", "12.5.0"], /amount: expected a USD amount with at most 9 decimals/],
      [["serve", "--port", "eighty"], /--port must be a port number/]
    ]
    const runs = await Promise.all(cases.map(([args]) => relay(...args)))
    runs.forEach((run, i) => {
      assert.equal(run.code, 2, `${cases[i]![0].join(" ")}: ${run.stdout}${run.stderr}`)
      assert.match(run.stderr, cases[i]![1])
      assert.equal(run.stdout, "")
    })
  })

  it("exits 1 for what it cannot find", async () => {
    const [show, keys, revoke, credit] = await Promise.all([
      relay("accounts", "show", "acct_missing"),
      relay("keys", "list", "acct_missing"),
      relay("keys", "revoke", "key_missing"),
      relay("credits", "add", "acct_missing", "1")
    ])
    for (const run of [show, keys, credit]) {
      assert.equal(run.code, 1)
      assert.match(run.stderr, /no account acct_missing/)
    }
    assert.equal(revoke.code, 1)
    assert.match(revoke.stderr, /no active key key_missing/)
  })

  it("runs the plugins' stop steps before it closes the store, as a closing relay does", async () => {
    // A store that batches writes (a networked ledger) writes what it holds in its plugin's stop.
    const file = join(dataDir, "closing.config.ts")
    writeFileSync(
      file,
      `export default ({ core, Effect, echo, keys }) => ({ plugins: [keys(), core.definePlugin("closer", () => Effect.succeed({ stop: Effect.sync(() => console.error("closer: stopped")) })), echo()] })\n`
    )
    const listed = await relayCommand(dataDir, ["accounts", "list"], { RELAY_CONFIG: file })
    assert.equal(listed.code, 0, listed.stderr)
    assert.match(listed.stderr, /closer: stopped/)
  })

  it("manages accounts, credits and keys on the store a relay then serves", async () => {
    const created = json<AccountView>(await relay("accounts", "create", "cli-acme", "--tier", "professional", "--json"))
    assert.equal(created.name, "cli-acme")
    assert.deepEqual(created.limits, { rpm: 300, tpm: 500_000 })
    assert.equal(created.balance, "0.000000000")

    const credited = json<AccountView>(await relay("credits", "add", created.id, "5.25", "--note", "welcome", "--json"))
    assert.equal(credited.balance, "5.250000000")
    const longNote = await relay("credits", "add", created.id, "1", "--note", "n".repeat(501))
    assert.equal(longNote.code, 2)
    assert.match(longNote.stderr, /relay credits add: note: expected at most 500 characters/)
    const corrected = await relay("credits", "add", created.id, "-0.25")
    assert.equal(corrected.code, 0, corrected.stderr)
    assert.match(corrected.stdout, /the balance is 5\.000000000/)

    const issued = json<{ id: string; key: string; prefix: string; account_id: string }>(
      await relay("keys", "create", created.id, "--name", "ci", "--json")
    )
    assert.match(issued.key, /^sk-rr-[0-9A-Za-z]{40}$/)
    assert.equal(issued.account_id, created.id)
    assert.ok(issued.key.startsWith(issued.prefix))

    const listed = json<{ data: Array<{ id: string; name: string; revoked_at: string | null }> }>(await relay("keys", "list", created.id, "--json"))
    assert.deepEqual(listed.data.map((k) => [k.id, k.name, k.revoked_at]), [[issued.id, "ci", null]])
    assert.ok(!JSON.stringify(listed).includes(issued.key), "a listing never holds a key")
    const table = await relay("accounts", "list")
    assert.match(table.stdout, new RegExp(`${created.id} +cli-acme +professional +5\\.000000000 +300 +500000`))
    assert.deepEqual(json<AccountView>(await relay("accounts", "show", created.id, "--json")), { ...created, balance: "5.000000000" })

    // The relay serves what the command line wrote, and stops honouring a key it revokes.
    const served = await startRelay({ config: WEB_CONFIG, dataDir })
    try {
      assert.equal(served.firstRunKey, undefined, "the store was not empty")
      const me = (await (await fetch(`${served.baseURL}/account`, { headers: { authorization: `Bearer ${issued.key}` } })).json()) as AccountView
      assert.equal(me.balance, "5.000000000")
      assert.equal((await chat(served, issued.key, { model: "echo-1" })).status, 200)

      const late = json<{ key: string }>(await relay("keys", "create", created.id, "--json"))
      assert.equal((await chat(served, late.key, { model: "echo-1" })).status, 200, "a key made beside a running relay works at once")
      const revoked = await relay("keys", "revoke", issued.id)
      assert.equal(revoked.code, 0, revoked.stderr)
      await eventually(async () => assert.equal((await chat(served, issued.key, { model: "echo-1" })).status, 401), 1_500)
    } finally {
      await served.stop()
    }
  })

  it("re-seals stored BYOK credentials under a new master key, which a restarted relay uses", async () => {
    const own = "sk-cli-own-key-5555"
    const mock = new MockOpenAI({ [own]: "ok" })
    const upstream = await mock.start()
    const env = { OPENAI_BASE_URL: upstream }
    const dir = mkdtempSync(join(tmpdir(), "relay-cli-vault-"))
    try {
      const first = await startRelay({ config: WEB_CONFIG, dataDir: dir, env })
      const key = first.firstRunKey!
      const put = await fetch(`${first.baseURL}/account/byok/openai`, {
        method: "PUT",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ api_key: own })
      })
      assert.equal(put.status, 200)
      await first.stop()

      const rotated = json<{ key_id: string; generated: boolean; resealed: number }>(await relayCommand(dir, ["vault", "rotate", "--json"]))
      assert.deepEqual({ generated: rotated.generated, resealed: rotated.resealed }, { generated: true, resealed: 1 })

      const second = await startRelay({ config: WEB_CONFIG, dataDir: dir, env })
      try {
        const answer = await chat(second, key, { model: "gpt-4o-mini" }, "/byok/v1/chat/completions")
        assert.equal(answer.status, 200, await answer.clone().text())
        assert.equal(mock.chats.at(-1)!.headers.authorization, `Bearer ${own}`)
      } finally {
        await second.stop()
      }
    } finally {
      await mock.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
