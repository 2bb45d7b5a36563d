// Helpers of the browser test pages (browser_check.mjs, threads_page.mjs).

/** Base64 of a typed array's bytes (in chunks: String.fromCharCode takes limited arguments). */
export function base64(typed) {
  const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** fetch(url), raising unless the response is OK. */
export async function fetchOk(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return response;
}
