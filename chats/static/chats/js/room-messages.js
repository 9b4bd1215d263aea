// The message list: each message shown once, in its place by seq, grouped by author, and redrawn
// when an edit or a delete arrives; live messages keep the view at the bottom if it was there.

import { $, avatar, fullTime, h, messageTime, timeElement } from "./common.js";
import { confirmPending } from "./room-composer.js";
import { confirmDelete, startEdit, startReport } from "./room-message-actions.js";
import { markSeen } from "./room-read.js";
import { MANAGERS, list, me, nearBottom, scrollToBottom, setTitle, state } from "./room-state.js";
import { stopTyper } from "./room-typing.js";

const GROUP_WITHIN_MS = 5 * 60 * 1000;

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

export function fillMessage(node, message) {
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

export function isNewer(incoming, known) {
  return (incoming.deleted && !known.deleted) || incoming.updated > known.updated;
}

// Put a message in its place by seq; false if that seq was already there (then only a newer
// version of it replaces what is shown).
export function placeMessage(message) {
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

export function applyUpdate(message) {
  const known = state.messages.get(message.seq);
  if (!known) return;
  known.message = message;
  // Someone else's edit while I edit the same message: keep my editor, show theirs afterwards.
  if (known.node.classList.contains("editing") && !message.deleted) return;
  fillMessage(known.node, message);
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
list.addEventListener("click", (event) => {
  const bubble = event.target.closest(".bubble");
  if (!bubble || event.target.closest("form, button")) return;
  const node = bubble.closest(".message");
  for (const open of list.querySelectorAll(".message.show-actions")) if (open !== node) open.classList.remove("show-actions");
  node.classList.toggle("show-actions");
});
