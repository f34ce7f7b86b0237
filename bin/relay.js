#!/usr/bin/env node
// The `relay` command. The project is TypeScript, compiled once and kept by the hooks that
// runtime/node-ts.mjs registers in-process, so the command works from any directory.
import "../runtime/node-ts.mjs"

await import("../runtime/cli.ts")
