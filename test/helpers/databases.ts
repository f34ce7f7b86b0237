import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ROOT } from "./runtimes.ts"

/**
 * Throw-away PostgreSQL and Redis servers for tests: Debian's packages, installed when missing,
 * each started in a fresh temporary directory on a free loopback port, never as a system
 * service. A server is started under `setpriv --pdeathsig SIGKILL`, so the kernel ends it when
 * the test process dies, even by `kill -9`; the directory left behind then is swept by the next
 * start.
 */

const DIR_PREFIX = "relay-test-db-"
/** The owning test process's id, inside each temporary directory. */
const OWNER_FILE = "owner.pid"
const READY_TIMEOUT_MS = 30_000

let installed = false

/** The newest installed PostgreSQL's programs (initdb, postgres, psql). */
const postgresBin = (): string => {
  const root = "/usr/lib/postgresql"
  const version = readdirSync(root).filter((v) => existsSync(join(root, v, "bin/postgres"))).sort((a, b) => Number(b) - Number(a))[0]
  if (version === undefined) throw new Error(`no PostgreSQL under ${root}`)
  return join(root, version, "bin")
}

/** Installs Debian's `postgresql` and `redis-server` when either is missing, as CI does. */
export const ensureDatabasePackages = (): void => {
  if (installed) return
  execFileSync("bash", [join(ROOT, ".ci/install-databases")], { stdio: "inherit" })
  installed = true
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Removes the directories of servers whose test process is gone. */
const sweepStale = () => {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(DIR_PREFIX)) continue
    const dir = join(tmpdir(), name)
    let owner: number
    try {
      owner = Number(readFileSync(join(dir, OWNER_FILE), "utf8"))
    } catch {
      // Being set up right now, or broken: only an old one is surely abandoned.
      if (Date.now() - statSync(dir).mtimeMs < 60_000) continue
      owner = 0
    }
    if (owner === 0 || !isAlive(owner)) rmSync(dir, { recursive: true, force: true })
  }
}

const freshDir = (): string => {
  sweepStale()
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX))
  writeFileSync(join(dir, OWNER_FILE), String(process.pid))
  return dir
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

/** Root runs the servers as the unprivileged `postgres` user: PostgreSQL refuses to run as root. */
const asServiceUser = (): { uid: number; gid: number } | undefined => {
  if (process.getuid?.() !== 0) return undefined
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim())
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim())
  return { uid, gid }
}

/** `command` under setpriv: killed with the test process, and as `user` when given. */
const guarded = (command: string, args: ReadonlyArray<string>, user: { uid: number; gid: number } | undefined) => {
  const as = user === undefined ? [] : ["--reuid", String(user.uid), "--regid", String(user.gid), "--clear-groups"]
  // The death signal goes last: a change of user clears it.
  return spawn("setpriv", [...as, "--pdeathsig", "SIGKILL", "--", command, ...args], { stdio: ["ignore", "pipe", "pipe"] })
}

/** Resolves once `child` prints `ready`; rejects with its output if it exits or takes too long. */
const waitForLine = (child: ChildProcess, ready: RegExp, what: string): Promise<void> =>
  new Promise((resolve, reject) => {
    let output = ""
    const timer = setTimeout(() => fail(new Error(`${what} was not ready within ${READY_TIMEOUT_MS} ms:\n${output}`)), READY_TIMEOUT_MS)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (ready.test(output)) done()
    }
    const onExit = (code: number | null) => fail(new Error(`${what} exited (${code}) before it was ready:\n${output}`))
    const cleanup = () => {
      clearTimeout(timer)
      child.stdout!.off("data", onData)
      child.stderr!.off("data", onData)
      child.off("exit", onExit)
      // Keep draining, so a chatty server never blocks on a full pipe.
      child.stdout!.resume()
      child.stderr!.resume()
    }
    const done = () => {
      cleanup()
      resolve()
    }
    const fail = (error: Error) => {
      cleanup()
      reject(error)
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    child.once("exit", onExit)
  })

const stopChild = (child: ChildProcess, signal: NodeJS.Signals): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const force = setTimeout(() => child.kill("SIGKILL"), 10_000)
    child.once("exit", () => {
      clearTimeout(force)
      resolve()
    })
    child.kill(signal)
  })

/** A running throw-away server. */
export interface TestServer {
  readonly url: string
  readonly port: number
  /** The server's process id (setpriv execs into it). */
  readonly pid: number
  /** Stops the server and removes its directory. */
  stop(): Promise<void>
}

export interface TestPostgres extends TestServer {
  /** The URL of a new, empty database on this server. */
  createDatabase(name: string): Promise<string>
  /** Stops the server, keeping its data, and starts it again on the same port: a restart. */
  restart(): Promise<void>
  /** Stops the server, keeping its data: connections are refused until `up`. */
  down(): Promise<void>
  /** Starts the server `down` stopped, on the same port. */
  up(): Promise<void>
}

const PG_USER = "relay"

/**
 * A fresh PostgreSQL cluster: trust authentication on loopback and on a socket in its own
 * directory, durability off (fsync, synchronous commit, full-page writes) since its data dies
 * with the test.
 */
export const startPostgres = async (): Promise<TestPostgres> => {
  ensureDatabasePackages()
  const bin = postgresBin()
  const dir = freshDir()
  const data = join(dir, "data")
  const user = asServiceUser()
  mkdirSync(data, { mode: 0o700 })
  if (user !== undefined) {
    chownSync(dir, user.uid, user.gid)
    chownSync(data, user.uid, user.gid)
  }
  execFileSync("setpriv", [
    ...(user === undefined ? [] : ["--reuid", String(user.uid), "--regid", String(user.gid), "--clear-groups"]),
    "--",
    join(bin, "initdb"),
    "-D", data, "-U", PG_USER, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"
  ], { stdio: "pipe" })
  const port = await freePort()
  let server: ChildProcess
  const launch = async () => {
    server = guarded(join(bin, "postgres"), [
      "-D", data, "-p", String(port), "-h", "127.0.0.1", "-k", dir,
      "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200"
    ], user)
    await waitForLine(server, /database system is ready to accept connections/, "postgres")
  }
  await launch()
  // SIGINT: a fast shutdown that ends open sessions, as an operator's restart would.
  const down = () => stopChild(server, "SIGINT")
  const url = (database: string) => `postgres://${PG_USER}@127.0.0.1:${port}/${database}`
  return {
    url: url("postgres"),
    port,
    get pid() {
      return server.pid!
    },
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`)
      execFileSync(join(bin, "psql"), ["-h", "127.0.0.1", "-p", String(port), "-U", PG_USER, "-d", "postgres", "-q", "-c", `CREATE DATABASE ${name}`])
      return url(name)
    },
    async restart() {
      await down()
      await launch()
    },
    down,
    up: launch,
    async stop() {
      await stopChild(server, "SIGINT")
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** A fresh Redis on loopback: nothing persisted. */
export const startRedis = async (): Promise<TestServer> => {
  ensureDatabasePackages()
  const dir = freshDir()
  const port = await freePort()
  const server = guarded("redis-server", [
    "--port", String(port), "--bind", "127.0.0.1", "--dir", dir,
    "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "notice",
    // DEBUG SLEEP from loopback: how a test makes Redis stall.
    "--enable-debug-command", "local"
  ], undefined)
  await waitForLine(server, /Ready to accept connections/, "redis-server")
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: server.pid!,
    async stop() {
      await stopChild(server, "SIGTERM")
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
