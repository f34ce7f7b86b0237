import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, describe, it } from "node:test"
import { loadKeyring } from "../../runtime/keyring.ts"
import { scriptCommand } from "../helpers/runtimes.ts"

const dirs: Array<string> = []
const newDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "relay-keyring-"))
  dirs.push(dir)
  return dir
}
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })))

/** Starts a process loading the keyring of `dataDir` once `goFile` exists; resolves to its key id. */
const loader = (dataDir: string, goFile: string) => {
  const { command, args } = scriptCommand("node", "test/fixtures/load-keyring.ts", [dataDir, goFile])
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  let markReady: () => void
  const ready = new Promise<void>((resolve) => (markReady = resolve))
  child.stdout.setEncoding("utf8").on("data", (text: string) => {
    stdout += text
    if (stdout.startsWith("ready\n")) markReady()
  })
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text))
  const id = new Promise<string>((resolve, reject) =>
    child.on("close", (code) => (code === 0 ? resolve(stdout.split("\n")[1]!) : reject(new Error(`exit ${code}: ${stderr}`))))
  )
  return { ready, id }
}

describe("the master key file", () => {
  it("is generated once with mode 0600 and read back by the next start", async () => {
    const dir = newDir()
    const first = await loadKeyring({}, dir)
    const file = join(dir, "master.key")
    assert.equal(statSync(file).mode & 0o777, 0o600)
    assert.equal(readFileSync(file, "utf8").trim().split("\n").length, 1)
    const second = await loadKeyring({}, dir)
    assert.equal(second.current.id, first.current.id)
    assert.deepEqual(readdirSync(dir), ["master.key"], "no temporary file is left behind")
  })

  it("keeps rotated keys, current first, and drops them when retired", async () => {
    const dir = newDir()
    const keyring = await loadKeyring({}, dir)
    const original = keyring.current.id
    assert.equal(await keyring.rotate(), true)
    const rotated = keyring.current.id
    assert.notEqual(rotated, original)
    const reloaded = await loadKeyring({}, dir)
    assert.equal(reloaded.current.id, rotated)
    assert.ok(reloaded.find(original), "the retired key still opens old rows")
    await keyring.retire()
    const retired = await loadKeyring({}, dir)
    assert.equal(retired.find(original), undefined)
    assert.deepEqual(readdirSync(dir), ["master.key"])
  })

  it("is one key for every process that starts on a new data directory at once", async () => {
    const dir = newDir()
    const goFile = join(newDir(), "go")
    const loaders = Array.from({ length: 6 }, () => loader(dir, goFile))
    await Promise.all(loaders.map((started) => started.ready))
    writeFileSync(goFile, "")
    const ids = await Promise.all(loaders.map((started) => started.id))
    const onFile = await loadKeyring({}, dir)
    assert.deepEqual(ids, ids.map(() => onFile.current.id), "each process seals with the key on file")
    assert.deepEqual(readdirSync(dir), ["master.key"])
  })

  it("comes from RELAY_MASTER_KEY instead, with no file written", async () => {
    const dir = newDir()
    const key = Buffer.alloc(32, 7).toString("base64")
    const keyring = await loadKeyring({ RELAY_MASTER_KEY: key }, dir)
    assert.deepEqual(readdirSync(dir), [])
    assert.equal(await keyring.rotate(), false)
    await assert.rejects(loadKeyring({ RELAY_MASTER_KEY: "short" }, dir), /RELAY_MASTER_KEY: key 1 is not 32 bytes/)
  })
})
