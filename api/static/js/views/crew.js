// Crew view (phone first): a member picks themselves and works their open orders.
import { ApiError, apiGet, apiPost, loadDevices, query } from "../api.js";
import { CONFIG } from "../config.js";
import { h, select, showMessage } from "../dom.js";
import { formatTime, localName, t, term } from "../i18n.js";

// Which buttons each state offers; the server's transition table is still the guard.
const ACTIONS = {
  open: ["ack", "start", "resolve"],
  acknowledged: ["start", "resolve"],
  in_progress: ["resolve"],
};

// The deadline that matters now: acknowledge while open, else resolve.
const deadline = (order) => (order.status === "open" ? order.ack_due_at ?? order.resolve_due_at : order.resolve_due_at);

function byDeadline(a, b) {
  const [da, db] = [deadline(a), deadline(b)];
  if (da && db) return new Date(da) - new Date(db) || a.id - b.id;
  return da ? -1 : db ? 1 : a.id - b.id;
}

function memberOptions(site) {
  return site.grids.flatMap((grid) =>
    [grid.team.leader, ...grid.team.members].map((m) => [m.id, `${localName(grid.name)} · ${localName(m.name)}`])
  );
}

function orderCard(order, site, devices, memberId, refresh) {
  const device = devices.get(order.device_id);
  const building = site.buildingById.get(order.building_id);
  const noteId = `note-${order.id}`;
  const note = h("textarea", { id: noteId, rows: 2, maxlength: 4000 });
  const send = async (action) => {
    try {
      await apiPost(`workorders/${order.id}/${action}`, { note: note.value, on_behalf_of: memberId });
      showMessage("");
      await refresh(t("done", { action: t(action) }));
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        await refresh();
        showMessage(t("conflict", { id: order.id, detail: error.message }));
      } else {
        showMessage(error.message);
      }
    }
  };
  const due = deadline(order);
  return h(
    "article",
    { class: `order severity-${order.severity}`, dataset: { orderId: order.id, status: order.status } },
    h("h3", null, `${term(order.fault_code)} · ${device ? localName(device.name) : term(order.scope)}`),
    h("p", null, localName(building?.name ?? order.building_id)),
    h(
      "p",
      { class: "order-meta" },
      h("span", { class: `badge status-${order.status}` }, term(order.status)),
      " ",
      h("span", { class: `badge severity-${order.severity}` }, term(order.severity)),
      " ",
      h("span", { class: due && new Date(due) < new Date() ? "late" : "" }, due ? t("due", { time: formatTime(due) }) : t("noDeadline")),
      " ",
      h("a", { href: `#/device/${encodeURIComponent(order.device_id ?? "")}`, hidden: !order.device_id }, `#${order.id}`)
    ),
    h("label", { for: noteId }, t("note")),
    note,
    h(
      "div",
      { class: "actions" },
      (ACTIONS[order.status] ?? []).map((action) =>
        h("button", { type: "button", class: `action-${action}`, onclick: () => send(action) }, t(action))
      )
    )
  );
}

export async function render(container, args, site) {
  const memberId = args[0] ?? window.localStorage.getItem(CONFIG.CREW_MEMBER_KEY) ?? "";
  const focusOrder = args[1] ?? null;
  const picker = select(t("pickMember"), "member", [["", "—"], ...memberOptions(site)], memberId, (event) => {
    window.localStorage.setItem(CONFIG.CREW_MEMBER_KEY, event.target.value);
    window.location.hash = `#/crew/${encodeURIComponent(event.target.value)}`;
  });
  const list = h("section", { class: "orders", "aria-live": "polite" });
  const status = h("p", { class: "muted", role: "status" });
  container.replaceChildren(h("div", { class: "crew" }, picker, status, list));
  if (!memberId) return null;
  const draw = async (done) => {
    const [{ body: orders }, devices] = await Promise.all([
      apiGet(`workorders${query({ assignee: memberId, status: CONFIG.OPEN_ORDER_STATES, limit: CONFIG.PAGE_SIZE })}`),
      loadDevices(),
    ]);
    orders.sort(byDeadline);
    status.textContent = done ?? "";
    list.replaceChildren(
      ...(orders.length ? orders.map((o) => orderCard(o, site, devices, memberId, draw)) : [h("p", null, t("noOrders"))])
    );
    // A notification links to #/crew/<member>/<order id>: bring that order into view.
    const linked = focusOrder && list.querySelector(`[data-order-id="${CSS.escape(focusOrder)}"]`);
    if (linked) {
      linked.classList.add("linked");
      linked.scrollIntoView({ block: "center" });
    }
  };
  await draw();
  return { refresh: () => draw() };
}
