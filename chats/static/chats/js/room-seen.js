// "Seen by": under my latest message, how many of the others have read it, from the members'
// read markers that the page already follows (a marker at or past a seq has seen it: seqs have no
// gaps). Opening it lists their names.

import { api, h } from "./common.js";
import { chatId, list, me, state } from "./room-state.js";

// One box, moved to whichever of my messages is the latest, so an open list survives redraws.
const names = h("ul", { class: "seen-list", id: "seen-list", "aria-label": "Seen by", hidden: true });
const button = h("button", { type: "button", class: "link-button seen-button", "aria-expanded": "false", "aria-controls": "seen-list", "data-focus": "seen" });
const box = h("div", { class: "seen" }, button, names);
let shown = { id: null, count: 0 };

function latestOwn() {
  for (let node = list.lastElementChild; node; node = node.previousElementSibling) {
    if (Number(node.dataset.userId) === me && !node.classList.contains("deleted")) return state.messages.get(Number(node.dataset.seq));
  }
  return null;
}

function collapse() {
  names.hidden = true;
  button.setAttribute("aria-expanded", "false");
}

export function renderSeen() {
  const entry = latestOwn();
  const count = entry ? [...state.members.values()].filter((member) => member.user.id !== me && member.read_seq >= entry.message.seq).length : 0;
  if (!count) {
    box.remove();
    shown = { id: null, count: 0 };
    collapse();
    return;
  }
  if (shown.id !== entry.message.id || shown.count !== count) collapse();
  shown = { id: entry.message.id, count };
  button.textContent = `Seen by ${count}`;
  const body = entry.node.querySelector(".message-body");
  if (box.parentElement !== body) body.append(box);
}

async function expand() {
  names.replaceChildren(h("li", { class: "muted" }, "Loading…"));
  names.hidden = false;
  button.setAttribute("aria-expanded", "true");
  const id = shown.id;
  try {
    const data = await api(`/api/chats/${chatId}/messages/${id}/seen/`);
    const more = data.count - data.users.length; // the answer names the latest readers only
    if (shown.id === id) names.replaceChildren(...data.users.map((user) => h("li", {}, user.name)), more > 0 && h("li", { class: "muted" }, `and ${more} more`));
  } catch (failure) {
    if (shown.id === id) names.replaceChildren(h("li", { class: "form-error" }, failure.message));
  }
}

button.addEventListener("click", () => {
  if (names.hidden) expand();
  else collapse();
});

box.addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || names.hidden) return;
  event.preventDefault();
  collapse();
  button.focus();
});
