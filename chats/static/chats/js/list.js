// The chat list: my chats with unread and mention badges (as each chat's notification level
// says), the last message and the peer's presence, kept live by the socket; a search to message
// someone; a form to create a group or a channel.

import { $, ChatSocket, api, apiAll, avatar, h, peopleSearch, presenceDot, shortTime, showConnection } from "./common.js";

const home = $("#home");
const me = Number(home.dataset.userId);
const listNode = $("#chat-list");
const statusNode = $("#chats-status");

const chats = new Map(); // id -> Chat (REST shape), plus .peer (User) for direct chats
const presence = new Map(); // user id -> status
const typingTimers = new Map(); // chat id -> timer
let order = []; // chat ids, latest activity first
let loaded = false;

// --- Rendering -----------------------------------------------------------------------------------

function chatName(chat) {
  if (chat.chat_type === "direct") return chat.peer ? chat.peer.name : "Direct chat";
  return chat.title;
}

function activity(chat) {
  return chat.last_message ? chat.last_message.created : chat.created;
}

function preview(chat) {
  const message = chat.last_message;
  if (!message) return chat.chat_type === "channel" ? "No posts yet" : "No messages yet";
  const files = message.attachments || [];
  const text = message.deleted
    ? "Message deleted"
    : message.text.replace(/\s+/g, " ") || (files.length ? `📎 ${files.map((file) => file.name).join(", ")}` : "");
  if (message.user_id === me) return `You: ${text}`;
  if (chat.chat_type === "group" && message.author) return `${message.author.name}: ${text}`;
  return text;
}

// What the chat's badge counts under its notification level: every unread message, only those
// that mention me, or nothing.
function badgeCount(chat) {
  if (chat.notify === "none") return 0;
  return chat.notify === "mentions" ? chat.mention_count : chat.unread_count;
}

function badges(chat) {
  if (chat.notify === "none") return [h("span", { class: "muted-mark", role: "img", "aria-label": "Muted", title: "Notifications off" }, "🔕")];
  const mentions = chat.mention_count > 0;
  const unread = chat.notify !== "mentions" && chat.unread_count > 0;
  return [
    mentions && h("span", { class: "badge mention-badge", title: `${chat.mention_count} mention${chat.mention_count === 1 ? "" : "s"} of you` }, `@${chat.mention_count}`),
    unread && h("span", { class: "badge", title: `${chat.unread_count} unread` }, String(chat.unread_count)),
  ];
}

function renderChat(chat) {
  const peerStatus = chat.peer ? presence.get(chat.peer.id) || chat.peer.status : null;
  const typing = typingTimers.has(chat.id);
  const kind = chat.chat_type === "channel" ? "Channel" : chat.chat_type === "group" ? `Group · ${chat.member_count}` : null;
  return h(
    "li",
    { "data-chat-id": chat.id },
    h(
      "a",
      { class: `chat-item${badgeCount(chat) ? " unread" : ""}${chat.notify === "none" ? " muted-chat" : ""}`, href: `/chats/${chat.id}/` },
      avatar(chatName(chat), chat.chat_type === "direct" && chat.peer ? chat.peer.id : chat.id, { status: peerStatus }),
      h(
        "span",
        { class: "chat-main" },
        h(
          "span",
          { class: "chat-line" },
          h("span", { class: "chat-title" }, chatName(chat)),
          kind && h("span", { class: "chat-kind" }, kind),
          h("time", { class: "chat-time", datetime: activity(chat) }, shortTime(activity(chat))),
        ),
        h(
          "span",
          { class: "chat-line" },
          h("span", { class: `chat-preview${typing ? " typing-now" : ""}` }, typing ? "typing…" : preview(chat)),
          ...badges(chat),
        ),
      ),
    ),
  );
}

function render() {
  listNode.replaceChildren(...order.map((id) => renderChat(chats.get(id))));
  if (!loaded) return;
  statusNode.hidden = order.length > 0;
  statusNode.textContent = "No chats yet. Find someone to message, or start a group.";
  const unread = order.reduce((sum, id) => sum + badgeCount(chats.get(id)), 0);
  document.title = unread ? `(${unread}) Chats` : "Chats";
}

