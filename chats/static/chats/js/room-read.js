// Read markers: tell the server how far I have read, counting only messages that were on screen,
// so that unread counts (the chat list, my other tabs) hold just what I have not seen.

import { debounce } from "./common.js";
import { socket } from "./room-socket.js";
import { chatId, list, room, scroller, setTitle, state } from "./room-state.js";

// The newest message at least partly on screen, but never past `top`: a message not yet loaded
// before it has not been seen. Thread replies posted after it and before the next message of the
// main flow count as read with it (their root shows that they came), or a thread nobody opens
// would keep the chat unread for good.
function lastVisibleSeq() {
  const bottom = scroller.getBoundingClientRect().bottom;
  for (let node = list.lastElementChild; node; node = node.previousElementSibling) {
    if (node.getBoundingClientRect().top < bottom - 8) {
      const next = node.nextElementSibling;
      return Math.min(next ? Number(next.dataset.seq) - 1 : state.top, state.top);
    }
  }
  return 0;
}

export const markSeen = debounce(() => {
  if (document.visibilityState !== "visible" || room.classList.contains("show-panel")) return;
  const seq = lastVisibleSeq();
  if (seq > state.readSent && socket.send({ type: "read", chat_id: chatId, seq })) state.readSent = seq;
}, 300);

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") {
    state.unseenWhileHidden = 0;
    setTitle();
    markSeen();
  }
});
