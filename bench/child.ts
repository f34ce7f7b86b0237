import { type ChildProcess, spawn } from "node:child_process"
import { resolve } from "node:path"
import type { Command } from "../test/helpers/runtimes.ts"

const ROOT = resolve(import.meta.dirname, "..")

/** A process the bench started, with what its output matched once it was ready. */
export interface Child {
  readonly child: ChildProcess
  readonly match: RegExpExecArray
}

/** Starts `command` (in `cwd`, the repository by default) and waits for `ready` in its output. */
export const start = (command: Command, env: Record<string, string>, ready: RegExp, cwd = ROOT) =>
  new Promise<Child>((resolveChild, reject) => {
    const child = spawn(command.command, command.args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
    const args = [command.command]
    let output = ""
    let started = false
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start within 30 s:\n${output}`)), 30_000)
    child.stdout!.setEncoding("utf8").on("data", (text: string) => {
      // Once started, the output (the relay logs a line per request) is read and dropped.
      if (started) return
      output += text
      const match = ready.exec(output)
      if (match) {
        started = true
        clearTimeout(timer)
        resolveChild({ child, match })
      }
    })
    child.stderr!.setEncoding("utf8").on("data", (text: string) => {
      if (!started) output += text
    })
    child.once("exit", (code) => {
      if (!started) reject(new Error(`${args[0]} exited with ${code}:\n${output}`))
    })
  })

export const stop = async ({ child }: Child) => {
  if (child.exitCode !== null) return
  const exited = new Promise((resolveExit) => child.once("exit", resolveExit))
  child.kill("SIGTERM")
  await exited
}
