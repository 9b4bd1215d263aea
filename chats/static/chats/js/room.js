// A chat room: history that loads older messages on scroll, live messages over the socket, a
// composer whose messages show at once as pending until their ack, typing, read markers, edits
// and deletes, members with presence, scheduled messages.
//
// Messages are kept by seq. Every chat numbers its messages 1, 2, 3 … with no gaps, so the page
// knows exactly what it has: `top` is the highest seq up to which it holds every message, and after
// a reconnect it asks the socket for everything past `top` (sync). A seq it already holds is never
// shown twice, whether it comes live, from sync or from history.

import {
  $,
  ChatSocket,
  api,
  apiAll,
  avatar,
  debounce,
  fullTime,
  h,
  messageTime,
  newClientId,
  showConnection,
  timeElement,
} from "./common.js";

const room = $("#room");
const chatId = Number(room.dataset.chatId);
const me = Number(room.dataset.userId);
const scroller = $("#scroller");
const list = $("#messages");
const pendingList = $("#pending-messages");
const composer = $("#composer");
const input = $("#composer-text");

const HISTORY_PAGE = 50;
const SYNC_BATCHES_PER_REQUEST = 10; // docs/websocket.md: at most 10 sync.batch frames per sync
const SYNC_STALL_MS = 3000;
const TYPING_EVERY_MS = 3500; // the server takes one typing frame per 3 s per user and chat
const TYPING_SHOWN_MS = 6000;
const ACK_PATIENCE_MS = 10000;
const GROUP_WITHIN_MS = 5 * 60 * 1000;
const MANAGERS = ["owner", "admin"];

const state = {
  chat: null,
  myRole: "member",
  members: new Map(), // user id -> Member {user, role, joined}
  messages: new Map(), // seq -> {message, node}
  pending: new Map(), // client id -> {text, node, timer}
  oldest: Infinity, // the lowest seq loaded
  top: 0, // every message from `oldest` to `top` is loaded
  serverLastSeq: 0, // the highest seq the server has told of
  hasOlder: false,
  loadingOlder: false,
  sync: null, // the sync request in flight: {ref, batches, timer, again}
  syncLimit: 100,
  syncCount: 0,
  caughtUp: 0, // messages that the last reconnect's sync brought
  hellos: 0,
  readSent: 0,
  typers: new Map(), // user id -> timer
  typingSentAt: 0,
  newBelow: 0,
  unseenWhileHidden: 0,
  otherUnread: new Map(), // other chat id -> unread count, for the badge on the back link
  ended: false,
};

// --- Small helpers -------------------------------------------------------------------------------

const canPost = () =>
  !state.ended && (!state.chat || state.chat.chat_type !== "channel" || MANAGERS.includes(state.myRole));

function memberName(userId) {
  const member = state.members.get(userId);
  return member ? member.user.name : "Someone";
}

function nearBottom() {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
}

function scrollToBottom() {
  scroller.scrollTop = scroller.scrollHeight;
  state.newBelow = 0;
  $("#jump").hidden = true;
}

