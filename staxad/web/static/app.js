// The staxad dashboard: every figure on these pages comes from the public API (/api/v1),
// asked with the API key the user signed in with. The key stays in this tab's
// sessionStorage and travels only in the Authorization header. Pages are built with DOM
// calls and text nodes, never from HTML strings, so nothing the API returns (a tenant
// name, a log line) can become markup or script.
"use strict";

const KEY = "staxa.key";
const STAGES = ["provision", "build", "deploy", "route", "health", "ready"];
const RUNNING = new Set(["queued", "building", "deploying", "cancelling"]);
const MAX_LINES = 500;
// Which section of the tenant page an event's kind (the part before the dot) changes.
const EVENT_PARTS = { env: "env", domain: "domains", network_rule: "rules" };

// ---- DOM -------------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const $ = (id) => document.getElementById(id);
const main = () => $("main");

function link(url, text) {
  // Only web addresses become links: never a javascript: or data: URL.
  return /^https?:\/\//.test(url || "") ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, text || url) : text || "";
}

function badge(status) {
  return h("span", { class: `badge ${status || "unknown"}`, "data-status": status }, status || "unknown");
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

function table(id, columns, rows, empty) {
  if (!rows.length) return h("p", { class: "empty", id }, empty);
  return h(
    "table",
    { id },
    h("thead", {}, h("tr", {}, columns.map(([title]) => h("th", {}, title)))),
    h("tbody", {}, rows.map((row) => h("tr", { "data-key": row.id }, columns.map(([, cell]) => h("td", {}, cell(row)))))),
  );
}

// A refresh that changes nothing keeps the nodes on the page, so a click (or a selection)
// under way on them is not lost to a list redrawn every few seconds. Rows carry their
// record's id, so equal markup means the same records behind each button.
function replace(id, node) {
  const old = $(id);
  if (old && !old.isEqualNode(node)) old.replaceWith(node);
}

function notice(text, kind = "error") {
  const box = $("notice");
  box.replaceChildren(text ? h("div", { class: `notice ${kind}`, role: "alert" }, text) : "");
}

// ---- API -------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, error) {
    const fields = error.details && error.details.fields;
    const said = fields ? Object.entries(fields).map(([field, why]) => `${field}: ${why}`) : [];
    super([error.message || `HTTP ${status}`, ...said].join(" — "));
    this.status = status;
  }
}

function authorization() {
  return { Authorization: `Bearer ${sessionStorage.getItem(KEY)}` };
}

async function api(method, path, body) {
  const headers = authorization();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  await checked(response);
  if (response.status === 204) return null;
  return response.json().catch(() => ({}));
}

// A refused key signs the tab out, whichever request found it out (a JSON call, a log,
// a stream); any other refusal is thrown as the API's error envelope.
async function checked(response) {
  if (response.status === 401) {
    sessionStorage.removeItem(KEY);
    signIn("The key was refused (expired, revoked or mistyped): sign in again.");
    throw new ApiError(401, { message: "signed out" });
  }
  if (!response.ok) {
    const payload = await response.json().catch(() => ({}));
    throw new ApiError(response.status, payload.error || {});
  }
  return response;
}

async function text(path) {
  const response = await fetch(`/api/v1${path}`, { headers: authorization(), cache: "no-store" });
  return (await checked(response)).text();
}

// An SSE stream read with fetch (EventSource cannot send a header). Calls onEvent for
// each event until the stream ends or `signal` aborts it.
async function stream(path, headers, onEvent, signal) {
  const response = await fetch(`/api/v1${path}`, {
    headers: { ...authorization(), Accept: "text/event-stream", ...headers },
    signal,
    cache: "no-store",
  });
  await checked(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = { data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, cut).replace(/\r$/, "");
      buffer = buffer.slice(cut + 1);
      if (line === "") {
        if (event.data.length) onEvent({ id: event.id, type: event.type || "message", data: event.data.join("\n") });
        event = { data: [] };
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "data") event.data.push(text);
        else if (field === "event") event.type = text;
        else if (field === "id") event.id = text;
      }
    }
  }
}

