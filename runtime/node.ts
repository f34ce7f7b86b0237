import { startNode } from "./node-main.ts"

// The relay on Node from its TypeScript sources, as the tests and `relay serve` run it
// (`npm start` runs it compiled: node-aot.mjs).
await startNode()
