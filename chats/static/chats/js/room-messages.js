// The message list: each message shown once, in its place by seq, grouped by author, and redrawn
// when a newer version of it arrives (an edit, a delete, a reaction, a pin, a thread reply);
// live messages keep the view at the bottom if it was there. The thread panel shows its messages
// with the same drawing (room-thread.js).

import { $, avatar, fullTime, h, messageTime, timeElement } from "./common.js";
import { attachmentList, messageSummary } from "./room-attachments.js";
import { confirmPending, startReply } from "./room-composer.js";
import { goToMessage } from "./room-history.js";
import { confirmDelete, startEdit, startReport } from "./room-message-actions.js";
import { messageText } from "./room-mentions.js";
import { canPin, checkPinned, togglePin } from "./room-pins.js";
import { openPicker, reactionBar } from "./room-reactions.js";
import { markSeen } from "./room-read.js";
import { renderSeen } from "./room-seen.js";
import { MANAGERS, canPost, list, me, nearBottom, scrollToBottom, setTitle, state } from "./room-state.js";
import { openThread, placeInThread, updateThread } from "./room-thread.js";
import { stopTyper } from "./room-typing.js";

const GROUP_WITHIN_MS = 5 * 60 * 1000;

// An entry is one message as drawn in one place: {message, node, inThread}. The main flow and the
// thread panel each hold their own, so a thread's root may be drawn twice.

function menuItem(text, key, onclick, extra = {}) {
  return h("button", { type: "button", class: "link-button", "data-focus": `action ${key}`, onclick, ...extra }, text);
}

// The message's menu. Mine: edit and delete. Someone else's: report it to the moderators, and
// delete it if I own or administer the chat. Any: reply (quoted, or in its thread: the main flow
// holds top-level messages only), react, pin where the chat lets me.
function messageMenu(entry) {
  const { message, node } = entry;
  if (message.deleted || state.ended) return null;
  const mine = message.user_id === me;
  const manager = state.chat && state.chat.chat_type !== "direct" && MANAGERS.includes(state.myRole);
  const close = () => setMenuOpen(node, false);
  const menu = h(
    "div",
    { class: "actions menu", role: "group", "aria-label": "Message actions" },
    !entry.inThread &&
      canPost() &&
      menuItem("Reply", "reply", () => {
        close();
        startReply(entry.message);
      }),
    !entry.inThread &&
      canPost() &&
      menuItem("Reply in thread", "thread", () => {
        close();
        openThread(entry.message);
      }),
    menuItem("☺", "react", (event) => openPicker(entry, event.currentTarget), { "aria-label": "Add reaction", title: "Add reaction" }),
    !entry.inThread && canPin() && menuItem(message.pinned ? "Unpin" : "Pin", "pin", () => pin(entry)),
    mine && menuItem("Edit", "edit", () => startEdit(entry)),
    !mine && message.user_id !== null && menuItem("Report", "report", () => startReport(entry)),
    (mine || manager) && menuItem("Delete", "delete", () => confirmDelete(entry), { class: "link-button danger" }),
  );
  menu.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.preventDefault();
    if (node.classList.contains("confirming")) {
      fillMessage(entry); // as Keep
      return;
    }
    setMenuOpen(node, false);
    node.querySelector(".menu-toggle").focus();
  });
  return menu;
}

async function pin(entry) {
  try {
    await togglePin(entry.message);
  } catch (failure) {
    messageError(entry, failure.message);
  }
}

// Touch screens have no hover and keyboards no pointer: the ⋯ button (and a tap on the bubble)
// opens the menu, which otherwise shows while the pointer or the focus is on the message.
export function setMenuOpen(node, open) {
  node.classList.toggle("show-actions", open);
  const toggle = node.querySelector(".menu-toggle");
  if (toggle) toggle.setAttribute("aria-expanded", String(open));
}

function menuToggle(node, author) {
  return h(
    "button",
    {
      type: "button",
      class: "menu-toggle",
      "aria-label": `Actions for the message from ${author}`,
      "aria-expanded": "false",
      "data-focus": "menu",
      onclick: () => {
        const open = !node.classList.contains("show-actions");
        setMenuOpen(node, open);
        if (open) node.querySelector(".menu button").focus();
      },
    },
    "⋯",
  );
}