// Every open stream, closed when the page is left: a browser holds six connections per
// server, and a stream kept by a page in the back/forward cache would take one for good.
const STREAMS = new Set();
window.addEventListener("pagehide", () => STREAMS.forEach((controller) => controller.abort()));
window.addEventListener("pageshow", (event) => event.persisted && location.reload());

// Keeps a stream open: reconnects after a pause when it ends or fails.
function follow(open, state) {
  const controller = new AbortController();
  STREAMS.add(controller);
  (async () => {
    while (!controller.signal.aborted) {
      try {
        state.textContent = "following";
        await open(controller.signal);
        state.textContent = "reconnecting";
      } catch (error) {
        if (controller.signal.aborted) return;
        if (error instanceof ApiError && error.status === 404) return;
        state.textContent = `${error.message}; trying again`;
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  })();
  return controller;
}

// ---- Forms -----------------------------------------------------------------------

function field(label, input) {
  return h("label", {}, h("span", {}, label), input);
}

// Runs a user's action with its control disabled meanwhile; its error shows in the
// page's notice (a refused key has already sent the user to sign in).
async function guarded(control, action) {
  control.disabled = true;
  try {
    await action();
    notice("");
  } catch (error) {
    if (error.status !== 401) notice(error.message);
  } finally {
    control.disabled = false;
  }
}

// A form whose submit runs `action` with its values.
function form(id, children, submit, action) {
  const el = h("form", { id }, children, h("button", { type: "submit" }, submit));
  el.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(el).entries());
    guarded(el.querySelector("button[type=submit]"), () => action(values, el));
  });
  return el;
}

function button(label, action, attrs = {}) {
  return h("button", { type: "button", ...attrs, onclick: (event) => guarded(event.target, action) }, label);
}

// ---- Pages -----------------------------------------------------------------------

function page(...children) {
  main().replaceChildren(h("div", { id: "notice" }), ...children);
}

function signIn(message) {
  $("nav").replaceChildren();
  page(
    h("h1", {}, "Sign in"),
    h("p", {}, "Paste an API key (sk_live_… or sk_test_…). It is kept in this browser tab only and sent as an Authorization header; closing the tab forgets it."),
    form("sign-in", [field("API key", h("input", { name: "key", type: "password", autocomplete: "off", required: true }))], "Sign in", async ({ key }) => {
      sessionStorage.setItem(KEY, key.trim());
      await api("GET", "/tenants?limit=1");
      start();
    }),
  );
  if (message) notice(message);
}

function navigation() {
  $("nav").replaceChildren(
    h("a", { href: "/" }, "Tenants"),
    h("a", { href: "/new" }, "New tenant"),
    button("Sign out", async () => {
      sessionStorage.removeItem(KEY);
      signIn("Signed out.");
    }, { id: "sign-out" }),
  );
}

async function tenantsPage() {
  page(h("h1", {}, "Tenants"), h("p", {}, h("a", { href: "/new", class: "action" }, "New tenant")), h("p", { id: "tenants" }, "Loading…"));
  const columns = [
    ["Name", (t) => h("a", { href: `/t/${encodeURIComponent(t.id)}` }, t.display_name || t.name)],
    ["Status", (t) => badge(t.status)],
    ["URL", (t) => link(t.url)],
    ["Created", (t) => when(t.created_at)],
  ];
  const refresh = async () => {
    const { data } = await api("GET", "/tenants?limit=100");
    replace("tenants", table("tenants", columns, data, "No tenants yet: create one."));
  };
  await refresh();
  setInterval(() => refresh().catch((error) => notice(error.message)), 5000);
}

