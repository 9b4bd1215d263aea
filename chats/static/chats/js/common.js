// What the pages share: building DOM (user text only ever goes in as text), the REST client with
// the session and its CSRF token, the socket with reconnection, and small presentational helpers.

// --- DOM -----------------------------------------------------------------------------------------

export const $ = (selector, root = document) => root.querySelector(selector);

// h("li", {class: "x", text: userText, onclick: fn, "data-seq": 3}, child, "more text")
// Strings become text nodes and `text` sets textContent: nothing here ever parses HTML.
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

export function initials(name) {
  const words = String(name || "?").trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[words.length - 1][0] : (words[0] || "?").slice(0, 2);
  return letters.toUpperCase();
}

export function avatar(name, id, { status = null, small = false } = {}) {
  const node = h("span", { class: `avatar hue-${Math.abs(Number(id) || 0) % 8}${small ? " small" : ""}`, "aria-hidden": "true" }, initials(name));
  if (status) node.append(presenceDot(status));
  return node;
}

export function presenceDot(status) {
  return h("span", { class: `dot ${status || "offline"}`, title: status || "offline" });
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// --- Time ----------------------------------------------------------------------------------------

const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayMonth = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const withSeconds = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

// "14:05" today, "Mar 3" before: for lists.
export function shortTime(iso) {
  const date = new Date(iso);
  return sameDay(date, new Date()) ? clock.format(date) : dayMonth.format(date);
}

// "14:05" today, "Mar 3, 14:05" before: under a message.
export function messageTime(iso) {
  const date = new Date(iso);
  return sameDay(date, new Date()) ? clock.format(date) : `${dayMonth.format(date)}, ${clock.format(date)}`;
}

// "29 Nov 2026, 14:05", with the seconds only where they are not zero.
export function fullTime(iso) {
  const date = new Date(iso);
  return (date.getSeconds() ? withSeconds : full).format(date);
}

export function timeElement(iso, text) {
  return h("time", { datetime: iso, title: fullTime(iso) }, text);
}

// --- REST ----------------------------------------------------------------------------------------

// The csrftoken cookie first: it follows a sign-in in another tab, which changes the token; the
// page's meta tag is the fallback where the cookie cannot be read.
export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

export function loginUrl() {
  return `/login/?next=${encodeURIComponent(location.pathname)}`;
}

export function describeError(data) {
  if (data === null || data === undefined) return "";
  if (typeof data === "string") return data;
  if (Array.isArray(data)) return data.map(describeError).join(" ");
  if (typeof data === "object") {
    if ("detail" in data) return describeError(data.detail);
    return Object.entries(data)
      .map(([field, value]) => (field === "non_field_errors" ? "" : `${field.replace(/_/g, " ")}: `) + describeError(value))
      .join(" ");
  }
  return String(data);
}

export class ApiError extends Error {
  constructor(status, data) {
    super(describeError(data) || `The server answered ${status}.`);
    this.status = status;
    this.data = data;
  }
}

// JSON over fetch with the session cookie. Unsafe methods carry X-CSRFToken. A 401 means the
// session ended: off to the sign-in page.
export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD") headers["X-CSRFToken"] = csrfToken();
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      cache: "no-store", // never an old list from the HTTP cache (going back to a page uses it)
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { detail: "The server could not be reached. Check your connection." });
  }
  if (response.status === 401) {
    location.assign(loginUrl());
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// Every page of a cursor-paginated list, up to `pages` pages.
export async function apiAll(path, pages = 10) {
  const results = [];
  let next = path;
  for (let n = 0; next && n < pages; n += 1) {
    const data = await api(next);
    results.push(...data.results);
    const url = data.next ? new URL(data.next, location.href) : null;
    next = url ? url.pathname + url.search : null;
  }
  return results;
}

export function newClientId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// --- The socket ----------------------------------------------------------------------------------

const STATE_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline",
  "signed-out": "Signed out",
};

const PING_EVERY_MS = 25000;
const PONG_WITHIN_MS = 10000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;