// A quoted reply shows what it answers; its text is gone once that message is deleted, whether
// the server has said so yet or the page already holds the tombstone.
function quote(message) {
  const reply = message.reply_to;
  const quoted = state.messages.get(reply.seq);
  // A message with files and no text quotes as no text too: where the page holds it, its files
  // stand in for the text. (One the page does not hold shows as gone: the quote cannot tell.)
  const filesOnly = quoted !== undefined && !quoted.message.text && (quoted.message.attachments || []).length > 0;
  const gone = (reply.text === "" && !filesOnly) || (quoted !== undefined && quoted.message.deleted);
  const shown = filesOnly ? messageSummary(quoted.message) : reply.text;
  return h(
    "button",
    { type: "button", class: "quote", "data-focus": "quote", title: "Show the quoted message", onclick: () => goToMessage(reply.seq) },
    h("span", { class: "visually-hidden" }, "Reply to "),
    h("span", { class: "quote-author" }, reply.author ? reply.author.name : "Deleted account"),
    h("span", { class: "visually-hidden" }, ": "),
    h("span", { class: `quote-text${gone ? " gone" : ""}` }, gone ? "deleted message" : shown),
  );
}

function threadSummary(entry) {
  const { message } = entry;
  const count = message.reply_count;
  return h(
    "button",
    { type: "button", class: "thread-summary", "data-focus": "thread", onclick: () => openThread(entry.message) },
    `${count} repl${count === 1 ? "y" : "ies"}`,
    message.last_reply_at && ` · last reply ${messageTime(message.last_reply_at)}`,
  );
}

export function fillMessage(entry) {
  const { message, node } = entry;
  const mine = message.user_id === me;
  const author = message.author ? message.author.name : "Deleted account";
  const mentionsMe = !message.deleted && message.mentions.includes(me);
  // A redraw replaces the message's buttons: the focus goes back to the same one.
  const focused = node.contains(document.activeElement) ? document.activeElement.dataset.focus || "menu" : null;
  const open = node.classList.contains("show-actions");
  node.className = `message${mine ? " mine" : ""}${message.deleted ? " deleted" : ""}${mentionsMe ? " mentions-me" : ""}`;
  node.dataset.seq = message.seq;
  node.dataset.id = message.id;
  node.dataset.userId = message.user_id ?? "";
  node.dataset.created = message.created;
  node.replaceChildren(
    avatar(author, message.user_id),
    h(
      "div",
      { class: "message-body" },
      h(
        "div",
        { class: "bubble" },
        h("div", { class: `author hue-${Math.abs(Number(message.user_id) || 0) % 8}` }, author),
        message.reply_to && !message.deleted && quote(message),
        !message.deleted && attachmentList(message.attachments, message),
        h("p", { class: "text" }, message.deleted ? "Message deleted" : messageText(message.text)),
        h(
          "div",
          { class: "meta" },
          mentionsMe && h("span", { class: "mention-tag" }, "mentions you"),
          message.pinned && !message.deleted && h("span", { class: "pin-mark", role: "img", "aria-label": "Pinned", title: "Pinned" }, "📌"),
          message.edited && !message.deleted && h("span", { class: "edited", title: `Edited ${fullTime(message.updated)}` }, "edited"),
          timeElement(message.created, messageTime(message.created)),
          !message.deleted && !state.ended && menuToggle(node, author),
        ),
      ),
      reactionBar(entry),
      !entry.inThread && message.reply_count > 0 && threadSummary(entry),
    ),
  );
  const menu = messageMenu(entry);
  if (menu) node.append(menu);
  if (open && menu) setMenuOpen(node, true);
  if (!entry.inThread) renderSeen();
  if (focused) refocus(node, focused);
  regroup(node);
}

function refocus(node, key) {
  const target = [...node.querySelectorAll("[data-focus]")].find((element) => element.dataset.focus === key);
  (target || node.querySelector(".menu-toggle") || node).focus({ preventScroll: true });
}

// A failed action on a message says why under it, until the message is next drawn.
export function messageError(entry, text) {
  const body = entry.node.querySelector(".message-body");
  if (!body) return;
  const old = body.querySelector(".form-error");
  if (old) old.remove();
  body.append(h("p", { class: "form-error", role: "alert" }, text));
}

