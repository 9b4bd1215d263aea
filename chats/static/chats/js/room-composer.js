// Sending: a message shows at once as pending and stays so until the server acks it, and goes out
// again after a reconnect, so nothing written is lost to a dropped connection. A message may quote
// the one it answers (Reply in a message's menu), and carries the files uploaded for it
// (room-uploads.js): it waits until they are all uploaded, and may then have no text at all.

import { $, h, newClientId } from "./common.js";
import { attachmentList, messageSummary } from "./room-attachments.js";
import { attachMentions } from "./room-mentions.js";
import { socket } from "./room-socket.js";
import { canPost, chatId, composer, input, scrollToBottom, state } from "./room-state.js";
import { clearUploads, holdSend, readyAttachments, uploadsBusy } from "./room-uploads.js";

const ACK_PATIENCE_MS = 10000;
const SNIPPET = 120;

const pendingList = $("#pending-messages");
const replyBar = $("#reply-bar");

export function snippet(text) {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > SNIPPET ? `${line.slice(0, SNIPPET)}…` : line;
}

export function pendingStatus(entry, text, failed = false) {
  entry.node.classList.toggle("failed", failed);
  entry.node.querySelector(".status").textContent = text;
  const actions = entry.node.querySelector(".actions");
  actions.replaceChildren();
  if (failed) {
    actions.append(
      h("button", { type: "button", class: "link-button", onclick: () => transmit(entry.clientId) }, "Retry"),
      h("button", { type: "button", class: "link-button danger", onclick: () => dropPending(entry.clientId) }, "Discard"),
    );
  }
}

// --- Quoting -------------------------------------------------------------------------------------

export function startReply(message) {
  state.replyTo = message;
  $("#reply-bar-text").replaceChildren(
    "Replying to ",
    h("span", { class: "reply-bar-author" }, message.author ? message.author.name : "Deleted account"),
    `: ${snippet(messageSummary(message))}`,
  );
  replyBar.hidden = false;
  input.focus();
}

function cancelReply() {
  state.replyTo = null;
  replyBar.hidden = true;
  input.focus();
}

$("#reply-cancel").addEventListener("click", cancelReply);

// --- Sending -------------------------------------------------------------------------------------

function send(text, attachments) {
  const clientId = newClientId();
  const replyTo = state.replyTo;
  const node = h(
    "li",
    { class: "message mine pending", "data-client-id": clientId },
    h(
      "div",
      { class: "bubble" },
      replyTo && h("div", { class: "quote" }, h("span", { class: "quote-author" }, replyTo.author ? replyTo.author.name : "Deleted account"), h("span", { class: "quote-text" }, snippet(messageSummary(replyTo)))),
      attachmentList(attachments),
      h("p", { class: "text" }, text),
      h("div", { class: "meta" }, h("span", { class: "status" }, "Sending…")),
    ),
    h("div", { class: "actions" }),
  );
  const attachmentIds = attachments.map((attachment) => attachment.id);
  const entry = { clientId, text, replyToId: replyTo ? replyTo.id : null, attachmentIds, node, timer: null };
  state.pending.set(clientId, entry);
  pendingList.append(node);
  if (replyTo) {
    state.replyTo = null;
    replyBar.hidden = true;
  }
  scrollToBottom();
  transmit(clientId);
}

// Send (or send again) a pending message. Its client_id makes a repeat harmless: the server
// answers with the message it already has.
export function transmit(clientId) {
  const entry = state.pending.get(clientId);
  if (!entry) return;
  clearTimeout(entry.timer);
  const frame = { type: "message.send", ref: clientId, chat_id: chatId, text: entry.text, client_id: clientId };
  if (entry.replyToId !== null) frame.reply_to_id = entry.replyToId;
  if (entry.attachmentIds.length) frame.attachment_ids = entry.attachmentIds;
  if (!socket.send(frame)) {
    pendingStatus(entry, "Waiting for the connection…");
    return;
  }
  pendingStatus(entry, "Sending…");
  entry.timer = setTimeout(() => {
    if (state.pending.has(clientId)) pendingStatus(entry, "Not confirmed yet.", true);
  }, ACK_PATIENCE_MS);
}

export function confirmPending(clientId) {
  const entry = state.pending.get(clientId);
  if (!entry) return;
  clearTimeout(entry.timer);
  entry.node.remove();
  state.pending.delete(clientId);
}

function dropPending(clientId) {
  confirmPending(clientId);
}

composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!canPost()) return;
  if (uploadsBusy()) {
    holdSend();
    return;
  }
  const attachments = readyAttachments();
  if (!text && !attachments.length) return;
  send(text, attachments);
  clearUploads();
  input.value = "";
  input.focus();
});

attachMentions(input);

input.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && state.replyTo) {
    event.preventDefault();
    cancelReply();
  } else if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey && !event.isComposing) {
    event.preventDefault();
    composer.requestSubmit();
  }
});