async function newPage() {
  const templates = (await api("GET", "/templates")).data;
  const source = h("select", { name: "source_type" }, h("option", { value: "image" }, "Container image"), h("option", { value: "github" }, "Git repository"));
  const template = h("select", { name: "template_id" }, h("option", { value: "" }, "none"), templates.map((t) => h("option", { value: t.id }, `${t.name} (${t.framework})`)));
  page(
    h("h1", {}, "New tenant"),
    form("create", [
      field("Name", h("input", { name: "name", required: true, pattern: "[a-z0-9]([a-z0-9-]*[a-z0-9])?", placeholder: "acme-web" })),
      field("Template", template),
      field("Source", source),
      field("Image", h("input", { name: "image_url", placeholder: "registry.example/team/app:1.2" })),
      field("Repository", h("input", { name: "repo_url", placeholder: "https://git.example/team/app" })),
      field("Branch", h("input", { name: "branch", placeholder: "main" })),
      field("Port", h("input", { name: "port", type: "number", min: 1, max: 65535, placeholder: "3000" })),
    ], "Create and deploy", async (values) => {
      const body = { name: values.name };
      if (values.template_id) body.template_id = values.template_id;
      if (values.image_url || values.repo_url || !values.template_id) {
        body.source_type = values.source_type;
        if (values.source_type === "image") body.image_url = values.image_url;
        else body.repo_url = values.repo_url;
      }
      if (values.branch) body.branch = values.branch;
      if (values.port) body.port = Number(values.port);
      const { data } = await api("POST", "/tenants", body);
      location.assign(`/t/${encodeURIComponent(data.id)}`);
    }),
  );
}

// GitHub sends the browser here after the app is installed (set this page's URL as the
// app's callback URL): the installation id, the one-time code and the state go straight
// from the query string into the API call, with this tab's key, and are then dropped
// from the URL. staxad refuses a state made for another key (a link someone sent).
async function githubCallbackPage() {
  const query = new URLSearchParams(location.search);
  const installation = Number(query.get("installation_id"));
  const code = query.get("code") || undefined;
  const state = query.get("state") || undefined; // GitHub hands back the state this tab's key was given
  page(h("h1", {}, "GitHub installation"), h("p", { id: "github-result" }, "Registering…"));
  let said;
  try {
    const { data } = await api("POST", "/github/installation", { installation_id: installation, code, state });
    said = h("p", { id: "github-result" }, `Installation ${data.installation_id} of ${data.account} is registered: pushes to its repositories now deploy.`);
  } catch (error) {
    if (error.status === 401) return; // signing in again comes back here, the query intact
    said = h("p", { id: "github-result", class: "notice error" }, error.message);
  }
  history.replaceState(null, "", location.pathname); // the code is spent either way
  replace("github-result", said);
}

// ---- The tenant page -------------------------------------------------------------

function progress(deployment) {
  if (!RUNNING.has(deployment.status)) return badge(deployment.status);
  const at = Math.max(0, STAGES.indexOf(deployment.stage));
  return h("span", { class: "progress" }, h("progress", { max: STAGES.length, value: at }), ` ${deployment.stage || deployment.status}`);
}

function records(tenantId, d) {
  if (d.verified) return h("span", {}, "verified");
  const want = d.verification || {};
  return h(
    "div",
    { class: "records" },
    h("div", {}, "Create one of these records, then verify:"),
    h("code", {}, `TXT ${want.txt_name} "${want.txt_value}"`),
    h("code", {}, `CNAME ${d.domain} → ${want.cname}`),
    (want.a || []).map((address) => h("code", {}, `A ${d.domain} → ${address}`)),
    d.check_error ? h("div", { class: "hint" }, d.check_error) : null,
  );
}

class TenantPage {
  constructor(id) {
    this.id = id;
    this.base = `/tenants/${encodeURIComponent(id)}`;
    this.pending = null;
  }

