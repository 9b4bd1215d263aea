// Reactions: a bar of chips under a message (emoji and count, mine pressed) that toggle my
// reaction, and a small picker of common emoji opened from the message's menu. The `reaction`
// event carries an emoji's new count, so the bar follows without reading the message again.

import { api, h } from "./common.js";
import { changeMessage, messageError, setMenuOpen } from "./room-messages.js";
import { chatId, me } from "./room-state.js";

const EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀", "✅", "🔥", "💯", "👏", "🚀", "🤔", "😍", "👎"];
const COLUMNS = 8;

// The message with one emoji's count and my part in it set; an emoji at 0 is not listed.
function withReaction(message, emoji, count, mine) {
  const others = message.reactions.filter((reaction) => reaction.emoji !== emoji);
  const at = message.reactions.findIndex((reaction) => reaction.emoji === emoji);
  if (count <= 0) return { ...message, reactions: others };
  const reactions = [...message.reactions];
  if (at >= 0) reactions[at] = { emoji, count, me: mine };
  else reactions.push({ emoji, count, me: mine });
  return { ...message, reactions };
}

export function reactionBar(entry) {
  const { message } = entry;
  if (message.deleted || !message.reactions.length) return null;
  return h(
    "div",
    { class: "reactions", role: "group", "aria-label": "Reactions" },
    ...message.reactions.map((reaction) =>
      h(
        "button",
        {
          type: "button",
          class: `reaction${reaction.me ? " mine" : ""}`,
          "aria-pressed": String(reaction.me),
          "data-focus": `reaction ${reaction.emoji}`,
          title: reaction.me ? `Remove your ${reaction.emoji}` : `React with ${reaction.emoji}`,
          onclick: () => react(entry, reaction.emoji, !reaction.me),
        },
        h("span", { class: "reaction-emoji" }, reaction.emoji),
        h("span", { class: "reaction-count" }, String(reaction.count)),
      ),
    ),
  );
}

// Add or take back my reaction. The answer (204) says it is done: the page shows it at once, and
// the event that follows sets the count as the server has it.
async function react(entry, emoji, add) {
  const id = entry.message.id;
  try {
    await api(`/api/chats/${chatId}/messages/${id}/reactions/${encodeURIComponent(emoji)}/`, { method: add ? "PUT" : "DELETE" });
  } catch (failure) {
    messageError(entry, failure.message);
    return;
  }
  changeMessage(id, (message) => {
    const known = message.reactions.find((reaction) => reaction.emoji === emoji);
    if (known && known.me === add) return message; // the event came first
    const count = (known ? known.count : 0) + (add ? 1 : -1);
    return withReaction(message, emoji, count, add);
  });
}

// `reaction {message_id, emoji, user_id, added, count, version}`.
export function applyReaction(frame) {
  changeMessage(frame.message_id, (message) => {
    const known = message.reactions.find((reaction) => reaction.emoji === frame.emoji);
    const mine = frame.user_id === me ? frame.added : Boolean(known && known.me);
    return { ...withReaction(message, frame.emoji, frame.count, mine), version: Math.max(message.version, frame.version) };
  });
}

// --- The picker ----------------------------------------------------------------------------------

// One picker for the page, fixed over everything, so that no scrolling list clips it.
const picker = h("div", { class: "emoji-picker", role: "dialog", "aria-label": "Add reaction", hidden: true });
document.body.append(picker);
let picking = null; // {entry, opener}

// The menu stays open under the picker, so that Escape can go back to the button that opened it.
export function openPicker(entry, opener) {
  const mine = new Set(entry.message.reactions.filter((reaction) => reaction.me).map((reaction) => reaction.emoji));
  picking = { entry, opener };
  setMenuOpen(entry.node, true);
  picker.replaceChildren(
    ...EMOJI.map((emoji) =>
      h(
        "button",
        {
          type: "button",
          class: `emoji${mine.has(emoji) ? " mine" : ""}`,
          "aria-pressed": String(mine.has(emoji)),
          tabindex: "-1",
          onclick: () => pick(emoji, !mine.has(emoji)),
        },
        emoji,
      ),
    ),
  );
  picker.hidden = false;
  place(opener);
  picker.firstElementChild.tabIndex = 0;
  picker.firstElementChild.focus();
}

function place(opener) {
  const anchor = opener.getBoundingClientRect();
  const width = picker.offsetWidth;
  const height = picker.offsetHeight;
  const below = anchor.bottom + 6 + height <= window.innerHeight;
  picker.style.top = `${below ? anchor.bottom + 6 : Math.max(6, anchor.top - height - 6)}px`;
  picker.style.left = `${Math.min(Math.max(6, anchor.right - width), window.innerWidth - width - 6)}px`;
}

// Escape goes back to the menu's button; a pick closes the menu too and leaves the focus on the
// message's ⋯ button (its redraw keeps it there); anything else just closes.
function closePicker(how) {
  if (!picking) return;
  const { entry, opener } = picking;
  picking = null;
  picker.hidden = true;
  if (how === "escape" && opener.isConnected) {
    opener.focus();
    return;
  }
  setMenuOpen(entry.node, false);
  if (how === "picked") {
    const toggle = entry.node.querySelector(".menu-toggle");
    if (toggle) toggle.focus();
  }
}

function pick(emoji, add) {
  const { entry } = picking;
  closePicker("picked");
  react(entry, emoji, add);
}

// A grid: arrows move, Home and End jump, Escape closes; Tab leaves it (and closes it).
picker.addEventListener("keydown", (event) => {
  const buttons = [...picker.children];
  const at = buttons.indexOf(document.activeElement);
  const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS };
  let next = null;
  if (event.key in moves) next = Math.min(Math.max(at + moves[event.key], 0), buttons.length - 1);
  else if (event.key === "Home") next = 0;
  else if (event.key === "End") next = buttons.length - 1;
  else if (event.key === "Escape") {
    event.preventDefault();
    closePicker("escape");
    return;
  } else return;
  event.preventDefault();
  buttons[at].tabIndex = -1;
  buttons[next].tabIndex = 0;
  buttons[next].focus();
});

picker.addEventListener("focusout", (event) => {
  if (picking && !picker.contains(event.relatedTarget)) closePicker("away");
});

document.addEventListener("pointerdown", (event) => {
  if (picking && !picker.contains(event.target) && event.target !== picking.opener) closePicker("away");
});