function toLocalInput(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

function setTitle() {
  const name = $("#room-title").textContent;
  document.title = (state.unseenWhileHidden ? `(${state.unseenWhileHidden}) ` : "") + `${name} · Chat`;
}

// --- Messages ------------------------------------------------------------------------------------

// Mine: edit and delete. Someone else's: report it to the moderators, and delete it if I own or
// administer the chat.
function messageActions(message) {
  if (message.deleted || state.ended || message.user_id === null) return null;
  const mine = message.user_id === me;
  const manager = state.chat && state.chat.chat_type !== "direct" && MANAGERS.includes(state.myRole);
  return h(
    "div",
    { class: "actions" },
    mine && h("button", { type: "button", class: "link-button", onclick: () => startEdit(message.seq) }, "Edit"),
    !mine && h("button", { type: "button", class: "link-button", onclick: () => startReport(message.seq) }, "Report"),
    (mine || manager) && h("button", { type: "button", class: "link-button danger", onclick: () => confirmDelete(message.seq) }, "Delete"),
  );
}

function fillMessage(node, message) {
  const mine = message.user_id === me;
  const author = message.author ? message.author.name : "Deleted account";
  node.className = `message${mine ? " mine" : ""}${message.deleted ? " deleted" : ""}`;
  node.dataset.seq = message.seq;
  node.dataset.id = message.id;
  node.dataset.userId = message.user_id ?? "";
  node.dataset.created = message.created;
  node.replaceChildren(
    avatar(author, message.user_id),
    h(
      "div",
      { class: "bubble" },
      h("div", { class: `author hue-${Math.abs(Number(message.user_id) || 0) % 8}` }, author),
      h("p", { class: "text" }, message.deleted ? "Message deleted" : message.text),
      h(
        "div",
        { class: "meta" },
        message.edited && !message.deleted && h("span", { class: "edited", title: `Edited ${fullTime(message.updated)}` }, "edited"),
        timeElement(message.created, messageTime(message.created)),
      ),
    ),
  );
  const actions = messageActions(message);
  if (actions) node.append(actions);
  regroup(node);
}

// A message directly after one of the same author within a few minutes joins its group.
function regroup(node) {
  if (!node) return;
  const previous = node.previousElementSibling;
  const continued =
    previous !== null &&
    previous.dataset.userId === node.dataset.userId &&
    new Date(node.dataset.created) - new Date(previous.dataset.created) < GROUP_WITHIN_MS;
  node.classList.toggle("continued", continued);
}

function insertSorted(node, seq) {
  const first = list.firstElementChild;
  if (first && seq < Number(first.dataset.seq)) {
    list.prepend(node);
    return;
  }
  let before = list.lastElementChild;
  while (before && Number(before.dataset.seq) > seq) before = before.previousElementSibling;
  if (before) before.after(node);
  else list.prepend(node);
}

function isNewer(incoming, known) {
  return (incoming.deleted && !known.deleted) || incoming.updated > known.updated;
}

// Put a message in its place by seq; false if that seq was already there (then only a newer
// version of it replaces what is shown).
function placeMessage(message) {
  state.serverLastSeq = Math.max(state.serverLastSeq, message.seq);
  const known = state.messages.get(message.seq);
  if (known) {
    if (isNewer(message, known.message)) applyUpdate(message);
    return false;
  }
  const node = h("li");
  state.messages.set(message.seq, { message, node });
  insertSorted(node, message.seq);
  fillMessage(node, message);
  regroup(node.nextElementSibling);
  state.oldest = Math.min(state.oldest, message.seq);
  while (state.messages.has(state.top + 1)) state.top += 1;
  return true;
}

function applyUpdate(message) {
  const known = state.messages.get(message.seq);
  if (!known) return;
  known.message = message;
  // Someone else's edit while I edit the same message: keep my editor, show theirs afterwards.
  if (known.node.classList.contains("editing") && !message.deleted) return;
  fillMessage(known.node, message);
}

// A message that arrived live (or by ack): place it, keep the view at the bottom if it was there.
function receiveLive(message) {
  const stick = nearBottom();
  if (message.user_id === me && message.client_id) confirmPending(message.client_id);
  if (message.user_id !== me) stopTyper(message.user_id);
  if (!placeMessage(message)) return;
  if (message.user_id !== me && document.visibilityState !== "visible") {
    state.unseenWhileHidden += 1;
    setTitle();
  }
  if (stick || message.user_id === me) scrollToBottom();
  else if (message.user_id !== me) {
    state.newBelow += 1;
    const jump = $("#jump");
    jump.textContent = `${state.newBelow} new message${state.newBelow === 1 ? "" : "s"} ↓`;
    jump.hidden = false;
  }
  markSeen();
}

// --- Editing and deleting ------------------------------------------------------------------------

function startEdit(seq) {
  const entry = state.messages.get(seq);
  if (!entry || entry.node.classList.contains("editing")) return;
  const node = entry.node;
  const textarea = h("textarea", { rows: 3, maxlength: 10000, "aria-label": "Edit message" });
  textarea.value = entry.message.text;
  const error = h("p", { class: "form-error", role: "alert" });
  const cancel = () => fillMessage(node, state.messages.get(seq).message);
  const form = h(
    "form",
    { class: "edit-form" },
    textarea,
    error,
    h(
      "div",
      { class: "row" },
      h("button", { type: "button", class: "button small subtle", onclick: cancel }, "Cancel"),
      h("button", { type: "submit", class: "button small primary" }, "Save"),
    ),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = textarea.value.trim();
    if (!text) {
      error.textContent = "A message cannot be empty. Delete it instead.";
      return;
    }
    if (text === entry.message.text) {
      cancel();
      return;
    }
    try {
      const updated = await api(`/api/chats/${chatId}/messages/${entry.message.id}/`, { method: "PATCH", body: { text } });
      node.classList.remove("editing");
      const current = state.messages.get(seq).message;
      applyUpdate(isNewer(updated, current) || updated.updated === current.updated ? updated : current);
      fillMessage(node, state.messages.get(seq).message);
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Escape") cancel();
    else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  node.classList.add("editing");
  node.querySelector(".text").replaceWith(form);
  textarea.focus();
  textarea.setSelectionRange(textarea.value.length, textarea.value.length);
}

function startReport(seq) {
  const entry = state.messages.get(seq);
  if (!entry || entry.node.classList.contains("editing")) return;
  const node = entry.node;
  const reason = h("input", { type: "text", maxlength: 1000, placeholder: "What is wrong with it?", "aria-label": "Reason for the report" });
  const error = h("p", { class: "form-error", role: "alert" });
  const cancel = () => fillMessage(node, state.messages.get(seq).message);
  const form = h(
    "form",
    { class: "edit-form report-form" },
    reason,
    error,
    h(
      "div",
      { class: "row" },
      h("button", { type: "button", class: "button small subtle", onclick: cancel }, "Cancel"),
      h("button", { type: "submit", class: "button small primary" }, "Report"),
    ),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = reason.value.trim();
    if (!text) {
      error.textContent = "Say what is wrong, for the moderators.";
      return;
    }
    try {
      await api(`/api/chats/${chatId}/messages/${entry.message.id}/report/`, { method: "POST", body: { reason: text } });
      node.classList.remove("editing");
      form.replaceWith(h("p", { class: "report-done" }, "Reported. The moderators will look at it."));
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  reason.addEventListener("keydown", (event) => {
    if (event.key === "Escape") cancel();
  });
  node.classList.add("editing");
  node.querySelector(".bubble").append(form);
  reason.focus();
}

function confirmDelete(seq) {
  const entry = state.messages.get(seq);
  if (!entry) return;
  const node = entry.node;
  const actions = node.querySelector(".actions");
  node.classList.add("confirming");
  const error = h("span", { class: "form-error" });
  actions.replaceChildren(
    h("span", { class: "muted" }, "Delete?"),
    h(
      "button",
      {
        type: "button",
        class: "link-button danger",
        onclick: async () => {
          try {
            await api(`/api/chats/${chatId}/messages/${entry.message.id}/`, { method: "DELETE" });
            applyUpdate({ ...state.messages.get(seq).message, deleted: true, text: "" });
          } catch (failure) {
            error.textContent = failure.message;
          }
        },
      },
      "Delete",
    ),
    h("button", { type: "button", class: "link-button", onclick: () => fillMessage(node, state.messages.get(seq).message) }, "Keep"),
    error,
  );
}

// On touch screens there is no hover: tapping a bubble shows its actions.
list.addEventListener("click", (event) => {
  const bubble = event.target.closest(".bubble");
  if (!bubble || event.target.closest("form, button")) return;
  const node = bubble.closest(".message");
  for (const open of list.querySelectorAll(".message.show-actions")) if (open !== node) open.classList.remove("show-actions");
  node.classList.toggle("show-actions");
});

// --- Sending -------------------------------------------------------------------------------------

function pendingStatus(entry, text, failed = false) {
  entry.node.classList.toggle("failed", failed);
  entry.node.querySelector(".status").textContent = text;
  const actions = entry.node.querySelector(".actions");
  actions.replaceChildren();
  if (failed) {
    actions.append(
      h("button", { type: "button", class: "link-button", onclick: () => transmit(entry.clientId) }, "Retry"),
      h("button", { type: "button", class: "link-button danger", onclick: () => dropPending(entry.clientId) }, "Discard"),
    );
  }
}

function send(text) {
  const clientId = newClientId();
  const node = h(
    "li",
    { class: "message mine pending", "data-client-id": clientId },
    h("div", { class: "bubble" }, h("p", { class: "text" }, text), h("div", { class: "meta" }, h("span", { class: "status" }, "Sending…"))),
    h("div", { class: "actions" }),
  );
  const entry = { clientId, text, node, timer: null };
  state.pending.set(clientId, entry);
  pendingList.append(node);
  scrollToBottom();
  transmit(clientId);
}

// Send (or send again) a pending message. Its client_id makes a repeat harmless: the server
// answers with the message it already has.
function transmit(clientId) {
  const entry = state.pending.get(clientId);
  if (!entry) return;
  clearTimeout(entry.timer);
  const frame = { type: "message.send", ref: clientId, chat_id: chatId, text: entry.text, client_id: clientId };
  if (!socket.send(frame)) {
    pendingStatus(entry, "Waiting for the connection…");
    return;
  }
  pendingStatus(entry, "Sending…");
  entry.timer = setTimeout(() => {
    if (state.pending.has(clientId)) pendingStatus(entry, "Not confirmed yet.", true);
  }, ACK_PATIENCE_MS);
}

function confirmPending(clientId) {
  const entry = state.pending.get(clientId);
  if (!entry) return;
  clearTimeout(entry.timer);
  entry.node.remove();
  state.pending.delete(clientId);
}

function dropPending(clientId) {
  confirmPending(clientId);
}

composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text || !canPost()) return;
  send(text);
  input.value = "";
  input.focus();
});

input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey && !event.isComposing) {
    event.preventDefault();
    composer.requestSubmit();
  }
});

