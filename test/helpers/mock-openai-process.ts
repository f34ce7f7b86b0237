import { MockOpenAI } from "./mock-openai.ts"

/**
 * The mock OpenAI in a process of its own, for tests that hold more connections than one
 * process's descriptors allow alongside their clients. Its keys are the arguments (each "ok");
 * it prints its base URL and serves until killed.
 */
const mock = new MockOpenAI(Object.fromEntries(process.argv.slice(2).map((key) => [key, "ok" as const])))
mock.start().then((url) => process.stdout.write(`${url}\n`), (error: unknown) => {
  process.stderr.write(`${String(error)}\n`)
  process.exit(1)
})