// One socket to /ws/ for the page. It authenticates with the session cookie, says when it is live
// (after `hello`), and when it drops it comes back with exponential backoff (and at once when the
// browser goes online or the tab becomes visible). The page gets every frame through onFrame and
// recovers what it missed from `hello` with `sync`.
export class ChatSocket {
  constructor({ onFrame, onState = () => {} }) {
    this.onFrame = onFrame;
    this.onState = onState;
    this.ws = null;
    this.state = "connecting";
    this.attempt = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.held = false;
    this.everLive = false;
    this.leaving = false;
    window.addEventListener("online", () => this.reconnectNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.reconnectNow();
    });
    window.addEventListener("pagehide", () => {
      this.leaving = true;
      if (this.ws) this.ws.close(1000, "page closed");
    });
    // Back to a page from the back/forward cache: connect again; the new hello makes the page
    // catch up on what it missed.
    window.addEventListener("pageshow", (event) => {
      if (!event.persisted) return;
      this.leaving = false;
      this.attempt = 0;
      this.reconnectNow();
    });
  }

  get live() {
    return this.state === "live" && this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.onState(state);
  }

  connect() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.ws) return;
    this.setState(this.everLive ? "reconnecting" : "connecting");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/`);
    this.ws = ws;
    ws.addEventListener("message", (event) => this.received(ws, event.data));
    ws.addEventListener("close", (event) => this.closed(ws, event.code));
  }

  received(ws, data) {
    if (ws !== this.ws) return;
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (frame.type === "pong") {
      clearTimeout(this.pongTimer);
      return;
    }
    if (frame.type === "hello") {
      this.attempt = 0;
      this.everLive = true;
      this.setState("live");
      this.startPinging();
    }
    this.onFrame(frame);
  }

  closed(ws, code) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.stopPinging();
    if (this.leaving) return;
    // 4401: not (or no longer) signed in; 4403: signed out or the password changed.
    if (code === 4401 || code === 4403) {
      this.setState("signed-out");
      return;
    }
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    if (this.held) {
      this.setState("offline");
      return;
    }
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
    this.attempt += 1;
    this.setState(this.everLive ? "reconnecting" : "connecting");
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.ws || this.held || this.leaving || this.state === "signed-out") return;
    this.connect();
  }

  send(frame) {
    if (!this.live) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  startPinging() {
    this.stopPinging();
    this.pingTimer = setInterval(() => {
      if (!this.send({ type: "ping" })) return;
      clearTimeout(this.pongTimer);
      // No pong: the connection is dead without having closed. Drop it and reconnect.
      this.pongTimer = setTimeout(() => this.abandon(), PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  stopPinging() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }

  abandon() {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    this.stopPinging();
    ws.close();
    this.scheduleReconnect();
  }

  // Test hooks (window.chatDebug): drop the socket as a network failure would; with hold, stay
  // down until resume().
  drop({ hold = false } = {}) {
    this.held = hold;
    if (this.ws) this.abandon();
    else if (hold) this.setState("offline");
  }

  resume() {
    this.held = false;
    this.attempt = 0;
    clearTimeout(this.retryTimer);
    this.reconnectNow();
  }
}

// Show the socket's state in the page's connection pill (#conn).
export function showConnection(state, extra = "") {
  const pill = document.getElementById("conn");
  if (!pill) return;
  pill.dataset.state = state;
  const text = document.getElementById("conn-text");
  text.textContent = STATE_TEXT[state] + (extra ? ` · ${extra}` : "");
  if (state === "signed-out") {
    text.textContent = "";
    text.append("Signed out · ", h("a", { href: loginUrl() }, "sign in"));
  }
}

// --- People search -------------------------------------------------------------------------------

// A search box that lists matching users (GET /api/users/?search=) and calls onPick(user).
export function peopleSearch({ input, results, me, exclude = () => false, actionText, onPick, compact = false }) {
  let latest = 0;
  const run = debounce(async () => {
    const query = input.value.trim();
    const ticket = ++latest;
    if (!query) {
      results.replaceChildren();
      return;
    }
    let users;
    try {
      const data = await api(`/api/users/?search=${encodeURIComponent(query)}&limit=8`);
      users = data.results;
    } catch (error) {
      if (ticket === latest) results.replaceChildren(h("li", { class: "empty-note" }, error.message));
      return;
    }
    if (ticket !== latest) return;
    const found = users.filter((user) => user.id !== me && !exclude(user));
    results.replaceChildren(
      ...(found.length
        ? found.map((user) =>
            h(
              "li",
              {},
              h(
                "button",
                { type: "button", class: "person", onclick: () => onPick(user), "data-user-id": user.id },
                avatar(user.name, user.id, { status: user.status, small: compact }),
                h("span", { class: "person-main" }, h("span", { class: "person-name" }, user.name), h("span", { class: "person-sub" }, `@${user.login}`)),
                h("span", { class: "person-action" }, actionText),
              ),
            ),
          )
        : [h("li", { class: "empty-note" }, "Nobody found.")]),
    );
  }, 220);
  input.addEventListener("input", run);
  return {
    clear() {
      input.value = "";
      results.replaceChildren();
    },
    refresh: run,
  };
}