input.addEventListener("input", () => {
  const now = Date.now();
  if (!input.value.trim() || now - state.typingSentAt < TYPING_EVERY_MS) return;
  if (socket.send({ type: "typing", chat_id: chatId })) state.typingSentAt = now;
});

// --- Typing --------------------------------------------------------------------------------------

function renderTyping() {
  const names = [...state.typers.keys()].map(memberName);
  let text = "";
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = "Several people are typing…";
  $("#typing").textContent = text;
}

function showTyper(userId) {
  clearTimeout(state.typers.get(userId));
  state.typers.set(userId, setTimeout(() => stopTyper(userId), TYPING_SHOWN_MS));
  renderTyping();
}

function stopTyper(userId) {
  if (!state.typers.has(userId)) return;
  clearTimeout(state.typers.get(userId));
  state.typers.delete(userId);
  renderTyping();
}

// --- Read markers --------------------------------------------------------------------------------

// The newest message at least partly on screen, but never past `top`: a message not yet loaded
// before it has not been seen.
function lastVisibleSeq() {
  const bottom = scroller.getBoundingClientRect().bottom;
  for (let node = list.lastElementChild; node; node = node.previousElementSibling) {
    if (node.getBoundingClientRect().top < bottom - 8) return Math.min(Number(node.dataset.seq), state.top);
  }
  return 0;
}

