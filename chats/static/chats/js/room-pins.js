// Pins: the bar at the top of the room shows the latest pinned message (and steps through the
// others), a click takes the view to it; Pin and Unpin sit in a message's menu where the chat
// allows them. The list is read again whenever a pin may have changed: it is short.

import { $, api, apiAll, debounce } from "./common.js";
import { messageSummary } from "./room-attachments.js";
import { snippet } from "./room-composer.js";
import { goToMessage } from "./room-history.js";
import { changeMessage } from "./room-messages.js";
import { MANAGERS, chatId, state } from "./room-state.js";

const SMALL_GROUP = 10; // members; below it anyone in a group may pin

const bar = $("#pinned-bar");
const openButton = $("#pinned-open");
const nextButton = $("#pinned-next");
let latestLoad = 0;

export function canPin() {
  if (!state.chat || state.ended) return false;
  if (MANAGERS.includes(state.myRole) || state.chat.chat_type === "direct") return true;
  return state.chat.chat_type === "group" && state.members.size < SMALL_GROUP;
}

export async function loadPins() {
  const ticket = ++latestLoad;
  let pins;
  try {
    pins = await apiAll(`/api/chats/${chatId}/pins/?limit=100`, 3);
  } catch {
    return; // the bar keeps what it showed; the next change reads the list again
  }
  if (ticket !== latestLoad) return;
  const shown = state.pins[state.pinIndex];
  const known = new Set(state.pins.map((pin) => pin.id));
  state.pins = pins;
  // Stay on the pin being shown, unless a new one came (the list is newest first): that is news.
  const fresh = pins.length > 0 && !known.has(pins[0].id);
  const at = shown ? pins.findIndex((pin) => pin.id === shown.id) : -1;
  state.pinIndex = fresh || at < 0 ? 0 : at;
  renderPins();
}

const loadPinsSoon = debounce(loadPins, 150);

function renderPins() {
  const pins = state.pins;
  bar.hidden = pins.length === 0;
  if (!pins.length) return;
  state.pinIndex = Math.min(state.pinIndex, pins.length - 1);
  const pin = pins[state.pinIndex];
  $("#pinned-label").textContent = pins.length > 1 ? `Pinned ${state.pinIndex + 1} of ${pins.length}` : "Pinned message";
  $("#pinned-text").textContent = `${pin.author ? pin.author.name : "Deleted account"}: ${snippet(messageSummary(pin))}`;
  nextButton.hidden = pins.length < 2;
  const next = (state.pinIndex + 1) % pins.length;
  nextButton.setAttribute("aria-label", `Next pinned message, ${next + 1} of ${pins.length}`);
}

// PUT or DELETE; the caller shows a failure.
export async function togglePin(message) {
  const pinned = !message.pinned;
  await api(`/api/chats/${chatId}/pins/${message.id}/`, { method: pinned ? "PUT" : "DELETE" });
  changeMessage(message.id, (known) => ({ ...known, pinned }));
  loadPins();
}

// `pins {message_id, pinned, version}`.
export function applyPins(frame) {
  changeMessage(frame.message_id, (message) => ({ ...message, pinned: frame.pinned, version: Math.max(message.version, frame.version) }));
  loadPins();
}

// A message as it is now (an edit, a delete, the change feed after an outage): the bar shows its
// new text, or reads the list again if it was pinned or unpinned meanwhile.
export function checkPinned(message) {
  const at = state.pins.findIndex((pin) => pin.id === message.id);
  if ((at >= 0) !== (message.pinned && !message.deleted)) loadPinsSoon();
  else if (at >= 0) {
    state.pins[at] = message;
    renderPins();
  }
}

openButton.addEventListener("click", () => {
  const pin = state.pins[state.pinIndex];
  if (pin) goToMessage(pin.seq);
});

nextButton.addEventListener("click", () => {
  state.pinIndex = (state.pinIndex + 1) % state.pins.length;
  renderPins();
});
