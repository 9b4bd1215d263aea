// Catching up (sync): after a reconnect or a gap, ask the socket for every message past `top`
// until none is missing, and say how many came.

import { showConnection } from "./common.js";
import { placeMessage } from "./room-messages.js";
import { markSeen } from "./room-read.js";
import { socket } from "./room-socket.js";
import { chatId, nearBottom, scrollToBottom, state } from "./room-state.js";

const SYNC_BATCHES_PER_REQUEST = 10; // docs/websocket.md: at most 10 sync.batch frames per sync
const SYNC_STALL_MS = 3000;

export function requestSync() {
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

export function finishSync() {
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

export function onSyncBatch(frame) {
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
