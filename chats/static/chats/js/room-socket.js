// The room's socket: each frame goes to the part of the page it concerns, and each `hello` (the
// first connect or a reconnect) makes the page catch up on what it missed.

import { ChatSocket, showConnection } from "./common.js";
import { confirmPending, pendingStatus, transmit } from "./room-composer.js";
import { applyChat, endRoom, removeMember, renderMembers, updateMember } from "./room-members.js";
import { applyUpdate, receiveLive } from "./room-messages.js";
import { otherChatEvent, renderOtherUnread } from "./room-other-chats.js";
import { applyPins } from "./room-pins.js";
import { applyReaction } from "./room-reactions.js";
import { markSeen } from "./room-read.js";
import { loadScheduled } from "./room-scheduled.js";
import { renderSeen } from "./room-seen.js";
import { chatId, me, state } from "./room-state.js";
import { onChanges, onSyncRefused, requestSync, takeVersion } from "./room-sync.js";
import { showTyper, stopTyper } from "./room-typing.js";

export const socket = new ChatSocket({ onFrame, onState: (socketState) => showConnection(socketState) });

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
  state.caughtUpOther = 0;
  state.serverLastSeq = Math.max(state.serverLastSeq, here.last_seq);
  state.serverVersion = Math.max(state.serverVersion, here.version);
  state.typingSentAt = 0;
  // Back after a drop: everything that changed meanwhile (messages, edits, deletes, members,
  // roles, the title) comes with one sync from the version the page holds.
  requestSync();
  for (const clientId of state.pending.keys()) transmit(clientId);
  markSeen();
  if (state.hellos > 1) loadScheduled(); // mine, not the chat's: no version covers them
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
    } else onSyncRefused(frame);
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
  if (frame.type === "user.changes") {
    // My own settings, changed on any device: this chat's notification level among them.
    const here = frame.chats.find((chat) => chat.id === chatId);
    if (here) applyChat(here);
    return;
  }
  const id = frame.chat_id ?? (frame.chat ? frame.chat.id : undefined);
  if (id !== chatId) {
    otherChatEvent(frame);
    return;
  }
  if (frame.type === "changes") {
    onChanges(frame);
    return;
  }
  if (frame.user_version === undefined && !takeVersion(frame)) return;
  switch (frame.type) {
    case "message.new": {
      receiveLive(frame.message);
      const author = state.members.get(frame.message.user_id);
      if (author) author.read_seq = Math.max(author.read_seq, frame.message.seq); // posting reads
      renderSeen();
      // One of my scheduled messages went out (its client_id is "scheduled-<id>"): show it sent.
      if (frame.message.user_id === me && String(frame.message.client_id).startsWith("scheduled-")) loadScheduled();
      return;
    }
    case "message.updated":
      applyUpdate(frame.message);
      return;
    case "reaction":
      applyReaction(frame);
      return;
    case "pins":
      applyPins(frame);
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
      updateMember(frame.member);
      return;
    case "member.removed":
      removeMember(frame.user_id);
      stopTyper(frame.user_id);
      return;
    case "read": {
      const member = state.members.get(frame.user_id);
      if (member) member.read_seq = Math.max(member.read_seq, frame.seq);
      renderSeen();
      return;
    }
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
