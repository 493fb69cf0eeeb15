// Manager view: availability over time, household-hours lost, team league, outage list.
import { ApiError, apiGet, loadDevices, query } from "../api.js";
import { barList, lineChart } from "../charts.js";
import { CONFIG } from "../config.js";
import { h, select, table } from "../dom.js";
import { formatDuration, formatPercent, formatTime, localName, t, term } from "../i18n.js";

const PERIOD_DAYS = [7, 30, 90, 365];
const DAY_MS = 86_400_000;
const state = { scope: "street:", days: CONFIG.DEFAULT_WINDOW_DAYS };

function windowParams() {
  const end = new Date();
  const start = new Date(end.getTime() - state.days * DAY_MS);
  return { start: start.toISOString(), end: end.toISOString() };
}

// Each report is built by another part of the API; one missing leaves the others working.
async function section(id, build) {
  try {
    return h("section", { id }, await build());
  } catch (error) {
    if (error instanceof ApiError && error.status !== 401) {
      return h("section", { id }, h("p", { class: "muted" }, t("notYet", { detail: error.message })));
    }
    throw error;
  }
}

async function uptimeSection(site, devices) {
  const [scope, id] = state.scope.split(":");
  const { body: u } = await apiGet(`uptime${query({ scope, id, bucket: "day", ...windowParams() })}`);
  const xs = u.buckets.map((b) => Date.parse(b.start) / 1000);
  const outages = u.outages.map((o) => [
    localName(devices.get(o.device_id)?.name ?? o.device_id),
    term(o.code),
    formatTime(o.start),
    o.end ? formatTime(o.end) : "…",
    formatDuration(o.duration_s),
  ]);
  return [
    h(
      "dl",
      { class: "headline" },
      [["availability", formatPercent(u.availability)], ["mtta", formatDuration(u.mtta_s)], ["mttr", formatDuration(u.mttr_s)], ["devices", String(u.devices)]].map(
        ([key, value]) => h("div", null, h("dt", null, t(key)), h("dd", { dataset: { figure: key } }, value))
      )
    ),
    lineChart(t("uptimeChart"), xs, [{ label: t("availability"), values: u.buckets.map((b) => b.availability * 100) }], { band: 0 }),
    table(t("outages"), [t("device"), t("fault"), t("from"), t("to"), t("duration")], outages, { id: "outage-table" }),
  ];
}

async function householdSection(site) {
  const level = state.scope.startsWith("street") ? "community" : "grid";
  const { body: rows } = await apiGet(`reports/households${query({ level, ...windowParams() })}`);
  const byName = (r) => localName(r.name);
  return barList(
    t("householdHours"),
    rows.map((r) => ({ label: byName(r), value: r.household_hours_lost, text: `${r.household_hours_lost.toFixed(1)} · ${formatPercent(r.availability_weighted)}` }))
  );
}

async function leagueSection() {
  const { body: rows } = await apiGet(`reports/teams${query({ level: "grid", ...windowParams() })}`);
  const ranked = [...rows].sort((a, b) => (b.sla_compliance ?? -1) - (a.sla_compliance ?? -1));
  return table(
    t("teamLeague"),
    ["#", t("grids"), t("ordersRaised"), t("sla"), t("mtta"), t("mttr"), t("resolvedAtGrid"), t("firstTimeFix")],
    ranked.map((r, i) => [
      String(i + 1),
      localName(r.name),
      String(r.orders_raised),
      formatPercent(r.sla_compliance),
      formatDuration(r.mtta_s),
      formatDuration(r.mttr_s),
      r.orders_resolved ? formatPercent(r.resolved_at_grid / r.orders_resolved) : "–",
      formatPercent(r.first_time_fix_rate),
    ]),
    { id: "league-table" }
  );
}

export async function render(container, _args, site) {
  const scopes = [
    ["street:", localName(site.street.name)],
    ...site.communities.map((c) => [`community:${c.id}`, `${t("communities")} · ${localName(c.name)}`]),
    ...site.grids.map((g) => [`grid:${g.id}`, `${t("grids")} · ${localName(g.name)}`]),
  ];
  const body = h("div", { class: "manager-body" });
  const draw = async () => {
    const devices = await loadDevices();
    body.replaceChildren(
      await section("uptime", () => uptimeSection(site, devices)),
      await section("households", () => householdSection(site)),
      await section("league", () => leagueSection())
    );
  };
  container.replaceChildren(
    h("h2", null, t("manager")),
    h(
      "form",
      { class: "filters", onsubmit: (e) => e.preventDefault() },
      select(t("scope"), "manager-scope", scopes, state.scope, (e) => { state.scope = e.target.value; draw(); }),
      select(t("period"), "manager-days", PERIOD_DAYS.map((d) => [String(d), `${d} d`]), String(state.days), (e) => { state.days = Number(e.target.value); draw(); })
    ),
    body
  );
  await draw();
  return { refresh: draw };
}
