// Runs benchmarks/int8_dot_peak.wat's two kernels (bytes given by the caller) and returns
// {dot16, rdot}: the best of 5 runs each, in GOP/s (2 ops per int8 product). Shared by Node
// (node --experimental-wasm-relaxed-simd benchmarks/int8_dot_peak.mjs peak.wasm) and the
// page benchmarks/int8_dot_peak.html, which POSTs the result to ?report=URL.
export async function peaks(bytes) {
  const { instance } = await WebAssembly.instantiate(bytes);
  const iters = 2e6;
  const best = {};
  for (let round = 0; round < 5; round++) {
    for (const [name, products] of [["dot16", 8 * 12], ["rdot", 16 * 12]]) {
      const t0 = performance.now();
      instance.exports[name](iters, 3);
      const s = (performance.now() - t0) / 1e3;
      best[name] = Math.max(best[name] || 0, (2 * iters * products) / s / 1e9);
    }
  }
  return best;
}

if (typeof process !== "undefined" && process.argv?.[1]?.endsWith("int8_dot_peak.mjs")) {
  const { readFileSync } = await import("node:fs");
  console.log(JSON.stringify(await peaks(readFileSync(process.argv[2]))));
}
