// Tunables of the web interface, in one place (documented in docs/dashboard.md).
export const CONFIG = Object.freeze({
  // Relative, so the interface also works behind a reverse proxy under a path prefix.
  API_BASE: "api/v1",
  // sessionStorage key of the bearer token (cleared when the tab closes).
  TOKEN_KEY: "fm.adminToken",
  // localStorage keys: the chosen language and the crew member who last picked themselves.
  LANGUAGE_KEY: "fm.language",
  CREW_MEMBER_KEY: "fm.crewMember",
  // sessionStorage key remembering that this server runs no simulated fleet (404 on inject).
  NO_SIMULATION_KEY: "fm.noSimulation",
  // Language when neither the user nor the site file chose one.
  DEFAULT_LANGUAGE: "zh",
  // A burst of live events re-fetches the board once, this long after the last of them.
  LIVE_DEBOUNCE_MS: 300,
  // The stream reconnects after this long when it drops (the service may be restarting).
  LIVE_RECONNECT_MS: 3000,
  // Device states change without a work-order event (e.g. a device comes back): re-read this often.
  BOARD_REFRESH_MS: 30000,
  // Orders fetched per request: the API's largest page.
  PAGE_SIZE: 1000,
  // Ledger rows shown per page on screen (the CSV carries up to PAGE_SIZE).
  LEDGER_PAGE_SIZE: 100,
  // Default window of the manager view and the device charts.
  DEFAULT_WINDOW_DAYS: 7,
  // Work-order states that still need someone.
  OPEN_ORDER_STATES: ["open", "acknowledged", "in_progress"],
});