  async open() {
    const { data } = await api("GET", this.base);
    this.tenant = data;
    page(
      h("div", { id: "summary" }),
      h("div", { class: "actions" },
        button("Deploy", () => this.act("POST", "/deploy"), { id: "deploy" }),
        button("Restart", () => this.act("POST", "/restart"), { id: "restart" }),
        button("Stop", () => this.act("POST", "/stop"), { id: "stop" }),
        button("Start", () => this.act("POST", "/start"), { id: "start" }),
        button("Delete…", () => this.confirmDelete(), { id: "delete", class: "danger" }),
      ),
      h("div", { id: "confirm" }),
      this.section("Services", "services"),
      this.section("Deployments", "deployments", h("div", { id: "build-log" })),
      this.section("Logs", null, h("p", { class: "hint", id: "logs-state" }), h("pre", { id: "logs", class: "logs" })),
      this.section("Events", null, h("p", { class: "hint", id: "events-state" }), h("ol", { id: "events", class: "events" })),
      this.section("Environment", "env", this.envForm()),
      this.section("Domains", "domains", this.domainForm()),
      this.section("Network rules", "rules", this.ruleForm()),
    );
    this.showSummary();
    await this.refresh();
    this.events = follow((signal) => this.followEvents(signal), $("events-state"));
    this.logs = follow((signal) => this.followLogs(signal), $("logs-state"));
  }

  section(title, id, ...extra) {
    return h("section", {}, h("h2", {}, title), id ? h("p", { id }, "Loading…") : null, ...extra);
  }

  // An action on the tenant; `part` is the section it changes besides the tenant itself.
  async act(method, path, body, part) {
    await api(method, this.base + path, body);
    this.soon(part);
  }

  confirmDelete() {
    const name = this.tenant.name;
    $("confirm").replaceChildren(
      form("confirm-delete", [
        h("p", {}, `Deleting ${name} removes its containers, volumes, domains and rules. Type its name to go on.`),
        field("Name", h("input", { name: "name", required: true, autocomplete: "off" })),
      ], "Delete for good", async (values) => {
        if (values.name !== name) throw new Error(`That is not "${name}"; nothing was deleted.`);
        await api("DELETE", this.base);
        location.assign("/");
      }),
    );
    $("confirm").querySelector("input").focus();
  }

  showSummary() {
    const t = this.tenant;
    replace("summary", h("div", { id: "summary" },
      h("h1", {}, t.display_name || t.name, " ", badge(t.status)),
      t.status_reason ? h("p", { class: "hint", id: "status-reason" }, t.status_reason) : null,
      h("p", {}, h("span", { id: "url" }, link(t.url)), ` · ${t.id} · created ${when(t.created_at)}`),
    ));
  }

  // Events come in bursts: one refresh per burst, of the tenant and its deployments and of
  // only the sections the burst touched (each request counts against the key's rate limit).
  soon(part) {
    this.wanted = this.wanted || new Set();
    if (part) this.wanted.add(part);
    clearTimeout(this.pending);
    this.pending = setTimeout(() => {
      const parts = this.wanted;
      this.wanted = new Set();
      this.refresh(parts).catch((error) => notice(error.message));
    }, 300);
  }

  async refresh(parts = new Set(Object.keys(this.sections()))) {
    const sections = this.sections();
    const wanted = [...parts].filter((part) => part in sections);
    const [tenant, deployments, ...answers] = await Promise.all([
      api("GET", this.base),
      api("GET", `${this.base}/deployments?limit=20`),
      ...wanted.map((part) => api("GET", this.base + sections[part].path)),
    ]);
    this.tenant = tenant.data;
    this.showSummary();
    this.showServices(this.tenant.services);
    this.showDeployments(deployments.data);
    wanted.forEach((part, index) => sections[part].show(answers[index].data));
  }

  sections() {
    return {
      env: { path: "/env", show: (data) => this.showEnv(data) },
      domains: { path: "/domains", show: (data) => this.showDomains(data.domains || []) },
      rules: { path: "/network-rules", show: (data) => this.showRules(data) },
    };
  }

