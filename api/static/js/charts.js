// Line charts with the vendored uPlot (api/static/vendor, loaded as a classic script).
import { h } from "./dom.js";
import { t } from "./i18n.js";

const CHART_HEIGHT_PX = 220;
// Narrower than this and the axes crowd the plot; phones scroll sideways instead.
const MIN_CHART_WIDTH_PX = 280;
const PALETTE = ["#1f6feb", "#d29922", "#8250df", "#2da44e"];

// A chart of one or more series over time; `xs` are epoch seconds.
export function lineChart(title, xs, series, { band = null } = {}) {
  const figure = h("figure", { class: "chart" }, h("figcaption", null, title));
  if (!xs.length) {
    figure.append(h("p", { class: "muted" }, t("noData")));
    return figure;
  }
  const holder = h("div", { class: "chart-plot" });
  figure.append(holder);
  const options = {
    width: MIN_CHART_WIDTH_PX,
    height: CHART_HEIGHT_PX,
    series: [
      {},
      ...series.map((s, i) => ({
        label: s.label,
        stroke: s.colour ?? PALETTE[i % PALETTE.length],
        width: 2,
        fill: band === i ? "rgba(31,111,235,0.08)" : undefined,
      })),
    ],
    axes: [{}, { size: 60 }],
  };
  const plot = new window.uPlot(options, [xs, ...series.map((s) => s.values)], holder);
  // Fit the width once the figure is in the page, and again when the window resizes.
  const fit = () => plot.setSize({ width: Math.max(MIN_CHART_WIDTH_PX, figure.clientWidth), height: CHART_HEIGHT_PX });
  new ResizeObserver(fit).observe(figure);
  return figure;
}

// A horizontal bar per row (plain HTML: the values are labelled, the bars only guide the eye).
export function barList(title, rows) {
  const max = Math.max(0, ...rows.map((r) => r.value));
  return h(
    "figure",
    { class: "bars" },
    h("figcaption", null, title),
    rows.length
      ? h(
          "ul",
          null,
          rows.map((r) =>
            h(
              "li",
              null,
              h("span", { class: "bar-label" }, r.label),
              bar(max ? r.value / max : 0),
              h("span", { class: "bar-value" }, r.text)
            )
          )
        )
      : h("p", { class: "muted" }, t("noData"))
  );
}

// Widths through the CSSOM: the page's CSP forbids style attributes, not style properties.
function bar(share) {
  const node = h("span", { class: "bar" });
  node.style.width = `${share * 100}%`;
  return node;
}
