// Typing: tell the others while I write, no more often than the server takes it, and show who
// else is writing until they send or go quiet.

import { $ } from "./common.js";
import { socket } from "./room-socket.js";
import { chatId, input, state } from "./room-state.js";

const TYPING_EVERY_MS = 3500; // the server takes one typing frame per 3 s per user and chat
const TYPING_SHOWN_MS = 6000;

input.addEventListener("input", () => {
  const now = Date.now();
  if (!input.value.trim() || now - state.typingSentAt < TYPING_EVERY_MS) return;
  if (socket.send({ type: "typing", chat_id: chatId })) state.typingSentAt = now;
});

function memberName(userId) {
  const member = state.members.get(userId);
  return member ? member.user.name : "Someone";
}

function renderTyping() {
  const names = [...state.typers.keys()].map(memberName);
  let text = "";
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = "Several people are typing…";
  $("#typing").textContent = text;
}

export function showTyper(userId) {
  clearTimeout(state.typers.get(userId));
  state.typers.set(userId, setTimeout(() => stopTyper(userId), TYPING_SHOWN_MS));
  renderTyping();
}

export function stopTyper(userId) {
  if (!state.typers.has(userId)) return;
  clearTimeout(state.typers.get(userId));
  state.typers.delete(userId);
  renderTyping();
}