  showServices(services) {
    replace("services", table("services", [
      ["Name", (s) => s.name],
      ["Status", (s) => badge(s.status)],
      ["Wanted", (s) => s.desired_state],
      ["Source", (s) => s.image_url || `${s.repo_url || ""}${s.branch ? ` (${s.branch})` : ""}`],
      ["Port", (s) => s.port],
    ], services, "No services."));
  }

  showDeployments(deployments) {
    const live = new Set();
    const seen = new Set();
    for (const d of deployments) {
      if (d.status === "succeeded" && !seen.has(d.service_name)) live.add(d.id);
      if (d.status === "succeeded") seen.add(d.service_name);
    }
    replace("deployments", table("deployments", [
      ["Service", (d) => d.service_name],
      ["Status", (d) => progress(d)],
      ["Commit", (d) => (d.commit_sha ? `${d.commit_sha.slice(0, 10)} ${d.commit_message || ""}` : d.image || "")],
      ["Created", (d) => when(d.created_at)],
      ["", (d) => [
        d.reason ? h("span", { class: "hint" }, d.reason) : null,
        d.status === "succeeded" && !live.has(d.id)
          ? button("Roll back to this", () => this.act("POST", `/deployments/${encodeURIComponent(d.id)}/rollback`), { class: "rollback" })
          : null,
        d.commit_sha ? button("Build log", () => this.showBuildLog(d), { class: "build-log" }) : null,
        RUNNING.has(d.status) && d.status !== "cancelling"
          ? button("Cancel", () => this.act("POST", `/deployments/${encodeURIComponent(d.id)}/cancel`))
          : null,
      ]],
    ], deployments, "No deployments yet."));
  }

  async showBuildLog(d) {
    const log = await text(`${this.base}/deployments/${encodeURIComponent(d.id)}/logs`);
    replace("build-log", h("div", { id: "build-log" },
      h("h3", {}, `Build log of ${d.service_name} at ${d.commit_sha.slice(0, 10)}`),
      h("pre", { class: "logs" }, log || "(empty)")));
  }

  showEnv(variables) {
    replace("env", table("env", [
      ["Key", (v) => h("code", {}, v.key)],
      ["Value", (v) => h("code", {}, v.value)],
      ["", (v) => button("Remove", () => this.act("DELETE", `/env/${encodeURIComponent(v.key)}`, undefined, "env"))],
    ], variables, "No variables."));
  }

  envForm() {
    return form("env-form", [
      field("Key", h("input", { name: "key", required: true, placeholder: "DATABASE_URL" })),
      field("Value", h("input", { name: "value", type: "password", autocomplete: "off" })),
      field("Secret", h("input", { name: "is_secret", type: "checkbox", value: "yes" })),
    ], "Set (applies on the next deploy)", async (values, el) => {
      const body = { value: values.value || "" };
      if (values.is_secret) body.is_secret = true;
      await this.act("PUT", `/env/${encodeURIComponent(values.key)}`, body, "env");
      el.reset();
    });
  }

  showDomains(domains) {
    replace("domains", table("domains", [
      ["Domain", (d) => d.domain],
      ["Verified", (d) => records(this.id, d)],
      ["TLS", (d) => badge(d.ssl_status)],
      ["", (d) => [
        d.verified ? null : button("Verify", () => this.act("POST", `/domains/${encodeURIComponent(d.id)}/verify`, undefined, "domains")),
        button("Remove", () => this.act("DELETE", `/domains/${encodeURIComponent(d.id)}`, undefined, "domains")),
      ]],
    ], domains, "No custom domains."));
  }

  domainForm() {
    return form("domain-form", [field("Domain", h("input", { name: "domain", required: true, placeholder: "app.example.com" }))], "Add domain", async (values, el) => {
      await this.act("POST", "/domains", { domain: values.domain }, "domains");
      el.reset();
    });
  }

