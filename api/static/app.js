// facility monitor dashboard: polls the HTTP API with the admin token kept in sessionStorage.
"use strict";

// ---- configuration (documented in docs/http-api.md, "Dashboard") ---------------------------
const CONFIG = Object.freeze({
  // How often the tables refresh, in milliseconds.
  REFRESH_INTERVAL_MS: 5000,
  // Relative, so the dashboard also works behind a reverse proxy under a path prefix.
  API_BASE: "api/v1",
  // sessionStorage key of the bearer token (cleared when the tab closes).
  TOKEN_KEY: "fm.adminToken",
  // Work-order states that still need someone; "resolved" and later are done.
  OPEN_ORDER_STATES: ["open", "acknowledged", "in_progress"],
  // Orders fetched per refresh: the API's maximum page size.
  ORDER_PAGE_SIZE: 1000,
  // Devices fetched per refresh: the device list pages too, and the API's maximum page
  // holds every device of the example site.
  DEVICE_PAGE_SIZE: 1000,
});

const STATUS_ORDER = { offline: 0, fault: 1, ok: 2 };

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

const $ = (id) => document.getElementById(id);

function readToken() {
  return window.sessionStorage.getItem(CONFIG.TOKEN_KEY);
}

function showMessage(text) {
  const box = $("message");
  box.textContent = text;
  box.hidden = !text;
}

async function apiGet(path) {
  const response = await fetch(`${CONFIG.API_BASE}/${path}`, {
    headers: { Authorization: `Bearer ${readToken()}`, Accept: "application/json" },
    cache: "no-store",
  });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const detail = body && typeof body.detail === "string" ? body.detail : response.statusText;
    throw new ApiError(response.status, detail);
  }
  return { body, total: Number(response.headers.get("X-Total-Count") ?? NaN) };
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function replaceRows(tbodyId, rows) {
  $(tbodyId).replaceChildren(...rows);
}

function formatTime(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

function renderCommunities(site, devices, orders) {
  const gridCommunity = new Map(site.grids.map((g) => [g.id, g.community_id]));
  const counts = new Map(
    site.communities.map((c) => [c.id, { name: c.name, ok: 0, fault: 0, offline: 0, orders: 0 }])
  );
  for (const device of devices) {
    const entry = counts.get(device.community_id);
    if (entry) entry[device.status] += 1;
  }
  for (const order of orders) {
    const entry = counts.get(order.community_id ?? gridCommunity.get(order.grid_id));
    if (entry) entry.orders += 1;
  }
  replaceRows(
    "community-rows",
    [...counts.values()].map((c) => {
      const row = document.createElement("tr");
      const name = document.createElement("th");
      name.scope = "row";
      name.textContent = c.name;
      row.appendChild(name);
      cell(row, String(c.ok + c.fault + c.offline), "num");
      cell(row, String(c.ok), "num");
      cell(row, String(c.fault), c.fault ? "num status status-fault" : "num");
      cell(row, String(c.offline), c.offline ? "num status status-offline" : "num");
      cell(row, String(c.orders), "num");
      return row;
    })
  );
}

function renderDevices(site, devices) {
  const communities = new Map(site.communities.map((c) => [c.id, c.name]));
  const grids = new Map(site.grids.map((g) => [g.id, g.name]));
  const buildings = new Map(site.buildings.map((b) => [b.id, b.name]));
  const sorted = [...devices].sort(
    (a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || a.id.localeCompare(b.id)
  );
  replaceRows(
    "device-rows",
    sorted.map((d) => {
      const row = document.createElement("tr");
      cell(row, d.status, `status status-${d.status}`);
      cell(row, d.id);
      cell(row, d.name);
      cell(row, d.type.replaceAll("_", " "));
      cell(row, communities.get(d.community_id) ?? d.community_id);
      cell(row, grids.get(d.grid_id) ?? d.grid_id);
      cell(row, buildings.get(d.building_id) ?? d.building_id);
      return row;
    })
  );
}

function renderOrders(site, orders, total) {
  const teams = new Map(site.grids.map((g) => [g.team.id, g.team.name]));
  replaceRows(
    "order-rows",
    orders.map((o) => {
      const row = document.createElement("tr");
      cell(row, String(o.id), "num");
      cell(row, formatTime(o.created_at));
      cell(row, o.device_id);
      cell(row, o.fault_code.replaceAll("_", " "));
      cell(row, o.severity, `severity-${o.severity}`);
      cell(row, o.status.replaceAll("_", " "));
      cell(row, o.tier);
      cell(row, teams.get(o.team_id) ?? o.team_id);
      cell(row, o.assignee ?? "");
      return row;
    })
  );
  const shown = orders.length < total ? ` (showing ${orders.length} of ${total})` : "";
  $("orders-caption").textContent = `Work orders not yet resolved, newest first${shown}`;
}

let site = null;
let timer = null;

async function refresh() {
  timer = null;
  if (!readToken()) return;
  try {
    if (site === null) {
      site = (await apiGet("site")).body;
      $("site-name").textContent = site.street.city
        ? `${site.street.name}, ${site.street.city}`
        : site.street.name;
    }
    const states = CONFIG.OPEN_ORDER_STATES.map((s) => `status=${encodeURIComponent(s)}`);
    const [devices, orders] = await Promise.all([
      apiGet(`devices?limit=${CONFIG.DEVICE_PAGE_SIZE}`),
      apiGet(`workorders?${states.join("&")}&limit=${CONFIG.ORDER_PAGE_SIZE}`),
    ]);
    renderCommunities(site, devices.body, orders.body);
    renderOrders(site, orders.body, orders.total);
    renderDevices(site, devices.body);
    showMessage("");
    $("last-update").textContent = `Updated ${new Date().toLocaleTimeString()}`;
    showBoard();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      signOut(`Sign-in failed: ${error.message}`);
      return;
    }
    // The service may be restarting: say so and keep polling.
    showMessage(
      error instanceof ApiError
        ? error.message
        : `Cannot reach the service (${error.message}); retrying.`
    );
  }
  schedule();
}

function schedule() {
  if (timer === null && readToken()) {
    timer = window.setTimeout(refresh, CONFIG.REFRESH_INTERVAL_MS);
  }
}

function showBoard() {
  $("login").hidden = true;
  $("board").hidden = false;
  $("sign-out").hidden = false;
}

function showLogin() {
  $("board").hidden = true;
  $("sign-out").hidden = true;
  $("login").hidden = false;
  $("token-input").focus();
}

function signOut(reason) {
  window.sessionStorage.removeItem(CONFIG.TOKEN_KEY);
  if (timer !== null) window.clearTimeout(timer);
  timer = null;
  site = null;
  showMessage(reason ?? "");
  showLogin();
}

function start() {
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token-input").value.trim();
    if (!token) return;
    window.sessionStorage.setItem(CONFIG.TOKEN_KEY, token);
    $("token-input").value = "";
    showMessage("");
    refresh();
  });
  $("sign-out").addEventListener("click", () => signOut());
  if (readToken()) {
    refresh();
  } else {
    showLogin();
  }
}

document.addEventListener("DOMContentLoaded", start);
