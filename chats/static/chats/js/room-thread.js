// The thread panel: a top-level message and its replies, beside the conversation (over it on a
// phone), with its own composer. Replies live in the thread, not in the main flow: a live one goes
// here if its thread is open, and the root's count follows as an update of the root.

import { $, api, h, newClientId } from "./common.js";
import { attachMentions } from "./room-mentions.js";
import { fillMessage, insertSorted, isNewer, newEntry, placeMessage, regroup, showMessage } from "./room-messages.js";
import { canPost, chatId, room, state, threadList } from "./room-state.js";

const PAGE = 50;

const panel = $("#thread-panel");
const scroller = $("#thread-scroller");
const form = $("#thread-composer");
const box = $("#thread-text");
const error = $("#thread-error");
const narrow = window.matchMedia("(max-width: 900px)");
let draft = { text: "", clientId: "" }; // a failed send keeps its client_id, so a retry posts once

const nearBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
const toBottom = () => {
  scroller.scrollTop = scroller.scrollHeight;
};

// On a phone the panel covers the page: what is under it leaves the tab order.
function cover() {
  const covered = state.thread !== null && narrow.matches;
  for (const node of [$(".room-bar"), $(".conversation"), $("#room-panel")]) node.inert = covered;
}

narrow.addEventListener("change", cover);

export function openThread(root) {
  const opener = document.activeElement;
  state.thread = { root: newEntry(root, true), replies: new Map(), oldest: Infinity, hasOlder: false, loading: false, opener };
  $("#thread-root").replaceChildren(state.thread.root.node);
  fillMessage(state.thread.root);
  threadList.replaceChildren();
  error.textContent = "";
  renderCount();
  renderThreadPermissions();
  panel.hidden = false;
  room.classList.add("show-thread");
  cover();
  if (canPost()) box.focus();
  else $("#thread-heading").focus();
  loadReplies();
}

function closeThread() {
  if (!state.thread) return;
  const { root, opener } = state.thread;
  state.thread = null;
  panel.hidden = true;
  room.classList.remove("show-thread");
  cover();
  threadList.replaceChildren();
  $("#thread-root").replaceChildren();
  // Back where the thread was opened from; to the message itself if that button was redrawn or
  // was in its menu, which has closed.
  const entry = state.messages.get(root.message.seq);
  const fallback = entry && (entry.node.querySelector(".thread-summary") || entry.node.querySelector(".menu-toggle"));
  const target = opener && opener.isConnected && !opener.closest(".menu") ? opener : fallback;
  if (target) target.focus();
}

function renderCount() {
  const count = state.thread.root.message.reply_count;
  $("#thread-count").textContent = count ? `${count} repl${count === 1 ? "y" : "ies"}` : "No replies yet";
}

function renderEdge(problem = "") {
  const thread = state.thread;
  $("#thread-older").hidden = !thread.hasOlder || thread.loading;
  $("#thread-status").textContent = problem || (thread.loading ? "Loading replies…" : "");
}

export function renderThreadPermissions() {
  form.hidden = !canPost();
}

async function loadReplies() {
  const thread = state.thread;
  if (thread.loading) return;
  thread.loading = true;
  renderEdge();
  const older = Number.isFinite(thread.oldest);
  let problem = "";
  try {
    const before = older ? `&before=${thread.oldest}` : "";
    const data = await api(`/api/chats/${chatId}/messages/?thread_root_id=${thread.root.message.id}&limit=${PAGE}${before}`);
    if (state.thread !== thread) return;
    const heightBefore = scroller.scrollHeight;
    const topBefore = scroller.scrollTop;
    for (const message of data.results) placeReply(message);
    thread.hasOlder = data.has_more && data.results.length > 0;
    if (older) scroller.scrollTop = topBefore + (scroller.scrollHeight - heightBefore);
    else toBottom();
  } catch (failure) {
    problem = `Could not load the replies: ${failure.message}`;
  } finally {
    thread.loading = false;
    if (state.thread === thread) renderEdge(problem);
  }
}

function placeReply(message) {
  const { replies } = state.thread;
  const known = replies.get(message.seq);
  if (known) {
    if (isNewer(message, known.message)) showMessage(known, message);
    return;
  }
  const entry = newEntry(message, true);
  replies.set(message.seq, entry);
  insertSorted(threadList, entry.node, message.seq);
  fillMessage(entry);
  regroup(entry.node.nextElementSibling);
  state.thread.oldest = Math.min(state.thread.oldest, message.seq);
}

// A thread reply from the socket, the change feed or history: shown if its thread is open.
export function placeInThread(message) {
  if (!state.thread || message.thread_root_id !== state.thread.root.message.id) return;
  const stick = nearBottom();
  placeReply(message);
  if (stick) toBottom();
}

// A newer copy of a message: the open thread's root (its count moves with each reply) or one of
// its replies.
export function updateThread(message) {
  const thread = state.thread;
  if (!thread) return;
  if (message.id === thread.root.message.id) {
    showMessage(thread.root, message);
    renderCount();
  } else if (thread.replies.has(message.seq)) showMessage(thread.replies.get(message.seq), message);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const thread = state.thread;
  const text = box.value.trim();
  const send = form.querySelector("button[type=submit]");
  if (!thread || !text || send.disabled || !canPost()) return;
  if (draft.text !== text) draft = { text, clientId: newClientId() };
  error.textContent = "";
  send.disabled = true;
  try {
    const message = await api(`/api/chats/${chatId}/messages/`, {
      method: "POST",
      body: { text, thread_root_id: thread.root.message.id, client_id: draft.clientId },
    });
    box.value = "";
    draft = { text: "", clientId: "" };
    placeMessage(message);
    if (state.thread === thread) toBottom();
  } catch (failure) {
    error.textContent = failure.message;
  } finally {
    send.disabled = false;
  }
});

attachMentions(box);

box.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey && !event.isComposing) {
    event.preventDefault();
    form.requestSubmit();
  }
});

panel.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !event.defaultPrevented) {
    event.preventDefault();
    closeThread();
  }
});

$("#thread-close").addEventListener("click", closeThread);
$("#thread-older").addEventListener("click", loadReplies);
scroller.addEventListener(
  "scroll",
  () => {
    if (state.thread && state.thread.hasOlder && scroller.scrollTop < 200) loadReplies();
  },
  { passive: true },
);
