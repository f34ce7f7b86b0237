/**
 * Lets Node run the relay's TypeScript: `node --import ./runtime/node-ts.mjs runtime/node.ts`.
 * It registers `node-ts-hooks.mjs`, which compiles each .ts and .tsx module with esbuild the
 * first time it loads and keeps the result (node_modules/.cache/relay-ts), keyed by its
 * source. The tests run under tsx instead, which does the same with one difference that
 * matters on a relay: it keeps every function's name by wrapping each function the code creates in a
 * call that defines a property on it, on every request. Measured on the relay's benchmark,
 * that cost 2 KiB per open stream and 5 to 9% of Node's throughput.
 */
import { register } from "node:module"

// The compiled modules carry inline source maps; Node reads them only when started with
// --enable-source-maps (stack traces then name TypeScript lines). Reading them always adds
// about 60 ms (a tenth) to the start-up, for traces the relay never logs.
register("./node-ts-hooks.mjs", import.meta.url)