const markSeen = debounce(() => {
  if (document.visibilityState !== "visible" || room.classList.contains("show-panel")) return;
  const seq = lastVisibleSeq();
  if (seq > state.readSent && socket.send({ type: "read", chat_id: chatId, seq })) state.readSent = seq;
}, 300);

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") {
    state.unseenWhileHidden = 0;
    setTitle();
    markSeen();
  }
});

// --- History -------------------------------------------------------------------------------------

function renderEdge(problem = "") {
  const button = $("#load-older");
  const status = $("#history-status");
  button.hidden = !state.hasOlder || state.loadingOlder;
  if (problem) status.textContent = problem;
  else if (state.loadingOlder) status.textContent = "Loading older messages…";
  else if (state.hasOlder) status.textContent = "";
  else if (state.messages.size === 0) status.textContent = "No messages yet. Say hello!";
  else status.textContent = "This is the beginning of the conversation.";
}

async function loadOlder() {
  if (!state.hasOlder || state.loadingOlder) return;
  state.loadingOlder = true;
  renderEdge();
  let problem = "";
  try {
    const data = await api(`/api/chats/${chatId}/messages/?before=${state.oldest}&limit=${HISTORY_PAGE}`);
    const heightBefore = scroller.scrollHeight;
    const topBefore = scroller.scrollTop;
    for (const message of [...data.results].reverse()) placeMessage(message);
    state.hasOlder = data.has_more && data.results.length > 0;
    scroller.scrollTop = topBefore + (scroller.scrollHeight - heightBefore);
  } catch (failure) {
    problem = `Could not load older messages: ${failure.message}`;
  } finally {
    state.loadingOlder = false;
    renderEdge(problem);
  }
  if (!problem) fillScreen();
}

