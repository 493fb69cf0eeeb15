// Every string the interface shows, in Simplified Chinese and English, and the language switch.
import { CONFIG } from "./config.js";

const STRINGS = {
  zh: {
    title: "设施监测", board: "街道看板", crew: "网格员", manager: "管理", ledger: "工单台账",
    signIn: "登录", signOut: "退出", token: "管理员令牌", tokenHint: "令牌只保存在本标签页（会话存储），以 Authorization: Bearer 发送到本服务器。",
    needsJs: "本页面需要启用 JavaScript。", unreachable: "无法连接服务（{error}），正在重试。",
    signInFailed: "登录失败：{error}", language: "English", updated: "更新于 {time}",
    street: "街道", communities: "社区", grids: "网格", buildings: "楼栋", map: "楼栋示意图",
    openOrders: "未完成工单", overdue: "超时", critical: "危急", devices: "设备", faulty: "故障", offline: "离线",
    colour_green: "正常", colour_yellow: "关注", colour_red: "告警",
    back: "返回", allCommunities: "全部社区", device: "设备", status: "状态", type: "类型",
    pickMember: "选择本人", noOrders: "没有未完成的工单。", due: "期限 {time}", noDeadline: "无期限",
    note: "备注", ack: "确认接单", start: "开始处理", resolve: "已修复", done: "已提交：{action}",
    conflict: "工单 #{id} 已被他人处理（{detail}），列表已刷新。", assignedTo: "负责人",
    scope: "范围", period: "时段", from: "从", to: "到", apply: "查询", availability: "可用率",
    uptimeChart: "可用率（按日）", householdHours: "户·小时停用", teamLeague: "团队排行",
    outages: "停用记录", duration: "时长", mtta: "平均响应", mttr: "平均修复", sla: "SLA 达标",
    resolvedAtGrid: "网格内解决", ordersRaised: "工单数", firstTimeFix: "一次修好", households: "户数",
    notYet: "该报表尚未提供（{detail}）。", noData: "暂无数据",
    filters: "筛选", tier: "层级", any: "全部", downloadCsv: "下载 CSV", shown: "显示 {shown} / 共 {total} 条",
    created: "创建", fault: "故障", severity: "级别", team: "团队", order: "工单",
    building: "楼栋", location: "位置", openFaults: "当前故障", none: "无", metric: "指标",
    latest: "最新读数", charts: "历史曲线", inject: "注入故障", recover: "恢复", simulation: "演示：模拟故障",
    injected: "已发送：{code} {action}", responsible: "责任人", mean: "平均", min: "最小", max: "最大",
    notFound: "找不到 {what}。", lastSeen: "最后上报", prev: "上一页", next: "下一页",
  },
  en: {
    title: "facility monitor", board: "Street board", crew: "Crew", manager: "Manager", ledger: "Ledger",
    signIn: "Sign in", signOut: "Sign out", token: "Admin token", tokenHint: "The token is kept only in this browser tab (session storage) and sent as Authorization: Bearer to this server.",
    needsJs: "This page needs JavaScript enabled.", unreachable: "Cannot reach the service ({error}); retrying.",
    signInFailed: "Sign-in failed: {error}", language: "中文", updated: "Updated {time}",
    street: "Street", communities: "Communities", grids: "Grids", buildings: "Buildings", map: "Building map",
    openOrders: "Open orders", overdue: "Overdue", critical: "Critical", devices: "Devices", faulty: "Faulty", offline: "Offline",
    colour_green: "all well", colour_yellow: "attention", colour_red: "alarm",
    back: "Back", allCommunities: "All communities", device: "Device", status: "Status", type: "Type",
    pickMember: "I am", noOrders: "No open work orders.", due: "due {time}", noDeadline: "no deadline",
    note: "Note", ack: "Acknowledge", start: "Start", resolve: "Resolved", done: "Sent: {action}",
    conflict: "Order #{id} was already handled by someone else ({detail}); the list is refreshed.", assignedTo: "Assignee",
    scope: "Scope", period: "Period", from: "From", to: "To", apply: "Show", availability: "Availability",
    uptimeChart: "Availability per day", householdHours: "Household-hours lost", teamLeague: "Team league",
    outages: "Outages", duration: "Duration", mtta: "MTTA", mttr: "MTTR", sla: "SLA met",
    resolvedAtGrid: "Resolved in grid", ordersRaised: "Orders", firstTimeFix: "First-time fix", households: "Households",
    notYet: "This report is not available yet ({detail}).", noData: "No data",
    filters: "Filters", tier: "Tier", any: "any", downloadCsv: "Download CSV", shown: "Showing {shown} of {total}",
    created: "Created", fault: "Fault", severity: "Severity", team: "Team", order: "Order",
    building: "Building", location: "Location", openFaults: "Open faults", none: "none", metric: "Metric",
    latest: "Latest reading", charts: "History", inject: "Inject fault", recover: "Recover", simulation: "Demo: simulated faults",
    injected: "Sent: {code} {action}", responsible: "Responsible", mean: "mean", min: "min", max: "max",
    notFound: "{what} not found.", lastSeen: "Last seen", prev: "Previous", next: "Next",
  },
};

