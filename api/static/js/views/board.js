// The street board: tiles per community and grid, a schematic building map, click-through.
import { apiGet, query } from "../api.js";
import { h, svg } from "../dom.js";
import { localName, t, term } from "../i18n.js";

// The SVG box the API projects buildings into (api/board/projection.py).
const MAP_VIEWBOX = "0 0 1000 600";
const MARKER_RADIUS = 9;

function tile(item, href, kind) {
  return h(
    "a",
    { class: `tile colour-${item.colour}`, href, dataset: { tileId: item.id, colour: item.colour, kind } },
    h("strong", { class: "tile-name" }, localName(item.name)),
    h("span", { class: "tile-colour" }, t(`colour_${item.colour}`)),
    h(
      "dl",
      { class: "tile-counts" },
      [
        ["openOrders", item.open_orders],
        ["overdue", item.overdue],
        ["critical", item.critical],
        ["faulty", item.faulty],
        ["offline", item.offline],
        ["devices", item.devices],
      ].map(([key, value]) => h("div", null, h("dt", null, t(key)), h("dd", null, String(value))))
    )
  );
}

function buildingMap(buildings, focus) {
  const links = buildings
    .filter((b) => b.x !== null && b.y !== null)
    .map((b) =>
      svg(
        "a",
        { href: `#/board/building/${encodeURIComponent(b.id)}` },
        svg(
          "circle",
          {
            cx: b.x,
            cy: b.y,
            r: MARKER_RADIUS,
            class: `mark colour-${b.colour}${focus(b) ? " focus" : ""}`,
            dataset: { buildingId: b.id, colour: b.colour },
          },
          svg("title", null, `${localName(b.name)} — ${t(`colour_${b.colour}`)}`)
        )
      )
    );
  return h(
    "figure",
    { class: "map" },
    svg("svg", { viewBox: MAP_VIEWBOX, role: "img", "aria-label": t("map") }, links),
    h("figcaption", null, t("map"))
  );
}

function crumbs(site, level, id) {
  const items = [h("a", { href: "#/board" }, localName(site.street.name))];
  const grid = level === "grid" ? site.gridById.get(id) : level === "building" ? site.gridById.get(site.buildingById.get(id)?.grid_id) : null;
  const communityId = level === "community" ? id : grid?.community_id;
  if (communityId) items.push(h("a", { href: `#/board/community/${communityId}` }, localName(site.communityById.get(communityId)?.name ?? communityId)));
  if (grid) items.push(h("a", { href: `#/board/grid/${grid.id}` }, localName(grid.name)));
  if (level === "building") items.push(h("span", null, localName(site.buildingById.get(id)?.name ?? id)));
  return h("nav", { class: "crumbs", "aria-label": "breadcrumb" }, items.flatMap((item, i) => (i ? [" › ", item] : [item])));
}

async function deviceList(site, building) {
  const grid = site.gridById.get(building.grid_id);
  const { body } = await apiGet(`devices${query({ grid_id: grid?.id })}`);
  const devices = body.filter((d) => d.building_id === building.id);
  return h(
    "ul",
    { class: "device-list" },
    devices.map((d) =>
      h(
        "li",
        null,
        h("span", { class: `status status-${d.status}` }, term(d.status)),
        " ",
        h("a", { href: `#/device/${encodeURIComponent(d.id)}` }, localName(d.name) || d.id),
        h("span", { class: "muted" }, ` · ${term(d.type)}`)
      )
    )
  );
}

export async function render(container, args, site) {
  const [level, id] = args;
  const draw = async () => {
    const { body: board } = await apiGet("board");
    const sections = [crumbs(site, level, id)];
    sections.push(h("section", { class: "tiles", "aria-label": t("street") }, tile(board.street, "#/board", "street")));
    if (!level) {
      sections.push(h("h2", null, t("communities")));
      sections.push(h("section", { class: "tiles" }, board.communities.map((c) => tile(c, `#/board/community/${c.id}`, "community"))));
    }
    const grids = board.grids.filter((g) => !level || (level === "community" && site.gridById.get(g.id)?.community_id === id) || (level === "grid" && g.id === id));
    if (level !== "building") {
      sections.push(h("h2", null, t("grids")));
      sections.push(h("section", { class: "tiles" }, grids.map((g) => tile(g, `#/board/grid/${g.id}`, "grid"))));
    }
    const inGrid = (b) => level === "grid" && b.grid_id === id;
    if (level === "grid") {
      sections.push(h("h2", null, t("buildings")));
      sections.push(h("section", { class: "tiles" }, board.buildings.filter(inGrid).map((b) => tile({ ...b, overdue: "–", critical: "–" }, `#/board/building/${b.id}`, "building"))));
    }
    if (level === "building") {
      const building = board.buildings.find((b) => b.id === id);
      if (building) {
        sections.push(h("section", { class: "tiles" }, tile({ ...building, overdue: "–", critical: "–" }, `#/board/building/${id}`, "building")));
        sections.push(h("h2", null, t("devices")), await deviceList(site, building));
      }
    }
    const focus = (b) => (level === "community" ? site.gridById.get(b.grid_id)?.community_id === id : level === "grid" ? b.grid_id === id : b.id === id);
    const updated = h("p", { class: "muted", id: "last-update", "aria-live": "polite" }, t("updated", { time: new Date(board.generated_at).toLocaleTimeString() }));
    // Wide screens: tiles on the left, the map beside them; phones: the map below.
    container.replaceChildren(
      h("div", { class: "board-layout" }, h("div", { class: "board-tiles" }, sections), h("aside", { class: "board-map" }, buildingMap(board.buildings, focus), updated))
    );
  };
  await draw();
  return { refresh: draw };
}