// Until the history overflows the view there is nothing to scroll: load more right away.
function fillScreen() {
  if (state.hasOlder && scroller.scrollHeight <= scroller.clientHeight + 100) loadOlder();
}

$("#load-older").addEventListener("click", loadOlder);

scroller.addEventListener(
  "scroll",
  () => {
    if (scroller.scrollTop < 300) loadOlder();
    if (nearBottom()) {
      state.newBelow = 0;
      $("#jump").hidden = true;
    }
    markSeen();
  },
  { passive: true },
);

$("#jump").addEventListener("click", scrollToBottom);

// --- Catching up (sync) --------------------------------------------------------------------------

function requestSync() {
  if (state.ended || !socket.live) return;
  if (state.sync) {
    state.sync.again = true;
    return;
  }
  if (state.top >= state.serverLastSeq) return;
  state.syncCount += 1;
  const ref = `sync-${state.syncCount}`;
  state.sync = { ref, batches: 0, timer: null, again: false };
  socket.send({ type: "sync", ref, chat_id: chatId, after_seq: state.top, limit: state.syncLimit });
  armSyncTimer();
}

// If batches stop coming without a final one (the socket dropped, say), ask again.
function armSyncTimer() {
  clearTimeout(state.sync.timer);
  state.sync.timer = setTimeout(finishSync, SYNC_STALL_MS);
}

function finishSync() {
  if (!state.sync) return;
  clearTimeout(state.sync.timer);
  state.sync = null;
  if (state.top < state.serverLastSeq) requestSync();
  else if (state.caughtUp > 0) {
    const count = state.caughtUp;
    state.caughtUp = 0;
    showConnection("live", `caught up on ${count} message${count === 1 ? "" : "s"}`);
    setTimeout(() => {
      if (socket.state === "live") showConnection("live");
    }, 4000);
  }
}

function onSyncBatch(frame) {
  const stick = nearBottom();
  let gained = 0;
  for (const message of frame.messages) if (placeMessage(message)) gained += 1;
  if (gained) {
    state.caughtUp += gained;
    if (stick) scrollToBottom();
    markSeen();
  }
  if (!state.sync || frame.ref !== state.sync.ref) return; // an older request's late batch
  state.sync.batches += 1;
  if (frame.has_more && frame.messages.length) {
    // More lie past this batch. The server sends at most SYNC_BATCHES_PER_REQUEST batches per
    // request; after the last of them, sync again from where they ended.
    state.serverLastSeq = Math.max(state.serverLastSeq, state.top + 1);
    if (state.sync.batches >= SYNC_BATCHES_PER_REQUEST) finishSync();
    else armSyncTimer();
  } else finishSync();
}

// --- The chat, members, presence -----------------------------------------------------------------

function applyChat(chat) {
  state.chat = { ...state.chat, ...chat };
  if (chat.my_role) state.myRole = chat.my_role;
  if (state.chat.chat_type !== "direct") $("#room-title").textContent = state.chat.title;
  const description = state.chat.description || "";
  $("#room-description").textContent = description;
  $("#about-section").hidden = !description;
  renderPermissions();
  setTitle();
}

