// The badge on the back link: unread messages in my other chats, so that they are not missed
// while this one is open.

import { $ } from "./common.js";
import { me, state } from "./room-state.js";

export function renderOtherUnread() {
  const total = [...state.otherUnread.values()].reduce((sum, n) => sum + n, 0);
  const badge = $("#other-unread");
  badge.hidden = total === 0;
  badge.textContent = total > 99 ? "99+" : String(total);
  badge.title = `${total} unread in other chats`;
}

export function otherChatEvent(frame) {
  if (frame.type === "message.new" && frame.message.user_id !== me) {
    state.otherUnread.set(frame.chat_id, (state.otherUnread.get(frame.chat_id) || 0) + 1);
  } else if (frame.type === "chat.created") {
    state.otherUnread.set(frame.chat.id, frame.chat.unread_count || 0);
  } else if (frame.type === "chat.deleted" || (frame.type === "member.removed" && frame.user_id === me)) {
    state.otherUnread.delete(frame.chat_id);
  } else if (frame.type === "read" && frame.user_id === me) {
    state.otherUnread.set(frame.chat_id, 0);
  } else return;
  renderOtherUnread();
}
