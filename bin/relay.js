#!/usr/bin/env node
// The `relay` command. The project is TypeScript run through tsx, registered here in-process
// with the project's own tsconfig, so the command works from any directory.
import { fileURLToPath } from "node:url"
import { register } from "tsx/esm/api"

register({ tsconfig: fileURLToPath(new URL("../tsconfig.json", import.meta.url)) })
await import("../runtime/cli.ts")
