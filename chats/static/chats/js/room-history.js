// History: older messages a page at a time as the view nears the top, back to the chat's first
// message, and the button that jumps back down to new ones.

import { $, api } from "./common.js";
import { placeMessage } from "./room-messages.js";
import { markSeen } from "./room-read.js";
import { chatId, nearBottom, scrollToBottom, scroller, state } from "./room-state.js";

const HISTORY_PAGE = 50;

export function renderEdge(problem = "") {
  const button = $("#load-older");
  const status = $("#history-status");
  button.hidden = !state.hasOlder || state.loadingOlder;
  if (problem) status.textContent = problem;
  else if (state.loadingOlder) status.textContent = "Loading older messages…";
  else if (state.hasOlder) status.textContent = "";
  else if (state.messages.size === 0) status.textContent = "No messages yet. Say hello!";
  else status.textContent = "This is the beginning of the conversation.";
}

async function loadOlder() {
  if (!state.hasOlder || state.loadingOlder) return;
  state.loadingOlder = true;
  renderEdge();
  let problem = "";
  try {
    const data = await api(`/api/chats/${chatId}/messages/?before=${state.oldest}&limit=${HISTORY_PAGE}`);
    const heightBefore = scroller.scrollHeight;
    const topBefore = scroller.scrollTop;
    for (const message of [...data.results].reverse()) placeMessage(message);
    state.hasOlder = data.has_more && data.results.length > 0;
    scroller.scrollTop = topBefore + (scroller.scrollHeight - heightBefore);
  } catch (failure) {
    problem = `Could not load older messages: ${failure.message}`;
  } finally {
    state.loadingOlder = false;
    renderEdge(problem);
  }
  if (!problem) fillScreen();
}

// Until the history overflows the view there is nothing to scroll: load more right away.
export function fillScreen() {
  if (state.hasOlder && scroller.scrollHeight <= scroller.clientHeight + 100) loadOlder();
}

$("#load-older").addEventListener("click", loadOlder);

scroller.addEventListener(
  "scroll",
  () => {
    if (scroller.scrollTop < 300) loadOlder();
    if (nearBottom()) {
      state.newBelow = 0;
      $("#jump").hidden = true;
    }
    markSeen();
  },
  { passive: true },
);

$("#jump").addEventListener("click", scrollToBottom);