function renderPermissions() {
  const allowed = canPost();
  composer.hidden = !allowed;
  $("#readonly-note").hidden = allowed || state.ended;
  $("#schedule-section").hidden = !allowed;
}

function statusText(user) {
  if (user.status === "online") return "online";
  if (user.status === "away") return "away";
  return user.last_seen ? `last seen ${messageTime(user.last_seen)}` : "offline";
}

const ROLE_RANK = { owner: 0, admin: 1, member: 2 };

function renderMembers() {
  const members = [...state.members.values()].sort(
    (a, b) =>
      ROLE_RANK[a.role] - ROLE_RANK[b.role] ||
      (a.user.status === "online" ? 0 : 1) - (b.user.status === "online" ? 0 : 1) ||
      a.user.name.localeCompare(b.user.name),
  );
  $("#member-list").replaceChildren(
    ...members.map((member) =>
      h(
        "li",
        { class: "person", "data-user-id": member.user.id },
        avatar(member.user.name, member.user.id, { status: member.user.status, small: true }),
        h(
          "span",
          { class: "person-main" },
          h("span", { class: "person-name" }, member.user.name + (member.user.id === me ? " (you)" : "")),
          h("span", { class: "person-sub" }, `@${member.user.login} · ${statusText(member.user)}`),
        ),
        member.role !== "member" && state.chat.chat_type !== "direct" && h("span", { class: "role" }, member.role),
      ),
    ),
  );
  $("#member-count").textContent = `(${members.length})`;
  renderSubtitle();
}

function renderSubtitle() {
  const sub = $("#room-sub");
  if (!state.chat) return;
  const members = [...state.members.values()];
  if (state.chat.chat_type === "direct") {
    const peer = members.find((member) => member.user.id !== me);
    if (peer) {
      $("#room-title").textContent = peer.user.name;
      sub.textContent = `@${peer.user.login} · ${statusText(peer.user)}`;
    }
    setTitle();
    return;
  }
  const online = members.filter((member) => member.user.status === "online").length;
  const count = `${members.length} member${members.length === 1 ? "" : "s"}`;
  sub.textContent = state.chat.chat_type === "channel" ? `Channel · ${count}` : `${count}, ${online} online`;
}

function setMembers(members) {
  state.members = new Map(members.map((member) => [member.user.id, member]));
  const mine = state.members.get(me);
  if (mine) state.myRole = mine.role;
  renderMembers();
  renderPermissions();
}

function endRoom(text) {
  if (state.ended) return;
  state.ended = true;
  const notice = $("#room-notice");
  notice.replaceChildren(text, " ", h("a", { href: "/" }, "Back to your chats"));
  notice.hidden = false;
  renderPermissions();
  for (const entry of state.messages.values()) fillMessage(entry.node, entry.message);
}

// --- Scheduled messages --------------------------------------------------------------------------

let scheduledTimer = null;

async function loadScheduled() {
  if (state.ended || !canPost()) return;
  let items;
  try {
    items = await apiAll(`/api/chats/${chatId}/scheduled/?limit=100`, 3);
  } catch {
    return;
  }
  const pending = items.filter((item) => item.status === "pending");
  const done = items.filter((item) => item.status !== "pending").reverse().slice(0, 5);
  $("#scheduled-list").replaceChildren(...[...pending, ...done].map(scheduledNode));
  // Look again just after the next one is due, to show it sent.
  clearTimeout(scheduledTimer);
  if (pending.length) {
    const due = Math.min(...pending.map((item) => new Date(item.send_at).getTime()));
    scheduledTimer = setTimeout(loadScheduled, Math.max(1000, due - Date.now() + 1500));
  }
}

function scheduledNode(item) {
  return h(
    "li",
    { class: `scheduled-item${item.status === "pending" ? "" : " done"}`, "data-scheduled-id": item.id },
    h("p", { class: "text" }, item.text),
    h(
      "div",
      { class: "scheduled-line" },
      h("span", { class: `status-tag ${item.status}` }, item.status),
      h("time", { datetime: item.send_at }, fullTime(item.send_at)),
      item.status === "pending" &&
        h(
          "button",
          {
            type: "button",
            class: "link-button danger",
            onclick: async () => {
              try {
                await api(`/api/chats/${chatId}/scheduled/${item.id}/`, { method: "DELETE" });
              } finally {
                loadScheduled();
              }
            },
          },
          "Cancel",
        ),
    ),
    item.status === "failed" && item.failure && h("p", { class: "form-error" }, item.failure),
  );
}

