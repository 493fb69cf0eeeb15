// The HTTP API with the admin token kept in sessionStorage.
import { CONFIG } from "./config.js";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

export const readToken = () => window.sessionStorage.getItem(CONFIG.TOKEN_KEY);
export const saveToken = (token) => window.sessionStorage.setItem(CONFIG.TOKEN_KEY, token);
export const forgetToken = () => window.sessionStorage.removeItem(CONFIG.TOKEN_KEY);

const headers = (extra = {}) => ({ Authorization: `Bearer ${readToken()}`, ...extra });

// A query string from an object; arrays repeat the key, empty values are left out.
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== undefined && item !== null && item !== "") search.append(key, String(item));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

async function answer(response) {
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
  return body;
}

export async function apiGet(path) {
  const response = await fetch(`${CONFIG.API_BASE}/${path}`, {
    headers: headers({ Accept: "application/json" }),
    cache: "no-store",
  });
  const body = await answer(response);
  return { body, total: Number(response.headers.get("X-Total-Count") ?? NaN) };
}

export async function apiPost(path, payload) {
  const response = await fetch(`${CONFIG.API_BASE}/${path}`, {
    method: "POST",
    headers: headers({ Accept: "application/json", "Content-Type": "application/json" }),
    body: JSON.stringify(payload),
  });
  return answer(response);
}

// Fetch a file with the token (a plain link cannot send it) and hand it to the browser.
export async function apiDownload(path, filename) {
  const response = await fetch(`${CONFIG.API_BASE}/${path}`, { headers: headers() });
  if (!response.ok) await answer(response);
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: filename });
  document.body.appendChild(link);
  link.click();
  link.remove();
  // Revoked on the next turn: the click has started the download by then.
  window.setTimeout(() => URL.revokeObjectURL(url));
}

// The site hierarchy, read once per sign-in, with lookups by id.
let sitePromise = null;
export function loadSite() {
  sitePromise ??= apiGet("site").then(({ body }) => ({
    ...body,
    communityById: new Map(body.communities.map((c) => [c.id, c])),
    gridById: new Map(body.grids.map((g) => [g.id, g])),
    buildingById: new Map(body.buildings.map((b) => [b.id, b])),
    memberById: new Map(
      body.grids.flatMap((g) => [g.team.leader, ...g.team.members].map((m) => [m.id, { ...m, team: g.team, grid: g }]))
    ),
  }));
  sitePromise.catch(() => (sitePromise = null));
  return sitePromise;
}
export const forgetSite = () => (sitePromise = null);

// Device names by id (the site API carries buildings, not devices).
let devicesPromise = null;
export function loadDevices() {
  devicesPromise ??= apiGet(`devices${query({ limit: CONFIG.PAGE_SIZE })}`).then(
    ({ body }) => new Map(body.map((d) => [d.id, d]))
  );
  devicesPromise.catch(() => (devicesPromise = null));
  return devicesPromise;
}
export const forgetDevices = () => (devicesPromise = null);
