import v8 from "node:v8";
import vm from "node:vm";

let collect: (() => void) | null = null;

/**
 * Memory after a full garbage collection, so that what is measured is what is kept, not what
 * happens not to have been collected yet. The bench turns on `gc()` for itself at run time.
 */
export function settledMemory(): NodeJS.MemoryUsage {
  if (!collect) {
    v8.setFlagsFromString("--expose-gc");
    collect = vm.runInNewContext("gc") as () => void;
  }
  collect();
  collect();
  return process.memoryUsage();
}
