// History: older messages of the main flow a page at a time as the view nears the top, back to
// the chat's first message, and the button that jumps back down to new ones. Thread replies stay
// out of it: they are read in their thread.

import { $, api } from "./common.js";
import { placeMessage } from "./room-messages.js";
import { markSeen } from "./room-read.js";
import { chatId, nearBottom, scrollToBottom, scroller, state } from "./room-state.js";

const HISTORY_PAGE = 50;
const FIND_PAGES = 20; // how far back a quote or a pin may send the page looking for its message

let olderLoad = null; // the page being loaded: whoever asks meanwhile waits for the same one

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

function loadOlder() {
  if (!state.hasOlder) return Promise.resolve(false);
  if (!olderLoad) olderLoad = fetchOlder().finally(() => (olderLoad = null));
  return olderLoad;
}

// True if a page came.
async function fetchOlder() {
  state.loadingOlder = true;
  renderEdge();
  let problem = "";
  try {
    const data = await api(`/api/chats/${chatId}/messages/?thread_root_id=none&before=${state.oldest}&limit=${HISTORY_PAGE}`);
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
  if (!problem) setTimeout(fillScreen);
  return !problem;
}

// Until the history overflows the view there is nothing to scroll: load more right away.
export function fillScreen() {
  if (state.hasOlder && scroller.scrollHeight <= scroller.clientHeight + 100) loadOlder();
}

// Bring a message of the main flow into view and give it the focus. A quote or a pin may point
// further back than the page has loaded: older pages load until it is there or history ends.
export async function goToMessage(seq) {
  for (let pages = 0; !state.messages.has(seq) && seq < state.oldest && pages < FIND_PAGES; pages += 1) {
    if (!(await loadOlder())) break;
  }
  const entry = state.messages.get(seq);
  if (!entry) return false;
  entry.node.scrollIntoView({ block: "center" });
  entry.node.classList.remove("flash");
  void entry.node.offsetWidth; // a reflow, so that showing the same message again flashes again
  entry.node.classList.add("flash");
  entry.node.focus({ preventScroll: true });
  return true;
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