const scheduleForm = $("#schedule-form");
const scheduleAt = $("#schedule-at");

function resetScheduleTime() {
  const soon = new Date(Date.now() + 5 * 60 * 1000);
  soon.setSeconds(0, 0);
  scheduleAt.value = toLocalInput(soon);
  scheduleAt.min = toLocalInput(new Date());
}

$("#schedule-zone").textContent = `(${Intl.DateTimeFormat().resolvedOptions().timeZone})`;
resetScheduleTime();

scheduleForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = $("#schedule-error");
  const text = $("#schedule-text").value.trim();
  const when = new Date(scheduleAt.value); // a datetime-local value is read in local time
  if (!text) {
    error.textContent = "Write the message first.";
    return;
  }
  if (Number.isNaN(when.getTime()) || when.getTime() <= Date.now()) {
    error.textContent = "Pick a time in the future.";
    return;
  }
  error.textContent = "";
  try {
    await api(`/api/chats/${chatId}/scheduled/`, { method: "POST", body: { text, send_at: when.toISOString() } });
    $("#schedule-text").value = "";
    resetScheduleTime();
    loadScheduled();
  } catch (failure) {
    error.textContent = failure.message;
  }
});

// --- The panel on narrow screens -----------------------------------------------------------------

$("#panel-toggle").addEventListener("click", (event) => {
  const open = room.classList.toggle("show-panel");
  event.currentTarget.setAttribute("aria-expanded", String(open));
  event.currentTarget.textContent = open ? "Chat" : "Info";
  if (!open) markSeen();
});

// --- Other chats: the badge on the back link -----------------------------------------------------

function renderOtherUnread() {
  const total = [...state.otherUnread.values()].reduce((sum, n) => sum + n, 0);
  const badge = $("#other-unread");
  badge.hidden = total === 0;
  badge.textContent = total > 99 ? "99+" : String(total);
  badge.title = `${total} unread in other chats`;
}

function otherChatEvent(frame) {
  if (frame.type === "message.new" && frame.message.user_id !== me) {
    state.otherUnread.set(frame.chat_id, (state.otherUnread.get(frame.chat_id) || 0) + 1);
  } else if (frame.type === "chat.created") {
    state.otherUnread.set(frame.chat.id, frame.chat.unread_count || 0);
  } else if (frame.type === "chat.deleted" || (frame.type === "member.removed" && frame.user_id === me)) {
    state.otherUnread.delete(frame.chat_id);
  } else if (frame.type === "read" && frame.user_id === me) {
    state.otherUnread.set(frame.chat_id, 0);
  } else return;
  renderOtherUnread();
}

// --- Socket frames -------------------------------------------------------------------------------

async function onHello(frame) {
  state.hellos += 1;
  const here = frame.chats.find((chat) => chat.id === chatId);
  if (!here) {
    endRoom("You are no longer a member of this chat.");
    return;
  }
  const myself = state.members.get(me);
  if (myself) {
    myself.user = frame.user;
    renderMembers();
  }
  state.otherUnread = new Map(frame.chats.filter((chat) => chat.id !== chatId).map((chat) => [chat.id, chat.unread_count]));
  renderOtherUnread();
  if (state.sync) {
    clearTimeout(state.sync.timer);
    state.sync = null;
  }
  state.caughtUp = 0;
  state.serverLastSeq = Math.max(state.serverLastSeq, here.last_seq);
  state.typingSentAt = 0;
  requestSync();
  for (const clientId of state.pending.keys()) transmit(clientId);
  markSeen();
  if (state.hellos > 1) {
    // Back after a drop: members, presence, the title or my role may have changed meanwhile.
    try {
      const detail = await api(`/api/chats/${chatId}/`);
      applyChat(detail.chat);
      setMembers(detail.members);
    } catch (failure) {
      if (failure.status === 404) endRoom("This chat is gone, or you are no longer in it.");
    }
    loadScheduled();
  }
}

