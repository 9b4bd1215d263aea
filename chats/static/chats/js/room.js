// A chat room: history that loads older messages on scroll, live messages over the socket, a
// composer whose messages show at once as pending until their ack, typing, read markers, edits
// and deletes, quoted replies and threads, reactions, mentions, pins, "seen by", members with
// presence, scheduled messages, files (uploaded from the composer, shown in their messages).

import { $, api, apiAll } from "./common.js";
import { setFreshFor } from "./room-attachments.js";
import { fillScreen, renderEdge } from "./room-history.js";
import { applyChat, setMembers } from "./room-members.js";
import { placeMessage } from "./room-messages.js";
import { loadPins } from "./room-pins.js";
import { loadScheduled } from "./room-scheduled.js";
import { socket } from "./room-socket.js";
import { canPost, chatId, input, list, scrollToBottom, state } from "./room-state.js";

// Hooks for the browser tests (and for trying things out in the console).
window.chatDebug = {
  socket,
  dropSocket: (options) => socket.drop(options),
  reconnect: () => socket.resume(),
  setSyncLimit: (limit) => {
    state.syncLimit = limit;
  },
  seqs: () => [...list.children].map((node) => Number(node.dataset.seq)),
  attachmentsFreshFor: setFreshFor,
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
  // A large chat's detail holds its first members only: the rest come page by page.
  const crowded = detail.members.length < detail.chat.member_count;
  setMembers(crowded ? await apiAll(`/api/chats/${chatId}/members/?limit=100`) : detail.members);
  // The chat's latest messages: all of them up to the last one are loaded, in the main flow or
  // as thread replies.
  const messages = detail.messages;
  state.top = messages.length ? messages[messages.length - 1].seq : 0;
  state.oldest = messages.length ? messages[0].seq : detail.chat.last_seq + 1;
  state.serverLastSeq = detail.chat.last_seq;
  state.version = state.serverVersion = detail.chat.version;
  for (const message of messages) placeMessage(message);
  state.hasOlder = state.oldest > 1;
  renderEdge();
  scrollToBottom();
  fillScreen();
  socket.connect();
  loadPins();
  loadScheduled();
  if (canPost()) input.focus();
}

start();
