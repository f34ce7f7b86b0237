/** The file the preloaded relay `pid` writes its live heap to (see gc-on-signal.mjs). */
export declare const heapMemoryFile: (pid: number) => string
