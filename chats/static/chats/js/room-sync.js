// Catching up (sync): the page holds the chat as of `state.version`. After a reconnect, or when a
// live event shows that one was missed, it asks the socket for every change since then; `changes`
// frames bring each changed message, member and the chat itself as they are now, and the page is
// then exactly what a reload would show.

import { showConnection } from "./common.js";
import { applyChat, endRoom, removeMember, updateMember } from "./room-members.js";
import { applyUpdate, placeMessage } from "./room-messages.js";
import { checkPinned } from "./room-pins.js";
import { markSeen } from "./room-read.js";
import { socket } from "./room-socket.js";
import { chatId, nearBottom, scrollToBottom, state } from "./room-state.js";

const SYNC_FRAMES_PER_REQUEST = 10; // docs/websocket.md: at most 10 changes frames per sync
const SYNC_STALL_MS = 3000;

export function requestSync() {
  if (state.ended || !socket.live) return;
  if (state.sync) {
    state.sync.again = true;
    return;
  }
  if (state.version >= state.serverVersion) return;
  state.syncCount += 1;
  const ref = `sync-${state.syncCount}`;
  state.sync = { ref, frames: 0, timer: null, again: false };
  socket.send({ type: "sync", ref, chat_id: chatId, since_version: state.version, limit: state.syncLimit });
  armSyncTimer();
}

// If frames stop coming without a final one (the socket dropped, say), ask again.
function armSyncTimer() {
  clearTimeout(state.sync.timer);
  state.sync.timer = setTimeout(finishSync, SYNC_STALL_MS);
}

export function finishSync() {
  if (!state.sync) return;
  clearTimeout(state.sync.timer);
  const again = state.sync.again;
  state.sync = null;
  if (again || state.version < state.serverVersion) requestSync();
  if (!state.sync && (state.caughtUp > 0 || state.caughtUpOther > 0)) {
    const count = state.caughtUp;
    state.caughtUp = 0;
    state.caughtUpOther = 0;
    showConnection("live", count ? `caught up on ${count} message${count === 1 ? "" : "s"}` : "caught up");
    setTimeout(() => {
      if (socket.state === "live") showConnection("live");
    }, 4000);
  }
}

// A versioned live event: true if the page should apply it. One below the page's version is
// already held. One at it is another frame of the commit just applied (a thread reply and its
// root's new count, an ownership handed over): events carry things as they are, so applying it
// again is harmless. One past the next means some came between that the page never got: apply
// it (it is the thing as it is now) and sync, which brings the rest.
export function takeVersion(frame) {
  if (frame.version === undefined) return true;
  state.serverVersion = Math.max(state.serverVersion, frame.version);
  if (frame.version < state.version) return false;
  if (frame.version === state.version) return true;
  if (frame.version === state.version + 1 && !state.sync) state.version = frame.version;
  else requestSync();
  return true;
}

// Messages older than the page's loaded window are left to history, which loads them as they
// are now (the pinned bar still hears of them: a pin may be older than the window); within it
// they replace what is shown; past it they are new.
function applyMessage(message) {
  if (message.seq < state.oldest && state.messages.size) {
    checkPinned(message);
    return false;
  }
  if (state.messages.has(message.seq)) {
    applyUpdate(message);
    return true;
  }
  return placeMessage(message);
}

export function onChanges(frame) {
  const stick = nearBottom();
  let messages = 0;
  if (frame.chat) applyChat(frame.chat);
  for (const message of frame.messages) messages += applyMessage(message) ? 1 : 0;
  for (const member of frame.members) updateMember(member);
  for (const userId of frame.removed_user_ids) removeMember(userId);
  state.version = Math.max(state.version, frame.version);
  state.serverVersion = Math.max(state.serverVersion, frame.version);
  state.caughtUpOther += frame.members.length + frame.removed_user_ids.length;
  if (messages) {
    state.caughtUp += messages;
    if (stick) scrollToBottom();
    markSeen();
  }
  if (!state.sync || frame.ref !== state.sync.ref) return; // a gap the server filled by itself
  state.sync.frames += 1;
  if (frame.has_more) {
    // The server sends at most SYNC_FRAMES_PER_REQUEST frames per request; after the last of
    // them, sync again from where they ended.
    state.serverVersion = Math.max(state.serverVersion, frame.version + 1);
    if (state.sync.frames >= SYNC_FRAMES_PER_REQUEST) finishSync();
    else armSyncTimer();
  } else finishSync();
}

export function onSyncRefused(frame) {
  if (!state.sync || frame.ref !== state.sync.ref) return false;
  clearTimeout(state.sync.timer);
  state.sync = null;
  if (frame.code === "not_found") endRoom("This chat is gone, or you are no longer in it.");
  return true;
}
