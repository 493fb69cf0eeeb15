// Device page: where it is, who answers for it, its faults, metric charts and (demo) fault injection.
import { ApiError, apiGet, apiPost, query } from "../api.js";
import { lineChart } from "../charts.js";
import { CONFIG } from "../config.js";
import { h, showMessage } from "../dom.js";
import { formatTime, localName, t, term } from "../i18n.js";

// The facility profiles (DESIGN.md, sensors/profiles.py): charted metrics and injectable faults.
const PROFILES = {
  corridor_light: { metrics: ["current_a", "voltage_v", "lux"], faults: ["short_circuit", "lamp_failure", "no_power", "offline"] },
  pipe: { metrics: ["pressure_kpa", "flow_lpm", "level_cm", "temp_c"], faults: ["burst", "leak", "blockage", "low_pressure", "freeze_risk", "offline"] },
  charging_shed: { metrics: ["temp_c", "power_w", "ports_in_use", "ports_faulted"], faults: ["smoke", "overheat", "overload", "breaker_trip", "port_fault", "offline"] },
};
const DAY_MS = 86_400_000;
// What the last inject/recover click sent, kept across the page's redraws.
let lastSent = "";

function facts(device) {
  const rows = [
    [t("type"), term(device.type)],
    [t("status"), h("span", { class: `status status-${device.status}` }, term(device.status))],
    [t("building"), h("a", { href: `#/board/building/${device.building.id}` }, localName(device.building.name))],
    [t("location"), device.location?.text || device.building.location?.text || ""],
    [t("responsible"), localName(device.responsible?.name ?? "")],
    [t("openFaults"), device.open_faults.length ? device.open_faults.map((f) => `${term(f.code)} (${formatTime(f.since)})`).join(", ") : t("none")],
  ];
  if (device.last_seen_at) rows.push([t("lastSeen"), formatTime(device.last_seen_at)]);
  return h("dl", { class: "facts" }, rows.map(([k, v]) => h("div", null, h("dt", null, k), h("dd", null, v))));
}

async function metricChart(deviceId, metric) {
  const end = new Date();
  const start = new Date(end.getTime() - CONFIG.DEFAULT_WINDOW_DAYS * DAY_MS);
  try {
    const { body } = await apiGet(`devices/${encodeURIComponent(deviceId)}/telemetry${query({ metric, start: start.toISOString(), end: end.toISOString() })}`);
    const xs = body.points.map((p) => Date.parse(p.ts) / 1000);
    const title = body.unit ? `${metric} (${body.unit})` : metric;
    return lineChart(title, xs, [
      { label: t("mean"), values: body.points.map((p) => p.mean) },
      { label: t("min"), values: body.points.map((p) => p.min), colour: "#8c959f" },
      { label: t("max"), values: body.points.map((p) => p.max), colour: "#cf222e" },
    ]);
  } catch (error) {
    if (error instanceof ApiError && error.status !== 401) return h("p", { class: "muted" }, `${metric}: ${t("notYet", { detail: error.message })}`);
    throw error;
  }
}

function simulationBox(device, refresh) {
  if (window.sessionStorage.getItem(CONFIG.NO_SIMULATION_KEY)) return null;
  const box = h("section", { id: "simulation", class: "simulation" }, h("h3", null, t("simulation")));
  const send = async (code, action) => {
    try {
      await apiPost("simulation/faults", { device_id: device.id, code, action });
      showMessage("");
      lastSent = t("injected", { code: term(code), action: t(action) });
      await refresh();
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        // This process runs no simulated fleet: the control has nothing to drive.
        window.sessionStorage.setItem(CONFIG.NO_SIMULATION_KEY, "1");
        box.remove();
      } else {
        showMessage(error.message);
      }
    }
  };
  box.append(
    h("ul", null, (PROFILES[device.type]?.faults ?? []).map((code) =>
      h("li", null, h("span", null, term(code)), " ",
        h("button", { type: "button", onclick: () => send(code, "inject"), dataset: { code } }, t("inject")), " ",
        h("button", { type: "button", onclick: () => send(code, "recover") }, t("recover"))))),
    h("p", { role: "status", class: "muted" }, lastSent)
  );
  return box;
}

export async function render(container, args) {
  const deviceId = args[0] ?? "";
  const draw = async () => {
    const { body: device } = await apiGet(`devices/${encodeURIComponent(deviceId)}`);
    // Every numeric metric of the type gets its chart, whether or not it reported lately.
    const metrics = PROFILES[device.type]?.metrics ?? Object.keys(device.latest ?? {});
    const charts = await Promise.all(metrics.map((metric) => metricChart(device.id, metric)));
    container.replaceChildren(
      h("h2", null, localName(device.name) || device.id),
      facts(device),
      simulationBox(device, draw),
      h("h3", null, t("charts")),
      h("div", { class: "charts" }, charts)
    );
  };
  await draw();
  return { refresh: draw };
}