  showRules(rules) {
    replace("rules", table("rules", [
      ["Direction", (r) => r.direction],
      ["Protocol", (r) => r.protocol],
      ["Where", (r) => (r.direction === "inbound"
        ? `${(r.source_cidrs || []).join(", ")} → ${r.target_service || ""}:${r.target_port || ""}${r.allocated_port ? ` (host port ${r.allocated_port})` : ""}`
        : `→ ${(r.destination_cidrs || []).join(", ")}${r.destination_port ? `:${r.destination_port}` : ""}`)],
      ["", (r) => button("Remove", () => this.act("DELETE", `/network-rules/${encodeURIComponent(r.id)}`, undefined, "rules"))],
    ], rules, "No network rules."));
  }

  ruleForm() {
    const direction = h("select", { name: "direction" }, h("option", { value: "inbound" }, "inbound"), h("option", { value: "outbound" }, "outbound"));
    const protocol = h("select", { name: "protocol" }, h("option", { value: "tcp" }, "tcp"), h("option", { value: "udp" }, "udp"));
    const services = h("select", { name: "service" }, this.tenant.services.map((svc) => h("option", { value: svc.name }, svc.name)));
    return form("rule-form", [
      field("Direction", direction),
      field("Service (inbound)", services),
      field("Protocol", protocol),
      field("CIDRs", h("input", { name: "cidrs", required: true, placeholder: "203.0.113.0/24" })),
      field("Port", h("input", { name: "port", type: "number", min: 1, max: 65535 })),
    ], "Add rule", async (values, el) => {
      const cidrs = values.cidrs.split(/[\s,]+/).filter(Boolean);
      const port = values.port ? Number(values.port) : undefined;
      const body = values.direction === "inbound"
        ? { direction: "inbound", protocol: values.protocol, target_service: values.service, source_cidrs: cidrs, target_port: port }
        : { direction: "outbound", protocol: values.protocol, destination_cidrs: cidrs, destination_port: port };
      await this.act("POST", "/network-rules", body, "rules");
      el.reset();
    });
  }

  async followEvents(signal) {
    const list = $("events");
    const headers = this.lastEvent ? { "Last-Event-ID": this.lastEvent } : {};
    await stream(`${this.base}/events`, headers, (event) => {
      this.lastEvent = event.id;
      const payload = JSON.parse(event.data);
      const where = [payload.service, payload.stage].filter(Boolean).join(" ");
      list.prepend(h("li", { "data-type": payload.type }, h("time", {}, when(payload.timestamp)), ` ${payload.type} `, where ? h("b", {}, where) : null, ` ${payload.message}`));
      while (list.children.length > MAX_LINES) list.lastChild.remove();
      if (payload.type === "tenant.deleted") {
        notice("This tenant was deleted.", "warning");
        this.logs.abort();
        this.events.abort();
        return;
      }
      this.soon(EVENT_PARTS[payload.type.split(".")[0]]);
    }, signal);
  }

  async followLogs(signal) {
    const pre = $("logs");
    await stream(`${this.base}/logs?follow=true&lines=100`, {}, (event) => {
      pre.append(`${event.data}\n`);
      while (pre.childNodes.length > MAX_LINES) pre.firstChild.remove();
      pre.scrollTop = pre.scrollHeight;
    }, signal);
  }
}

// ---- Start -----------------------------------------------------------------------

function start() {
  if (!sessionStorage.getItem(KEY)) {
    signIn();
    return;
  }
  navigation();
  const name = document.body.dataset.page;
  const opened =
    name === "tenant" ? new TenantPage(decodeURIComponent(location.pathname.split("/")[2])).open()
    : name === "new" ? newPage()
    : name === "github-callback" ? githubCallbackPage()
    : tenantsPage();
  opened.catch((error) => {
    if (error.status === 401) return;
    page(h("h1", {}, "Something went wrong"), h("p", { class: "notice error" }, error.message), h("a", { href: "/" }, "Back to the tenants"));
  });
}

document.addEventListener("DOMContentLoaded", start);