// Redraw one chat in place (presence, typing, edits), keeping the order and the focus elsewhere.
function update(chatId) {
  const old = listNode.querySelector(`li[data-chat-id="${chatId}"]`);
  if (old) old.replaceWith(renderChat(chats.get(chatId)));
}

function sortOrder() {
  order = [...chats.keys()].sort((a, b) => activity(chats.get(b)).localeCompare(activity(chats.get(a))));
}

// --- Loading -------------------------------------------------------------------------------------

async function withPeer(chat) {
  if (chat.chat_type !== "direct") return chat;
  const members = await api(`/api/chats/${chat.id}/members/`);
  const other = members.results.find((member) => member.user.id !== me);
  chat.peer = other ? other.user : null;
  if (chat.peer) presence.set(chat.peer.id, chat.peer.status);
  return chat;
}

async function loadAll() {
  try {
    const list = await apiAll("/api/chats/?limit=100");
    await Promise.all(list.map(withPeer));
    chats.clear();
    for (const chat of list) chats.set(chat.id, chat);
    loaded = true;
    if (lastHello) reconcile(lastHello);
    sortOrder();
    render();
  } catch (error) {
    statusNode.hidden = false;
    statusNode.textContent = `Could not load your chats: ${error.message}`;
  }
}

async function refreshChat(chatId) {
  try {
    const detail = await api(`/api/chats/${chatId}/`);
    const old = chats.get(chatId);
    chats.set(chatId, await withPeer({ ...detail.chat, peer: old ? old.peer : undefined }));
  } catch {
    chats.delete(chatId);
  }
  sortOrder();
  render();
}

// --- Live events ---------------------------------------------------------------------------------

let lastHello = null;
let userVersion = null; // my user_version as of the first hello

// `hello` (on connecting, and after every outage) lists each of my chats with its version: a chat
// I do not have, or hold at an older version, is read again; one not listed is gone. The list
// then holds what a reload would show, having read only what changed. My own settings for a chat
// (its notification level) move my user_version instead: `user.sync` says which chats to read.
function reconcile(hello) {
  const live = new Set(hello.chats.map((state) => state.id));
  for (const id of [...chats.keys()]) if (!live.has(id)) chats.delete(id);
  for (const state of hello.chats) {
    const known = chats.get(state.id);
    if (!known || state.version > known.version) refreshChat(state.id);
    else {
      known.unread_count = state.unread_count;
      known.mention_count = state.mention_count;
    }
  }
  sortOrder();
  render();
}

function onFrame(frame) {
  const chat = frame.chat_id !== undefined ? chats.get(frame.chat_id) : undefined;
  if (chat && frame.version !== undefined) {
    // A version skipped means an event missed: read the chat again once this one is applied.
    if (frame.version > chat.version + 1) setTimeout(() => refreshChat(chat.id));
    chat.version = Math.max(chat.version, frame.version);
  }
  switch (frame.type) {
    case "hello": {
      lastHello = frame;
      if (loaded) reconcile(frame); // else loadAll reconciles when the list is in
      if (userVersion !== null && frame.user_version > userVersion) socket.send({ type: "user.sync", since_user_version: userVersion });
      userVersion = Math.max(userVersion ?? 0, frame.user_version);
      return;
    }
    case "user.changes":
      for (const changed of frame.chats) refreshChat(changed.id);
      for (const id of frame.removed_chat_ids) chats.delete(id);
      userVersion = Math.max(userVersion, frame.user_version);
      sortOrder();
      render();
      return;
    case "message.new": {
      if (!chat) {
        refreshChat(frame.chat_id);
        return;
      }
      const message = frame.message;
      if (chat.last_message && chat.last_message.seq >= message.seq) return; // already counted
      chat.last_seq = Math.max(chat.last_seq, message.seq);
      chat.last_message = message;
      if (message.user_id !== me) chat.unread_count += 1;
      if (message.user_id !== me && message.mentions.includes(me)) chat.mention_count += 1;
      stopTyping(chat.id);
      sortOrder();
      render();
      return;
    }
    case "message.updated":
      if (chat && chat.last_message && chat.last_message.seq === frame.message.seq) {
        chat.last_message = frame.message;
        update(chat.id);
      }
      return;
    case "chat.created":
      withPeer({ ...frame.chat, unread_count: frame.chat.unread_count || 0, mention_count: frame.chat.mention_count || 0 }).then((added) => {
        chats.set(added.id, added);
        sortOrder();
        render();
      });
      return;
    case "chat.updated":
      if (chat) {
        chat.title = frame.chat.title;
        chat.description = frame.chat.description;
        update(chat.id);
      }
      return;
    case "chat.deleted":
      chats.delete(frame.chat_id);
      sortOrder();
      render();
      return;
    case "member.added":
      if (chat) {
        chat.member_count += 1;
        update(chat.id);
      }
      return;
    case "member.removed":
      if (frame.user_id === me) chats.delete(frame.chat_id);
      else if (chat) chat.member_count = Math.max(1, chat.member_count - 1);
      sortOrder();
      render();
      return;
    case "presence":
      presence.set(frame.user_id, frame.status);
      for (const known of chats.values()) if (known.peer && known.peer.id === frame.user_id) update(known.id);
      return;
    case "typing":
      if (chat) {
        clearTimeout(typingTimers.get(chat.id));
        typingTimers.set(chat.id, setTimeout(() => stopTyping(chat.id), 5000));
        update(chat.id);
      }
      return;
    case "read":
      // My read marker moved (in another tab): recount unless it reached the end.
      if (chat && frame.user_id === me) {
        if (frame.seq >= chat.last_seq) {
          chat.unread_count = 0;
          chat.mention_count = 0;
          render();
        } else refreshChat(chat.id);
      }
      return;
    default:
  }
}

