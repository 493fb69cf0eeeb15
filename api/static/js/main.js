// Entry point: sign-in, navigation, language toggle and hash routing to the views.
import { CONFIG } from "./config.js";
import { ApiError, forgetDevices, forgetSite, forgetToken, loadSite, readToken, saveToken } from "./api.js";
import { $, showMessage } from "./dom.js";
import { currentLanguage, localName, setSiteLanguage, t, toggleLanguage } from "./i18n.js";
import { onChange, startLive, stopLive } from "./live.js";
import * as board from "./views/board.js";
import * as crew from "./views/crew.js";
import * as device from "./views/device.js";
import * as ledger from "./views/ledger.js";
import * as manager from "./views/manager.js";

const VIEWS = { board, crew, manager, ledger, device };
const DEFAULT_VIEW = "board";

let refreshTimer = null;
let current = null;
let currentRefresh = null;

// "#/board/grid/ssc-g01" → { name: "board", args: ["grid", "ssc-g01"] }
function parseHash() {
  const parts = window.location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const name = parts[0] in VIEWS ? parts[0] : DEFAULT_VIEW;
  return { name, args: parts[0] in VIEWS ? parts.slice(1) : [] };
}

function reportError(error) {
  if (error instanceof ApiError && error.status === 401) {
    signOut(t("signInFailed", { error: error.message }));
  } else {
    showMessage(error instanceof ApiError ? error.message : t("unreachable", { error: error.message }));
  }
}

function translateChrome() {
  document.documentElement.lang = currentLanguage() === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  $("language").textContent = t("language");
}

async function route() {
  if (!readToken()) return;
  const { name, args } = parseHash();
  for (const link of document.querySelectorAll("nav a")) {
    link.toggleAttribute("aria-current", link.dataset.view === name);
  }
  const container = $("view");
  const token = Symbol(name);
  current = token;
  currentRefresh = null;
  onChange(null);
  try {
    const site = await loadSite();
    setSiteLanguage(site.language);
    translateChrome();
    $("site-name").textContent = localName(site.street.name);
    const view = await VIEWS[name].render(container, args, site);
    if (current !== token) return; // the user moved on meanwhile
    const refresh = async () => {
      try {
        await view?.refresh?.();
        showMessage("");
      } catch (error) {
        reportError(error);
      }
    };
    currentRefresh = view?.refresh ? refresh : null;
    onChange(currentRefresh);
    showMessage("");
  } catch (error) {
    reportError(error);
  }
}

function showApp(signedIn) {
  $("login").hidden = signedIn;
  $("app").hidden = !signedIn;
  $("sign-out").hidden = !signedIn;
  $("nav").hidden = !signedIn;
}

function signOut(reason) {
  forgetToken();
  forgetSite();
  forgetDevices();
  stopLive();
  if (refreshTimer !== null) window.clearInterval(refreshTimer);
  refreshTimer = null;
  showMessage(reason ?? "");
  showApp(false);
  $("token-input").focus();
}

function signIn() {
  showApp(true);
  startLive();
  // Device states can change without a work-order event; re-read now and then as well.
  refreshTimer ??= window.setInterval(() => currentRefresh?.(), CONFIG.BOARD_REFRESH_MS);
  route();
}

function start() {
  translateChrome();
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token-input").value.trim();
    if (!token) return;
    saveToken(token);
    $("token-input").value = "";
    showMessage("");
    signIn();
  });
  $("sign-out").addEventListener("click", () => signOut());
  $("language").addEventListener("click", () => {
    toggleLanguage();
    translateChrome();
    route();
  });
  window.addEventListener("hashchange", route);
  if (readToken()) signIn();
  else signOut();
}

document.addEventListener("DOMContentLoaded", start);