// A message directly after one of the same author within a few minutes joins its group.
export function regroup(node) {
  if (!node) return;
  const previous = node.previousElementSibling;
  const continued =
    previous !== null &&
    previous.dataset.userId === node.dataset.userId &&
    new Date(node.dataset.created) - new Date(previous.dataset.created) < GROUP_WITHIN_MS;
  node.classList.toggle("continued", continued);
}

export function insertSorted(into, node, seq) {
  const first = into.firstElementChild;
  if (first && seq < Number(first.dataset.seq)) {
    into.prepend(node);
    return;
  }
  let before = into.lastElementChild;
  while (before && Number(before.dataset.seq) > seq) before = before.previousElementSibling;
  if (before) before.after(node);
  else into.prepend(node);
}

export function newEntry(message, inThread = false) {
  return { message, node: h("li", { tabindex: "-1" }), inThread };
}

// Every change to a message (an edit, a delete, a reaction, a pin, a reply to it) gives it a new
// version: the higher one is the newer copy.
export function isNewer(incoming, known) {
  return incoming.version > known.version;
}

function advanceTop() {
  while (state.messages.has(state.top + 1) || state.threadSeqs.has(state.top + 1)) state.top += 1;
}

// Put a message in its place by seq; false if it is not a new one in the main flow (a seq already
// there, whose newer version then replaces what is shown, or a thread reply).
export function placeMessage(message) {
  state.serverLastSeq = Math.max(state.serverLastSeq, message.seq);
  if (message.thread_root_id) {
    state.threadSeqs.add(message.seq);
    advanceTop();
    placeInThread(message);
    return false;
  }
  const known = state.messages.get(message.seq);
  if (known) {
    if (isNewer(message, known.message)) applyUpdate(message);
    return false;
  }
  const entry = newEntry(message);
  state.messages.set(message.seq, entry);
  insertSorted(list, entry.node, message.seq);
  fillMessage(entry);
  regroup(entry.node.nextElementSibling);
  state.oldest = Math.min(state.oldest, message.seq);
  advanceTop();
  return true;
}

// Show a message's newer copy in one place.
export function showMessage(entry, message) {
  entry.message = message;
  // Someone else's edit while I edit the same message: keep my editor, show theirs afterwards.
  if (entry.node.classList.contains("editing") && !message.deleted) return;
  fillMessage(entry);
}

// A message as it is now (an event, the change feed, the answer to my own edit): every place that
// shows it, and every reply that quotes it once it is deleted.
export function applyUpdate(message) {
  const known = state.messages.get(message.seq);
  if (known) showMessage(known, message);
  updateThread(message);
  checkPinned(message);
  if (message.deleted) {
    for (const entry of state.messages.values()) if (entry.message.reply_to && entry.message.reply_to.id === message.id) fillMessage(entry);
  }
}

// Change one message wherever it is shown, by id: what reactions and pins do, whose events name
// the message but do not carry it.
export function changeMessage(id, change) {
  const entries = [...state.messages.values()].filter((entry) => entry.message.id === id);
  if (state.thread) {
    if (state.thread.root.message.id === id) entries.push(state.thread.root);
    for (const entry of state.thread.replies.values()) if (entry.message.id === id) entries.push(entry);
  }
  for (const entry of entries) showMessage(entry, change(entry.message));
}

export function redrawAll() {
  for (const entry of state.messages.values()) fillMessage(entry);
  if (state.thread) {
    fillMessage(state.thread.root);
    for (const entry of state.thread.replies.values()) fillMessage(entry);
  }
}

// A message that arrived live (or by ack): place it, keep the view at the bottom if it was there.
export function receiveLive(message) {
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

// On touch screens there is no hover: tapping a bubble shows its actions.
function tapToOpen(event) {
  const bubble = event.target.closest(".bubble");
  if (!bubble || event.target.closest("form, button")) return;
  const node = bubble.closest(".message");
  for (const open of document.querySelectorAll(".message.show-actions")) if (open !== node) setMenuOpen(open, false);
  setMenuOpen(node, !node.classList.contains("show-actions"));
}

list.addEventListener("click", tapToOpen);
$("#thread-panel").addEventListener("click", tapToOpen);