function stopTyping(chatId) {
  if (!typingTimers.has(chatId)) return;
  clearTimeout(typingTimers.get(chatId));
  typingTimers.delete(chatId);
  if (chats.has(chatId)) update(chatId);
}

// --- Starting chats ------------------------------------------------------------------------------

peopleSearch({
  input: $("#direct-search"),
  results: $("#direct-results"),
  me,
  actionText: "Message",
  onPick: async (user) => {
    try {
      const chat = await api("/api/chats/", { method: "POST", body: { chat_type: "direct", member_ids: [user.id] } });
      location.assign(`/chats/${chat.id}/`);
    } catch (error) {
      $("#direct-results").replaceChildren(h("li", { class: "empty-note" }, error.message));
    }
  },
});

const form = $("#create-form");
const chosen = new Map(); // user id -> User
const chips = $("#create-members");

function renderChips() {
  chips.replaceChildren(
    ...[...chosen.values()].map((user) =>
      h(
        "li",
        { class: "chip" },
        user.name,
        h("button", { type: "button", "aria-label": `Remove ${user.name}`, onclick: () => { chosen.delete(user.id); renderChips(); } }, "×"),
      ),
    ),
  );
}

const memberSearch = peopleSearch({
  input: $("#create-member-search"),
  results: $("#create-member-results"),
  me,
  compact: true,
  exclude: (user) => chosen.has(user.id),
  actionText: "Add",
  onPick: (user) => {
    chosen.set(user.id, user);
    renderChips();
    memberSearch.clear();
    $("#create-member-search").focus();
  },
});

form.addEventListener("change", () => {
  const channel = form.elements.chat_type.value === "channel";
  $("#create-kind-hint").textContent = channel
    ? "Only the owner and admins post in a channel; members read."
    : "Everyone in a group can post.";
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = $("#create-error");
  const title = form.elements.title.value.trim();
  if (!title) {
    error.textContent = "Give it a title.";
    form.elements.title.focus();
    return;
  }
  error.textContent = "";
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const chat = await api("/api/chats/", {
      method: "POST",
      body: {
        chat_type: form.elements.chat_type.value,
        title,
        description: form.elements.description.value.trim(),
        member_ids: [...chosen.keys()],
      },
    });
    location.assign(`/chats/${chat.id}/`);
  } catch (failure) {
    error.textContent = failure.message;
    button.disabled = false;
  }
});

// --- Start ---------------------------------------------------------------------------------------

const socket = new ChatSocket({ onFrame, onState: (state) => showConnection(state) });
window.chatDebug = { socket, dropSocket: (options) => socket.drop(options), reconnect: () => socket.resume() };
loadAll().then(() => socket.connect());
