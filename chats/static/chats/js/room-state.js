// What every part of the room page shares: its elements, the one state they all read and write,
// and the helpers that act on the page as a whole (the view's scroll, the tab's title).

import { $ } from "./common.js";

export const room = $("#room");
export const chatId = Number(room.dataset.chatId);
export const me = Number(room.dataset.userId);
export const scroller = $("#scroller");
export const list = $("#messages");
export const composer = $("#composer");
export const input = $("#composer-text");
export const threadList = $("#thread-messages");

export const MANAGERS = ["owner", "admin"];

// Messages are kept by seq. Every chat numbers its messages 1, 2, 3 … with no gaps: `top` is the
// highest seq up to which the page holds every message, and a seq it already holds is never shown
// twice, whether it comes live, from sync or from history. The main flow leaves out thread
// replies: their seqs are the flow's only gaps, and `threadSeqs` holds the ones the page knows of
// so that `top` can pass them. Everything else the page shows (edits, deletes, reactions, pins,
// members, roles, the title) it holds as of the chat's `version`, which counts every change; after
// a reconnect it asks the socket for every change since then (room-sync.js).
export const state = {
  chat: null,
  myRole: "member",
  members: new Map(), // user id -> Member {user, role, joined, read_seq, version}
  messages: new Map(), // seq -> {message, node}: the main flow
  threadSeqs: new Set(), // seqs of the thread replies the page has heard of
  thread: null, // the open thread panel: {root: entry, replies: Map seq -> entry, oldest, hasOlder, loading, opener}
  replyTo: null, // the Message the main composer quotes
  pins: [], // pinned Messages, most recently pinned first
  pinIndex: 0, // which of them the pinned bar shows
  pending: new Map(), // client id -> {text, attachmentIds, node, timer}
  oldest: Infinity, // the lowest seq loaded
  top: 0, // every message from `oldest` to `top` is loaded
  serverLastSeq: 0, // the highest seq the server has told of
  version: 0, // the chat's version that the page holds every change up to
  serverVersion: 0, // the highest version the server has told of
  hasOlder: false,
  loadingOlder: false,
  sync: null, // the sync request in flight: {ref, frames, timer, again}
  syncLimit: 100,
  syncCount: 0,
  caughtUp: 0, // messages that the last reconnect's sync brought
  caughtUpOther: 0, // other changes it brought
  hellos: 0,
  readSent: 0,
  typers: new Map(), // user id -> timer
  typingSentAt: 0,
  newBelow: 0,
  unseenWhileHidden: 0,
  otherUnread: new Map(), // other chat id -> unread count, for the badge on the back link
  ended: false,
};

export const canPost = () =>
  !state.ended && (!state.chat || state.chat.chat_type !== "channel" || MANAGERS.includes(state.myRole));

export function nearBottom() {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
}

export function scrollToBottom() {
  scroller.scrollTop = scroller.scrollHeight;
  state.newBelow = 0;
  $("#jump").hidden = true;
}

// What shows after the room was scrolled to its newest message (the pinned bar, "seen by", an
// image that loads, the keyboard on a phone) keeps that message in view, as long as the reader
// was there: at the last scroll, near the bottom.
let keptAtBottom = true;
scroller.addEventListener("scroll", () => { keptAtBottom = nearBottom(); }, { passive: true });
const keepAtBottom = new ResizeObserver(() => {
  if (keptAtBottom) scroller.scrollTop = scroller.scrollHeight;
});
keepAtBottom.observe(scroller);
keepAtBottom.observe(list);

export function setTitle() {
  const name = $("#room-title").textContent;
  document.title = (state.unseenWhileHidden ? `(${state.unseenWhileHidden}) ` : "") + `${name} · Chat`;
}
