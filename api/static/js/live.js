// The SSE stream of committed work-order changes, read with fetch (EventSource cannot send the
// bearer token); every change tells the current view, debounced, to read again.
import { CONFIG } from "./config.js";
import { readToken } from "./api.js";

let controller = null;
let listener = null;
let debounce = null;

// The current view's refresh; one at a time (the router swaps it).
export function onChange(callback) {
  listener = callback;
}

function changed() {
  if (debounce !== null) window.clearTimeout(debounce);
  debounce = window.setTimeout(() => {
    debounce = null;
    if (listener) listener();
  }, CONFIG.LIVE_DEBOUNCE_MS);
}

async function follow(signal) {
  const response = await fetch(`${CONFIG.API_BASE}/stream`, {
    headers: { Authorization: `Bearer ${readToken()}`, Accept: "text/event-stream" },
    signal,
  });
  if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    pending += value;
    const events = pending.split("\n\n");
    pending = events.pop();
    // Heartbeats are comment lines (": heartbeat"); anything with data is a change.
    if (events.some((event) => /^data:/m.test(event))) changed();
  }
}

export function startLive() {
  if (controller) return;
  controller = new AbortController();
  const { signal } = controller;
  const loop = async () => {
    while (!signal.aborted && readToken()) {
      try {
        await follow(signal);
      } catch {
        // Dropped or refused: wait, then reconnect (the view keeps its last data meanwhile).
      }
      if (signal.aborted) return;
      await new Promise((resolve) => window.setTimeout(resolve, CONFIG.LIVE_RECONNECT_MS));
      changed(); // something may have changed while the stream was down
    }
  };
  loop();
}

export function stopLive() {
  controller?.abort();
  controller = null;
}