function onFrame(frame) {
  if (frame.type === "hello") {
    onHello(frame);
    return;
  }
  if (frame.type === "ack") {
    if (frame.message.chat_id === chatId) receiveLive(frame.message);
    confirmPending(frame.ref);
    return;
  }
  if (frame.type === "error") {
    const entry = frame.ref !== undefined ? state.pending.get(frame.ref) : undefined;
    if (entry) {
      clearTimeout(entry.timer);
      pendingStatus(entry, describe(frame), true);
    } else if (state.sync && frame.ref === state.sync.ref) {
      finishSync();
    }
    return;
  }
  if (frame.type === "presence") {
    const member = state.members.get(frame.user_id);
    if (member) {
      member.user = { ...member.user, status: frame.status, last_seen: frame.status === "offline" ? new Date().toISOString() : member.user.last_seen };
      renderMembers();
    }
    return;
  }
  const id = frame.chat_id ?? (frame.chat ? frame.chat.id : undefined);
  if (id !== chatId) {
    otherChatEvent(frame);
    return;
  }
  switch (frame.type) {
    case "message.new": {
      receiveLive(frame.message);
      if (frame.message.seq > state.top) requestSync(); // a gap before it
      // One of my scheduled messages went out (its client_id is "scheduled-<id>"): show it sent.
      if (frame.message.user_id === me && String(frame.message.client_id).startsWith("scheduled-")) loadScheduled();
      return;
    }
    case "sync.batch":
      onSyncBatch(frame);
      return;
    case "message.updated":
      if (state.messages.has(frame.message.seq)) applyUpdate(frame.message);
      return;
    case "typing":
      if (frame.user_id !== me) showTyper(frame.user_id);
      return;
    case "chat.updated":
      applyChat(frame.chat);
      return;
    case "chat.deleted":
      endRoom("This chat was deleted.");
      return;
    case "member.added":
    case "member.updated":
      state.members.set(frame.member.user.id, frame.member);
      if (frame.member.user.id === me) state.myRole = frame.member.role;
      renderMembers();
      renderPermissions();
      return;
    case "member.removed":
      if (frame.user_id === me) endRoom("You are no longer a member of this chat.");
      state.members.delete(frame.user_id);
      stopTyper(frame.user_id);
      renderMembers();
      return;
    default:
  }
}

function describe(errorFrame) {
  const detail = errorFrame.detail;
  if (typeof detail === "string") return detail;
  if (detail && typeof detail === "object") {
    return Object.values(detail)
      .flat()
      .map((part) => String(part))
      .join(" ");
  }
  return "Not sent.";
}

// --- Start ---------------------------------------------------------------------------------------

const socket = new ChatSocket({ onFrame, onState: (socketState) => showConnection(socketState) });

// Hooks for the browser tests (and for trying things out in the console).
window.chatDebug = {
  socket,
  dropSocket: (options) => socket.drop(options),
  reconnect: () => socket.resume(),
  setSyncLimit: (limit) => {
    state.syncLimit = limit;
  },
  seqs: () => [...list.children].map((node) => Number(node.dataset.seq)),
};

async function start() {
  let detail;
  try {
    detail = await api(`/api/chats/${chatId}/`);
  } catch (failure) {
    $("#history-status").textContent = `Could not load this chat: ${failure.message}`;
    return;
  }
  applyChat(detail.chat);
  setMembers(detail.members);
  const messages = detail.messages;
  state.top = messages.length ? messages[0].seq - 1 : 0;
  state.oldest = messages.length ? messages[0].seq : detail.chat.last_seq + 1;
  state.serverLastSeq = detail.chat.last_seq;
  for (const message of messages) placeMessage(message);
  state.hasOlder = state.oldest > 1;
  renderEdge();
  scrollToBottom();
  fillScreen();
  socket.connect();
  loadScheduled();
  if (canPost()) input.focus();
}

start();
