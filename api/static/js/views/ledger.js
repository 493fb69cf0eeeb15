// The ledger: every order, filtered by status, tier, grid, type and period, with CSV export.
import { apiDownload, apiGet, loadDevices, query } from "../api.js";
import { CONFIG } from "../config.js";
import { h, select, showMessage, table } from "../dom.js";
import { formatTime, localName, t, term } from "../i18n.js";

const STATUSES = ["open", "acknowledged", "in_progress", "resolved", "closed", "cancelled"];
const TIERS = ["grid", "community", "street"];
const TYPES = ["corridor_light", "pipe", "charging_shed"];

// The filters survive leaving and re-entering the view, not a reload.
const filters = { status: "", tier: "", grid_id: "", type: "", start: "", end: "", offset: 0 };

// A date input's day as the UTC instant starting it (the API wants RFC 3339).
const dayStart = (day) => (day ? new Date(`${day}T00:00:00Z`).toISOString() : "");
function dayAfter(day) {
  if (!day) return "";
  const next = new Date(`${day}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  return next.toISOString();
}

function params(extra = {}) {
  const { offset, start, end, ...rest } = filters;
  return { ...rest, start: dayStart(start), end: dayAfter(end), ...extra };
}

export async function render(container, _args, site) {
  const results = h("div", { class: "ledger-results" });
  const rerun = () => {
    filters.offset = 0;
    draw();
  };
  const choose = (name, options) =>
    select(t(name === "grid_id" ? "grids" : name === "type" ? "type" : name), `ledger-${name}`, [["", t("any")], ...options], filters[name], (e) => {
      filters[name] = e.target.value;
      rerun();
    });
  const dateField = (name) =>
    h("label", { class: "field" }, h("span", null, t(name === "start" ? "from" : "to")),
      h("input", { type: "date", name: `ledger-${name}`, value: filters[name], onchange: (e) => { filters[name] = e.target.value; rerun(); } }));
  const form = h(
    "form",
    { class: "filters", "aria-label": t("filters"), onsubmit: (e) => e.preventDefault() },
    choose("status", STATUSES.map((s) => [s, term(s)])),
    choose("tier", TIERS.map((s) => [s, term(s)])),
    choose("grid_id", site.grids.map((g) => [g.id, localName(g.name)])),
    choose("type", TYPES.map((s) => [s, term(s)])),
    dateField("start"),
    dateField("end"),
    h("button", { type: "button", id: "ledger-csv", onclick: () => apiDownload(`workorders${query(params({ format: "csv", limit: CONFIG.PAGE_SIZE }))}`, "workorders.csv").catch((error) => showMessage(error.message)) }, t("downloadCsv"))
  );
  container.replaceChildren(h("h2", null, t("ledger")), form, results);

  async function draw() {
    const [{ body: orders, total }, devices] = await Promise.all([
      apiGet(`workorders${query(params({ limit: CONFIG.LEDGER_PAGE_SIZE, offset: filters.offset }))}`),
      loadDevices(),
    ]);
    const member = (id) => localName(site.memberById.get(id)?.name ?? id ?? "");
    const rows = orders.map((o) => [
      String(o.id),
      formatTime(o.created_at),
      term(o.fault_code),
      o.device_id ? h("a", { href: `#/device/${encodeURIComponent(o.device_id)}` }, localName(devices.get(o.device_id)?.name ?? o.device_id)) : term(o.scope),
      localName(site.buildingById.get(o.building_id)?.name ?? o.building_id),
      localName(site.gridById.get(o.grid_id)?.name ?? o.grid_id),
      term(o.severity),
      term(o.status),
      term(o.tier),
      member(o.assignee),
    ]);
    const pager = h(
      "p",
      { class: "pager" },
      h("span", { id: "ledger-count" }, t("shown", { shown: orders.length, total })),
      " ",
      h("button", { type: "button", disabled: filters.offset === 0, onclick: () => { filters.offset = Math.max(0, filters.offset - CONFIG.LEDGER_PAGE_SIZE); draw(); } }, t("prev")),
      h("button", { type: "button", disabled: filters.offset + orders.length >= total, onclick: () => { filters.offset += CONFIG.LEDGER_PAGE_SIZE; draw(); } }, t("next"))
    );
    const headers = ["#", t("created"), t("fault"), t("device"), t("building"), t("grids"), t("severity"), t("status"), t("tier"), t("assignedTo")];
    results.replaceChildren(pager, table(null, headers, rows, { id: "ledger-table" }));
  }
  await draw();
  return { refresh: draw };
}
