// The chat's details panel: its title and description, my notification level, its members with
// their presence, and so what I may do here (post, manage, nothing once the chat is gone or I have
// left it).

import { $, api, avatar, h, messageTime } from "./common.js";
import { redrawAll } from "./room-messages.js";
import { markSeen } from "./room-read.js";
import { renderSeen } from "./room-seen.js";
import { canPost, chatId, composer, me, room, setTitle, state } from "./room-state.js";
import { renderThreadPermissions } from "./room-thread.js";

const notifySelect = $("#notify-select");

export function applyChat(chat) {
  state.chat = { ...state.chat, ...chat };
  if (chat.my_role) state.myRole = chat.my_role;
  if (state.chat.chat_type !== "direct") $("#room-title").textContent = state.chat.title;
  const description = state.chat.description || "";
  $("#room-description").textContent = description;
  $("#about-section").hidden = !description;
  notifySelect.value = state.chat.notify;
  renderPermissions();
  setTitle();
}

export function renderPermissions() {
  const allowed = canPost();
  composer.hidden = !allowed;
  $("#readonly-note").hidden = allowed || state.ended;
  $("#schedule-section").hidden = !allowed;
  notifySelect.disabled = state.ended;
  renderThreadPermissions();
}

// My notification level for this chat; the chat list's badges follow it.
notifySelect.addEventListener("change", async () => {
  const error = $("#notify-error");
  error.textContent = "";
  try {
    applyChat(await api(`/api/chats/${chatId}/settings/`, { method: "PATCH", body: { notify: notifySelect.value } }));
  } catch (failure) {
    error.textContent = failure.message;
    notifySelect.value = state.chat.notify;
  }
});

function statusText(user) {
  if (user.status === "online") return "online";
  if (user.status === "away") return "away";
  return user.last_seen ? `last seen ${messageTime(user.last_seen)}` : "offline";
}

const ROLE_RANK = { owner: 0, admin: 1, member: 2 };

export function renderMembers() {
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

export function setMembers(members) {
  state.members = new Map(members.map((member) => [member.user.id, member]));
  const mine = state.members.get(me);
  if (mine) state.myRole = mine.role;
  renderMembers();
  renderPermissions();
  renderSeen();
}

// A member as an event or the change feed brings them: joined, or with a new role or read marker.
export function updateMember(member) {
  const known = state.members.get(member.user.id);
  // Presence comes in its own events; a member's change carries their user as it was then.
  if (known) member = { ...member, user: { ...member.user, status: known.user.status, last_seen: known.user.last_seen } };
  state.members.set(member.user.id, member);
  if (member.user.id === me) state.myRole = member.role;
  renderMembers();
  renderPermissions();
  renderSeen();
}

export function removeMember(userId) {
  if (userId === me) endRoom("You are no longer a member of this chat.");
  state.members.delete(userId);
  renderMembers();
  renderSeen();
}

export function endRoom(text) {
  if (state.ended) return;
  state.ended = true;
  const notice = $("#room-notice");
  notice.replaceChildren(text, " ", h("a", { href: "/" }, "Back to your chats"));
  notice.hidden = false;
  renderPermissions();
  redrawAll();
}

// --- The panel on narrow screens -----------------------------------------------------------------

$("#panel-toggle").addEventListener("click", (event) => {
  const open = room.classList.toggle("show-panel");
  event.currentTarget.setAttribute("aria-expanded", String(open));
  event.currentTarget.textContent = open ? "Chat" : "Info";
  if (!open) markSeen();
});