// Words the API sends as codes: statuses, tiers, severities, fault codes, facility types.
const TERMS = {
  zh: {
    ok: "正常", fault: "故障", offline: "离线", open: "待接单", acknowledged: "已接单", in_progress: "处理中",
    resolved: "已修复", closed: "已关闭", cancelled: "已取消", grid: "网格", community: "社区", street: "街道",
    minor: "一般", major: "严重", critical: "危急", corridor_light: "楼道灯", pipe: "水管", charging_shed: "充电棚",
    short_circuit: "短路", lamp_failure: "灯具损坏", no_power: "断电", burst: "爆管", leak: "漏水", blockage: "堵塞",
    low_pressure: "水压低", freeze_risk: "冻管风险", smoke: "烟雾", overheat: "过热", overload: "过载",
    breaker_trip: "跳闸", port_fault: "端口故障", device: "设备", building: "楼栋",
  },
  en: {
    in_progress: "in progress", corridor_light: "corridor light", charging_shed: "charging shed",
    short_circuit: "short circuit", lamp_failure: "lamp failure", no_power: "no power", low_pressure: "low pressure",
    freeze_risk: "freeze risk", breaker_trip: "breaker trip", port_fault: "port fault",
  },
};

let language = window.localStorage.getItem(CONFIG.LANGUAGE_KEY);

export const currentLanguage = () => language ?? CONFIG.DEFAULT_LANGUAGE;

// The site file's language applies until the user picks one.
export function setSiteLanguage(siteLanguage) {
  if (!window.localStorage.getItem(CONFIG.LANGUAGE_KEY) && siteLanguage in STRINGS) language = siteLanguage;
}

export function toggleLanguage() {
  language = currentLanguage() === "zh" ? "en" : "zh";
  window.localStorage.setItem(CONFIG.LANGUAGE_KEY, language);
  document.documentElement.lang = language === "zh" ? "zh-CN" : "en";
}

export function t(key, params = {}) {
  const text = STRINGS[currentLanguage()][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

// A code from the API in words ("in_progress" → "处理中" / "in progress").
export const term = (code) => (code ? TERMS[currentLanguage()][code] ?? code.replaceAll("_", " ") : "");

// Site names carry both languages as "English (中文)": show the reader's half.
export function localName(name) {
  const match = /^(.*?)\s*\(([^()]*[\u3400-\u9fff][^()]*)\)$/.exec(name ?? "");
  if (!match) return name ?? "";
  return currentLanguage() === "zh" ? match[2] : match[1];
}

export const formatTime = (iso) =>
  iso ? new Date(iso).toLocaleString(currentLanguage() === "zh" ? "zh-CN" : "en-GB") : "";

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = seconds / 3600;
  return hours < 48 ? `${hours.toFixed(1)} h` : `${(hours / 24).toFixed(1)} d`;
}

export const formatPercent = (share) =>
  share === null || share === undefined ? "–" : `${(share * 100).toFixed(2)} %`;
