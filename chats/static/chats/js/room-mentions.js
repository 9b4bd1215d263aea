// Mentions: `@login` of a member (or `@all`) stands out in a message's text, and typing `@` in a
// composer offers the members to pick from. Who a message really mentions is the server's call
// (`mentions`); the highlight only follows the same rule of thumb.

import { h } from "./common.js";
import { MANAGERS, me, state } from "./room-state.js";

const LOGIN = "[A-Za-z0-9_.-]";
// An @ that does not follow a login character (so not the middle of an e-mail address).
const MENTION = new RegExp(`(?<!${LOGIN}|@)@(${LOGIN}+)`, "g");
const TYPING_MENTION = new RegExp(`(?<!${LOGIN}|@)@(${LOGIN}*)$`);
const SHOWN = 8;
const ALL_FOR_ANYONE_UP_TO = 10; // members; in larger chats only owners and admins may use @all

function memberByLogin() {
  const byLogin = new Map();
  for (const member of state.members.values()) byLogin.set(member.user.login.toLowerCase(), member.user);
  return byLogin;
}

// The text as strings and highlighted spans, never as markup. A login may end in "." or "-",
// so "@bob." at the end of a sentence is @bob followed by a full stop unless "bob." is a member.
export function messageText(text) {
  const byLogin = memberByLogin();
  const known = (login) => login.toLowerCase() === "all" || byLogin.has(login.toLowerCase());
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(MENTION)) {
    let login = match[1];
    while (!known(login) && /[.-]$/.test(login)) login = login.slice(0, -1);
    if (!login || !known(login)) continue;
    const user = byLogin.get(login.toLowerCase());
    const end = match.index + 1 + login.length;
    if (match.index > last) parts.push(text.slice(last, match.index));
    parts.push(h("span", { class: `mention${user && user.id === me ? " me" : ""}` }, text.slice(match.index, end)));
    last = end;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

function candidates(query) {
  const found = [];
  for (const member of state.members.values()) {
    const { user } = member;
    if (user.id === me) continue;
    const login = user.login.toLowerCase();
    const name = user.name.toLowerCase();
    if (login.startsWith(query)) found.push({ login: user.login, name: user.name, rank: 0 });
    else if (name.startsWith(query) || name.includes(` ${query}`)) found.push({ login: user.login, name: user.name, rank: 1 });
    else if (login.includes(query) || name.includes(query)) found.push({ login: user.login, name: user.name, rank: 2 });
  }
  found.sort((a, b) => a.rank - b.rank || a.name.localeCompare(b.name));
  const chat = state.chat;
  const allowedAll = chat && chat.chat_type !== "direct" && (state.members.size <= ALL_FOR_ANYONE_UP_TO || MANAGERS.includes(state.myRole));
  if (allowedAll && "all".startsWith(query)) found.push({ login: "all", name: "Everyone here", rank: 3 });
  return found.slice(0, SHOWN);
}

let lists = 0;

// Autocomplete for one composer: `@` and the first letters open a listbox under the caret's
// line; arrows move, Enter or Tab pick, Escape closes. It inserts "@login ".
export function attachMentions(textarea) {
  lists += 1;
  const listbox = h("ul", { class: "mention-list", id: `mention-list-${lists}`, role: "listbox", "aria-label": "Members to mention", hidden: true });
  textarea.parentElement.append(listbox);
  textarea.setAttribute("aria-autocomplete", "list");
  textarea.setAttribute("aria-controls", listbox.id);
  let options = [];
  let active = 0;
  let start = 0; // where the "@query" being typed begins

  const close = () => {
    if (listbox.hidden) return;
    listbox.hidden = true;
    options = [];
    textarea.removeAttribute("aria-activedescendant");
  };

  const render = () => {
    listbox.replaceChildren(
      ...options.map((option, index) =>
        h(
          "li",
          {
            id: `${listbox.id}-${index}`,
            role: "option",
            class: "mention-option",
            "aria-selected": String(index === active),
            // Keep the focus in the composer: the pick happens on click.
            onmousedown: (event) => event.preventDefault(),
            onclick: () => pick(index),
          },
          h("span", { class: "mention-name" }, option.name),
          h("span", { class: "mention-login" }, `@${option.login}`),
        ),
      ),
    );
    listbox.hidden = false;
    textarea.setAttribute("aria-activedescendant", `${listbox.id}-${active}`);
    listbox.children[active].scrollIntoView({ block: "nearest" });
  };

  const update = () => {
    const caret = textarea.selectionStart;
    const match = caret === textarea.selectionEnd ? textarea.value.slice(0, caret).match(TYPING_MENTION) : null;
    if (!match) {
      close();
      return;
    }
    options = candidates(match[1].toLowerCase());
    if (!options.length) {
      close();
      return;
    }
    start = caret - match[0].length;
    active = 0;
    render();
  };

  const pick = (index) => {
    const inserted = `@${options[index].login} `;
    const caret = textarea.selectionStart;
    textarea.value = textarea.value.slice(0, start) + inserted + textarea.value.slice(caret);
    textarea.setSelectionRange(start + inserted.length, start + inserted.length);
    close();
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  };

  textarea.addEventListener("input", update);
  textarea.addEventListener("click", update);
  textarea.addEventListener("blur", close);
  // Captured, so that it runs before the composer's own keys (Enter sends, Escape cancels).
  textarea.addEventListener(
    "keydown",
    (event) => {
      if (listbox.hidden || event.isComposing) return;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        active = (active + (event.key === "ArrowDown" ? 1 : options.length - 1)) % options.length;
        render();
      } else if (event.key === "Enter" || event.key === "Tab") {
        pick(active);
      } else if (event.key === "Escape") {
        close();
      } else return;
      event.preventDefault();
      event.stopImmediatePropagation();
    },
    { capture: true },
  );
}
